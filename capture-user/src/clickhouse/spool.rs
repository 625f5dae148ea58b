//! The sensor's spool: batches waiting for ClickHouse, one file each
//! under `STATE_DIR/spool`, named by a sequence number so they drain in
//! the order they were made. A file is written whole (temporary file,
//! fsync, rename) before it counts, so SIGKILL or a power cut leaves
//! every batch either spooled or not started, never half; a batch is
//! removed only after ClickHouse took it. The spool is bounded in bytes:
//! when a new batch does not fit, the oldest are dropped and counted
//! (`losses.json`, cumulative, carried by every later batch to the
//! central report).

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use dnsrare_core::export::batch::{SpoolLosses, WindowBatch};
use thiserror::Error;

/// The spool's directory under the state directory.
pub const DIR_NAME: &str = "spool";
const LOSSES: &str = "losses.json";
const SUFFIX: &str = ".batch";

/// A spool operation that failed.
#[derive(Debug, Error)]
pub enum SpoolError {
    /// A file or the directory could not be read or written.
    #[error("spool {path}")]
    Io {
        /// What was being read or written.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One spooled batch.
#[derive(Debug)]
pub struct Spooled {
    /// Its file.
    pub path: PathBuf,
    /// The batch.
    pub batch: WindowBatch,
}

/// The on-disk queue of batches.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limit: u64,
    next: u64,
    losses: SpoolLosses,
}

impl Spool {
    /// Opens (creating it) the spool in `dir`, holding at most `limit`
    /// bytes of batches.
    pub fn open(dir: &Path, limit: u64) -> Result<Self, SpoolError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let losses_path = dir.join(LOSSES);
        let losses = match fs::read(&losses_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => SpoolLosses::default(),
            Err(e) => return Err(io_at(&losses_path)(e)),
        };
        let mut spool = Self {
            dir: dir.to_owned(),
            limit,
            next: 0,
            losses,
        };
        spool.next = spool.files()?.last().map_or(0, |(seq, _, _)| seq + 1);
        Ok(spool)
    }

    /// Batches dropped so far.
    pub fn losses(&self) -> SpoolLosses {
        self.losses
    }

    /// The spooled files, oldest first: sequence number, path, size.
    fn files(&self) -> Result<Vec<(u64, PathBuf, u64)>, SpoolError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_at(&self.dir))? {
            let entry = entry.map_err(io_at(&self.dir))?;
            let name = entry.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let size = entry.metadata().map_err(io_at(&entry.path()))?.len();
            out.push((seq, entry.path(), size));
        }
        out.sort_unstable_by_key(|(seq, _, _)| *seq);
        Ok(out)
    }

    /// Batches waiting and their bytes.
    pub fn usage(&self) -> Result<(usize, u64), SpoolError> {
        let files = self.files()?;
        Ok((files.len(), files.iter().map(|(_, _, s)| s).sum()))
    }

    /// Adds `batch` at the end, after dropping the oldest batches if it
    /// would not fit otherwise (a batch larger than the whole limit is
    /// itself dropped). The batch carries the losses so far.
    pub fn push(&mut self, mut batch: WindowBatch) -> Result<(), SpoolError> {
        batch.spool_losses = self.losses;
        let mut bytes = batch.encode();
        let mut files = self.files()?.into_iter();
        let mut used: u64 = self.usage()?.1;
        let mut dropped = false;
        while used + bytes.len() as u64 > self.limit {
            let Some((_, path, size)) = files.next() else {
                // Larger than the whole spool: this batch is the loss.
                self.count_loss(batch.queries())?;
                return Ok(());
            };
            let queries = fs::read(&path)
                .ok()
                .and_then(|b| WindowBatch::decode(&b).ok())
                .map_or(0, |b| b.queries());
            fs::remove_file(&path).map_err(io_at(&path))?;
            self.count_loss(queries)?;
            used -= size;
            dropped = true;
        }
        if dropped {
            batch.spool_losses = self.losses;
            bytes = batch.encode();
        }
        let path = self.dir.join(format!("{:020}{SUFFIX}", self.next));
        write_durably(&path, &bytes)?;
        self.next += 1;
        Ok(())
    }

    fn count_loss(&mut self, queries: u64) -> Result<(), SpoolError> {
        self.losses.batches += 1;
        self.losses.queries += queries;
        let path = self.dir.join(LOSSES);
        let bytes = serde_json::to_vec(&self.losses).expect("losses serialize");
        write_durably(&path, &bytes)?;
        log::warn!(
            "export spool full: dropped the oldest window ({} windows, {} queries dropped so far)",
            self.losses.batches,
            self.losses.queries
        );
        Ok(())
    }

    /// The oldest spooled batch. A file that does not decode (it cannot
    /// be sent, ever) is dropped and counted as a loss.
    pub fn oldest(&mut self) -> Result<Option<Spooled>, SpoolError> {
        for (_, path, _) in self.files()? {
            let bytes = fs::read(&path).map_err(io_at(&path))?;
            match WindowBatch::decode(&bytes) {
                Ok(batch) => return Ok(Some(Spooled { path, batch })),
                Err(e) => {
                    log::error!("dropping {}: {e}", path.display());
                    fs::remove_file(&path).map_err(io_at(&path))?;
                    self.count_loss(0)?;
                }
            }
        }
        Ok(None)
    }

    /// Removes a batch ClickHouse took.
    pub fn remove(&mut self, spooled: &Spooled) -> Result<(), SpoolError> {
        fs::remove_file(&spooled.path).map_err(io_at(&spooled.path))
    }
}

/// Writes `bytes` to `path` whole or not at all.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), SpoolError> {
    let tmp = path.with_extension("tmp");
    let write = || -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(io_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsrare_core::{
        export::window::{ClosedWindow, PairRecord},
        model::{capture::CaptureCounters, host::HostAddr},
    };

    fn batch(start_s: u64, queries: u64) -> WindowBatch {
        let pairs = vec![PairRecord {
            host: HostAddr::default(),
            name: "n.example".into(),
            queries,
            qtypes: vec![1],
            first_ns: start_s * 1_000_000_000,
            last_ns: start_s * 1_000_000_000,
            arrivals_ns: vec![start_s * 1_000_000_000],
            responses: 0,
            nxdomain: 0,
            failures: 0,
            first_response_ns: 0,
            answers: Default::default(),
        }];
        let window = ClosedWindow { start_s, pairs };
        WindowBatch::new("s", window, 60, CaptureCounters::default(), Some(start_s))
    }

    #[test]
    fn batches_drain_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
        for s in [60, 120, 180] {
            spool.push(batch(s, 1)).expect("push");
        }
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("reopen");
        spool.push(batch(240, 1)).expect("push");
        let mut order = Vec::new();
        while let Some(b) = spool.oldest().expect("read") {
            order.push(b.batch.window_start_s);
            spool.remove(&b).expect("remove");
        }
        assert_eq!(order, [60, 120, 180, 240]);
        assert_eq!(spool.losses(), SpoolLosses::default());
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = batch(60, 5).encode().len() as u64;
        let mut spool = Spool::open(dir.path(), one * 2 + one / 2).expect("open");
        for s in [60, 120, 180, 240] {
            spool.push(batch(s, 5)).expect("push");
        }
        assert_eq!(
            spool.losses(),
            SpoolLosses {
                batches: 2,
                queries: 10
            }
        );
        let first = spool.oldest().expect("read").expect("one");
        assert_eq!(first.batch.window_start_s, 180);
        // The losses live on disk and ride on later batches.
        let reopened = Spool::open(dir.path(), one * 3).expect("reopen");
        assert_eq!(reopened.losses().batches, 2);
        assert_eq!(spool.usage().expect("usage").0, 2);
    }

    #[test]
    fn a_file_that_does_not_decode_is_dropped_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(format!("{:020}{SUFFIX}", 0)), b"{garbage").expect("write");
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
        spool.push(batch(60, 1)).expect("push");
        let b = spool.oldest().expect("read").expect("the good one");
        assert_eq!(b.batch.window_start_s, 60);
        assert_eq!(spool.losses().batches, 1);
    }
}
