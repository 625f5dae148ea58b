//! Backfills (`dnsrare pcap FILE --export …`): capture files read through
//! the same parser and decoder as `dnsrare pcap`, into windows by the
//! capture's own timestamps, as batches whose ids follow their content
//! (loading the same capture twice adds nothing).

use std::path::PathBuf;

use capture_common::ParseError;

use super::{batch::WindowBatch, window::WindowAggregator};
use crate::{
    ingest::{
        frame_parser_twin::FrameParser,
        observation::{Answered, EventDecoder},
        pcap::{self, FileTotals, PcapError},
    },
    model::capture::{CaptureCounters, ParseErrorCounts},
};

/// The batches of a backfill and the files that were damaged.
#[derive(Debug, Default)]
pub struct Backfill {
    /// One batch per window, oldest first; the capture counters of all
    /// files ride on the last.
    pub batches: Vec<WindowBatch>,
    /// Files that ended early: what came before the damage is in.
    pub damaged: Vec<PcapError>,
}

/// Reads `files` in order into windows of `window_s` seconds as batches
/// of `sensor`.
pub fn from_captures(files: &[PathBuf], sensor: &str, window_s: u64) -> Backfill {
    let mut windows = WindowAggregator::new(window_s);
    let mut parser = FrameParser::new();
    let mut decoder = EventDecoder::new(0);
    let mut decode_errors = ParseErrorCounts::default();
    let mut damaged = Vec::new();
    for file in files {
        let mut totals = FileTotals::default();
        let read = pcap::read_frames(file, &mut totals, |frame| {
            parser.parse(
                frame.link,
                frame.data,
                frame.time_ns,
                |event, answers| match decoder.decode(event, answers) {
                    Ok(o) => {
                        if o.answers == Answered::Malformed {
                            *decode_errors.get_mut(ParseError::Answer) += 1;
                        }
                        windows.observe(&o);
                    }
                    Err(reason) => *decode_errors.get_mut(reason) += 1,
                },
            );
        });
        if let Err(e) = read {
            damaged.push(e);
        }
    }
    let mut counters = parser.counters();
    counters.parse_errors.add(&decode_errors);
    let closed = windows.take_all();
    let last = closed.len().saturating_sub(1);
    let batches = closed
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let c = if i == last {
                counters
            } else {
                CaptureCounters::default()
            };
            WindowBatch::new(sensor, w, window_s, c, None)
        })
        .collect();
    Backfill { batches, damaged }
}
