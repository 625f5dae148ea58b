//! `dnsrare run`: restore the last snapshot, load and attach the XDP
//! program, drain its ring into the engine, answer on the socket, snapshot
//! periodically, reread the allow and deny lists on SIGHUP (and when they
//! change), and on SIGINT/SIGTERM detach, drain what is left and write a
//! final snapshot.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};

use dnsrare_core::{
    engine::{
        self, Engine, EngineConfig, Querier,
        report::History,
        snapshot::{self, Snapshot},
    },
    model::{
        capture::{CaptureCounters, CaptureSummary},
        status::{ProgramFacts, ReportTimings, SnapshotStatus, StatsReply},
    },
    prometheus,
    protocol::{Request, Response},
    score::{lists::Lists, report_lists::ReportLists},
};

use super::{
    drain::{self, DecodeErrors},
    exporter::{self, ExportSettings},
    lists::LiveLists,
    loader::{Capture, CounterMap, LoadOptions},
    metrics::MetricsServer,
    privilege,
    server::Server,
};

/// Settings of a running daemon, already validated.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// Interfaces to attach to (at least one).
    pub interfaces: Vec<String>,
    /// Socket path.
    pub socket: PathBuf,
    /// Engine layout and bounds.
    pub engine: EngineConfig,
    /// Load-time settings of the XDP program.
    pub load: LoadOptions,
    /// Where snapshots live.
    pub state_dir: PathBuf,
    /// Time between snapshots.
    pub snapshot_interval: Duration,
    /// How much history the daemon learns before it calls a registered
    /// domain new on this network.
    pub learn: Duration,
    /// Name lists the scoring consults.
    pub lists: Arc<Lists>,
    /// Allow and deny lists applied to reports, reread on SIGHUP and when
    /// a file changes.
    pub report_lists: LiveLists,
    /// User to switch to after attaching.
    pub user: Option<String>,
    /// Group allowed to query the socket.
    pub socket_group: Option<String>,
    /// Where to serve Prometheus metrics, if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// Where to export per-window aggregates, if anywhere.
    pub export: Option<ExportSettings>,
    /// Bytes of batches the export spool holds at most.
    pub export_spool_max: u64,
}

/// Capture counters over every run: the kernel's (this run) plus what
/// the restored snapshot carried.
struct Counters {
    map: CounterMap,
    previous: CaptureCounters,
    decode: Arc<DecodeErrors>,
}

impl Counters {
    fn totals(&self) -> Result<CaptureCounters> {
        let mut total = self.map.read()?;
        total.add(&self.previous);
        Ok(total)
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Loads the last snapshot from `dir`. A damaged one is set aside with a
/// warning and the daemon starts empty.
fn restore(dir: &Path) -> Option<Snapshot> {
    match snapshot::load(dir) {
        Ok(Some(s)) => {
            let names: usize = s.shards.iter().map(|d| d.name_count()).sum();
            log::info!(
                "restored {names} {} from {}",
                if names == 1 { "name" } else { "names" },
                dir.join(snapshot::FILE_NAME).display()
            );
            Some(s)
        }
        Ok(None) => None,
        Err(e) => {
            let aside = snapshot::set_aside(dir, now_ns()).map_or_else(
                |e| format!("(could not move it: {e})"),
                |p| p.display().to_string(),
            );
            log::warn!("ignoring the saved state: {e}; kept it as {aside}; starting empty");
            None
        }
    }
}

/// Takes and writes one snapshot; records the outcome in `status`.
fn take_snapshot(
    dir: &Path,
    querier: &Querier,
    counters: &Counters,
    status: &Mutex<SnapshotStatus>,
) -> Result<()> {
    let result = (|| -> Result<snapshot::Written> {
        let shards = querier.snapshot()?;
        let snap = Snapshot {
            created_ns: now_ns(),
            capture: counters.totals()?,
            decode_errors: counters.decode.snapshot(),
            shards,
        };
        Ok(snapshot::write(dir, &snap)?)
    })();
    let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(w) => {
            *s = SnapshotStatus {
                written_ns: now_ns(),
                duration_ms: w.duration.as_millis() as u64,
                bytes: w.bytes,
                error: None,
            };
            Ok(())
        }
        Err(e) => {
            s.error = Some(format!("{e:#}"));
            Err(e)
        }
    }
}

/// Runs the daemon until SIGINT or SIGTERM.
///
/// Order matters: every setting is checked and the user and group resolved
/// before anything is attached; every capability is dropped (and the user
/// switched) after attaching and binding, before the first thread starts.
pub fn run(config: &DaemonConfig) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let hangup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hangup))
        .context("installing the SIGHUP handler")?;
    let report_lists = Arc::new(Mutex::new(config.report_lists.clone()));
    let run_as = config
        .user
        .as_deref()
        .map(privilege::resolve_user)
        .transpose()?;
    let socket_gid = config
        .socket_group
        .as_deref()
        .map(privilege::resolve_group)
        .transpose()?;
    if let Err(e) = create_private_dir(&config.state_dir) {
        log::error!(
            "cannot create the state directory {}: {e}; snapshots will be retried",
            config.state_dir.display()
        );
    }
    if let Some(export) = &config.export {
        exporter::check_store(&export.target)?;
    }
    let restored = restore(&config.state_dir);
    if let Some(s) = &restored
        && s.shards.len() != config.engine.shards
    {
        log::warn!(
            "the saved state has {} shards; keeping {} (remove {} to change)",
            s.shards.len(),
            s.shards.len(),
            config.state_dir.join(snapshot::FILE_NAME).display()
        );
    }

    let mut capture = Capture::load(config.load)?;
    for iface in &config.interfaces {
        let mode = capture.attach(iface)?;
        log::info!("attached to {iface} ({mode:?} mode)");
    }
    let interfaces: Vec<String> = capture
        .attached()
        .iter()
        .map(|(iface, mode)| format!("{iface} ({mode:?})"))
        .collect();
    let program = capture.facts()?;
    log::info!(
        "XDP program: {} instructions, {} processed by the verifier",
        program.instructions.unwrap_or(0),
        program.verified_instructions.unwrap_or(0)
    );
    let egress_program = capture.egress_facts()?;
    match egress_program {
        Some(facts) => log::info!(
            "TC egress program: {} instructions, {} processed by the verifier",
            facts.instructions.unwrap_or(0),
            facts.verified_instructions.unwrap_or(0)
        ),
        None => log::info!("TC egress program not attached (--no-egress)"),
    }
    let ring = capture.take_ring()?;
    let logger = capture.take_logger();
    let counter_map = capture.take_counters()?;
    let server = Server::bind(&config.socket)?;
    let metrics = config
        .metrics
        .map(|addr| {
            MetricsServer::bind(addr)
                .with_context(|| format!("binding the metrics address {addr}"))
                .inspect(|m| {
                    let at = m.local_addr().unwrap_or(addr);
                    log::info!("serving metrics on http://{at}/metrics");
                })
        })
        .transpose()?;
    if let Some(gid) = socket_gid {
        privilege::share_with_group(server.path(), gid)?;
    }
    if let Some(who) = run_as {
        privilege::hand_over(&config.state_dir, who)?;
    }
    privilege::drop_all(run_as)?;
    log::info!(
        "dropped privileges: running as uid {} with {} capabilities",
        nix::unistd::getuid(),
        privilege::remaining().len()
    );

    let (previous, decode_errors, shards) = match restored {
        Some(s) => (s.capture, s.decode_errors, Some(s.shards)),
        None => Default::default(),
    };
    let engine = Engine::start(&config.engine, shards, Arc::clone(&config.lists));
    let counters = Arc::new(Counters {
        map: counter_map,
        previous,
        decode: Arc::new(DecodeErrors::starting_at(&decode_errors)),
    });
    let drain_stop = Arc::new(AtomicBool::new(false));
    let (tap, export_thread) = match &config.export {
        Some(settings) => {
            let counters = Arc::clone(&counters);
            let read = Box::new(move || {
                let mut c = counters.totals().unwrap_or_default();
                c.parse_errors.add(&counters.decode.snapshot());
                c
            });
            let (tap, thread) = exporter::spawn(
                settings.clone(),
                &config.state_dir,
                config.export_spool_max,
                read,
                Arc::clone(&stop),
            )?;
            log::info!(
                "exporting {}s windows as sensor {} to {}",
                settings.window_s,
                settings.sensor,
                settings.target
            );
            (Some(tap), Some(thread))
        }
        None => (None, None),
    };
    let drain = {
        let (dispatcher, errors, drain_stop) = (
            engine.dispatcher(),
            Arc::clone(&counters.decode),
            Arc::clone(&drain_stop),
        );
        std::thread::Builder::new()
            .name("dnsrare-drain".into())
            .spawn(move || drain::run(ring, logger, dispatcher, errors, tap, drain_stop))
            .context("starting the drain thread")?
    };
    let status = Arc::new(Mutex::new(SnapshotStatus::default()));
    let snapshotter = {
        let (querier, counters, status, stop, hangup, report_lists) = (
            engine.querier(),
            Arc::clone(&counters),
            Arc::clone(&status),
            Arc::clone(&stop),
            Arc::clone(&hangup),
            Arc::clone(&report_lists),
        );
        let (dir, interval) = (config.state_dir.clone(), config.snapshot_interval);
        std::thread::Builder::new()
            .name("dnsrare-snapshot".into())
            .spawn(move || {
                let mut due = Instant::now() + interval;
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(100));
                    if hangup.swap(false, Ordering::AcqRel) {
                        lock(&report_lists).reload("SIGHUP");
                    }
                    if Instant::now() < due {
                        continue;
                    }
                    due = Instant::now() + interval;
                    if let Err(e) = take_snapshot(&dir, &querier, &counters, &status) {
                        log::error!("snapshot failed (retried in {interval:?}): {e:#}");
                    }
                }
            })
            .context("starting the snapshot thread")?
    };
    log::info!(
        "serving on {} with {} shards",
        config.socket.display(),
        engine.shards()
    );

    let querier = engine.querier();
    let source = StatsSource {
        querier: querier.clone(),
        counters: Arc::clone(&counters),
        status: Arc::clone(&status),
        interfaces,
        program,
        egress_program,
        reports: Arc::default(),
    };
    let metrics_thread = match metrics {
        Some(m) => {
            let source = source.clone();
            Some(
                m.spawn(Arc::clone(&stop), move || {
                    source
                        .stats()
                        .map(|s| prometheus::render(&s, now_ns()))
                        .map_err(|e| format!("{e:#}"))
                })
                .context("starting the metrics thread")?,
            )
        }
        None => None,
    };
    server.serve(&stop, &|request| {
        answer(request, &source, &|| {
            let mut lists = lock(&report_lists);
            if hangup.swap(false, Ordering::AcqRel) {
                lists.reload("SIGHUP");
            }
            let history = History::Learn {
                learn_ns: config.learn.as_nanos().min(u128::from(u64::MAX)) as u64,
                now_ns: now_ns(),
            };
            (history, lists.current())
        })
        .unwrap_or_else(|e| Response::Error {
            message: format!("{e:#}"),
        })
    });

    log::info!("stopping: detaching, draining what is left, writing the state");
    // Detach first, so nothing arrives after the drain's last pass.
    drop(capture);
    drain_stop.store(true, Ordering::Release);
    let drained = drain.join();
    if let Some(t) = export_thread {
        let _ = t.join();
    }
    let _ = snapshotter.join();
    if let Some(t) = metrics_thread {
        let _ = t.join();
    }
    drop(source);
    let saved = take_snapshot(&config.state_dir, &querier, &counters, &status);
    drop(querier);
    engine.shutdown();
    drop(server);
    match drained {
        Ok(result) => result.context("draining the ring buffer")?,
        Err(_) => anyhow::bail!("the drain thread panicked"),
    }
    saved.context("writing the final snapshot")
}

/// What `dnsrare stats` and the metrics are made of.
#[derive(Clone)]
struct StatsSource {
    querier: Querier,
    counters: Arc<Counters>,
    status: Arc<Mutex<SnapshotStatus>>,
    interfaces: Vec<String>,
    program: ProgramFacts,
    egress_program: Option<ProgramFacts>,
    reports: Arc<Mutex<ReportTimings>>,
}

impl StatsSource {
    fn summary(&self) -> Result<CaptureSummary> {
        Ok(
            CaptureSummary::new(&self.counters.totals()?, &self.counters.decode.snapshot())
                .with_directions(self.counters.map.read_directions()?),
        )
    }

    fn stats(&self) -> Result<StatsReply> {
        Ok(StatsReply {
            capture: engine::report::with_counted(&self.querier, self.summary()?)?,
            shards: self.querier.sizes()?,
            interfaces: self.interfaces.clone(),
            program: self.program,
            egress_program: self.egress_program,
            snapshot: lock(&self.status).clone(),
            reports: *lock(&self.reports),
        })
    }
}

fn answer(
    request: Request,
    source: &StatsSource,
    report_settings: &dyn Fn() -> (History, Arc<ReportLists>),
) -> Result<Response> {
    let querier = &source.querier;
    Ok(match request {
        Request::Report(query) => {
            let start = Instant::now();
            let (history, lists) = report_settings();
            let report = source.summary().and_then(|summary| {
                Ok(engine::report::report(
                    querier, summary, &query, history, &lists,
                )?)
            });
            let took = start.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            lock(&source.reports).record(took);
            Response::Report(report?)
        }
        Request::Stats => Response::Stats(source.stats()?),
        Request::Hosts { name } => Response::Hosts {
            found: querier.hosts(&name)?,
        },
    })
}

/// The guarded value, even if a thread panicked holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Creates `dir` (mode 0700: it records who asked for what) if missing.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
