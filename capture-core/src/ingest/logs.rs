//! Reading DNS logs (Zeek `dns.log`, Suricata EVE) line by line into the
//! observations the engine counts: the part both formats share.
//!
//! A file is plain text or gzip (told by its magic bytes, read with
//! `flate2`). Each line goes to a [`LineParser`] ([`super::zeek`],
//! [`super::eve`]), which hands back [`Entry`]s: one side of a DNS
//! transaction with the name as the log wrote it, unescaped. The name is
//! then rendered exactly as the pcap path renders it from the wire
//! ([`super::name::render_text_into`]), so the same query counts under the
//! same name whichever way it came in.
//!
//! A line the parser refuses is counted as malformed (the first line
//! numbers and the first faults are kept) and reading goes on. A file that
//! ends early — a gzip stream cut short, or a last line with no newline
//! that does not parse — stops the file with a [`ReadError`]: everything
//! before it has been delivered.

use std::{
    cell::Cell,
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    rc::Rc,
};

use capture_common::EventKind;
use flate2::read::MultiGzDecoder;
use thiserror::Error;

use super::{
    name,
    observation::{Answered, Observation},
};
use crate::model::{capture::ParseErrorCounts, host::HostAddr};

/// Malformed line numbers kept per file (the count goes on).
pub const KEPT_LINE_NUMBERS: usize = 10;
/// Fault messages kept per file.
pub const KEPT_FAULTS: usize = 3;
/// Lines between two calls of the progress callback.
pub const PROGRESS_EVERY_LINES: u64 = 4096;

/// The DNS port: records on other ports (mDNS, LLMNR, NetBIOS) are
/// skipped, as the capture paths skip them.
pub const DNS_PORT: u64 = 53;

/// Which log format a file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Zeek `dns.log`, TSV or JSON lines.
    Zeek,
    /// Suricata EVE JSON lines.
    Eve,
}

/// One side of a DNS transaction as a log line records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The question name, escapes undone, case as logged.
    pub name: &'a [u8],
    /// When, ns since the UNIX epoch.
    pub time_ns: u64,
    /// The client.
    pub host: HostAddr,
    /// Query or response.
    pub kind: EventKind,
    /// QTYPE (0 when the log does not say).
    pub qtype: u16,
    /// RCODE (responses).
    pub rcode: u8,
}

/// What a line was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A header, comment or blank line.
    Header,
    /// A DNS record; its entries were emitted.
    Record,
    /// A DNS record the capture paths would not count (another port,
    /// another opcode, no name): nothing emitted.
    Skipped,
    /// Another kind of event (EVE `flow`, `alert`, …): nothing emitted.
    Other,
}

/// A parser of one log format, fed one line at a time.
pub trait LineParser {
    /// Why a line was refused; carries the file and line.
    type Error: std::error::Error;

    /// A new file starts: forget per-file state (headers).
    fn start(&mut self, path: &Path);

    /// Parses line `line_no` (1-based, without its line ending) and calls
    /// `emit` for every entry it holds.
    fn line(
        &mut self,
        line_no: u64,
        line: &[u8],
        emit: &mut dyn FnMut(&Entry<'_>),
    ) -> Result<LineKind, Self::Error>;
}

/// Why a log file could not be read to its end.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file cannot be opened.
    #[error("cannot read {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading failed part way (a gzip stream cut short or damaged, an I/O
    /// error).
    #[error("{path}: read failed at line {line}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The line being read.
        line: u64,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The last line has no line ending and does not parse: the file was
    /// cut in the middle of a record.
    #[error("{path}: cut in the middle of line {line}")]
    Cut {
        /// The file.
        path: PathBuf,
        /// The cut line.
        line: u64,
    },
}

/// What was read from one log file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTotals {
    /// The file.
    pub path: PathBuf,
    /// Lines read, headers and blank lines included.
    pub lines: u64,
    /// DNS records (counted or skipped).
    pub records: u64,
    /// DNS records skipped (other ports, other opcodes, no name).
    pub skipped: u64,
    /// Lines of other event types (EVE).
    pub other_events: u64,
    /// Query observations emitted.
    pub queries: u64,
    /// Response observations emitted.
    pub responses: u64,
    /// Names that break the wire-form limits (not counted).
    pub bad_names: ParseErrorCounts,
    /// Lines refused.
    pub malformed: u64,
    /// The first [`KEPT_LINE_NUMBERS`] refused line numbers.
    pub malformed_lines: Vec<u64>,
    /// The first [`KEPT_FAULTS`] reasons, with file and line.
    pub faults: Vec<String>,
    /// Bytes of the file consumed (compressed bytes for gzip).
    pub bytes: u64,
}

/// A `Read` that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A file's lines, and a count of the file bytes consumed so far.
type Opened = (Box<dyn BufRead>, Rc<Cell<u64>>);

/// Opens `path`, through a gzip decoder when it starts with the gzip
/// magic bytes.
fn open(path: &Path) -> Result<Opened, ReadError> {
    let open_error = |source| ReadError::Open {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(open_error)?;
    let count = Rc::new(Cell::new(0));
    let mut raw = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            count: Rc::clone(&count),
        },
    );
    let gzip = raw
        .fill_buf()
        .map_err(open_error)?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };
    Ok((reader, count))
}

/// Reads `path` with `parser`, calls `emit` for every observation in file
/// order and `progress` now and then with the file bytes consumed; what
/// was read goes to `totals` (also on error).
pub fn read_log<P: LineParser>(
    path: &Path,
    parser: &mut P,
    totals: &mut LogTotals,
    mut emit: impl FnMut(&Observation<'_>),
    mut progress: impl FnMut(u64),
) -> Result<(), ReadError> {
    totals.path = path.to_owned();
    let (mut reader, count) = open(path)?;
    parser.start(path);
    let mut buf = Vec::with_capacity(1024);
    let mut rendered = String::with_capacity(256);
    let mut line_no = 0u64;
    let result = loop {
        buf.clear();
        line_no += 1;
        let read = reader.read_until(b'\n', &mut buf);
        totals.bytes = count.get();
        match read {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(source) => {
                break Err(ReadError::Read {
                    path: path.to_owned(),
                    line: line_no,
                    source,
                });
            }
        }
        totals.lines += 1;
        let complete = buf.last() == Some(&b'\n');
        let mut line = buf.as_slice();
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        let mut each = |entry: &Entry<'_>| match name::render_text_into(entry.name, &mut rendered) {
            Ok(()) => {
                match entry.kind {
                    EventKind::Query => totals.queries += 1,
                    EventKind::Response => totals.responses += 1,
                }
                emit(&Observation {
                    name: &rendered,
                    time_ns: entry.time_ns,
                    host: entry.host,
                    kind: entry.kind,
                    qtype: entry.qtype,
                    rcode: entry.rcode,
                    answers: Answered::Unknown,
                    upstream: false,
                });
            }
            Err(reason) => *totals.bad_names.get_mut(reason) += 1,
        };
        match parser.line(line_no, line, &mut each) {
            Ok(LineKind::Header) => {}
            Ok(LineKind::Record) => totals.records += 1,
            Ok(LineKind::Skipped) => {
                totals.records += 1;
                totals.skipped += 1;
            }
            Ok(LineKind::Other) => totals.other_events += 1,
            Err(_) if !complete => {
                break Err(ReadError::Cut {
                    path: path.to_owned(),
                    line: line_no,
                });
            }
            Err(fault) => {
                totals.malformed += 1;
                if totals.malformed_lines.len() < KEPT_LINE_NUMBERS {
                    totals.malformed_lines.push(line_no);
                }
                if totals.faults.len() < KEPT_FAULTS {
                    totals.faults.push(fault.to_string());
                }
            }
        }
        if line_no.is_multiple_of(PROGRESS_EVERY_LINES) {
            progress(totals.bytes);
        }
    };
    totals.bytes = count.get();
    result
}

/// The client and whether the record is DNS the capture paths count, from
/// the two ports of a response (`None` when the log leaves one out): the
/// side on port 53 is the server. Both on 53: the destination (the packet
/// went from the server to the client); no port known: the destination.
/// Neither on 53: `None` (mDNS, LLMNR and the like are not counted).
pub(crate) fn response_client_is_destination(
    src_port: Option<u64>,
    dest_port: Option<u64>,
) -> Option<bool> {
    match (src_port, dest_port) {
        (Some(DNS_PORT), _) => Some(true),
        (Some(_), Some(DNS_PORT)) => Some(false),
        (Some(_), Some(_)) => None,
        _ => Some(true),
    }
}

/// Parses a decimal number of seconds (`964953086.310131`) into
/// nanoseconds, exactly; digits past the ninth decimal are dropped.
pub(crate) fn decimal_seconds_ns(text: &[u8]) -> Option<u64> {
    let (whole, frac) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let mut secs: u64 = 0;
    for &d in whole {
        secs = secs.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    let mut ns: u64 = 0;
    for i in 0..9 {
        ns = ns * 10 + frac.get(i).map_or(0, |d| u64::from(d - b'0'));
    }
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
}

/// Parses an RFC 3339 time with any offset (`2016-05-24T23:27:01.960780+0000`,
/// `…-05:00`, `…Z`) into ns since the epoch; times before 1970 are `None`.
pub(crate) fn rfc3339_ns(text: &str) -> Option<u64> {
    let t: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(t.as_nanosecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_are_exact() {
        assert_eq!(
            decimal_seconds_ns(b"964953086.310131"),
            Some(964_953_086_310_131_000)
        );
        assert_eq!(decimal_seconds_ns(b"12"), Some(12_000_000_000));
        assert_eq!(decimal_seconds_ns(b".5"), Some(500_000_000));
        assert_eq!(decimal_seconds_ns(b"1.0000000019"), Some(1_000_000_001));
        for bad in [
            &b""[..],
            b".",
            b"-1",
            b"1e9",
            b"XXXXXXXXXX.XXXXXX",
            b"99999999999999999999",
        ] {
            assert_eq!(decimal_seconds_ns(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_takes_offsets_with_and_without_colon() {
        let utc = rfc3339_ns("2016-05-24T23:27:01.960780+0000");
        assert_eq!(utc, Some(1_464_132_421_960_780_000));
        assert_eq!(rfc3339_ns("2016-05-24T23:27:01.960780Z"), utc);
        assert_eq!(rfc3339_ns("2016-05-24T18:27:01.960780-05:00"), utc);
        assert_eq!(rfc3339_ns("2016-05-24T18:27:01.960780-0500"), utc);
        assert_eq!(rfc3339_ns("1969-12-31T23:59:59Z"), None);
        assert_eq!(rfc3339_ns("yesterday"), None);
    }

    #[test]
    fn the_side_on_port_53_is_the_server() {
        assert_eq!(
            response_client_is_destination(Some(53), Some(40000)),
            Some(true)
        );
        assert_eq!(
            response_client_is_destination(Some(40000), Some(53)),
            Some(false)
        );
        assert_eq!(
            response_client_is_destination(Some(53), Some(53)),
            Some(true)
        );
        assert_eq!(response_client_is_destination(None, None), Some(true));
        assert_eq!(response_client_is_destination(Some(5353), Some(5353)), None);
    }
}
