//! Capture counters: what the XDP program (or the pcap reader) saw, what it
//! emitted, lost and refused, so that every report can say how complete it
//! is.

use capture_common::{ParseError, STAT_COUNT, Stat};
use serde::{Deserialize, Serialize};

/// Parse errors by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseErrorCounts {
    /// DNS header or question fixed fields cut off.
    pub truncated: u64,
    /// Label length with reserved bits set, or running past the packet.
    pub bad_label: u64,
    /// Name longer than 255 bytes.
    pub name_too_long: u64,
    /// Compression pointer in the question name.
    pub compression_pointer: u64,
    /// Other defects (no question, bogus TCP length).
    pub other: u64,
    /// A response's answer section that cannot be read (the response
    /// itself is counted).
    pub bad_answer: u64,
}

impl ParseErrorCounts {
    /// All reasons together.
    pub fn total(&self) -> u64 {
        let Self {
            truncated,
            bad_label,
            name_too_long,
            compression_pointer,
            other,
            bad_answer,
        } = self;
        truncated + bad_label + name_too_long + compression_pointer + other + bad_answer
    }

    /// The count for `reason`.
    pub fn get(&self, reason: ParseError) -> u64 {
        match reason {
            ParseError::Truncated => self.truncated,
            ParseError::BadLabel => self.bad_label,
            ParseError::NameTooLong => self.name_too_long,
            ParseError::CompressionPointer => self.compression_pointer,
            ParseError::Other => self.other,
            ParseError::Answer => self.bad_answer,
        }
    }

    /// The counter for `reason`.
    pub fn get_mut(&mut self, reason: ParseError) -> &mut u64 {
        match reason {
            ParseError::Truncated => &mut self.truncated,
            ParseError::BadLabel => &mut self.bad_label,
            ParseError::NameTooLong => &mut self.name_too_long,
            ParseError::CompressionPointer => &mut self.compression_pointer,
            ParseError::Other => &mut self.other,
            ParseError::Answer => &mut self.bad_answer,
        }
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Self) {
        for reason in ParseError::ALL {
            *self.get_mut(reason) += other.get(reason);
        }
    }
}

/// Counters of a capture source: the XDP program, summed over CPUs, or the
/// offline reader, which counts the same things.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureCounters {
    /// Packets seen.
    pub packets: u64,
    /// DNS query events emitted.
    pub queries: u64,
    /// DNS response events emitted.
    pub responses: u64,
    /// Events lost because the ring buffer was full.
    pub lost: u64,
    /// Packets that are not DNS queries or responses.
    pub ignored: u64,
    /// DNS messages refused, by reason.
    pub parse_errors: ParseErrorCounts,
}

impl CaptureCounters {
    /// Adds `other`'s counts to these (totals over several runs).
    pub fn add(&mut self, other: &Self) {
        self.packets += other.packets;
        self.queries += other.queries;
        self.responses += other.responses;
        self.lost += other.lost;
        self.ignored += other.ignored;
        self.parse_errors.add(&other.parse_errors);
    }

    /// What changed since `earlier` (counters only grow).
    pub fn since(&self, earlier: &Self) -> Self {
        let mut parse_errors = ParseErrorCounts::default();
        for reason in ParseError::ALL {
            *parse_errors.get_mut(reason) = self
                .parse_errors
                .get(reason)
                .saturating_sub(earlier.parse_errors.get(reason));
        }
        Self {
            packets: self.packets.saturating_sub(earlier.packets),
            queries: self.queries.saturating_sub(earlier.queries),
            responses: self.responses.saturating_sub(earlier.responses),
            lost: self.lost.saturating_sub(earlier.lost),
            ignored: self.ignored.saturating_sub(earlier.ignored),
            parse_errors,
        }
    }

    /// Builds the counters from the raw array indexed by [`Stat`].
    pub fn from_array(raw: &[u64; STAT_COUNT as usize]) -> Self {
        let at = |stat: Stat| raw[stat as usize];
        Self {
            packets: at(Stat::Packets),
            queries: at(Stat::Queries),
            responses: at(Stat::Responses),
            lost: at(Stat::Lost),
            ignored: at(Stat::Ignored),
            parse_errors: ParseErrorCounts {
                truncated: at(Stat::ParseTruncated),
                bad_label: at(Stat::ParseBadLabel),
                name_too_long: at(Stat::ParseNameTooLong),
                compression_pointer: at(Stat::ParsePointer),
                other: at(Stat::ParseOther),
                bad_answer: at(Stat::ParseAnswer),
            },
        }
    }
}

/// The capture summary every report carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureSummary {
    /// Packets seen.
    pub packets: u64,
    /// DNS queries captured.
    pub queries: u64,
    /// DNS responses captured.
    pub responses: u64,
    /// Events lost (ring full): queries and responses never counted.
    pub lost: u64,
    /// Parse errors, all reasons (kernel and userspace decoding).
    pub parse_errors: u64,
    /// Parse errors by reason.
    pub parse_errors_by_reason: ParseErrorCounts,
    /// Packets that were not DNS.
    pub ignored: u64,
    /// Queries the counting engine has counted so far.
    pub counted: u64,
}

impl CaptureSummary {
    /// Combines source counters and userspace decode errors into the
    /// summary; `counted` is left for the engine to fill in.
    pub fn new(source: &CaptureCounters, decode_errors: &ParseErrorCounts) -> Self {
        let mut by_reason = source.parse_errors;
        by_reason.add(decode_errors);
        Self {
            packets: source.packets,
            queries: source.queries,
            responses: source.responses,
            lost: source.lost,
            parse_errors: by_reason.total(),
            parse_errors_by_reason: by_reason,
            ignored: source.ignored,
            counted: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_map_from_indices() {
        let mut raw = [0u64; STAT_COUNT as usize];
        for (i, v) in raw.iter_mut().enumerate() {
            *v = i as u64 + 1;
        }
        let k = CaptureCounters::from_array(&raw);
        assert_eq!(k.packets, 1);
        assert_eq!(k.lost, 4);
        assert_eq!(k.parse_errors.other, 10);
        assert_eq!(k.parse_errors.bad_answer, 11);
        assert_eq!(k.parse_errors.total(), 6 + 7 + 8 + 9 + 10 + 11);
    }

    #[test]
    fn summary_adds_decode_errors() {
        let source = CaptureCounters {
            packets: 10,
            queries: 5,
            parse_errors: ParseErrorCounts {
                truncated: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        let decode = ParseErrorCounts {
            bad_label: 2,
            ..Default::default()
        };
        let s = CaptureSummary::new(&source, &decode);
        assert_eq!(s.parse_errors, 3);
        assert_eq!(s.parse_errors_by_reason.bad_label, 2);
    }
}
