//! DNS messages in wire form: queries (optionally with an EDNS0 OPT
//! record), responses with an rcode and A answers, and TCP framing.

use std::net::Ipv4Addr;

/// QTYPE A.
pub const QTYPE_A: u16 = 1;
/// QTYPE NULL.
pub const QTYPE_NULL: u16 = 10;
/// QTYPE TXT.
pub const QTYPE_TXT: u16 = 16;
/// QTYPE AAAA.
pub const QTYPE_AAAA: u16 = 28;
/// QTYPE OPT (EDNS0 pseudo-record).
const QTYPE_OPT: u16 = 41;
/// RCODE NXDOMAIN.
pub const RCODE_NXDOMAIN: u8 = 3;

/// Encodes a dotted name into wire form. Empty labels are skipped, so
/// `"."` and `""` give the root name.
pub fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn header(id: u16, flags: u16, qd: u16, an: u16, ar: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for field in [id, flags, qd, an, 0, ar] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out
}

/// A recursive query for `name` of type `qtype`, class IN.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    query_wire(id, &encode_name(name), qtype)
}

/// A query whose name is given in wire form as is (for malformed names).
pub fn query_wire(id: u16, wire_name: &[u8], qtype: u16) -> Vec<u8> {
    let mut out = header(id, 0x0100, 1, 0, 0);
    out.extend_from_slice(wire_name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// A query with an EDNS0 OPT record advertising `udp_size`.
pub fn query_edns(id: u16, name: &str, qtype: u16, udp_size: u16) -> Vec<u8> {
    let mut out = query(id, name, qtype);
    out[11] = 1; // ARCOUNT
    out.push(0); // root owner
    out.extend_from_slice(&QTYPE_OPT.to_be_bytes());
    out.extend_from_slice(&udp_size.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0x80, 0]); // ext rcode, version, DO bit
    out.extend_from_slice(&0u16.to_be_bytes());
    out
}

/// A response to `name` with `rcode` and one A record per address (the
/// answers point back at the question with a compression pointer).
pub fn response(id: u16, name: &str, qtype: u16, rcode: u8, answers: &[Ipv4Addr]) -> Vec<u8> {
    let flags = 0x8180 | u16::from(rcode & 0x0f);
    let mut out = header(id, flags, 1, answers.len() as u16, 0);
    out.extend_from_slice(&encode_name(name));
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    for addr in answers {
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&QTYPE_A.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&300u32.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&addr.octets());
    }
    out
}

/// Messages framed for DNS over TCP: each prefixed by its 2-byte length.
pub fn tcp_framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(&(m.len() as u16).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names() {
        assert_eq!(encode_name("a.bc"), b"\x01a\x02bc\x00");
        assert_eq!(encode_name("."), b"\x00");
        assert_eq!(encode_name("a.bc."), b"\x01a\x02bc\x00");
    }

    #[test]
    fn query_layout() {
        let q = query(0x1234, "a.b", QTYPE_TXT);
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[4..6], &[0, 1]);
        assert_eq!(&q[12..17], b"\x01a\x01b\x00");
        assert_eq!(&q[17..21], &[0, 16, 0, 1]);
        let e = query_edns(1, "a.b", QTYPE_A, 4096);
        assert_eq!(e.len(), q.len() + 11);
        assert_eq!(e[11], 1);
    }

    #[test]
    fn response_sets_qr_and_rcode() {
        let r = response(7, "x.y", QTYPE_A, RCODE_NXDOMAIN, &[]);
        assert_eq!(r[2] & 0x80, 0x80);
        assert_eq!(r[3] & 0x0f, 3);
    }
}
