//! The local socket protocol between `dnsrare` commands and the daemon:
//! one JSON request line, one JSON response line, then the connection
//! closes. Requests are small and bounded; answers can be large.

use serde::{Deserialize, Serialize};

use crate::{
    capture::ProgramFacts,
    daemon::SnapshotStatus,
    engine::view::ShardSize,
    report::{HostsReply, Report},
    stats::CaptureSummary,
};

/// Longest request line the daemon reads, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// The rare-name report.
    Report(ReportQuery),
    /// Capture counters and shard sizes.
    Stats,
    /// Who asked for a name.
    Hosts {
        /// The name, as printed in reports.
        name: String,
    },
}

/// What the rows of a report are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Names, most suspicious first.
    #[default]
    Name,
    /// Hosts, ranked by how suspicious their names are.
    Host,
    /// Registered domains, with exploded-subdomain counts.
    Domain,
}

/// How name rows are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Combined suspicion score, highest first.
    #[default]
    Score,
    /// Least queried first (the plain SANS method).
    Rare,
}

/// What a report should contain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Rows wanted.
    pub top: usize,
    /// Names, hosts or domains.
    #[serde(default)]
    pub view: View,
    /// Order of name rows.
    #[serde(default)]
    pub sort: Sort,
    /// Only names seen at or after this time (ns since the epoch).
    #[serde(default)]
    pub since_ns: Option<u64>,
    /// Only names this host asked (and, by host, only this host).
    #[serde(default)]
    pub host: Option<std::net::IpAddr>,
    /// Only rows scoring at least this.
    #[serde(default)]
    pub min_score: f32,
    /// Name rows per registered domain, the rest counted in the last shown
    /// (0: no limit); keeps one tunnel's thousand names from filling the
    /// report.
    #[serde(default = "default_per_domain")]
    pub per_domain: usize,
}

fn default_per_domain() -> usize {
    3
}

impl Default for ReportQuery {
    fn default() -> Self {
        Self {
            top: 50,
            view: View::default(),
            sort: Sort::default(),
            since_ns: None,
            host: None,
            min_score: 0.0,
            per_domain: default_per_domain(),
        }
    }
}

/// Capture counters and engine sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReply {
    /// Capture counters.
    pub capture: CaptureSummary,
    /// Each shard's size, in shard order.
    pub shards: Vec<ShardSize>,
    /// Interfaces the program is attached to, with their XDP mode.
    pub interfaces: Vec<String>,
    /// Size of the loaded XDP program.
    pub program: ProgramFacts,
    /// The last snapshot.
    pub snapshot: SnapshotStatus,
}

/// What the daemon answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Report`].
    Report(Report),
    /// Answer to [`Request::Stats`].
    Stats(StatsReply),
    /// Answer to [`Request::Hosts`]; `None` when the name was never seen.
    Hosts {
        /// The hosts, if the name is known.
        found: Option<HostsReply>,
    },
    /// The request could not be served.
    Error {
        /// Why.
        message: String,
    },
}
