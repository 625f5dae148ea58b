//! Zeek `dns.log`, in either of Zeek's two formats:
//!
//! * TSV (the ASCII writer): `#separator`, `#set_separator`,
//!   `#empty_field`, `#unset_field`, `#fields` and `#types` headers, then
//!   one record a line; `-` is an unset field, `(empty)` an empty one;
//!   `#close` (and any other `#` line) is skipped. A new header block part
//!   way through (concatenated logs) replaces the old one.
//! * JSON lines (`LogAscii::use_json` or the JSON streaming package):
//!   dotted keys (`id.orig_h`), unset fields left out, `ts` as epoch
//!   seconds or an ISO 8601 string; a `_path` other than `dns` is skipped.
//!
//! Zeek writes one line per DNS transaction, the answer in the same line
//! as the question. A line gives a query observation (at `ts`, from
//! `id.orig_h`) when it has a `qtype` — Zeek only sets the question fields
//! from a request, so a response seen without its query has none — and a
//! response observation (at `ts + rtt`, to `id.orig_h`, with `rcode`) when
//! it has an `rcode`. Records the capture paths would not count are
//! skipped: a server port (`id.resp_p`) other than 53 (mDNS, LLMNR,
//! NetBIOS) and an `opcode` other than 0 (dynamic updates…).
//!
//! Zeek writes bytes it cannot print as `\xNN`; they are undone before the
//! name is rendered as the pcap path renders it.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use capture_common::EventKind;
use serde_json::Value;
use thiserror::Error;

use super::{
    logs::{self, DNS_PORT, Entry, LineKind, LineParser},
    name,
};
use crate::model::host::HostAddr;

/// Why a Zeek log line was refused.
#[derive(Debug, Error)]
pub enum ZeekError {
    /// A data line before any `#fields` header.
    #[error("{path}:{line}: a record before the #fields header")]
    NoHeader {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
    },
    /// A header line that cannot be used.
    #[error("{path}:{line}: bad header: {detail}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// A TSV line with another number of fields than `#fields` lists.
    #[error("{path}:{line}: {found} fields, the header lists {expected}")]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
    },
    /// A JSON line that does not parse, or is not an object.
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
    /// A field every record needs is missing or unset.
    #[error("{path}:{line}: no {field}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The field.
        field: &'static str,
    },
    /// A field that does not hold what its type says.
    #[error("{path}:{line}: bad {field} {value:?}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The field.
        field: &'static str,
        /// Its text (cut to 64 characters).
        value: String,
    },
}

/// Where the fields this reader uses sit in a TSV line.
#[derive(Clone, Debug)]
struct Columns {
    count: usize,
    ts: usize,
    orig_h: usize,
    query: usize,
    qtype: Option<usize>,
    rcode: Option<usize>,
    rtt: Option<usize>,
    resp_p: Option<usize>,
    opcode: Option<usize>,
}

/// The TSV header state of one file.
#[derive(Clone, Debug)]
struct Header {
    separator: Vec<u8>,
    unset: Vec<u8>,
    empty: Vec<u8>,
    path_is_dns: bool,
    columns: Option<Columns>,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            separator: b"\t".to_vec(),
            unset: b"-".to_vec(),
            empty: b"(empty)".to_vec(),
            path_is_dns: true,
            columns: None,
        }
    }
}

/// The fields of one record this reader uses, whatever the format.
#[derive(Debug, Default)]
struct Record<'a> {
    ts_ns: u64,
    orig_h: Option<IpAddr>,
    query: Option<&'a [u8]>,
    qtype: Option<u64>,
    rcode: Option<u64>,
    rtt_ns: Option<u64>,
    resp_p: Option<u64>,
    opcode: Option<u64>,
}

/// Reads Zeek `dns.log` lines (TSV or JSON, told line by line).
#[derive(Debug, Default)]
pub struct ZeekParser {
    path: PathBuf,
    header: Header,
    raw_name: Vec<u8>,
}

impl ZeekParser {
    /// A parser with no header read yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn bad_header(&self, line: u64, detail: impl Into<String>) -> ZeekError {
        ZeekError::BadHeader {
            path: self.path.clone(),
            line,
            detail: detail.into(),
        }
    }

    fn header_line(&mut self, line_no: u64, line: &[u8]) -> Result<LineKind, ZeekError> {
        // `#separator` is followed by a space; the others by the separator.
        if let Some(value) = line.strip_prefix(b"#separator ") {
            let mut sep = Vec::new();
            name::unescape_hex(value, &mut sep);
            if sep.is_empty() {
                return Err(self.bad_header(line_no, "empty #separator"));
            }
            self.header = Header {
                separator: sep,
                ..Header::default()
            };
            return Ok(LineKind::Header);
        }
        let mut parts = split(line, &self.header.separator);
        let key = parts.next().unwrap_or_default();
        let value = || {
            let mut v = Vec::new();
            name::unescape_hex(
                line.get(key.len() + self.header.separator.len()..)
                    .unwrap_or_default(),
                &mut v,
            );
            v
        };
        match key {
            b"#unset_field" => self.header.unset = value(),
            b"#empty_field" => self.header.empty = value(),
            b"#path" => self.header.path_is_dns = value() == b"dns",
            b"#fields" => {
                let fields: Vec<&[u8]> = parts.collect();
                let at = |name: &[u8]| fields.iter().position(|f| *f == name);
                let need = |name: &'static str| {
                    at(name.as_bytes())
                        .ok_or_else(|| self.bad_header(line_no, format!("#fields lacks {name}")))
                };
                let columns = Columns {
                    count: fields.len(),
                    ts: need("ts")?,
                    orig_h: need("id.orig_h")?,
                    query: need("query")?,
                    qtype: at(b"qtype"),
                    rcode: at(b"rcode"),
                    rtt: at(b"rtt"),
                    resp_p: at(b"id.resp_p"),
                    opcode: at(b"opcode"),
                };
                self.header.columns = Some(columns);
            }
            b"#types" => {
                let types = parts.count();
                if let Some(c) = &self.header.columns
                    && c.count != types
                {
                    return Err(
                        self.bad_header(line_no, format!("{types} #types for {} #fields", c.count))
                    );
                }
            }
            // #set_separator, #open, #close, btest banners, comments.
            _ => {}
        }
        Ok(LineKind::Header)
    }

    fn tsv_line(
        &mut self,
        line_no: u64,
        line: &[u8],
        emit: &mut dyn FnMut(&Entry<'_>),
    ) -> Result<LineKind, ZeekError> {
        let Some(c) = self.header.columns.clone() else {
            return Err(ZeekError::NoHeader {
                path: self.path.clone(),
                line: line_no,
            });
        };
        if !self.header.path_is_dns {
            return Ok(LineKind::Other);
        }
        let fields: Vec<&[u8]> = split(line, &self.header.separator).collect();
        if fields.len() != c.count {
            return Err(ZeekError::FieldCount {
                path: self.path.clone(),
                line: line_no,
                expected: c.count,
                found: fields.len(),
            });
        }
        let unset = self.header.unset.as_slice();
        let get = |i: usize| Some(fields[i]).filter(|v| *v != unset);
        let get_opt = |i: Option<usize>| i.and_then(get);
        let bad = |field: &'static str, value: &[u8]| ZeekError::BadValue {
            path: self.path.clone(),
            line: line_no,
            field,
            value: String::from_utf8_lossy(value).chars().take(64).collect(),
        };
        let missing = |field| ZeekError::Missing {
            path: self.path.clone(),
            line: line_no,
            field,
        };
        let count = |field: &'static str, v: Option<&[u8]>| {
            v.map(|v| {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| bad(field, v))
            })
            .transpose()
        };
        let ts = get(c.ts).ok_or_else(|| missing("ts"))?;
        let ts_ns = logs::decimal_seconds_ns(ts).ok_or_else(|| bad("ts", ts))?;
        let orig_h = get(c.orig_h).ok_or_else(|| missing("id.orig_h"))?;
        let orig_h = std::str::from_utf8(orig_h)
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok())
            .ok_or_else(|| bad("id.orig_h", orig_h))?;
        let rtt_ns = get_opt(c.rtt)
            .map(|v| logs::decimal_seconds_ns(v).ok_or_else(|| bad("rtt", v)))
            .transpose()?;
        let query = get(c.query).map(|q| {
            if q == self.header.empty.as_slice() {
                &b""[..]
            } else {
                q
            }
        });
        let mut raw = std::mem::take(&mut self.raw_name);
        if let Some(q) = query {
            name::unescape_hex(q, &mut raw);
        }
        let record = Record {
            ts_ns,
            orig_h: Some(orig_h),
            query: query.map(|_| raw.as_slice()),
            qtype: count("qtype", get_opt(c.qtype))?,
            rcode: count("rcode", get_opt(c.rcode))?,
            rtt_ns,
            resp_p: count("id.resp_p", get_opt(c.resp_p))?,
            opcode: count("opcode", get_opt(c.opcode))?,
        };
        let kind = entries(&record, emit);
        self.raw_name = raw;
        Ok(kind)
    }

    fn json_line(
        &mut self,
        line_no: u64,
        line: &[u8],
        emit: &mut dyn FnMut(&Entry<'_>),
    ) -> Result<LineKind, ZeekError> {
        let json_error = |source| ZeekError::Json {
            path: self.path.clone(),
            line: line_no,
            source,
        };
        let value: Value = serde_json::from_slice(line).map_err(|e| json_error(Some(e)))?;
        let Value::Object(map) = value else {
            return Err(json_error(None));
        };
        if map.get("_path").is_some_and(|p| p.as_str() != Some("dns")) {
            return Ok(LineKind::Other);
        }
        let bad = |field: &'static str, value: &Value| ZeekError::BadValue {
            path: self.path.clone(),
            line: line_no,
            field,
            value: value.to_string().chars().take(64).collect(),
        };
        let missing = |field| ZeekError::Missing {
            path: self.path.clone(),
            line: line_no,
            field,
        };
        let count = |field: &'static str| {
            map.get(field)
                .filter(|v| !v.is_null())
                .map(|v| v.as_u64().ok_or_else(|| bad(field, v)))
                .transpose()
        };
        let ts = map.get("ts").ok_or_else(|| missing("ts"))?;
        let ts_ns = json_time_ns(ts).ok_or_else(|| bad("ts", ts))?;
        let orig_h = map.get("id.orig_h").ok_or_else(|| missing("id.orig_h"))?;
        let orig_h = orig_h
            .as_str()
            .and_then(|s| s.parse::<IpAddr>().ok())
            .ok_or_else(|| bad("id.orig_h", orig_h))?;
        let rtt_ns = map
            .get("rtt")
            .filter(|v| !v.is_null())
            .map(|v| json_time_ns(v).ok_or_else(|| bad("rtt", v)))
            .transpose()?;
        let mut raw = std::mem::take(&mut self.raw_name);
        let query = match map.get("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(q)) => {
                name::unescape_hex(q.as_bytes(), &mut raw);
                Some(raw.as_slice())
            }
            Some(other) => {
                self.raw_name = raw;
                return Err(bad("query", other));
            }
        };
        let record = Record {
            ts_ns,
            orig_h: Some(orig_h),
            query,
            qtype: count("qtype")?,
            rcode: count("rcode")?,
            rtt_ns,
            resp_p: count("id.resp_p")?,
            opcode: count("opcode")?,
        };
        let kind = entries(&record, emit);
        self.raw_name = raw;
        Ok(kind)
    }
}

impl LineParser for ZeekParser {
    type Error = ZeekError;

    fn start(&mut self, path: &Path) {
        self.path = path.to_owned();
        self.header = Header::default();
    }

    fn line(
        &mut self,
        line_no: u64,
        line: &[u8],
        emit: &mut dyn FnMut(&Entry<'_>),
    ) -> Result<LineKind, ZeekError> {
        match line.iter().find(|b| !b.is_ascii_whitespace()) {
            None => Ok(LineKind::Header),
            Some(b'#') => self.header_line(line_no, line),
            Some(b'{' | b'[') => self.json_line(line_no, line, emit),
            Some(_) => self.tsv_line(line_no, line, emit),
        }
    }
}

/// The observations of one record; what the line was.
fn entries(r: &Record<'_>, emit: &mut dyn FnMut(&Entry<'_>)) -> LineKind {
    let (Some(name), Some(ip)) = (r.query, r.orig_h) else {
        return LineKind::Skipped;
    };
    if r.resp_p.is_some_and(|p| p != DNS_PORT) || r.opcode.is_some_and(|o| o != 0) {
        return LineKind::Skipped;
    }
    let host = HostAddr::from(ip);
    // QTYPEs are 16 bits; a larger count is not one.
    let qtype = r.qtype.and_then(|q| u16::try_from(q).ok());
    if let Some(qtype) = qtype {
        emit(&Entry {
            name,
            time_ns: r.ts_ns,
            host,
            kind: EventKind::Query,
            qtype,
            rcode: 0,
        });
    }
    if let Some(rcode) = r.rcode {
        emit(&Entry {
            name,
            time_ns: r.ts_ns.saturating_add(r.rtt_ns.unwrap_or(0)),
            host,
            kind: EventKind::Response,
            qtype: qtype.unwrap_or(0),
            rcode: u8::try_from(rcode).unwrap_or(u8::MAX),
        });
    }
    if qtype.is_none() && r.rcode.is_none() {
        LineKind::Skipped
    } else {
        LineKind::Record
    }
}

/// A JSON time: epoch seconds as a number, or an ISO 8601 string.
fn json_time_ns(v: &Value) -> Option<u64> {
    match v {
        // The number's shortest decimal form gives the logged digits back
        // exactly; exponent forms go through f64.
        Value::Number(n) => logs::decimal_seconds_ns(n.to_string().as_bytes()).or_else(|| {
            let secs = n.as_f64()?;
            (0.0..1.8e10)
                .contains(&secs)
                .then(|| (secs * 1e6).round() as u64 * 1000)
        }),
        Value::String(s) => logs::rfc3339_ns(s),
        _ => None,
    }
}

/// Splits `line` at every `sep` (a non-empty byte string).
fn split<'a>(line: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let r = rest?;
        match (!sep.is_empty())
            .then(|| r.windows(sep.len()).position(|w| w == sep))
            .flatten()
        {
            Some(at) => {
                rest = Some(&r[at + sep.len()..]);
                Some(&r[..at])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = (String, EventKind, u16, u8, u64, String);

    fn run(lines: &[&str]) -> (Vec<Seen>, Vec<String>) {
        let mut p = ZeekParser::new();
        p.start(Path::new("t.log"));
        let mut out = Vec::new();
        let mut errors = Vec::new();
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
            if let Err(e) = p.line(i as u64 + 1, l.as_bytes(), &mut emit) {
                errors.push(e.to_string());
            }
        }
        (out, errors)
    }

    const HEADER: [&str; 7] = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tdns",
        "#fields\tts\tid.orig_h\tid.resp_p\tquery\tqtype\trcode\trtt",
        "#types\ttime\taddr\tport\tstring\tcount\tcount\tinterval",
    ];

    #[test]
    fn tsv_headers_set_the_columns_and_markers() {
        let mut lines = HEADER.to_vec();
        lines.extend([
            "1.5\t10.0.0.1\t53\tWWW.Example.com\t1\t3\t0.25",
            "2\t10.0.0.2\t53\tq.example\t28\t-\t-",
            "3\t10.0.0.3\t53\tr.example\t-\t0\t-",
            "4\t10.0.0.4\t5353\tprinter.local\t12\t0\t-",
            "5\t::1\t53\t(empty)\t2\t-\t-",
            "6\t10.0.0.6\t53\t-\t1\t-\t-",
            "#close\t2016-07-13-16-16-13",
        ]);
        let (out, errors) = run(&lines);
        assert!(errors.is_empty(), "{errors:?}");
        let s = |x: &str| x.to_owned();
        assert_eq!(
            out,
            vec![
                (
                    s("WWW.Example.com"),
                    EventKind::Query,
                    1,
                    0,
                    1_500_000_000,
                    s("10.0.0.1")
                ),
                (
                    s("WWW.Example.com"),
                    EventKind::Response,
                    1,
                    3,
                    1_750_000_000,
                    s("10.0.0.1")
                ),
                (
                    s("q.example"),
                    EventKind::Query,
                    28,
                    0,
                    2_000_000_000,
                    s("10.0.0.2")
                ),
                (
                    s("r.example"),
                    EventKind::Response,
                    0,
                    0,
                    3_000_000_000,
                    s("10.0.0.3")
                ),
                (s(""), EventKind::Query, 2, 0, 5_000_000_000, s("::1")),
            ]
        );
    }

    #[test]
    fn other_separators_and_markers_are_honoured() {
        let (out, errors) = run(&[
            "#separator |",
            "#unset_field|NONE",
            "#fields|ts|id.orig_h|query|qtype|rcode",
            "7|10.0.0.1|a\\x2eb\\x00.example|NONE|2",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, "a.b\0.example");
        assert_eq!(out[0].1, EventKind::Response);
    }

    #[test]
    fn bad_tsv_lines_are_faults_with_their_line() {
        let mut lines = vec!["1\t10.0.0.1\t53\ta\t1\t0\t-"];
        lines.extend(HEADER);
        lines.extend([
            "1\t10.0.0.1\t53\ta\t1\t0",
            "x\t10.0.0.1\t53\ta\t1\t0\t-",
            "1\tnot-an-ip\t53\ta\t1\t0\t-",
            "1\t10.0.0.1\t53\ta\tA\t0\t-",
            "-\t10.0.0.1\t53\ta\t1\t0\t-",
            "#fields\tts\tuid",
        ]);
        let (out, errors) = run(&lines);
        assert!(out.is_empty());
        assert_eq!(errors.len(), 7, "{errors:?}");
        assert!(
            errors[0].starts_with("t.log:1: a record before"),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("t.log:9: 6 fields"), "{errors:?}");
        assert!(errors[2].contains(":10: bad ts"), "{errors:?}");
        assert!(errors[3].contains("bad id.orig_h"), "{errors:?}");
        assert!(errors[4].contains("bad qtype"), "{errors:?}");
        assert!(errors[5].contains("no ts"), "{errors:?}");
        assert!(errors[6].contains("lacks id.orig_h"), "{errors:?}");
    }

    #[test]
    fn json_lines_take_epoch_or_iso_times_and_skip_other_logs() {
        let (out, errors) = run(&[
            r#"{"ts":1547188415.857497,"id.orig_h":"192.168.86.167","id.resp_p":53,"query":"a.example","qtype":1,"rcode":0,"rtt":0.076967}"#,
            r#"{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","id.orig_h":"10.0.0.1","query":"b\\x41.example","qtype":28}"#,
            r#"{"_path":"conn","ts":1,"id.orig_h":"10.0.0.1"}"#,
            r#"{"ts":1,"id.orig_h":"fe80::1","id.resp_p":5353,"query":"x.local","qtype":12}"#,
            r#"{"ts":1,"id.orig_h":"10.0.0.1","opcode":5,"query":"zone.example","rcode":5}"#,
            r#"{"result":{"_raw":"..."}}"#,
            r#"["not","an","object"]"#,
            r#"{"ts":1,"id.orig_h":"10.0.0.1","query":"a","qtype":"A"}"#,
        ]);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0].4, 1_547_188_415_857_497_000);
        assert_eq!(out[1].4, 1_547_188_415_857_497_000 + 76_967_000);
        assert_eq!(out[2].0, "bA.example");
        assert_eq!(out[2].4, 1_521_911_720_865_716_000);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains(":6: no ts"));
        assert!(errors[1].contains(":7: not a JSON object"));
        assert!(errors[2].contains(":8: bad qtype"));
    }
}
