//! Batches: what a sensor ships per window, with the id that makes a
//! retried insert harmless (the tables collapse rows of one batch id; see
//! [`super::schema`]), the cumulative spool losses, and the rows in
//! ClickHouse's `JSONEachRow` format. A batch is also the unit of the
//! sensor's on-disk spool ([`WindowBatch::encode`]).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::window::{ClosedWindow, PairRecord};
use crate::model::capture::CaptureCounters;

/// Windows dropped from a sensor's spool (it was full), since the spool
/// was created: cumulative, so the central report takes the largest value
/// it has and a lost batch loses no count of losses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolLosses {
    /// Batches dropped.
    pub batches: u64,
    /// Queries those batches held.
    pub queries: u64,
}

/// One window of one sensor, ready to insert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBatch {
    /// Unique id; the same on every retry of this batch.
    pub id: String,
    /// The sensor (gateway) name.
    pub sensor: String,
    /// Start of the window, seconds since the epoch.
    pub window_start_s: u64,
    /// Window length, seconds.
    pub window_s: u64,
    /// Capture counters of the window (differences, not totals).
    pub counters: CaptureCounters,
    /// The sensor's spool losses so far.
    pub spool_losses: SpoolLosses,
    /// What each host asked of each name.
    pub pairs: Vec<PairRecord>,
}

/// A spooled batch that does not decode.
#[derive(Debug, Error)]
#[error("a spooled batch does not decode")]
pub struct DecodeError(#[source] serde_json::Error);

impl WindowBatch {
    /// The batch of `window` from `sensor`. `nonce` tells apart batches of
    /// the same window (late arrivals, restarts): the live exporter passes
    /// its creation time; a backfill passes `None` and the id is derived
    /// from the content, so loading the same capture twice inserts
    /// nothing new.
    pub fn new(
        sensor: &str,
        window: ClosedWindow,
        window_s: u64,
        counters: CaptureCounters,
        nonce: Option<u64>,
    ) -> Self {
        let mut batch = Self {
            id: String::new(),
            sensor: sensor.to_owned(),
            window_start_s: window.start_s,
            window_s,
            counters,
            spool_losses: SpoolLosses::default(),
            pairs: window.pairs,
        };
        let nonce = nonce.unwrap_or_else(|| {
            let mut h = crc32fast::Hasher::new();
            h.update(batch.pairs_rows().as_bytes());
            h.update(batch.window_row().as_bytes());
            u64::from(h.finalize())
        });
        batch.id = format!("{sensor}/{}/{nonce:x}", window.start_s);
        batch
    }

    /// Queries in the batch.
    pub fn queries(&self) -> u64 {
        self.pairs.iter().map(|p| p.queries).sum()
    }

    /// The batch as one line of bytes, for the spool.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).expect("a batch always serializes");
        out.push(b'\n');
        out
    }

    /// A batch from [`Self::encode`]'s bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(DecodeError)
    }

    /// The rows of the pairs table, `JSONEachRow`.
    pub fn pairs_rows(&self) -> String {
        let mut out = String::new();
        for p in &self.pairs {
            let row = serde_json::json!({
                "sensor": self.sensor,
                "batch": self.id,
                "window_s": self.window_start_s,
                "window_len_s": self.window_s,
                "host": p.host.to_string(),
                "name": p.name,
                "queries": p.queries,
                "qtypes": p.qtypes,
                "first_ns": p.first_ns,
                "last_ns": p.last_ns,
                "arrivals_ns": p.arrivals_ns,
                "responses": p.responses,
                "nxdomain": p.nxdomain,
                "failures": p.failures,
                "first_response_ns": p.first_response_ns,
                "answered": p.answers.answered,
                "first_answer_ns": p.answers.first_ns,
                "last_answer_ns": p.answers.last_ns,
                "ttl_min": p.answers.ttl_min,
                "ttl_max": p.answers.ttl_max,
                "addresses": p.answers.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "chain": p.answers.chain,
                "max_v4": p.answers.max_v4,
                "max_v6": p.answers.max_v6,
            });
            let _ = writeln!(out, "{row}");
        }
        out
    }

    /// The row of the windows table, `JSONEachRow`.
    pub fn window_row(&self) -> String {
        let c = &self.counters;
        let row = serde_json::json!({
            "sensor": self.sensor,
            "batch": self.id,
            "window_s": self.window_start_s,
            "window_len_s": self.window_s,
            "packets": c.packets,
            "queries": c.queries,
            "responses": c.responses,
            "lost": c.lost,
            "parse_errors": c.parse_errors.total(),
            "ignored": c.ignored,
            "pairs": self.pairs.len() as u64,
            "pair_queries": self.queries(),
            "spool_dropped_batches": self.spool_losses.batches,
            "spool_dropped_queries": self.spool_losses.queries,
        });
        format!("{row}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::host::HostAddr;

    fn window() -> ClosedWindow {
        ClosedWindow {
            start_s: 600,
            pairs: vec![PairRecord {
                host: HostAddr::from(std::net::IpAddr::from([10, 0, 0, 1])),
                name: "a.example".into(),
                queries: 2,
                qtypes: vec![1],
                first_ns: 600_000_000_000,
                last_ns: 601_000_000_000,
                arrivals_ns: vec![600_000_000_000, 601_000_000_000],
                responses: 1,
                nxdomain: 1,
                failures: 0,
                first_response_ns: 600_100_000_000,
                answers: Default::default(),
            }],
        }
    }

    #[test]
    fn backfill_ids_follow_the_content_and_live_ids_the_nonce() {
        let c = CaptureCounters::default();
        let a = WindowBatch::new("s1", window(), 60, c, None);
        let b = WindowBatch::new("s1", window(), 60, c, None);
        assert_eq!(a.id, b.id);
        assert!(a.id.starts_with("s1/600/"));
        let mut other = window();
        other.pairs[0].queries = 3;
        assert_ne!(WindowBatch::new("s1", other, 60, c, None).id, a.id);
        assert_eq!(
            WindowBatch::new("s1", window(), 60, c, Some(255)).id,
            "s1/600/ff"
        );
    }

    #[test]
    fn batches_round_trip_through_the_spool_encoding() {
        let a = WindowBatch::new("s1", window(), 60, CaptureCounters::default(), Some(1));
        assert_eq!(WindowBatch::decode(&a.encode()).expect("decodes"), a);
        assert!(WindowBatch::decode(b"{\"id\":").is_err());
    }

    #[test]
    fn rows_carry_the_sensor_batch_and_plain_addresses() {
        let a = WindowBatch::new("s1", window(), 60, CaptureCounters::default(), Some(1));
        let row: serde_json::Value =
            serde_json::from_str(a.pairs_rows().trim()).expect("one JSON row");
        assert_eq!(row["sensor"], "s1");
        assert_eq!(row["batch"], "s1/600/1");
        assert_eq!(row["host"], "10.0.0.1");
        assert_eq!(row["arrivals_ns"][1], 601_000_000_000u64);
        let w: serde_json::Value = serde_json::from_str(a.window_row().trim()).expect("row");
        assert_eq!(w["pair_queries"], 2);
    }
}
