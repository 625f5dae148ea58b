//! One decoded DNS message, as the counting engine takes it: the live drain
//! and the offline reader both turn [`DnsEvent`]s into these, with the
//! same decoder.

use std::net::{IpAddr, Ipv4Addr};

use capture_common::{DnsEvent, EventKind, FAMILY_IPV4, ParseError};

use super::name;
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
}

/// Turns [`DnsEvent`]s into [`Observation`]s, reusing one name buffer.
#[derive(Debug, Default)]
pub struct EventDecoder {
    clock_offset_ns: u64,
    scratch: String,
}

impl EventDecoder {
    /// A decoder that adds `clock_offset_ns` to event timestamps (see
    /// the live drain's clock offset; 0 when they are wall-clock already).
    pub fn new(clock_offset_ns: u64) -> Self {
        Self {
            clock_offset_ns,
            scratch: String::with_capacity(256),
        }
    }

    /// Decodes `event`; a name that does not decode is a parse error.
    pub fn decode(&mut self, event: &DnsEvent) -> Result<Observation<'_>, ParseError> {
        let kind = EventKind::from_u8(event.kind).ok_or(ParseError::Other)?;
        let used = name::decode_into(event.wire_name(), &mut self.scratch)?;
        if used != usize::from(event.name_len) {
            return Err(ParseError::Other);
        }
        let client = match kind {
            EventKind::Query => &event.src_addr,
            EventKind::Response => &event.dst_addr,
        };
        Ok(Observation {
            name: &self.scratch,
            time_ns: event.timestamp_ns.wrapping_add(self.clock_offset_ns),
            host: address(event.family, client),
            kind,
            qtype: event.qtype,
            rcode: event.rcode,
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
            .decode(&event(EventKind::Query, b"\x01A\x00"))
            .expect("decodes");
        assert_eq!(q.host.ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(q.time_ns, 15);
        assert_eq!(q.name, "a");
        let r = d
            .decode(&event(EventKind::Response, b"\x01a\x00"))
            .expect("decodes");
        assert_eq!(r.host.ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)));
    }

    #[test]
    fn bad_events_are_parse_errors() {
        let mut d = EventDecoder::new(0);
        let mut e = event(EventKind::Query, b"\x01a\x00");
        e.name_len = 2;
        assert_eq!(d.decode(&e), Err(ParseError::BadLabel));
        e.name_len = 300;
        assert!(d.decode(&e).is_err());
        let mut e = event(EventKind::Query, b"\x01a\x00");
        e.kind = 9;
        assert_eq!(d.decode(&e), Err(ParseError::Other));
    }
}
