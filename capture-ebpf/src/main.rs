//! The dnsrare XDP program.
//!
//! For every packet: walk Ethernet (up to two VLAN tags), IPv4 or IPv6 (with
//! a bounded chain of extension headers) and UDP or TCP; for each DNS query
//! to port 53 or response from port 53 in it (one per UDP datagram, up to
//! [`MAX_STREAM_MESSAGES`] length-prefixed messages per TCP segment), check
//! the first question's name and copy it, with the addresses, ports and
//! header fields, into one [`DnsEvent`] in the `EVENTS` ring buffer. Every
//! packet is counted in the per-CPU `STATS` array: under `Packets`, and
//! under `Ignored` or once per DNS message it held (emitted, lost, or a
//! parse error by reason).
//!
//! The program never blocks and never fails a packet: in gateway mode every
//! packet gets `XDP_PASS`, parsed or not; in mirror mode every packet gets
//! `XDP_DROP` after it has been looked at.
#![no_std]
#![no_main]

mod frame_parser;
mod question;

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, xdp_action},
    macros::{map, xdp},
    maps::{PerCpuArray, RingBuf},
    programs::XdpContext,
};
use capture_common::{
    DEFAULT_RING_BYTES, DNS_HEADER_LEN, DnsEvent, MAX_STREAM_MESSAGES, MAX_STREAM_OFFSET, Stat,
    StatCounters, TRANSPORT_UDP,
};

use aya_log_ebpf::warn;

use crate::{
    frame_parser::{Datagram, be16_at},
    question::{Framing, Outcome},
};

/// Events for userspace; resized by the loader (`--ring-size`).
#[map(name = "EVENTS")]
static EVENTS: RingBuf = RingBuf::with_byte_size(DEFAULT_RING_BYTES, 0);

/// Per-CPU counters: one entry holding all of them.
#[map(name = "STATS")]
static STATS: PerCpuArray<StatCounters> = PerCpuArray::with_max_entries(1, 0);

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
        None => count(&[Stat::Packets, Stat::Ignored]),
        Some(d) if d.transport == TRANSPORT_UDP => {
            count(&[Stat::Packets]);
            record(
                &ctx,
                question::inspect(&ctx, &d, d.payload, Framing::Datagram),
            );
        }
        Some(d) => {
            count(&[Stat::Packets]);
            stream(&ctx, &d);
        }
    }
    // SAFETY: a plain read of a global the loader may have rewritten; the
    // volatile read keeps the compiler from folding in the initial value.
    if unsafe { core::ptr::read_volatile(&DNSRARE_MIRROR) } == 0 {
        xdp_action::XDP_PASS
    } else {
        xdp_action::XDP_DROP
    }
}

/// A trivial program that passes every packet and does nothing else: the
/// baseline of the XDP cost benchmark (`cargo xtask bench`). Never loaded
/// by the daemon.
#[xdp]
pub fn dnsrare_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// Looks at the length-prefixed DNS messages at the start of a TCP
/// segment's payload.
#[inline(always)]
fn stream(ctx: &XdpContext, d: &Datagram) {
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
        let cut = offset + 2 + len > packet_len;
        match question::inspect(ctx, d, offset + 2, Framing::Stream { cut }) {
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
        count(&[Stat::Ignored]);
    }
}

/// This CPU's counters.
#[inline(always)]
fn counters() -> Option<*mut StatCounters> {
    STATS.get_ptr_mut(0)
}

/// Adds one to each of a few per-CPU counters.
#[inline(always)]
fn count(stats: &[Stat]) {
    if let Some(c) = counters() {
        for &stat in stats {
            // SAFETY: the pointer comes from the map lookup and is this
            // CPU's slot; XDP programs do not nest on one CPU, so nothing
            // races us.
            unsafe { (*c).counts[stat as usize] += 1 };
        }
    }
}

/// Bytes one event takes in the ring (the kernel adds an 8-byte header).
const RECORD_BYTES: u64 = core::mem::size_of::<DnsEvent>() as u64 + 8;

/// The submit flag. A wake-up of the drain costs an interrupt (a VM exit on
/// a virtual machine) every time the drain has caught up, so events are
/// submitted quietly and the drain polls every few milliseconds; the event
/// that takes the unread bytes past the loader's threshold wakes it at
/// once, so a burst is drained long before the ring fills. (Waking on every
/// event above the threshold would make a busy ring dearer still.) If two
/// CPUs step over the window together, the drain's next poll catches up.
#[inline(always)]
fn wakeup_flag() -> u64 {
    // SAFETY: a plain read of a global the loader has set, as for the mode.
    let threshold = unsafe { core::ptr::read_volatile(&DNSRARE_WAKEUP_BYTES) };
    let unread = EVENTS.query(u64::from(BPF_RB_AVAIL_DATA));
    if unread >= threshold && unread < threshold + RECORD_BYTES {
        u64::from(BPF_RB_FORCE_WAKEUP)
    } else {
        u64::from(BPF_RB_NO_WAKEUP)
    }
}

/// Counts one lost event; true when it is this CPU's first.
#[inline(always)]
fn count_lost() -> bool {
    counters().is_some_and(|c| {
        // SAFETY: as in `count`.
        let lost = unsafe { &mut (*c).counts[Stat::Lost as usize] };
        *lost += 1;
        *lost == 1
    })
}

/// Counts a parse error or emits the event of a DNS message.
#[inline(always)]
fn record(ctx: &XdpContext, outcome: Outcome) {
    match outcome {
        Outcome::Ignored => count(&[Stat::Ignored]),
        Outcome::Invalid(reason) => count(&[reason.stat()]),
        Outcome::Dns(found) => emit(ctx, &found),
    }
}

/// Reserves a ring entry for a checked DNS message and fills it in, or
/// counts it as lost when the ring is full.
#[inline(always)]
fn emit(ctx: &XdpContext, found: &question::Found) {
    let Some(mut entry) = EVENTS.reserve::<DnsEvent>(0) else {
        // Counted, and shown in every report; said once per CPU.
        if count_lost() {
            warn!(
                ctx,
                "ring buffer full: DNS events are being lost (counted; see dnsrare stats)"
            );
        }
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at a reserved ring entry of the right size and
    // alignment; `fill` writes every field userspace reads.
    if unsafe { question::fill(ctx, found, event) } {
        entry.submit(wakeup_flag());
        count(&[found.stat()]);
    } else {
        // The bounded copy of the name failed; the name was already checked
        // against the packet, so this does not happen in practice, but the
        // entry must never reach userspace half-written.
        entry.discard(0);
        count(&[Stat::ParseOther]);
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
