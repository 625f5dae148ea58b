//! Captured frames to observations: the twin parser and the event decoder
//! together, counting what did not decode, as `dnsrare pcap` and the
//! ClickHouse backfill read captures.

use capture_common::ParseError;

use super::{
    frame_parser_twin::FrameParser,
    observation::{Answered, EventDecoder, Observation},
    pcap::Link,
};
use crate::model::capture::{CaptureCounters, ParseErrorCounts};

/// Frames in, observations out.
#[derive(Debug)]
pub struct FrameDecoder {
    parser: FrameParser,
    decoder: EventDecoder,
    decode_errors: ParseErrorCounts,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with zero counts (capture timestamps are wall-clock).
    pub fn new() -> Self {
        Self {
            parser: FrameParser::new(),
            decoder: EventDecoder::new(0),
            decode_errors: ParseErrorCounts::default(),
        }
    }

    /// Parses the frame `data` (of `link`, captured at `time_ns`) and calls
    /// `each` with every query or response in it whose name decodes. A
    /// name that does not decode is counted and skipped; an answer section
    /// that does not parse is counted and its response still handed on.
    pub fn decode(
        &mut self,
        link: Link,
        data: &[u8],
        time_ns: u64,
        mut each: impl FnMut(&Observation<'_>),
    ) {
        let Self {
            parser,
            decoder,
            decode_errors,
        } = self;
        parser.parse(link, data, time_ns, |event, answers| {
            match decoder.decode(event, answers) {
                Ok(observation) => {
                    if observation.answers == Answered::Malformed {
                        *decode_errors.get_mut(ParseError::Answer) += 1;
                    }
                    each(&observation);
                }
                Err(reason) => *decode_errors.get_mut(reason) += 1,
            }
        });
    }

    /// The twin parser's counters so far.
    pub fn counters(&self) -> CaptureCounters {
        self.parser.counters()
    }

    /// Names and answer sections that did not decode, so far.
    pub fn decode_errors(&self) -> ParseErrorCounts {
        self.decode_errors
    }
}
