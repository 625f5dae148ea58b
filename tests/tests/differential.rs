//! The XDP program (through `BPF_PROG_TEST_RUN`) and the userspace parser
//! of `dnsrare pcap` agree on every frame: the same events (every field but
//! the timestamp and interface) and the same counters, parse-error reasons
//! included. Frames: the shared real captures, the fuzz corpus of the packet
//! parser when it is present, and a deterministic set of mutations of
//! crafted frames.

use std::path::Path;

use capture_common::DnsEvent;
use dnsrare_core::{
    ingest::{frame_parser_twin::FrameParser, pcap::Link},
    model::capture::CaptureCounters,
};
use dnsrare_tests::{Probe, shared_data, workspace_root};
use traffic::{
    dns,
    frame::{Frame, Ipv6Ext, TPID_8021AD, TPID_8021Q},
};

/// The fields both sides must agree on.
fn comparable(e: &DnsEvent) -> impl PartialEq + std::fmt::Debug {
    (
        e.src_addr,
        e.dst_addr,
        (e.src_port, e.dst_port, e.txid, e.qtype, e.qclass, e.ancount),
        (e.family, e.kind, e.rcode, e.transport),
        e.wire_name().to_vec(),
    )
}

struct Checker {
    probe: Probe,
    frames: u64,
}

impl Checker {
    fn check(&mut self, frame: &[u8], what: &str) {
        // The kernel refuses frames shorter than an Ethernet header.
        if frame.len() < 14 {
            return;
        }
        self.frames += 1;
        let run = self.probe.run(frame);
        let mut parser = FrameParser::new();
        let mut events = Vec::new();
        parser.parse(Link::Ethernet, frame, 0, |e, _| events.push(*e));
        let user = parser.counters();
        let kernel = CaptureCounters {
            lost: 0,
            ..run.counters
        };
        assert_eq!(
            kernel, user,
            "{what}: counters differ for frame {frame:02x?}"
        );
        let k: Vec<_> = run.events.iter().map(comparable).collect();
        let u: Vec<_> = events.iter().map(comparable).collect();
        assert_eq!(k, u, "{what}: events differ for frame {frame:02x?}");
    }
}

/// Crafted frames covering every layer the parsers walk.
fn crafted() -> Vec<Vec<u8>> {
    let a = |s: &str| s.parse().expect("literal");
    let q = |name: &str| dns::query(7, name, dns::QTYPE_A);
    let mut v6 = Frame::udp(
        a("[2001:db8::1]:4000"),
        a("[2001:db8::53]:53"),
        q("six.example"),
    );
    v6.ipv6_ext = vec![Ipv6Ext::HopByHop(0), Ipv6Ext::DestinationOptions(1)];
    let mut opts = Frame::udp(a("10.0.0.1:4000"), a("10.0.0.53:53"), q("opts.example"));
    opts.ipv4_options = vec![1, 1, 1, 0];
    vec![
        Frame::udp(
            a("10.0.0.1:4000"),
            a("10.0.0.53:53"),
            q("plain.example.com"),
        )
        .bytes(),
        Frame::udp(a("10.0.0.1:4000"), a("10.0.0.53:53"), q("v.example"))
            .vlan(TPID_8021AD, 5)
            .vlan(TPID_8021Q, 6)
            .bytes(),
        v6.bytes(),
        opts.bytes(),
        Frame::udp(
            a("10.0.0.53:53"),
            a("10.0.0.1:4000"),
            dns::response(7, "gone.example", 1, dns::RCODE_NXDOMAIN, &[]),
        )
        .bytes(),
        Frame::tcp(
            a("10.0.0.1:4000"),
            a("10.0.0.53:53"),
            1,
            dns::tcp_framed(&[q("a.example"), dns::query_edns(2, "b.example", 16, 1232)]),
        )
        .bytes(),
        Frame::udp(
            a("10.0.0.1:4000"),
            a("10.0.0.53:53"),
            dns::query_wire(1, b"\x03www\xc0\x0c", 1),
        )
        .bytes(),
    ]
}

/// xorshift64, for deterministic mutations.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn xdp_and_userspace_parsers_agree_on_crafted_and_mutated_frames() {
    let mut checker = Checker {
        probe: Probe::new(),
        frames: 0,
    };
    let mut rng = 0x00d1_ffe7_u64;
    for frame in crafted() {
        checker.check(&frame, "crafted");
        for len in 0..=frame.len() {
            checker.check(&frame[..len], "truncated");
        }
        for _ in 0..400 {
            let mut f = frame.clone();
            for _ in 0..1 + next(&mut rng) % 3 {
                let at = (next(&mut rng) % f.len() as u64) as usize;
                f[at] = next(&mut rng) as u8;
            }
            checker.check(&f, "mutated");
        }
    }
    assert!(checker.frames > 3000);
    assert!(checker.probe.drain().is_empty());
}

#[test]
fn xdp_and_userspace_parsers_agree_on_real_captures_and_fuzz_corpus() {
    let mut checker = Checker {
        probe: Probe::new(),
        frames: 0,
    };
    if let Some(data) = shared_data("xdp_and_userspace_parsers_agree_on_real_captures") {
        for entry in std::fs::read_dir(data.join("pcaps")).expect("pcaps directory") {
            let path = entry.expect("entry").path();
            let mut totals = dnsrare_core::ingest::pcap::FileTotals::default();
            dnsrare_core::ingest::pcap::read_frames(&path, &mut totals, |f| {
                if f.link == Link::Ethernet {
                    checker.check(f.data, &path.display().to_string());
                }
            })
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let corpus = workspace_root().join("fuzz/corpus/packet_parser");
    if corpus.is_dir() {
        check_corpus(&mut checker, &corpus);
    } else {
        eprintln!(
            "{} is absent (made by `cargo xtask fuzz`): only the captures were compared",
            corpus.display()
        );
    }
}

/// Frames of the packet-parser fuzz corpus: each input's first byte picks
/// the link type; Ethernet inputs are compared.
fn check_corpus(checker: &mut Checker, dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("corpus file");
        if let Some((&0, frame)) = bytes.split_first() {
            checker.check(frame, "fuzz corpus");
        }
    }
}
