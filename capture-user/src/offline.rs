//! `dnsrare pcap`, `dnsrare zeek`, `dnsrare eve`: run the core's offline
//! pipeline over capture or log files with a progress bar on a terminal,
//! and word the summary of what was read.

use std::{io::IsTerminal, path::PathBuf, sync::Arc};

use dnsrare_core::{
    engine::EngineConfig,
    ingest::logs::LogFormat,
    model::query::ReportQuery,
    offline::{self, LogReadSummary, LogRun, OfflineError, OfflineRun, ReadSummary},
    score::{lists::Lists, report_lists::ReportLists},
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::render::plural;

/// Reads `baseline` then `files` into a fresh engine and answers `query`,
/// showing a progress bar on stderr when `progress` is set and stderr is a
/// terminal.
pub fn run(
    baseline: &[PathBuf],
    files: &[PathBuf],
    engine: &EngineConfig,
    lists: Arc<Lists>,
    report_lists: &Arc<ReportLists>,
    query: &ReportQuery,
    progress: bool,
) -> Result<OfflineRun, OfflineError> {
    let total = offline::total_bytes(baseline)? + offline::total_bytes(files)?;
    let bar = progress_bar(progress, total);
    let run = offline::run(
        baseline,
        files,
        engine,
        lists,
        report_lists,
        query,
        |done| bar.set_position(done),
    );
    bar.finish_and_clear();
    run
}

/// Reads the log `files` into a fresh engine and answers `query`, with a
/// progress bar as [`run`] shows.
pub fn run_logs(
    format: LogFormat,
    files: &[PathBuf],
    engine: &EngineConfig,
    lists: Arc<Lists>,
    report_lists: &Arc<ReportLists>,
    query: &ReportQuery,
    progress: bool,
) -> Result<LogRun, OfflineError> {
    let bar = progress_bar(progress, offline::total_bytes(files)?);
    let run = offline::run_logs(format, files, engine, lists, report_lists, query, |done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    run
}

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
        plural(read.files as u64, "file", "files"),
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

/// The summary printed after reading logs (to stderr).
pub fn log_summary_text(read: &LogReadSummary) -> String {
    let c = &read.counters;
    let secs = read.elapsed.as_secs_f64().max(1e-9);
    let lines = read.lines();
    let bad_names = read.decode_errors.total();
    format!(
        "read {} from {} in {:.2} s ({:.0} lines/s): {} DNS records ({} skipped: other ports, opcodes or event types), {} DNS queries, {} responses, {}{}",
        plural(lines, "line", "lines"),
        plural(read.files.len() as u64, "file", "files"),
        secs,
        lines as f64 / secs,
        c.packets,
        c.ignored,
        c.queries,
        c.responses,
        plural(read.malformed(), "malformed line", "malformed lines"),
        if bad_names > 0 {
            format!(", {} names past the DNS limits", bad_names)
        } else {
            String::new()
        }
    )
}

/// One warning per file with malformed lines: how many, the first line
/// numbers and the first reason.
pub fn malformed_warnings(read: &LogReadSummary) -> Vec<String> {
    read.files
        .iter()
        .filter(|f| f.malformed > 0)
        .map(|f| {
            let numbers: Vec<String> = f.malformed_lines.iter().map(u64::to_string).collect();
            let more = if f.malformed > f.malformed_lines.len() as u64 {
                ", …"
            } else {
                ""
            };
            format!(
                "{}: {} skipped (line {}{more}){}",
                f.path.display(),
                plural(f.malformed, "malformed line", "malformed lines"),
                numbers.join(", "),
                f.faults
                    .first()
                    .map(|why| format!("; first: {why}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}
