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

/// What the engine's counts know of earlier days, for the "new on this
/// network" signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum History {
    /// Nothing: no name is called new.
    #[default]
    None,
    /// The daemon's own history: once it covers `learn_ns` (from the first
    /// registered domain it ever saw to `now_ns`), domains first seen after
    /// the learning period are new.
    Learn {
        /// The learning period.
        learn_ns: u64,
        /// The time of the report.
        now_ns: u64,
    },
    /// Earlier captures were read first (`dnsrare pcap --baseline`):
    /// domains first seen at or after this time are new.
    KnownBefore(u64),
}

impl History {
    /// Where known history ends, given where it `starts`; `None` while
    /// still learning.
    pub fn known_before(self, starts: u64) -> Option<u64> {
        match self {
            Self::None => None,
            Self::Learn { learn_ns, now_ns } => {
                let end = starts.saturating_add(learn_ns);
                (starts > 0 && now_ns >= end).then_some(end)
            }
            Self::KnownBefore(t) => Some(t),
        }
    }
}

/// The report `query` asks for, with `capture` as its summary (its
/// `counted` field is filled in here) and `history` deciding which names
/// are new. Two round trips to the shards: the overview (sizes, hosts,
/// exploded domains, base rates), then the rows.
pub fn report(
    querier: &Querier,
    mut capture: CaptureSummary,
    query: &ReportQuery,
    history: History,
) -> Result<Report, EngineError> {
    let overview = querier.overview()?;
    capture.counted = overview.counted();
    let mut context = overview.context.clone();
    if let Some(cut) = history.known_before(context.base.history_start_ns) {
        context.base.set_known_before(cut);
    }
    let context = Arc::new(context);
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
