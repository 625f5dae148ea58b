//! Command-line flags, defined once and turned into validated settings.
//! The rest of the program never sees raw flags.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{
    capture::{LoadOptions, Mode},
    daemon::DaemonConfig,
};

/// Default socket path of the daemon.
pub const DEFAULT_SOCKET: &str = "/run/dnsrare.sock";

/// dnsrare: find the rarest, most suspicious DNS names on your network and
/// the hosts that asked for them.
#[derive(Debug, Parser)]
#[command(name = "dnsrare", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture DNS on one or more interfaces and serve reports (needs root).
    Run(RunArgs),
    /// Print the rare-name report from the running daemon.
    Report(ReportArgs),
    /// Print capture counters and engine sizes.
    Stats(StatsArgs),
    /// List the hosts that asked for a name, with counts and times.
    Hosts(HostsArgs),
}

/// Flags of `dnsrare run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Interface to capture on; repeat for several. Never guessed.
    #[arg(long = "iface", value_name = "IF", required = true)]
    pub interfaces: Vec<String>,
    /// Socket to serve reports on.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Counting shards (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub shards: Option<u16>,
    /// gateway: pass every packet on; mirror: drop after counting (SPAN/TAP port).
    #[arg(long, value_enum, default_value_t = ModeArg::Gateway)]
    pub mode: ModeArg,
    /// Ring-buffer size in KiB: a power of two, at least 4.
    #[arg(long, value_name = "KIB", default_value_t = capture_common::DEFAULT_RING_BYTES / 1024,
          value_parser = parse_ring_kib)]
    pub ring_kib: u32,
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Pass every packet (XDP_PASS).
    Gateway,
    /// Drop every packet after counting (XDP_DROP).
    Mirror,
}

/// Where to reach the daemon.
#[derive(Debug, clap::Args)]
pub struct SocketArg {
    /// The daemon's socket.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// Flags of `dnsrare report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The daemon's socket.
    #[command(flatten)]
    pub socket: SocketArg,
    /// Rows to show.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dnsrare stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The daemon's socket.
    #[command(flatten)]
    pub socket: SocketArg,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dnsrare hosts`.
#[derive(Debug, clap::Args)]
pub struct HostsArgs {
    /// The name, as printed in reports.
    pub name: String,
    /// The daemon's socket.
    #[command(flatten)]
    pub socket: SocketArg,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn parse_ring_kib(s: &str) -> Result<u32, String> {
    let kib: u32 = s.parse().map_err(|e| format!("{e}"))?;
    if kib < 4 || !kib.is_power_of_two() || kib > (1 << 20) {
        return Err("must be a power of two between 4 and 1048576".into());
    }
    Ok(kib)
}

impl RunArgs {
    /// The validated daemon settings.
    pub fn config(&self) -> DaemonConfig {
        let shards = self.shards.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        );
        DaemonConfig {
            interfaces: self.interfaces.clone(),
            socket: self.socket.clone(),
            shards,
            load: LoadOptions {
                mode: match self.mode {
                    ModeArg::Gateway => Mode::Gateway,
                    ModeArg::Mirror => Mode::Mirror,
                },
                ring_bytes: self.ring_kib * 1024,
            },
        }
    }
}
