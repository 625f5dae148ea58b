//! The rows of a report and the answers about one name: what the engine
//! hands the CLI (as JSON over the socket), the renderers print and tools
//! read.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{
    capture::CaptureSummary,
    query::{Sort, View},
    score::{BeaconScore, Part},
};

/// One host's query count for a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCount {
    /// Host address.
    pub addr: IpAddr,
    /// Queries from this host.
    pub queries: u64,
    /// The sensor that saw it (central reports across sensors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
}

/// The most periodic host of a name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeaconRow {
    /// The host.
    pub host: IpAddr,
    /// The score and its measurements.
    #[serde(flatten)]
    pub beacon: BeaconScore,
}

/// One name in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Lowercase dotted name.
    pub name: String,
    /// Its registered domain (ICANN public suffix plus one label).
    pub domain: String,
    /// Combined suspicion score, 0..=100.
    pub score: f32,
    /// Queries for it.
    pub queries: u64,
    /// Distinct hosts that asked (tracked ones).
    pub distinct_hosts: u64,
    /// Distinct hosts on the network.
    pub network_hosts: u64,
    /// Queries from hosts not tracked because memory was full.
    pub untracked_queries: u64,
    /// First query, ns since the UNIX epoch.
    pub first_seen_ns: u64,
    /// Last query, ns since the UNIX epoch.
    pub last_seen_ns: u64,
    /// Responses seen for it.
    pub responses: u64,
    /// NXDOMAIN answers among them.
    pub nxdomain: u64,
    /// Query types asked.
    pub qtypes: Vec<String>,
    /// Lexical randomness of its labels, 0..=1.
    pub randomness: f32,
    /// Lists it is on (`cdn-cloud`, `dynamic-dns`, `ip-lookup`, `watch`,
    /// and `deny` for the report's deny list).
    pub lists: Vec<String>,
    /// Distinct names under its registered domain.
    pub domain_names: u64,
    /// Distinct hosts asking names under its registered domain.
    pub domain_hosts: u64,
    /// Its most periodic host, when one has enough arrivals to measure.
    pub beacon: Option<BeaconRow>,
    /// Why it ranks where it does, part by part.
    pub parts: Vec<Part>,
    /// The same as one line.
    pub explanation: String,
    /// When `--per-domain` left names of this domain out, on its last row
    /// shown: how many other names the domain has.
    pub more_in_domain: u64,
    /// The hosts that asked, most queries first (at most ten).
    pub hosts: Vec<HostCount>,
    /// What the resolver answered, when a response with an answer section
    /// was seen.
    pub answers: Option<AnswerRow>,
}

/// What the resolver answered for a name, over every response seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRow {
    /// Distinct A/AAAA addresses, first seen first (at most eight).
    pub addresses: Vec<IpAddr>,
    /// Distinct addresses seen (eight or more when `more_addresses`).
    pub distinct_addresses: u32,
    /// More distinct addresses were seen than are listed.
    pub more_addresses: bool,
    /// The last CNAME chain from the name, in order.
    pub cnames: Vec<String>,
    /// Smallest TTL seen, seconds.
    pub ttl_min: u32,
    /// Largest TTL seen, seconds.
    pub ttl_max: u32,
    /// Responses whose answer section was read.
    pub answered: u32,
}

/// One host in the `--by host` view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostRow {
    /// The host.
    pub addr: IpAddr,
    /// How suspicious its findings are: its best finding's score plus a
    /// fifth of each other scoring 50 or more, at most 100.
    pub score: f32,
    /// Queries it sent.
    pub queries: u64,
    /// Distinct names it asked.
    pub names: u64,
    /// NXDOMAIN answers it got.
    pub nxdomain: u64,
    /// Names in its findings scoring 20 or more.
    pub suspicious_names: u64,
    /// The first name of each of its findings, most suspicious first, with
    /// the finding's score (at most five).
    pub top_names: Vec<(String, f32)>,
    /// The sensor of the host (central reports across sensors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
}

/// One registered domain in the `--by domain` view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainRow {
    /// The registered domain.
    pub domain: String,
    /// Its most suspicious name's score.
    pub score: f32,
    /// That name.
    pub top_name: String,
    /// Distinct names counted one by one.
    pub names: u64,
    /// Estimated distinct names folded into its aggregate (exploded).
    pub folded_names: u64,
    /// Distinct hosts.
    pub hosts: u64,
    /// Queries for any name under it.
    pub queries: u64,
}

/// The aggregate row of an exploded domain: names beyond the per-domain
/// limit (or past the memory budget) are counted here, not one by one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldedRow {
    /// The registered domain ("" for the overflow row of domains that could
    /// not be created because memory was full).
    pub domain: String,
    /// Queries for folded names.
    pub folded_queries: u64,
    /// Estimated distinct folded names (HyperLogLog, about ±3%).
    pub folded_names_estimate: u64,
    /// Names under the domain counted one by one.
    pub names_counted: u64,
    /// Queries for any name under the domain.
    pub domain_queries: u64,
    /// Distinct hosts that asked for any name under the domain.
    pub distinct_hosts: u64,
    /// Folding because memory was full, not because of the domain limit.
    pub by_memory: bool,
    /// First folded query.
    pub first_seen_ns: u64,
    /// Last folded query.
    pub last_seen_ns: u64,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Packets seen, queries counted, losses and parse errors.
    pub capture: CaptureSummary,
    /// Distinct names counted one by one.
    pub names: u64,
    /// Distinct hosts on the network.
    pub network_hosts: u64,
    /// What the rows are.
    pub view: View,
    /// How name rows are ordered.
    pub sort: Sort,
    /// Name rows (the name view).
    pub rows: Vec<Row>,
    /// Host rows (the host view).
    pub hosts: Vec<HostRow>,
    /// Domain rows (the domain view).
    pub domains: Vec<DomainRow>,
    /// Exploded domains, most folded queries first.
    pub folded: Vec<FoldedRow>,
    /// Findings, most suspicious first (the default view; empty in the
    /// others).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// What the allow list hid from this report.
    #[serde(default)]
    pub allow_hidden: ListCounts,
    /// What the deny list put in this report: `denied` findings and name
    /// rows marked `deny`, shown whatever their score.
    #[serde(default)]
    pub deny_shown: ListCounts,
    /// How many names were asked how many times, when the query asked for
    /// it: one bucket per power of two of the query count (1, 2, 3-4,
    /// 5-8, ...), empty buckets left out, fewest queries first.
    #[serde(default)]
    pub query_histogram: Vec<HistogramBucket>,
    /// Arrival timelines of the top findings' first names, when the query
    /// asked for them (findings view only).
    #[serde(default)]
    pub timelines: Vec<Timeline>,
    /// Each sensor's counters and losses (central reports across sensors
    /// only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<SensorSummary>,
}

/// One sensor in a central report: what it captured and what never
/// reached the central store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorSummary {
    /// The sensor's name.
    pub sensor: String,
    /// Windows received.
    pub windows: u64,
    /// Its capture counters over those windows.
    pub capture: CaptureSummary,
    /// Windows dropped from its spool while the store was unreachable.
    pub spool_dropped_windows: u64,
    /// Queries those windows held.
    pub spool_dropped_queries: u64,
    /// Start of its first window received, ns since the epoch.
    pub first_ns: u64,
    /// End of its last window received.
    pub last_ns: u64,
}

/// Findings and names an allow or deny list acted on in one report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCounts {
    /// Findings: for the allow list, those (scoring at least `--min-score`)
    /// whose names were all allowed; for the deny list, `denied` findings.
    pub findings: u64,
    /// Distinct names passing the report's time and host filters: allowed
    /// ones left out, or denied ones shown.
    pub names: u64,
}

/// Names asked a number of times within one bucket of the histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramBucket {
    /// The bucket holds names asked more than half this many times and at
    /// most this many (a power of two; 1 holds names asked once).
    pub max_queries: u64,
    /// Names in it.
    pub names: u64,
}

/// Buckets of the query histogram: counts are `u64`, so 65 powers of two.
pub const HISTOGRAM_BUCKETS: usize = 65;

/// The histogram bucket of a name asked `queries` times (`queries` >= 1):
/// the exponent of the smallest power of two at or above it.
pub fn histogram_bucket(queries: u64) -> usize {
    queries.max(1).next_power_of_two().trailing_zeros() as usize
}

/// One finding's host's queries for the finding's names, in time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Index of the finding in the report's `findings`.
    pub finding: usize,
    /// The names drawn: the finding's listed names its host asked.
    pub names: Vec<String>,
    /// The host (the finding's first).
    pub host: IpAddr,
    /// Its queries for those names.
    pub queries: u64,
    /// Its first query for any of them, ns since the UNIX epoch.
    pub first_seen_ns: u64,
    /// Its last.
    pub last_seen_ns: u64,
    /// Its most recent arrival times for each name (at most 64 per name,
    /// a second apart or more), oldest first.
    pub arrivals_ns: Vec<u64>,
    /// Their periodicity, when the timeline is of one name with enough
    /// arrivals to measure.
    pub beacon: Option<BeaconScore>,
    /// Where that period predicts a beat between two arrivals but none
    /// came (ns since the epoch).
    pub missed_ns: Vec<u64>,
    /// The sensor of the host (central reports across sensors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
}

/// One host's queries for a name, with times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostDetail {
    /// Host address.
    pub addr: IpAddr,
    /// Queries from this host.
    pub queries: u64,
    /// First query from this host, ns since the UNIX epoch.
    pub first_seen_ns: u64,
    /// Last query from this host, ns since the UNIX epoch.
    pub last_seen_ns: u64,
    /// Its most recent arrival times (at most 64, a second apart or more).
    pub arrivals_ns: Vec<u64>,
    /// Their periodicity, when there are enough to measure.
    pub beacon: Option<BeaconScore>,
}

/// Answer to `dnsrare hosts NAME`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostsReply {
    /// The name asked about.
    pub name: String,
    /// Queries for it, all hosts.
    pub queries: u64,
    /// The name is an exploded domain: the hosts are those that asked for
    /// its folded names.
    pub folded: bool,
    /// Hosts, most queries first.
    pub hosts: Vec<HostDetail>,
    /// What the resolver answered for it.
    pub answers: Option<AnswerRow>,
}

/// What behaviour a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// One host resolving one name on a timer.
    Beacon,
    /// One host asking many random-looking names that do not exist.
    DgaBurst,
    /// One host asking many unique names under domains nobody else asks.
    Tunnel,
    /// One host, within minutes: a public-IP lookup next to dynamic-DNS or
    /// other rare, suspicious names (what commodity RATs do at start-up).
    StartupSequence,
    /// One host's rare names that share nothing with the rest of the
    /// network and carry other hints.
    RareNames,
    /// Names on the user's deny list, whatever their score.
    Denied,
}

impl FindingKind {
    /// Short name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beacon => "beacon",
            Self::DgaBurst => "dga_burst",
            Self::Tunnel => "tunnel",
            Self::StartupSequence => "startup_sequence",
            Self::RareNames => "rare_names",
            Self::Denied => "denied",
        }
    }
}

/// One behaviour of one host (or of a few hosts doing the same thing): the
/// unit of the default report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What behaviour.
    pub kind: FindingKind,
    /// 0..=100, from its bits of evidence.
    pub score: f32,
    /// Bits of evidence (the report's order).
    pub bits: f32,
    /// The hosts that did it.
    pub hosts: Vec<IpAddr>,
    /// The names it covers, most telling first (at most
    /// [`FINDING_NAMES`]).
    pub names: Vec<String>,
    /// Names it covers beyond those listed.
    pub more_names: u64,
    /// First query of any of its names from its hosts, ns since the epoch.
    pub first_seen_ns: u64,
    /// Last such query.
    pub last_seen_ns: u64,
    /// Why it ranks where it does, as one line.
    pub explanation: String,
    /// The sensor of each host, in `hosts` order (central reports across
    /// sensors only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<String>,
}

/// Names listed per finding.
pub const FINDING_NAMES: usize = 12;
