//! The answer section of a DNS response: what the resolver said.
//!
//! The kernel programs copy the bytes after a response's first question
//! ([`AnswerBytes`]); the offline reader hands the same bytes from the
//! frame. [`AnswerParser`] reads the answer records from them: the CNAME
//! chain that starts at the question's name (compressed names followed,
//! in the answer section only), the A and AAAA addresses, the TTL range
//! and the record count. Compression pointers are offsets from the start
//! of the message, so the parser rebuilds the part every valid pointer can
//! reach: a 12-byte header (pointers into it are refused) and the question.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use capture_common::{DNS_HEADER_LEN, MAX_LABEL_LEN, MAX_NAME_LEN};

use super::name;

/// The raw bytes after a response's question, as a kernel program copied
/// them (or the offline reader found them in the frame).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerBytes<'a> {
    /// The bytes, at most `capture_common::ANSWER_BYTES`.
    pub bytes: &'a [u8],
    /// The message went on past these bytes (cut by the copy, or a TCP
    /// message continuing in a later segment).
    pub cut: bool,
}

/// CNAME links kept of one answer; a longer chain keeps its first ones.
pub const MAX_CHAIN: usize = 8;
/// Addresses kept of one answer; more are counted, not kept.
pub const MAX_ADDRESSES: usize = 16;
/// Compression pointers followed in one name before it is refused as a
/// loop.
const MAX_POINTER_HOPS: usize = 16;
/// Record types read from the answer section.
const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;
/// Class IN.
const CLASS_IN: u16 = 1;

/// Why an answer section could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// A record ran past the bytes of a message that was not cut: the
    /// answer count is larger than the message.
    #[error("answer record cut off in a message that was not truncated")]
    Short,
    /// A label length with reserved bits, or a name over 255 bytes.
    #[error("bad name in an answer record")]
    BadName,
    /// A compression pointer that loops, points forward, or into the
    /// header.
    #[error("bad compression pointer in an answer record")]
    BadPointer,
    /// An A or AAAA record whose data is not 4 or 16 bytes long.
    #[error("address record of the wrong length")]
    BadAddress,
}

/// What one response's answer section said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answers {
    /// The CNAME chain from the question's name, in order: each entry is
    /// the target of the one before (the first is the question's alias
    /// target); lowercase dotted names, at most [`MAX_CHAIN`].
    pub chain: Vec<String>,
    /// A and AAAA addresses in the section, in order, at most
    /// [`MAX_ADDRESSES`].
    pub addresses: Vec<IpAddr>,
    /// Smallest and largest TTL of the records read, seconds (`None` when
    /// the section was empty).
    pub ttl: Option<(u32, u32)>,
    /// Answer records read.
    pub records: u16,
    /// The response was truncated: the TC bit, or the copied bytes ended
    /// before the records the header announced.
    pub truncated: bool,
}

/// Parses answer sections, reusing its buffers between responses.
#[derive(Debug, Default)]
pub struct AnswerParser {
    /// The rebuilt message: header, question, then the answer bytes.
    message: Vec<u8>,
    /// CNAME records read: (owner, target), lowercase dotted.
    links: Vec<(String, String)>,
    /// Spare strings, so a steady stream of answers allocates nothing.
    spare: Vec<String>,
    /// The answers of the last response parsed.
    answers: Answers,
}

impl AnswerParser {
    /// A parser with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the answer section of a response whose question name is
    /// `qname` (wire form), announcing `ancount` records, with the header
    /// flag `tc`. `qname_dotted` is the question's lowercase dotted name,
    /// where the CNAME chain starts.
    pub fn parse(
        &mut self,
        qname: &[u8],
        qname_dotted: &str,
        ancount: u16,
        tc: bool,
        bytes: AnswerBytes<'_>,
    ) -> Result<&Answers, AnswerError> {
        self.reset();
        self.message.resize(DNS_HEADER_LEN, 0);
        self.message.extend_from_slice(qname);
        self.message.extend_from_slice(&[0; 4]);
        let start = self.message.len();
        self.message.extend_from_slice(bytes.bytes);
        let mut at = start;
        let mut truncated = tc;
        let mut owner = String::new();
        let mut target = String::new();
        for _ in 0..ancount {
            match self.record(&mut at, &mut owner, &mut target) {
                Ok(()) => {}
                Err(AnswerError::Short) if bytes.cut || tc => {
                    truncated = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        self.answers.truncated = truncated;
        self.follow_chain(qname_dotted);
        Ok(&self.answers)
    }

    fn reset(&mut self) {
        self.message.clear();
        for (a, b) in self.links.drain(..) {
            self.spare.push(a);
            self.spare.push(b);
        }
        self.spare.append(&mut self.answers.chain);
        self.answers.addresses.clear();
        self.answers.ttl = None;
        self.answers.records = 0;
        self.answers.truncated = false;
    }

    /// Reads the record at `*at`, moving past it.
    fn record(
        &mut self,
        at: &mut usize,
        owner: &mut String,
        target: &mut String,
    ) -> Result<(), AnswerError> {
        let m = &self.message;
        // Only a CNAME's owner is needed as text; the other records' owners
        // are checked and stepped over.
        let after_name = walk_name(m, *at, None)?;
        let fixed = m
            .get(after_name..after_name + 10)
            .ok_or(AnswerError::Short)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata_at = after_name + 10;
        let rdata = m
            .get(rdata_at..rdata_at + rdlen)
            .ok_or(AnswerError::Short)?;
        if class == CLASS_IN {
            match rtype {
                TYPE_A | TYPE_AAAA => {
                    let addr = match (rtype, rdata.len()) {
                        (TYPE_A, 4) => {
                            IpAddr::V4(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))
                        }
                        (TYPE_AAAA, 16) => {
                            let mut b = [0u8; 16];
                            b.copy_from_slice(rdata);
                            IpAddr::V6(Ipv6Addr::from(b))
                        }
                        _ => return Err(AnswerError::BadAddress),
                    };
                    if self.answers.addresses.len() < MAX_ADDRESSES {
                        self.answers.addresses.push(addr);
                    }
                }
                TYPE_CNAME => {
                    walk_name(m, *at, Some(owner))?;
                    let end = walk_name(m, rdata_at, Some(target))?;
                    if end != rdata_at + rdlen {
                        return Err(AnswerError::BadName);
                    }
                    let mut a = self.spare.pop().unwrap_or_default();
                    let mut b = self.spare.pop().unwrap_or_default();
                    a.clear();
                    a.push_str(owner);
                    b.clear();
                    b.push_str(target);
                    self.links.push((a, b));
                }
                _ => {}
            }
        }
        self.answers.ttl = Some(match self.answers.ttl {
            None => (ttl, ttl),
            Some((lo, hi)) => (lo.min(ttl), hi.max(ttl)),
        });
        self.answers.records += 1;
        *at = rdata_at + rdlen;
        Ok(())
    }

    /// Builds the chain from `qname` through the CNAME records read.
    fn follow_chain(&mut self, qname: &str) {
        let mut current: &str = qname;
        for _ in 0..MAX_CHAIN {
            let Some((_, target)) = self
                .links
                .iter()
                .find(|(owner, _)| owner.eq_ignore_ascii_case(current))
            else {
                break;
            };
            let mut link = self.spare.pop().unwrap_or_default();
            link.clear();
            link.push_str(target);
            self.answers.chain.push(link);
            current = target;
        }
    }
}

/// Walks the possibly compressed name at `at` of `m`, checking it, and
/// with `out` renders it there (lowercase, dotted, escaped as question
/// names are, no trailing dot; the root is empty) and returns the offset just
/// past it where it started (after the first pointer, if any).
fn walk_name(m: &[u8], at: usize, mut out: Option<&mut String>) -> Result<usize, AnswerError> {
    if let Some(out) = out.as_deref_mut() {
        out.clear();
    }
    let mut pos = at;
    let mut end = None;
    let mut hops = 0;
    let mut wire_len = 1;
    // A pointer must point before the label that holds it, so a chain of
    // pointers always moves backwards and ends.
    let mut limit = at;
    loop {
        let len = *m.get(pos).ok_or(AnswerError::Short)?;
        match len & 0xc0 {
            0xc0 => {
                let low = *m.get(pos + 1).ok_or(AnswerError::Short)?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                end.get_or_insert(pos + 2);
                hops += 1;
                if hops > MAX_POINTER_HOPS || target < DNS_HEADER_LEN || target >= limit {
                    return Err(AnswerError::BadPointer);
                }
                limit = target;
                pos = target;
            }
            0x00 => {
                if len == 0 {
                    return Ok(end.unwrap_or(pos + 1));
                }
                let len = usize::from(len);
                if len > MAX_LABEL_LEN {
                    return Err(AnswerError::BadName);
                }
                wire_len += len + 1;
                if wire_len > MAX_NAME_LEN {
                    return Err(AnswerError::BadName);
                }
                let label = m.get(pos + 1..pos + 1 + len).ok_or(AnswerError::Short)?;
                if let Some(out) = out.as_deref_mut() {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    name::push_label_text(label, out);
                }
                pos += 1 + len;
            }
            _ => return Err(AnswerError::BadName),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `www.example.com` in wire form.
    const QNAME: &[u8] = b"\x03www\x07example\x03com\x00";
    /// Offset of the question name in the rebuilt message.
    const Q: u8 = 12;

    fn record(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
        let mut r = owner.to_vec();
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&ttl.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
        r
    }

    fn parse(ancount: u16, tc: bool, bytes: &[u8], cut: bool) -> Result<Answers, AnswerError> {
        AnswerParser::new()
            .parse(
                QNAME,
                "www.example.com",
                ancount,
                tc,
                AnswerBytes { bytes, cut },
            )
            .cloned()
    }

    #[test]
    fn cname_chain_with_compressed_names_and_addresses() {
        // The question's name is at offset 12; answers start at 12+17+4.
        let answers_at = 12 + QNAME.len() + 4;
        let mut bytes = record(
            &[0xc0, Q],
            TYPE_CNAME,
            300,
            b"\x03cdn\x07example\x03net\x00",
        );
        // "edge" + pointer to "example.net" inside the first CNAME's data.
        let cdn_at = answers_at + 2 + 10;
        let example_net = (cdn_at + 4) as u8;
        let second_owner = [0xc0, cdn_at as u8];
        bytes.extend(record(
            &second_owner,
            TYPE_CNAME,
            60,
            &[4, b'e', b'd', b'g', b'e', 0xc0, example_net],
        ));
        let edge_at = (cdn_at + 17 + 2 + 10) as u8;
        bytes.extend(record(&[0xc0, edge_at], TYPE_A, 20, &[192, 0, 2, 1]));
        bytes.extend(record(
            &[0xc0, edge_at],
            TYPE_AAAA,
            30,
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ));
        let a = parse(4, false, &bytes, false).unwrap();
        assert_eq!(a.chain, ["cdn.example.net", "edge.example.net"]);
        assert_eq!(
            a.addresses,
            [
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
        assert_eq!(a.ttl, Some((20, 300)));
        assert_eq!(a.records, 4);
        assert!(!a.truncated);
    }

    #[test]
    fn empty_answer_section() {
        let a = parse(0, false, &[], false).unwrap();
        assert_eq!(a, Answers::default());
    }

    #[test]
    fn more_records_announced_than_present() {
        let bytes = record(&[0xc0, Q], TYPE_A, 5, &[10, 0, 0, 1]);
        assert_eq!(parse(2, false, &bytes, false), Err(AnswerError::Short));
        // The same bytes from a message that was cut, or that says it was
        // truncated: what was read is kept.
        for (tc, cut) in [(true, false), (false, true)] {
            let a = parse(2, tc, &bytes, cut).unwrap();
            assert_eq!(a.addresses.len(), 1);
            assert!(a.truncated);
        }
    }

    #[test]
    fn pointer_loops_forward_pointers_and_header_pointers_are_refused() {
        let answers_at = (12 + QNAME.len() + 4) as u8;
        // Points at itself.
        let own = record(&[0xc0, answers_at], TYPE_A, 1, &[1, 2, 3, 4]);
        assert_eq!(parse(1, false, &own, false), Err(AnswerError::BadPointer));
        // Into the header.
        let header = record(&[0xc0, 2], TYPE_A, 1, &[1, 2, 3, 4]);
        assert_eq!(
            parse(1, false, &header, false),
            Err(AnswerError::BadPointer)
        );
        // Two pointers pointing at each other: the second points forward.
        let mut pair = vec![0xc0, answers_at + 2, 0xc0, answers_at];
        pair.extend_from_slice(&[0; 10]);
        assert_eq!(parse(1, false, &pair, false), Err(AnswerError::BadPointer));
    }

    #[test]
    fn bad_names_and_addresses() {
        let reserved = record(&[0x80, 0], TYPE_A, 1, &[1, 2, 3, 4]);
        assert_eq!(parse(1, false, &reserved, false), Err(AnswerError::BadName));
        let short_a = record(&[0xc0, Q], TYPE_A, 1, &[1, 2, 3]);
        assert_eq!(
            parse(1, false, &short_a, false),
            Err(AnswerError::BadAddress)
        );
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        let too_long = record(&[0xc0, Q], TYPE_CNAME, 1, &long);
        assert_eq!(parse(1, false, &too_long, false), Err(AnswerError::BadName));
    }

    #[test]
    fn buffers_are_reused_without_leaking_old_answers() {
        let mut p = AnswerParser::new();
        let first = record(&[0xc0, Q], TYPE_CNAME, 9, b"\x01x\x00");
        let a = p
            .parse(
                QNAME,
                "www.example.com",
                1,
                false,
                AnswerBytes {
                    bytes: &first,
                    cut: false,
                },
            )
            .unwrap();
        assert_eq!(a.chain, ["x"]);
        let a = p
            .parse(QNAME, "www.example.com", 0, false, AnswerBytes::default())
            .unwrap();
        assert_eq!(a, &Answers::default());
    }
}
