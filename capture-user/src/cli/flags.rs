//! Command-line flags, defined once and turned into validated settings.
//! The rest of the program never sees raw flags.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use clap::{Parser, Subcommand, ValueEnum};

use dnsrare::live::{
    daemon::DaemonConfig,
    lists::LiveLists,
    loader::{LoadOptions, Mode},
    metrics::DEFAULT_METRICS,
};
use dnsrare_core::{
    engine::EngineConfig,
    model::query::{ReportQuery, Sort, View},
    score::{
        addresses::AddressList,
        lists::{ListError, ListKind, Lists},
        report_lists::PatternError,
    },
};

use super::render::Presentation;
use dnsrare::{
    clickhouse::target::{Target, TargetError},
    live::exporter::ExportSettings,
};

/// Default socket path of the daemon.
pub const DEFAULT_SOCKET: &str = "/run/dnsrare/dnsrare.sock";

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
    /// Print the same report from pcap/pcapng files (no root, no daemon).
    Pcap(PcapArgs),
    /// Print the same report from Zeek dns.log files (TSV or JSON lines,
    /// plain or gzip).
    Zeek(LogArgs),
    /// Print the same report from Suricata EVE JSON files (DNS events,
    /// v1, v2 or v3; plain or gzip).
    Eve(LogArgs),
    /// Print capture counters, engine sizes and the last snapshot.
    Stats(StatsArgs),
    /// List the hosts that asked for a name, with counts and times.
    Hosts(HostsArgs),
    /// Install the binary, a sandboxed systemd unit and a default
    /// configuration (needs root).
    Install(InstallArgs),
    /// Set up or prune the ClickHouse store of `--export` and `report --from`.
    #[command(subcommand)]
    Clickhouse(ClickhouseCommand),
    /// Write the man pages (dnsrare.1 and one per subcommand) into DIR;
    /// the Debian package build uses it.
    #[command(hide = true)]
    Man(ManArgs),
}

/// Arguments of the hidden `dnsrare man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Flags of `dnsrare install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Install under this directory instead of / (creates no user).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

/// Flags that size the counting engine.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// Counting shards (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub shards: Option<u16>,
    /// Bound on the counting state (e.g. 64MiB, 1GiB). Past it, new names
    /// fold into their domain's row; nothing counted is evicted.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_memory)]
    pub max_memory: u64,
    /// Distinct names per registered domain before new ones are folded into
    /// the domain's aggregate row (an "exploded" domain).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub fold_names: u32,
}

impl EngineArgs {
    /// The validated engine settings.
    pub fn config(&self) -> EngineConfig {
        let shards = self.shards.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        );
        EngineConfig {
            shards,
            fold_names: self.fold_names,
            // Per-shard state must stay under 4 GiB (32-bit offsets).
            max_memory: self.max_memory.min(shards as u64 * (4 << 30)) as usize,
        }
    }
}

/// User name lists added to the shipped ones (see `capture-user/data/`),
/// and the allow and deny lists applied to reports.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// More CDN/cloud suffixes whose names are infrastructure: they score
    /// lower but are still counted and shown (repeatable).
    #[arg(long, value_name = "FILE")]
    pub allow_suffix: Vec<PathBuf>,
    /// Suffixes to watch: a name under one scores higher (a mark in the
    /// score, like the other suffix lists; repeatable).
    #[arg(long, value_name = "FILE")]
    pub watch: Vec<PathBuf>,
    /// More dynamic-DNS / free-subdomain provider suffixes (repeatable).
    #[arg(long, value_name = "FILE")]
    pub dynamic_dns: Vec<PathBuf>,
    /// More public-IP lookup services (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ip_lookup: Vec<PathBuf>,
    /// More sinkhole addresses: one address or CIDR range a line, '#'
    /// comments; a name answered with one scores as malware's
    /// (repeatable; added to the shipped, sourced list).
    #[arg(long, value_name = "FILE")]
    pub sinkholes: Vec<PathBuf>,
    /// Names to hide from findings and name rows (repeatable). One entry a
    /// line, '#' comments: `example.com` is that name only, `*.example.com`
    /// the names under it (not the apex), `.example.com` both. Applied to
    /// each report, not to the counts: the daemon rereads the file on
    /// SIGHUP and when it changes. The report says how much it hid.
    #[arg(long, value_name = "FILE")]
    pub allow: Vec<PathBuf>,
    /// Names to always show and flag, whatever their score (repeatable;
    /// same format and reloading as --allow; wins over it): a `denied`
    /// finding per matching entry, first in the report, and their name rows
    /// marked `deny`. (Before, --deny was another name for --watch, which
    /// only raises the score and matches suffixes: an old entry
    /// `evil.example` now means that name only; `.evil.example` adds the
    /// names under it.)
    #[arg(long, value_name = "FILE")]
    pub deny: Vec<PathBuf>,
}

impl ListArgs {
    /// Whether no list file is given.
    pub fn is_empty(&self) -> bool {
        let Self {
            allow_suffix,
            watch,
            dynamic_dns,
            ip_lookup,
            sinkholes,
            allow,
            deny,
        } = self;
        [
            allow_suffix,
            watch,
            dynamic_dns,
            ip_lookup,
            sinkholes,
            allow,
            deny,
        ]
        .iter()
        .all(|l| l.is_empty())
    }

    /// The shipped lists extended with the user's files; a bad file is an
    /// error naming the file and line.
    pub fn lists(&self) -> Result<Arc<Lists>, ListError> {
        let mut lists = Lists::embedded();
        for (kind, files) in [
            (ListKind::CdnCloud, &self.allow_suffix),
            (ListKind::Watch, &self.watch),
            (ListKind::DynamicDns, &self.dynamic_dns),
            (ListKind::IpLookup, &self.ip_lookup),
        ] {
            for file in files {
                lists.extend_from_file(kind, file)?;
            }
        }
        for file in &self.sinkholes {
            lists.sinkholes.extend(AddressList::from_file(file)?);
        }
        Ok(Arc::new(lists))
    }

    /// The allow and deny lists, read now; errors name `file:line`.
    pub fn report_lists(&self) -> Result<LiveLists, PatternError> {
        LiveLists::load(self.allow.clone(), self.deny.clone())
    }
}

/// Flags of `dnsrare run`. Each can also be set in the configuration file
/// (`--config`, default /etc/dnsrare/dnsrare.toml) as a key of the same
/// name; the command line wins.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Configuration file (TOML; keys are these flags' names).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Interface to capture on; repeat for several. Never guessed.
    #[arg(long = "iface", value_name = "IF")]
    pub interfaces: Vec<String>,
    /// Socket to serve reports on.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// gateway: pass every packet on; mirror: drop after counting (SPAN/TAP port).
    #[arg(long, value_enum, default_value_t = ModeArg::Gateway)]
    pub mode: ModeArg,
    /// Ring-buffer size in KiB: a power of two, at least 4.
    #[arg(long, value_name = "KIB", default_value_t = capture_common::DEFAULT_RING_BYTES / 1024,
          value_parser = parse_ring_kib)]
    pub ring_kib: u32,
    /// Do not attach the TC egress program: responses and queries the
    /// gateway itself sends (its own resolver's answers) go unseen.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", value_parser = clap::value_parser!(bool))]
    pub no_egress: bool,
    /// Counting engine.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Name lists.
    #[command(flatten)]
    pub lists: ListArgs,
    /// Where snapshots of the counts are kept.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/dnsrare")]
    pub state_dir: PathBuf,
    /// Seconds between snapshots (one more is written on SIGTERM/SIGINT).
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub snapshot_interval: u64,
    /// History to learn before a registered domain first seen on this
    /// network counts as new (a duration: 7d, 36h).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub learn: Duration,
    /// After attaching, switch to this user (name or uid); the state
    /// directory is handed to it.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Group (name or gid) whose members may query the socket (mode 0660);
    /// without it only root can (mode 0600).
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// Serve Prometheus metrics over HTTP at http://ADDR/metrics (off by
    /// default; without ADDR, 127.0.0.1:9153 — loopback only unless you
    /// give another address). `dnsrare stats --prometheus` prints the same.
    #[arg(long, value_name = "ADDR", num_args = 0..=1,
          default_missing_value = DEFAULT_METRICS)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Export to ClickHouse.
    #[command(flatten)]
    pub export: ExportArgs,
    /// Bytes of batches kept on disk (under STATE_DIR/spool) while
    /// ClickHouse is unreachable; when full, the oldest windows are
    /// dropped and counted as lost in the central report.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_spool_size)]
    pub export_spool_max: u64,
}

/// Why `dnsrare run`'s settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum RunSettingsError {
    /// No interface given.
    #[error("no interface to capture on: give --iface IF (or `iface` in the configuration file)")]
    NoInterface,
    /// A user list file is bad.
    #[error(transparent)]
    List(#[from] ListError),
    /// An allow or deny file is bad.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// The export settings are bad.
    #[error(transparent)]
    Export(#[from] ExportSettingsError),
}

impl RunArgs {
    /// The validated daemon settings.
    pub fn config(&self) -> Result<DaemonConfig, RunSettingsError> {
        if self.interfaces.is_empty() {
            return Err(RunSettingsError::NoInterface);
        }
        Ok(DaemonConfig {
            interfaces: self.interfaces.clone(),
            socket: self.socket.clone(),
            engine: self.engine.config(),
            state_dir: self.state_dir.clone(),
            snapshot_interval: Duration::from_secs(self.snapshot_interval),
            learn: self.learn,
            load: LoadOptions {
                mode: match self.mode {
                    ModeArg::Gateway => Mode::Gateway,
                    ModeArg::Mirror => Mode::Mirror,
                },
                ring_bytes: self.ring_kib * 1024,
                egress: !self.no_egress,
            },
            lists: self.lists.lists()?,
            report_lists: self.lists.report_lists()?,
            user: self.user.clone(),
            socket_group: self.socket_group.clone(),
            metrics: self.metrics,
            export: self.export.settings()?,
            export_spool_max: self.export_spool_max,
        })
    }
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

/// What a report shows and how.
#[derive(Debug, clap::Args)]
pub struct ReportOptions {
    /// Rows to show.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// Rows are findings (behaviours of hosts), names, hosts (ranked by
    /// their findings) or registered domains.
    #[arg(long = "by", value_enum, default_value_t = ViewArg::Finding)]
    pub view: ViewArg,
    /// Name rows by suspicion score, or least queried first (the plain
    /// SANS method).
    #[arg(long, value_enum, default_value_t = SortArg::Score)]
    pub sort: SortArg,
    /// Only names seen since then: a duration ago (`2h`, `30min`) or a time
    /// (`2026-11-29T08:00:00Z`).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<u64>,
    /// Only names this host asked (with --by host: only this host).
    #[arg(long, value_name = "ADDR")]
    pub host: Option<std::net::IpAddr>,
    /// Only rows scoring at least this (0..100).
    #[arg(long, value_name = "SCORE", default_value_t = 0.0, value_parser = parse_score)]
    pub min_score: f32,
    /// Name rows per registered domain; the rest are counted (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub per_domain: usize,
    /// Print why each row ranks where it does.
    #[arg(long)]
    pub explain: bool,
    /// List findings scoring under 50 in the table too (JSON and CSV carry
    /// them all).
    #[arg(long)]
    pub weak: bool,
    /// One JSON object instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV, one line per (host, name): score,src,name,count,...
    #[arg(long)]
    pub csv: bool,
    /// Also write the findings as one self-contained HTML page to FILE
    /// (the capture summary, how often names were asked, the findings,
    /// their timelines and hosts; it loads nothing from the network).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["view", "sort"])]
    pub html: Option<PathBuf>,
}

impl ReportOptions {
    /// The query sent to the engine.
    pub fn query(&self) -> ReportQuery {
        ReportQuery {
            top: self.top,
            view: match self.view {
                // The plain least-queried list is a list of names.
                ViewArg::Finding if self.sort == SortArg::Rare => View::Name,
                ViewArg::Finding => View::Finding,
                ViewArg::Name => View::Name,
                ViewArg::Host => View::Host,
                ViewArg::Domain => View::Domain,
            },
            sort: match self.sort {
                SortArg::Score => Sort::Score,
                SortArg::Rare => Sort::Rare,
            },
            since_ns: self.since,
            host: self.host,
            min_score: self.min_score,
            per_domain: self.per_domain,
            histogram: self.html.is_some(),
            timelines: if self.html.is_some() {
                super::html::TIMELINES
            } else {
                0
            },
            // The findings table prints findings only.
            name_rows: self.json || self.csv,
        }
    }

    /// How the table is printed.
    pub fn presentation(&self) -> Presentation {
        Presentation {
            explain: self.explain,
            weak: self.weak,
        }
    }
}

/// `--by` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ViewArg {
    /// Findings: one behaviour of one host each (beacon, DGA burst,
    /// tunnel, start-up sequence, rare names), most suspicious first.
    Finding,
    /// Names, most suspicious first.
    Name,
    /// Hosts, ranked by how suspicious their findings are.
    Host,
    /// Registered domains, with exploded-subdomain counts.
    Domain,
}

/// `--sort` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Combined suspicion score, highest first.
    Score,
    /// Least queried first (the plain SANS method).
    Rare,
}

/// `--min-score`: a finite number.
fn parse_score(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err("must be a finite number".into())
    }
}

/// `--learn`: a duration.
fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (use a duration: 7d, 36h)"))
}

/// `--since`: a duration ago or an RFC 3339 time, as ns since the epoch.
fn parse_since(s: &str) -> Result<u64, String> {
    let at = match humantime::parse_duration(s) {
        Ok(ago) => SystemTime::now()
            .checked_sub(ago)
            .ok_or_else(|| "too long ago".to_owned())?,
        Err(_) => humantime::parse_rfc3339_weak(s).map_err(|_| {
            "use a duration (2h, 30min) or a time (2026-11-29T08:00:00Z)".to_owned()
        })?,
    };
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .map_err(|_| "before 1970".to_owned())
}

/// Flags of `dnsrare report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The daemon's socket.
    #[command(flatten)]
    pub socket: SocketArg,
    /// What to show.
    #[command(flatten)]
    pub options: ReportOptions,
    /// The central report across sensors from a ClickHouse store
    /// (clickhouse=http://HOST:8123/?database=NAME) instead of the daemon.
    #[arg(long, value_name = "clickhouse=URL", conflicts_with = "host")]
    pub from: Option<String>,
    /// With --from: only these sensors (repeatable; all by default).
    #[arg(long, value_name = "NAME", requires = "from")]
    pub sensor: Vec<String>,
    /// With --from: a file whose first line is USER:PASSWORD for ClickHouse.
    #[arg(long, value_name = "FILE", requires = "from")]
    pub export_credentials: Option<PathBuf>,
    /// With --from: the counting engine the rows are replayed into.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// With --from: name lists.
    #[command(flatten)]
    pub lists: ListArgs,
}

/// Export to ClickHouse (`dnsrare run` and `dnsrare pcap`).
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Ship per-window aggregates to ClickHouse
    /// (clickhouse=http://HOST:8123/?database=NAME; create the tables
    /// first with `dnsrare clickhouse init`).
    #[arg(long, value_name = "clickhouse=URL")]
    pub export: Option<String>,
    /// The name of this sensor (gateway) in the store; default: the host
    /// name.
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,
    /// A file whose first line is USER:PASSWORD for ClickHouse (never on
    /// the command line).
    #[arg(long, value_name = "FILE")]
    pub export_credentials: Option<PathBuf>,
    /// Length of an export window.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_window)]
    pub export_window: Duration,
}

/// Why the export settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExportSettingsError {
    /// The URL or credentials file.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No sensor name and no host name.
    #[error("no --sensor given and the host name cannot be read")]
    NoSensor,
    /// A sensor name that is not printable.
    #[error("--sensor {0:?}: use letters, digits, '.', '-' and '_'")]
    Sensor(String),
}

impl ExportArgs {
    /// The export settings, when `--export` is given.
    pub fn settings(&self) -> Result<Option<ExportSettings>, ExportSettingsError> {
        let Some(url) = &self.export else {
            return Ok(None);
        };
        let target = store(url, self.export_credentials.as_deref())?;
        let sensor = match &self.sensor {
            Some(s) => s.clone(),
            None => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .ok_or(ExportSettingsError::NoSensor)?,
        };
        if sensor.is_empty()
            || !sensor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(ExportSettingsError::Sensor(sensor));
        }
        Ok(Some(ExportSettings {
            target,
            sensor,
            window_s: self.export_window.as_secs(),
        }))
    }
}

/// A store and its credentials from flags.
pub fn store(url: &str, credentials: Option<&std::path::Path>) -> Result<Target, TargetError> {
    let target = Target::parse(url)?;
    match credentials {
        Some(file) => target.with_credentials_file(file),
        None => Ok(target),
    }
}

/// `dnsrare clickhouse …`.
#[derive(Debug, Subcommand)]
pub enum ClickhouseCommand {
    /// Create the tables (idempotent) and record the schema version.
    Init(ClickhouseInitArgs),
    /// Drop the UTC days older than the retention given at init.
    Prune(ClickhouseStoreArgs),
}

/// Flags of `dnsrare clickhouse init`.
#[derive(Debug, clap::Args)]
pub struct ClickhouseInitArgs {
    /// The store.
    #[command(flatten)]
    pub store: ClickhouseStoreArgs,
    /// Also create Distributed tables (pairs_all, windows_all) over this
    /// cluster of the server's remote_servers; run init on every node.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Days of data kept (0: all); `dnsrare clickhouse prune` and the
    /// exporting daemons drop older days (ClickHouse 18.16 has no TTL).
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub retention_days: u32,
}

/// A ClickHouse store and its credentials.
#[derive(Debug, clap::Args)]
pub struct ClickhouseStoreArgs {
    /// clickhouse=http://HOST:8123/?database=NAME
    #[arg(value_name = "URL")]
    pub url: String,
    /// A file whose first line is USER:PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub export_credentials: Option<PathBuf>,
}

fn parse_window(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.as_secs() == 0 || d.as_secs() > 86_400 || d.subsec_nanos() != 0 {
        return Err("use whole seconds between 1s and 1d".into());
    }
    Ok(d)
}

fn parse_spool_size(s: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .with_binary()
        .parse_size(s)
        .map_err(|e| format!("{e} (use sizes like 64MiB or 1GiB)"))
}

/// Flags of `dnsrare pcap`.
#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    /// Capture files (pcap or pcapng), read in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Earlier captures to serve as history (repeatable): read first, they
    /// make registered domains first seen in FILE… "new on this network";
    /// only names seen in FILE… are reported.
    #[arg(long, value_name = "FILE")]
    pub baseline: Vec<PathBuf>,
    /// What to show.
    #[command(flatten)]
    pub options: ReportOptions,
    /// Counting engine.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Name lists.
    #[command(flatten)]
    pub lists: ListArgs,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Export to ClickHouse (a backfill: batch ids follow the content, so
    /// loading the same capture again adds nothing).
    #[command(flatten)]
    pub export: ExportArgs,
}

/// Flags of `dnsrare zeek` and `dnsrare eve`: the report, engine and list
/// flags of `dnsrare pcap`, over log files.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Log files, plain or gzip, read in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// What to show.
    #[command(flatten)]
    pub options: ReportOptions,
    /// Counting engine.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Name lists.
    #[command(flatten)]
    pub lists: ListArgs,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

/// Flags of `dnsrare stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The daemon's socket.
    #[command(flatten)]
    pub socket: SocketArg,
    /// One JSON object instead of text.
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Prometheus text exposition, as `dnsrare run --metrics` serves it
    /// (for node_exporter's textfile collector).
    #[arg(long)]
    pub prometheus: bool,
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

/// Smallest accepted `--max-memory`.
const MIN_MEMORY: u64 = 1 << 20;
/// Largest accepted `--max-memory`.
const MAX_MEMORY: u64 = 64 << 30;

fn parse_memory(s: &str) -> Result<u64, String> {
    let bytes = parse_size::Config::new()
        .with_binary()
        .parse_size(s)
        .map_err(|e| format!("{e} (use sizes like 64MiB or 1GiB)"))?;
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes) {
        return Err("must be between 1MiB and 64GiB".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_or_say_why() {
        assert_eq!(parse_memory("64MiB"), Ok(64 << 20));
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory("2G"), Ok(2 << 30));
        assert!(parse_memory("10KiB").is_err());
        assert!(parse_memory("lots").is_err());
    }

    #[test]
    fn flags_validate() {
        Cli::command_for_tests().debug_assert();
        // No interface parses (it may come from the configuration file)
        // but is refused before anything starts.
        let Ok(Cli {
            command: Command::Run(run),
        }) = Cli::try_parse_from(["dnsrare", "run"])
        else {
            panic!("parses");
        };
        assert!(matches!(run.config(), Err(RunSettingsError::NoInterface)));
        assert!(
            Cli::try_parse_from(["dnsrare", "run", "--iface", "x", "--ring-kib", "3"]).is_err()
        );
        for sub in ["pcap", "zeek", "eve"] {
            assert!(
                Cli::try_parse_from(["dnsrare", sub]).is_err(),
                "{sub}: files are required"
            );
        }
        let Ok(Cli {
            command: Command::Eve(eve),
        }) = Cli::try_parse_from([
            "dnsrare",
            "eve",
            "a.json",
            "b.json.gz",
            "--by",
            "host",
            "--csv",
        ])
        else {
            panic!("parses");
        };
        assert_eq!(eve.files.len(), 2);
        assert!(
            Cli::try_parse_from(["dnsrare", "pcap", "a.pcap", "--html", "x", "--by", "name"])
                .is_err(),
            "the page is of findings"
        );
        let Ok(Cli {
            command: Command::Pcap(pcap),
        }) = Cli::try_parse_from(["dnsrare", "pcap", "a.pcap", "--html", "out.html"])
        else {
            panic!("parses");
        };
        let q = pcap.options.query();
        assert!(q.histogram && q.timelines > 0 && q.view == View::Finding);
        assert_eq!(eve.options.query().view, View::Host);
        assert!(eve.options.csv);
        let metrics = |args: &[&str]| match Cli::try_parse_from(
            ["dnsrare", "run", "--iface", "x"].iter().chain(args),
        ) {
            Ok(Cli {
                command: Command::Run(run),
            }) => run.metrics.map(|a| a.to_string()),
            other => panic!("{other:?}"),
        };
        assert_eq!(metrics(&[]), None, "off by default");
        assert_eq!(metrics(&["--metrics"]).as_deref(), Some("127.0.0.1:9153"));
        assert_eq!(
            metrics(&["--metrics", "0.0.0.0:9100"]).as_deref(),
            Some("0.0.0.0:9100")
        );
        assert!(Cli::try_parse_from(["dnsrare", "run", "--metrics", "nowhere"]).is_err());
    }

    impl Cli {
        fn command_for_tests() -> clap::Command {
            <Self as clap::CommandFactory>::command()
        }
    }
}
