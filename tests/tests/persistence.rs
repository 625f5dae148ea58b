//! State survives restarts: a final snapshot on SIGTERM, periodic ones that
//! bound what SIGKILL can lose, and damaged snapshots refused cleanly.

use std::{path::Path, time::Duration};

use dnsrare_core::engine::snapshot::{FORMAT_VERSION, OLDEST_READ};
use dnsrare_tests::{Daemon, queries_of, send_queries, wait_for};
use traffic::netns::Lab;

/// The report without the parts that change between runs of the daemon.
fn rows(report: &serde_json::Value) -> serde_json::Value {
    report["rows"].clone()
}

#[test]
fn sigterm_then_restart_loses_nothing() {
    let lab = Lab::new().expect("lab");
    let state = tempfile::tempdir().expect("tempdir");
    let first = Daemon::start_in(&lab, state.path(), &[]);
    send_queries(
        &lab,
        lab.gateway_ip,
        &["kept.example.com", "also.example.org"],
        3,
    );
    let before = first.wait_counted(6, 50);
    assert!(first.stop().success());
    assert!(state.path().join("state.snap").exists());

    let second = Daemon::start_in(&lab, state.path(), &[]);
    let after = second.report(50);
    assert_eq!(rows(&after), rows(&before));
    assert_eq!(after["capture"]["queries"], 6);
    assert_eq!(after["capture"]["counted"], 6);
    // Counting goes on from there.
    send_queries(&lab, lab.gateway_ip, &["kept.example.com"], 1);
    let more = second.wait_counted(7, 50);
    assert_eq!(queries_of(&more, "kept.example.com"), Some(4));
    assert_eq!(more["capture"]["queries"], 7);
}

#[test]
fn sigkill_then_restart_loses_at_most_one_interval() {
    let lab = Lab::new().expect("lab");
    let state = tempfile::tempdir().expect("tempdir");
    let first = Daemon::start_in(&lab, state.path(), &["--snapshot-interval", "1"]);
    send_queries(&lab, lab.gateway_ip, &["before.example.com"], 5);
    first.wait_counted(5, 50);
    // Wait for a snapshot taken after those were counted.
    let counted_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    wait_for("a snapshot after counting", Duration::from_secs(10), || {
        (first.stats()["snapshot"]["written_ns"].as_u64() > Some(counted_at)).then_some(())
    });
    send_queries(&lab, lab.gateway_ip, &["after.example.com"], 5);
    first.wait_counted(10, 50);
    first.kill();

    let second = Daemon::start_in(&lab, state.path(), &[]);
    let report = second.report(50);
    let find = |name: &str| queries_of(&report, name);
    assert_eq!(find("before.example.com"), Some(5), "{report}");
    // What came within the last interval may or may not have been saved.
    assert!(
        matches!(find("after.example.com"), None | Some(5)),
        "{report}"
    );
}

fn write_damaged(state: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(state).expect("state dir");
    std::fs::write(state.join("state.snap"), bytes).expect("write snapshot");
}

/// A real snapshot's bytes, from a daemon that counted one query.
fn real_snapshot(lab: &Lab) -> Vec<u8> {
    let state = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start_in(lab, state.path(), &[]);
    send_queries(lab, lab.gateway_ip, &["one.example.com"], 1);
    d.wait_counted(1, 10);
    assert!(d.stop().success());
    std::fs::read(state.path().join("state.snap")).expect("snapshot written")
}

#[test]
fn damaged_snapshots_are_set_aside_and_the_daemon_starts_empty() {
    let lab = Lab::new().expect("lab");
    let good = real_snapshot(&lab);
    let mut future = good.clone();
    future[8..12].copy_from_slice(&99u32.to_le_bytes());
    let mut older = good.clone();
    older[8..12].copy_from_slice(&3u32.to_le_bytes());
    let future_message = format!(
        "has format version 99; this dnsrare reads versions {OLDEST_READ} to {FORMAT_VERSION} only"
    );
    let older_message = format!(
        "has format version 3; this dnsrare reads versions {OLDEST_READ} to {FORMAT_VERSION} only"
    );
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "truncated",
            good[..good.len() - 10].to_vec(),
            "is truncated",
        ),
        ("future version", future, &future_message),
        ("older version (before answers)", older, &older_message),
        (
            "not a snapshot",
            b"garbage".to_vec(),
            "is not a dnsrare snapshot",
        ),
    ];
    for (case, bytes, message) in cases {
        let state = tempfile::tempdir().expect("tempdir");
        write_damaged(state.path(), &bytes);
        let d = Daemon::start_in(&lab, state.path(), &[]);
        let report = d.report(10);
        assert_eq!(report["names"], 0, "{case}: starts empty");
        assert_eq!(report["capture"]["queries"], 0, "{case}");
        let log = d.log();
        assert!(log.contains(message), "{case}: log says why: {log}");
        assert!(log.contains("starting empty"), "{case}: {log}");
        let aside: Vec<_> = std::fs::read_dir(state.path())
            .expect("state dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("state.snap.bad-"))
            .collect();
        assert_eq!(aside.len(), 1, "{case}: the damaged file is kept aside");
        assert_eq!(
            std::fs::read(state.path().join(&aside[0])).expect("kept"),
            bytes,
            "{case}"
        );
        assert!(d.stop().success(), "{case}");
    }
}
