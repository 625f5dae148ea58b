//! Backfills (`dnsrare pcap FILE --export …`): capture files read through
//! the same parser and decoder as `dnsrare pcap`, into windows by the
//! capture's own timestamps, as batches whose ids follow their content
//! (loading the same capture twice adds nothing). Windows are handed on
//! as the capture's time passes them, so memory holds a few windows, not
//! the capture.

use std::path::PathBuf;

use super::{
    batch::WindowBatch,
    window::{ClosedWindow, WindowAggregator},
};
use crate::{
    ingest::{
        frame_decoder::FrameDecoder,
        pcap::{self, FileTotals, PcapError},
    },
    model::capture::CaptureCounters,
};

/// What a backfill read and handed on.
#[derive(Debug, Default)]
pub struct Backfill {
    /// Batches handed on.
    pub batches: u64,
    /// Rows (host, name and window) in them.
    pub rows: u64,
    /// Queries in them.
    pub queries: u64,
    /// Files that ended early: what came before the damage is in.
    pub damaged: Vec<PcapError>,
}

/// Reads `files` in order into windows of `window_s` seconds as batches
/// of `sensor`, handing each to `send` once the capture is a window past
/// its end (the rest at the end; the capture counters of all files ride
/// on the last batch). The first error of `send` stops the handing on and
/// is returned.
pub fn from_captures<E>(
    files: &[PathBuf],
    sensor: &str,
    window_s: u64,
    mut send: impl FnMut(WindowBatch) -> Result<(), E>,
) -> Result<Backfill, E> {
    let mut windows = WindowAggregator::new(window_s);
    let mut frames = FrameDecoder::new();
    let mut done = Backfill::default();
    let mut failed: Option<E> = None;
    let mut hand_on = |w: ClosedWindow, counters: CaptureCounters, done: &mut Backfill| {
        if failed.is_some() {
            return;
        }
        let batch = WindowBatch::new(sensor, w, window_s, counters, None);
        done.batches += 1;
        done.rows += batch.pairs.len() as u64;
        done.queries += batch.queries();
        if let Err(e) = send(batch) {
            failed = Some(e);
        }
    };
    let mut next_close_s = 0;
    let mut last_window_s = 0;
    for file in files {
        let mut totals = FileTotals::default();
        let read = pcap::read_frames(file, &mut totals, |frame| {
            frames.decode(frame.link, frame.data, frame.time_ns, |o| {
                windows.observe(o);
            });
            let now_s = frame.time_ns / 1_000_000_000;
            last_window_s = last_window_s.max(windows.window_of(frame.time_ns));
            // Out-of-order frames up to a window late still land.
            if now_s >= next_close_s {
                for w in windows.take_before(now_s.saturating_sub(window_s)) {
                    hand_on(w, CaptureCounters::default(), &mut done);
                }
                next_close_s = now_s + window_s;
            }
        });
        if let Err(e) = read {
            done.damaged.push(e);
        }
    }
    let mut counters = frames.counters();
    counters.parse_errors.add(&frames.decode_errors());
    let mut rest = windows.take_all();
    let last = rest.pop().unwrap_or(ClosedWindow {
        start_s: last_window_s,
        pairs: Vec::new(),
    });
    for w in rest {
        hand_on(w, CaptureCounters::default(), &mut done);
    }
    hand_on(last, counters, &mut done);
    match failed {
        Some(e) => Err(e),
        None => Ok(done),
    }
}
