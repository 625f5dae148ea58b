//! Zeek and Suricata logs against the captures they were made from: for
//! every log in `../shared/data/logs/` (beside the workspace) that has its
//! capture there, the log readers must give the same observations — name,
//! query or response, client, QTYPE, RCODE, how many — as the pcap path
//! gives on the capture, and the same report rows (names, query counts,
//! hosts), except for the differences listed with their reasons. Also:
//! the TSV and JSON forms of one large Zeek log agree; a gzip stream cut
//! short and a JSON line cut in half give partial results; garbage lines
//! are counted with their line numbers. The data are read in place; the
//! tests are skipped, with a note, when the folder is absent.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use capture_common::EventKind;
use dnsrare_core::{
    engine::EngineConfig,
    ingest::{
        eve::EveParser,
        frame_parser_twin::FrameParser,
        logs::{Entry, LineParser, LogFormat, LogTotals, ReadError, read_log},
        observation::{EventDecoder, Observation},
        pcap::{FileTotals, read_frames},
        zeek::ZeekParser,
    },
    model::{
        query::{ReportQuery, View},
        report::Report,
    },
    offline,
    protocol::MAX_TOP,
    score::lists::Lists,
};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/logs");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; log tests skipped", dir.display());
        None
    }
}

fn query() -> ReportQuery {
    ReportQuery {
        view: View::Name,
        top: MAX_TOP,
        per_domain: 0,
        ..ReportQuery::default()
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        shards: 2,
        fold_names: 10_000,
        max_memory: 64 << 20,
    }
}

/// Per name: queries, responses, NXDOMAIN, and queries per host.
#[derive(Debug, PartialEq, Eq)]
struct NameCounts {
    queries: u64,
    responses: u64,
    nxdomain: u64,
    hosts: BTreeMap<IpAddr, u64>,
}

fn counts(report: &Report) -> BTreeMap<String, NameCounts> {
    report
        .rows
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                NameCounts {
                    queries: r.queries,
                    responses: r.responses,
                    nxdomain: r.nxdomain,
                    hosts: r.hosts.iter().map(|h| (h.addr, h.queries)).collect(),
                },
            )
        })
        .collect()
}

/// One observation reduced to what both paths must agree on.
type Key = (String, &'static str, IpAddr, u16, u8);

fn key(o: &Observation<'_>) -> Key {
    let kind = match o.kind {
        EventKind::Query => "query",
        EventKind::Response => "response",
    };
    let rcode = if o.kind == EventKind::Query {
        0
    } else {
        o.rcode
    };
    (o.name.to_owned(), kind, o.host.ip(), o.qtype, rcode)
}

fn pcap_observations(path: &Path) -> BTreeMap<Key, u64> {
    let mut out = BTreeMap::new();
    let mut parser = FrameParser::new();
    let mut decoder = EventDecoder::new(0);
    let mut totals = FileTotals::default();
    read_frames(path, &mut totals, |frame| {
        parser.parse(frame.link, frame.data, frame.time_ns, |event, answers| {
            if let Ok(o) = decoder.decode(event, answers) {
                *out.entry(key(&o)).or_insert(0) += 1;
            }
        });
    })
    .expect("capture reads");
    out
}

fn log_observations(path: &Path, format: LogFormat) -> (BTreeMap<Key, u64>, LogTotals) {
    let mut out = BTreeMap::new();
    let mut totals = LogTotals::default();
    let each = |o: &Observation<'_>| *out.entry(key(o)).or_insert(0) += 1;
    let result = match format {
        LogFormat::Zeek => read_log(path, &mut ZeekParser::new(), &mut totals, each, |_| {}),
        LogFormat::Eve => read_log(path, &mut EveParser::new(), &mut totals, each, |_| {}),
    };
    result.expect("log reads");
    (out, totals)
}

/// A canonified btest baseline with its `ts` column set to a number
/// (btest replaced it with `XXXXXXXXXX.XXXXXX`), in a temporary file.
fn with_times(path: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(path).expect("read");
    let out = dir.join(path.file_name().expect("name"));
    std::fs::write(&out, text.replace("XXXXXXXXXX.XXXXXX", "1000000000.000000")).expect("write");
    out
}

fn diff(a: &BTreeMap<Key, u64>, b: &BTreeMap<Key, u64>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, n) in a {
        let m = b.get(k).copied().unwrap_or(0);
        if *n != m {
            out.push(format!("{k:?}: pcap {n}, log {m}"));
        }
    }
    for (k, m) in b {
        if !a.contains_key(k) {
            out.push(format!("{k:?}: pcap 0, log {m}"));
        }
    }
    out
}

/// One expected difference between the two paths.
struct Difference {
    name: &'static str,
    kind: &'static str,
    host: &'static str,
    qtype: u16,
    rcode: u8,
    pcap: u64,
    log: u64,
}

/// A log and the capture it was made from.
struct Pair {
    pcap: &'static str,
    log: &'static str,
    format: LogFormat,
    /// Observations the two paths are known to disagree on, and why.
    differences: &'static [Difference],
    why: &'static str,
    /// Names whose report rows differ because of those differences.
    rows_differ: &'static [&'static str],
}

const fn d(
    name: &'static str,
    kind: &'static str,
    host: &'static str,
    qtype: u16,
    rcode: u8,
    pcap: u64,
    log: u64,
) -> Difference {
    Difference {
        name,
        kind,
        host,
        qtype,
        rcode,
        pcap,
        log,
    }
}

/// Zeek logged a response without having seen the query (its question
/// columns are unset), so the response's QTYPE is unknown (0).
const FLIP: &[Difference] = &[
    d(
        "us.v27.distributed.net",
        "response",
        "10.20.1.31",
        1,
        0,
        1,
        0,
    ),
    d(
        "us.v27.distributed.net",
        "response",
        "10.20.1.31",
        0,
        0,
        0,
        1,
    ),
];
const DUPLICATE: &[Difference] = &[
    d("www.cmu.edu", "response", "55.247.223.174", 1, 0, 2, 1),
    d("www.cmu.edu", "response", "55.247.223.174", 0, 0, 0, 1),
];
const TXT: &[Difference] = &[
    d(
        "flkr._domainkey.flickr.com",
        "query",
        "192.150.187.50",
        16,
        0,
        1,
        0,
    ),
    d(
        "flkr._domainkey.flickr.com",
        "response",
        "192.150.187.50",
        16,
        0,
        1,
        0,
    ),
    d(
        "flkr._domainkey.flickr.com",
        "response",
        "192.150.187.50",
        0,
        0,
        0,
        1,
    ),
];
const SPF: &[Difference] = &[
    d("mail.vladg.net", "query", "10.91.0.62", 99, 0, 1, 0),
    d("mail.vladg.net", "response", "10.91.0.62", 99, 0, 1, 0),
    d("mail.vladg.net", "response", "10.91.0.62", 0, 0, 0, 1),
];
const GRE: &[Difference] = &[
    d(
        "xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678",
        "query",
        "172.16.44.3",
        28,
        0,
        0,
        1,
    ),
    d(
        "xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678",
        "response",
        "172.16.44.3",
        28,
        3,
        0,
        1,
    ),
];
const BAD_CHECKSUM: &str = "the query packet has bad IP and UDP checksums (captured on the \
     sender, checksum offload) and the baseline was made without -C, so Zeek dropped it and \
     logged the response alone: no query, response QTYPE unknown; the pcap path, like XDP, does \
     not check checksums";
const RESPONSE_ONLY: &str = "Zeek logged a response it saw without a query: its question \
     columns (qtype) are unset, so the response's QTYPE is unknown (0)";
const TUNNEL: &str = "the DNS is inside IPv6 → IPv4 → GRE → PPP; Zeek decapsulates the \
     tunnel, the pcap path (like the XDP parser) does not look inside GRE";

const PAIRS: &[Pair] = &[
    Pair {
        pcap: "zeek_flip.pcap",
        log: "zeek_flip_dns.log",
        format: LogFormat::Zeek,
        differences: FLIP,
        why: RESPONSE_ONLY,
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_flip.pcap",
        log: "zeek_flip_dns.canon.log",
        format: LogFormat::Zeek,
        differences: FLIP,
        why: RESPONSE_ONLY,
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_duplicate-reponses.pcap",
        log: "zeek_duplicate-reponses_dns.log",
        format: LogFormat::Zeek,
        differences: DUPLICATE,
        why: "the second copy of the response is logged as a record of its own, response \
              only: its QTYPE is unknown (0)",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_duplicate-reponses.pcap",
        log: "zeek_duplicate-reponses_dns.canon.log",
        format: LogFormat::Zeek,
        differences: DUPLICATE,
        why: "as above",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_multiple-txt-strings.pcap",
        log: "zeek_multiple-txt-strings_dns.log",
        format: LogFormat::Zeek,
        differences: TXT,
        why: BAD_CHECKSUM,
        rows_differ: &["flkr._domainkey.flickr.com"],
    },
    Pair {
        pcap: "zeek_multiple-txt-strings.pcap",
        log: "zeek_multiple-txt-strings_dns.canon.log",
        format: LogFormat::Zeek,
        differences: TXT,
        why: BAD_CHECKSUM,
        rows_differ: &["flkr._domainkey.flickr.com"],
    },
    Pair {
        pcap: "zeek_spf.pcap",
        log: "zeek_spf_dns.log",
        format: LogFormat::Zeek,
        differences: SPF,
        why: BAD_CHECKSUM,
        rows_differ: &["mail.vladg.net"],
    },
    Pair {
        pcap: "zeek_spf.pcap",
        log: "zeek_spf_dns.canon.log",
        format: LogFormat::Zeek,
        differences: SPF,
        why: BAD_CHECKSUM,
        rows_differ: &["mail.vladg.net"],
    },
    Pair {
        pcap: "zeek_gre-pptp.pcap",
        log: "zeek_gre-pptp_dns.log",
        format: LogFormat::Zeek,
        differences: GRE,
        why: TUNNEL,
        rows_differ: &["xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678"],
    },
    Pair {
        pcap: "zeek_gre-pptp.pcap",
        log: "zeek_gre-pptp_dns.canon.log",
        format: LogFormat::Zeek,
        differences: GRE,
        why: TUNNEL,
        rows_differ: &["xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678"],
    },
    Pair {
        pcap: "zeek_rrsig.pcap",
        log: "zeek_rrsig_dns.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_rrsig.pcap",
        log: "zeek_rrsig_dns.canon.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_nsec3.pcap",
        log: "zeek_nsec3_dns.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_nsec3.pcap",
        log: "zeek_nsec3_dns.canon.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_original-case.pcap",
        log: "zeek_original-case_dns.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_original-case.pcap",
        log: "zeek_original-case_dns.canon.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    // Canonified baselines only (btest replaced `ts`; see with_times).
    Pair {
        pcap: "zeek_opt-basic.pcap",
        log: "zeek_opt-basic_dns.canon.log",
        format: LogFormat::Zeek,
        // 20 of the 34 records are mDNS, LLMNR and NetBIOS (ports 5353,
        // 5355, 137): skipped by the reader as the pcap path skips them.
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_tkey.pcap",
        log: "zeek_tkey_dns.canon.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_dynamic-update.pcap",
        log: "zeek_dynamic-update_dns.canon.log",
        format: LogFormat::Zeek,
        // Both records are UPDATE (opcode 5): skipped by both paths.
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_mdns-no-assoc.pcap",
        log: "zeek_mdns-no-assoc_dns.canon.log",
        format: LogFormat::Zeek,
        // All mDNS: skipped by both paths.
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "zeek_sshfp.pcap",
        log: "zeek_sshfp_dns.canon.log",
        format: LogFormat::Zeek,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "suricata_verify-eve-dns.pcap",
        log: "suricata_verify-eve-dns_v1_eve.json",
        format: LogFormat::Eve,
        // 5 answer events for 4 responses: block.dropbox.com's two
        // records are one response.
        differences: &[],
        why: "",
        rows_differ: &[],
    },
    Pair {
        pcap: "suricata_verify-single-dns-request.pcap",
        log: "suricata_verify-single-dns-request_v1_eve.json",
        format: LogFormat::Eve,
        differences: &[],
        why: "",
        rows_differ: &[],
    },
];

fn lists() -> Arc<Lists> {
    Arc::new(Lists::embedded())
}

fn run_log(format: LogFormat, path: &Path) -> offline::LogRun {
    offline::run_logs(
        format,
        &[path.to_owned()],
        &config(),
        lists(),
        &Default::default(),
        &query(),
        |_| {},
    )
    .expect("log run")
}

#[test]
fn logs_agree_with_their_captures() {
    let Some(dir) = data_dir() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    for pair in PAIRS {
        let (pcap, log) = (dir.join(pair.pcap), dir.join(pair.log));
        if !pcap.exists() || !log.exists() {
            eprintln!("note: {} or {} is absent; skipped", pair.pcap, pair.log);
            continue;
        }
        let log = if pair.log.contains(".canon.") {
            with_times(&log, tmp.path())
        } else {
            log
        };
        // Observations.
        let from_pcap = pcap_observations(&pcap);
        let (from_log, totals) = log_observations(&log, pair.format);
        assert_eq!(totals.malformed, 0, "{}: {:?}", pair.log, totals.faults);
        let mut found: Vec<String> = diff(&from_pcap, &from_log);
        found.sort();
        let mut expected: Vec<String> = pair
            .differences
            .iter()
            .map(|x| {
                let k: Key = (
                    x.name.to_owned(),
                    x.kind,
                    x.host.parse().expect("address"),
                    x.qtype,
                    x.rcode,
                );
                format!("{k:?}: pcap {}, log {}", x.pcap, x.log)
            })
            .collect();
        expected.sort();
        assert_eq!(
            found, expected,
            "{} against {}: {}",
            pair.log, pair.pcap, pair.why
        );
        // Report rows: names, query counts, hosts.
        let p = offline::run(
            &[],
            std::slice::from_ref(&pcap),
            &config(),
            lists(),
            &Default::default(),
            &query(),
            |_| {},
        )
        .expect("pcap run");
        let l = run_log(pair.format, &log);
        assert!(!l.partial(), "{}", pair.log);
        let (mut rp, mut rl) = (counts(&p.report), counts(&l.report));
        for name in pair.rows_differ {
            assert_ne!(rp.remove(*name), rl.remove(*name), "{}: {name}", pair.log);
        }
        assert_eq!(rp, rl, "{} against {}", pair.log, pair.pcap);
        // The capture summary counts what the log gave.
        let logged = |kind: &str| {
            from_log
                .iter()
                .filter(|(k, _)| k.1 == kind)
                .map(|(_, n)| n)
                .sum::<u64>()
        };
        assert_eq!(l.report.capture.queries, logged("query"), "{}", pair.log);
        assert_eq!(
            l.report.capture.responses,
            logged("response"),
            "{}",
            pair.log
        );
        assert_eq!(l.report.capture.packets, totals.records, "{}", pair.log);
    }
}

#[test]
fn zeek_tsv_and_json_of_the_same_traffic_agree() {
    let Some(dir) = data_dir() else { return };
    let (tsv, json) = (
        dir.join("zeek_zed-sample-wrccdc_dns.log.gz"),
        dir.join("zeek_zed-sample-wrccdc_dns.json.gz"),
    );
    if !tsv.exists() || !json.exists() {
        eprintln!("note: the wrccdc logs are absent; skipped");
        return;
    }
    let (a, ta) = log_observations(&tsv, LogFormat::Zeek);
    let (b, tb) = log_observations(&json, LogFormat::Zeek);
    assert_eq!((ta.records, tb.records), (53_615, 53_615));
    assert_eq!(
        (ta.malformed, tb.malformed),
        (0, 0),
        "{:?} {:?}",
        ta.faults,
        tb.faults
    );
    assert_eq!(ta.skipped, tb.skipped);
    assert_eq!((ta.queries, ta.responses), (tb.queries, tb.responses));
    assert!(ta.queries > 40_000, "{ta:?}");
    assert_eq!(diff(&a, &b), Vec::<String>::new());
}

#[test]
fn a_gzip_stream_cut_short_gives_a_partial_report() {
    let Some(dir) = data_dir() else { return };
    let whole = dir.join("zeek_zed-sample-wrccdc_dns.log.gz");
    let Ok(bytes) = std::fs::read(&whole) else {
        eprintln!("note: {} is absent; skipped", whole.display());
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let cut = tmp.path().join("cut.log.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write");
    let run = run_log(LogFormat::Zeek, &cut);
    assert!(run.partial());
    assert_eq!(run.damaged.len(), 1);
    let message = run.damaged[0].to_string();
    assert!(
        matches!(run.damaged[0], ReadError::Read { .. }),
        "{message}"
    );
    assert!(
        message.contains("cut.log.gz: read failed at line"),
        "{message}"
    );
    let read = &run.read.files[0];
    assert!(read.records > 10_000 && read.records < 53_615, "{read:?}");
    assert_eq!(read.malformed, 0);
    assert_eq!(run.report.capture.queries, read.queries);
    assert!(!run.report.rows.is_empty());
}

#[test]
fn a_json_line_cut_in_half_gives_a_partial_report() {
    let Some(dir) = data_dir() else { return };
    let whole = dir.join("suricata_verify-eve-dns_v1_eve.json");
    let Ok(text) = std::fs::read(&whole) else {
        eprintln!("note: {} is absent; skipped", whole.display());
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let cut = tmp.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() - 40]).expect("write");
    let run = run_log(LogFormat::Eve, &cut);
    assert!(run.partial());
    assert_eq!(run.damaged.len(), 1);
    assert!(
        matches!(run.damaged[0], ReadError::Cut { line: 9, .. }),
        "{}",
        run.damaged[0]
    );
    assert_eq!(run.read.files[0].records, 8);
    assert_eq!(
        (run.report.capture.queries, run.report.capture.responses),
        (4, 3)
    );
}

#[test]
fn garbage_lines_are_counted_with_their_line_numbers() {
    let Some(dir) = data_dir() else { return };
    let whole = dir.join("zeek_rrsig_dns.log");
    let Ok(text) = std::fs::read_to_string(&whole) else {
        eprintln!("note: {} is absent; skipped", whole.display());
        return;
    };
    let mut lines: Vec<&str> = text.lines().collect();
    // Garbage at lines 3 and 11 (1-based) of the new file, and a half JSON
    // line (with its newline: malformed, not cut) at the end, line 16.
    lines.insert(2, "\u{1}\u{2} binary junk");
    lines.insert(10, "1533300000.0\tCxx\tnot-an-address\t1\t2");
    lines.push("{\"half\": ");
    let tmp = tempfile::tempdir().expect("tempdir");
    let damaged = tmp.path().join("dns.log");
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("write");
    let run = run_log(LogFormat::Zeek, &damaged);
    assert!(run.partial());
    assert!(run.damaged.is_empty());
    let read = &run.read.files[0];
    assert_eq!(read.malformed, 3);
    assert_eq!(read.malformed_lines, [3, 11, 16]);
    assert_eq!(read.faults.len(), 3);
    assert!(read.faults[1].contains(":11: "), "{:?}", read.faults);
    assert_eq!(run.report.capture.parse_errors_by_reason.other, 3);
    // Everything else is read as from the clean file.
    let (clean, _) = log_observations(&whole, LogFormat::Zeek);
    let (dirty, _) = log_observations(&damaged, LogFormat::Zeek);
    assert_eq!(diff(&clean, &dirty), Vec::<String>::new());
}

#[test]
fn logs_without_captures_read_cleanly() {
    let Some(dir) = data_dir() else { return };
    // (file, format, DNS records, other events, malformed lines)
    let cases = [
        // Line 8 is a Splunk export object, not a Zeek record.
        (
            "zeek_elastic-integrations_test-dns.json.log",
            LogFormat::Zeek,
            7,
            0,
            vec![8],
        ),
        (
            "suricata_elastic-beats_eve-dns-4.1.4_eve.json",
            LogFormat::Eve,
            24,
            0,
            vec![],
        ),
        (
            "suricata_suricatalog-eve-2_v2_eve.json",
            LogFormat::Eve,
            936,
            1465,
            vec![],
        ),
    ];
    for (file, format, records, other, malformed) in cases {
        let path = dir.join(file);
        if !path.exists() {
            eprintln!("note: {file} is absent; skipped");
            continue;
        }
        let (obs, t) = log_observations(&path, format);
        assert_eq!(t.records, records, "{file}");
        assert_eq!(t.other_events, other, "{file}");
        assert_eq!(t.malformed_lines, malformed, "{file}: {:?}", t.faults);
        assert!(!obs.is_empty(), "{file}");
    }
    // The Emotet sample: 574 queries and 362 answers, one client.
    let path = dir.join("suricata_suricatalog-eve-2_v2_eve.json");
    if path.exists() {
        let (obs, t) = log_observations(&path, LogFormat::Eve);
        assert_eq!((t.queries, t.responses), (574, 362));
        let client: IpAddr = "10.2.8.102".parse().expect("address");
        assert!(obs.keys().all(|k| k.2 == client));
        let nx: u64 = obs
            .iter()
            .filter(|(k, _)| k.1 == "response" && k.4 == 3)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(nx, 36);
    }
}

/// Every prefix of every line of the small samples, and those lines with
/// bytes changed, through both parsers: refused or read, never a panic.
#[test]
fn damaged_lines_never_panic() {
    let Some(dir) = data_dir() else { return };
    let files = [
        "zeek_opt-basic_dns.canon.log",
        "zeek_nsec3_dns.log",
        "zeek_elastic-integrations_test-dns.json.log",
        "suricata_elastic-beats_eve-dns-4.1.4_eve.json",
        "suricata_verify-eve-dns_v1_eve.json",
    ];
    let mut zeek = ZeekParser::new();
    let mut eve = EveParser::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut emitted = 0u64;
    for file in files {
        let Ok(text) = std::fs::read(dir.join(file)) else {
            continue;
        };
        zeek.start(Path::new(file));
        eve.start(Path::new(file));
        for (no, line) in text.split(|&b| b == b'\n').enumerate() {
            let mut variants: Vec<Vec<u8>> = (0..line.len()).map(|i| line[..i].to_vec()).collect();
            for _ in 0..64 {
                let mut v = line.to_vec();
                if let Some(len) = std::num::NonZeroUsize::new(v.len()) {
                    let at = (next() % len.get() as u64) as usize;
                    v[at] = next() as u8;
                }
                variants.push(v);
            }
            for v in &variants {
                let mut emit = |_: &Entry<'_>| emitted += 1;
                let _ = zeek.line(no as u64 + 1, v, &mut emit);
                let _ = eve.line(no as u64 + 1, v, &mut emit);
            }
        }
    }
    assert!(emitted > 0);
}
