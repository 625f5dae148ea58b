//! DNS messages in wire form: queries (optionally with an EDNS0 OPT
//! record), responses with an rcode and A answers, fuller responses
//! ([`Reply`]: A, AAAA, CNAME chains, PTR, SRV, TXT, NULL, an SOA in the
//! authority section, EDNS0, the TC bit) and TCP framing.

use std::net::{Ipv4Addr, Ipv6Addr};

/// QTYPE A.
pub const QTYPE_A: u16 = 1;
/// QTYPE NULL.
pub const QTYPE_NULL: u16 = 10;
/// QTYPE TXT.
pub const QTYPE_TXT: u16 = 16;
/// QTYPE AAAA.
pub const QTYPE_AAAA: u16 = 28;
/// QTYPE CNAME.
pub const QTYPE_CNAME: u16 = 5;
/// QTYPE SOA.
pub const QTYPE_SOA: u16 = 6;
/// QTYPE PTR.
pub const QTYPE_PTR: u16 = 12;
/// QTYPE SRV.
pub const QTYPE_SRV: u16 = 33;
/// QTYPE HTTPS (RFC 9460).
pub const QTYPE_HTTPS: u16 = 65;
/// Query type MX.
pub const QTYPE_MX: u16 = 15;
/// QTYPE OPT (EDNS0 pseudo-record).
const QTYPE_OPT: u16 = 41;
/// RCODE NOERROR.
pub const RCODE_NOERROR: u8 = 0;
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

/// The data of one answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// An alias; later records are owned by its target.
    Cname(String),
    /// A reverse-lookup target.
    Ptr(String),
    /// A service location.
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: String,
    },
    /// Text, split into character-strings of at most 255 bytes.
    Txt(Vec<u8>),
    /// Opaque bytes (type NULL, as iodine answers).
    Null(Vec<u8>),
    /// A mail exchanger.
    Mx {
        /// Preference (lower first).
        preference: u16,
        /// Exchange host.
        exchange: String,
    },
}

impl Rdata {
    fn rtype(&self) -> u16 {
        match self {
            Self::A(_) => QTYPE_A,
            Self::Aaaa(_) => QTYPE_AAAA,
            Self::Cname(_) => QTYPE_CNAME,
            Self::Ptr(_) => QTYPE_PTR,
            Self::Srv { .. } => QTYPE_SRV,
            Self::Txt(_) => QTYPE_TXT,
            Self::Null(_) => QTYPE_NULL,
            Self::Mx { .. } => QTYPE_MX,
        }
    }
}

/// A response to build: the question echoed, answers in order (the first
/// owned by the question name, each after a CNAME by that CNAME's target,
/// through compression pointers), optionally an SOA for the zone made of
/// the question's last `soa_labels` labels (as negative answers carry),
/// optionally an EDNS0 OPT record, optionally the TC bit.
#[derive(Clone, Debug)]
pub struct Reply<'a> {
    /// Transaction id.
    pub id: u16,
    /// Question name.
    pub name: &'a str,
    /// Question type.
    pub qtype: u16,
    /// Response code.
    pub rcode: u8,
    /// TTL of every answer.
    pub ttl: u32,
    /// Answer records.
    pub answers: &'a [Rdata],
    /// Labels of the SOA's zone (0: no authority section).
    pub soa_labels: usize,
    /// EDNS0 UDP payload size to advertise, if any.
    pub edns: Option<u16>,
    /// Set the TC (truncated) bit.
    pub truncated: bool,
}

impl Reply<'_> {
    /// The message in wire form.
    pub fn bytes(&self) -> Vec<u8> {
        let qname = encode_name(self.name);
        let mut flags = 0x8180 | u16::from(self.rcode & 0x0f);
        if self.truncated {
            flags |= 0x0200;
        }
        let ns = u16::from(self.soa_labels > 0);
        let mut out = Vec::with_capacity(64 + qname.len() * 2 + self.answers.len() * 24);
        for field in [
            self.id,
            flags,
            1,
            self.answers.len() as u16,
            ns,
            u16::from(self.edns.is_some()),
        ] {
            out.extend_from_slice(&field.to_be_bytes());
        }
        out.extend_from_slice(&qname);
        out.extend_from_slice(&self.qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        // Offsets are below 0x3fff in any message this builds.
        let mut owner: u16 = 12;
        for rdata in self.answers {
            out.extend_from_slice(&(0xc000 | owner).to_be_bytes());
            out.extend_from_slice(&rdata.rtype().to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&self.ttl.to_be_bytes());
            let len_at = out.len();
            out.extend_from_slice(&[0, 0]);
            match rdata {
                Rdata::A(a) => out.extend_from_slice(&a.octets()),
                Rdata::Aaaa(a) => out.extend_from_slice(&a.octets()),
                Rdata::Cname(target) => {
                    owner = out.len() as u16;
                    out.extend_from_slice(&encode_name(target));
                }
                Rdata::Ptr(target) => out.extend_from_slice(&encode_name(target)),
                Rdata::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => {
                    for v in [priority, weight, port] {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                    out.extend_from_slice(&encode_name(target));
                }
                Rdata::Txt(text) => {
                    for chunk in text.chunks(255) {
                        out.push(chunk.len() as u8);
                        out.extend_from_slice(chunk);
                    }
                }
                Rdata::Null(data) => out.extend_from_slice(data),
                Rdata::Mx {
                    preference,
                    exchange,
                } => {
                    out.extend_from_slice(&preference.to_be_bytes());
                    out.extend_from_slice(&encode_name(exchange));
                }
            }
            let len = (out.len() - len_at - 2) as u16;
            out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
        }
        if self.soa_labels > 0 {
            let zone = 12 + suffix_offset(&qname, self.soa_labels) as u16;
            let zone_ptr = (0xc000 | zone).to_be_bytes();
            out.extend_from_slice(&zone_ptr);
            out.extend_from_slice(&QTYPE_SOA.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&900u32.to_be_bytes());
            let mut rdata = Vec::with_capacity(48);
            rdata.extend_from_slice(b"\x03ns1");
            rdata.extend_from_slice(&zone_ptr);
            rdata.extend_from_slice(b"\x0ahostmaster");
            rdata.extend_from_slice(&zone_ptr);
            for v in [2_026_112_901u32, 7200, 900, 1_209_600, 300] {
                rdata.extend_from_slice(&v.to_be_bytes());
            }
            out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(&rdata);
        }
        if let Some(size) = self.edns {
            out.push(0);
            out.extend_from_slice(&QTYPE_OPT.to_be_bytes());
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(&0u16.to_be_bytes());
        }
        out
    }
}

/// Offset in the wire name `wire` of the suffix made of its last `labels`
/// labels (the root when `labels` is zero, the whole name when it is at
/// least the name's label count).
fn suffix_offset(wire: &[u8], labels: usize) -> usize {
    let mut starts = Vec::with_capacity(8);
    let mut at = 0;
    while at < wire.len() && wire[at] != 0 {
        starts.push(at);
        at += usize::from(wire[at]) + 1;
    }
    let keep = labels.min(starts.len());
    if keep == 0 {
        at
    } else {
        starts[starts.len() - keep]
    }
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

    #[test]
    fn reply_chains_cnames_and_carries_soa_and_opt() {
        let answers = [
            Rdata::Cname("e1.a.akamaiedge.net".into()),
            Rdata::A(Ipv4Addr::new(192, 0, 2, 1)),
        ];
        let r = Reply {
            id: 9,
            name: "www.example.com",
            qtype: QTYPE_A,
            rcode: RCODE_NOERROR,
            ttl: 60,
            answers: &answers,
            soa_labels: 0,
            edns: Some(1232),
            truncated: false,
        }
        .bytes();
        assert_eq!(&r[6..8], &[0, 2]); // ANCOUNT
        assert_eq!(&r[10..12], &[0, 1]); // ARCOUNT
        let q_end = 12 + 17 + 4;
        assert_eq!(&r[q_end..q_end + 2], &[0xc0, 0x0c]);
        // The A record is owned by the CNAME target, right after its RDLENGTH.
        let target = q_end + 12;
        let a_owner = target + encode_name("e1.a.akamaiedge.net").len();
        assert_eq!(
            u16::from_be_bytes([r[a_owner], r[a_owner + 1]]),
            0xc000 | target as u16
        );
        let nx = Reply {
            id: 1,
            name: "nosuch.example.com",
            qtype: QTYPE_A,
            rcode: RCODE_NXDOMAIN,
            ttl: 0,
            answers: &[],
            soa_labels: 2,
            edns: None,
            truncated: true,
        }
        .bytes();
        assert_eq!(nx[2] & 0x02, 0x02);
        assert_eq!(nx[3] & 0x0f, 3);
        assert_eq!(&nx[8..10], &[0, 1]); // NSCOUNT
        let soa = 12 + encode_name("nosuch.example.com").len() + 4;
        assert_eq!(&nx[soa..soa + 2], &[0xc0, 12 + 7]);
    }
}
