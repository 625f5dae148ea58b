//! The DNS part: header checks, the walk over the first question's name,
//! and filling the ring-buffer event.
//!
//! The checks and their order match `capture_user::packet`, the userspace
//! parser of the offline path, so that both give the same event or the same
//! parse-error reason for the same frame.

use aya_ebpf::{
    check_bounds_signed,
    helpers::generated::{bpf_ktime_get_coarse_ns, bpf_xdp_load_bytes},
    programs::XdpContext,
};
use capture_common::{
    DIRECTION_INGRESS, DNS_HEADER_LEN, DNS_PORT, DnsEvent, EventKind, MAX_LABEL_LEN, MAX_LABELS,
    MAX_NAME_LEN, ParseError, Stat, header_flags,
};

use crate::frame_parser::{Datagram, be16_at, byte_at};

/// What one packet turned out to be.
pub enum Outcome {
    /// Not a DNS query or response: other traffic, other opcodes, fragments.
    Ignored,
    /// A DNS message that cannot be used, and why.
    Invalid(ParseError),
    /// A DNS query or response whose first question checked out.
    Dns(Found),
}

/// A checked DNS message: where its parts are and the header fields.
pub struct Found {
    datagram: Datagram,
    kind: EventKind,
    name_offset: usize,
    /// Wire length of the name, terminating zero included (1..=255).
    name_len: usize,
    txid: u16,
    flags: u16,
    ancount: u16,
    qtype: u16,
    qclass: u16,
}

impl Found {
    /// The counter this message is counted under once it is in the ring.
    pub fn stat(&self) -> Stat {
        match self.kind {
            EventKind::Query => Stat::Queries,
            EventKind::Response => Stat::Responses,
        }
    }
}

/// Where a DNS message sits in the packet.
#[derive(Clone, Copy)]
pub enum Framing {
    /// The whole UDP payload.
    Datagram,
    /// One message of a TCP stream; `cut` when its declared length runs
    /// past the end of this segment (the rest is in later segments).
    Stream {
        /// The message continues beyond this packet.
        cut: bool,
    },
}

/// Classifies the DNS message at offset `dns` of the packet in `ctx`.
///
/// In a TCP segment a message that does not look like the start of a DNS
/// message (a cut header, QDCOUNT other than 1) is ignored, not refused: it
/// is more likely the middle of a stream than a malformed query. So is a
/// question cut off where the message continues in the next segment.
#[inline(always)]
pub fn inspect(ctx: &XdpContext, datagram: &Datagram, dns: usize, framing: Framing) -> Outcome {
    let datagram = *datagram;
    let stream_cut = matches!(framing, Framing::Stream { cut: true });
    let is_stream = matches!(framing, Framing::Stream { .. });
    let to_dns = datagram.dst_port == DNS_PORT;
    let from_dns = datagram.src_port == DNS_PORT;
    if !to_dns && !from_dns {
        return Outcome::Ignored;
    }
    // ARCOUNT closes the fixed header: if it is there, the header is whole.
    let (Some(txid), Some(flags), Some(qdcount), Some(ancount), Some(_)) = (
        be16_at(ctx, dns),
        be16_at(ctx, dns + 2),
        be16_at(ctx, dns + 4),
        be16_at(ctx, dns + 6),
        be16_at(ctx, dns + DNS_HEADER_LEN - 2),
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
            // Some servers answer FORMERR without echoing the question.
            EventKind::Response => Outcome::Ignored,
        };
    }
    let name_offset = dns + DNS_HEADER_LEN;
    let cut_short = |reason| match reason {
        ParseError::Truncated | ParseError::BadLabel if stream_cut => Outcome::Ignored,
        reason => Outcome::Invalid(reason),
    };
    let name_len = match name_length(ctx, name_offset) {
        Ok(len) => len,
        Err(reason) => return cut_short(reason),
    };
    let (Some(qtype), Some(qclass)) = (
        be16_at(ctx, name_offset + name_len),
        be16_at(ctx, name_offset + name_len + 2),
    ) else {
        return cut_short(ParseError::Truncated);
    };
    Outcome::Dns(Found {
        datagram,
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

/// Walks the labels of the name at `start` and returns its wire length,
/// terminating zero included, or why it is not a usable question name.
#[inline(always)]
fn name_length(ctx: &XdpContext, start: usize) -> Result<usize, ParseError> {
    // Bytes of the name before the current label; bounded below
    // MAX_NAME_LEN so the verifier sees every offset bounded.
    let mut used = 0usize;
    for _ in 0..MAX_LABELS {
        let Some(len) = byte_at(ctx, start + used) else {
            // Nothing at all where the question starts: the message is cut
            // off; anywhere later a label ran past the end of the packet.
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
        // With the terminating zero the name would be at least used + 1.
        if used >= MAX_NAME_LEN {
            return Err(ParseError::NameTooLong);
        }
    }
    Err(ParseError::NameTooLong)
}

/// Copies `len` packet bytes at `offset` to `dst` with the kernel helper,
/// which checks the range itself; true on success.
///
/// # Safety
/// `dst` must be valid for `len` bytes of writes.
#[inline(always)]
unsafe fn load(ctx: &XdpContext, offset: usize, dst: *mut u8, len: u32) -> bool {
    // SAFETY: the caller guarantees `dst`; the helper bounds the read.
    unsafe { bpf_xdp_load_bytes(ctx.ctx, offset as u32, dst.cast(), len) == 0 }
}

/// Writes the event for `found` into `event`. Returns false if a packet
/// read failed (the caller then discards the entry).
///
/// # Safety
/// `event` must point at a reserved, writable ring-buffer entry.
#[inline(always)]
pub unsafe fn fill(ctx: &XdpContext, found: &Found, event: *mut DnsEvent) -> bool {
    let d = &found.datagram;
    // SAFETY: the caller hands us a valid entry; every field is written
    // through the raw pointer without creating a reference to uninit memory.
    // The addresses were read with the headers, before the name walk:
    // reading them here, after it, multiplied the verifier's states.
    unsafe {
        // A coarse clock (about a tick) is plenty for first/last seen and
        // beacon periods, and cheaper to read.
        (*event).timestamp_ns = bpf_ktime_get_coarse_ns();
        let src = (&raw mut (*event).src_addr).cast::<u64>();
        let dst = (&raw mut (*event).dst_addr).cast::<u64>();
        src.write_unaligned(d.addrs[0]);
        src.add(1).write_unaligned(d.addrs[1]);
        dst.write_unaligned(d.addrs[2]);
        dst.add(1).write_unaligned(d.addrs[3]);
        (*event).ifindex = ctx.ingress_ifindex() as u32;
        (*event).src_port = d.src_port;
        (*event).dst_port = d.dst_port;
        (*event).txid = found.txid;
        (*event).qtype = found.qtype;
        (*event).qclass = found.qclass;
        (*event).ancount = found.ancount;
        (*event).name_len = found.name_len as u16;
        (*event).family = d.family;
        (*event).kind = found.kind as u8;
        (*event).rcode = (found.flags & 0x0f) as u8;
        (*event).transport = d.transport;
        (*event).flags = header_flags(found.flags);
        (*event).direction = DIRECTION_INGRESS;
    }
    let len = found.name_len as i64;
    if !check_bounds_signed(len, 1, MAX_NAME_LEN as i64) {
        return false;
    }
    // SAFETY: `name` has room for MAX_NAME_LEN + 1 bytes and `len` is at most
    // MAX_NAME_LEN.
    unsafe {
        load(
            ctx,
            found.name_offset,
            (&raw mut (*event).name).cast(),
            len as u32,
        )
    }
}
