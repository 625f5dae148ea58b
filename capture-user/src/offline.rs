//! `dnsrare pcap`: the same report from capture files, without root or
//! eBPF. Frames go through the userspace twin of the XDP parser
//! ([`crate::packet`]), the same event decoder and the same engine as the
//! live path; timestamps come from the capture.

use std::{
    io::IsTerminal,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    engine::{Engine, EngineConfig, EngineError},
    observation::EventDecoder,
    packet::PacketParser,
    pcap::{self, FileTotals, PcapError},
    protocol::ReportQuery,
    query,
    report::Report,
    score::lists::Lists,
    stats::{CaptureSummary, KernelCounters, ParseErrorCounts},
};

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
    pub counters: KernelCounters,
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

/// Reads `files` in order into a fresh engine and answers `report_query`.
/// A damaged file is reported in [`OfflineRun::damaged`] and reading goes
/// on with the next one; a file that cannot be opened at all is an error
/// before anything is read.
pub fn run(
    files: &[PathBuf],
    engine_config: &EngineConfig,
    lists: Arc<Lists>,
    report_query: &ReportQuery,
    progress: bool,
) -> Result<OfflineRun> {
    let mut total_bytes = 0;
    for f in files {
        let meta = std::fs::metadata(f).with_context(|| format!("cannot read {}", f.display()))?;
        total_bytes += meta.len();
    }
    let bar = progress_bar(progress, total_bytes);
    let start = Instant::now();
    let engine = Engine::start(engine_config, None, lists);
    let mut dispatcher = engine.dispatcher();
    let mut parser = PacketParser::new();
    let mut decoder = EventDecoder::new(0);
    let mut read = ReadSummary::default();
    let mut damaged = Vec::new();
    let mut engine_error: Option<EngineError> = None;
    let mut frames_seen: u64 = 0;
    for file in files {
        let mut totals = FileTotals::default();
        let done_before = read.bytes;
        let result =
            pcap::read_frames(file, &mut totals, |frame| {
                parser.parse(frame.link, frame.data, frame.time_ns, |event| match decoder
                    .decode(event)
                {
                    Ok(observation) => {
                        if let Err(e) = dispatcher.push(&observation) {
                            engine_error.get_or_insert(e);
                        }
                    }
                    Err(reason) => *read.decode_errors.get_mut(reason) += 1,
                });
                // indicatif reads the clock on every update: tell it every
                // few thousand frames (a tenth of the reader's time otherwise).
                frames_seen += 1;
                if frames_seen.is_multiple_of(PROGRESS_EVERY) {
                    bar.set_position(done_before + frame.offset);
                }
            });
        read.files += 1;
        read.frames += totals.frames;
        read.bytes += totals.bytes;
        if let Err(e) = result {
            damaged.push(e);
        }
    }
    if let Some(e) = engine_error {
        return Err(e.into());
    }
    dispatcher.flush()?;
    bar.finish_and_clear();
    read.counters = parser.counters();
    let querier = engine.querier();
    let capture = CaptureSummary::new(&read.counters, &read.decode_errors);
    let report = query::report(&querier, capture, report_query)?;
    read.elapsed = start.elapsed();
    drop((dispatcher, querier));
    engine.shutdown();
    Ok(OfflineRun {
        report,
        read,
        damaged,
    })
}

/// Frames between two updates of the progress bar.
const PROGRESS_EVERY: u64 = 4096;

fn progress_bar(wanted: bool, total: u64) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The one-paragraph summary printed after reading (to stderr, so that
/// `--json` output stays clean).
pub fn summary_text(read: &ReadSummary) -> String {
    let c = &read.counters;
    let secs = read.elapsed.as_secs_f64().max(1e-9);
    let mut errors = c.parse_errors;
    errors.add(&read.decode_errors);
    let reasons: Vec<String> = capture_common::ParseError::ALL
        .iter()
        .filter(|r| errors.get(**r) > 0)
        .map(|r| format!("{} {}", errors.get(*r), r.as_str()))
        .collect();
    format!(
        "read {} frames from {} in {:.2} s ({:.0} packets/s): {} DNS queries, {} responses, {} parse errors{}",
        read.frames,
        crate::report::plural(read.files as u64, "file", "files"),
        secs,
        read.frames as f64 / secs,
        c.queries,
        c.responses,
        errors.total(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    )
}
