//! One decoded DNS message, as the counting engine takes it: the live drain
//! and the offline reader both turn [`DnsEvent`]s into these.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use capture_common::{DnsEvent, EventKind, FAMILY_IPV4, ParseError};

use crate::name;

/// A DNS query or response reduced to what the engine counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Lowercase dotted name of the first question.
    pub name: Box<str>,
    /// When it was seen, nanoseconds since the UNIX epoch.
    pub time_ns: u64,
    /// The client: the source of a query, the destination of a response.
    pub host: IpAddr,
    /// Query or response.
    pub kind: EventKind,
    /// QTYPE of the question.
    pub qtype: u16,
    /// RCODE (responses).
    pub rcode: u8,
}

impl Observation {
    /// Decodes `event`, whose timestamp is turned into wall-clock time by
    /// adding `clock_offset_ns`. `scratch` is reused between calls.
    pub fn from_event(
        event: &DnsEvent,
        clock_offset_ns: u64,
        scratch: &mut String,
    ) -> Result<Self, ParseError> {
        let kind = EventKind::from_u8(event.kind).ok_or(ParseError::Other)?;
        let used = name::decode_into(event.wire_name(), scratch)?;
        if used != usize::from(event.name_len) {
            return Err(ParseError::Other);
        }
        let (src, dst) = (
            address(event.family, &event.src_addr),
            address(event.family, &event.dst_addr),
        );
        Ok(Self {
            name: scratch.as_str().into(),
            time_ns: event.timestamp_ns.wrapping_add(clock_offset_ns),
            host: match kind {
                EventKind::Query => src,
                EventKind::Response => dst,
            },
            kind,
            qtype: event.qtype,
            rcode: event.rcode,
        })
    }
}

fn address(family: u8, raw: &[u8; 16]) -> IpAddr {
    if family == FAMILY_IPV4 {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*raw))
    }
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
        let mut s = String::new();
        let q = Observation::from_event(&event(EventKind::Query, b"\x01a\x00"), 10, &mut s);
        let q = q.expect("decodes");
        assert_eq!(q.host, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(q.time_ns, 15);
        assert_eq!(&*q.name, "a");
        let r = Observation::from_event(&event(EventKind::Response, b"\x01a\x00"), 0, &mut s);
        assert_eq!(
            r.expect("decodes").host,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53))
        );
    }

    #[test]
    fn bad_events_are_parse_errors() {
        let mut s = String::new();
        let mut e = event(EventKind::Query, b"\x01a\x00");
        e.name_len = 2;
        assert_eq!(
            Observation::from_event(&e, 0, &mut s),
            Err(ParseError::BadLabel)
        );
        e.name_len = 300;
        assert!(Observation::from_event(&e, 0, &mut s).is_err());
        let mut e = event(EventKind::Query, b"\x01a\x00");
        e.kind = 9;
        assert_eq!(
            Observation::from_event(&e, 0, &mut s),
            Err(ParseError::Other)
        );
    }
}
