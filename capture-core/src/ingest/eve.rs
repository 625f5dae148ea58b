//! Suricata EVE JSON lines: the `event_type: "dns"` events (other event
//! types are passed over), in each of the DNS logging versions Suricata
//! has written:
//!
//! * v1 (no `version` key, Suricata ≤ 4): a `query` event per question
//!   (`dns.rrname`, `dns.rrtype`) and an `answer` event **per answer
//!   record**, whose `rrname`/`rrtype` are that record's, not the
//!   question's. The events of one response share flow, DNS id and
//!   timestamp: the first one counts as the response (its name is the
//!   question's — the first answer is owned by the question name, and a
//!   response without answers has one event with the question name); the
//!   rest are passed over as records of the same response. The first
//!   record's type need not be the question's (a CNAME), so the response
//!   takes its QTYPE from the query event of the same flow and DNS id when
//!   one was read, and 0 (unknown) otherwise.
//! * v2 (`"version": 2`, Suricata 4.1–7): `query` events as in v1; one
//!   `answer` event per response with the question in `dns.rrname` and
//!   `dns.rrtype` and the records in `answers`/`grouped`.
//! * v3 (`"version": 3`, Suricata 8): `request` (or `query`) and
//!   `answer`/`response` events with the questions in `dns.queries[]`;
//!   the first question counts, as on the wire.
//!
//! Which address is the client: Suricata up to 6 writes an answer with the
//! packet's addresses (server → client); Suricata 7 writes it in the
//! flow's direction (client → server; see the 7.0.6 sample). So the side
//! on port 53 is taken as the server ([`logs::response_client_is_destination`]);
//! a query's client is its source. Events on neither side of port 53
//! (mDNS, LLMNR) are passed over, as the capture paths pass them over.
//!
//! `timestamp` is RFC 3339 with an offset, which Suricata writes without a
//! colon (`+0000`): parsed with `jiff`. Names are lowercased and their
//! `\xNN` escapes undone as for Zeek.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use capture_common::EventKind;
use hashbrown::{HashMap, HashSet};
use serde_json::{Map, Value};
use thiserror::Error;

use super::{
    logs::{self, DNS_PORT, Entry, LineKind, LineParser},
    name,
};
use crate::model::host::HostAddr;

/// v1 answer keys remembered to fold one response's events into one
/// (cleared when full: the events of one response are adjacent).
const RECENT_ANSWERS: usize = 4096;

/// Why an EVE line was refused.
#[derive(Debug, Error)]
pub enum EveError {
    /// The line is not a JSON object.
    #[error("{path}:{line}: not a JSON object")]
    Json {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// Cause, when serde_json had one.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// A field a DNS event needs is missing.
    #[error("{path}:{line}: no {field}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The field.
        field: &'static str,
    },
    /// A field that does not hold what it should.
    #[error("{path}:{line}: bad {field} {value}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The field.
        field: &'static str,
        /// Its JSON text (cut to 64 characters).
        value: String,
    },
}

/// Reads EVE lines.
#[derive(Debug, Default)]
pub struct EveParser {
    path: PathBuf,
    raw_name: Vec<u8>,
    /// (flow_id, DNS id, time) of v1 answer events already counted.
    recent_answers: HashSet<(u64, u64, u64)>,
    /// (flow_id, DNS id) of recent queries → their QTYPE, for v1 answers.
    recent_queries: HashMap<(u64, u64), u16>,
}

impl EveParser {
    /// A fresh parser.
    pub fn new() -> Self {
        Self::default()
    }
}

impl LineParser for EveParser {
    type Error = EveError;

    fn start(&mut self, path: &Path) {
        self.path = path.to_owned();
        self.recent_answers.clear();
        self.recent_queries.clear();
    }

    fn line(
        &mut self,
        line_no: u64,
        line: &[u8],
        emit: &mut dyn FnMut(&Entry<'_>),
    ) -> Result<LineKind, EveError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(LineKind::Header);
        }
        let path = &self.path;
        let json_error = |source| EveError::Json {
            path: path.clone(),
            line: line_no,
            source,
        };
        let value: Value = serde_json::from_slice(line).map_err(|e| json_error(Some(e)))?;
        let Value::Object(event) = value else {
            return Err(json_error(None));
        };
        let missing = |field| EveError::Missing {
            path: path.clone(),
            line: line_no,
            field,
        };
        let bad = |field: &'static str, value: &Value| EveError::BadValue {
            path: path.clone(),
            line: line_no,
            field,
            value: value.to_string().chars().take(64).collect(),
        };
        match event.get("event_type") {
            Some(Value::String(t)) if t == "dns" => {}
            Some(Value::String(_)) => return Ok(LineKind::Other),
            Some(other) => return Err(bad("event_type", other)),
            None => return Err(missing("event_type")),
        }
        let Some(Value::Object(dns)) = event.get("dns") else {
            return Err(event
                .get("dns")
                .map_or_else(|| missing("dns"), |v| bad("dns", v)));
        };
        let ts = event.get("timestamp").ok_or_else(|| missing("timestamp"))?;
        let time_ns = ts
            .as_str()
            .and_then(logs::rfc3339_ns)
            .ok_or_else(|| bad("timestamp", ts))?;
        let ip = |field: &'static str| {
            let v = event.get(field).ok_or_else(|| missing(field))?;
            v.as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .ok_or_else(|| bad(field, v))
        };
        let port = |field: &'static str| match event.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| bad(field, v)),
        };
        let (src_port, dest_port) = (port("src_port")?, port("dest_port")?);
        let version = match dns.get("version") {
            None => 1,
            Some(v) => v.as_u64().ok_or_else(|| bad("dns.version", v))?,
        };
        let kind = match dns.get("type").and_then(Value::as_str) {
            Some("query" | "request") => EventKind::Query,
            Some("answer" | "response") => EventKind::Response,
            // v1 `authority` events and anything newer: not a message.
            Some(_) => return Ok(LineKind::Skipped),
            None => return Err(missing("dns.type")),
        };
        let client_is_dest = match kind {
            EventKind::Query if dest_port.is_some_and(|p| p != DNS_PORT) => None,
            EventKind::Query => Some(false),
            EventKind::Response => logs::response_client_is_destination(src_port, dest_port),
        };
        let Some(client_is_dest) = client_is_dest else {
            return Ok(LineKind::Skipped);
        };
        let host = HostAddr::from(ip(if client_is_dest { "dest_ip" } else { "src_ip" })?);
        let Some((rrname, rrtype)) = question(dns) else {
            // An answer to nothing (a format error answered without its
            // question) carries no name to count.
            return Ok(LineKind::Skipped);
        };
        let rrname = rrname.as_str().ok_or_else(|| bad("dns.rrname", rrname))?;
        let mut qtype = match rrtype {
            None => 0,
            Some(t) => rr_type(t).ok_or_else(|| bad("dns.rrtype", t))?,
        };
        let rcode = match (kind, dns.get("rcode")) {
            (EventKind::Query, _) | (_, None) => 0,
            (_, Some(r)) => response_code(r).ok_or_else(|| bad("dns.rcode", r))?,
        };
        let flow = event.get("flow_id").and_then(Value::as_u64).unwrap_or(0);
        let id = dns.get("id").and_then(Value::as_u64).unwrap_or(0);
        if kind == EventKind::Query {
            if self.recent_queries.len() >= RECENT_ANSWERS {
                self.recent_queries.clear();
            }
            self.recent_queries.insert((flow, id), qtype);
        } else if version == 1 {
            if self.recent_answers.len() >= RECENT_ANSWERS {
                self.recent_answers.clear();
            }
            if !self.recent_answers.insert((flow, id, time_ns)) {
                return Ok(LineKind::Skipped);
            }
            qtype = self.recent_queries.get(&(flow, id)).copied().unwrap_or(0);
        }
        name::unescape_hex(rrname.as_bytes(), &mut self.raw_name);
        emit(&Entry {
            name: &self.raw_name,
            time_ns,
            host,
            kind,
            qtype,
            rcode,
        });
        Ok(LineKind::Record)
    }
}

/// The question's name and type: `queries[0]` (v3) or the top-level
/// `rrname`/`rrtype` (v1, v2).
fn question(dns: &Map<String, Value>) -> Option<(&Value, Option<&Value>)> {
    if let Some(Value::Array(queries)) = dns.get("queries") {
        let first = queries.first()?;
        return Some((first.get("rrname")?, first.get("rrtype")));
    }
    Some((dns.get("rrname")?, dns.get("rrtype")))
}

/// A record type as Suricata writes it (a mnemonic, or the number for
/// types it has no name for) → its number.
fn rr_type(v: &Value) -> Option<u16> {
    if let Some(n) = v.as_u64() {
        return u16::try_from(n).ok();
    }
    let s = v.as_str()?;
    if let Ok(n) = s.parse::<u16>() {
        return Some(n);
    }
    if let Some(n) = s.strip_prefix("TYPE").and_then(|n| n.parse::<u16>().ok()) {
        return Some(n);
    }
    const TYPES: &[(&str, u16)] = &[
        ("A", 1),
        ("NS", 2),
        ("MD", 3),
        ("MF", 4),
        ("CNAME", 5),
        ("SOA", 6),
        ("MB", 7),
        ("MG", 8),
        ("MR", 9),
        ("NULL", 10),
        ("WKS", 11),
        ("PTR", 12),
        ("HINFO", 13),
        ("MINFO", 14),
        ("MX", 15),
        ("TXT", 16),
        ("RP", 17),
        ("AFSDB", 18),
        ("X25", 19),
        ("ISDN", 20),
        ("RT", 21),
        ("NSAP", 22),
        ("NSAP-PTR", 23),
        ("NSAPPTR", 23),
        ("SIG", 24),
        ("KEY", 25),
        ("PX", 26),
        ("GPOS", 27),
        ("AAAA", 28),
        ("LOC", 29),
        ("NXT", 30),
        ("SRV", 33),
        ("ATMA", 34),
        ("NAPTR", 35),
        ("KX", 36),
        ("CERT", 37),
        ("A6", 38),
        ("DNAME", 39),
        ("OPT", 41),
        ("APL", 42),
        ("DS", 43),
        ("SSHFP", 44),
        ("IPSECKEY", 45),
        ("RRSIG", 46),
        ("NSEC", 47),
        ("DNSKEY", 48),
        ("DHCID", 49),
        ("NSEC3", 50),
        ("NSEC3PARAM", 51),
        ("TLSA", 52),
        ("SMIMEA", 53),
        ("HIP", 55),
        ("CDS", 59),
        ("CDNSKEY", 60),
        ("OPENPGPKEY", 61),
        ("CSYNC", 62),
        ("ZONEMD", 63),
        ("SVCB", 64),
        ("HTTPS", 65),
        ("SPF", 99),
        ("TKEY", 249),
        ("TSIG", 250),
        ("IXFR", 251),
        ("AXFR", 252),
        ("MAILB", 253),
        ("MAILA", 254),
        ("ANY", 255),
        ("*", 255),
        ("URI", 256),
        ("CAA", 257),
    ];
    TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|&(_, n)| n)
}

/// A response code as Suricata writes it (a mnemonic or a number).
fn response_code(v: &Value) -> Option<u8> {
    if let Some(n) = v.as_u64() {
        return u8::try_from(n).ok();
    }
    let s = v.as_str()?;
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    const CODES: &[&str] = &[
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    CODES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(s))
        .and_then(|i| u8::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = (String, EventKind, u16, u8, u64, String);

    fn run(lines: &[&str]) -> (Vec<Seen>, Vec<LineKind>, Vec<String>) {
        let mut p = EveParser::new();
        p.start(Path::new("eve.json"));
        let (mut out, mut kinds, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        for (i, l) in lines.iter().enumerate() {
            let mut emit = |e: &Entry<'_>| {
                out.push((
                    String::from_utf8_lossy(e.name).into_owned(),
                    e.kind,
                    e.qtype,
                    e.rcode,
                    e.time_ns,
                    e.host.to_string(),
                ));
            };
            match p.line(i as u64 + 1, l.as_bytes(), &mut emit) {
                Ok(k) => kinds.push(k),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (out, kinds, errors)
    }

    const T0: u64 = 1_464_132_421_960_780_000;

    #[test]
    fn v1_one_response_per_group_of_answer_records() {
        let (out, kinds, errors) = run(&[
            r#"{"timestamp":"2016-05-24T23:27:01.960780+0000","flow_id":7,"event_type":"dns","src_ip":"10.16.1.11","src_port":49697,"dest_ip":"10.16.1.1","dest_port":53,"proto":"UDP","dns":{"type":"query","id":3407,"rrname":"Block.Dropbox.com","rrtype":"A","tx_id":0}}"#,
            r#"{"timestamp":"2016-05-24T23:27:01.960780+0000","flow_id":7,"event_type":"dns","src_ip":"10.16.1.1","src_port":53,"dest_ip":"10.16.1.11","dest_port":49697,"proto":"UDP","dns":{"type":"answer","id":3407,"rcode":"NOERROR","rrname":"block.dropbox.com","rrtype":"CNAME","ttl":5,"rdata":"block.g1.dropbox.com"}}"#,
            r#"{"timestamp":"2016-05-24T23:27:01.960780+0000","flow_id":7,"event_type":"dns","src_ip":"10.16.1.1","src_port":53,"dest_ip":"10.16.1.11","dest_port":49697,"proto":"UDP","dns":{"type":"answer","id":3407,"rcode":"NOERROR","rrname":"block.g1.dropbox.com","rrtype":"A","ttl":5,"rdata":"1.2.3.4"}}"#,
            r#"{"timestamp":"2016-05-24T23:27:01.960780+0000","flow_id":7,"event_type":"flow","src_ip":"10.16.1.1"}"#,
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            kinds,
            [
                LineKind::Record,
                LineKind::Record,
                LineKind::Skipped,
                LineKind::Other
            ]
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, "Block.Dropbox.com");
        assert_eq!(
            (out[0].1, out[0].2, out[0].5.as_str()),
            (EventKind::Query, 1, "10.16.1.11")
        );
        assert_eq!(out[1].0, "block.dropbox.com");
        assert_eq!((out[1].1, out[1].3, out[1].4), (EventKind::Response, 0, T0));
        // The question's type (A), not the first record's (CNAME).
        assert_eq!(out[1].2, 1);
        assert_eq!(out[1].5, "10.16.1.11");
    }

    #[test]
    fn v2_answers_carry_the_question_and_either_direction() {
        let (out, _, errors) = run(&[
            // Suricata 4.1: the answer goes server → client.
            r#"{"timestamp":"2019-08-22T23:48:27.950946+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.2.3","src_port":53,"dest_ip":"10.0.2.15","dest_port":36993,"proto":"UDP","dns":{"version":2,"type":"answer","id":39523,"rcode":"NOERROR","rrname":"google.com","rrtype":"AAAA","answers":[{"rrname":"google.com","rrtype":"AAAA"}]}}"#,
            // Suricata 7: in the flow's direction, client → server.
            r#"{"timestamp":"2022-02-08T09:40:31.195265-0500","flow_id":2,"event_type":"dns","src_ip":"10.2.8.102","src_port":49278,"dest_ip":"10.2.8.8","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","id":22761,"opcode":0,"rrname":"nx.example","rrtype":"A","rcode":"NXDOMAIN","authorities":[]}}"#,
            // mDNS: passed over.
            r#"{"timestamp":"2022-02-08T09:40:31Z","event_type":"dns","src_ip":"10.2.8.102","src_port":5353,"dest_ip":"224.0.0.251","dest_port":5353,"dns":{"version":2,"type":"answer","rrname":"x.local","rrtype":"PTR","rcode":"NOERROR"}}"#,
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].2, out[0].5.as_str()), (28, "10.0.2.15"));
        assert_eq!((out[1].3, out[1].5.as_str()), (3, "10.2.8.102"));
        assert_eq!(out[1].4, 1_644_331_231_195_265_000);
    }

    #[test]
    fn v3_questions_come_from_the_queries_array() {
        let (out, _, errors) = run(&[
            r#"{"timestamp":"2026-09-06T10:00:00.000000+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.2","src_port":53000,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP","dns":{"version":3,"type":"request","id":77,"queries":[{"rrname":"www.example.com","rrtype":"HTTPS"}]}}"#,
            r#"{"timestamp":"2026-09-06T10:00:00.010000+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.1","src_port":53,"dest_ip":"10.0.0.2","dest_port":53000,"proto":"UDP","dns":{"version":3,"type":"answer","id":77,"rcode":"SERVFAIL","queries":[{"rrname":"www.example.com","rrtype":"HTTPS"}],"answers":[]}}"#,
            r#"{"timestamp":"2026-09-06T10:00:00.020000+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.1","src_port":53,"dest_ip":"10.0.0.2","dest_port":53000,"dns":{"version":3,"type":"answer","id":78,"rcode":"FORMERR"}}"#,
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].1, out[0].2, out[0].5.as_str()),
            (EventKind::Query, 65, "10.0.0.2")
        );
        assert_eq!(
            (out[1].1, out[1].3, out[1].5.as_str()),
            (EventKind::Response, 2, "10.0.0.2")
        );
    }

    #[test]
    fn bad_events_are_faults_with_their_line() {
        let (out, _, errors) = run(&[
            "{not json",
            r#"{"event_type":"dns","src_ip":"10.0.0.1","dns":{"type":"query","rrname":"a"}}"#,
            r#"{"timestamp":"never","event_type":"dns","src_ip":"10.0.0.1","dns":{"type":"query","rrname":"a"}}"#,
            r#"{"timestamp":"2016-05-24T23:27:01Z","event_type":"dns","src_ip":"nope","dns":{"type":"query","rrname":"a"}}"#,
            r#"{"timestamp":"2016-05-24T23:27:01Z","event_type":"dns","src_ip":"10.0.0.1","dns":{"type":"query","rrname":"a","rrtype":"BOGUS"}}"#,
            r#"{"timestamp":"2016-05-24T23:27:01Z","event_type":"dns","src_ip":"10.0.0.1","dns":"x"}"#,
            "[]",
        ]);
        assert!(out.is_empty());
        assert_eq!(errors.len(), 7, "{errors:?}");
        assert!(errors[0].starts_with("eve.json:1: not a JSON object"));
        assert!(errors[1].contains(":2: no timestamp"));
        assert!(errors[2].contains(":3: bad timestamp"));
        assert!(errors[3].contains(":4: bad src_ip"));
        assert!(errors[4].contains(":5: bad dns.rrtype"));
        assert!(errors[5].contains(":6: bad dns"));
        assert!(errors[6].contains(":7: not a JSON object"));
    }

    #[test]
    fn types_and_codes_by_name_or_number() {
        assert_eq!(rr_type(&Value::from("aaaa")), Some(28));
        assert_eq!(rr_type(&Value::from("TYPE65")), Some(65));
        assert_eq!(rr_type(&Value::from("65")), Some(65));
        assert_eq!(rr_type(&Value::from(16)), Some(16));
        assert_eq!(rr_type(&Value::from("nope")), None);
        assert_eq!(response_code(&Value::from("NXDOMAIN")), Some(3));
        assert_eq!(response_code(&Value::from(5)), Some(5));
        assert_eq!(response_code(&Value::from("BADVERS")), None);
    }
}
