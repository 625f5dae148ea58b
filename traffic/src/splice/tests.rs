//! Tests of the splice: label patterns, and (when the shared data is
//! there) reading the real captures and splicing one into a background.

use std::path::PathBuf;

use super::*;
use crate::scenario::{self, ScenarioConfig};

/// The shared data directory, or `None` (with a note) if it is absent.
fn shared_data(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DNSRARE_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        PathBuf::from,
    );
    if dir.join("LABELS.csv").is_file() && dir.join("pcaps").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "{test}: {} is absent, so this test checks nothing here",
            dir.display()
        );
        None
    }
}

/// What SOURCES.md says of `file`: its DNS query count and how many
/// distinct labelled names it holds.
fn sources_figures(data: &Path, file: &str) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(data.join("SOURCES.md")).ok()?;
    let section = text.split(&format!("#### `{file}`")).nth(1)?;
    let section = section.split("\n#### ").next()?;
    let number_after = |s: &str, key: &str| -> Option<u64> {
        let rest = s.split(key).nth(1)?;
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let queries = number_after(section, "DNS queries")?;
    let labelled_line = section.lines().find(|l| l.contains("Labelled:"))?;
    let labelled = labelled_line
        .split('(')
        .skip(1)
        .filter_map(|p| p.split(' ').next()?.parse::<u64>().ok())
        .sum();
    Some((queries, labelled))
}

#[test]
fn label_patterns() {
    let labels = parse_labels(
        "file,qname_or_pattern,label,note\n\
         a.pcap,Evil.Example.com.,c2,\"plain, with a comma and \"\"quotes\"\"\"\n\
         a.pcap,*.tun.example.net,tunnel,\n\
         b.pcap,re:^[a-z]{12}\\.xyz$,dga,\n\
         b.pcap,re:[a-z]+\\.top,staging,\n",
    )
    .expect("labels parse");
    assert_eq!(labels.len(), 4);
    assert_eq!(labels[0].note, "plain, with a comma and \"quotes\"");
    let of = |file: &str, name: &str| label_of(&labels, file, name).map(|l| l.label.as_str());
    assert_eq!(of("a.pcap", "evil.example.com"), Some("c2"));
    assert_eq!(of("/x/y/a.pcap", "EVIL.example.com."), Some("c2"));
    assert_eq!(of("a.pcap", "www.evil.example.com"), None);
    assert_eq!(of("b.pcap", "evil.example.com"), None, "another file's");
    assert_eq!(of("a.pcap", "x1.tun.example.net"), Some("tunnel"));
    assert_eq!(of("a.pcap", "tun.example.net"), None, "not the apex");
    assert_eq!(of("a.pcap", "xtun.example.net"), None);
    assert_eq!(of("b.pcap", "abcdefghijkl.xyz"), Some("dga"));
    assert_eq!(of("b.pcap", "abcdefghijk.xyz"), None);
    assert_eq!(of("b.pcap", "www.abcdefghijkl.xyz"), None, "whole name");
    assert_eq!(of("b.pcap", "abc.top"), Some("staging"));
    assert_eq!(of("b.pcap", "abc.top.example"), None, "anchored");
    assert!(parse_labels("h\na.pcap,re:(,c2,\n").is_err());
}

#[test]
fn real_captures_read_as_sources_md_counts_them() {
    let Some(data) = shared_data("real_captures_read_as_sources_md_counts_them") else {
        return;
    };
    let labels = load_labels(&data.join("LABELS.csv")).expect("labels load");
    let files: BTreeSet<&str> = labels.iter().map(|l| l.file.as_str()).collect();
    assert!(files.len() >= 10, "{files:?}");
    let mut mismatches = Vec::new();
    for file in files {
        let path = data.join("pcaps").join(file);
        let capture = read_capture(&path).expect("capture reads");
        let t = truth(&capture, &labels, splice_host(0), 0);
        let Some((queries, labelled)) = sources_figures(&data, file) else {
            continue;
        };
        eprintln!(
            "{file}: {} queries ({queries} in SOURCES.md), {} labelled names ({labelled}), clients {:?}",
            t.queries,
            t.labelled.len(),
            t.original_clients
        );
        assert!(!t.labelled.is_empty(), "{file}: no labelled name found");
        if t.queries != queries || t.labelled.len() as u64 != labelled {
            mismatches.push(file.to_owned());
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:?}");
}

#[test]
fn a_real_capture_splices_into_a_background_as_one_host() {
    let Some(data) = shared_data("a_real_capture_splices_into_a_background_as_one_host") else {
        return;
    };
    let file = "c2_dns-txt-backdoor_pcap-attack_ostrykebs.pcap";
    let labels = load_labels(&data.join("LABELS.csv")).expect("labels load");
    let capture = read_capture(&data.join("pcaps").join(file)).expect("capture reads");
    let (queries, labelled) = sources_figures(&data, file).expect("SOURCES.md figures");
    assert_eq!(capture.queries() as u64, queries);
    assert_eq!(capture.clients().len(), 1);

    let config = ScenarioConfig {
        tunnels: 0,
        dga_bursts: 0,
        ..ScenarioConfig::sized(20, 3600)
    };
    let (background, _) = scenario::generate(&config);
    let host = splice_host(3);
    let at = config.start_ns + 1_800_000_000_000;
    let (merged, t) = splice(&background, &capture, &labels, host, at);
    assert_eq!(merged.len(), background.len() + capture.messages.len());
    assert!(merged.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    assert_eq!(t.queries, queries);
    assert_eq!(t.labelled.len() as u64, labelled);
    assert!(t.labelled.keys().all(|n| n.ends_with(".ns.ostrykebs.pl")));
    assert!(t.labelled.values().all(|l| l == "c2"));
    assert_eq!(t.host, IpAddr::V4(host));
    assert_eq!(t.start_ns, at);
    assert_eq!(t.end_ns - t.start_ns, capture.last_ns - capture.first_ns);

    // Parse the merged frames back: the spliced queries all come from the
    // one host and go to the resolver, none of the background's do.
    let mut from_host = 0;
    let mut names = BTreeSet::new();
    for p in &merged {
        let f = &p.frame;
        if u16::from_be_bytes([f[12], f[13]]) != 0x0800 {
            continue;
        }
        let src = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
        let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
        if src == host {
            assert_eq!(dst, RESOLVER);
            assert!(p.time_ns >= at && p.time_ns <= t.end_ns);
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let udp = 14 + ihl;
            assert_eq!(u16::from_be_bytes([f[udp + 2], f[udp + 3]]), 53);
            let msg = &f[udp + 8..];
            assert_eq!(msg[2] & 0x80, 0, "a query");
            if let Some((name, _)) = question(msg) {
                names.insert(name);
            }
            from_host += 1;
        } else if dst == host {
            assert_eq!(src, RESOLVER);
        }
    }
    assert_eq!(from_host, queries);
    assert!(t.labelled.keys().all(|n| names.contains(n)));
    // The times keep the capture's spacing.
    let spliced = reframe(&capture, host, at);
    let original: Vec<u64> = capture.messages.iter().map(|m| m.time_ns).collect();
    for (p, o) in spliced.iter().zip(&original) {
        assert_eq!(p.time_ns - at, o - capture.first_ns);
    }
}
