//! Snapshots of the engine's state on disk: versioned, checksummed, written
//! to a temporary file and renamed into place, so a crash leaves either the
//! previous snapshot or the new one, never half of one.
//!
//! File layout (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `DNSRSNAP` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 8 | payload length |
//! | 4 | CRC-32 (IEEE) of the payload |
//! | n | payload: [`Snapshot`] in postcard encoding |
//!
//! postcard (a compact, maintained serde format) encodes the shard vectors
//! as they are; the hash tables are rebuilt on load.

use std::{
    fs::File,
    hash::BuildHasher,
    io::{self, BufWriter, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{
    NameHasher,
    state::{self, ShardData},
};
use crate::model::capture::{CaptureCounters, ParseErrorCounts};

/// Magic bytes at the start of every snapshot.
const MAGIC: &[u8; 8] = b"DNSRSNAP";
/// The format this build writes (2: arrival rings keep their cached beacon
/// score; 3: names count answers with an error RCODE; 4: names keep what
/// the resolver answered, capture counters count malformed answers; 5: a
/// domain's shard is chosen by its last two labels, no longer by the hash
/// of the domain). It reads this one and [`OLDEST_READ`]; other versions
/// are refused with a message naming them (a daemon sets such a file aside
/// and starts empty).
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format read: version 4 has this payload layout and places
/// domains by their own hash, so its shards are re-sharded on load
/// ([`state::reshard`]).
pub const OLDEST_READ: u32 = 4;
/// Most shards a snapshot may ask for (one thread each).
pub const MAX_SHARDS: usize = 256;
const HEADER_LEN: usize = 8 + 4 + 8 + 4;
/// File name of the snapshot inside the state directory.
pub const FILE_NAME: &str = "state.snap";

/// Everything a snapshot holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// When it was taken, ns since the epoch.
    pub created_ns: u64,
    /// Capture counters up to that moment, over every run so far.
    pub capture: CaptureCounters,
    /// Userspace decode errors, over every run so far.
    pub decode_errors: ParseErrorCounts,
    /// One entry per shard, in shard order.
    pub shards: Vec<ShardData>,
}

/// Why a snapshot could not be written or read.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// Not a dnsrare snapshot.
    #[error("{0} is not a dnsrare snapshot (bad magic)")]
    NotSnapshot(PathBuf),
    /// Written by another dnsrare release (older or newer).
    #[error(
        "{path} has format version {found}; this dnsrare reads versions {OLDEST_READ} to {supported} only (a daemon sets such a file aside and starts empty)"
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// Ours.
        supported: u32,
    },
    /// Shorter than its header says.
    #[error("{path} is truncated: {actual} payload bytes of {expected}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Length in the header.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The checksum does not match.
    #[error("{0} is corrupt (checksum mismatch)")]
    Checksum(PathBuf),
    /// The payload decodes but does not hold together.
    #[error("{path} is inconsistent: {detail}")]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The payload does not decode.
    #[error("{path} does not decode: {detail}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        detail: String,
    },
}

/// What writing a snapshot produced.
#[derive(Clone, Debug)]
pub struct Written {
    /// Final path.
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// Time taken.
    pub duration: Duration,
}

/// A writer that feeds a CRC as it writes.
struct Crc<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `snapshot` into `dir` atomically (temporary file, fsync, rename,
/// fsync of the directory).
pub fn write(dir: &Path, snapshot: &Snapshot) -> Result<Written, SnapshotError> {
    let start = Instant::now();
    let path = dir.join(FILE_NAME);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| SnapshotError::Io { path: p, source }
    };
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(&[0; HEADER_LEN]).map_err(io(&tmp))?;
    let mut crc = Crc {
        inner: out,
        crc: crc32fast::Hasher::new(),
        len: 0,
    };
    postcard::to_io(snapshot, &mut crc).map_err(|e| SnapshotError::Io {
        path: tmp.clone(),
        source: io::Error::other(e),
    })?;
    let Crc { inner, crc, len } = crc;
    let mut file = inner.into_inner().map_err(|e| SnapshotError::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&crc.finalize().to_le_bytes());
    file.seek(SeekFrom::Start(0)).map_err(io(&tmp))?;
    file.write_all(&header).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(Written {
        path,
        bytes: HEADER_LEN as u64 + len,
        duration: start.elapsed(),
    })
}

/// Reads the snapshot in `dir`; `Ok(None)` when there is none.
pub fn load(dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
    let path = dir.join(FILE_NAME);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SnapshotError::Io { path, source }),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|source| SnapshotError::Io {
            path: path.clone(),
            source,
        })?;
    decode(&path, &bytes).map(Some)
}

/// Checks and decodes snapshot bytes read from `path`.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::NotSnapshot(path.to_owned()));
    }
    let truncated = |expected, actual| SnapshotError::Truncated {
        path: path.to_owned(),
        expected,
        actual,
    };
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(truncated(0, 0));
    };
    let field = |at: usize, n: usize| &header[at..at + n];
    let version = u32::from_le_bytes(field(8, 4).try_into().expect("4 bytes"));
    if !(OLDEST_READ..=FORMAT_VERSION).contains(&version) {
        return Err(SnapshotError::FutureVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let len = u64::from_le_bytes(field(12, 8).try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(field(20, 4).try_into().expect("4 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if (payload.len() as u64) < len {
        return Err(truncated(len, payload.len() as u64));
    }
    let payload = &payload[..len as usize];
    if crc32fast::hash(payload) != crc {
        return Err(SnapshotError::Checksum(path.to_owned()));
    }
    let decode_err = |detail: String| SnapshotError::Decode {
        path: path.to_owned(),
        detail,
    };
    let (mut snapshot, rest): (Snapshot, &[u8]) =
        postcard::take_from_bytes(payload).map_err(|e| decode_err(e.to_string()))?;
    if !rest.is_empty() {
        return Err(decode_err(format!(
            "{} bytes after the payload",
            rest.len()
        )));
    }
    let inconsistent = |detail: String| SnapshotError::Inconsistent {
        path: path.to_owned(),
        detail,
    };
    if !(1..=MAX_SHARDS).contains(&snapshot.shards.len()) {
        return Err(inconsistent(format!(
            "{} shards (1 to {MAX_SHARDS} expected)",
            snapshot.shards.len()
        )));
    }
    for (i, shard) in snapshot.shards.iter().enumerate() {
        shard
            .validate()
            .map_err(|e| inconsistent(format!("shard {i}: {e}")))?;
    }
    if version < 5 && snapshot.shards.len() > 1 {
        snapshot.shards = reshard(snapshot.shards, &super::name_hasher());
        for (i, shard) in snapshot.shards.iter().enumerate() {
            shard
                .validate()
                .map_err(|e| inconsistent(format!("shard {i} after re-sharding: {e}")))?;
        }
    }
    Ok(snapshot)
}

/// `shards` (placed by an older rule) with every domain moved to the shard
/// [`super::shard_of`] chooses for it now.
fn reshard(shards: Vec<ShardData>, hasher: &NameHasher) -> Vec<ShardData> {
    let n = shards.len();
    state::reshard::reshard(shards, |domain| {
        super::shard_of(hasher, domain, hasher.hash_one(domain), n)
    })
}

/// Moves a snapshot that could not be loaded aside (`state.snap.bad-<ns>`)
/// and returns where it went.
pub fn set_aside(dir: &Path, now_ns: u64) -> io::Result<PathBuf> {
    let bad = dir.join(format!("{FILE_NAME}.bad-{now_ns}"));
    std::fs::rename(dir.join(FILE_NAME), &bad)?;
    Ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            created_ns: 42,
            capture: CaptureCounters {
                packets: 7,
                queries: 3,
                ..Default::default()
            },
            shards: vec![ShardData::default(), ShardData::default()],
            ..Default::default()
        }
    }

    /// A format-4 snapshot (domains placed by the hash of the registered
    /// domain) loads with every domain in the shard its last two labels
    /// choose, its counts intact.
    #[test]
    fn version_4_is_resharded_on_load() {
        use std::sync::Arc;

        use capture_common::EventKind;

        use crate::{
            engine::{
                batch::Item,
                domain::registered_domain_offset,
                name_hasher, shard_of,
                state::{Limits, ShardState},
                view,
            },
            score::lists::Lists,
        };

        let names = [
            "a.example.com",
            "x.example.co.uk",
            "y.other.co.uk",
            "z.foo.org",
            "c2.dyn.duckdns.org",
            "mail.corp.internal",
            "wpad",
        ];
        let n = 4;
        let h = name_hasher();
        let state = || ShardState::new(Limits::default(), h.clone(), Arc::new(Lists::embedded()));
        let mut old: Vec<ShardState> = (0..n).map(|_| state()).collect();
        let old_owner = |name: &str| {
            let domain = &name.as_bytes()[registered_domain_offset(name)..];
            (h.hash_one(domain) % n as u64) as usize
        };
        let new_owner = |name: &str| shard_of(&h, name.as_bytes(), h.hash_one(name.as_bytes()), n);
        assert!(
            names.iter().any(|m| old_owner(m) != new_owner(m)),
            "some domain must move for this test to mean anything"
        );
        for (k, name) in names.iter().enumerate() {
            let item = Item::for_test(&h, name, "10.0.0.9", 1_000_000_000, EventKind::Query, 1, 0);
            for _ in 0..=k {
                old[old_owner(name)].count(&item, name.as_bytes(), None);
            }
        }
        let snapshot = Snapshot {
            shards: old.iter().map(|s| s.data().clone()).collect(),
            ..Default::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write(dir.path(), &snapshot).expect("write");
        let mut bytes = std::fs::read(&written.path).expect("read");
        bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
        let back = decode(&written.path, &bytes).expect("a version-4 snapshot loads");
        let shards: Vec<ShardState> = back
            .shards
            .into_iter()
            .map(|d| {
                ShardState::from_data(d, Limits::default(), h.clone(), Arc::new(Lists::embedded()))
            })
            .collect();
        for (k, name) in names.iter().enumerate() {
            for (i, s) in shards.iter().enumerate() {
                let found = view::hosts(s, name);
                if i == new_owner(name) {
                    assert_eq!(
                        found.expect("in its new shard").queries,
                        k as u64 + 1,
                        "{name}"
                    );
                } else {
                    assert!(found.is_none(), "{name} is only in its own shard");
                }
            }
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write(dir.path(), &sample()).expect("write");
        assert_eq!(
            written.bytes,
            std::fs::metadata(&written.path).expect("file").len()
        );
        assert!(!dir.path().join("state.snap.tmp").exists());
        let back = load(dir.path()).expect("load").expect("present");
        assert_eq!(back.created_ns, 42);
        assert_eq!(back.capture.packets, 7);
        assert_eq!(back.shards.len(), 2);
    }

    #[test]
    fn missing_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(load(dir.path()).expect("no error").is_none());
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &sample()).expect("write");
        let good = std::fs::read(dir.path().join(FILE_NAME)).expect("read");
        let path = Path::new("x");

        let cut = &good[..good.len() - 3];
        assert!(matches!(
            decode(path, cut),
            Err(SnapshotError::Truncated { .. })
        ));
        assert!(matches!(
            decode(path, &good[..10]),
            Err(SnapshotError::Truncated { .. })
        ));

        let mut future = good.clone();
        future[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let err = decode(path, &future).expect_err("future");
        assert!(
            matches!(err, SnapshotError::FutureVersion { found, .. } if found == FORMAT_VERSION + 1)
        );
        assert!(
            err.to_string()
                .contains(&format!("format version {}", FORMAT_VERSION + 1)),
            "{err}"
        );

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(matches!(
            decode(path, &flipped),
            Err(SnapshotError::Checksum(_))
        ));

        assert!(matches!(
            decode(path, b"PK\x03\x04 not ours"),
            Err(SnapshotError::NotSnapshot(_))
        ));
    }
}
