//! `dnsrare pcap`: every capture format and link type gives the same
//! report with the capture's own times; damaged files give a clear error
//! with the offset and a partial report; and a capture replayed live
//! through the XDP program gives the same counts as `dnsrare pcap` on it.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::Path,
    process::{Command, Output},
};

use dnsrare_tests::{Daemon, dnsrare_bin};
use traffic::{
    dns,
    frame::Frame,
    netns::Lab,
    pcap_out,
    scenario::{self, Packet, ScenarioConfig},
    sender::RawSender,
};

const T0_NS: u64 = 1_795_910_400_123_456_789;

/// Five queries from two hosts, a second apart.
fn packets() -> Vec<Packet> {
    let a = |s: &str| -> SocketAddr { s.parse().expect("literal") };
    let server = a("10.53.0.1:53");
    [
        ("10.9.0.1:4000", "one.example.com"),
        ("10.9.0.1:4001", "two.example.org"),
        ("10.9.0.2:4000", "one.example.com"),
        ("10.9.0.2:4002", "one.example.com"),
        ("10.9.0.1:4003", "three.example.net"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (src, name))| Packet {
        time_ns: T0_NS + i as u64 * 1_000_000_000,
        frame: Frame::udp(a(src), server, dns::query(i as u16, name, dns::QTYPE_A)).bytes(),
    })
    .collect()
}

fn pcap(args: &[&str], files: &[&Path]) -> Output {
    Command::new(dnsrare_bin())
        .arg("pcap")
        .args(files)
        .args(args)
        .arg("--no-progress")
        .output()
        .expect("run dnsrare pcap")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// name → (queries, first_seen_ns, {host → queries}).
type Counts = BTreeMap<String, (u64, u64, BTreeMap<String, u64>)>;

fn counts(report: &serde_json::Value) -> Counts {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let hosts = r["hosts"]
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
            (
                r["name"].as_str().expect("name").to_owned(),
                (
                    r["queries"].as_u64().expect("queries"),
                    r["first_seen_ns"].as_u64().expect("time"),
                    hosts,
                ),
            )
        })
        .collect()
}

// ---- writers for the formats the generator does not write ----

fn classic(
    path: &Path,
    packets: &[Packet],
    big_endian: bool,
    nanos: bool,
    link: u32,
    strip: usize,
) {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&u32b(65535));
    out.extend_from_slice(&u32b(link));
    for p in packets {
        let data = sll_or_raw(&p.frame, strip);
        let sub = if nanos {
            p.time_ns % 1_000_000_000
        } else {
            (p.time_ns % 1_000_000_000) / 1000
        };
        out.extend_from_slice(&u32b((p.time_ns / 1_000_000_000) as u32));
        out.extend_from_slice(&u32b(sub as u32));
        out.extend_from_slice(&u32b(data.len() as u32));
        out.extend_from_slice(&u32b(data.len() as u32));
        out.extend_from_slice(&data);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// The frame with its Ethernet header replaced by a Linux cooked header
/// (`strip` 16: SLL, 20: SLL2) or removed (0: keep Ethernet).
fn sll_or_raw(frame: &[u8], kind: usize) -> Vec<u8> {
    let ip = &frame[14..];
    let mut out = Vec::new();
    match kind {
        16 => {
            out.extend_from_slice(&[0, 0, 0, 1, 0, 6]);
            out.extend_from_slice(&frame[6..12]);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&frame[12..14]);
        }
        20 => {
            out.extend_from_slice(&frame[12..14]);
            out.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6]);
            out.extend_from_slice(&frame[6..12]);
            out.extend_from_slice(&[0, 0]);
        }
        _ => return frame.to_vec(),
    }
    out.extend_from_slice(ip);
    out
}

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut padded = body.to_vec();
    padded.resize(body.len().div_ceil(4) * 4, 0);
    let len = (12 + padded.len()) as u32;
    let mut out = kind.to_le_bytes().to_vec();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&padded);
    out.extend_from_slice(&len.to_le_bytes());
    out
}

fn pcapng(path: &Path, packets: &[Packet], link: u16, strip: usize, nanos: bool) {
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    out.extend(block(0x0a0d_0d0a, &shb));
    let mut idb = link.to_le_bytes().to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&65535u32.to_le_bytes());
    if nanos {
        // if_tsresol = 9: nanoseconds.
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
    }
    out.extend(block(1, &idb));
    for p in packets {
        let data = sll_or_raw(&p.frame, strip);
        let ticks = if nanos { p.time_ns } else { p.time_ns / 1000 };
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ticks as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&data);
        out.extend(block(6, &epb));
    }
    std::fs::write(path, out).expect("write pcapng");
}

#[test]
fn every_format_and_link_type_gives_the_same_report_with_capture_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = packets();
    let files = [
        ("le-usec-ether.pcap", 0),
        ("be-nsec-ether.pcap", 1),
        ("le-usec-sll.pcap", 2),
        ("ng-nsec-sll2.pcapng", 3),
        ("ng-usec-ether.pcapng", 4),
        ("generated.pcap", 5),
    ];
    let mut reports = Vec::new();
    for (file, kind) in files {
        let path = dir.path().join(file);
        match kind {
            0 => classic(&path, &p, false, false, 1, 0),
            1 => classic(&path, &p, true, true, 1, 0),
            2 => classic(&path, &p, false, false, 113, 16),
            3 => pcapng(&path, &p, 276, 20, true),
            4 => pcapng(&path, &p, 1, 0, false),
            _ => pcap_out::write_pcap(&path, &p).expect("write"),
        }
        let out = pcap(&["--json", "--sort", "rare"], &[&path]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = json(&out);
        assert_eq!(r["capture"]["queries"], 5, "{file}");
        assert_eq!(r["capture"]["packets"], 5, "{file}");
        let c = counts(&r);
        let nanos = matches!(kind, 1 | 3 | 5);
        let expect_t0 = if nanos { T0_NS } else { T0_NS / 1000 * 1000 };
        assert_eq!(c["one.example.com"].0, 3, "{file}");
        assert_eq!(
            c["one.example.com"].1, expect_t0,
            "{file}: first seen from the capture"
        );
        assert_eq!(c["one.example.com"].2["10.9.0.2"], 2, "{file}");
        let summary = String::from_utf8_lossy(&out.stderr);
        assert!(
            summary.contains("read 5 frames from 1 file"),
            "{file}: {summary}"
        );
        reports.push(
            c.into_iter()
                .map(|(n, (q, _, h))| (n, q, h))
                .collect::<Vec<_>>(),
        );
    }
    assert!(reports.windows(2).all(|w| w[0] == w[1]));

    // Several files add up, in order.
    let out = pcap(
        &["--json"],
        &[
            &dir.path().join("le-usec-ether.pcap"),
            &dir.path().join("ng-nsec-sll2.pcapng"),
        ],
    );
    assert_eq!(json(&out)["capture"]["queries"], 10);
}

#[test]
fn damaged_files_give_the_offset_and_a_partial_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.pcap");
    pcap_out::write_pcap(&good, &packets()).expect("write");
    let bytes = std::fs::read(&good).expect("read");
    // 24-byte header, then records of 16 + frame bytes.
    let record = 16 + packets()[0].frame.len();

    // Cut in the middle of the fourth record.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..24 + 3 * record + 10]).expect("write");
    let out = pcap(&["--json"], &[&cut]);
    assert_eq!(out.status.code(), Some(3), "partial report exit code");
    assert_eq!(
        json(&out)["capture"]["queries"],
        3,
        "the three whole records"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let offset = 24 + 3 * record;
    assert!(
        err.contains(&format!("truncated record at byte offset {offset}")),
        "{err}"
    );
    assert!(err.contains("warning:"), "{err}");

    // A record longer than the snapshot length.
    let mut big = bytes.clone();
    big[16..20].copy_from_slice(&40u32.to_le_bytes()); // snaplen 40
    let snaplen = dir.path().join("snaplen.pcap");
    std::fs::write(&snaplen, &big).expect("write");
    let out = pcap(&["--json"], &[&snaplen]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["capture"]["queries"], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt record at byte offset 24: record length")
            && err.contains("exceeds the snapshot length 40"),
        "{err}"
    );

    // Not a capture at all.
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file at all, just text\n").expect("write");
    let out = pcap(&["--json"], &[&junk]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a pcap or pcapng file (bad magic number)"),
        "{err}"
    );

    // A missing file is an error before anything is read.
    let out = pcap(&["--json"], &[&dir.path().join("missing.pcap")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn live_capture_of_a_replay_matches_dnsrare_pcap() {
    // A generated hour: 30 hosts, VLAN, QinQ, IPv6 with extension
    // headers, DNS over TCP, EDNS0, responses and malformed frames.
    let config = ScenarioConfig {
        hosts: 30,
        benign_queries: 3000,
        malformed_per_reason: 3,
        dga_bursts: 1,
        tunnels: 1,
        tunnel_queries: 200,
        ..ScenarioConfig::sized(30, 3600)
    };
    let (packets, truth) = scenario::generate(&config);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("replay.pcap");
    pcap_out::write_pcap(&file, &packets).expect("write");
    let offline = json(&pcap(
        &["--json", "--sort", "rare", "--top", "100000"],
        &[&file],
    ));

    let lab = Lab::new().expect("lab");
    let daemon = Daemon::start(&lab, &[]);
    let frames: Vec<&[u8]> = packets.iter().map(|p| p.frame.as_slice()).collect();
    lab.in_client(|| {
        RawSender::open(&lab.client_if)
            .expect("raw socket")
            .send_paced(&frames, Some(40_000))
            .expect("send")
    })
    .expect("client namespace");
    let live = daemon.wait_counted(truth.queries, 100_000);

    let strip = |r: &serde_json::Value| -> Vec<(String, u64, u64)> {
        r["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                (
                    row["name"].as_str().expect("name").to_owned(),
                    row["queries"].as_u64().expect("queries"),
                    row["nxdomain"].as_u64().expect("nxdomain"),
                )
            })
            .collect()
    };
    let same_hosts = |r: &serde_json::Value| {
        counts(r)
            .into_iter()
            .map(|(n, (q, _, h))| (n, q, h))
            .collect::<Vec<_>>()
    };
    assert_eq!(live["capture"]["lost"], 0);
    assert_eq!(strip(&live), strip(&offline));
    assert_eq!(same_hosts(&live), same_hosts(&offline));
    for field in ["queries", "responses", "parse_errors", "counted"] {
        assert_eq!(live["capture"][field], offline["capture"][field], "{field}");
    }
    assert_eq!(
        live["capture"]["parse_errors_by_reason"],
        offline["capture"]["parse_errors_by_reason"]
    );
    assert_eq!(offline["capture"]["queries"], truth.queries);
    assert_eq!(offline["capture"]["parse_errors"], truth.malformed_total());
}

#[test]
fn user_lists_raise_and_suppress_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lists.pcap");
    pcap_out::write_pcap(&file, &packets()).expect("write");
    let deny = dir.path().join("deny.txt");
    std::fs::write(&deny, "# names to flag\ntwo.example.org\n").expect("write");
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "example.net  # our own CDN\n").expect("write");
    let deny_arg = deny.to_str().expect("utf-8");
    let allow_arg = allow.to_str().expect("utf-8");
    let out = pcap(
        &[
            "--json",
            "--explain",
            "--watch",
            deny_arg,
            "--allow-suffix",
            allow_arg,
        ],
        &[&file],
    );
    let r = json(&out);
    let row = |name: &str| {
        r["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|row| row["name"] == name)
            .cloned()
            .expect("listed")
    };
    assert_eq!(r["rows"][0]["name"], "two.example.org");
    assert!(
        row("two.example.org")["explanation"]
            .as_str()
            .expect("text")
            .contains("on the watch list")
    );
    assert_eq!(row("two.example.org")["lists"][0], "watch");
    let three = row("three.example.net");
    assert!(
        three["explanation"]
            .as_str()
            .expect("text")
            .contains("CDN/cloud suffix list")
    );
    assert!(three["score"].as_f64().expect("score") < 5.0);
    // A bad list line is an error naming the file and line.
    std::fs::write(&deny, "ok.example\nnot a domain!\n").expect("write");
    let out = pcap(&["--json", "--watch", deny_arg], &[&file]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deny.txt") && err.contains("line 2"), "{err}");
}

/// `--allow` hides names from the report (and says how many); `--deny`
/// shows and flags them whatever their score; a bad line names file:line.
#[test]
fn allow_and_deny_lists_hide_and_flag_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lists.pcap");
    pcap_out::write_pcap(&file, &packets()).expect("write");
    let allow = dir.path().join("allow.txt");
    let deny = dir.path().join("deny.txt");
    let (allow_arg, deny_arg) = (
        allow.to_str().expect("utf-8"),
        deny.to_str().expect("utf-8"),
    );
    let names = |r: &serde_json::Value| -> Vec<String> {
        r["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| row["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let plain = json(&pcap(&["--json", "--by", "name"], &[&file]));
    assert_eq!(names(&plain).len(), 3);
    assert_eq!(plain["allow_hidden"]["names"], 0);

    // `*.example.com` is the names under it; `example.org` itself is not
    // `two.example.org`; `.example.net` is the apex and under it.
    std::fs::write(
        &allow,
        "# ours\n*.example.com\nexample.org  # not its subdomains\n.example.net\n",
    )
    .expect("write");
    let hidden = json(&pcap(
        &["--json", "--by", "name", "--allow", allow_arg],
        &[&file],
    ));
    assert_eq!(names(&hidden), vec!["two.example.org"]);
    assert_eq!(hidden["allow_hidden"]["names"], 2);
    assert_eq!(hidden["allow_hidden"]["findings"], 0);
    let table = pcap(&["--by", "name", "--allow", allow_arg], &[&file]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("the allow list hid 2 names"), "{text}");
    assert!(!text.contains("one.example.com"), "{text}");

    // Denied: a finding of its own, first, and a flagged row; deny wins
    // over allow.
    std::fs::write(&deny, "three.example.net\n").expect("write");
    let flagged = json(&pcap(
        &["--json", "--allow", allow_arg, "--deny", deny_arg],
        &[&file],
    ));
    let first = &flagged["findings"][0];
    assert_eq!(first["kind"], "denied");
    assert_eq!(first["score"], 100.0);
    assert_eq!(first["names"][0], "three.example.net");
    assert_eq!(first["hosts"][0], "10.9.0.1");
    assert_eq!(flagged["deny_shown"]["findings"], 1);
    assert_eq!(flagged["deny_shown"]["names"], 1);
    assert_eq!(flagged["allow_hidden"]["names"], 1, "one.example.com");
    assert_eq!(flagged["rows"][0]["name"], "three.example.net");
    assert!(
        flagged["rows"][0]["lists"]
            .as_array()
            .expect("lists")
            .iter()
            .any(|l| l == "deny")
    );
    let table = pcap(&["--deny", deny_arg, "--min-score", "99"], &[&file]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("the deny list flagged 1 finding and 1 name"),
        "{text}"
    );
    assert!(
        text.contains("denied") && text.contains("three.example.net"),
        "{text}"
    );

    // A bad line is an error naming the file and line.
    std::fs::write(&allow, "ok.example\nfoo.*.example\n").expect("write");
    let out = pcap(&["--json", "--allow", allow_arg], &[&file]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{allow_arg}:2:")), "{err}");
}

/// `--baseline`: earlier captures are history. A registered domain first
/// seen after them is new on this network and says so; one they already
/// had is not; a name only the baseline asked is not reported, and the
/// counts of one asked in both include the baseline's queries.
#[test]
fn baseline_captures_make_later_domains_new() {
    const DAY_NS: u64 = 86_400_000_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = |s: &str| -> SocketAddr { s.parse().expect("literal") };
    let server = a("10.53.0.1:53");
    let capture = |start: u64, names: &[&str]| -> Vec<Packet> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| Packet {
                time_ns: start + i as u64 * 60_000_000_000,
                frame: Frame::udp(
                    a("10.9.0.1:4000"),
                    server,
                    dns::query(i as u16, name, dns::QTYPE_A),
                )
                .bytes(),
            })
            .collect()
    };
    let baseline = dir.path().join("week1.pcap");
    let today = dir.path().join("day8.pcap");
    pcap_out::write_pcap(
        &baseline,
        &capture(T0_NS, &["www.known-shop.com", "old-only.example.net"]),
    )
    .expect("write");
    pcap_out::write_pcap(
        &today,
        &capture(
            T0_NS + 8 * DAY_NS,
            &["www.known-shop.com", "qx7vz9kd2w.fresh-domain.xyz"],
        ),
    )
    .expect("write");
    let out = pcap(
        &[
            "--baseline",
            baseline.to_str().expect("utf-8"),
            "--by",
            "name",
            "--json",
        ],
        &[&today],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let rows = report["rows"].as_array().expect("rows");
    let row = |name: &str| rows.iter().find(|r| r["name"] == name);
    let fresh = row("qx7vz9kd2w.fresh-domain.xyz").expect("reported");
    let explanation = fresh["explanation"].as_str().expect("text");
    assert!(
        explanation.contains("new domain: first seen"),
        "{explanation}"
    );
    let known = row("www.known-shop.com").expect("reported");
    assert!(
        !known["explanation"]
            .as_str()
            .expect("text")
            .contains("new domain")
    );
    assert_eq!(known["queries"], 2, "the baseline's query counts");
    assert!(row("old-only.example.net").is_none(), "{rows:?}");

    // Without a baseline nothing is called new.
    let plain = json(&pcap(&["--by", "name", "--json"], &[&today]));
    assert!(
        !plain.to_string().contains("new domain"),
        "no history, no new domains"
    );
}
