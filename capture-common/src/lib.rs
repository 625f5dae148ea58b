//! What the XDP program (`capture-ebpf`) and the userspace daemon
//! (`capture-user`) must agree on, defined once: the ring-buffer event
//! layout, the per-CPU counter indices, the parse-error reasons and the
//! limits of the DNS wire format that both sides enforce.
#![no_std]

/// Header sizes and protocol numbers of the layers both parsers walk
/// (the XDP program and its userspace twin), defined once.
pub mod wire {
    /// Ethernet header.
    pub const ETH_HLEN: usize = 14;
    /// One 802.1Q or 802.1ad tag.
    pub const VLAN_HLEN: usize = 4;
    /// Ethertype of IPv4.
    pub const ETH_P_IPV4: u16 = 0x0800;
    /// Ethertype of IPv6.
    pub const ETH_P_IPV6: u16 = 0x86dd;
    /// Ethertype of an 802.1Q VLAN tag.
    pub const ETH_P_8021Q: u16 = 0x8100;
    /// Ethertype of an 802.1ad (QinQ) service tag.
    pub const ETH_P_8021AD: u16 = 0x88a8;
    /// IP protocol number of TCP.
    pub const IPPROTO_TCP: u8 = 6;
    /// IP protocol number of UDP.
    pub const IPPROTO_UDP: u8 = 17;
    /// Smallest IPv4 header.
    pub const IPV4_MIN_HLEN: usize = 20;
    /// Fixed IPv6 header.
    pub const IPV6_HLEN: usize = 40;
    /// IPv6 hop-by-hop options header.
    pub const IPV6_HOPOPTS: u8 = 0;
    /// IPv6 routing header.
    pub const IPV6_ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const IPV6_FRAGMENT: u8 = 44;
    /// IPv6 destination options header.
    pub const IPV6_DSTOPTS: u8 = 60;
    /// UDP header.
    pub const UDP_HLEN: usize = 8;
    /// Smallest TCP header.
    pub const TCP_MIN_HLEN: usize = 20;
}

/// The query types the engine tells apart, as bits of a per-name set
/// (QTYPE numbers from the IANA DNS parameters registry).
pub mod qtype {
    /// QTYPE → bit.
    pub fn bit(qtype: u16) -> u16 {
        match qtype {
            1 => 1 << 0,        // A
            28 => 1 << 1,       // AAAA
            5 => 1 << 2,        // CNAME
            15 => 1 << 3,       // MX
            16 => 1 << 4,       // TXT
            10 => 1 << 5,       // NULL
            12 => 1 << 6,       // PTR
            33 => 1 << 7,       // SRV
            2 => 1 << 8,        // NS
            6 => 1 << 9,        // SOA
            255 => 1 << 10,     // ANY
            64 | 65 => 1 << 11, // SVCB, HTTPS
            _ => 1 << 15,       // anything else
        }
    }

    /// Names of the bits set in `bits`, in bit order.
    pub fn names(bits: u16) -> impl Iterator<Item = &'static str> {
        const NAMES: [(u16, &str); 13] = [
            (1 << 0, "A"),
            (1 << 1, "AAAA"),
            (1 << 2, "CNAME"),
            (1 << 3, "MX"),
            (1 << 4, "TXT"),
            (1 << 5, "NULL"),
            (1 << 6, "PTR"),
            (1 << 7, "SRV"),
            (1 << 8, "NS"),
            (1 << 9, "SOA"),
            (1 << 10, "ANY"),
            (1 << 11, "HTTPS"),
            (1 << 15, "other"),
        ];
        NAMES
            .iter()
            .filter(move |(b, _)| bits & b != 0)
            .map(|(_, n)| *n)
    }
}

/// Longest QNAME in wire form, terminating zero included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest single label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Most labels a valid name can hold: 127 one-byte labels plus the root.
pub const MAX_LABELS: usize = 128;
/// The DNS port both sides watch.
pub const DNS_PORT: u16 = 53;
/// Size of the fixed DNS message header.
pub const DNS_HEADER_LEN: usize = 12;
/// VLAN tags (802.1Q or 802.1ad) walked before the network header.
pub const MAX_VLAN_TAGS: usize = 2;
/// IPv6 extension headers followed before giving up; kept small because
/// nested bounded loops multiply the verifier's work.
pub const MAX_IPV6_EXT: usize = 4;
/// Header offsets past this are not followed: keeps every offset the
/// verifier sees bounded; no header chain we parse reaches it.
pub const MAX_HEADER_OFFSET: usize = 1024;
/// DNS messages looked at in one TCP segment.
pub const MAX_STREAM_MESSAGES: usize = 4;
/// Offsets past this are not followed in a TCP segment (above any jumbo
/// frame).
pub const MAX_STREAM_OFFSET: usize = 16 * 1024;
/// Name of the ring-buffer map in the eBPF object.
pub const EVENTS_MAP: &str = "EVENTS";
/// Name of the per-CPU counter map in the eBPF object ([`STATS_ENTRIES`]
/// [`StatCounters`], one per direction).
pub const STATS_MAP: &str = "STATS";
/// Name of the read-only global that selects mirror mode: 0 (gateway mode,
/// every packet gets XDP_PASS) or 1 (mirror mode, every packet gets XDP_DROP
/// once it has been looked at). Set by the loader before verification, so
/// the verifier prunes the branch not taken.
pub const MIRROR_GLOBAL: &str = "DNSRARE_MIRROR";
/// Name of the read-only global holding the number of unread bytes in the
/// ring at which the program wakes the drain (set by the loader to
/// [`wakeup_bytes`] of the ring size). Below it events are submitted without
/// a wake-up, and the drain finds them on its next poll (every 10 ms).
pub const WAKEUP_GLOBAL: &str = "DNSRARE_WAKEUP_BYTES";
/// The wake-up threshold for a ring of `ring_bytes`: an eighth of it, so a
/// burst wakes the drain long before the ring fills.
pub const fn wakeup_bytes(ring_bytes: u32) -> u64 {
    ring_bytes as u64 / 8
}

/// Name of the XDP program in the eBPF object.
pub const PROGRAM_NAME: &str = "dnsrare";
/// Default ring-buffer size in bytes (a power of two, page aligned).
pub const DEFAULT_RING_BYTES: u32 = 16 << 20;

/// What a [`DnsEvent`] describes.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A DNS query (QR = 0, opcode QUERY) sent to port 53.
    Query = 0,
    /// A DNS response (QR = 1, opcode QUERY) sent from port 53.
    Response = 1,
}

impl EventKind {
    /// The kind encoded in [`DnsEvent::kind`], if it is one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Query),
            1 => Some(Self::Response),
            _ => None,
        }
    }
}

/// Address family of the addresses in a [`DnsEvent`].
pub const FAMILY_IPV4: u8 = 4;
/// Address family of the addresses in a [`DnsEvent`].
pub const FAMILY_IPV6: u8 = 6;
/// Transport of a [`DnsEvent`]: UDP (IANA protocol number).
pub const TRANSPORT_UDP: u8 = 17;
/// Transport of a [`DnsEvent`]: TCP (IANA protocol number).
pub const TRANSPORT_TCP: u8 = 6;

/// One DNS message seen on the wire, as the XDP program writes it into the
/// ring buffer and the pcap reader builds it in userspace.
///
/// Addresses are in network byte order; an IPv4 address fills the first four
/// bytes and the rest are zero. The name is the first question's QNAME in
/// wire form (length-prefixed labels ending in a zero byte), `name_len` bytes
/// long, already checked for label lengths, pointers and total length.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DnsEvent {
    /// When the packet was seen: `bpf_ktime_get_ns` (CLOCK_MONOTONIC) in the
    /// live path, nanoseconds since the UNIX epoch in the offline path.
    pub timestamp_ns: u64,
    /// Source address.
    pub src_addr: [u8; 16],
    /// Destination address.
    pub dst_addr: [u8; 16],
    /// Interface the packet arrived on (0 offline).
    pub ifindex: u32,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// DNS transaction id.
    pub txid: u16,
    /// QTYPE of the first question.
    pub qtype: u16,
    /// QCLASS of the first question.
    pub qclass: u16,
    /// ANCOUNT (responses; zero for queries).
    pub ancount: u16,
    /// Length of the wire-form name in `name`, terminating zero included.
    pub name_len: u16,
    /// [`FAMILY_IPV4`] or [`FAMILY_IPV6`].
    pub family: u8,
    /// An [`EventKind`] as `u8`.
    pub kind: u8,
    /// RCODE from the header (responses; zero for queries).
    pub rcode: u8,
    /// [`TRANSPORT_UDP`] or [`TRANSPORT_TCP`].
    pub transport: u8,
    /// Header flag bits of the message: [`FLAG_TRUNCATED`] and friends.
    pub flags: u8,
    /// Where the packet was seen: [`DIRECTION_INGRESS`] (the XDP program,
    /// and every offline packet) or [`DIRECTION_EGRESS`] (the TC program, a
    /// packet the gateway itself sent).
    pub direction: u8,
    /// The QNAME in wire form; bytes past `name_len` are unspecified.
    pub name: [u8; MAX_NAME_LEN + 1],
}

/// [`DnsEvent::flags`]: the TC bit, the message was truncated by its sender.
pub const FLAG_TRUNCATED: u8 = 1 << 0;
/// [`DnsEvent::flags`]: the AA bit, an authoritative answer.
pub const FLAG_AUTHORITATIVE: u8 = 1 << 1;
/// [`DnsEvent::flags`]: the RA bit, recursion available.
pub const FLAG_RECURSION_AVAILABLE: u8 = 1 << 2;

/// The [`DnsEvent::flags`] bits of a DNS header's flags word.
pub const fn header_flags(flags: u16) -> u8 {
    let mut out = 0;
    if flags & 0x0200 != 0 {
        out |= FLAG_TRUNCATED;
    }
    if flags & 0x0400 != 0 {
        out |= FLAG_AUTHORITATIVE;
    }
    if flags & 0x0080 != 0 {
        out |= FLAG_RECURSION_AVAILABLE;
    }
    out
}

/// [`DnsEvent::direction`]: seen arriving on an interface (XDP), or read
/// from a capture file.
pub const DIRECTION_INGRESS: u8 = 0;
/// [`DnsEvent::direction`]: seen leaving an interface (TC egress), sent by
/// the gateway itself. Packets the gateway forwards are counted where they
/// arrive, not again where they leave.
pub const DIRECTION_EGRESS: u8 = 1;

/// Bytes of a response's message after its first question that a
/// [`DnsResponseEvent`] carries: the answer section and whatever follows,
/// cut at this size (a classic 512-byte UDP answer always fits).
pub const ANSWER_BYTES: usize = 512;

/// A DNS response as the kernel programs write it into the ring: the event
/// of its first question, then the raw bytes after the question, for
/// userspace to parse the answer section (CNAME chains, addresses, TTLs).
/// Queries are written as a bare [`DnsEvent`]; the drain tells the two apart
/// by the record's length.
///
/// Compression pointers in `answers` are offsets from the start of the DNS
/// message; the message's first `12 + name_len + 4` bytes are the header and
/// the question, whose name is in `event.name`, so userspace can rebuild the
/// prefix every valid pointer can reach (pointers into the header are
/// invalid).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DnsResponseEvent {
    /// The response's header fields and first question.
    pub event: DnsEvent,
    /// Bytes copied into `answers`: the rest of the message after the
    /// question, up to the end of the packet (or of the message in a TCP
    /// stream), at most [`ANSWER_BYTES`].
    pub answers_len: u16,
    /// 1 when the message went on past the copied bytes.
    pub answers_cut: u8,
    /// Padding, always zero.
    pub _pad: [u8; 5],
    /// The copied bytes; bytes past `answers_len` are unspecified.
    pub answers: [u8; ANSWER_BYTES],
}

impl DnsResponseEvent {
    /// An all-zero response event, to be filled in.
    pub const fn zeroed() -> Self {
        Self {
            event: DnsEvent::zeroed(),
            answers_len: 0,
            answers_cut: 0,
            _pad: [0; 5],
            answers: [0; ANSWER_BYTES],
        }
    }

    /// The copied bytes after the question (clamped to the buffer).
    pub fn answer_bytes(&self) -> &[u8] {
        let len = if (self.answers_len as usize) < ANSWER_BYTES {
            self.answers_len as usize
        } else {
            ANSWER_BYTES
        };
        &self.answers[..len]
    }
}

impl DnsEvent {
    /// An all-zero event, to be filled in.
    pub const fn zeroed() -> Self {
        Self {
            timestamp_ns: 0,
            src_addr: [0; 16],
            dst_addr: [0; 16],
            ifindex: 0,
            src_port: 0,
            dst_port: 0,
            txid: 0,
            qtype: 0,
            qclass: 0,
            ancount: 0,
            name_len: 0,
            family: 0,
            kind: 0,
            rcode: 0,
            transport: 0,
            flags: 0,
            direction: 0,
            name: [0; MAX_NAME_LEN + 1],
        }
    }

    /// The wire-form name bytes (clamped to the buffer).
    pub fn wire_name(&self) -> &[u8] {
        let len = if (self.name_len as usize) < self.name.len() {
            self.name_len as usize
        } else {
            self.name.len()
        };
        &self.name[..len]
    }
}

/// Why a packet that claims to be a DNS query or response produced no event.
/// The same reasons are counted by the XDP program and by the userspace
/// packet parser, so the two can be compared frame by frame.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// The DNS header, or the question's QTYPE/QCLASS, is cut off.
    Truncated = 0,
    /// A label length has its reserved bits set or runs past the packet.
    BadLabel = 1,
    /// The name is longer than 255 bytes in wire form.
    NameTooLong = 2,
    /// A compression pointer where the question's name must be literal.
    CompressionPointer = 3,
    /// Anything else: a query without a question, a bogus TCP length.
    Other = 4,
    /// A response's answer section that cannot be read: a record cut off,
    /// a bad name, a pointer loop, more records announced than present.
    /// Counted by userspace, which parses answers; the response itself is
    /// still counted.
    Answer = 5,
}

impl ParseError {
    /// Every reason, in counter order.
    pub const ALL: [Self; 6] = [
        Self::Truncated,
        Self::BadLabel,
        Self::NameTooLong,
        Self::CompressionPointer,
        Self::Other,
        Self::Answer,
    ];

    /// Short stable name, used in reports and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::BadLabel => "bad_label",
            Self::NameTooLong => "name_too_long",
            Self::CompressionPointer => "compression_pointer",
            Self::Other => "other",
            Self::Answer => "bad_answer",
        }
    }

    /// The counter that counts this reason.
    pub const fn stat(self) -> Stat {
        match self {
            Self::Truncated => Stat::ParseTruncated,
            Self::BadLabel => Stat::ParseBadLabel,
            Self::NameTooLong => Stat::ParseNameTooLong,
            Self::CompressionPointer => Stat::ParsePointer,
            Self::Other => Stat::ParseOther,
            Self::Answer => Stat::ParseAnswer,
        }
    }
}

/// Index of each per-CPU counter in the [`STATS_MAP`] array.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// Every packet the program saw.
    Packets = 0,
    /// DNS query events written to the ring.
    Queries = 1,
    /// DNS response events written to the ring.
    Responses = 2,
    /// Events that could not be written because the ring was full.
    Lost = 3,
    /// Packets that are not DNS queries or responses (other traffic, other
    /// opcodes, non-first fragments, truncated lower-layer headers).
    Ignored = 4,
    /// Parse error: [`ParseError::Truncated`].
    ParseTruncated = 5,
    /// Parse error: [`ParseError::BadLabel`].
    ParseBadLabel = 6,
    /// Parse error: [`ParseError::NameTooLong`].
    ParseNameTooLong = 7,
    /// Parse error: [`ParseError::CompressionPointer`].
    ParsePointer = 8,
    /// Parse error: [`ParseError::Other`].
    ParseOther = 9,
    /// Parse error: [`ParseError::Answer`] (userspace only; the kernel
    /// programs copy answers without reading them).
    ParseAnswer = 10,
}

/// Number of counters in one [`StatCounters`].
pub const STAT_COUNT: u32 = 11;

/// Index in [`STATS_MAP`] of the XDP (ingress) program's counters.
pub const STATS_INGRESS: u32 = 0;
/// Index in [`STATS_MAP`] of the TC egress program's counters.
pub const STATS_EGRESS: u32 = 1;
/// Entries of [`STATS_MAP`]: one [`StatCounters`] per direction.
pub const STATS_ENTRIES: u32 = 2;
/// Name of the TC egress program in the eBPF object.
pub const EGRESS_PROGRAM_NAME: &str = "dnsrare_egress";

/// The per-CPU value of [`STATS_MAP`] (one entry): every counter, so one
/// lookup reaches all of them (a non-DNS packet costs a single lookup) and
/// userspace reads them in one system call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatCounters {
    /// Indexed by [`Stat`].
    pub counts: [u64; STAT_COUNT as usize],
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: `DnsEvent` is `repr(C)`, holds only integers and byte arrays,
    // and has no implicit padding (checked by the size assertion below), so
    // every bit pattern is a valid value.
    unsafe impl aya::Pod for super::DnsEvent {}
    // SAFETY: as above: `repr(C)`, integers and byte arrays, no padding
    // (size assertion below).
    unsafe impl aya::Pod for super::DnsResponseEvent {}
    // SAFETY: as above: `repr(C)`, only `u64`s, no padding.
    unsafe impl aya::Pod for super::StatCounters {}
}

const _: () = assert!(core::mem::size_of::<DnsEvent>() == 320);
const _: () = assert!(core::mem::size_of::<DnsResponseEvent>() == 320 + 8 + ANSWER_BYTES);
const _: () = assert!(core::mem::size_of::<StatCounters>() == 8 * STAT_COUNT as usize);
