//! One decoded DNS message, as the counting engine takes it: the live drain
//! and the offline reader both turn [`DnsEvent`]s into these, with the
//! same decoder.

use std::net::{IpAddr, Ipv4Addr};

use capture_common::{
    DIRECTION_EGRESS, DnsEvent, EventKind, FAMILY_IPV4, FLAG_TRUNCATED, ParseError,
};

use super::{
    answers::{AnswerBytes, AnswerParser, Answers},
    name,
};
use crate::model::host::HostAddr;

/// A DNS query or response reduced to what the engine counts; the name is
/// borrowed from the decoder's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation<'a> {
    /// Lowercase dotted name of the first question.
    pub name: &'a str,
    /// When it was seen, nanoseconds since the UNIX epoch.
    pub time_ns: u64,
    /// The client: the source of a query, the destination of a response.
    pub host: HostAddr,
    /// Query or response.
    pub kind: EventKind,
    /// QTYPE of the question.
    pub qtype: u16,
    /// RCODE (responses).
    pub rcode: u8,
    /// What a response's answer section said.
    pub answers: Answered<'a>,
    /// A query the gateway itself sent (its resolver asking upstream, seen
    /// leaving by the TC program): the gateway's, not a client's.
    pub upstream: bool,
}

/// A response's answer section, as far as it could be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Answered<'a> {
    /// A query, or a response seen without its answer bytes (DNS logs).
    #[default]
    Unknown,
    /// The records read.
    Parsed(&'a Answers),
    /// The section could not be read (counted as a `bad_answer` parse
    /// error; the response itself still counts).
    Malformed,
}

impl<'a> Answered<'a> {
    /// The records, when there are some to look at.
    pub fn parsed(self) -> Option<&'a Answers> {
        match self {
            Self::Parsed(a) => Some(a),
            Self::Unknown | Self::Malformed => None,
        }
    }
}

/// Turns [`DnsEvent`]s into [`Observation`]s, reusing one name buffer.
#[derive(Debug, Default)]
pub struct EventDecoder {
    clock_offset_ns: u64,
    scratch: String,
    answers: AnswerParser,
}

impl EventDecoder {
    /// A decoder that adds `clock_offset_ns` to event timestamps (see
    /// the live drain's clock offset; 0 when they are wall-clock already).
    pub fn new(clock_offset_ns: u64) -> Self {
        Self {
            clock_offset_ns,
            scratch: String::with_capacity(256),
            answers: AnswerParser::new(),
        }
    }

    /// Decodes `event`, with the bytes after a response's question (empty
    /// for a query); a name that does not decode is a parse error. An
    /// answer section that does not parse leaves the response counted,
    /// marked [`Answered::Malformed`].
    pub fn decode(
        &mut self,
        event: &DnsEvent,
        answer_bytes: AnswerBytes<'_>,
    ) -> Result<Observation<'_>, ParseError> {
        let kind = EventKind::from_u8(event.kind).ok_or(ParseError::Other)?;
        let used = name::decode_into(event.wire_name(), &mut self.scratch)?;
        if used != usize::from(event.name_len) {
            return Err(ParseError::Other);
        }
        let client = match kind {
            EventKind::Query => &event.src_addr,
            EventKind::Response => &event.dst_addr,
        };
        let answers = match kind {
            EventKind::Query => Answered::Unknown,
            EventKind::Response => match self.answers.parse(
                event.wire_name(),
                &self.scratch,
                event.ancount,
                event.flags & FLAG_TRUNCATED != 0,
                answer_bytes,
            ) {
                Ok(parsed) => Answered::Parsed(parsed),
                Err(_) => Answered::Malformed,
            },
        };
        Ok(Observation {
            name: &self.scratch,
            time_ns: event.timestamp_ns.wrapping_add(self.clock_offset_ns),
            host: address(event.family, client),
            kind,
            qtype: event.qtype,
            rcode: event.rcode,
            answers,
            upstream: kind == EventKind::Query && event.direction == DIRECTION_EGRESS,
        })
    }
}

fn address(family: u8, raw: &[u8; 16]) -> HostAddr {
    if family == FAMILY_IPV4 {
        HostAddr::from(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])))
    } else {
        HostAddr(*raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, name: &[u8]) -> DnsEvent {
        let mut e = DnsEvent::zeroed();
        e.kind = kind as u8;
        e.family = FAMILY_IPV4;
        e.src_addr[..4].copy_from_slice(&[10, 0, 0, 1]);
        e.dst_addr[..4].copy_from_slice(&[10, 0, 0, 53]);
        e.name[..name.len()].copy_from_slice(name);
        e.name_len = name.len() as u16;
        e.timestamp_ns = 5;
        e
    }

    #[test]
    fn query_host_is_the_source_response_host_the_destination() {
        let mut d = EventDecoder::new(10);
        let q = d
            .decode(
                &event(EventKind::Query, b"\x01A\x00"),
                AnswerBytes::default(),
            )
            .expect("decodes");
        assert_eq!(q.host.ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(q.time_ns, 15);
        assert_eq!(q.name, "a");
        let r = d
            .decode(
                &event(EventKind::Response, b"\x01a\x00"),
                AnswerBytes::default(),
            )
            .expect("decodes");
        assert_eq!(r.host.ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)));
    }

    #[test]
    fn bad_events_are_parse_errors() {
        let mut d = EventDecoder::new(0);
        let mut e = event(EventKind::Query, b"\x01a\x00");
        e.name_len = 2;
        assert_eq!(
            d.decode(&e, AnswerBytes::default()),
            Err(ParseError::BadLabel)
        );
        e.name_len = 300;
        assert!(d.decode(&e, AnswerBytes::default()).is_err());
        let mut e = event(EventKind::Query, b"\x01a\x00");
        e.kind = 9;
        assert_eq!(d.decode(&e, AnswerBytes::default()), Err(ParseError::Other));
    }
}
