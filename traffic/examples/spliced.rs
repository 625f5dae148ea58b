//! One 12-hour, 300-host generated background with each labelled real
//! capture spliced in.
//!
//! `cargo run -p traffic --example spliced -- OUT_DIR [DATA_DIR]`
//!
//! The background mirrors the evaluation's scenario (benches' `scenario`:
//! beacons at 10 and 60 minutes, a dynamic-DNS beacon at 15 minutes with
//! an IP lookup, a DGA burst, a tunnel; names from the shared lists) with
//! its background noise. DATA_DIR defaults to `$DNSRARE_SHARED_DATA` or
//! `../shared/data` beside the workspace. Writes:
//!
//! - `OUT_DIR/background.pcap` and `background.json` (its ground truth);
//! - for every capture of `DATA_DIR/pcaps` with a label in `LABELS.csv`,
//!   `OUT_DIR/<stem>.pcap` (the background with the capture spliced in five
//!   hours after its start, as its own host in 10.77.0.0/16) and
//!   `OUT_DIR/<stem>.json` (the splice's truth: host, labelled names with
//!   labels; the background's noise map and planted malicious names).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use traffic::{
    names::SharedNames,
    pcap_out::write_pcap_iter,
    scenario::{self, ScenarioConfig},
    splice::{self, SpliceTruth},
};

/// Where in the background the captures start.
const OFFSET_NS: u64 = 5 * 3600 * 1_000_000_000;

#[derive(Serialize)]
struct Out<'a> {
    #[serde(flatten)]
    splice: &'a SpliceTruth,
    /// The background's noise names with their classes.
    noise: &'a BTreeMap<String, String>,
    /// The background's planted malicious names with their kinds.
    planted: BTreeMap<String, &'static str>,
}

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let Some(out_dir) = args.next().map(PathBuf::from) else {
        bail!("usage: spliced OUT_DIR [DATA_DIR]");
    };
    let data = args
        .next()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DNSRARE_SHARED_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if !data.join("LABELS.csv").is_file() {
        bail!("{} holds no LABELS.csv", data.display());
    }
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let labels = splice::load_labels(&data.join("LABELS.csv"))?;
    let names = SharedNames::load(&data.join("names"))?;
    // As benches' evaluation::scenario builds it.
    let config = ScenarioConfig {
        names: Arc::new(names),
        beacon_periods_s: vec![600, 3600],
        dyndns_periods_s: vec![900],
        ip_lookups: 1,
        dga_bursts: 1,
        tunnels: 1,
        ..ScenarioConfig::gateway()
    };
    let (background, truth) = scenario::generate(&config);
    eprintln!("background: {}", truth.summary());
    scenario::save(
        &background,
        &truth,
        &out_dir.join("background.pcap"),
        &out_dir.join("background.json"),
    )?;
    let planted: BTreeMap<String, &'static str> = truth
        .malicious
        .iter()
        .map(|m| (m.name.clone(), m.kind.as_str()))
        .collect();

    let files: BTreeSet<&str> = labels.iter().map(|l| l.file.as_str()).collect();
    let mut index = 0u16;
    for file in files {
        let path = data.join("pcaps").join(file);
        if !path.is_file() {
            eprintln!(
                "{file}: labelled but not in {}",
                data.join("pcaps").display()
            );
            continue;
        }
        let capture = splice::read_capture(&path)?;
        let host = splice::splice_host(index);
        index += 1;
        let at = config.start_ns + OFFSET_NS;
        let spliced = splice::reframe(&capture, host, at);
        let splice_truth = splice::truth(&capture, &labels, host, at);
        let stem = path
            .file_stem()
            .map_or_else(|| file.to_owned(), |s| s.to_string_lossy().into_owned());
        write_pcap_iter(
            &out_dir.join(format!("{stem}.pcap")),
            splice::merge(&background, &spliced),
        )?;
        let out = Out {
            splice: &splice_truth,
            noise: &truth.noise,
            planted: planted.clone(),
        };
        let json = out_dir.join(format!("{stem}.json"));
        std::fs::write(&json, serde_json::to_vec_pretty(&out)?)
            .with_context(|| format!("writing {}", json.display()))?;
        eprintln!(
            "{stem}: {} queries as {host}, {} labelled names",
            splice_truth.queries,
            splice_truth.labelled.len()
        );
    }
    Ok(())
}
