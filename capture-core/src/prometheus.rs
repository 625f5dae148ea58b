//! The daemon's state in the Prometheus text exposition format (version
//! 0.0.4), as served by `dnsrare run --metrics` and printed by `dnsrare
//! stats --prometheus` (for node_exporter's textfile collector). Counters
//! end in `_total`; engine sizes are per shard (`shard` label; sum them);
//! times are in seconds.

use std::fmt::Write as _;

use capture_common::ParseError;

use crate::model::status::{Pressure, StatsReply};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric family being written.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// `stats` as Prometheus text; `now_ns` (ns since the epoch) dates the
/// snapshot's age.
pub fn render(stats: &StatsReply, now_ns: u64) -> String {
    let mut o = Out(String::with_capacity(4096));
    let c = &stats.capture;
    o.one(
        "dnsrare_packets_total",
        "counter",
        "Packets the XDP program saw.",
        c.packets,
    );
    o.one(
        "dnsrare_queries_total",
        "counter",
        "DNS queries captured.",
        c.queries,
    );
    o.one(
        "dnsrare_responses_total",
        "counter",
        "DNS responses captured.",
        c.responses,
    );
    o.one(
        "dnsrare_lost_events_total",
        "counter",
        "Events lost because the ring buffer was full.",
        c.lost,
    );
    o.one(
        "dnsrare_ignored_packets_total",
        "counter",
        "Packets that were not DNS.",
        c.ignored,
    );
    o.one(
        "dnsrare_counted_queries_total",
        "counter",
        "Queries the counting engine has counted.",
        c.counted,
    );
    o.family(
        "dnsrare_parse_errors_total",
        "counter",
        "DNS packets that gave no event, by reason.",
    );
    for reason in ParseError::ALL {
        o.sample(
            "dnsrare_parse_errors_total",
            &[("reason", reason.as_str())],
            c.parse_errors_by_reason.get(reason),
        );
    }
    o.one(
        "dnsrare_upstream_queries_total",
        "counter",
        "Queries the gateway itself sent upstream (its resolver's forwards), seen by the egress program.",
        c.upstream_queries,
    );
    if let Some(d) = &c.directions {
        type Count = fn(&crate::model::capture::CaptureCounters) -> u64;
        let by_direction: [(&str, &str, Count); 5] = [
            (
                "dnsrare_direction_packets_total",
                "Packets each program saw (the totals above add both).",
                |n| n.packets,
            ),
            (
                "dnsrare_direction_queries_total",
                "DNS queries captured, by direction.",
                |n| n.queries,
            ),
            (
                "dnsrare_direction_responses_total",
                "DNS responses captured, by direction.",
                |n| n.responses,
            ),
            (
                "dnsrare_direction_lost_events_total",
                "Events lost because the ring buffer was full, by direction.",
                |n| n.lost,
            ),
            (
                "dnsrare_direction_ignored_packets_total",
                "Packets that were not DNS (at egress: also packets the gateway forwards), by direction.",
                |n| n.ignored,
            ),
        ];
        for (name, help, count) in by_direction {
            o.family(name, "counter", help);
            for (direction, n) in [("ingress", &d.ingress), ("egress", &d.egress)] {
                o.sample(name, &[("direction", direction)], count(n));
            }
        }
    }
    o.family(
        "dnsrare_interface_info",
        "gauge",
        "Interfaces the program is attached to, with their XDP mode (counters are not kept per interface).",
    );
    for iface in &stats.interfaces {
        // "eth1 (Driver)" as the daemon words it.
        let (name, mode) = iface
            .split_once(" (")
            .map_or((iface.as_str(), ""), |(n, m)| (n, m.trim_end_matches(')')));
        o.sample(
            "dnsrare_interface_info",
            &[("interface", name), ("mode", mode)],
            1,
        );
    }
    if let Some(insns) = stats.program.instructions {
        o.one(
            "dnsrare_program_instructions",
            "gauge",
            "Instructions of the loaded XDP program.",
            insns,
        );
    }
    if let Some(insns) = stats.egress_program.and_then(|p| p.instructions) {
        o.one(
            "dnsrare_egress_program_instructions",
            "gauge",
            "Instructions of the loaded TC egress program.",
            insns,
        );
    }
    type Field = fn(&crate::model::status::ShardSize) -> u64;
    let per_shard: [(&str, &str, &str, Field); 12] = [
        (
            "dnsrare_engine_names",
            "gauge",
            "Distinct names counted in detail.",
            |s| s.names,
        ),
        (
            "dnsrare_engine_pairs",
            "gauge",
            "Distinct (host, name) pairs.",
            |s| s.pairs,
        ),
        (
            "dnsrare_engine_domains",
            "gauge",
            "Registered domains.",
            |s| s.domains,
        ),
        (
            "dnsrare_engine_hosts",
            "gauge",
            "Hosts seen by the shard (a host asking names in several shards counts in each).",
            |s| s.hosts,
        ),
        (
            "dnsrare_engine_rings",
            "gauge",
            "Arrival-time rings held.",
            |s| s.rings,
        ),
        (
            "dnsrare_engine_folded_domains",
            "gauge",
            "Exploded domains folding new names.",
            |s| s.folded_domains,
        ),
        (
            "dnsrare_engine_memory_bytes",
            "gauge",
            "Bytes of counting state.",
            |s| s.memory_bytes,
        ),
        (
            "dnsrare_engine_budget_bytes",
            "gauge",
            "The shard's memory budget.",
            |s| s.budget_bytes,
        ),
        (
            "dnsrare_engine_pressure",
            "gauge",
            "0 normal, 1 tight (90% of the budget), 2 full.",
            |s| match s.pressure {
                Pressure::Normal => 0,
                Pressure::Tight => 1,
                Pressure::Full => 2,
            },
        ),
        (
            "dnsrare_engine_folded_queries_total",
            "counter",
            "Queries folded into domain aggregates.",
            |s| s.totals.folded_queries,
        ),
        (
            "dnsrare_engine_untracked_queries_total",
            "counter",
            "Queries from hosts not tracked because the shard was full.",
            |s| s.totals.untracked_queries,
        ),
        (
            "dnsrare_engine_unmatched_responses_total",
            "counter",
            "Responses for names never queried.",
            |s| s.totals.unmatched_responses,
        ),
    ];
    for (name, kind, help, field) in per_shard {
        o.family(name, kind, help);
        for (i, shard) in stats.shards.iter().enumerate() {
            o.sample(name, &[("shard", &i.to_string())], field(shard));
        }
    }
    let snap = &stats.snapshot;
    o.one(
        "dnsrare_snapshot_failing",
        "gauge",
        "1 when the last snapshot attempt failed.",
        u8::from(snap.error.is_some()),
    );
    if snap.written_ns > 0 {
        o.one(
            "dnsrare_snapshot_last_success_timestamp_seconds",
            "gauge",
            "When the last good snapshot was written.",
            seconds(snap.written_ns),
        );
        o.one(
            "dnsrare_snapshot_age_seconds",
            "gauge",
            "Seconds since the last good snapshot.",
            seconds(now_ns.saturating_sub(snap.written_ns)),
        );
        o.one(
            "dnsrare_snapshot_duration_seconds",
            "gauge",
            "How long the last good snapshot took.",
            snap.duration_ms as f64 / 1e3,
        );
        o.one(
            "dnsrare_snapshot_bytes",
            "gauge",
            "Size of the last good snapshot.",
            snap.bytes,
        );
    }
    let r = &stats.reports;
    o.family(
        "dnsrare_report_duration_seconds",
        "summary",
        "Time to answer report requests.",
    );
    o.sample(
        "dnsrare_report_duration_seconds_sum",
        &[],
        seconds(r.total_ns),
    );
    o.sample("dnsrare_report_duration_seconds_count", &[], r.count);
    o.one(
        "dnsrare_report_last_duration_seconds",
        "gauge",
        "Time the last report took.",
        seconds(r.last_ns),
    );
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        capture::{CaptureCounters, CaptureSummary, DirectionCounters, ParseErrorCounts},
        status::{ReportTimings, ShardSize, SnapshotStatus},
    };

    #[test]
    fn every_figure_is_one_line_with_its_type() {
        let stats = StatsReply {
            capture: CaptureSummary {
                packets: 10,
                queries: 7,
                parse_errors_by_reason: ParseErrorCounts {
                    bad_label: 2,
                    ..ParseErrorCounts::default()
                },
                ..CaptureSummary::default()
            }
            .with_directions(DirectionCounters {
                ingress: CaptureCounters {
                    packets: 6,
                    ..CaptureCounters::default()
                },
                egress: CaptureCounters {
                    packets: 4,
                    queries: 1,
                    ..CaptureCounters::default()
                },
            }),
            shards: vec![
                ShardSize {
                    names: 3,
                    pressure: Pressure::Tight,
                    ..ShardSize::default()
                },
                ShardSize {
                    names: 4,
                    ..ShardSize::default()
                },
            ],
            interfaces: vec!["veth0 (Driver)".into(), "odd\"name".into()],
            program: Default::default(),
            egress_program: None,
            snapshot: SnapshotStatus {
                written_ns: 1_000_000_000_000,
                duration_ms: 250,
                bytes: 4096,
                error: None,
            },
            reports: ReportTimings {
                count: 2,
                total_ns: 3_000_000,
                last_ns: 1_000_000,
            },
        };
        let text = render(&stats, 1_060_500_000_000);
        for line in [
            "# TYPE dnsrare_packets_total counter",
            "dnsrare_packets_total 10",
            "dnsrare_queries_total 7",
            "dnsrare_parse_errors_total{reason=\"bad_label\"} 2",
            "dnsrare_parse_errors_total{reason=\"truncated\"} 0",
            "dnsrare_upstream_queries_total 1",
            "# TYPE dnsrare_direction_packets_total counter",
            "dnsrare_direction_packets_total{direction=\"ingress\"} 6",
            "dnsrare_direction_packets_total{direction=\"egress\"} 4",
            "dnsrare_interface_info{interface=\"veth0\",mode=\"Driver\"} 1",
            "dnsrare_interface_info{interface=\"odd\\\"name\",mode=\"\"} 1",
            "dnsrare_engine_names{shard=\"0\"} 3",
            "dnsrare_engine_names{shard=\"1\"} 4",
            "dnsrare_engine_pressure{shard=\"0\"} 1",
            "dnsrare_snapshot_age_seconds 60.5",
            "dnsrare_snapshot_duration_seconds 0.25",
            "dnsrare_snapshot_last_success_timestamp_seconds 1000",
            "# TYPE dnsrare_report_duration_seconds summary",
            "dnsrare_report_duration_seconds_sum 0.003",
            "dnsrare_report_duration_seconds_count 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        assert!(text.ends_with('\n'));
    }
}
