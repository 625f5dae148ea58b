//! Both kernel programs (the XDP program and the TC egress classifier)
//! over crafted responses, through `BPF_PROG_TEST_RUN`: the exact answer
//! bytes each copies after the question, their count and cut flag, what
//! userspace's answer parser makes of them, and the counters; queries stay
//! bare 320-byte records; the classifier leaves forwarded packets alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use capture_common::{
    ANSWER_BYTES, DIRECTION_EGRESS, DIRECTION_INGRESS, DnsResponseEvent, EventKind,
};
use dnsrare_core::{
    ingest::{
        answers::{AnswerBytes, AnswerError, AnswerParser, Answers},
        name,
    },
    model::capture::CaptureCounters,
};
use dnsrare_tests::{Probe, ProbeRun};
use traffic::{
    dns::{self, Rdata, Reply},
    frame::Frame,
};

const XDP_PASS: u32 = 2;
/// `TC_ACT_UNSPEC` (-1) as the test run reports it.
const TC_ACT_UNSPEC: u32 = u32::MAX;

/// Which program a run goes through.
#[derive(Clone, Copy, Debug)]
enum Program {
    Xdp,
    Egress,
}

const BOTH: [Program; 2] = [Program::Xdp, Program::Egress];

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address literal")
}

fn run(probe: &mut Probe, program: Program, frame: &[u8]) -> ProbeRun {
    let run = match program {
        Program::Xdp => probe.run(frame),
        Program::Egress => probe.run_egress(frame, 0),
    };
    let (action, direction) = match program {
        Program::Xdp => (XDP_PASS, DIRECTION_INGRESS),
        Program::Egress => (TC_ACT_UNSPEC, DIRECTION_EGRESS),
    };
    assert_eq!(run.action, action, "{program:?}: action");
    for e in &run.events {
        assert_eq!(e.direction, direction, "{program:?}: direction");
    }
    run
}

fn one_response() -> CaptureCounters {
    CaptureCounters {
        packets: 1,
        responses: 1,
        ..Default::default()
    }
}

/// A UDP response from the resolver at 192.0.2.53 to a client.
fn udp_response(message: Vec<u8>) -> Vec<u8> {
    Frame::udp(addr("192.0.2.53:53"), addr("192.0.2.10:40000"), message).bytes()
}

fn reply<'a>(name: &'a str, answers: &'a [Rdata]) -> Reply<'a> {
    Reply {
        id: 0x5151,
        name,
        qtype: dns::QTYPE_A,
        rcode: dns::RCODE_NOERROR,
        ttl: 300,
        answers,
        soa_labels: 0,
        edns: None,
        truncated: false,
    }
}

/// Offset of the first byte after the question in `message`.
fn after_question(message: &[u8]) -> usize {
    let mut at = 12;
    while message[at] != 0 {
        at += usize::from(message[at]) + 1;
    }
    at + 1 + 4
}

/// Runs `frame` (holding one response) through `program` and returns the
/// response record, checking the counters.
fn response(probe: &mut Probe, program: Program, frame: &[u8]) -> DnsResponseEvent {
    let r = run(probe, program, frame);
    assert_eq!(r.counters, one_response(), "{program:?}: counters");
    assert_eq!(r.responses.len(), 1, "{program:?}: one response record");
    assert_eq!(r.events.len(), 1, "{program:?}: nothing else");
    let e = r.responses[0];
    assert_eq!(e.event.kind, EventKind::Response as u8);
    assert_eq!(e._pad, [0; 5]);
    e
}

/// What userspace's answer parser makes of a response record.
fn decode(e: &DnsResponseEvent) -> Result<Answers, AnswerError> {
    let qname = e.event.wire_name();
    let dotted = name::decode(qname).expect("question name decodes");
    let tc = e.event.flags & capture_common::FLAG_TRUNCATED != 0;
    AnswerParser::new()
        .parse(
            qname,
            &dotted,
            e.event.ancount,
            tc,
            AnswerBytes {
                bytes: e.answer_bytes(),
                cut: e.answers_cut != 0,
            },
        )
        .cloned()
}

#[test]
fn cname_chain_with_compressed_names_and_several_addresses_is_copied_whole() {
    let records = [
        Rdata::Cname("assets.shop.test".into()),
        Rdata::Cname("d1a2b3.cloudfront.example".into()),
        Rdata::A(Ipv4Addr::new(192, 0, 2, 1)),
        Rdata::A(Ipv4Addr::new(192, 0, 2, 2)),
        Rdata::Aaaa("2001:db8::7".parse::<Ipv6Addr>().expect("literal")),
    ];
    let message = reply("www.shop.test", &records).bytes();
    let start = after_question(&message);
    let frame = udp_response(message.clone());
    let mut probe = Probe::new();
    for program in BOTH {
        let e = response(&mut probe, program, &frame);
        assert_eq!(usize::from(e.answers_len), message.len() - start);
        assert_eq!(e.answer_bytes(), &message[start..], "{program:?}: bytes");
        assert_eq!(e.answers_cut, 0);
        assert_eq!(e.event.ancount, 5);
        let answers = decode(&e).expect("a well-formed answer section");
        assert_eq!(
            answers.chain,
            ["assets.shop.test", "d1a2b3.cloudfront.example"]
        );
        assert_eq!(
            answers.addresses,
            [
                IpAddr::from([192, 0, 2, 1]),
                IpAddr::from([192, 0, 2, 2]),
                "2001:db8::7".parse::<IpAddr>().expect("literal"),
            ]
        );
        assert_eq!(answers.ttl, Some((300, 300)));
        assert_eq!(answers.records, 5);
        assert!(!answers.truncated);
    }
}

#[test]
fn answers_past_the_copy_size_are_cut_and_decode_as_truncated() {
    // 40 A records of 16 bytes each (compressed owner): 640 bytes after
    // the question, of which the first 512 (32 whole records) are copied.
    let records: Vec<Rdata> = (0..40u8)
        .map(|i| Rdata::A(Ipv4Addr::new(198, 51, 100, i)))
        .collect();
    let message = reply("many.test", &records).bytes();
    let start = after_question(&message);
    assert_eq!(message.len() - start, 640);
    let frame = udp_response(message.clone());
    let mut probe = Probe::new();
    for program in BOTH {
        let e = response(&mut probe, program, &frame);
        assert_eq!(usize::from(e.answers_len), ANSWER_BYTES);
        assert_eq!(e.answer_bytes(), &message[start..start + ANSWER_BYTES]);
        assert_eq!(e.answers_cut, 1, "{program:?}: the message went on");
        let answers = decode(&e).expect("a cut section is truncated, not bad");
        assert!(answers.truncated);
        assert_eq!(answers.records, 32);
        // The parser keeps the first 16 addresses and counts the rest.
        assert_eq!(answers.addresses.len(), 16);
        assert_eq!(answers.addresses[0], IpAddr::from([198, 51, 100, 0]));
    }
}

#[test]
fn tcp_message_continuing_in_the_next_segment_is_cut_at_the_packet_end() {
    let records = [
        Rdata::Cname("tcp-target.test".into()),
        Rdata::A(Ipv4Addr::new(192, 0, 2, 9)),
    ];
    let message = reply("tcp.test", &records).bytes();
    let start = after_question(&message);
    let mut frame = Frame::tcp(
        addr("192.0.2.53:53"),
        addr("192.0.2.10:40000"),
        1,
        dns::tcp_framed(std::slice::from_ref(&message)),
    )
    .bytes();
    // The last 6 bytes (most of the address record) are in a later segment.
    frame.truncate(frame.len() - 6);
    let mut probe = Probe::new();
    for program in BOTH {
        let e = response(&mut probe, program, &frame);
        assert_eq!(
            e.answer_bytes(),
            &message[start..message.len() - 6],
            "{program:?}: bytes up to the packet end"
        );
        assert_eq!(e.answers_cut, 1);
        let answers = decode(&e).expect("cut, so truncated");
        assert_eq!(answers.chain, ["tcp-target.test"]);
        assert!(answers.addresses.is_empty());
        assert!(answers.truncated);
    }
}

#[test]
fn answer_count_larger_than_the_packet_is_copied_and_refused_by_userspace() {
    let records = [
        Rdata::A(Ipv4Addr::new(192, 0, 2, 1)),
        Rdata::A(Ipv4Addr::new(192, 0, 2, 2)),
    ];
    let mut message = reply("short.test", &records).bytes();
    message[6..8].copy_from_slice(&9u16.to_be_bytes());
    let start = after_question(&message);
    let frame = udp_response(message.clone());
    let mut probe = Probe::new();
    for program in BOTH {
        let e = response(&mut probe, program, &frame);
        assert_eq!(e.event.ancount, 9);
        assert_eq!(e.answer_bytes(), &message[start..]);
        assert_eq!(e.answers_cut, 0);
        assert_eq!(decode(&e), Err(AnswerError::Short), "{program:?}");
    }
}

#[test]
fn pointer_loop_in_answers_is_copied_and_refused_by_userspace() {
    let mut message = reply("loop.test", &[]).bytes();
    let start = after_question(&message);
    message[6..8].copy_from_slice(&1u16.to_be_bytes());
    // An answer whose owner name is a pointer to itself, then the rest of
    // an A record.
    let own = 0xc000 | start as u16;
    message.extend_from_slice(&own.to_be_bytes());
    message.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    let frame = udp_response(message.clone());
    let mut probe = Probe::new();
    for program in BOTH {
        let e = response(&mut probe, program, &frame);
        assert_eq!(e.answer_bytes(), &message[start..]);
        assert_eq!(usize::from(e.answers_len), 16);
        assert_eq!(decode(&e), Err(AnswerError::BadPointer), "{program:?}");
    }
}

#[test]
fn nxdomain_without_records_has_no_answer_bytes() {
    let message = dns::response(3, "gone.test", dns::QTYPE_A, dns::RCODE_NXDOMAIN, &[]);
    let frame = udp_response(message.clone());
    let mut probe = Probe::new();
    for program in BOTH {
        let e = response(&mut probe, program, &frame);
        assert_eq!(e.event.rcode, dns::RCODE_NXDOMAIN);
        // The frame is padded to Ethernet's minimum: whatever follows the
        // question up to the packet's end is copied, as the twin does.
        let ethernet_ipv4_udp = 14 + 20 + 8;
        let tail = frame.len() - (ethernet_ipv4_udp + after_question(&message));
        assert_eq!(usize::from(e.answers_len), tail);
        assert_eq!(e.answers_cut, 0);
        let answers = decode(&e).expect("no records announced");
        assert_eq!(answers.records, 0);
    }
}

#[test]
fn queries_stay_bare_events_through_both_programs() {
    let frame = Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::query(9, "q.test", dns::QTYPE_A),
    )
    .bytes();
    let mut probe = Probe::new();
    for program in BOTH {
        // The probe's drain checks each record's size: a query is a bare
        // 320-byte DnsEvent.
        let r = run(&mut probe, program, &frame);
        assert_eq!(
            r.counters,
            CaptureCounters {
                packets: 1,
                queries: 1,
                ..Default::default()
            }
        );
        assert_eq!(r.events.len(), 1);
        assert!(r.responses.is_empty());
        assert_eq!(size_of_val(&r.events[0]), 320);
    }
}

#[test]
fn egress_leaves_forwarded_packets_to_the_ingress_count() {
    let records = [Rdata::A(Ipv4Addr::new(192, 0, 2, 1))];
    let frames = [
        udp_response(reply("fwd.test", &records).bytes()),
        Frame::udp(
            addr("192.0.2.10:40000"),
            addr("192.0.2.53:53"),
            dns::query(9, "fwd.test", dns::QTYPE_A),
        )
        .bytes(),
    ];
    let mut probe = Probe::new();
    for frame in frames {
        // Came in on interface 7 and is forwarded: counted there.
        let r = probe.run_egress(&frame, 7);
        assert_eq!(r.action, TC_ACT_UNSPEC);
        assert_eq!(
            r.counters,
            CaptureCounters {
                packets: 1,
                ignored: 1,
                ..Default::default()
            }
        );
        assert!(r.events.is_empty());
        // Sent by this host: counted at egress.
        let r = probe.run_egress(&frame, 0);
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].direction, DIRECTION_EGRESS);
    }
}
