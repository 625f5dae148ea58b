//! Answers to report requests, assembled from the engine's shards and the
//! capture counters; shared by the daemon's socket and `dnsrare pcap`.

use std::{collections::HashSet, net::IpAddr, sync::Arc};

use super::view::ScoreContext;
use super::{EngineError, Querier};
use crate::score::beacon;
use crate::{
    model::{
        capture::CaptureSummary,
        query::{MAX_TIMELINES, ReportQuery, View},
        report::{Finding, FindingKind, ListCounts, Report, Timeline},
    },
    score::report_lists::ReportLists,
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
/// `counted` field is filled in here), `history` deciding which names are
/// new and `lists` (allow and deny) deciding which are hidden or always
/// shown. Two round trips to the shards: the overview (sizes, hosts,
/// exploded domains, base rates), then the rows; findings with an allow
/// list take one more, to count the findings it hid.
pub fn report(
    querier: &Querier,
    mut capture: CaptureSummary,
    query: &ReportQuery,
    history: History,
    lists: &Arc<ReportLists>,
) -> Result<Report, EngineError> {
    let overview = querier.overview()?;
    capture.counted = overview.counted();
    let mut context = overview.context.clone();
    if let Some(cut) = history.known_before(context.base.history_start_ns) {
        context.base.set_known_before(cut);
    }
    let unlisted = Arc::new(context.clone());
    context.report_lists = Arc::clone(lists);
    let context = Arc::new(context);
    let mut report = Report {
        capture,
        names: overview.sizes.iter().map(|s| s.names).sum(),
        network_hosts: context.base.hosts,
        view: query.view,
        sort: query.sort,
        rows: Vec::new(),
        hosts: Vec::new(),
        domains: Vec::new(),
        folded: Vec::new(),
        findings: Vec::new(),
        allow_hidden: ListCounts::default(),
        deny_shown: ListCounts::default(),
        query_histogram: Vec::new(),
        timelines: Vec::new(),
        sensors: Vec::new(),
    };
    let names = |report: &mut Report| -> Result<(), EngineError> {
        let mut rows = querier.names(&context, query)?;
        report.allow_hidden.names = rows.allow_hidden;
        report.deny_shown.names = rows.denied.len() as u64;
        rows.denied.append(&mut rows.rows);
        report.rows = rows.denied;
        Ok(())
    };
    if query.histogram {
        report.query_histogram = querier.query_histogram()?;
    }
    match query.view {
        View::Finding => {
            let all = querier.all_findings(&context, query)?;
            report.findings = all.shown(query);
            report.deny_shown.findings = report
                .findings
                .iter()
                .filter(|f| f.kind == FindingKind::Denied)
                .count() as u64;
            if !lists.allow.is_empty() {
                report.allow_hidden.findings = hidden_findings(querier, &unlisted, query, lists)?;
            }
            // The lists' counts of names come from the name rows.
            if query.name_rows || !lists.is_empty() {
                names(&mut report)?;
            }
            if query.timelines > 0 {
                report.timelines = timelines(querier, &report.findings, query.timelines)?;
                let mut hosts = all.host_rows(
                    &overview.hosts,
                    &ReportQuery {
                        top: usize::MAX,
                        ..query.clone()
                    },
                );
                let shown: HashSet<IpAddr> = report
                    .findings
                    .iter()
                    .flat_map(|f| f.hosts.iter().copied())
                    .collect();
                hosts.retain(|h| shown.contains(&h.addr));
                report.hosts = hosts;
            }
        }
        View::Name => names(&mut report)?,
        View::Host => report.hosts = querier.host_rows(&context, &overview.hosts, query)?,
        View::Domain => report.domains = querier.domain_rows(&context, query)?,
    }
    report.folded = overview.folded;
    Ok(report)
}

/// Findings scoring at least `query.min_score`, built without the lists,
/// whose names are all on the allow list (and not on the deny list).
fn hidden_findings(
    querier: &Querier,
    unlisted: &Arc<ScoreContext>,
    query: &ReportQuery,
    lists: &ReportLists,
) -> Result<u64, EngineError> {
    let all = querier.findings(
        unlisted,
        &ReportQuery {
            top: usize::MAX,
            ..query.clone()
        },
    )?;
    Ok(all
        .iter()
        .filter(|f| !f.names.is_empty() && f.names.iter().all(|n| lists.allowed(n)))
        .count() as u64)
}

/// For each of the first `n` findings (at most [`MAX_TIMELINES`]), its
/// first host's arrivals for the finding's listed names, and for a
/// timeline of one name the beats the host's period predicts that did not
/// come.
fn timelines(
    querier: &Querier,
    findings: &[Finding],
    n: usize,
) -> Result<Vec<Timeline>, EngineError> {
    let mut timelines = Vec::new();
    for (index, finding) in findings.iter().enumerate().take(n.min(MAX_TIMELINES)) {
        let Some(&host) = finding.hosts.first() else {
            continue;
        };
        let mut timeline = Timeline {
            finding: index,
            names: Vec::new(),
            host,
            queries: 0,
            first_seen_ns: u64::MAX,
            last_seen_ns: 0,
            arrivals_ns: Vec::new(),
            beacon: None,
            missed_ns: Vec::new(),
            sensor: None,
        };
        for name in &finding.names {
            let Some(detail) = querier
                .hosts(name)?
                .and_then(|reply| reply.hosts.into_iter().find(|h| h.addr == host))
            else {
                continue;
            };
            timeline.names.push(name.clone());
            timeline.queries += detail.queries;
            timeline.first_seen_ns = timeline.first_seen_ns.min(detail.first_seen_ns);
            timeline.last_seen_ns = timeline.last_seen_ns.max(detail.last_seen_ns);
            timeline.arrivals_ns.extend(&detail.arrivals_ns);
            timeline.beacon = detail.beacon;
        }
        if timeline.names.is_empty() {
            continue;
        }
        timeline.arrivals_ns.sort_unstable();
        if timeline.names.len() == 1 {
            timeline.missed_ns = timeline
                .beacon
                .as_ref()
                .map(|b| beacon::missed_beats(&timeline.arrivals_ns, b.period_s))
                .unwrap_or_default();
        } else {
            timeline.beacon = None;
        }
        timelines.push(timeline);
    }
    Ok(timelines)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use capture_common::EventKind;

    use super::*;
    use crate::{
        engine::{Engine, EngineConfig},
        ingest::observation::{Answered, Observation},
        model::{host::HostAddr, report::Finding},
        score::{
            lists::Lists,
            report_lists::{ListRole, NamePatterns},
        },
    };

    /// Deterministic random-looking labels.
    fn random_label(seed: u64) -> String {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..14)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect()
    }

    /// 50 hosts asking three common names; 10.0.0.7 beaconing to
    /// update.example.com; 10.0.0.9 asking 40 random names that do not
    /// exist.
    fn engine() -> Engine {
        let engine = Engine::start(
            &EngineConfig {
                shards: 2,
                ..EngineConfig::default()
            },
            None,
            Arc::default(),
        );
        let mut d = engine.dispatcher();
        let mut ask = |name: &str, host: &str, t_s: f64, kind: EventKind, rcode: u8| {
            d.push(&Observation {
                name,
                time_ns: (t_s * 1e9) as u64,
                host: HostAddr::from(host.parse::<IpAddr>().unwrap()),
                kind,
                qtype: 1,
                rcode,
                answers: Answered::Unknown,
                upstream: false,
            })
            .unwrap();
        };
        for h in 0..50u32 {
            for (k, name) in ["www.google.com", "mail.example.org", "news.example.net"]
                .iter()
                .enumerate()
            {
                let t = f64::from(h * 3 + k as u32);
                ask(name, &format!("10.0.1.{h}"), t, EventKind::Query, 0);
            }
        }
        for k in 0..40 {
            let t = 1000.0 + f64::from(k) * 612.0;
            ask("update.example.com", "10.0.0.7", t, EventKind::Query, 0);
        }
        for k in 0..40u64 {
            let name = format!("{}.com", random_label(k));
            let t = 2000.0 + k as f64;
            ask(&name, "10.0.0.9", t, EventKind::Query, 0);
            ask(&name, "10.0.0.9", t + 0.01, EventKind::Response, 3);
        }
        d.flush().unwrap();
        drop(d);
        engine
    }

    fn lists(allow: &str, deny: &str) -> Arc<ReportLists> {
        Arc::new(ReportLists {
            allow: NamePatterns::parse(ListRole::Allow, allow).unwrap(),
            deny: NamePatterns::parse(ListRole::Deny, deny).unwrap(),
        })
    }

    fn ask(engine: &Engine, query: &ReportQuery, lists: &Arc<ReportLists>) -> Report {
        report(
            &engine.querier(),
            CaptureSummary::default(),
            query,
            History::None,
            lists,
        )
        .unwrap()
    }

    fn with_name<'a>(findings: &'a [Finding], name: &str) -> Option<&'a Finding> {
        findings.iter().find(|f| f.names.iter().any(|n| n == name))
    }

    #[test]
    fn the_allow_list_hides_names_and_findings_and_says_how_many() {
        let engine = engine();
        let query = ReportQuery::default();
        let plain = ask(&engine, &query, &Arc::default());
        assert_eq!(plain.allow_hidden, ListCounts::default());
        let beacon = with_name(&plain.findings, "update.example.com").expect("a finding");
        assert_eq!(beacon.kind, FindingKind::Beacon);
        let burst = plain
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::DgaBurst)
            .expect("a DGA burst");
        let one_random = burst.names[0].clone();

        // `*.example.com`: not example.com itself, every name under it.
        let hidden = ask(
            &engine,
            &query,
            &lists(&format!("*.example.com\n{one_random}\n"), ""),
        );
        assert!(with_name(&hidden.findings, "update.example.com").is_none());
        assert!(hidden.rows.iter().all(|r| r.name != "update.example.com"));
        assert!(hidden.rows.iter().all(|r| r.name != one_random));
        // The burst stays, without the allowed name.
        let burst = hidden
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::DgaBurst)
            .expect("the burst stays");
        assert!(!burst.names.contains(&one_random));
        assert_eq!(hidden.allow_hidden.findings, 1, "the beacon");
        // update.example.com and the random name.
        assert_eq!(hidden.allow_hidden.names, 2);
        assert_eq!(hidden.findings.len(), plain.findings.len() - 1);

        // The domain view: example.com's only name is allowed.
        let domains = |lists: &Arc<ReportLists>| -> Vec<String> {
            let q = ReportQuery {
                view: View::Domain,
                ..ReportQuery::default()
            };
            ask(&engine, &q, lists)
                .domains
                .into_iter()
                .map(|d| d.domain)
                .collect()
        };
        assert!(domains(&Arc::default()).contains(&"example.com".to_owned()));
        let allowed = lists("*.example.com\n", "");
        assert!(!domains(&allowed).contains(&"example.com".to_owned()));
        assert!(domains(&allowed).contains(&"example.org".to_owned()));

        // The counts are untouched: without the list it is back.
        let again = ask(&engine, &query, &Arc::default());
        assert_eq!(again.findings, plain.findings);
        drop(engine.querier());
        engine.shutdown();
    }

    #[test]
    fn the_deny_list_shows_and_flags_names_whatever_their_score() {
        let engine = engine();
        // A strict query that would show none of the common names.
        let query = ReportQuery {
            top: 1,
            min_score: 90.0,
            ..ReportQuery::default()
        };
        let denied = ask(
            &engine,
            &query,
            &lists(".example.org\n", "www.google.com\n.example.org\n"),
        );
        let f = &denied.findings[0];
        assert_eq!(f.kind, FindingKind::Denied);
        assert_eq!(f.names, vec!["mail.example.org"]);
        assert_eq!(f.hosts.len(), 50);
        assert!(
            f.explanation.contains("on the deny list (.example.org)"),
            "{}",
            f.explanation
        );
        assert_eq!(denied.findings[1].names, vec!["www.google.com"]);
        assert_eq!(denied.findings[1].score, 100.0);
        assert_eq!(
            denied.deny_shown,
            ListCounts {
                findings: 2,
                names: 2
            }
        );
        // Deny wins over allow: nothing hidden.
        assert_eq!(denied.allow_hidden, ListCounts::default());
        let flagged: Vec<&str> = denied
            .rows
            .iter()
            .filter(|r| r.lists.iter().any(|l| l == "deny"))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(flagged.len(), 2, "{flagged:?}");
        assert!(denied.rows.len() <= 3, "top 1 and the two denied rows");
        drop(engine.querier());
        engine.shutdown();
    }

    const S: u64 = 1_000_000_000;
    const T0: u64 = 1_795_910_400 * S;

    #[test]
    fn histogram_and_timelines_come_when_asked() {
        let engine = Engine::start(
            &EngineConfig {
                shards: 3,
                ..EngineConfig::default()
            },
            None,
            Arc::new(Lists::embedded()),
        );
        let mut d = engine.dispatcher();
        let mut ask = |name: &str, host: &str, t: u64| {
            let addr: IpAddr = host.parse().expect("literal");
            d.push(&Observation {
                name,
                time_ns: t,
                host: HostAddr::from(addr),
                kind: EventKind::Query,
                qtype: 1,
                rcode: 0,
                answers: Answered::Unknown,
                upstream: false,
            })
            .expect("engine running");
        };
        // 20 names asked 5..=8 times each by 20 hosts, 7 asked once.
        for n in 0..20 {
            for k in 0..(5 + n % 4) {
                ask(
                    &format!("www{n}.example.com"),
                    &format!("10.0.1.{k}"),
                    T0 + k * S,
                );
            }
        }
        for n in 0..7 {
            ask(&format!("once{n}.example.net"), "10.0.1.1", T0 + 9 * S);
        }
        // A beacon every 300 s for 40 beats, beats 10 and 20 skipped.
        let beats: Vec<u64> = (0..40).filter(|k| *k != 10 && *k != 20).collect();
        for k in &beats {
            ask(
                "kq7zx2vw9.beaconc2.top",
                "10.0.0.7",
                T0 + k * 300 * S + k * S / 7,
            );
        }
        d.flush().expect("engine running");
        let querier = engine.querier();
        let capture = CaptureSummary::default();

        let plain = report(
            &querier,
            capture,
            &ReportQuery::default(),
            History::None,
            &Default::default(),
        )
        .expect("report");
        assert!(plain.query_histogram.is_empty() && plain.timelines.is_empty());
        assert!(plain.hosts.is_empty());

        let query = ReportQuery {
            histogram: true,
            timelines: 5,
            ..ReportQuery::default()
        };
        let r = report(
            &querier,
            capture,
            &query,
            History::None,
            &Default::default(),
        )
        .expect("report");
        let bucket = |max_queries| {
            r.query_histogram
                .iter()
                .find(|b| b.max_queries == max_queries)
                .map_or(0, |b| b.names)
        };
        assert_eq!(bucket(1), 7);
        assert_eq!(bucket(8), 20);
        assert_eq!(bucket(64), 1, "{:?}", r.query_histogram);
        assert_eq!(
            r.query_histogram.iter().map(|b| b.names).sum::<u64>(),
            r.names
        );
        assert!(
            r.query_histogram
                .windows(2)
                .all(|w| w[0].max_queries < w[1].max_queries)
        );
        let t = r
            .timelines
            .iter()
            .find(|t| t.names == ["kq7zx2vw9.beaconc2.top"])
            .expect("the beacon's timeline");
        assert_eq!(r.findings[t.finding].names, t.names);
        assert_eq!(t.host.to_string(), "10.0.0.7");
        assert_eq!(t.arrivals_ns.len(), beats.len());
        assert_eq!(t.missed_ns.len(), 2, "{t:?}");
        for (missed, k) in t.missed_ns.iter().zip([10u64, 20]) {
            let predicted = T0 + k * 300 * S;
            assert!(
                missed.abs_diff(predicted) < 10 * S,
                "{missed} vs {predicted}"
            );
        }
        assert!(r.timelines.len() <= 5);
        assert!(
            r.hosts.iter().any(|h| h.addr.to_string() == "10.0.0.7"
                && h.top_names[0].0 == "kq7zx2vw9.beaconc2.top")
        );
        // Older JSON, without the new fields, still parses.
        let mut json = serde_json::to_value(&r).expect("serialise");
        let object = json.as_object_mut().expect("object");
        object.remove("query_histogram");
        object.remove("timelines");
        let old: Report = serde_json::from_value(json).expect("parses");
        assert!(old.query_histogram.is_empty());
        drop(querier);
        drop(d);
        engine.shutdown();
    }
}
