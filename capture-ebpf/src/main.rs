//! The dnsrare XDP program and its TC egress twin.
//!
//! The XDP program (`dnsrare`) sees what arrives on an interface; the TC
//! classifier (`dnsrare_egress`) sees what the gateway itself sends out of
//! it (its resolver's answers, its own upstream queries) and leaves packets
//! it forwards alone: those were seen where they arrived. Both share the
//! frame parser, the ring and the counter map (one entry per direction).
//!
//! For every packet: walk Ethernet (up to two VLAN tags), IPv4 or IPv6 (with
//! a bounded chain of extension headers) and UDP or TCP; for each DNS query
//! to port 53 or response from port 53 in it (one per UDP datagram, up to
//! [`MAX_STREAM_MESSAGES`] length-prefixed messages per TCP segment), check
//! the first question's name and copy it, with the addresses, ports and
//! header fields, into one [`DnsEvent`] in the `EVENTS` ring buffer (a
//! response as a [`DnsResponseEvent`], with up to
//! [`capture_common::ANSWER_BYTES`] bytes
//! after its question for userspace to parse the answers). Every
//! packet is counted in the per-CPU `STATS` array: under `Packets`, and
//! under `Ignored` or once per DNS message it held (emitted, lost, or a
//! parse error by reason).
//!
//! The programs never block and never fail a packet: in gateway mode every
//! packet gets `XDP_PASS`, parsed or not; in mirror mode every packet gets
//! `XDP_DROP` after it has been looked at. The classifier always returns
//! `TC_ACT_UNSPEC`: the packet goes on, and so does the next classifier on
//! the interface, as if ours were not there.
#![no_std]
#![no_main]

mod frame_parser;
mod question;

use aya_ebpf::{
    bindings::{
        BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, TC_ACT_UNSPEC, xdp_action,
    },
    macros::{classifier, map, xdp},
    maps::{PerCpuArray, RingBuf},
    programs::{TcContext, XdpContext},
};
use capture_common::{
    DEFAULT_RING_BYTES, DNS_HEADER_LEN, DnsEvent, DnsResponseEvent, MAX_STREAM_MESSAGES,
    MAX_STREAM_OFFSET, STATS_ENTRIES, Stat, StatCounters, TRANSPORT_UDP,
};

use aya_log_ebpf::warn;

use crate::{
    frame_parser::{Datagram, Packet, be16_at},
    question::{Found, Framing, Outcome},
};

/// Events for userspace; resized by the loader (`--ring-size`).
#[map(name = "EVENTS")]
static EVENTS: RingBuf = RingBuf::with_byte_size(DEFAULT_RING_BYTES, 0);

/// Per-CPU counters: one entry holding all of them per direction
/// (`STATS_INGRESS` for the XDP program, `STATS_EGRESS` for the classifier).
#[map(name = "STATS")]
static STATS: PerCpuArray<StatCounters> = PerCpuArray::with_max_entries(STATS_ENTRIES, 0);

/// Mirror mode switch, written by the loader before the program is verified
/// (`capture_common::MIRROR_GLOBAL`); 0 means gateway mode.
#[unsafe(no_mangle)]
static DNSRARE_MIRROR: u32 = 0;

/// Unread bytes in the ring at which a submit wakes the drain
/// (`capture_common::WAKEUP_GLOBAL`), written by the loader.
#[unsafe(no_mangle)]
static DNSRARE_WAKEUP_BYTES: u64 = 0;

#[xdp]
pub fn dnsrare(ctx: XdpContext) -> u32 {
    match frame_parser::datagram(&ctx) {
        // Most packets: one counter lookup for both counts.
        None => count::<XdpContext>(&[Stat::Packets, Stat::Ignored]),
        Some(d) => dns(&ctx, &d),
    }
    // SAFETY: a plain read of a global the loader may have rewritten; the
    // volatile read keeps the compiler from folding in the initial value.
    if unsafe { core::ptr::read_volatile(&DNSRARE_MIRROR) } == 0 {
        xdp_action::XDP_PASS
    } else {
        xdp_action::XDP_DROP
    }
}

/// The egress classifier: the same parse as [`dnsrare`] over what leaves
/// the interface, counted under `STATS_EGRESS`, for packets the gateway
/// itself sends. A packet it forwards (`ingress_ifindex` set: it came in on
/// some interface) is counted as ignored: it was seen where it arrived.
#[classifier]
pub fn dnsrare_egress(ctx: TcContext) -> i32 {
    // SAFETY: a field of the context the kernel handed the program.
    if unsafe { (*ctx.skb.skb).ingress_ifindex } != 0 {
        count::<TcContext>(&[Stat::Packets, Stat::Ignored]);
        return TC_ACT_UNSPEC;
    }
    match frame_parser::datagram(&ctx) {
        None => count::<TcContext>(&[Stat::Packets, Stat::Ignored]),
        Some(d) => {
            // Headers of a packet built on this host sit in the linear
            // area; a DNS message may not (paged TCP data). Pull only then:
            // the pull may copy the packet.
            let len = ctx.len();
            if ctx.data_end() - ctx.data() < len as usize {
                // On failure the linear part is parsed as it is: a cut
                // message is counted as such, never misread.
                let _ = ctx.pull_data(len);
            }
            dns(&ctx, &d);
        }
    }
    TC_ACT_UNSPEC
}

/// Counts a packet with a UDP or TCP header to or from port 53 and looks
/// at the DNS messages in it.
#[inline(always)]
fn dns<P: Packet>(ctx: &P, d: &Datagram) {
    count::<P>(&[Stat::Packets]);
    if d.transport == TRANSPORT_UDP {
        let end = ctx.data_end() - ctx.data();
        record(
            ctx,
            question::inspect(ctx, d, d.payload, end, Framing::Datagram),
        );
    } else {
        stream(ctx, d);
    }
}

/// A trivial program that passes every packet and does nothing else: the
/// baseline of the XDP cost benchmark (`cargo xtask bench`). Never loaded
/// by the daemon.
#[xdp]
pub fn dnsrare_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// A trivial classifier that lets every packet go on: the baseline of the
/// TC cost benchmark (`cargo xtask bench`). Never loaded by the daemon.
#[classifier]
pub fn dnsrare_tc_pass(_ctx: TcContext) -> i32 {
    TC_ACT_UNSPEC
}

/// Looks at the length-prefixed DNS messages at the start of a TCP
/// segment's payload.
#[inline(always)]
fn stream<P: Packet>(ctx: &P, d: &Datagram) {
    let packet_len = ctx.data_end() - ctx.data();
    let mut offset = d.payload;
    let mut seen = false;
    for _ in 0..MAX_STREAM_MESSAGES {
        let Some(len) = be16_at(ctx, offset) else {
            break;
        };
        let len = usize::from(len);
        if len < DNS_HEADER_LEN {
            break;
        }
        let end = offset + 2 + len;
        let cut = end > packet_len;
        match question::inspect(ctx, d, offset + 2, end, Framing::Stream { cut }) {
            Outcome::Ignored => break,
            outcome => record(ctx, outcome),
        }
        seen = true;
        offset += 2 + len;
        if cut || offset > MAX_STREAM_OFFSET {
            break;
        }
    }
    if !seen {
        count::<P>(&[Stat::Ignored]);
    }
}

/// This CPU's counters for `P`'s direction.
#[inline(always)]
fn counters<P: Packet>() -> Option<*mut StatCounters> {
    STATS.get_ptr_mut(P::STATS_INDEX)
}

/// Adds one to each of a few per-CPU counters of `P`'s direction.
#[inline(always)]
fn count<P: Packet>(stats: &[Stat]) {
    if let Some(c) = counters::<P>() {
        for &stat in stats {
            // SAFETY: the pointer comes from the map lookup and is this
            // CPU's slot of this direction; neither program nests on one
            // CPU, so nothing races us.
            unsafe { (*c).counts[stat as usize] += 1 };
        }
    }
}

/// Bytes a record of `T` takes in the ring (the kernel adds an 8-byte
/// header).
const fn record_bytes<T>() -> u64 {
    core::mem::size_of::<T>() as u64 + 8
}

/// The submit flag. A wake-up of the drain costs an interrupt (a VM exit on
/// a virtual machine) every time the drain has caught up, so events are
/// submitted quietly and the drain polls every few milliseconds; the event
/// that takes the unread bytes past the loader's threshold wakes it at
/// once, so a burst is drained long before the ring fills. (Waking on every
/// event above the threshold would make a busy ring dearer still.) If two
/// CPUs step over the window together, the drain's next poll catches up.
#[inline(always)]
fn wakeup_flag<T>() -> u64 {
    // SAFETY: a plain read of a global the loader has set, as for the mode.
    let threshold = unsafe { core::ptr::read_volatile(&DNSRARE_WAKEUP_BYTES) };
    let unread = EVENTS.query(u64::from(BPF_RB_AVAIL_DATA));
    if unread >= threshold && unread < threshold + record_bytes::<T>() {
        u64::from(BPF_RB_FORCE_WAKEUP)
    } else {
        u64::from(BPF_RB_NO_WAKEUP)
    }
}

/// Counts one lost event; true when it is this CPU's first.
#[inline(always)]
fn count_lost<P: Packet>() -> bool {
    counters::<P>().is_some_and(|c| {
        // SAFETY: as in `count`.
        let lost = unsafe { &mut (*c).counts[Stat::Lost as usize] };
        *lost += 1;
        *lost == 1
    })
}

/// Counts a parse error or emits the event of a DNS message.
#[inline(always)]
fn record<P: Packet>(ctx: &P, outcome: Outcome) {
    match outcome {
        Outcome::Ignored => count::<P>(&[Stat::Ignored]),
        Outcome::Invalid(reason) => count::<P>(&[reason.stat()]),
        Outcome::Dns(found) if found.is_response() => emit_response(ctx, &found),
        Outcome::Dns(found) => emit_query(ctx, &found),
    }
}

/// Counts one lost event, and says so once per CPU.
#[inline(always)]
fn lost<P: Packet>(ctx: &P) {
    // Counted, and shown in every report; said once per CPU.
    if count_lost::<P>() {
        warn!(
            ctx,
            "ring buffer full: DNS events are being lost (counted; see dnsrare stats)"
        );
    }
}

/// Reserves a ring entry for a checked query and fills it in, or counts it
/// as lost when the ring is full. A query is a bare [`DnsEvent`]: the
/// answer bytes cost responses only.
#[inline(always)]
fn emit_query<P: Packet>(ctx: &P, found: &Found) {
    let Some(mut entry) = EVENTS.reserve::<DnsEvent>(0) else {
        lost(ctx);
        return;
    };
    // SAFETY: the pointer is a reserved ring entry of the right size and
    // alignment; `fill` writes every field userspace reads.
    if unsafe { question::fill(ctx, found, entry.as_mut_ptr()) } {
        entry.submit(wakeup_flag::<DnsEvent>());
        count::<P>(&[found.stat()]);
    } else {
        // The bounded copy of the name failed; the name was already checked
        // against the packet, so this does not happen in practice, but the
        // entry must never reach userspace half-written.
        entry.discard(0);
        count::<P>(&[Stat::ParseOther]);
    }
}

/// Reserves a ring entry for a checked response and fills it in with the
/// bytes after its question, or counts it as lost when the ring is full.
#[inline(always)]
fn emit_response<P: Packet>(ctx: &P, found: &Found) {
    let Some(mut entry) = EVENTS.reserve::<DnsResponseEvent>(0) else {
        lost(ctx);
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: as in `emit_query`; `fill` writes the event part and
    // `fill_answers` the rest.
    let filled = unsafe {
        question::fill(ctx, found, &raw mut (*event).event)
            && question::fill_answers(ctx, found, event)
    };
    if filled {
        entry.submit(wakeup_flag::<DnsResponseEvent>());
        count::<P>(&[found.stat()]);
    } else {
        // As for queries: both copies are of ranges checked against the
        // packet, but never submit a half-written entry.
        entry.discard(0);
        count::<P>(&[Stat::ParseOther]);
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // An endless loop: any panic path that survives optimisation makes the
    // program fail verification ("last insn is not an exit or jmp"), so a
    // loaded program is one without panics.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
