//! The daemon's export to ClickHouse: the drain hands each observation to
//! a [`WindowTap`], which closes a window a few seconds after it ends and
//! passes it to the export thread; that thread makes it a batch with the
//! window's capture counters, writes it to the spool, and sends the spool
//! in order whenever ClickHouse answers (backing off while it does not).
//! The local report never waits for any of it.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use dnsrare_core::{
    export::{
        batch::WindowBatch,
        window::{ClosedWindow, WindowAggregator},
    },
    ingest::observation::Observation,
    model::capture::CaptureCounters,
};

use crate::clickhouse::{
    client::{ClickHouseError, Client},
    spool::{self, Spool},
    target::Target,
};

/// Seconds after a window ends before it closes: late events of the
/// drain still fall into it.
const GRACE_S: u64 = 2;
/// Longest wait between two attempts while ClickHouse is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Time between two retention passes.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Where and as whom to export.
#[derive(Clone, Debug)]
pub struct ExportSettings {
    /// The store.
    pub target: Target,
    /// This sensor's name.
    pub sensor: String,
    /// Window length, seconds.
    pub window_s: u64,
}

/// The drain's side: windows of observations, closed as time passes.
#[derive(Debug)]
pub struct WindowTap {
    windows: WindowAggregator,
    closed: Sender<ClosedWindow>,
}

impl WindowTap {
    /// Counts one observation.
    pub fn observe(&mut self, o: &Observation<'_>) {
        self.windows.observe(o);
    }

    /// Closes the windows that ended [`GRACE_S`] or more ago.
    pub fn tick(&mut self) {
        let now_s = now_ns() / 1_000_000_000;
        for w in self.windows.take_before(now_s.saturating_sub(GRACE_S)) {
            let _ = self.closed.send(w);
        }
    }

    /// Closes every window (the daemon is stopping).
    pub fn finish(mut self) {
        for w in self.windows.take_all() {
            let _ = self.closed.send(w);
        }
    }
}

/// Checks that `target` holds this build's schema; unreachable is fine
/// (the spool waits), another schema is an error.
pub fn check_store(target: &Target) -> Result<()> {
    match Client::new(target.clone()).schema() {
        Ok(_) => Ok(()),
        Err(e) if e.is_unreachable() => {
            log::warn!("{e:#}; exporting to the spool until it answers");
            Ok(())
        }
        Err(e) => Err(e).context("checking the ClickHouse store"),
    }
}

/// Starts the export thread spooling under `state_dir` (at most
/// `spool_limit` bytes); `counters` reads the capture counters so far.
/// Returns the drain's tap and the thread, which ends once the tap is
/// dropped or finished and the spool had its last chance to drain.
pub fn spawn(
    settings: ExportSettings,
    state_dir: &Path,
    spool_limit: u64,
    counters: Box<dyn Fn() -> CaptureCounters + Send>,
    stop: Arc<AtomicBool>,
) -> Result<(WindowTap, JoinHandle<()>)> {
    let (closed, windows) = unbounded();
    let tap = WindowTap {
        windows: WindowAggregator::new(settings.window_s),
        closed,
    };
    let dir = state_dir.join(spool::DIR_NAME);
    let thread = std::thread::Builder::new()
        .name("dnsrare-export".into())
        .spawn(move || {
            let mut export = Export::new(settings, dir, spool_limit, counters);
            export.run(&windows, &stop);
        })
        .context("starting the export thread")?;
    Ok((tap, thread))
}

struct Export {
    settings: ExportSettings,
    client: Client,
    dir: PathBuf,
    limit: u64,
    spool: Option<Spool>,
    counters: Box<dyn Fn() -> CaptureCounters + Send>,
    last_counters: CaptureCounters,
    next_attempt: Instant,
    backoff: Duration,
    failing: bool,
    schema_ok: bool,
    next_prune: Instant,
}

impl Export {
    fn new(
        settings: ExportSettings,
        dir: PathBuf,
        limit: u64,
        counters: Box<dyn Fn() -> CaptureCounters + Send>,
    ) -> Self {
        let last_counters = counters();
        Self {
            client: Client::new(settings.target.clone()),
            settings,
            dir,
            limit,
            spool: None,
            counters,
            last_counters,
            next_attempt: Instant::now(),
            backoff: Duration::from_secs(1),
            failing: false,
            schema_ok: false,
            next_prune: Instant::now(),
        }
    }

    fn run(&mut self, windows: &Receiver<ClosedWindow>, stop: &AtomicBool) {
        loop {
            match windows.recv_timeout(Duration::from_millis(500)) {
                Ok(w) => self.spool_window(w),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // Last chance before exiting; what is left waits on disk.
                    self.next_attempt = Instant::now();
                    self.send_spooled(stop, true);
                    return;
                }
            }
            self.send_spooled(stop, false);
        }
    }

    fn spool(&mut self) -> Option<&mut Spool> {
        if self.spool.is_none() {
            match Spool::open(&self.dir, self.limit) {
                Ok(s) => self.spool = Some(s),
                Err(e) => log::error!("export: {e:#}"),
            }
        }
        self.spool.as_mut()
    }

    fn spool_window(&mut self, window: ClosedWindow) {
        let now = (self.counters)();
        let delta = now.since(&self.last_counters);
        self.last_counters = now;
        let batch = WindowBatch::new(
            &self.settings.sensor,
            window,
            self.settings.window_s,
            delta,
            Some(now_ns()),
        );
        let Some(spool) = self.spool() else {
            log::error!(
                "export: no spool; window {} ({} queries) lost",
                batch.window_start_s,
                batch.queries()
            );
            return;
        };
        if let Err(e) = spool.push(batch) {
            log::error!("export: {e:#}");
        }
    }

    /// Sends spooled batches, oldest first, until the spool is empty or
    /// ClickHouse fails; `last` ignores `stop` (the final pass).
    fn send_spooled(&mut self, stop: &AtomicBool, last: bool) {
        if Instant::now() < self.next_attempt {
            return;
        }
        loop {
            if !last && stop.load(Ordering::Acquire) && self.failing {
                return;
            }
            let next = match self.spool().map(Spool::oldest) {
                Some(Ok(Some(b))) => b,
                Some(Ok(None)) | None => break,
                Some(Err(e)) => {
                    log::error!("export: {e:#}");
                    break;
                }
            };
            let checked = if self.schema_ok {
                Ok(())
            } else {
                self.client.schema().map(drop)
            };
            let sent = checked.and_then(|()| self.client.send(&next.batch));
            match sent {
                Ok(()) => {
                    if let Some(Err(e)) = self.spool.as_mut().map(|s| s.remove(&next)) {
                        log::error!("export: {e:#}");
                        break;
                    }
                    if self.failing {
                        log::info!("export: ClickHouse answers again; draining the spool");
                    }
                    self.failing = false;
                    self.schema_ok = true;
                    self.backoff = Duration::from_secs(1);
                }
                Err(e) => {
                    self.fail(&e);
                    return;
                }
            }
        }
        if Instant::now() >= self.next_prune {
            self.next_prune = Instant::now() + PRUNE_EVERY;
            let pruned = self
                .client
                .schema()
                .and_then(|info| self.client.prune(&info, now_ns() / 1_000_000_000));
            match pruned {
                Ok(days) if !days.is_empty() => {
                    log::info!("export: dropped days past retention: {}", days.join(", "));
                }
                Ok(_) => {}
                Err(e) => log::warn!("export: retention pass failed: {e:#}"),
            }
        }
    }

    fn fail(&mut self, e: &ClickHouseError) {
        let waiting = self
            .spool
            .as_ref()
            .and_then(|s| s.usage().ok())
            .map_or(0, |(n, _)| n);
        if !self.failing {
            log::warn!("export: {e:#}; {waiting} windows wait in the spool, retrying");
        }
        self.failing = true;
        self.schema_ok = false;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
