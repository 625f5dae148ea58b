//! The real XDP program over crafted frames, through `BPF_PROG_TEST_RUN`:
//! every frame's exact events, counters and XDP action.

use std::net::{IpAddr, SocketAddr};

use capture_common::{DnsEvent, EventKind, FAMILY_IPV4, FAMILY_IPV6, ParseError, TRANSPORT_UDP};
use dnsrare::live::loader::{LoadOptions, Mode};
use dnsrare_core::{
    ingest::name,
    model::capture::{CaptureCounters, ParseErrorCounts},
};
use dnsrare_tests::{Probe, ProbeRun};
use traffic::{
    dns,
    frame::{Frame, Ipv6Ext, TPID_8021AD, TPID_8021Q, Transport},
};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address literal")
}

fn query_frame(name: &str) -> Frame {
    Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::query(0x4242, name, dns::QTYPE_A),
    )
}

fn one_query() -> CaptureCounters {
    CaptureCounters {
        packets: 1,
        queries: 1,
        ..Default::default()
    }
}

fn ignored() -> CaptureCounters {
    CaptureCounters {
        packets: 1,
        ignored: 1,
        ..Default::default()
    }
}

fn parse_error(reason: ParseError) -> CaptureCounters {
    let mut parse_errors = ParseErrorCounts::default();
    *parse_errors.get_mut(reason) = 1;
    CaptureCounters {
        packets: 1,
        parse_errors,
        ..Default::default()
    }
}

fn decoded(event: &DnsEvent) -> String {
    name::decode(event.wire_name()).expect("the event's name decodes")
}

/// Asserts that `run` is exactly one query event for `name` and nothing
/// else, and returns the event.
fn assert_query(run: &ProbeRun, name: &str) -> DnsEvent {
    assert_eq!(run.action, XDP_PASS);
    assert_eq!(run.counters, one_query(), "counters");
    assert_eq!(run.events.len(), 1, "events");
    let e = run.events[0];
    assert_eq!(decoded(&e), name);
    assert_eq!(e.kind, EventKind::Query as u8);
    e
}

fn assert_nothing(run: &ProbeRun, counters: CaptureCounters) {
    assert_eq!(run.action, XDP_PASS);
    assert_eq!(run.counters, counters);
    assert!(
        run.events.is_empty(),
        "no event expected, got {:?}",
        run.events
    );
}

#[test]
fn plain_ipv4_query_becomes_one_exact_event() {
    let mut probe = Probe::new();
    let run = probe.run(&query_frame("WWW.Example.COM").bytes());
    let e = assert_query(&run, "www.example.com");
    assert_eq!(e.family, FAMILY_IPV4);
    assert_eq!(e.transport, TRANSPORT_UDP);
    assert_eq!(&e.src_addr[..4], &[192, 0, 2, 10]);
    assert_eq!(&e.src_addr[4..], &[0; 12]);
    assert_eq!(&e.dst_addr[..4], &[192, 0, 2, 53]);
    assert_eq!((e.src_port, e.dst_port), (40000, 53));
    assert_eq!((e.txid, e.qtype, e.qclass), (0x4242, dns::QTYPE_A, 1));
    assert_eq!(e.name_len, 17);
    assert_eq!(&e.name[..17], b"\x03WWW\x07Example\x03COM\x00");
    assert_ne!(e.timestamp_ns, 0);
}

#[test]
fn vlan_and_qinq_tags_are_walked() {
    let mut probe = Probe::new();
    let single = query_frame("vlan.example").vlan(TPID_8021Q, 34);
    assert_query(&probe.run(&single.bytes()), "vlan.example");
    let qinq = query_frame("qinq.example")
        .vlan(TPID_8021AD, 100)
        .vlan(TPID_8021Q, 200);
    assert_query(&probe.run(&qinq.bytes()), "qinq.example");
    let double_q = query_frame("qq.example")
        .vlan(TPID_8021Q, 1)
        .vlan(TPID_8021Q, 2);
    assert_query(&probe.run(&double_q.bytes()), "qq.example");
    // A third tag is beyond what the program walks: not DNS to it.
    let triple = query_frame("deep.example")
        .vlan(TPID_8021AD, 1)
        .vlan(TPID_8021Q, 2)
        .vlan(TPID_8021Q, 3);
    assert_nothing(&probe.run(&triple.bytes()), ignored());
}

#[test]
fn ipv6_with_extension_headers() {
    let mut probe = Probe::new();
    let mut f = Frame::udp(
        addr("[2001:db8::10]:40000"),
        addr("[2001:db8::53]:53"),
        dns::query(7, "six.example", dns::QTYPE_AAAA),
    );
    assert_query(&probe.run(&f.bytes()), "six.example");
    f.ipv6_ext = vec![
        Ipv6Ext::HopByHop(0),
        Ipv6Ext::Routing(1),
        Ipv6Ext::DestinationOptions(2),
    ];
    let e = assert_query(&probe.run(&f.bytes()), "six.example");
    assert_eq!(e.family, FAMILY_IPV6);
    assert_eq!(
        IpAddr::from(e.src_addr),
        "2001:db8::10".parse::<IpAddr>().expect("literal")
    );
    assert_eq!(e.qtype, dns::QTYPE_AAAA);
    // A first fragment carries the UDP header: counted.
    f.ipv6_ext = vec![Ipv6Ext::Fragment {
        offset: 0,
        more: true,
    }];
    assert_query(&probe.run(&f.bytes()), "six.example");
    // A later fragment does not.
    f.ipv6_ext = vec![Ipv6Ext::Fragment {
        offset: 3,
        more: false,
    }];
    f.transport = Transport::Raw(17);
    assert_nothing(&probe.run(&f.bytes()), ignored());
}

#[test]
fn ipv4_options_any_ihl() {
    let mut probe = Probe::new();
    for words in [1usize, 4, 10] {
        let mut f = query_frame("opts.example");
        // NOP options, then end-of-list, to fill `words` 4-byte words.
        f.ipv4_options = vec![1; words * 4];
        *f.ipv4_options.last_mut().expect("non-empty") = 0;
        assert_query(&probe.run(&f.bytes()), "opts.example");
    }
}

#[test]
fn first_fragment_counts_later_fragments_are_ignored() {
    let mut probe = Probe::new();
    let mut first = query_frame("frag.example");
    first.ipv4_fragment = (0, true);
    assert_query(&probe.run(&first.bytes()), "frag.example");
    let mut later = query_frame("frag.example");
    later.ipv4_fragment = (185, false);
    later.transport = Transport::Raw(17);
    assert_nothing(&probe.run(&later.bytes()), ignored());
}

#[test]
fn edns0_query() {
    let mut probe = Probe::new();
    let f = Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::query_edns(9, "edns.example", dns::QTYPE_TXT, 1232),
    );
    let e = assert_query(&probe.run(&f.bytes()), "edns.example");
    assert_eq!(e.qtype, dns::QTYPE_TXT);
}

#[test]
fn responses_are_not_queries() {
    let mut probe = Probe::new();
    let f = Frame::udp(
        addr("192.0.2.53:53"),
        addr("192.0.2.10:40000"),
        dns::response(9, "gone.example", dns::QTYPE_A, dns::RCODE_NXDOMAIN, &[]),
    );
    let run = probe.run(&f.bytes());
    assert_eq!(run.action, XDP_PASS);
    assert_eq!(
        run.counters,
        CaptureCounters {
            packets: 1,
            responses: 1,
            ..Default::default()
        }
    );
    assert_eq!(run.events.len(), 1);
    let e = run.events[0];
    assert_eq!(e.kind, EventKind::Response as u8);
    assert_eq!(e.rcode, dns::RCODE_NXDOMAIN);
    assert_eq!(decoded(&e), "gone.example");
    // A "response" sent to port 53 from elsewhere is neither.
    let odd = Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::response(9, "x.example", dns::QTYPE_A, 0, &[]),
    );
    assert_nothing(&probe.run(&odd.bytes()), ignored());
}

#[test]
fn other_traffic_and_opcodes_are_ignored() {
    let mut probe = Probe::new();
    let web = Frame::tcp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.80:80"),
        1,
        b"GET /".to_vec(),
    );
    assert_nothing(&probe.run(&web.bytes()), ignored());
    let ntp = Frame::udp(addr("192.0.2.10:123"), addr("192.0.2.80:123"), vec![0; 48]);
    assert_nothing(&probe.run(&ntp.bytes()), ignored());
    let mut notify = dns::query(1, "zone.example", dns::QTYPE_A);
    notify[2] = 0x20; // opcode NOTIFY
    let f = Frame::udp(addr("192.0.2.10:40000"), addr("192.0.2.53:53"), notify);
    assert_nothing(&probe.run(&f.bytes()), ignored());
    let mut arp = vec![0xff; 12];
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    assert_nothing(&probe.run(&arp), ignored());
    // An Ethernet header alone.
    assert_nothing(&probe.run(&[0u8; 14]), ignored());
}

#[test]
fn malformed_queries_are_parse_errors_by_reason() {
    let mut probe = Probe::new();
    let udp = |payload: Vec<u8>| {
        Frame::udp(addr("192.0.2.10:40000"), addr("192.0.2.53:53"), payload).bytes()
    };
    let header = dns::query(1, "a.example", dns::QTYPE_A)[..12].to_vec();

    // Zero-length payload and a cut header.
    assert_nothing(
        &probe.run(&udp(Vec::new())),
        parse_error(ParseError::Truncated),
    );
    assert_nothing(
        &probe.run(&udp(header[..5].to_vec())),
        parse_error(ParseError::Truncated),
    );
    // Header whole, question missing or its QTYPE/QCLASS cut.
    assert_nothing(
        &probe.run(&udp(header.clone())),
        parse_error(ParseError::Truncated),
    );
    let mut cut = dns::query(1, "a.example", dns::QTYPE_A);
    cut.truncate(cut.len() - 3);
    assert_nothing(&probe.run(&udp(cut)), parse_error(ParseError::Truncated));
    // A label running past the end of the packet.
    let mut overrun = header.clone();
    overrun.extend_from_slice(b"\x05abc\x20abcdef");
    assert_nothing(&probe.run(&udp(overrun)), parse_error(ParseError::BadLabel));
    // Reserved label-type bits.
    let bad = dns::query_wire(1, b"\x41abc\x00", dns::QTYPE_A);
    assert_nothing(&probe.run(&udp(bad)), parse_error(ParseError::BadLabel));
    // A compression pointer in the question.
    let ptr = dns::query_wire(1, b"\x03www\xc0\x0c", dns::QTYPE_A);
    assert_nothing(
        &probe.run(&udp(ptr)),
        parse_error(ParseError::CompressionPointer),
    );
    // A name over 255 bytes.
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'x'; 63]);
    }
    long.push(0);
    let too_long = dns::query_wire(1, &long, dns::QTYPE_A);
    assert_nothing(
        &probe.run(&udp(too_long)),
        parse_error(ParseError::NameTooLong),
    );
    // A query without a question.
    let mut empty = header;
    empty[5] = 0;
    assert_nothing(&probe.run(&udp(empty)), parse_error(ParseError::Other));
}

#[test]
fn longest_names_and_the_root_are_accepted() {
    let mut probe = Probe::new();
    let mut wire = Vec::new();
    for len in [63u8, 63, 63, 61] {
        wire.push(len);
        wire.extend(std::iter::repeat_n(b'q', usize::from(len)));
    }
    wire.push(0);
    assert_eq!(wire.len(), 255);
    let f = Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::query_wire(1, &wire, dns::QTYPE_A),
    );
    let run = probe.run(&f.bytes());
    let expected = name::decode(&wire).expect("valid");
    let e = assert_query(&run, &expected);
    assert_eq!(e.name_len, 255);
    assert_eq!(&e.name[..255], &wire[..]);
    // 127 one-byte labels: the most labels a name can have.
    let mut many = Vec::new();
    for _ in 0..127 {
        many.extend_from_slice(b"\x01z");
    }
    many.push(0);
    let f = Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::query_wire(1, &many, dns::QTYPE_A),
    );
    assert_query(&probe.run(&f.bytes()), &name::decode(&many).expect("valid"));
    let root = Frame::udp(
        addr("192.0.2.10:40000"),
        addr("192.0.2.53:53"),
        dns::query(1, ".", 2),
    );
    assert_query(&probe.run(&root.bytes()), ".");
}

#[test]
fn zero_length_frame_is_refused_by_the_kernel_and_counts_nothing() {
    let mut probe = Probe::new();
    let before = probe.counters();
    let _ = probe.run_err(&[]);
    assert_eq!(probe.counters(), before);
    assert!(probe.drain().is_empty());
}

#[test]
fn mirror_mode_drops_everything_after_counting() {
    let mut probe = Probe::with(LoadOptions {
        mode: Mode::Mirror,
        ..LoadOptions::default()
    });
    let run = probe.run(&query_frame("mirror.example").bytes());
    assert_eq!(run.action, XDP_DROP);
    assert_eq!(run.events.len(), 1);
    let other = Frame::udp(addr("192.0.2.10:1"), addr("192.0.2.80:2"), vec![1]);
    assert_eq!(probe.run(&other.bytes()).action, XDP_DROP);
}

#[test]
fn full_ring_counts_lost_events_and_recovers() {
    // 4 KiB holds a dozen 320-byte events (each with an 8-byte header).
    let mut probe = Probe::with(LoadOptions {
        ring_bytes: 4096,
        ..LoadOptions::default()
    });
    let frame = query_frame("flood.example").bytes();
    for _ in 0..40 {
        assert_eq!(probe.run_only(&frame), XDP_PASS);
    }
    let counters = probe.counters();
    let stored = counters.queries as usize;
    assert_eq!(counters.queries + counters.lost, 40);
    assert!(counters.lost > 0, "a 4 KiB ring cannot hold 40 events");
    assert_eq!(probe.drain().len(), stored);
    // Drained, the ring takes events again.
    let run = probe.run(&frame);
    assert_eq!(run.counters, one_query());
    assert_eq!(run.events.len(), 1);
}

#[test]
fn dns_over_tcp_one_or_several_messages_per_segment() {
    let mut probe = Probe::new();
    let tcp = |payload: Vec<u8>| {
        Frame::tcp(addr("192.0.2.10:40000"), addr("192.0.2.53:53"), 7, payload).bytes()
    };
    let one = dns::tcp_framed(&[dns::query(1, "tcp.example", dns::QTYPE_A)]);
    let e = assert_query(&probe.run(&tcp(one)), "tcp.example");
    assert_eq!(e.transport, capture_common::TRANSPORT_TCP);
    let three = dns::tcp_framed(&[
        dns::query(1, "one.example", dns::QTYPE_A),
        dns::query(2, "two.example", dns::QTYPE_AAAA),
        dns::query_edns(3, "three.example", dns::QTYPE_TXT, 4096),
    ]);
    let run = probe.run(&tcp(three));
    assert_eq!(run.counters.queries, 3);
    let names: Vec<String> = run.events.iter().map(decoded).collect();
    assert_eq!(names, ["one.example", "two.example", "three.example"]);
    // A response over TCP, from port 53.
    let resp = dns::tcp_framed(&[dns::response(1, "tcp.example", 1, 0, &[])]);
    let f = Frame::tcp(addr("192.0.2.53:53"), addr("192.0.2.10:40000"), 9, resp);
    let run = probe.run(&f.bytes());
    assert_eq!(run.counters.responses, 1);
    // A bare ACK, a segment from the middle of a stream, a message whose
    // question continues in the next segment: none is a query or an error.
    assert_nothing(&probe.run(&tcp(Vec::new())), ignored());
    assert_nothing(&probe.run(&tcp(vec![0x00, 0x05, 1, 2, 3, 4, 5])), ignored());
    let mut split = dns::tcp_framed(&[dns::query(1, "split.example", dns::QTYPE_A)]);
    split.truncate(20);
    assert_nothing(&probe.run(&tcp(split)), ignored());
    // A complete message with a pointer in its question is malformed.
    let bad = dns::tcp_framed(&[dns::query_wire(1, b"\x01a\xc0\x0c", dns::QTYPE_A)]);
    assert_nothing(
        &probe.run(&tcp(bad)),
        parse_error(ParseError::CompressionPointer),
    );
}
