//! Reading capture files frame by frame: classic pcap (microsecond and
//! nanosecond, either byte order) and pcapng, through pcap-parser, a
//! maintained streaming parser of both formats (rusticata). Frames are
//! handed to a callback with their link type and capture timestamp; a
//! damaged file stops with an error that says where, after every frame
//! before the damage has been delivered.

use std::{
    fs::File,
    io::BufReader,
    path::{Path, PathBuf},
};

use pcap_parser::{
    Block, Linktype, PcapBlockOwned, PcapError as ParserError, PcapHeader, create_reader,
};
use thiserror::Error;

/// Read buffer; grows up to [`MAX_BUFFER`] for large blocks.
const BUFFER: usize = 1 << 20;
/// The largest block accepted (a 256 KiB record is already far past any
/// real snapshot length).
const MAX_BUFFER: usize = 16 << 20;

/// Link layers the packet parser understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II (DLT_EN10MB).
    Ethernet,
    /// Linux cooked capture v1 (DLT_LINUX_SLL).
    LinuxSll,
    /// Linux cooked capture v2 (DLT_LINUX_SLL2).
    LinuxSll2,
    /// Bare IPv4 or IPv6 (DLT_RAW and friends).
    RawIp,
    /// Anything else (counted, not parsed).
    Other(i32),
}

impl Link {
    fn from_linktype(t: Linktype) -> Self {
        match t {
            Linktype::ETHERNET => Self::Ethernet,
            Linktype::LINUX_SLL => Self::LinuxSll,
            Linktype::LINUX_SLL2 => Self::LinuxSll2,
            Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => Self::RawIp,
            // DLT_RAW's other historical numbers.
            Linktype(12) | Linktype(14) => Self::RawIp,
            Linktype(other) => Self::Other(other),
        }
    }
}

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Its link layer.
    pub link: Link,
    /// Capture time, ns since the UNIX epoch.
    pub time_ns: u64,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Byte offset of its record in the file.
    pub offset: u64,
}

/// Why a capture could not be read (entirely).
#[derive(Debug, Error)]
pub enum PcapError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Neither a pcap nor a pcapng file.
    #[error("{path} is not a pcap or pcapng file (bad magic number)")]
    NotACapture {
        /// The file.
        path: PathBuf,
    },
    /// The file ends in the middle of a record.
    #[error("{path}: truncated record at byte offset {offset}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the cut record starts.
        offset: u64,
    },
    /// A record is damaged.
    #[error("{path}: corrupt record at byte offset {offset}: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
        /// What is wrong with it.
        detail: String,
    },
}

/// Totals of one file read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileTotals {
    /// Frames delivered.
    pub frames: u64,
    /// Bytes of the file consumed.
    pub bytes: u64,
}

/// An interface of a pcapng section.
struct Interface {
    link: Link,
    snaplen: u32,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset_s: i64,
}

/// Reads `path` and calls `each` for every frame in file order. On error,
/// every frame before the damaged record has been delivered; `totals`
/// tells how far the read got.
pub fn read_frames(
    path: &Path,
    totals: &mut FileTotals,
    each: impl FnMut(&Frame<'_>),
) -> Result<(), PcapError> {
    // pcap-parser 0.17 can panic on some malformed pcapng blocks (an
    // arithmetic overflow, in debug builds); a damaged file must be an
    // error, never a crash.
    let mut done = FileTotals::default();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_all(path, &mut done, each)
    }));
    *totals = done;
    result.unwrap_or_else(|_| {
        Err(PcapError::Corrupt {
            path: path.to_owned(),
            offset: totals.bytes,
            detail: "the capture parser failed on the next block".into(),
        })
    })
}

fn read_all(
    path: &Path,
    totals: &mut FileTotals,
    mut each: impl FnMut(&Frame<'_>),
) -> Result<(), PcapError> {
    let io = |source| PcapError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut reader = match create_reader(BUFFER, BufReader::new(file)) {
        Ok(r) => r,
        Err(ParserError::Eof) if file_len == 0 => {
            return Err(PcapError::Truncated {
                path: path.to_owned(),
                offset: 0,
            });
        }
        Err(ParserError::HeaderNotRecognized) => {
            return Err(PcapError::NotACapture {
                path: path.to_owned(),
            });
        }
        Err(ParserError::Incomplete(_) | ParserError::UnexpectedEof | ParserError::Eof) => {
            return Err(PcapError::Truncated {
                path: path.to_owned(),
                offset: 0,
            });
        }
        Err(e) => {
            return Err(PcapError::Corrupt {
                path: path.to_owned(),
                offset: 0,
                detail: format!("{e:?}"),
            });
        }
    };
    let mut legacy: Option<(Link, u32, bool)> = None;
    let mut interfaces: Vec<Interface> = Vec::new();
    // The byte order of the current pcapng section, once one has begun.
    let mut section_big_endian: Option<bool> = None;
    let mut offset = 0u64;
    let mut buffer = BUFFER;
    loop {
        let corrupt = |offset, detail: String| PcapError::Corrupt {
            path: path.to_owned(),
            offset,
            detail,
        };
        if let Some(len) = section_big_endian.and_then(|big| short_block_length(reader.data(), big))
        {
            return Err(corrupt(
                offset,
                format!("block length {len} is below the 12-byte minimum"),
            ));
        }
        match reader.next() {
            Ok((used, block)) => {
                let here = offset;
                offset += used as u64;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy = Some(legacy_format(&h)),
                    PcapBlockOwned::Legacy(b) => {
                        let Some((link, snaplen, nanos)) = legacy else {
                            return Err(corrupt(here, "record before the file header".into()));
                        };
                        if b.caplen > snaplen.max(1) {
                            return Err(corrupt(
                                here,
                                format!(
                                    "record length {} exceeds the snapshot length {snaplen}",
                                    b.caplen
                                ),
                            ));
                        }
                        let sub = if nanos {
                            u64::from(b.ts_usec)
                        } else {
                            u64::from(b.ts_usec) * 1000
                        };
                        let data = &b.data[..(b.caplen as usize).min(b.data.len())];
                        each(&Frame {
                            link,
                            time_ns: u64::from(b.ts_sec) * 1_000_000_000 + sub,
                            data,
                            offset: here,
                        });
                        totals.frames += 1;
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        interfaces.clear();
                        section_big_endian = Some(shb.big_endian());
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            link: Link::from_linktype(idb.linktype),
                            snaplen: idb.snaplen,
                            resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset_s: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let Some(iface) = interfaces.get(epb.if_id as usize) else {
                            return Err(corrupt(
                                here,
                                format!("packet for undeclared interface {}", epb.if_id),
                            ));
                        };
                        if iface.snaplen != 0 && epb.caplen > iface.snaplen {
                            return Err(corrupt(
                                here,
                                format!(
                                    "record length {} exceeds the snapshot length {}",
                                    epb.caplen, iface.snaplen
                                ),
                            ));
                        }
                        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let ns = (u128::from(ticks) * 1_000_000_000 / u128::from(iface.resolution))
                            as i128
                            + i128::from(iface.offset_s) * 1_000_000_000;
                        let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                        each(&Frame {
                            link: iface.link,
                            time_ns: ns.clamp(0, i128::from(u64::MAX)) as u64,
                            data,
                            offset: here,
                        });
                        totals.frames += 1;
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let Some(iface) = interfaces.first() else {
                            return Err(corrupt(here, "packet before any interface".into()));
                        };
                        let len = (spb.origlen as usize).min(spb.data.len());
                        let len = if iface.snaplen == 0 {
                            len
                        } else {
                            len.min(iface.snaplen as usize)
                        };
                        each(&Frame {
                            link: iface.link,
                            time_ns: 0,
                            data: &spb.data[..len],
                            offset: here,
                        });
                        totals.frames += 1;
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(used);
                totals.bytes = offset;
            }
            Err(ParserError::Eof) => return Ok(()),
            Err(ParserError::Incomplete(_)) => {
                if offset + reader.data().len() as u64 >= file_len {
                    if reader.data().is_empty() {
                        return Ok(());
                    }
                    return Err(PcapError::Truncated {
                        path: path.to_owned(),
                        offset,
                    });
                }
                reader
                    .refill()
                    .map_err(|e| corrupt(offset, format!("{e:?}")))?;
            }
            Err(ParserError::BufferTooSmall) => {
                buffer *= 2;
                if buffer > MAX_BUFFER || !reader.grow(buffer) {
                    return Err(corrupt(offset, "record larger than 16 MiB".into()));
                }
                reader
                    .refill()
                    .map_err(|e| corrupt(offset, format!("{e:?}")))?;
            }
            Err(ParserError::UnexpectedEof) => {
                return Err(PcapError::Truncated {
                    path: path.to_owned(),
                    offset,
                });
            }
            Err(e) => return Err(corrupt(offset, format!("{e:?}"))),
        }
    }
}

/// The length of the pcapng block at the start of `data` when it is below
/// the 12 bytes every block has (type, length, trailing length). pcap-parser
/// 0.17 subtracts 12 from it unchecked and panics (in builds with overflow
/// checks) on such a block, so the reader refuses it first. A section
/// header states its own byte order and is checked by the parser itself.
fn short_block_length(data: &[u8], big_endian: bool) -> Option<u32> {
    const SECTION_HEADER: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    let (kind, len) = (data.get(..4)?, data.get(4..8)?);
    if kind == SECTION_HEADER {
        return None;
    }
    let len: [u8; 4] = len.try_into().ok()?;
    let len = if big_endian {
        u32::from_be_bytes(len)
    } else {
        u32::from_le_bytes(len)
    };
    (len < 12).then_some(len)
}

/// Link type, snapshot length and nanosecond flag of a classic pcap file.
fn legacy_format(h: &PcapHeader) -> (Link, u32, bool) {
    (
        Link::from_linktype(h.network),
        h.snaplen,
        h.is_nanosecond_precision(),
    )
}
