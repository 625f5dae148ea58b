//! The offline report does not depend on how the engine is laid out: the
//! same capture read with one shard and with several gives the same report,
//! field for field (only the wall time differs). Domains are placed in
//! shards by their last two labels and the views merge shards, so a change
//! of placement, partitioning or merge order that changed a count, a score
//! or an order shows here. Run on every shared capture (read in place) and
//! on a generated gateway capture.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use dnsrare_core::{
    engine::EngineConfig,
    model::query::ReportQuery,
    offline::{self, OfflineRun},
    score::{lists::Lists, report_lists::ReportLists},
};
use dnsrare_tests::shared_data;
use traffic::scenario::{self, ScenarioConfig};

/// The report of `files` with `shards` shards, as JSON.
fn report(files: &[PathBuf], shards: usize) -> (serde_json::Value, OfflineRun) {
    let run = offline::run(
        &[],
        files,
        &EngineConfig {
            shards,
            ..EngineConfig::default()
        },
        Arc::new(Lists::embedded()),
        &Arc::new(ReportLists::default()),
        &ReportQuery::default(),
        |_| {},
    )
    .expect("offline run");
    let json = serde_json::to_value(&run.report).expect("report serializes");
    (json, run)
}

fn same_report_on_any_shard_count(files: &[PathBuf], what: &str) {
    let (one, run) = report(files, 1);
    assert!(run.read.counters.queries > 0, "{what}: nothing was counted");
    for shards in [2, 3, 8] {
        let (many, _) = report(files, shards);
        if let Some(at) = first_difference(&one, &many, "report") {
            panic!("{what}: with {shards} shards the report differs from 1 shard's at {at}");
        }
    }
}

/// Where `a` and `b` first differ, with both values; `None` when equal.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.keys()
                .chain(y.keys())
                .find_map(|k| match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, &format!("{at}.{k}")),
                    _ => Some(format!("{at}.{k} (on one side only)")),
                })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} vs {b}")),
    }
}

#[test]
fn shared_captures_give_the_same_report_on_any_shard_count() {
    let Some(data) = shared_data("shared_captures_give_the_same_report_on_any_shard_count") else {
        return;
    };
    let dir = data.join("pcaps");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no captures in {}", dir.display());
    for file in &files {
        same_report_on_any_shard_count(std::slice::from_ref(file), &file.display().to_string());
    }
    // And all of them in one run, so names meet across files.
    same_report_on_any_shard_count(&files, "every shared capture together");
}

#[test]
fn a_generated_capture_gives_the_same_report_on_any_shard_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("gateway.pcap");
    // Two hours of a 60-host gateway: every kind of traffic, beacons
    // included, in a few seconds.
    let (packets, truth) = scenario::generate(&ScenarioConfig::sized(60, 2 * 3600));
    scenario::save(
        &packets,
        &truth,
        &pcap,
        &Path::new(&pcap).with_extension("truth.json"),
    )
    .expect("saving the capture");
    same_report_on_any_shard_count(&[pcap], "generated gateway capture");
}
