//! The userspace packet parser of the offline path: the same walk as the
//! XDP program (`capture-ebpf`), rule for rule and in the same order, from
//! a captured frame to the same [`DnsEvent`]s and the same counters, so
//! that `dnsrare pcap` and a live capture of the same packets agree (a
//! differential test holds the two to it).
//!
//! Link layers: Ethernet, as the XDP program sees it, and also Linux cooked
//! captures (SLL, SLL2) and bare IP, whose headers are mapped onto the same
//! walk.

use capture_common::{
    ANSWER_BYTES, DNS_HEADER_LEN, DNS_PORT, DnsEvent, EventKind, FAMILY_IPV4, FAMILY_IPV6,
    MAX_HEADER_OFFSET, MAX_IPV6_EXT, MAX_LABEL_LEN, MAX_LABELS, MAX_NAME_LEN, MAX_STREAM_MESSAGES,
    MAX_STREAM_OFFSET, MAX_VLAN_TAGS, ParseError, TRANSPORT_TCP, TRANSPORT_UDP, header_flags,
    wire::{
        ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IPV4, ETH_P_IPV6, IPPROTO_TCP, IPPROTO_UDP,
        IPV4_MIN_HLEN, IPV6_DSTOPTS, IPV6_FRAGMENT, IPV6_HLEN, IPV6_HOPOPTS, IPV6_ROUTING,
        TCP_MIN_HLEN, UDP_HLEN, VLAN_HLEN,
    },
};

use super::{answers::AnswerBytes, pcap::Link};
use crate::model::capture::CaptureCounters;

/// Reads and counts frames the way the XDP program does.
#[derive(Debug)]
pub struct FrameParser {
    counters: CaptureCounters,
    /// The event handed to `emit`, refilled for every message rather than
    /// built afresh (it is 328 bytes).
    event: DnsEvent,
    /// Bytes of `event.name` that may be non-zero.
    name_dirty: usize,
}

impl Default for FrameParser {
    fn default() -> Self {
        Self {
            counters: CaptureCounters::default(),
            event: DnsEvent::zeroed(),
            name_dirty: 0,
        }
    }
}

/// Where a UDP or TCP payload sits in a frame.
#[derive(Clone, Copy)]
struct Datagram {
    l3: usize,
    family: u8,
    transport: u8,
    src_port: u16,
    dst_port: u16,
    payload: usize,
}

/// A checked DNS message.
struct Found {
    kind: EventKind,
    name_offset: usize,
    name_len: usize,
    txid: u16,
    flags: u16,
    ancount: u16,
    qtype: u16,
    qclass: u16,
}

enum Outcome {
    Ignored,
    Invalid(ParseError),
    Dns(Found),
}

/// Bounds-checked big-endian reads over one frame (offsets past the end
/// give `None`, as the XDP program's checks against `data_end` do).
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&self, off: usize) -> Option<u8> {
        self.0.get(off).copied()
    }

    fn be16(&self, off: usize) -> Option<u16> {
        let b = self.0.get(off..off.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
}

impl FrameParser {
    /// A parser with zero counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters so far (`lost` is always zero offline).
    pub fn counters(&self) -> CaptureCounters {
        self.counters
    }

    /// Parses one frame captured at `time_ns`; calls `emit` for every DNS
    /// query or response in it and counts it like the XDP program. A
    /// response comes with the bytes after its question, as the kernel
    /// programs copy them into a `DnsResponseEvent`; a query with none.
    pub fn parse(
        &mut self,
        link: Link,
        frame: &[u8],
        time_ns: u64,
        mut emit: impl FnMut(&DnsEvent, AnswerBytes<'_>),
    ) {
        self.counters.packets += 1;
        // Map other link layers onto an Ethernet-like walk: a start offset
        // and the ethertype found there.
        let start = match link {
            Link::Ethernet => Some((ETH_HLEN - 2, None)),
            Link::LinuxSll => Some((14, None)),
            Link::LinuxSll2 => Some((0, None)),
            Link::RawIp => match frame.first().map(|b| b >> 4) {
                Some(4) => Some((0, Some(ETH_P_IPV4))),
                Some(6) => Some((0, Some(ETH_P_IPV6))),
                _ => None,
            },
            Link::Other(_) => None,
        };
        let p = Bytes(frame);
        let datagram = start.and_then(|(at, ethertype)| match (link, ethertype) {
            (Link::RawIp, Some(t)) => network(&p, t, 0),
            (Link::LinuxSll2, _) => walk(&p, 0, 20),
            (_, _) => walk(&p, at, at + 2),
        });
        let Some(d) = datagram else {
            self.counters.ignored += 1;
            return;
        };
        if d.transport == TRANSPORT_UDP {
            let outcome = inspect(&p, &d, d.payload, Framing::Datagram);
            self.record(&p, &d, outcome, frame.len(), time_ns, &mut emit);
            return;
        }
        // TCP: up to MAX_STREAM_MESSAGES length-prefixed messages.
        let mut offset = d.payload;
        let mut seen = false;
        for _ in 0..MAX_STREAM_MESSAGES {
            let Some(len) = p.be16(offset) else { break };
            let len = usize::from(len);
            if len < DNS_HEADER_LEN {
                break;
            }
            let end = offset + 2 + len;
            let cut = end > frame.len();
            match inspect(&p, &d, offset + 2, Framing::Stream { cut }) {
                Outcome::Ignored => break,
                outcome => self.record(&p, &d, outcome, end, time_ns, &mut emit),
            }
            seen = true;
            offset += 2 + len;
            if cut || offset > MAX_STREAM_OFFSET {
                break;
            }
        }
        if !seen {
            self.counters.ignored += 1;
        }
    }

    /// Counts `outcome`, or emits its event; the message ends at
    /// `message_end` (the frame's end for a datagram, the declared length
    /// in a stream, possibly past the frame).
    fn record(
        &mut self,
        p: &Bytes<'_>,
        d: &Datagram,
        outcome: Outcome,
        message_end: usize,
        time_ns: u64,
        emit: &mut impl FnMut(&DnsEvent, AnswerBytes<'_>),
    ) {
        match outcome {
            Outcome::Ignored => self.counters.ignored += 1,
            Outcome::Invalid(reason) => *self.counters.parse_errors.get_mut(reason) += 1,
            Outcome::Dns(found) => {
                if fill(&mut self.event, &mut self.name_dirty, p, d, &found, time_ns).is_none() {
                    // Mirrors the XDP program's discarded entry.
                    self.counters.parse_errors.other += 1;
                    return;
                }
                let answers = match found.kind {
                    EventKind::Query => {
                        self.counters.queries += 1;
                        AnswerBytes::default()
                    }
                    EventKind::Response => {
                        self.counters.responses += 1;
                        answer_bytes(p.0, &found, message_end)
                    }
                };
                emit(&self.event, answers);
            }
        }
    }
}

/// Walks optional VLAN tags from the ethertype at `type_at` (the network
/// header following at `l3`), then the network and transport headers.
fn walk(p: &Bytes<'_>, type_at: usize, l3: usize) -> Option<Datagram> {
    let mut ethertype = p.be16(type_at)?;
    let mut l3 = l3;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        ethertype = p.be16(l3 + 2)?;
        l3 += VLAN_HLEN;
    }
    network(p, ethertype, l3)
}

fn network(p: &Bytes<'_>, ethertype: u16, l3: usize) -> Option<Datagram> {
    let (family, protocol, l4) = match ethertype {
        ETH_P_IPV4 => ipv4(p, l3)?,
        ETH_P_IPV6 => ipv6(p, l3)?,
        _ => return None,
    };
    if l4 > MAX_HEADER_OFFSET {
        return None;
    }
    if protocol != IPPROTO_UDP && protocol != IPPROTO_TCP {
        return None;
    }
    let src_port = p.be16(l4)?;
    let dst_port = p.be16(l4 + 2)?;
    if src_port != DNS_PORT && dst_port != DNS_PORT {
        return None;
    }
    let (transport, header_len) = match protocol {
        IPPROTO_UDP => (TRANSPORT_UDP, UDP_HLEN),
        IPPROTO_TCP => {
            let data_offset = usize::from(p.byte(l4 + 12)? >> 4) * 4;
            if data_offset < TCP_MIN_HLEN {
                return None;
            }
            (TRANSPORT_TCP, data_offset)
        }
        _ => return None,
    };
    p.be16(l4 + header_len - 2)?;
    Some(Datagram {
        l3,
        family,
        transport,
        src_port,
        dst_port,
        payload: l4 + header_len,
    })
}

fn ipv4(p: &Bytes<'_>, off: usize) -> Option<(u8, u8, usize)> {
    let version_ihl = p.byte(off)?;
    if version_ihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    if ihl < IPV4_MIN_HLEN {
        return None;
    }
    if p.be16(off + 6)? & 0x1fff != 0 {
        return None;
    }
    let protocol = p.byte(off + 9)?;
    p.be16(off + 18)?;
    Some((FAMILY_IPV4, protocol, off + ihl))
}

fn ipv6(p: &Bytes<'_>, off: usize) -> Option<(u8, u8, usize)> {
    if p.byte(off)? >> 4 != 6 {
        return None;
    }
    let mut next = p.byte(off + 6)?;
    p.be16(off + IPV6_HLEN - 2)?;
    let mut l4 = off + IPV6_HLEN;
    for _ in 0..MAX_IPV6_EXT {
        match next {
            IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS => {
                next = p.byte(l4)?;
                l4 += (usize::from(p.byte(l4 + 1)?) + 1) * 8;
            }
            IPV6_FRAGMENT => {
                next = p.byte(l4)?;
                if p.be16(l4 + 2)? & 0xfff8 != 0 {
                    return None;
                }
                l4 += 8;
            }
            _ => break,
        }
        if l4 > MAX_HEADER_OFFSET {
            return None;
        }
    }
    Some((FAMILY_IPV6, next, l4))
}

/// Where a DNS message sits; see the XDP program's `Framing`.
#[derive(Clone, Copy)]
enum Framing {
    Datagram,
    Stream { cut: bool },
}

fn inspect(p: &Bytes<'_>, d: &Datagram, dns: usize, framing: Framing) -> Outcome {
    let stream_cut = matches!(framing, Framing::Stream { cut: true });
    let is_stream = matches!(framing, Framing::Stream { .. });
    let to_dns = d.dst_port == DNS_PORT;
    let from_dns = d.src_port == DNS_PORT;
    if !to_dns && !from_dns {
        return Outcome::Ignored;
    }
    let (Some(txid), Some(flags), Some(qdcount), Some(ancount), Some(_)) = (
        p.be16(dns),
        p.be16(dns + 2),
        p.be16(dns + 4),
        p.be16(dns + 6),
        p.be16(dns + DNS_HEADER_LEN - 2),
    ) else {
        return if is_stream {
            Outcome::Ignored
        } else {
            Outcome::Invalid(ParseError::Truncated)
        };
    };
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0x0f;
    let kind = match (is_response, to_dns, from_dns) {
        (false, true, _) => EventKind::Query,
        (true, _, true) => EventKind::Response,
        _ => return Outcome::Ignored,
    };
    if opcode != 0 {
        return Outcome::Ignored;
    }
    if is_stream && qdcount != 1 {
        return Outcome::Ignored;
    }
    if qdcount == 0 {
        return match kind {
            EventKind::Query => Outcome::Invalid(ParseError::Other),
            EventKind::Response => Outcome::Ignored,
        };
    }
    let cut_short = |reason| match reason {
        ParseError::Truncated | ParseError::BadLabel if stream_cut => Outcome::Ignored,
        reason => Outcome::Invalid(reason),
    };
    let name_offset = dns + DNS_HEADER_LEN;
    let name_len = match name_length(p, name_offset) {
        Ok(len) => len,
        Err(reason) => return cut_short(reason),
    };
    let (Some(qtype), Some(qclass)) = (
        p.be16(name_offset + name_len),
        p.be16(name_offset + name_len + 2),
    ) else {
        return cut_short(ParseError::Truncated);
    };
    Outcome::Dns(Found {
        kind,
        name_offset,
        name_len,
        txid,
        flags,
        ancount,
        qtype,
        qclass,
    })
}

fn name_length(p: &Bytes<'_>, start: usize) -> Result<usize, ParseError> {
    let mut used = 0usize;
    for _ in 0..MAX_LABELS {
        let Some(len) = p.byte(start + used) else {
            return Err(if used == 0 {
                ParseError::Truncated
            } else {
                ParseError::BadLabel
            });
        };
        if len == 0 {
            return Ok(used + 1);
        }
        if len & 0xc0 == 0xc0 {
            return Err(ParseError::CompressionPointer);
        }
        if usize::from(len) > MAX_LABEL_LEN {
            return Err(ParseError::BadLabel);
        }
        used += usize::from(len) + 1;
        if used >= MAX_NAME_LEN {
            return Err(ParseError::NameTooLong);
        }
    }
    Err(ParseError::NameTooLong)
}

/// The bytes after a response's question, as the kernel programs copy
/// them: up to the end of the message or of the frame, whichever comes
/// first, at most [`ANSWER_BYTES`]; cut when the message went on past them.
fn answer_bytes<'a>(frame: &'a [u8], f: &Found, message_end: usize) -> AnswerBytes<'a> {
    let start = f.name_offset + f.name_len + 4;
    let end = message_end.min(frame.len());
    let copied = end.saturating_sub(start).min(ANSWER_BYTES);
    AnswerBytes {
        bytes: frame.get(start..start + copied).unwrap_or_default(),
        cut: message_end > start + copied,
    }
}

/// Fills `e` with the message `f` as the XDP program fills a ring entry:
/// every field it sets, and zeros where it leaves them, so `e` is the same
/// whatever message it held before (`ifindex` and `direction` are never
/// set here and stay zero); `name_dirty` tracks the bytes of `e.name` that
/// may be non-zero. `None` where the program discards the entry.
fn fill(
    e: &mut DnsEvent,
    name_dirty: &mut usize,
    p: &Bytes<'_>,
    d: &Datagram,
    f: &Found,
    time_ns: u64,
) -> Option<()> {
    e.timestamp_ns = time_ns;
    if d.family == FAMILY_IPV4 {
        e.src_addr = [0; 16];
        e.dst_addr = [0; 16];
        e.src_addr[..4].copy_from_slice(p.0.get(d.l3 + 12..d.l3 + 16)?);
        e.dst_addr[..4].copy_from_slice(p.0.get(d.l3 + 16..d.l3 + 20)?);
    } else {
        e.src_addr.copy_from_slice(p.0.get(d.l3 + 8..d.l3 + 24)?);
        e.dst_addr.copy_from_slice(p.0.get(d.l3 + 24..d.l3 + 40)?);
    }
    e.src_port = d.src_port;
    e.dst_port = d.dst_port;
    e.txid = f.txid;
    e.qtype = f.qtype;
    e.qclass = f.qclass;
    e.ancount = f.ancount;
    e.name_len = f.name_len as u16;
    e.family = d.family;
    e.kind = f.kind as u8;
    e.rcode = (f.flags & 0x0f) as u8;
    e.transport = d.transport;
    e.flags = header_flags(f.flags);
    e.name[..*name_dirty].fill(0);
    *name_dirty = 0;
    e.name[..f.name_len].copy_from_slice(p.0.get(f.name_offset..f.name_offset + f.name_len)?);
    *name_dirty = f.name_len;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    /// A minimal IPv4/UDP query for "a.b" from 10.0.0.1 to 10.0.0.2:53.
    fn ipv4_udp_query() -> Vec<u8> {
        let dns = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x01b\x00\x00\x01\x00\x01";
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend_from_slice(&[0x9c, 0x40, 0, 53, 0, 0, 0, 0]);
        ip.extend_from_slice(dns);
        ip
    }

    #[test]
    fn ethernet_sll_sll2_and_raw_ip_give_the_same_event() {
        let ip = ipv4_udp_query();
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&ETH_P_IPV4.to_be_bytes());
        sll.extend_from_slice(&ip);
        let mut sll2 = ETH_P_IPV4.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        for (link, frame) in [
            (Link::Ethernet, frame_with(ETH_P_IPV4, &ip)),
            (Link::LinuxSll, sll),
            (Link::LinuxSll2, sll2),
            (Link::RawIp, ip.clone()),
        ] {
            let mut parser = FrameParser::new();
            let mut events = Vec::new();
            parser.parse(link, &frame, 7, |e, _| events.push(*e));
            assert_eq!(events.len(), 1, "{link:?}");
            let e = events[0];
            assert_eq!(e.wire_name(), b"\x01a\x01b\x00");
            assert_eq!((e.txid, e.src_port, e.timestamp_ns), (0x1234, 40000, 7));
            assert_eq!(&e.src_addr[..4], &[10, 0, 0, 1]);
            assert_eq!(parser.counters().queries, 1, "{link:?}");
        }
    }

    /// An Ethernet frame holding a UDP query for the wire name `name`, over
    /// IPv6 or IPv4.
    fn udp_query(v6: bool, name: &[u8]) -> Vec<u8> {
        let mut dns = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
        dns.extend_from_slice(name);
        dns.extend_from_slice(&[0, 1, 0, 1]);
        let mut udp = vec![0x9c, 0x40, 0, 53];
        udp.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&dns);
        if !v6 {
            let mut ip = ipv4_udp_query()[..20].to_vec();
            ip.extend_from_slice(&udp);
            return frame_with(ETH_P_IPV4, &ip);
        }
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&(udp.len() as u16).to_be_bytes());
        ip.extend_from_slice(&[17, 64]);
        ip.extend((0..32).map(|i| 0xf0 | (i as u8 & 0x0f)));
        ip.extend_from_slice(&udp);
        frame_with(ETH_P_IPV6, &ip)
    }

    /// Every field of an event, the whole name buffer included.
    fn fields(e: &DnsEvent) -> String {
        format!("{e:?}")
    }

    #[test]
    fn one_parser_for_many_frames_gives_the_events_of_fresh_ones() {
        // Long names then short ones, IPv6 then IPv4: nothing of an earlier
        // event may show through the reused one.
        let long = b"\x3fabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk\x07example\x03com\x00";
        let short = b"\x01a\x01b\x00";
        let frames = [
            udp_query(true, long),
            udp_query(false, short),
            udp_query(true, short),
            udp_query(false, long),
            udp_query(false, short),
        ];
        let mut shared = FrameParser::new();
        for (k, frame) in frames.iter().enumerate() {
            let mut fresh = Vec::new();
            FrameParser::new().parse(Link::Ethernet, frame, k as u64, |e, _| {
                fresh.push(fields(e));
            });
            let mut reused = Vec::new();
            shared.parse(Link::Ethernet, frame, k as u64, |e, _| {
                reused.push(fields(e));
            });
            assert_eq!(fresh.len(), 1, "frame {k}");
            assert_eq!(reused, fresh, "frame {k}");
        }
    }

    #[test]
    fn other_link_types_and_short_frames_are_ignored() {
        let mut parser = FrameParser::new();
        parser.parse(Link::Other(105), &[1, 2, 3], 0, |_, _| panic!("no event"));
        parser.parse(Link::Ethernet, &[], 0, |_, _| panic!("no event"));
        parser.parse(Link::RawIp, &[0x45], 0, |_, _| panic!("no event"));
        let c = parser.counters();
        assert_eq!((c.packets, c.ignored), (3, 3));
    }

    #[test]
    fn any_bytes_parse_without_panicking() {
        // A cheap exhaustive-ish sweep: every prefix and single-byte change
        // of a valid frame.
        let good = frame_with(ETH_P_IPV4, &ipv4_udp_query());
        let mut parser = FrameParser::new();
        for len in 0..=good.len() {
            parser.parse(Link::Ethernet, &good[..len], 0, |_, _| {});
        }
        for i in 0..good.len() {
            for v in [0u8, 0x3f, 0x40, 0xc0, 0xff] {
                let mut f = good.clone();
                f[i] = v;
                parser.parse(Link::Ethernet, &f, 0, |_, _| {});
            }
        }
        assert_eq!(
            parser.counters().packets,
            (good.len() as u64 + 1) + good.len() as u64 * 5
        );
    }
}
