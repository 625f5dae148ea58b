//! The real captures in ../shared/data, frame by frame through the real XDP
//! program (`BPF_PROG_TEST_RUN`): query and response counts, names and
//! NXDOMAIN answers must match what the captures hold (counted with tshark,
//! see ../shared/data/SOURCES.md; mDNS and LLMNR are not port 53 DNS).

use std::collections::BTreeMap;

use capture_common::EventKind;
use dnsrare_core::{
    ingest::{
        name,
        pcap::{FileTotals, Link, read_frames},
    },
    model::capture::CaptureCounters,
};
use dnsrare_tests::{Probe, shared_data};

const XDP_PASS: u32 = 2;

struct Expected {
    file: &'static str,
    frames: u64,
    queries: u64,
    responses: u64,
    nxdomain: u64,
    /// Distinct query names with their query counts.
    names: &'static [(&'static str, u64)],
}

const CAPTURES: &[Expected] = &[
    Expected {
        file: "benign_zeek_wikipedia.pcap",
        frames: 136,
        queries: 14,
        responses: 14,
        nxdomain: 4,
        names: &[
            ("meta.wikimedia.org", 2),
            ("upload.wikimedia.org", 8),
            ("upload.wikimedia.org.ncsa.uiuc.edu", 4),
        ],
    },
    Expected {
        file: "c2_agenttesla_anyrun_a30789ce.pcap",
        frames: 330,
        queries: 2,
        responses: 2,
        nxdomain: 0,
        names: &[("api.ipify.org", 1), ("mail.oceanskylogistics.in", 1)],
    },
    Expected {
        file: "tunnel_ndpi_dns-exf.pcap",
        frames: 2,
        queries: 1,
        responses: 1,
        nxdomain: 0,
        names: &[(
            "h4sicn03*2qaa3rlc3qudhh0aavjycxwakjehelu5klueow0zjxulgage-.4s2fgaaaa==-.test.txt",
            1,
        )],
    },
    Expected {
        file: "edge_suricata_dns-tcp-www-google-com.pcap",
        frames: 10,
        queries: 1,
        responses: 1,
        nxdomain: 0,
        names: &[("www.google.com", 1)],
    },
    Expected {
        file: "edge_zeek_dns_sshfp-trunc.pcap",
        frames: 4,
        queries: 2,
        responses: 2,
        nxdomain: 1,
        names: &[("mon.lbl.gov", 1), ("n0019.savio1.lbl.gov", 1)],
    },
];

#[test]
fn shared_captures_through_the_xdp_program() {
    let Some(data) = shared_data("shared_captures_through_the_xdp_program") else {
        return;
    };
    let mut probe = Probe::new();
    for expected in CAPTURES {
        let path = data.join("pcaps").join(expected.file);
        let before = probe.counters();
        let mut events = Vec::new();
        let mut totals = FileTotals::default();
        read_frames(&path, &mut totals, |frame| {
            assert_eq!(frame.link, Link::Ethernet, "{}", expected.file);
            assert_eq!(probe.run_only(frame.data), XDP_PASS);
            events.extend(probe.drain());
        })
        .unwrap_or_else(|e| panic!("{}: {e}", expected.file));
        let got = probe.counters().since(&before);
        assert_eq!(totals.frames, expected.frames, "{}: frames", expected.file);
        assert_eq!(
            got,
            CaptureCounters {
                packets: expected.frames,
                queries: expected.queries,
                responses: expected.responses,
                ignored: expected.frames - expected.queries - expected.responses,
                ..Default::default()
            },
            "{}: counters",
            expected.file
        );
        let mut names = BTreeMap::new();
        let mut nxdomain = 0;
        for e in &events {
            let decoded = name::decode(e.wire_name()).expect("event names decode");
            match EventKind::from_u8(e.kind) {
                Some(EventKind::Query) => *names.entry(decoded).or_insert(0u64) += 1,
                Some(EventKind::Response) => nxdomain += u64::from(e.rcode == 3),
                None => panic!("bad event kind {}", e.kind),
            }
        }
        let want: BTreeMap<String, u64> = expected
            .names
            .iter()
            .map(|(n, c)| ((*n).to_owned(), *c))
            .collect();
        assert_eq!(names, want, "{}: names", expected.file);
        assert_eq!(nxdomain, expected.nxdomain, "{}: NXDOMAIN", expected.file);
    }
}
