//! The drain thread: empties the XDP program's ring buffer, decodes each
//! event and hands it to the engine's dispatcher.

use std::{
    os::fd::AsRawFd,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use aya::maps::{MapData, RingBuf};
use capture_common::{ANSWER_BYTES, DnsEvent, DnsResponseEvent, ParseError};

use dnsrare_core::{
    engine::{Dispatcher, EngineError},
    ingest::{
        answers::AnswerBytes,
        observation::{Answered, EventDecoder},
    },
    model::capture::ParseErrorCounts,
};

use super::{exporter::WindowTap, loader::ProgramLogger};

/// How long one wait for new events lasts: the program wakes the drain only
/// when the ring fills up, so this bounds how long an event waits.
const POLL_MS: i32 = 10;

/// Events the drain could not decode, by reason; shared with the server.
#[derive(Debug, Default)]
pub struct DecodeErrors {
    counts: [AtomicU64; ParseError::ALL.len()],
}

impl DecodeErrors {
    /// Counts one failed decode.
    pub fn add(&self, reason: ParseError) {
        self.counts[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Starts from counts carried over from an earlier run.
    pub fn starting_at(counts: &ParseErrorCounts) -> Self {
        let errors = Self::default();
        for reason in ParseError::ALL {
            errors.counts[reason as usize].store(counts.get(reason), Ordering::Relaxed);
        }
        errors
    }

    /// The counts so far.
    pub fn snapshot(&self) -> ParseErrorCounts {
        let mut out = ParseErrorCounts::default();
        for reason in ParseError::ALL {
            *out.get_mut(reason) = self.counts[reason as usize].load(Ordering::Relaxed);
        }
        out
    }
}

/// Drains `ring` into `dispatcher` (and `tap`, when exporting) until
/// `stop` is set and the ring is empty. Set `stop` only after the program
/// is detached, so nothing arrives after the last drain.
pub fn run(
    mut ring: RingBuf<MapData>,
    mut logger: Option<ProgramLogger>,
    mut dispatcher: Dispatcher,
    errors: Arc<DecodeErrors>,
    mut tap: Option<WindowTap>,
    stop: Arc<AtomicBool>,
) -> Result<(), EngineError> {
    let mut decoder = EventDecoder::new(monotonic_to_wall_offset());
    loop {
        let stopping = stop.load(Ordering::Acquire);
        while let Some(item) = ring.next() {
            let Some(event) = read_event(&item) else {
                errors.add(ParseError::Other);
                continue;
            };
            match decoder.decode(&event, answer_bytes(&item)) {
                Ok(observation) => {
                    if observation.answers == Answered::Malformed {
                        errors.add(ParseError::Answer);
                    }
                    if let Some(t) = tap.as_mut() {
                        t.observe(&observation);
                    }
                    dispatcher.push(&observation)?;
                }
                Err(reason) => errors.add(reason),
            }
        }
        dispatcher.flush()?;
        if let Some(l) = logger.as_mut() {
            l.flush();
        }
        if let Some(t) = tap.as_mut() {
            t.tick();
        }
        if stopping {
            if let Some(t) = tap {
                t.finish();
            }
            return Ok(());
        }
        wait_readable(ring.as_raw_fd());
    }
}

fn read_event(bytes: &[u8]) -> Option<DnsEvent> {
    if bytes.len() < size_of::<DnsEvent>() {
        return None;
    }
    // SAFETY: the length is checked above, `DnsEvent` is plain old data
    // (every bit pattern is valid), and the read is unaligned-safe.
    Some(unsafe { bytes.as_ptr().cast::<DnsEvent>().read_unaligned() })
}

/// The answer bytes of a response record (a [`DnsResponseEvent`]); none
/// for a query's bare [`DnsEvent`].
fn answer_bytes(record: &[u8]) -> AnswerBytes<'_> {
    if record.len() < size_of::<DnsResponseEvent>() {
        return AnswerBytes::default();
    }
    let at = |offset: usize| record[offset];
    let len_at = std::mem::offset_of!(DnsResponseEvent, answers_len);
    let len = usize::from(u16::from_ne_bytes([at(len_at), at(len_at + 1)])).min(ANSWER_BYTES);
    let start = std::mem::offset_of!(DnsResponseEvent, answers);
    AnswerBytes {
        bytes: &record[start..start + len],
        cut: at(std::mem::offset_of!(DnsResponseEvent, answers_cut)) != 0,
    }
}

fn wait_readable(fd: i32) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; an error or timeout only means we loop.
    unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
}

/// Offset that turns `CLOCK_MONOTONIC` nanoseconds (`bpf_ktime_get_ns`)
/// into nanoseconds since the UNIX epoch, measured now.
pub fn monotonic_to_wall_offset() -> u64 {
    let now = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer for the call.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    };
    now(libc::CLOCK_REALTIME).wrapping_sub(now(libc::CLOCK_MONOTONIC))
}
