//! Both kernel programs (the XDP program and the TC egress classifier,
//! through `BPF_PROG_TEST_RUN`) and the userspace parser of `dnsrare pcap`
//! agree on every frame: the same events (every field but the timestamp,
//! the interface and the direction), the same answer bytes after each
//! response's question (with their length and cut flag) and the same
//! counters, parse-error reasons included. Frames: the shared real captures, the fuzz corpus of the packet
//! parser when it is present, and a deterministic set of mutations of
//! crafted frames.

use std::path::Path;

use capture_common::{DnsEvent, EventKind};
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
fn comparable(e: &DnsEvent) -> impl PartialEq + std::fmt::Debug + use<> {
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
        let mut parser = FrameParser::new();
        let mut events = Vec::new();
        let mut answers = Vec::new();
        parser.parse(Link::Ethernet, frame, 0, |e, a| {
            events.push(*e);
            if e.kind == EventKind::Response as u8 {
                answers.push((a.bytes.to_vec(), a.cut));
            }
        });
        let user = parser.counters();
        let u: Vec<_> = events.iter().map(comparable).collect();
        let mut runs = vec![("XDP", self.probe.run(frame))];
        match self.probe.try_run_egress(frame) {
            Ok(run) => runs.push(("TC egress", run)),
            Err(e) => assert!(
                refused_by_skb_test_run(frame),
                "{what}: the kernel refused a frame for the classifier's test run: {e}: {frame:02x?}"
            ),
        }
        for (program, run) in runs {
            let kernel = CaptureCounters {
                lost: 0,
                ..run.counters
            };
            assert_eq!(
                kernel, user,
                "{what}: {program}: counters differ for frame {frame:02x?}"
            );
            let k: Vec<_> = run.events.iter().map(comparable).collect();
            assert_eq!(
                k, u,
                "{what}: {program}: events differ for frame {frame:02x?}"
            );
            let k: Vec<_> = run
                .responses
                .iter()
                .map(|r| (r.answer_bytes().to_vec(), r.answers_cut != 0))
                .collect();
            assert_eq!(
                k, answers,
                "{what}: {program}: answer bytes differ for frame {frame:02x?}"
            );
        }
    }
}

/// Whether `BPF_PROG_TEST_RUN` may refuse `frame` for a classifier (the
/// XDP program takes it): the kernel builds a one-page skb from it, so it
/// refuses frames that do not fit in a page beside the skb's head- and
/// tailroom (about 3.7 KB; the XDP test run takes fragments), and wants
/// the whole IPv4 or IPv6 header of an IP ethertype. Real egress packets
/// always have their headers; large ones are paged, which the program
/// handles (it pulls them).
fn refused_by_skb_test_run(frame: &[u8]) -> bool {
    frame.len() > 3500
        || match frame.get(12..14) {
            Some([0x08, 0x00]) => frame.len() < 14 + 20,
            Some([0x86, 0xdd]) => frame.len() < 14 + 40,
            _ => false,
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
        Frame::udp(
            a("10.0.0.53:53"),
            a("10.0.0.1:4000"),
            dns::Reply {
                id: 7,
                name: "www.shop.example",
                qtype: dns::QTYPE_A,
                rcode: dns::RCODE_NOERROR,
                ttl: 60,
                answers: &[
                    dns::Rdata::Cname("cdn.shop.example".into()),
                    dns::Rdata::A("192.0.2.1".parse().expect("literal")),
                    dns::Rdata::Aaaa("2001:db8::1".parse().expect("literal")),
                ],
                soa_labels: 0,
                edns: Some(1232),
                truncated: false,
            }
            .bytes(),
        )
        .bytes(),
        Frame::tcp(
            a("10.0.0.53:53"),
            a("10.0.0.1:4000"),
            1,
            dns::tcp_framed(&[dns::response(
                3,
                "t.example",
                1,
                dns::RCODE_NOERROR,
                &["192.0.2.7".parse().expect("literal")],
            )]),
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
