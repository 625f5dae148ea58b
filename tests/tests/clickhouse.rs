//! Export to ClickHouse and the central report, against real ClickHouse
//! servers (Debian's 18.16, plain processes with their own data, removed
//! afterwards): the central report of two sensors equals the local report
//! of both inputs together, on one server and on a two-node cluster
//! through Distributed tables; a backfill loaded twice counts once; a
//! wrong schema version is refused; and across outages (ClickHouse killed
//! mid-run, the daemon SIGKILLed with a full spool) nothing is lost or
//! doubled but what the spool limit dropped, which the report shows.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use dnsrare_core::export::batch::WindowBatch;
use dnsrare_tests::{
    Daemon,
    clickhouse::{ClickHouse, free_port},
    dnsrare_bin, send_queries, shared_data, wait_for,
};
use traffic::netns::Lab;

/// The two captures, one per sensor: their hosts differ, so the union's
/// hosts are the sensors' hosts.
const SITE_A: &str = "pcaps/c2_dridex_unit42_https-tutorial.pcap";
const SITE_B: &str = "pcaps/dga_tinba_ustc-tfc2016_tinba.pcap";

fn dnsrare(lab: Option<&Lab>, args: &[&str]) -> Output {
    let mut cmd = match lab {
        Some(lab) => lab.gateway_command(dnsrare_bin()),
        None => Command::new(dnsrare_bin()),
    };
    cmd.args(args).output().expect("running dnsrare")
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn credentials(dir: &Path) -> PathBuf {
    let file = dir.join("clickhouse.credentials");
    std::fs::write(&file, "dnsrare:s3cret\n").expect("credentials file");
    file
}

fn export(ch: &ClickHouse<'_>, db: &str, creds: &Path, capture: &Path, sensor: &str) {
    let url = ch.url(db);
    let creds = creds.to_str().expect("utf-8 path");
    let capture = capture.to_str().expect("utf-8 path");
    ok(
        dnsrare(
            None,
            &[
                "pcap",
                capture,
                "--no-progress",
                "--export",
                &url,
                "--sensor",
                sensor,
                "--export-credentials",
                creds,
            ],
        ),
        "pcap --export",
    );
}

/// The report with what only central reports carry taken out.
fn without_sensors(mut r: serde_json::Value) -> serde_json::Value {
    let o = r.as_object_mut().expect("report object");
    o.remove("sensors");
    for row in o["rows"].as_array_mut().expect("rows") {
        for h in row["hosts"].as_array_mut().expect("hosts") {
            h.as_object_mut().expect("host").remove("sensor");
        }
    }
    for f in o["findings"].as_array_mut().expect("findings") {
        f.as_object_mut().expect("finding").remove("sensors");
    }
    for h in o["hosts"].as_array_mut().expect("host rows") {
        h.as_object_mut().expect("host row").remove("sensor");
    }
    r
}

const REPORT: &[&str] = &["--json", "--top", "100000", "--weak"];

fn local_union(data: &Path, by: &str) -> serde_json::Value {
    let (a, b) = (data.join(SITE_A), data.join(SITE_B));
    let mut args = vec!["pcap", a.to_str().expect("path"), b.to_str().expect("path")];
    args.extend_from_slice(&["--no-progress", "--by", by]);
    args.extend_from_slice(REPORT);
    json(&ok(dnsrare(None, &args), "pcap"))
}

fn central(ch: &ClickHouse<'_>, lab: Option<&Lab>, db: &str, by: &str) -> serde_json::Value {
    let url = ch.url(db);
    let mut args = vec!["report", "--from", &url, "--by", by];
    args.extend_from_slice(REPORT);
    json(&ok(dnsrare(lab, &args), "report --from"))
}

fn init(ch: &ClickHouse<'_>, lab: Option<&Lab>, db: &str, extra: &[&str]) -> String {
    let url = ch.url(db);
    let mut args = vec!["clickhouse", "init", &url];
    args.extend_from_slice(extra);
    String::from_utf8_lossy(&ok(dnsrare(lab, &args), "clickhouse init").stdout).into_owned()
}

fn assert_same_report(central: serde_json::Value, local: &serde_json::Value, what: &str) {
    let central = without_sensors(central);
    for key in [
        "capture",
        "names",
        "network_hosts",
        "rows",
        "findings",
        "hosts",
    ] {
        assert_eq!(central[key], local[key], "{what}: {key} differs");
    }
}

#[test]
fn central_report_equals_the_local_report_of_both_sensors_and_backfills_count_once() {
    let Some(data) = shared_data("central_report_equals_the_local_report") else {
        return;
    };
    let ch = ClickHouse::start(None, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = credentials(dir.path());
    let said = init(&ch, None, "dnsrare", &["--retention-days", "0"]);
    assert!(said.contains("schema version 1"), "{said}");
    // Init again is harmless.
    init(&ch, None, "dnsrare", &["--retention-days", "0"]);
    export(&ch, "dnsrare", &creds, &data.join(SITE_A), "site-a");
    export(&ch, "dnsrare", &creds, &data.join(SITE_B), "site-b");
    let sum = "SELECT sum(queries) FROM dnsrare.pairs FINAL";
    let before = ch.query(sum);
    // The same backfill again: the same batch ids, collapsed.
    export(&ch, "dnsrare", &creds, &data.join(SITE_A), "site-a");
    assert_eq!(ch.query(sum), before);
    assert_eq!(before.trim(), "10916");

    for by in ["finding", "host"] {
        let c = central(&ch, None, "dnsrare", by);
        let sensors: Vec<&str> = c["sensors"]
            .as_array()
            .expect("sensors")
            .iter()
            .map(|s| s["sensor"].as_str().expect("name"))
            .collect();
        assert_eq!(sensors, ["site-a", "site-b"]);
        if by == "finding" {
            let f = &c["findings"][0];
            assert_eq!(f["kind"], "dga_burst");
            assert_eq!(f["sensors"], serde_json::json!(["site-b"]));
            assert_eq!(f["hosts"], serde_json::json!(["10.0.2.108"]));
        }
        assert_same_report(c, &local_union(&data, by), by);
    }
}

#[test]
fn a_distributed_table_over_two_nodes_gives_the_same_central_report() {
    let Some(data) = shared_data("a_distributed_table_over_two_nodes") else {
        return;
    };
    let (t1, t2) = (free_port(), free_port());
    let node1 = ClickHouse::start_on(None, free_port(), t1, &[t1, t2]);
    let node2 = ClickHouse::start_on(None, free_port(), t2, &[t1, t2]);
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = credentials(dir.path());
    for node in [&node1, &node2] {
        let said = init(node, None, "dnsrare", &["--cluster", "two"]);
        assert!(said.contains("over cluster two"), "{said}");
    }
    // Each site exports to its own node.
    export(&node1, "dnsrare", &creds, &data.join(SITE_A), "site-a");
    export(&node2, "dnsrare", &creds, &data.join(SITE_B), "site-b");
    assert_eq!(
        node1.query("SELECT sum(queries) FROM dnsrare.pairs").trim(),
        "10"
    );
    let local = local_union(&data, "finding");
    for node in [&node1, &node2] {
        assert_same_report(central(node, None, "dnsrare", "finding"), &local, "cluster");
    }
}

#[test]
fn a_wrong_schema_version_is_refused_with_a_clear_message() {
    let Some(data) = shared_data("a_wrong_schema_version_is_refused") else {
        return;
    };
    let ch = ClickHouse::start(None, &[]);
    init(&ch, None, "dnsrare", &[]);
    ch.query("INSERT INTO dnsrare.schema_info VALUES (999, '', 30)");
    let url = ch.url("dnsrare");
    let capture = data.join(SITE_A);
    let capture = capture.to_str().expect("path");
    let runs = [
        dnsrare(
            None,
            &[
                "pcap",
                capture,
                "--no-progress",
                "--export",
                &url,
                "--sensor",
                "s",
            ],
        ),
        dnsrare(None, &["report", "--from", &url]),
        dnsrare(None, &["clickhouse", "init", &url]),
    ];
    for out in runs {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("has dnsrare schema version 999; this dnsrare reads and writes version 1"),
            "{err}"
        );
    }
    assert_eq!(ch.query("SELECT count() FROM dnsrare.pairs").trim(), "0");
    // A database never initialised says how to initialise it.
    let out = dnsrare(None, &["report", "--from", &ch.url("other")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `dnsrare clickhouse init"), "{err}");
}

/// Queries spooled (not yet sent) in `state`, and the spool's recorded losses.
fn spooled(state: &Path) -> (u64, usize, serde_json::Value) {
    let dir = state.join("spool");
    let mut queries = 0;
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "batch") {
            let bytes = std::fs::read(entry.path()).expect("spool file");
            queries += WindowBatch::decode(&bytes)
                .expect("a whole batch")
                .queries();
            files += 1;
        }
    }
    let losses = std::fs::read(dir.join("losses.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::json!({"batches": 0, "queries": 0}));
    (queries, files, losses)
}

/// name → host → queries, from a report's name rows.
fn counts(report: &serde_json::Value) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for row in report["rows"].as_array().expect("rows") {
        let hosts = row["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .map(|h| {
                (
                    h["addr"].as_str().expect("addr").to_owned(),
                    h["queries"].as_u64().expect("queries"),
                )
            })
            .collect();
        out.insert(row["name"].as_str().expect("name").to_owned(), hosts);
    }
    out
}

fn export_flags<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec!["--export", url, "--sensor", "gw", "--export-window", "1s"];
    flags.extend_from_slice(extra);
    flags
}

fn stored_queries(ch: &ClickHouse<'_>) -> u64 {
    ch.query("SELECT sum(queries) FROM dnsrare.pairs FINAL")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn clickhouse_stopped_mid_run_then_restarted_loses_and_doubles_nothing() {
    let lab = Lab::new().expect("lab");
    let mut ch = ClickHouse::start(Some(&lab), &[]);
    init(&ch, Some(&lab), "dnsrare", &[]);
    let state = tempfile::tempdir().expect("state dir");
    let url = ch.url("dnsrare");
    let daemon = Daemon::start_in(&lab, state.path(), &export_flags(&url, &[]));
    let to = lab.gateway_ip;

    send_queries(&lab, to, &["before.example.com", "both.example.org"], 3);
    // Both inserts of the batch done (pairs, then its window row): the
    // spool is empty.
    wait_for(
        "the first windows in ClickHouse",
        Duration::from_secs(20),
        || (stored_queries(&ch) == 6 && spooled(state.path()).1 == 0).then_some(()),
    );
    ch.stop();
    send_queries(&lab, to, &["during.example.net", "both.example.org"], 2);
    wait_for(
        "the outage's windows in the spool",
        Duration::from_secs(20),
        || (spooled(state.path()).0 == 4).then_some(()),
    );
    ch.restart();
    wait_for("the spool to drain", Duration::from_secs(60), || {
        (spooled(state.path()).1 == 0 && stored_queries(&ch) == 10).then_some(())
    });
    // Nothing doubled: each batch once, however often it was tried.
    let batches = ch.query("SELECT count(), uniqExact(batch) FROM dnsrare.windows FINAL");
    let (n, unique) = batches.trim().split_once('\t').expect("two columns");
    assert_eq!(n, unique);
    eprintln!(
        "outage: 6 queries stored before, 4 spooled during, {} stored after in {n} batches",
        stored_queries(&ch)
    );

    let local = daemon.report(1000);
    let url = ch.url("dnsrare");
    let out = ok(
        dnsrare(
            Some(&lab),
            &[
                "report", "--from", &url, "--json", "--sort", "rare", "--top", "1000",
            ],
        ),
        "report --from",
    );
    let central = json(&out);
    assert_eq!(counts(&central), counts(&local));
    assert_eq!(
        counts(&central)["both.example.org"].values().sum::<u64>(),
        5
    );
    assert_eq!(central["sensors"][0]["spool_dropped_windows"], 0);
    assert_eq!(central["rows"][0]["hosts"][0]["sensor"], "gw");
    drop(daemon);
}

#[test]
fn a_full_spool_survives_sigkill_drains_after_restart_and_its_losses_are_reported() {
    let lab = Lab::new().expect("lab");
    let mut ch = ClickHouse::start(Some(&lab), &[]);
    init(&ch, Some(&lab), "dnsrare", &[]);
    ch.stop();
    let state = tempfile::tempdir().expect("state dir");
    let url = ch.url("dnsrare");
    // Room for about two one-name windows.
    let flags = export_flags(&url, &["--export-spool-max", "1100"]);
    let daemon = Daemon::start_in(&lab, state.path(), &flags);
    let windows = 5;
    for i in 0..windows {
        send_queries(&lab, lab.gateway_ip, &[&format!("w{i}.example.com")], 2);
        std::thread::sleep(Duration::from_millis(1100));
    }
    let sent = 2 * windows;
    let (kept, lost) = wait_for(
        "every window spooled or dropped",
        Duration::from_secs(20),
        || {
            let (q, _, losses) = spooled(state.path());
            let lost = losses["queries"].as_u64().expect("lost queries");
            (q + lost == sent).then_some((q, lost))
        },
    );
    assert!(lost > 0 && kept > 0, "kept {kept}, lost {lost}");
    assert_eq!(daemon.kill().code(), None, "killed by SIGKILL");

    ch.restart();
    let daemon = Daemon::start_in(&lab, state.path(), &flags);
    wait_for(
        "the spool to drain after the restart",
        Duration::from_secs(60),
        || (spooled(state.path()).1 == 0).then_some(()),
    );
    assert_eq!(stored_queries(&ch), kept);
    eprintln!(
        "SIGKILL with a full spool: {sent} queries sent, {kept} spooled and stored after the restart, {lost} dropped and reported"
    );
    let url = ch.url("dnsrare");
    let central = json(&ok(
        dnsrare(
            Some(&lab),
            &["report", "--from", &url, "--json", "--by", "name"],
        ),
        "report --from",
    ));
    let sensor = &central["sensors"][0];
    assert_eq!(sensor["sensor"], "gw");
    assert_eq!(sensor["spool_dropped_queries"], lost);
    assert!(sensor["spool_dropped_windows"].as_u64() >= Some(1));
    let table = ok(
        dnsrare(Some(&lab), &["report", "--from", &url]),
        "report --from",
    );
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(&format!(
            "warning: sensor gw dropped {} windows ({lost} queries)",
            sensor["spool_dropped_windows"]
        )),
        "{text}"
    );
    drop(daemon);
}
