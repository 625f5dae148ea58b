//! The DNS part: header checks, the walk over the first question's name,
//! and filling the ring-buffer event (for a response, with the bytes after
//! its question).
//!
//! The checks and their order match `capture_user::packet`, the userspace
//! parser of the offline path, so that both give the same event or the same
//! parse-error reason for the same frame.

use aya_ebpf::{check_bounds_signed, helpers::generated::bpf_ktime_get_coarse_ns};
use capture_common::{
    ANSWER_BYTES, DNS_HEADER_LEN, DNS_PORT, DnsEvent, DnsResponseEvent, EventKind, MAX_LABEL_LEN,
    MAX_LABELS, MAX_NAME_LEN, ParseError, Stat, header_flags,
};

use crate::frame_parser::{Datagram, Packet, be16_at, byte_at};

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
    /// Offset one past the message's last byte as its framing declares it:
    /// the end of the packet for a datagram, the length prefix's end in a
    /// stream (possibly past the end of this segment).
    message_end: usize,
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
    /// Whether this is a response (written with its answer bytes).
    pub fn is_response(&self) -> bool {
        matches!(self.kind, EventKind::Response)
    }

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

/// Classifies the DNS message at offset `dns` of the packet in `ctx`, which
/// ends at `message_end` (see [`Found`]).
///
/// In a TCP segment a message that does not look like the start of a DNS
/// message (a cut header, QDCOUNT other than 1) is ignored, not refused: it
/// is more likely the middle of a stream than a malformed query. So is a
/// question cut off where the message continues in the next segment.
#[inline(always)]
pub fn inspect<P: Packet>(
    ctx: &P,
    datagram: &Datagram,
    dns: usize,
    message_end: usize,
    framing: Framing,
) -> Outcome {
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
        message_end,
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
fn name_length<P: Packet>(ctx: &P, start: usize) -> Result<usize, ParseError> {
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

/// Writes the event for `found` into `event`. Returns false if a packet
/// read failed (the caller then discards the entry).
///
/// # Safety
/// `event` must point at a reserved, writable ring-buffer entry.
#[inline(always)]
pub unsafe fn fill<P: Packet>(ctx: &P, found: &Found, event: *mut DnsEvent) -> bool {
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
        (*event).ifindex = ctx.ifindex();
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
        (*event).direction = P::DIRECTION;
    }
    let len = found.name_len as i64;
    if !check_bounds_signed(len, 1, MAX_NAME_LEN as i64) {
        return false;
    }
    // SAFETY: `name` has room for MAX_NAME_LEN + 1 bytes and `len` is at most
    // MAX_NAME_LEN.
    unsafe {
        ctx.load_bytes(
            found.name_offset,
            (&raw mut (*event).name).cast(),
            len as u32,
        )
    }
}

/// Writes the bytes of the response `found` after its first question into
/// `event`: up to [`ANSWER_BYTES`] of them, to the end of the message or
/// of the packet, whichever comes first, with their count and whether the
/// message went on past them (as `capture_core`'s twin parser does). The
/// bytes are copied, not read: userspace parses them. Returns false if the
/// copy failed (the caller then discards the entry).
///
/// # Safety
/// `event` must point at a reserved, writable ring-buffer entry.
#[inline(always)]
pub unsafe fn fill_answers<P: Packet>(
    ctx: &P,
    found: &Found,
    event: *mut DnsResponseEvent,
) -> bool {
    let start = found.name_offset + found.name_len + 4;
    let packet_end = ctx.data_end() - ctx.data();
    let end = found.message_end.min(packet_end);
    let copied = end.saturating_sub(start).min(ANSWER_BYTES);
    // SAFETY: the caller hands us a valid entry; plain field writes.
    unsafe {
        (*event).answers_len = copied as u16;
        (*event).answers_cut = u8::from(found.message_end > start + copied);
        (*event)._pad = [0; 5];
    }
    if copied == 0 {
        return true;
    }
    // The helper wants a length the verifier can bound away from zero
    // (TOOLCHAIN.md): one variable-length copy, not a byte loop.
    let len = copied as i64;
    if !check_bounds_signed(len, 1, ANSWER_BYTES as i64) {
        return false;
    }
    // SAFETY: `answers` has room for ANSWER_BYTES bytes and `len` is at
    // most that.
    unsafe { ctx.load_bytes(start, (&raw mut (*event).answers).cast(), len as u32) }
}
