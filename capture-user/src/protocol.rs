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
/// Most rows a report may ask for.
pub const MAX_TOP: usize = 1_000_000;

/// Parses one request line as the daemon does: bounded in length, JSON,
/// and with values in range. The error is the message sent back.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    if line.len() > MAX_REQUEST_BYTES {
        return Err(format!("request longer than {MAX_REQUEST_BYTES} bytes"));
    }
    let request: Request =
        serde_json::from_slice(line).map_err(|e| format!("malformed request: {e}"))?;
    if let Request::Report(q) = &request {
        if q.top > MAX_TOP {
            return Err(format!("top must be at most {MAX_TOP}"));
        }
        if !q.min_score.is_finite() {
            return Err("min_score must be a finite number".into());
        }
    }
    Ok(request)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_bounded_and_checked() {
        assert!(matches!(
            parse_request(b"{\"request\":\"stats\"}\n"),
            Ok(Request::Stats)
        ));
        assert!(
            parse_request(b"\x00 nope")
                .unwrap_err()
                .starts_with("malformed request")
        );
        assert!(
            parse_request(&vec![b' '; MAX_REQUEST_BYTES + 1])
                .unwrap_err()
                .contains("longer")
        );
        let huge = format!("{{\"request\":\"report\",\"top\":{}}}", MAX_TOP + 1);
        assert!(
            parse_request(huge.as_bytes())
                .unwrap_err()
                .contains("top must be")
        );
        let inf = b"{\"request\":\"report\",\"top\":1,\"min_score\":1e39}";
        assert!(parse_request(inf).unwrap_err().contains("finite"));
    }
}
