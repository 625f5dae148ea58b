//! `cargo xtask gen`: generates a realistic gateway capture with its ground
//! truth — ordinary hosts, CDN noise, infected hosts (beacons, dynamic-DNS
//! beacons, an IP lookup, DGA bursts, a tunnel), protocol variety and a few
//! malformed frames (see `traffic::scenario`) — and writes it as a
//! nanosecond pcap plus a JSON truth file. Seeded and deterministic.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use anyhow::{Result, bail};
use traffic::{
    names::{Builtin, NameSource, SharedNames},
    scenario::{self, ScenarioConfig},
};

/// Where names come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Names {
    /// Synthetic names built into the traffic crate.
    Builtin,
    /// The labelled lists of the shared data, read in place.
    Shared,
}

/// Options of `cargo xtask gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// The pcap to write [default: target/gen/gateway.pcap].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The ground truth to write [default: the pcap's path ending in
    /// `.truth.json`].
    #[arg(long)]
    truth: Option<PathBuf>,
    /// RNG seed [default: the scenario's].
    #[arg(long)]
    seed: Option<u64>,
    /// Hosts.
    #[arg(long, default_value_t = 300)]
    hosts: u32,
    /// Scenario length in hours.
    #[arg(long, default_value_t = 12.0)]
    hours: f64,
    /// Size the ordinary traffic so the capture holds about this many
    /// packets [default: 180 queries per host and hour].
    #[arg(long)]
    packets: Option<u64>,
    /// Name source.
    #[arg(long, value_enum, default_value_t = Names::Builtin)]
    names: Names,
    /// Directory of the shared name lists, for `--names shared`
    /// [default: $DNSRARE_SHARED_DATA/names or ../shared/data/names].
    #[arg(long)]
    shared_dir: Option<PathBuf>,
}

/// Runs `cargo xtask gen`.
pub fn run(root: &Path, args: &GenArgs) -> Result<()> {
    if !(args.hours > 0.0 && args.hours.is_finite()) {
        bail!("--hours must be a positive number of hours");
    }
    let started = Instant::now();
    let mut config = ScenarioConfig::sized(args.hosts, (args.hours * 3600.0).round() as u64);
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.target_packets = args.packets;
    config.names = match args.names {
        Names::Builtin => Arc::new(Builtin) as Arc<dyn NameSource>,
        Names::Shared => {
            let dir = args.shared_dir.clone().unwrap_or_else(|| {
                std::env::var_os("DNSRARE_SHARED_DATA")
                    .map_or_else(|| root.join("../shared/data"), PathBuf::from)
                    .join("names")
            });
            Arc::new(SharedNames::load(&dir)?)
        }
    };
    let pcap = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/gen/gateway.pcap"));
    let truth_path = args
        .truth
        .clone()
        .unwrap_or_else(|| pcap.with_extension("truth.json"));

    let (packets, truth) = scenario::generate(&config);
    let generated = started.elapsed();
    scenario::save(&packets, &truth, &pcap, &truth_path)?;
    println!(
        "gen: {} → {} + {} (generated in {:.2} s, written in {:.2} s)",
        truth.summary(),
        pcap.display(),
        truth_path.display(),
        generated.as_secs_f64(),
        (started.elapsed() - generated).as_secs_f64()
    );
    Ok(())
}
