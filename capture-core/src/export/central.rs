//! The central report: the per-(sensor, host, name) aggregates read back
//! from ClickHouse, replayed in time order into a fresh engine as the
//! observations they stand for, then scored by the same report code as a
//! local report. A host is a sensor and an address (10.0.0.5 at two sites
//! is two hosts): each pair gets a stand-in address in the engine, and the
//! report's addresses are turned back into the real ones with their
//! sensor afterwards.

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use capture_common::EventKind;
use serde::Deserialize;
use thiserror::Error;

use crate::{
    engine::batch::SUMMARY_ADDRESSES,
    engine::{self, Engine, EngineConfig, EngineError, report::History},
    ingest::{
        answers::Answers,
        observation::{Answered, Observation},
    },
    model::{
        capture::{CaptureCounters, CaptureSummary, ParseErrorCounts},
        host::HostAddr,
        query::ReportQuery,
        report::{Report, SensorSummary},
    },
    score::{lists::Lists, report_lists::ReportLists},
};

/// One (sensor, host, name) over the windows read, as the pairs query
/// returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CentralPair {
    /// The sensor.
    pub sensor: String,
    /// The host's address, as text.
    pub host: String,
    /// The name.
    pub name: String,
    /// Queries.
    pub queries: u64,
    /// Distinct QTYPEs.
    pub qtypes: Vec<u16>,
    /// First query, ns since the epoch (0: none).
    pub first_ns: u64,
    /// Last query.
    pub last_ns: u64,
    /// Kept arrival times, any order.
    pub arrivals_ns: Vec<u64>,
    /// Responses.
    pub responses: u64,
    /// NXDOMAIN responses.
    pub nxdomain: u64,
    /// Other failed responses.
    pub failures: u64,
    /// First response (0: none).
    pub first_response_ns: u64,
    /// What the answered responses said, one entry per window that had
    /// some.
    pub answers: Vec<AnswerWindow>,
}

/// One window's answers of one (sensor, host, name): first and last
/// answered response (ns), how many, TTL range, distinct addresses in the
/// order seen, the last CNAME chain (targets joined by spaces), and the
/// most IPv4 and IPv6 addresses one response carried.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AnswerWindow(
    pub u64,
    pub u64,
    pub u64,
    pub u32,
    pub u32,
    pub Vec<String>,
    pub String,
    pub u8,
    pub u8,
);

/// One sensor's totals, as the sensors query returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct SensorTotals {
    /// The sensor.
    pub sensor: String,
    /// Windows received.
    pub windows: u64,
    /// Capture counters, summed.
    pub packets: u64,
    /// DNS queries captured.
    pub queries: u64,
    /// DNS responses captured.
    pub responses: u64,
    /// Events lost in capture.
    pub lost: u64,
    /// Parse errors.
    pub parse_errors: u64,
    /// Not DNS.
    pub ignored: u64,
    /// Queries in the pairs of those windows.
    pub pair_queries: u64,
    /// Windows the sensor dropped from its spool (largest count seen).
    pub spool_dropped_batches: u64,
    /// Queries in them.
    pub spool_dropped_queries: u64,
    /// First window start, seconds.
    pub first_window_s: u64,
    /// Last window end, seconds.
    pub last_window_end_s: u64,
}

impl SensorTotals {
    fn counters(&self) -> CaptureCounters {
        CaptureCounters {
            packets: self.packets,
            queries: self.queries,
            responses: self.responses,
            lost: self.lost,
            ignored: self.ignored,
            parse_errors: ParseErrorCounts {
                other: self.parse_errors,
                ..ParseErrorCounts::default()
            },
        }
    }

    fn summary(&self) -> SensorSummary {
        let mut capture = CaptureSummary::new(&self.counters(), &ParseErrorCounts::default());
        capture.counted = self.pair_queries;
        SensorSummary {
            sensor: self.sensor.clone(),
            windows: self.windows,
            capture,
            spool_dropped_windows: self.spool_dropped_batches,
            spool_dropped_queries: self.spool_dropped_queries,
            first_ns: self.first_window_s.saturating_mul(1_000_000_000),
            last_ns: self.last_window_end_s.saturating_mul(1_000_000_000),
        }
    }
}

/// Rows read back that make no sense.
#[derive(Debug, Error)]
pub enum CentralError {
    /// A host column that is not an address.
    #[error("sensor {sensor}: host {host:?} is not an IP address")]
    BadHost {
        /// The sensor.
        sensor: String,
        /// The text.
        host: String,
    },
    /// The counting engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Stand-in engine addresses for (sensor, address) hosts: `fd64:6e73::N`.
#[derive(Debug, Default)]
pub struct HostMap {
    index: HashMap<(String, IpAddr), HostAddr>,
    hosts: Vec<(String, IpAddr)>,
}

const STAND_IN_PREFIX: [u8; 8] = [0xfd, 0x64, 0x6e, 0x73, 0, 0, 0, 0];

impl HostMap {
    /// The stand-in of `addr` at `sensor`.
    pub fn stand_in(&mut self, sensor: &str, addr: IpAddr) -> HostAddr {
        if let Some(&h) = self.index.get(&(sensor.to_owned(), addr)) {
            return h;
        }
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&STAND_IN_PREFIX);
        raw[8..].copy_from_slice(&(self.hosts.len() as u64).to_be_bytes());
        let h = HostAddr(raw);
        self.hosts.push((sensor.to_owned(), addr));
        self.index.insert((sensor.to_owned(), addr), h);
        h
    }

    /// The sensor and real address behind a stand-in (`None` for any other
    /// address).
    pub fn real(&self, stand_in: IpAddr) -> Option<&(String, IpAddr)> {
        let IpAddr::V6(v6) = stand_in else {
            return None;
        };
        let o = v6.octets();
        if o[..8] != STAND_IN_PREFIX {
            return None;
        }
        let i = u64::from_be_bytes(o[8..].try_into().ok()?);
        self.hosts.get(usize::try_from(i).ok()?)
    }

    /// Rewrites every host address of `report` to the real one and fills
    /// in its sensor.
    pub fn attribute(&self, report: &mut Report) {
        let real = |addr: &mut IpAddr| -> Option<String> {
            let (sensor, ip) = self.real(*addr)?;
            *addr = *ip;
            Some(sensor.clone())
        };
        for row in &mut report.rows {
            for h in &mut row.hosts {
                h.sensor = real(&mut h.addr);
            }
            if let Some(b) = &mut row.beacon {
                real(&mut b.host);
            }
        }
        for row in &mut report.hosts {
            row.sensor = real(&mut row.addr);
        }
        for f in &mut report.findings {
            f.sensors = f
                .hosts
                .iter_mut()
                .map(|h| real(h).unwrap_or_default())
                .collect();
        }
        for t in &mut report.timelines {
            t.sensor = real(&mut t.host);
        }
    }
}

/// One observation to replay: the pair it comes from and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Replayed {
    time_ns: u64,
    /// Queries before responses at the same time.
    response: bool,
    pair: u32,
    qtype: u16,
    rcode: u8,
    /// Index of its answer section in the replay's answers.
    answer: u32,
}

/// No answer section.
const NO_ANSWER: u32 = u32::MAX;

/// The observations to replay and the answer sections they refer to.
#[derive(Debug, Default)]
struct Replay {
    observations: Vec<Replayed>,
    answers: Vec<Answers>,
}

/// The answer sections standing for one window's answered responses, at
/// the first answer's time: the addresses in the order seen, as many of
/// each family to a response as the most one response carried (IPv4 and
/// IPv6 in sections of their own when the count of answers allows, side
/// by side otherwise); then the others, with no address, at the last
/// answer's time; every one with the window's TTL range and last chain.
fn answer_sections(w: &AnswerWindow, answers: &mut Vec<Answers>) -> Vec<(u64, u32)> {
    let AnswerWindow(first, last, answered, ttl_min, ttl_max, addresses, chain, max_v4, max_v6) = w;
    let chain: Vec<String> = chain
        .split(' ')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let addresses: Vec<IpAddr> = addresses.iter().filter_map(|a| a.parse().ok()).collect();
    let section = |addresses: &[IpAddr]| Answers {
        chain: chain.clone(),
        addresses: addresses.to_vec(),
        ttl: Some((*ttl_min, *ttl_max)),
        records: addresses.len().max(1) as u16,
        truncated: false,
    };
    let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = addresses.iter().partition(|a| a.is_ipv4());
    let per = |max: u8| usize::from(max).clamp(1, SUMMARY_ADDRESSES);
    let v4: Vec<&[IpAddr]> = v4.chunks(per(*max_v4)).collect();
    let v6: Vec<&[IpAddr]> = v6.chunks(per(*max_v6)).collect();
    let chunks: Vec<Vec<IpAddr>> = if (v4.len() + v6.len()) as u64 <= *answered {
        v4.iter().chain(&v6).map(|c| c.to_vec()).collect()
    } else {
        (0..v4.len().max(v6.len()))
            .map(|i| {
                let mut c = v4.get(i).map_or_else(Vec::new, |c| c.to_vec());
                c.extend_from_slice(v6.get(i).copied().unwrap_or_default());
                c
            })
            .collect()
    };
    let mut out = Vec::new();
    for chunk in &chunks {
        if out.len() as u64 == *answered {
            break;
        }
        out.push((*first, answers.len() as u32));
        answers.push(section(chunk));
    }
    let rest = answered.saturating_sub(out.len() as u64);
    if rest > 0 {
        let index = answers.len() as u32;
        answers.push(section(&[]));
        out.extend(std::iter::repeat_n((*last, index), rest as usize));
    }
    out
}

/// The observations `pairs` stand for, in time order: each kept arrival a
/// query (the QTYPEs spread over the first ones), the queries beyond them
/// at the last query's time (closer than a beat to a kept one, so the
/// rings see what the sensor's engine saw), then the responses at the
/// first response's time (NXDOMAIN, other failures, then answers).
fn replayed(pairs: &[CentralPair]) -> Replay {
    let mut replay = Replay::default();
    let out = &mut replay.observations;
    for (i, p) in pairs.iter().enumerate() {
        let pair = i as u32;
        let mut arrivals = p.arrivals_ns.clone();
        arrivals.sort_unstable();
        arrivals.truncate(usize::try_from(p.queries).unwrap_or(usize::MAX));
        let extra = p.queries - arrivals.len() as u64;
        let times = arrivals
            .into_iter()
            .chain(std::iter::repeat_n(p.last_ns, extra as usize));
        let qtypes = if p.qtypes.is_empty() {
            &[1][..]
        } else {
            &p.qtypes
        };
        for (k, time_ns) in times.enumerate() {
            out.push(Replayed {
                time_ns,
                response: false,
                pair,
                qtype: qtypes[k.min(qtypes.len() - 1)],
                rcode: 0,
                answer: NO_ANSWER,
            });
        }
        // Answered responses take the plain answers' RCODE first.
        let mut sections = p
            .answers
            .iter()
            .flat_map(|w| answer_sections(w, &mut replay.answers))
            .collect::<Vec<_>>()
            .into_iter();
        let plain = p.responses.saturating_sub(p.nxdomain + p.failures);
        for (rcode, n) in [(0u8, plain), (3, p.nxdomain), (2, p.failures)] {
            for _ in 0..n {
                let (time_ns, answer) = sections.next().unwrap_or((p.first_response_ns, NO_ANSWER));
                out.push(Replayed {
                    time_ns,
                    response: true,
                    pair,
                    qtype: 1,
                    rcode,
                    answer,
                });
            }
        }
    }
    replay.observations.sort_unstable();
    replay
}

/// What the central report is computed from and how.
pub struct CentralInput<'a> {
    /// The aggregates read back.
    pub pairs: &'a [CentralPair],
    /// Each sensor's totals.
    pub sensors: &'a [SensorTotals],
    /// Engine layout.
    pub engine: &'a EngineConfig,
    /// Scoring lists.
    pub lists: Arc<Lists>,
    /// Allow and deny lists of the report.
    pub report_lists: &'a Arc<ReportLists>,
}

/// The report `query` asks for over every sensor's aggregates: the same
/// engine and report code as a local report, hosts told apart by sensor,
/// the capture summary summed over sensors and each sensor's own in
/// [`Report::sensors`].
pub fn report(input: &CentralInput<'_>, query: &ReportQuery) -> Result<Report, CentralError> {
    let mut hosts = HostMap::default();
    let mut stand_ins = Vec::with_capacity(input.pairs.len());
    for p in input.pairs {
        let addr: IpAddr = p.host.parse().map_err(|_| CentralError::BadHost {
            sensor: p.sensor.clone(),
            host: p.host.clone(),
        })?;
        stand_ins.push(hosts.stand_in(&p.sensor, addr));
    }
    let engine = Engine::start_for_files(input.engine, Arc::clone(&input.lists));
    let mut dispatcher = engine.dispatcher();
    let replay = replayed(input.pairs);
    for r in &replay.observations {
        let pair = r.pair as usize;
        dispatcher.push(&Observation {
            name: &input.pairs[pair].name,
            time_ns: r.time_ns,
            host: stand_ins[pair],
            kind: if r.response {
                EventKind::Response
            } else {
                EventKind::Query
            },
            qtype: r.qtype,
            rcode: r.rcode,
            answers: match replay.answers.get(r.answer as usize) {
                Some(a) => Answered::Parsed(a),
                None => Answered::Unknown,
            },
            upstream: false,
        })?;
    }
    dispatcher.flush()?;
    let mut counters = CaptureCounters::default();
    for s in input.sensors {
        counters.add(&s.counters());
    }
    let querier = engine.querier();
    let capture = CaptureSummary::new(&counters, &ParseErrorCounts::default());
    let mut report =
        engine::report::report(&querier, capture, query, History::None, input.report_lists)?;
    drop((dispatcher, querier));
    engine.shutdown();
    hosts.attribute(&mut report);
    report.sensors = input.sensors.iter().map(SensorTotals::summary).collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(queries: u64, arrivals: &[u64]) -> CentralPair {
        CentralPair {
            sensor: "a".into(),
            host: "10.0.0.1".into(),
            name: "x.example".into(),
            queries,
            qtypes: vec![1, 28],
            first_ns: arrivals[0],
            last_ns: 9_000,
            arrivals_ns: arrivals.to_vec(),
            responses: 3,
            nxdomain: 1,
            failures: 1,
            first_response_ns: 50,
            answers: vec![AnswerWindow(
                60,
                70,
                2,
                30,
                300,
                ["10.1.1.1", "10.1.1.2", "10.1.1.3", "10.1.1.4", "10.1.1.5"]
                    .map(String::from)
                    .to_vec(),
                "cdn.example".into(),
                4,
                0,
            )],
        }
    }

    #[test]
    fn replay_gives_every_query_and_response_in_time_order() {
        let replay = replayed(&[pair(4, &[100, 20])]);
        let r = &replay.observations;
        let times: Vec<(u64, bool)> = r.iter().map(|r| (r.time_ns, r.response)).collect();
        assert_eq!(
            times,
            [
                (20, false),
                (50, true),
                (60, true),
                (60, true),
                (100, false),
                (9_000, false),
                (9_000, false)
            ]
        );
        // Two answered responses: the five addresses four to a response.
        let sections: Vec<&Answers> = r
            .iter()
            .filter_map(|o| replay.answers.get(o.answer as usize))
            .collect();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].addresses.len(), 4);
        assert_eq!(sections[1].addresses.len(), 1);
        assert_eq!(sections[0].chain, ["cdn.example"]);
        assert_eq!(sections[1].ttl, Some((30, 300)));
        let mut rcodes: Vec<u8> = r.iter().filter(|r| r.response).map(|r| r.rcode).collect();
        rcodes.sort_unstable();
        assert_eq!(rcodes, [0, 2, 3]);
        let qtypes: Vec<u16> = r.iter().filter(|r| !r.response).map(|r| r.qtype).collect();
        assert!(qtypes.contains(&1) && qtypes.contains(&28));
    }

    #[test]
    fn one_address_at_two_sensors_is_two_hosts_and_maps_back() {
        let mut m = HostMap::default();
        let ip: IpAddr = "10.0.0.5".parse().expect("literal");
        let a = m.stand_in("a", ip);
        let b = m.stand_in("b", ip);
        assert_ne!(a, b);
        assert_eq!(m.stand_in("a", ip), a);
        assert_eq!(m.real(b.ip()), Some(&("b".to_owned(), ip)));
        assert_eq!(m.real(ip), None);
    }
}
