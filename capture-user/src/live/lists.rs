//! The daemon's allow and deny lists ([`ReportLists`]), reread without a
//! restart: on SIGHUP, and before a report when a file's modification
//! time, size or inode changed (an editor that replaces the file counts).
//! A file that has become bad is logged and the lists in use are kept.

use std::{os::unix::fs::MetadataExt, path::PathBuf, sync::Arc, time::SystemTime};

use dnsrare_core::score::report_lists::{PatternError, ReportLists};

/// What identifies one version of a file; `None` when it cannot be read.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &std::path::Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

/// The allow and deny files and the lists last read from them.
#[derive(Clone, Debug, Default)]
pub struct LiveLists {
    allow: Vec<PathBuf>,
    deny: Vec<PathBuf>,
    current: Arc<ReportLists>,
    stamps: Vec<Stamp>,
}

impl LiveLists {
    /// Reads the files now; a bad one is an error naming `file:line`.
    pub fn load(allow: Vec<PathBuf>, deny: Vec<PathBuf>) -> Result<Self, PatternError> {
        let mut lists = Self {
            allow,
            deny,
            ..Self::default()
        };
        lists.stamps = lists.stamps();
        lists.current = Arc::new(ReportLists::from_files(&lists.allow, &lists.deny)?);
        Ok(lists)
    }

    fn stamps(&self) -> Vec<Stamp> {
        self.allow
            .iter()
            .chain(&self.deny)
            .map(|p| stamp(p))
            .collect()
    }

    /// Whether any file is configured.
    pub fn has_files(&self) -> bool {
        !(self.allow.is_empty() && self.deny.is_empty())
    }

    /// The lists in use, reread first if a file changed since last read.
    pub fn current(&mut self) -> Arc<ReportLists> {
        if self.has_files() && self.stamps() != self.stamps {
            self.reload("a list file changed");
        }
        Arc::clone(&self.current)
    }

    /// Rereads every file (`why` goes to the log). On an error the lists in
    /// use stay, and the error is logged once per change of the files.
    pub fn reload(&mut self, why: &str) {
        if !self.has_files() {
            return;
        }
        self.stamps = self.stamps();
        match ReportLists::from_files(&self.allow, &self.deny) {
            Ok(lists) => {
                log::info!(
                    "reread the allow and deny lists ({why}): {} allow and {} deny entries",
                    lists.allow.len(),
                    lists.deny.len()
                );
                self.current = Arc::new(lists);
            }
            Err(e) => log::error!("keeping the allow and deny lists in use ({why}): {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_reread_and_a_bad_one_keeps_the_old_lists() {
        let dir = std::env::temp_dir().join(format!("dnsrare-live-lists-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let allow = dir.join("allow.txt");
        std::fs::write(&allow, "a.example\n").unwrap();
        let mut live = LiveLists::load(vec![allow.clone()], Vec::new()).unwrap();
        assert!(live.current().allowed("a.example"));
        // A different size is a change even within one mtime tick.
        std::fs::write(&allow, "b.example\n.c.example\n").unwrap();
        let now = live.current();
        assert!(!now.allowed("a.example"));
        assert!(now.allowed("x.c.example"));
        std::fs::write(&allow, "bad..example\n").unwrap();
        assert!(live.current().allowed("x.c.example"), "kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
