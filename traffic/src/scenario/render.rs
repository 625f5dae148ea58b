//! From planned queries to frames: each query and its response (with the
//! host's VLAN tags, IPv6 and extension header, TCP framing, EDNS0, answers
//! derived from the name), the malformed frames, all in time order.
//! Frames are built on every core; each depends only on its query, so the
//! bytes do not depend on the number of threads.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    F_EXT, F_TC, F_TCP, F_V6, GATEWAY_MAC, Malformed, Packet, Query, RESOLVER, RESOLVER_V6,
    catalog::{Answer, Catalog, Kind},
    hosts::Host,
};
use crate::{
    dns::{
        self, QTYPE_A, QTYPE_AAAA, QTYPE_MX, QTYPE_NULL, QTYPE_PTR, QTYPE_SRV, QTYPE_TXT,
        RCODE_NOERROR, RCODE_NXDOMAIN, Rdata, Reply,
    },
    frame::{Frame, Ipv6Ext, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, Transport},
};

/// The parse error a malformed query frame provokes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum BadReason {
    /// Fewer than 12 bytes of DNS header.
    Truncated,
    /// A label length with reserved bits set, or one that runs past the end.
    BadLabel,
    /// A question name longer than 255 bytes.
    NameTooLong,
    /// A compression pointer in the question name.
    CompressionPointer,
    /// A query without a question.
    Other,
}

impl BadReason {
    /// Every reason.
    pub const ALL: [Self; 5] = [
        Self::Truncated,
        Self::BadLabel,
        Self::NameTooLong,
        Self::CompressionPointer,
        Self::Other,
    ];

    /// The reason's name, as `capture_common::ParseError::as_str` gives it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::BadLabel => "bad_label",
            Self::NameTooLong => "name_too_long",
            Self::CompressionPointer => "compression_pointer",
            Self::Other => "other",
        }
    }

    /// The DNS payload.
    fn payload(self, txid: u16) -> Vec<u8> {
        match self {
            Self::Truncated => {
                let mut q = dns::query(txid, "update.example.com", QTYPE_A);
                q.truncate(4 + usize::from(txid % 8));
                q
            }
            Self::BadLabel if txid.is_multiple_of(2) => {
                // Reserved label type 01 (length byte 0x45).
                dns::query_wire(txid, b"\x45abcdefgh\x03com\x00", QTYPE_A)
            }
            Self::BadLabel => {
                // A 32-byte label of which five bytes arrived.
                let mut q = dns::query(txid, "a.b", QTYPE_A);
                q.truncate(12);
                q.extend_from_slice(b"\x20short");
                q
            }
            Self::NameTooLong => {
                let label = [b'a' + (txid % 26) as u8; 60];
                let mut wire = Vec::new();
                for _ in 0..5 {
                    wire.push(60);
                    wire.extend_from_slice(&label);
                }
                wire.push(0);
                dns::query_wire(txid, &wire, QTYPE_A)
            }
            Self::CompressionPointer => dns::query_wire(txid, &[0xc0, 0x0c], QTYPE_A),
            Self::Other => {
                let mut q = dns::query(txid, "a.b", QTYPE_A);
                q.truncate(12);
                q[4..6].copy_from_slice(&[0, 0]);
                q
            }
        }
    }
}

/// SplitMix64's finaliser: a well-mixed hash of `x`.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A frame to build: query `i`'s query or response, or malformed frame `i`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    t: u64,
    part: u8,
    i: u32,
}

const QUERY: u8 = 0;
const RESPONSE: u8 = 1;
const MALFORMED: u8 = 2;
const SYN: u8 = 3;
const SYN_ACK: u8 = 4;
const FIN_CLIENT: u8 = 5;
const FIN_SERVER: u8 = 6;

/// Frames of an exchange over TCP: handshake, query, response, teardown.
pub(crate) const TCP_FRAMES: u64 = 6;

/// Renders every frame, in time order.
pub(crate) fn packets(
    seed: u64,
    hosts: &[Host],
    cat: &Catalog,
    queries: &[Query],
    malformed: &[Malformed],
) -> Vec<Packet> {
    let mut slots = Vec::with_capacity(queries.len() * 2 + malformed.len());
    for (i, q) in queries.iter().enumerate() {
        let parts: &[u8] = if q.flags & F_TCP != 0 {
            &[SYN, SYN_ACK, QUERY, RESPONSE, FIN_CLIENT, FIN_SERVER]
        } else {
            &[QUERY, RESPONSE]
        };
        for &part in parts {
            slots.push(Slot {
                t: part_time(q, part),
                part,
                i: i as u32,
            });
        }
    }
    for (i, m) in malformed.iter().enumerate() {
        slots.push(Slot {
            t: m.t,
            part: MALFORMED,
            i: i as u32,
        });
    }
    // Keys are unique, so the order is fully determined.
    slots.sort_unstable();

    let render = |s: &Slot| -> Packet {
        let frame = if s.part == MALFORMED {
            let m = &malformed[s.i as usize];
            malformed_frame(m, &hosts[m.host as usize])
        } else {
            let q = &queries[s.i as usize];
            exchange_frame(seed, q, s.part, &hosts[q.host as usize], cat)
        };
        Packet {
            time_ns: s.t,
            frame,
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 16);
    if threads == 1 || slots.len() < 10_000 {
        return slots.iter().map(render).collect();
    }
    let chunk = slots.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = slots
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(render).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(slots.len());
        for p in parts {
            out.extend(p.join().expect("a render thread panicked"));
        }
        out
    })
}

fn endpoints(q: &Query, host: &Host) -> (SocketAddr, SocketAddr) {
    match (q.flags & F_V6 != 0, host.v6) {
        (true, Some(v6)) => (
            SocketAddr::new(IpAddr::V6(v6), q.sport),
            SocketAddr::new(IpAddr::V6(RESOLVER_V6), 53),
        ),
        _ => (
            SocketAddr::new(IpAddr::V4(host.v4), q.sport),
            SocketAddr::new(IpAddr::V4(RESOLVER), 53),
        ),
    }
}

/// Builds a frame of query `q`'s exchange: client to server if `up`.
fn frame(q: &Query, host: &Host, up: bool, transport: Transport, payload: Vec<u8>) -> Vec<u8> {
    let (client, server) = endpoints(q, host);
    let (src, dst) = if up {
        (client, server)
    } else {
        (server, client)
    };
    let mut f = Frame::udp(src, dst, payload);
    f.transport = transport;
    if up {
        f.src_mac = host.mac;
        f.dst_mac = GATEWAY_MAC;
        if q.flags & F_EXT != 0 {
            f.ipv6_ext = vec![if q.txid.is_multiple_of(2) {
                Ipv6Ext::HopByHop(0)
            } else {
                Ipv6Ext::DestinationOptions(0)
            }];
        }
    } else {
        f.src_mac = GATEWAY_MAC;
        f.dst_mac = host.mac;
    }
    f.vlans.clone_from(&host.vlans);
    f.bytes()
}

fn query_msg(q: &Query, host: &Host, cat: &Catalog) -> Vec<u8> {
    let name = &cat.get(q.name).name;
    match host.edns {
        Some(size) => dns::query_edns(q.txid, name, q.qtype, size),
        None => dns::query(q.txid, name, q.qtype),
    }
}

fn response_msg(seed: u64, q: &Query, host: &Host, cat: &Catalog) -> Vec<u8> {
    let entry = cat.get(q.name);
    let truncated = q.flags & F_TC != 0;
    let (rcode, answers, soa_labels) = if truncated {
        (RCODE_NOERROR, Vec::new(), 0)
    } else {
        answer(seed, q, cat)
    };
    Reply {
        id: q.txid,
        name: &entry.name,
        qtype: q.qtype,
        rcode,
        ttl: entry.ttl,
        answers: &answers,
        soa_labels,
        edns: host.edns,
        truncated,
    }
    .bytes()
}

/// Half a TCP round trip of query `q`'s connection, ns.
fn half_rtt(q: &Query) -> u64 {
    100_000 + mix(u64::from(q.txid) << 16 | u64::from(q.sport)) % 700_000
}

/// When each part of query `q`'s exchange is sent. Over TCP, `q.t` is
/// the SYN: the query follows the handshake and the teardown follows the
/// response.
fn part_time(q: &Query, part: u8) -> u64 {
    if q.flags & F_TCP == 0 {
        return if part == QUERY {
            q.t
        } else {
            q.t + u64::from(q.rtt.max(1))
        };
    }
    let hs = half_rtt(q);
    let asked = q.t + 2 * hs;
    let answered = asked + u64::from(q.rtt.max(1));
    match part {
        SYN => q.t,
        SYN_ACK => q.t + hs,
        QUERY => asked,
        RESPONSE => answered,
        FIN_CLIENT => answered + 50_000,
        _ => answered + 50_000 + hs,
    }
}

/// One frame of query `q`'s exchange.
fn exchange_frame(seed: u64, q: &Query, part: u8, host: &Host, cat: &Catalog) -> Vec<u8> {
    let up = matches!(part, QUERY | SYN | FIN_CLIENT);
    if q.flags & F_TCP == 0 {
        let msg = if up {
            query_msg(q, host, cat)
        } else {
            response_msg(seed, q, host, cat)
        };
        return frame(q, host, up, Transport::Udp, msg);
    }
    let x = mix(u64::from(q.txid) << 16 | u64::from(q.sport) | 1 << 40) as u32;
    let y = mix(u64::from(q.txid) << 16 | u64::from(q.sport) | 2 << 40) as u32;
    let segment = |seq: u32, ack: u32, flags: u8| Transport::TcpSegment { seq, ack, flags };
    let lq = || 2 + query_msg(q, host, cat).len() as u32;
    let lr = || 2 + response_msg(seed, q, host, cat).len() as u32;
    let (transport, payload) = match part {
        SYN => (segment(x, 0, TCP_SYN), Vec::new()),
        SYN_ACK => (segment(y, x.wrapping_add(1), TCP_SYN | TCP_ACK), Vec::new()),
        QUERY => (
            segment(x.wrapping_add(1), y.wrapping_add(1), TCP_PSH | TCP_ACK),
            dns::tcp_framed(&[query_msg(q, host, cat)]),
        ),
        RESPONSE => (
            segment(
                y.wrapping_add(1),
                x.wrapping_add(1 + lq()),
                TCP_PSH | TCP_ACK,
            ),
            dns::tcp_framed(&[response_msg(seed, q, host, cat)]),
        ),
        FIN_CLIENT => (
            segment(
                x.wrapping_add(1 + lq()),
                y.wrapping_add(1 + lr()),
                TCP_FIN | TCP_ACK,
            ),
            Vec::new(),
        ),
        _ => (
            segment(
                y.wrapping_add(1 + lr()),
                x.wrapping_add(2 + lq()),
                TCP_FIN | TCP_ACK,
            ),
            Vec::new(),
        ),
    };
    frame(q, host, up, transport, payload)
}

/// Whether query `q` is answered NXDOMAIN.
pub(crate) fn is_nxdomain(q: &Query, cat: &Catalog) -> bool {
    q.flags & F_TC == 0 && matches!(cat.get(q.name).answer, Answer::NxDomain { .. })
}

/// Response code, answers and SOA zone labels for query `q`.
fn answer(seed: u64, q: &Query, cat: &Catalog) -> (u8, Vec<Rdata>, usize) {
    let entry = cat.get(q.name);
    let labels = entry.name.split('.').filter(|l| !l.is_empty()).count();
    let nodata = (RCODE_NOERROR, Vec::new(), labels.min(2));
    let h = mix(seed ^ u64::from(q.name).wrapping_mul(0x100_0000_01b3));
    match &entry.answer {
        Answer::NxDomain { zone_labels } => (
            RCODE_NXDOMAIN,
            Vec::new(),
            usize::from(*zone_labels).min(labels),
        ),
        // A site's own mail exchanger and SPF record.
        Answer::Addresses { .. } if q.qtype == QTYPE_MX => (
            RCODE_NOERROR,
            vec![Rdata::Mx {
                preference: 10,
                exchange: format!("mx1.{}", entry.name),
            }],
            0,
        ),
        Answer::Addresses { .. } if q.qtype == QTYPE_TXT => (
            RCODE_NOERROR,
            vec![Rdata::Txt(
                format!("v=spf1 include:_spf.{} ~all", entry.name).into_bytes(),
            )],
            0,
        ),
        Answer::Addresses { a, aaaa, cname } => {
            let mut out = Vec::new();
            let want_v6 = q.qtype == QTYPE_AAAA;
            if q.qtype != QTYPE_A && !(want_v6 && *aaaa) {
                return nodata;
            }
            if let Some(target) = cname {
                out.push(Rdata::Cname(cat.get(*target).name.clone()));
            }
            for k in 0..u64::from(*a) {
                let r = mix(h ^ k);
                out.push(if want_v6 {
                    Rdata::Aaaa(Ipv6Addr::new(
                        0x2001,
                        0xdb8,
                        (r >> 16) as u16,
                        (r >> 32) as u16,
                        0,
                        0,
                        0,
                        k as u16 + 1,
                    ))
                } else if entry.kind == Kind::Internal || entry.kind == Kind::Target {
                    Rdata::A(Ipv4Addr::new(10, 0, (r >> 8) as u8, (r >> 16) as u8 | 1))
                } else {
                    let first = [13u8, 23, 34, 52, 54, 104, 142, 151, 157, 185, 199];
                    Rdata::A(Ipv4Addr::new(
                        first[(r % first.len() as u64) as usize],
                        (r >> 8) as u8,
                        (r >> 16) as u8,
                        (r >> 24) as u8 | 1,
                    ))
                });
            }
            (RCODE_NOERROR, out, 0)
        }
        Answer::Ptr(target) if q.qtype == QTYPE_PTR => (
            RCODE_NOERROR,
            vec![Rdata::Ptr(cat.get(*target).name.clone())],
            0,
        ),
        Answer::Srv(target) if q.qtype == QTYPE_SRV => (
            RCODE_NOERROR,
            vec![Rdata::Srv {
                priority: 0,
                weight: 100,
                port: if entry.name.starts_with("_kerberos") {
                    88
                } else {
                    389
                },
                target: cat.get(*target).name.clone(),
            }],
            0,
        ),
        Answer::ServFail => (2, Vec::new(), 0),
        Answer::Listed(n) if q.qtype == QTYPE_A => (
            RCODE_NOERROR,
            vec![Rdata::A(Ipv4Addr::new(127, 0, 0, *n))],
            0,
        ),
        Answer::Text(text) if q.qtype == QTYPE_TXT => {
            (RCODE_NOERROR, vec![Rdata::Txt(text.as_bytes().to_vec())], 0)
        }
        Answer::TunnelData if q.qtype == QTYPE_TXT || q.qtype == QTYPE_NULL => {
            let r = mix(h ^ u64::from(q.txid) << 20 ^ q.t);
            let len = 40 + (r % 180) as usize;
            let mut data = Vec::with_capacity(len);
            let mut state = r;
            while data.len() < len {
                state = mix(state);
                data.extend_from_slice(&state.to_le_bytes());
            }
            data.truncate(len);
            let rdata = if q.qtype == QTYPE_TXT {
                const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
                Rdata::Txt(data.iter().map(|b| BASE32[usize::from(b & 31)]).collect())
            } else {
                Rdata::Null(data)
            };
            (RCODE_NOERROR, vec![rdata], 0)
        }
        _ => nodata,
    }
}

fn malformed_frame(m: &Malformed, host: &Host) -> Vec<u8> {
    let src = SocketAddr::new(IpAddr::V4(host.v4), m.sport);
    let dst = SocketAddr::new(IpAddr::V4(RESOLVER), 53);
    let mut f = Frame::udp(src, dst, m.reason.payload(m.txid));
    f.src_mac = host.mac;
    f.dst_mac = GATEWAY_MAC;
    f.vlans.clone_from(&host.vlans);
    f.bytes()
}
