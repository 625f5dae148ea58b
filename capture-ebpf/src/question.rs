//! The DNS part: header checks, the walk over the first question's name,
//! and filling the ring-buffer event.
//!
//! The checks and their order match `capture_user::packet`, the userspace
//! parser of the offline path, so that both give the same event or the same
//! parse-error reason for the same frame.

use aya_ebpf::{
    check_bounds_signed,
    helpers::{bpf_ktime_get_ns, generated::bpf_xdp_load_bytes},
    programs::XdpContext,
};
use capture_common::{
    DNS_HEADER_LEN, DNS_PORT, DnsEvent, EventKind, FAMILY_IPV4, MAX_LABEL_LEN, MAX_LABELS,
    MAX_NAME_LEN, ParseError, Stat,
};

use crate::packet::{Datagram, be16_at, byte_at, udp_datagram};

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

/// Classifies the packet in `ctx`.
#[inline(always)]
pub fn inspect(ctx: &XdpContext) -> Outcome {
    let Some(datagram) = udp_datagram(ctx) else {
        return Outcome::Ignored;
    };
    let to_dns = datagram.dst_port == DNS_PORT;
    let from_dns = datagram.src_port == DNS_PORT;
    if !to_dns && !from_dns {
        return Outcome::Ignored;
    }
    let dns = datagram.payload;
    // ARCOUNT closes the fixed header: if it is there, the header is whole.
    let (Some(txid), Some(flags), Some(qdcount), Some(ancount), Some(_)) = (
        be16_at(ctx, dns),
        be16_at(ctx, dns + 2),
        be16_at(ctx, dns + 4),
        be16_at(ctx, dns + 6),
        be16_at(ctx, dns + DNS_HEADER_LEN - 2),
    ) else {
        return Outcome::Invalid(ParseError::Truncated);
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
    if qdcount == 0 {
        return match kind {
            EventKind::Query => Outcome::Invalid(ParseError::Other),
            // Some servers answer FORMERR without echoing the question.
            EventKind::Response => Outcome::Ignored,
        };
    }
    let name_offset = dns + DNS_HEADER_LEN;
    let name_len = match name_length(ctx, name_offset) {
        Ok(len) => len,
        Err(reason) => return Outcome::Invalid(reason),
    };
    let (Some(qtype), Some(qclass)) = (
        be16_at(ctx, name_offset + name_len),
        be16_at(ctx, name_offset + name_len + 2),
    ) else {
        return Outcome::Invalid(ParseError::Truncated);
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

/// Reads `N` bytes at `off` with one bounds check.
#[inline(always)]
fn bytes_at<const N: usize>(ctx: &XdpContext, off: usize) -> Option<[u8; N]> {
    let start = ctx.data();
    let end = ctx.data_end();
    let ptr = start + off;
    if core::hint::black_box(ptr + N) > end {
        return None;
    }
    // SAFETY: `ptr + N <= data_end`, checked just above.
    Some(unsafe { (ptr as *const [u8; N]).read_unaligned() })
}

/// Writes the event for `found` into `event`. Returns false if a packet
/// read failed (the caller then discards the entry).
///
/// # Safety
/// `event` must point at a reserved, writable ring-buffer entry.
#[inline(always)]
pub unsafe fn fill(ctx: &XdpContext, found: &Found, event: *mut DnsEvent) -> bool {
    let d = &found.datagram;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    if d.family == FAMILY_IPV4 {
        let (Some(s), Some(t)) = (
            bytes_at::<4>(ctx, d.l3_offset + 12),
            bytes_at::<4>(ctx, d.l3_offset + 16),
        ) else {
            return false;
        };
        src[..4].copy_from_slice(&s);
        dst[..4].copy_from_slice(&t);
    } else {
        let (Some(s), Some(t)) = (
            bytes_at::<16>(ctx, d.l3_offset + 8),
            bytes_at::<16>(ctx, d.l3_offset + 24),
        ) else {
            return false;
        };
        src = s;
        dst = t;
    }
    // SAFETY: the caller hands us a valid entry; every field is written
    // through the raw pointer without creating a reference to uninit memory.
    unsafe {
        (*event).timestamp_ns = bpf_ktime_get_ns();
        (*event).src_addr = src;
        (*event).dst_addr = dst;
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
        (*event)._pad = [0; 2];
    }
    let len = found.name_len as i64;
    if !check_bounds_signed(len, 1, MAX_NAME_LEN as i64) {
        return false;
    }
    // SAFETY: `name` has room for MAX_NAME_LEN + 1 bytes and `len` is at most
    // MAX_NAME_LEN; the helper checks the packet range itself.
    let copied = unsafe {
        bpf_xdp_load_bytes(
            ctx.ctx,
            found.name_offset as u32,
            (*event).name.as_mut_ptr().cast(),
            len as u32,
        )
    };
    copied == 0
}
