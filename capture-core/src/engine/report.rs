//! Answers to report requests, assembled from the engine's shards and the
//! capture counters; shared by the daemon's socket and `dnsrare pcap`.

use std::sync::Arc;

use super::{EngineError, Querier};
use crate::model::{
    capture::CaptureSummary,
    query::{ReportQuery, View},
    report::Report,
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
/// `counted` field is filled in here). Two round trips to the shards: the
/// overview (sizes, hosts, exploded domains), then the rows.
pub fn report(
    querier: &Querier,
    mut capture: CaptureSummary,
    query: &ReportQuery,
) -> Result<Report, EngineError> {
    let overview = querier.overview()?;
    capture.counted = overview.counted();
    let context = Arc::new(overview.context.clone());
    let mut report = Report {
        capture,
        names: overview.sizes.iter().map(|s| s.names).sum(),
        network_hosts: context.network_hosts,
        view: query.view,
        sort: query.sort,
        rows: Vec::new(),
        hosts: Vec::new(),
        domains: Vec::new(),
        folded: Vec::new(),
        findings: Vec::new(),
    };
    match query.view {
        View::Finding => {
            report.findings = querier.findings(&context, query)?;
            report.rows = querier.names(&context, query)?;
        }
        View::Name => report.rows = querier.names(&context, query)?,
        View::Host => report.hosts = querier.host_rows(&context, &overview.hosts, query)?,
        View::Domain => report.domains = querier.domain_rows(&context, query)?,
    }
    report.folded = overview.folded;
    Ok(report)
}
