//! The local socket protocol between `dnsrare` commands and the daemon:
//! one JSON request line, one JSON response line, then the connection
//! closes. Requests are small and bounded; answers can be large.

use serde::{Deserialize, Serialize};

use crate::model::{
    query::ReportQuery,
    report::{HostsReply, Report},
    status::StatsReply,
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
