//! The report from capture files, without root or eBPF (`dnsrare pcap`).
//! Frames go through the userspace twin of the XDP parser
//! ([`crate::ingest::frame_parser_twin`]), the same event decoder and the
//! same engine as the live path; timestamps come from the capture.
//!
//! [`run_logs`] does the same from DNS logs (`dnsrare zeek`, `dnsrare
//! eve`): the log readers of [`crate::ingest::logs`] turn each line into
//! the same observations, pushed into the same engine the same way.

mod frames;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use thiserror::Error;

use crate::{
    engine::{self, Engine, EngineConfig, EngineError, report::History},
    ingest::{
        eve::EveParser,
        logs::{self, LineParser, LogFormat, LogTotals, ReadError},
        pcap::{self, FileTotals, PcapError},
        zeek::ZeekParser,
    },
    model::{
        capture::{CaptureCounters, CaptureSummary, ParseErrorCounts},
        query::ReportQuery,
        report::Report,
    },
    score::{lists::Lists, report_lists::ReportLists},
};

/// Why an offline run produced no report.
#[derive(Debug, Error)]
pub enum OfflineError {
    /// A capture file cannot be opened at all (nothing was read).
    #[error("cannot read {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The counting engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// How much was read, and how fast.
#[derive(Clone, Debug, Default)]
pub struct ReadSummary {
    /// Files read (wholly or in part).
    pub files: usize,
    /// Frames read.
    pub frames: u64,
    /// Bytes of capture consumed.
    pub bytes: u64,
    /// What the parser counted.
    pub counters: CaptureCounters,
    /// Names that did not decode.
    pub decode_errors: ParseErrorCounts,
    /// Wall time.
    pub elapsed: Duration,
}

/// The outcome of `dnsrare pcap`.
pub struct OfflineRun {
    /// The report over everything read.
    pub report: Report,
    /// What was read.
    pub read: ReadSummary,
    /// Files that were damaged: everything before the damage is counted.
    pub damaged: Vec<PcapError>,
}

/// Total size of `files` in bytes; an error names the first that cannot be
/// read.
pub fn total_bytes(files: &[PathBuf]) -> Result<u64, OfflineError> {
    let mut total = 0;
    for f in files {
        let meta = std::fs::metadata(f).map_err(|source| OfflineError::Open {
            path: f.clone(),
            source,
        })?;
        total += meta.len();
    }
    Ok(total)
}

/// Frames between two calls of the progress callback.
pub const PROGRESS_EVERY: u64 = 4096;

/// Reads `baseline` then `files` in order into a fresh engine and answers
/// `report_query`. The baseline captures serve as history: registered
/// domains first seen in `files` (at or after their first frame) are new
/// on this network, and only names seen in `files` are reported (their
/// counts include the baseline's queries). A damaged file is reported in
/// [`OfflineRun::damaged`] and reading goes on with the next one; a file
/// that cannot be opened at all is an error before anything is read.
/// `progress` is called every [`PROGRESS_EVERY`] frames with the bytes
/// read so far, all files. `report_lists` (allow and deny) shape the
/// report, not the counts.
pub fn run(
    baseline: &[PathBuf],
    files: &[PathBuf],
    engine_config: &EngineConfig,
    lists: Arc<Lists>,
    report_lists: &Arc<ReportLists>,
    report_query: &ReportQuery,
    mut progress: impl FnMut(u64),
) -> Result<OfflineRun, OfflineError> {
    total_bytes(baseline)?;
    total_bytes(files)?;
    let start = Instant::now();
    let engine = Engine::start_for_files(engine_config, lists);
    let mut read = ReadSummary::default();
    let mut damaged = Vec::new();
    let mut frames_seen: u64 = 0;
    // The first frame time of `files` (after the baseline).
    let mut report_start = u64::MAX;
    let inputs = baseline
        .iter()
        .map(|f| (f, true))
        .chain(files.iter().map(|f| (f, false)));
    let ((), parsed) = frames::parse_frames(&engine, |sink| {
        for (file, is_baseline) in inputs {
            let mut totals = FileTotals::default();
            let done_before = read.bytes;
            let result = pcap::read_frames(file, &mut totals, |frame| {
                if !is_baseline {
                    report_start = report_start.min(frame.time_ns);
                }
                sink.push(frame.link, frame.time_ns, frame.data);
                frames_seen += 1;
                if frames_seen.is_multiple_of(PROGRESS_EVERY) {
                    progress(done_before + frame.offset);
                }
            });
            read.files += 1;
            read.frames += totals.frames;
            read.bytes += totals.bytes;
            if let Err(e) = result {
                damaged.push(e);
            }
        }
    })?;
    read.counters = parsed.counters;
    read.decode_errors = parsed.decode_errors;
    let querier = engine.querier();
    let capture = CaptureSummary::new(&read.counters, &read.decode_errors);
    let (query, history) = if baseline.is_empty() || report_start == u64::MAX {
        (report_query.clone(), History::None)
    } else {
        let since = report_query.since_ns.unwrap_or(0).max(report_start);
        (
            ReportQuery {
                since_ns: Some(since),
                ..report_query.clone()
            },
            History::KnownBefore(report_start),
        )
    };
    let report = engine::report::report(&querier, capture, &query, history, report_lists)?;
    read.elapsed = start.elapsed();
    drop(querier);
    engine.shutdown();
    Ok(OfflineRun {
        report,
        read,
        damaged,
    })
}

/// How much was read from DNS logs, and how fast.
#[derive(Clone, Debug, Default)]
pub struct LogReadSummary {
    /// Each file read (wholly or in part), in order.
    pub files: Vec<LogTotals>,
    /// The counters the report carries: `packets` are DNS records,
    /// `queries`/`responses` the observations they gave, `ignored` the
    /// records skipped (other ports, other opcodes, no name) and other
    /// event types, `parse_errors.other` the malformed lines.
    pub counters: CaptureCounters,
    /// Names that break the wire-form limits.
    pub decode_errors: ParseErrorCounts,
    /// Wall time.
    pub elapsed: Duration,
}

impl LogReadSummary {
    /// Lines read, all files.
    pub fn lines(&self) -> u64 {
        self.files.iter().map(|f| f.lines).sum()
    }

    /// Malformed lines, all files.
    pub fn malformed(&self) -> u64 {
        self.files.iter().map(|f| f.malformed).sum()
    }

    /// Bytes of the files consumed.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The outcome of `dnsrare zeek` / `dnsrare eve`.
pub struct LogRun {
    /// The report over everything read.
    pub report: Report,
    /// What was read.
    pub read: LogReadSummary,
    /// Files that ended early: everything before the damage is counted.
    pub damaged: Vec<ReadError>,
}

impl LogRun {
    /// Whether the report comes from damaged input: a file cut short or a
    /// malformed line.
    pub fn partial(&self) -> bool {
        !self.damaged.is_empty() || self.read.malformed() > 0
    }
}

/// Reads the DNS logs `files` (all in `format`, plain or gzip) in order
/// into a fresh engine and answers `report_query`, as [`run`] does for
/// captures. A malformed line is counted and skipped; a file cut short is
/// reported in [`LogRun::damaged`] and reading goes on with the next one;
/// a file that cannot be opened at all is an error before anything is
/// read. `progress` is called now and then with the bytes read so far,
/// all files.
pub fn run_logs(
    format: LogFormat,
    files: &[PathBuf],
    engine_config: &EngineConfig,
    lists: Arc<Lists>,
    report_lists: &Arc<ReportLists>,
    report_query: &ReportQuery,
    progress: impl FnMut(u64),
) -> Result<LogRun, OfflineError> {
    let setup = LogSetup {
        files,
        engine_config,
        lists,
        report_lists,
        report_query,
    };
    match format {
        LogFormat::Zeek => run_with(ZeekParser::new(), setup, progress),
        LogFormat::Eve => run_with(EveParser::new(), setup, progress),
    }
}

/// What a log run reads and answers.
struct LogSetup<'a> {
    files: &'a [PathBuf],
    engine_config: &'a EngineConfig,
    lists: Arc<Lists>,
    report_lists: &'a Arc<ReportLists>,
    report_query: &'a ReportQuery,
}

fn run_with<P: LineParser>(
    mut parser: P,
    setup: LogSetup<'_>,
    mut progress: impl FnMut(u64),
) -> Result<LogRun, OfflineError> {
    let LogSetup {
        files,
        engine_config,
        lists,
        report_lists,
        report_query,
    } = setup;
    total_bytes(files)?;
    let start = Instant::now();
    let engine = Engine::start_for_files(engine_config, lists);
    let mut dispatcher = engine.dispatcher();
    let mut read = LogReadSummary::default();
    let mut damaged = Vec::new();
    let mut engine_error: Option<EngineError> = None;
    let mut done_before = 0;
    for file in files {
        let mut totals = LogTotals::default();
        let result = logs::read_log(
            file,
            &mut parser,
            &mut totals,
            |observation| {
                if let Err(e) = dispatcher.push(observation) {
                    engine_error.get_or_insert(e);
                }
            },
            |done| progress(done_before + done),
        );
        done_before += totals.bytes;
        let c = &mut read.counters;
        c.packets += totals.records;
        c.queries += totals.queries;
        c.responses += totals.responses;
        c.ignored += totals.skipped + totals.other_events;
        c.parse_errors.other += totals.malformed;
        read.decode_errors.add(&totals.bad_names);
        read.files.push(totals);
        match result {
            Ok(()) => {}
            // Not opened at all: a file removed since total_bytes, say.
            Err(ReadError::Open { path, source }) => {
                return Err(OfflineError::Open { path, source });
            }
            Err(e) => damaged.push(e),
        }
    }
    if let Some(e) = engine_error {
        return Err(e.into());
    }
    dispatcher.flush()?;
    let querier = engine.querier();
    let capture = CaptureSummary::new(&read.counters, &read.decode_errors);
    let report =
        engine::report::report(&querier, capture, report_query, History::None, report_lists)?;
    read.elapsed = start.elapsed();
    drop((dispatcher, querier));
    engine.shutdown();
    Ok(LogRun {
        report,
        read,
        damaged,
    })
}
