//! The daemon's state as `dnsrare stats` shows it: each shard's size and
//! pressure, the loaded program's size, the last snapshot.

use serde::{Deserialize, Serialize};

use super::capture::CaptureSummary;

/// How close a shard is to its budget, and what it gives up.
///
/// - `Normal`: everything is counted in detail.
/// - `Tight` (90% of the budget): no new arrival rings; beacon scoring
///   continues for pairs that already have one.
/// - `Full` (100%): no new names, domains, hosts or (host, name) pairs.
///   Queries for known names from known hosts are counted exactly as
///   before; a query for a new name is folded into its domain's aggregate
///   (or the shard's overflow row when the domain is new too); a query from
///   a new host for a known name counts in the name's `untracked` queries.
///   Rare names already counted keep exact counts: nothing is evicted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Pressure {
    /// Under 90% of the budget.
    #[default]
    Normal,
    /// 90% of the budget or more.
    Tight,
    /// The budget is used up.
    Full,
}

/// Totals of one shard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Queries counted (folded and untracked included).
    pub queries: u64,
    /// Responses seen.
    pub responses: u64,
    /// Responses for names never queried here.
    pub unmatched_responses: u64,
    /// Queries folded into domain aggregates.
    pub folded_queries: u64,
    /// Queries from hosts not tracked because the shard was full.
    pub untracked_queries: u64,
    /// Distinct (host, name) pairs.
    pub pairs: u64,
}

/// Sizes and totals of one shard, for `dnsrare stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSize {
    /// Distinct names counted in detail.
    pub names: u64,
    /// Distinct (host, name) pairs.
    pub pairs: u64,
    /// Registered domains.
    pub domains: u64,
    /// Hosts seen by this shard.
    pub hosts: u64,
    /// Arrival rings held.
    pub rings: u64,
    /// Exploded (folding) domains.
    pub folded_domains: u64,
    /// Bytes of state.
    pub memory_bytes: u64,
    /// This shard's budget.
    pub budget_bytes: u64,
    /// How close to the budget.
    pub pressure: Pressure,
    /// Counting totals.
    pub totals: Totals,
}

/// The last snapshot attempt, for `dnsrare stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStatus {
    /// When the last good snapshot was written, ns since the epoch.
    pub written_ns: u64,
    /// How long it took, ms.
    pub duration_ms: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// The last attempt's error, if it failed (it is retried next interval).
    pub error: Option<String>,
}

/// Size of the loaded program, as the kernel reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramFacts {
    /// Instructions after the kernel's rewrites.
    pub instructions: Option<u32>,
    /// Instructions the verifier processed to accept it ("processed N insns").
    pub verified_instructions: Option<u32>,
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
    /// Size of the loaded TC egress program; `None` when it is not
    /// attached (`--no-egress`).
    #[serde(default)]
    pub egress_program: Option<ProgramFacts>,
    /// The last snapshot.
    pub snapshot: SnapshotStatus,
    /// Reports answered since the daemon started, and how long they took.
    #[serde(default)]
    pub reports: ReportTimings,
}

/// Reports answered and their latency, for `dnsrare stats` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTimings {
    /// Reports answered (failed ones included).
    pub count: u64,
    /// Their durations added up, ns.
    pub total_ns: u64,
    /// The last one's, ns.
    pub last_ns: u64,
}

impl ReportTimings {
    /// Counts one report that took `ns`.
    pub fn record(&mut self, ns: u64) {
        self.count += 1;
        self.total_ns = self.total_ns.saturating_add(ns);
        self.last_ns = ns;
    }
}
