//! Every crash cargo-fuzz found, kept as a regression test: the inputs in
//! `tests/fuzz-regressions/<target>/` must be refused cleanly, or, if they
//! are valid, used without a panic.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use capture_common::EventKind;
use dnsrare_core::{
    engine::{
        Engine, EngineConfig, report as query,
        snapshot::{self, FORMAT_VERSION, Snapshot},
    },
    ingest::{
        answers::{AnswerBytes, AnswerError, AnswerParser},
        observation::{Answered, Observation},
        pcap::{FileTotals, read_frames},
    },
    model::{
        capture::CaptureSummary,
        host::HostAddr,
        query::{ReportQuery, Sort, View},
    },
    protocol::parse_request,
};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

/// A snapshot file around `payload`, with a correct header and checksum
/// (as the structure-aware fuzz target builds them).
fn file_around(payload: &[u8]) -> Vec<u8> {
    let mut out = b"DNSRSNAP".to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// What the daemon does with a restored snapshot: start on it, answer every
/// view, count new traffic, answer again.
fn use_snapshot(s: Snapshot) {
    let engine = Engine::start(&EngineConfig::default(), Some(s.shards), Arc::default());
    let querier = engine.querier();
    let ask = || {
        let mut names = Vec::new();
        for view in [View::Name, View::Host, View::Domain] {
            for sort in [Sort::Score, Sort::Rare] {
                let q = ReportQuery {
                    view,
                    sort,
                    ..ReportQuery::default()
                };
                // A shard that panicked would make the report fail.
                let r = query::report(
                    &querier,
                    CaptureSummary::default(),
                    &q,
                    Default::default(),
                    &Arc::default(),
                )
                .expect("a restored snapshot answers every view");
                names.extend(r.rows.into_iter().map(|row| row.name));
            }
        }
        for name in &names {
            let _ = querier.hosts(name);
        }
        let _ = querier.sizes();
        names
    };
    let names = ask();
    let mut dispatcher = engine.dispatcher();
    for name in names.iter().take(8) {
        for kind in [EventKind::Query, EventKind::Response] {
            let _ = dispatcher.push(&Observation {
                name,
                time_ns: u64::MAX / 2,
                host: HostAddr::from(IpAddr::from([192, 0, 2, 1])),
                kind,
                qtype: 1,
                rcode: 3,
                answers: Answered::Unknown,
                upstream: false,
            });
        }
    }
    let _ = dispatcher.flush();
    drop(dispatcher);
    ask();
    drop(querier);
    engine.shutdown();
}

/// The answer-parser target's inputs (and every crash it found): the
/// named ones with their exact outcome, any other without a panic.
#[test]
fn answer_parser_inputs_give_their_outcomes() {
    const QNAME: &[u8] = b"\x03www\x07example\x03com\x00";
    for (path, data) in inputs("answer_parser") {
        let [hi, lo, flags, rest @ ..] = data.as_slice() else {
            continue;
        };
        let parsed = AnswerParser::new()
            .parse(
                QNAME,
                "www.example.com",
                u16::from_be_bytes([*hi, *lo]),
                flags & 1 != 0,
                AnswerBytes {
                    bytes: rest,
                    cut: flags & 2 != 0,
                },
            )
            .cloned();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match name {
            "cname_chain" => {
                let a = parsed.expect("valid");
                assert_eq!(a.chain, ["cdn.example.net", "edge.example.net"]);
                assert_eq!(a.addresses.len(), 2);
                assert_eq!(a.ttl, Some((20, 300)));
            }
            "two_a" => assert_eq!(parsed.expect("valid").addresses.len(), 2),
            "short_tc" => {
                let a = parsed.expect("truncated, not refused");
                assert!(a.truncated);
                assert_eq!(a.records, 1);
            }
            "pointer_loop" | "forward_pair" => {
                assert_eq!(parsed, Err(AnswerError::BadPointer), "{name}");
            }
            "empty" => assert_eq!(parsed.expect("valid").records, 0),
            _ => {}
        }
    }
}

#[test]
fn snapshot_payload_crashes_are_refused() {
    for (path, payload) in inputs("snapshot_payload") {
        let bytes = file_around(&payload);
        match snapshot::decode(Path::new("fuzz"), &bytes) {
            Ok(s) => use_snapshot(s),
            Err(e) => assert!(
                matches!(
                    e,
                    snapshot::SnapshotError::Inconsistent { .. }
                        | snapshot::SnapshotError::Decode { .. }
                ),
                "{}: {e}",
                path.display()
            ),
        }
    }
}

#[test]
fn snapshot_file_crashes_are_refused() {
    for (path, bytes) in inputs("snapshot_loader") {
        if let Ok(s) = snapshot::decode(Path::new("fuzz"), &bytes) {
            use_snapshot(s);
        } else {
            eprintln!("{}: refused", path.display());
        }
    }
}

#[test]
fn pcap_reader_crashes_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, bytes) in inputs("pcap_reader") {
        let file = dir.path().join("input.pcap");
        std::fs::write(&file, &bytes).expect("write");
        let mut totals = FileTotals::default();
        let result = read_frames(&file, &mut totals, |frame| {
            assert!(frame.data.len() <= bytes.len());
        });
        assert!(
            result.is_err(),
            "{}: a damaged file reads as an error",
            path.display()
        );
    }
}

#[test]
fn socket_request_crashes_are_refused_or_round_trip() {
    for (path, line) in inputs("socket_request") {
        match parse_request(&line) {
            Ok(request) => {
                let json = serde_json::to_vec(&request).expect("a request serialises");
                assert_eq!(
                    parse_request(&json).as_ref(),
                    Ok(&request),
                    "{}",
                    path.display()
                );
            }
            Err(e) => eprintln!("{}: refused: {e}", path.display()),
        }
    }
}
