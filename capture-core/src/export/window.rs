//! Window aggregation: a sensor's observations reduced, per window of
//! time, to one record per (host, name): query count, first and last
//! seen, the query types, the answers (responses, NXDOMAIN, other
//! failures) and the arrival times beacon scoring needs, bounded per
//! window. Replaying these records ([`super::central`]) gives an engine
//! the same counts as the observations themselves.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
};

use capture_common::EventKind;
use serde::{Deserialize, Serialize};

use crate::{
    engine::{batch::SUMMARY_ADDRESSES, state::KEPT_ADDRESSES},
    ingest::{answers::Answers, observation::Observation},
    model::host::HostAddr,
};

/// Arrival times kept as they come per (host, name) and window; beyond
/// this only arrivals a second or more after the last kept one are kept
/// (the engine's rings count nothing closer as a new beat).
pub const ARRIVALS_KEPT: usize = 64;
/// Arrival times kept per (host, name) and window at most.
pub const ARRIVALS_MAX: usize = 128;
/// Distinct query types kept per (host, name) and window.
pub const QTYPES_MAX: usize = 16;
/// The engine's beat gap: arrivals closer than this are one beat.
const BEAT_GAP_NS: u64 = 1_000_000_000;

/// What one host asked of one name within one window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRecord {
    /// The client.
    pub host: HostAddr,
    /// Lowercase dotted name.
    pub name: String,
    /// Queries.
    pub queries: u64,
    /// Distinct QTYPEs asked, at most [`QTYPES_MAX`].
    pub qtypes: Vec<u16>,
    /// First query, ns since the epoch (0 with no query).
    pub first_ns: u64,
    /// Last query.
    pub last_ns: u64,
    /// Arrival times, ascending, bounded (see [`ARRIVALS_KEPT`]).
    pub arrivals_ns: Vec<u64>,
    /// Responses to this host for this name.
    pub responses: u64,
    /// NXDOMAIN responses among them.
    pub nxdomain: u64,
    /// Other failed responses (RCODE neither 0 nor 3).
    pub failures: u64,
    /// First response, ns since the epoch (0 with no response).
    pub first_response_ns: u64,
    /// What the answered responses (with answer records) said.
    #[serde(default)]
    pub answers: AnswerRecord,
}

/// The answer sections of one (host, name)'s responses in a window, as
/// much as the engine keeps per name: how many had records, the TTL range,
/// the distinct addresses (of each response its first
/// [`SUMMARY_ADDRESSES`], as the engine takes them) in the order seen, and
/// the last CNAME chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// Responses with answer records.
    pub answered: u64,
    /// First of them, ns since the epoch.
    pub first_ns: u64,
    /// Last of them.
    pub last_ns: u64,
    /// Smallest TTL, seconds.
    pub ttl_min: u32,
    /// Largest TTL.
    pub ttl_max: u32,
    /// Distinct addresses, first seen first, at most [`ADDRESSES_MAX`].
    pub addresses: Vec<IpAddr>,
    /// The last answered response's CNAME chain, targets joined by spaces.
    pub chain: String,
    /// Most IPv4 addresses one response carried (of its first
    /// [`SUMMARY_ADDRESSES`]): addresses beyond it came from answers
    /// changing over time.
    #[serde(default)]
    pub max_v4: u8,
    /// Most IPv6 addresses one response carried.
    #[serde(default)]
    pub max_v6: u8,
}

/// Addresses kept per (host, name) and window: one more than the engine
/// keeps per name, so that it still learns there were more.
pub const ADDRESSES_MAX: usize = KEPT_ADDRESSES + 1;

impl AnswerRecord {
    fn add(&mut self, t: u64, a: &Answers) {
        if a.records == 0 {
            return;
        }
        let (lo, hi) = a.ttl.unwrap_or((0, 0));
        if self.answered == 0 {
            self.first_ns = t;
            self.ttl_min = lo;
        }
        self.answered += 1;
        self.first_ns = self.first_ns.min(t);
        self.ttl_min = self.ttl_min.min(lo);
        self.ttl_max = self.ttl_max.max(hi);
        let taken = &a.addresses[..a.addresses.len().min(SUMMARY_ADDRESSES)];
        let v4 = taken.iter().filter(|a| a.is_ipv4()).count() as u8;
        self.max_v4 = self.max_v4.max(v4);
        self.max_v6 = self.max_v6.max(taken.len() as u8 - v4);
        for addr in taken {
            if self.addresses.len() < ADDRESSES_MAX && !self.addresses.contains(addr) {
                self.addresses.push(*addr);
            }
        }
        if t >= self.last_ns {
            self.last_ns = t;
            self.chain = a.chain.join(" ");
        }
    }
}

impl PairRecord {
    fn new(host: HostAddr, name: &str) -> Self {
        Self {
            host,
            name: name.to_owned(),
            queries: 0,
            qtypes: Vec::new(),
            first_ns: 0,
            last_ns: 0,
            arrivals_ns: Vec::new(),
            responses: 0,
            nxdomain: 0,
            failures: 0,
            first_response_ns: 0,
            answers: AnswerRecord::default(),
        }
    }

    fn add(&mut self, o: &Observation<'_>) {
        let t = o.time_ns;
        match o.kind {
            EventKind::Query => {
                if self.queries == 0 {
                    self.first_ns = t;
                    self.last_ns = t;
                }
                self.queries += 1;
                self.first_ns = self.first_ns.min(t);
                self.last_ns = self.last_ns.max(t);
                if !self.qtypes.contains(&o.qtype) && self.qtypes.len() < QTYPES_MAX {
                    self.qtypes.push(o.qtype);
                }
                self.keep_arrival(t);
            }
            EventKind::Response => {
                if self.responses == 0 || t < self.first_response_ns {
                    self.first_response_ns = t;
                }
                self.responses += 1;
                match o.rcode {
                    0 => {}
                    3 => self.nxdomain += 1,
                    _ => self.failures += 1,
                }
                if let Some(a) = o.answers.parsed() {
                    self.answers.add(t, a);
                }
            }
        }
    }

    fn keep_arrival(&mut self, t: u64) {
        let kept = &mut self.arrivals_ns;
        let at = kept.partition_point(|&k| k <= t);
        let spaced = at == 0 || t >= kept[at - 1] + BEAT_GAP_NS;
        if kept.len() < ARRIVALS_KEPT || (spaced && kept.len() < ARRIVALS_MAX) {
            kept.insert(at, t);
        }
    }
}

/// One closed window of one sensor: its records and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClosedWindow {
    /// Start of the window, seconds since the epoch.
    pub start_s: u64,
    /// Its records, by name then host.
    pub pairs: Vec<PairRecord>,
}

/// One open window: records by name, then host.
type Window = HashMap<Box<str>, HashMap<HostAddr, PairRecord>>;

/// Aggregates observations into windows of `window_s` seconds by their
/// own time; windows close when asked ([`Self::take_before`]) or all at
/// once ([`Self::take_all`]).
#[derive(Debug)]
pub struct WindowAggregator {
    window_s: u64,
    open: BTreeMap<u64, Window>,
}

impl WindowAggregator {
    /// An aggregator of windows `window_s` seconds long (at least one).
    pub fn new(window_s: u64) -> Self {
        Self {
            window_s: window_s.max(1),
            open: BTreeMap::new(),
        }
    }

    /// The window length, seconds.
    pub fn window_s(&self) -> u64 {
        self.window_s
    }

    /// The start of the window `time_ns` falls in, seconds.
    pub fn window_of(&self, time_ns: u64) -> u64 {
        time_ns / 1_000_000_000 / self.window_s * self.window_s
    }

    /// Adds one observation to its window (the gateway's own upstream
    /// queries are not a client's: the engine leaves them out, and so does
    /// this).
    pub fn observe(&mut self, o: &Observation<'_>) {
        if o.upstream {
            return;
        }
        let window = self.window_of(o.time_ns);
        let names = self.open.entry(window).or_default();
        // Look up by the borrowed name first: no allocation for a known name.
        let hosts = match names.get_mut(o.name) {
            Some(hosts) => hosts,
            None => names.entry(Box::from(o.name)).or_default(),
        };
        hosts
            .entry(o.host)
            .or_insert_with(|| PairRecord::new(o.host, o.name))
            .add(o);
    }

    /// Whether no window is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Closes and returns every window that ends at or before `end_s`
    /// (seconds), oldest first.
    pub fn take_before(&mut self, end_s: u64) -> Vec<ClosedWindow> {
        let keep = self
            .open
            .split_off(&end_s.saturating_sub(self.window_s).saturating_add(1));
        let closed = std::mem::replace(&mut self.open, keep);
        closed.into_iter().map(|(s, p)| close(s, p)).collect()
    }

    /// Closes and returns every open window, oldest first.
    pub fn take_all(&mut self) -> Vec<ClosedWindow> {
        std::mem::take(&mut self.open)
            .into_iter()
            .map(|(s, p)| close(s, p))
            .collect()
    }
}

fn close(start_s: u64, window: Window) -> ClosedWindow {
    let mut pairs: Vec<PairRecord> = window
        .into_values()
        .flat_map(HashMap::into_values)
        .collect();
    pairs.sort_by(|a, b| a.name.cmp(&b.name).then(a.host.cmp(&b.host)));
    ClosedWindow { start_s, pairs }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    const S: u64 = 1_000_000_000;

    fn obs(name: &str, host: [u8; 4], t: u64, kind: EventKind, rcode: u8) -> Observation<'_> {
        Observation {
            name,
            time_ns: t,
            host: HostAddr::from(IpAddr::from(host)),
            kind,
            qtype: 1,
            rcode,
            answers: Default::default(),
            upstream: false,
        }
    }

    #[test]
    fn observations_fall_into_their_window_per_host_and_name() {
        let mut w = WindowAggregator::new(60);
        for t in [61 * S, 62 * S, 130 * S] {
            w.observe(&obs("a.example", [10, 0, 0, 1], t, EventKind::Query, 0));
        }
        w.observe(&obs(
            "a.example",
            [10, 0, 0, 2],
            70 * S,
            EventKind::Query,
            0,
        ));
        w.observe(&obs(
            "a.example",
            [10, 0, 0, 1],
            63 * S,
            EventKind::Response,
            3,
        ));
        // Windows closing at 119 s: none; at 120 s: the first.
        assert!(w.take_before(119).is_empty());
        let closed = w.take_before(120);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].start_s, 60);
        let p = &closed[0].pairs;
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].queries, p[0].first_ns, p[0].last_ns),
            (2, 61 * S, 62 * S)
        );
        assert_eq!((p[0].responses, p[0].nxdomain), (1, 1));
        assert_eq!(p[0].first_response_ns, 63 * S);
        assert_eq!(p[1].queries, 1);
        let rest = w.take_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].start_s, 120);
        assert!(w.is_empty());
    }

    #[test]
    fn arrivals_are_bounded_keeping_those_a_beat_apart() {
        let mut w = WindowAggregator::new(600);
        // 200 queries 100 ms apart, then one 5 s later.
        for i in 0..200 {
            w.observe(&obs(
                "b.example",
                [10, 0, 0, 1],
                i * S / 10,
                EventKind::Query,
                0,
            ));
        }
        w.observe(&obs(
            "b.example",
            [10, 0, 0, 1],
            25 * S,
            EventKind::Query,
            0,
        ));
        let p = &w.take_all()[0].pairs[0];
        assert_eq!(p.queries, 201);
        assert!(p.arrivals_ns.len() <= ARRIVALS_MAX);
        assert_eq!(
            &p.arrivals_ns[..ARRIVALS_KEPT],
            &(0..64).map(|i| i * S / 10).collect::<Vec<_>>()[..]
        );
        // Past the first 64, only arrivals a second apart are kept.
        assert!(
            p.arrivals_ns[ARRIVALS_KEPT..]
                .windows(2)
                .all(|w| w[1] - w[0] >= S)
        );
        assert_eq!(p.arrivals_ns.last(), Some(&(25 * S)));
        assert!(p.arrivals_ns.windows(2).all(|w| w[0] <= w[1]));
    }
}
