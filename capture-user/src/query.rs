//! Answers to report requests, assembled from the engine's shards and the
//! capture counters; shared by the daemon's socket and `dnsrare pcap`.

use crate::{
    engine::{EngineError, Querier},
    protocol::ReportQuery,
    report::Report,
    stats::CaptureSummary,
};

/// `capture` with its `counted` field filled in from the shards.
pub fn with_counted(
    querier: &Querier,
    mut capture: CaptureSummary,
) -> Result<CaptureSummary, EngineError> {
    capture.counted = querier.sizes()?.iter().map(|s| s.totals.queries).sum();
    Ok(capture)
}

/// The report `query` asks for, with `capture` as its summary (its
/// `counted` field is filled in here).
pub fn report(
    querier: &Querier,
    mut capture: CaptureSummary,
    query: &ReportQuery,
) -> Result<Report, EngineError> {
    let sizes = querier.sizes()?;
    capture.counted = sizes.iter().map(|s| s.totals.queries).sum();
    Ok(Report {
        capture,
        names: sizes.iter().map(|s| s.names).sum(),
        rows: querier.rarest(query.top)?,
        folded: querier.folded()?,
    })
}
