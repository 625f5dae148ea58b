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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// What a report should contain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Rows wanted.
    pub top: usize,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
