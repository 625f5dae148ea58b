//! Printing the report for people (a table, with explanations on request)
//! and for tools (CSV, one line per host and name), and the answers about
//! one name. The rows themselves are `dnsrare_core::model::report`.

use std::{io, time::UNIX_EPOCH};

use dnsrare_core::{
    model::{
        capture::CaptureSummary,
        query::{Sort, View},
        report::{AnswerRow, FoldedRow, HostsReply, Report},
    },
    score::combine::format_period,
};

/// How many hosts a table row lists before "+N more".
const HOSTS_SHOWN: usize = 3;

/// How a report is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Presentation {
    /// Print each row's explanation under it.
    pub explain: bool,
    /// List findings scoring under [`WEAK_FINDING`] too.
    pub weak: bool,
}

/// Findings scoring under this (under 10 bits of evidence: one rare name
/// with a hint or two) are counted, not listed, in the table unless asked
/// for; JSON and CSV carry them all.
pub const WEAK_FINDING: f32 = 50.0;

/// Writes the capture summary line every report starts with.
pub fn write_capture(out: &mut impl io::Write, c: &CaptureSummary) -> io::Result<()> {
    writeln!(
        out,
        "capture: {} packets, {} queries, {} responses, {} lost, {} parse errors, {} ignored",
        c.packets, c.queries, c.responses, c.lost, c.parse_errors, c.ignored
    )?;
    if c.upstream_queries > 0 {
        writeln!(
            out,
            "gateway: {} of those queries are the gateway's own, sent upstream (not counted for any host)",
            c.upstream_queries
        )?;
    }
    if c.lost > 0 {
        writeln!(
            out,
            "warning: {} events were lost (ring buffer full); counts are incomplete",
            c.lost
        )?;
    }
    if c.counted < c.queries {
        writeln!(
            out,
            "note: {} queries captured but not yet counted",
            c.queries - c.counted
        )?;
    }
    Ok(())
}

/// Writes the capture counters of each direction, for `dnsrare stats`.
pub fn write_directions(out: &mut impl io::Write, c: &CaptureSummary) -> io::Result<()> {
    let Some(d) = &c.directions else {
        return Ok(());
    };
    for (direction, n) in [("ingress (XDP)", &d.ingress), ("egress (TC)", &d.egress)] {
        writeln!(
            out,
            "  {direction}: {} packets, {} queries, {} responses, {} lost, {} parse errors, {} ignored",
            n.packets,
            n.queries,
            n.responses,
            n.lost,
            n.parse_errors.total(),
            n.ignored
        )?;
    }
    Ok(())
}

/// Writes each sensor's line of a central report: windows, capture
/// counters and losses (capture and spool).
pub fn write_sensors(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    for s in &report.sensors {
        let c = &s.capture;
        writeln!(
            out,
            "sensor {}: {} windows from {} to {}, {} packets, {} queries, {} lost, {} parse errors, {} windows ({} queries) dropped from its spool",
            s.sensor,
            s.windows,
            format_time(s.first_ns),
            format_time(s.last_ns),
            c.packets,
            c.queries,
            c.lost,
            c.parse_errors,
            s.spool_dropped_windows,
            s.spool_dropped_queries
        )?;
        if s.spool_dropped_windows > 0 {
            writeln!(
                out,
                "warning: sensor {} dropped {} windows ({} queries) while ClickHouse was unreachable and its spool was full; counts are incomplete",
                s.sensor, s.spool_dropped_windows, s.spool_dropped_queries
            )?;
        }
    }
    Ok(())
}

/// A host as rows show it: `sensor/address` in central reports.
fn host_label(addr: std::net::IpAddr, sensor: Option<&str>) -> String {
    match sensor {
        Some(s) => format!("{s}/{addr}"),
        None => addr.to_string(),
    }
}

/// Writes the report as a table for people.
pub fn write_table(out: &mut impl io::Write, report: &Report, how: Presentation) -> io::Result<()> {
    write_capture(out, &report.capture)?;
    write_sensors(out, report)?;
    match report.view {
        View::Finding => write_findings(out, report, how)?,
        View::Name => write_name_rows(out, report, how)?,
        View::Host => write_host_rows(out, report)?,
        View::Domain => write_domain_rows(out, report)?,
    }
    Ok(())
}

fn write_name_rows(out: &mut impl io::Write, report: &Report, how: Presentation) -> io::Result<()> {
    let order = match report.sort {
        Sort::Score => "most suspicious first",
        Sort::Rare => "least queried first",
    };
    writeln!(
        out,
        "{} distinct names from {}; {} rows, {order}\n",
        report.names,
        plural(report.network_hosts, "host", "hosts"),
        report.rows.len()
    )?;
    write_list_counts(out, report)?;
    write_folded(out, &report.folded)?;
    let width = report
        .rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    writeln!(
        out,
        "{:>5} {:>8} {:>6}  {:<width$}  ASKED BY",
        "SCORE", "QUERIES", "HOSTS", "NAME"
    )?;
    for row in &report.rows {
        let mut asked: Vec<String> = row
            .hosts
            .iter()
            .take(HOSTS_SHOWN)
            .map(|h| {
                format!(
                    "{} ({})",
                    host_label(h.addr, h.sensor.as_deref()),
                    h.queries
                )
            })
            .collect();
        let more = row.distinct_hosts.saturating_sub(asked.len() as u64);
        if more > 0 {
            asked.push(format!("+{more} more"));
        }
        if row.lists.iter().any(|l| l == "deny") {
            asked.insert(0, "[on the deny list]".to_owned());
        }
        writeln!(
            out,
            "{:>5.0} {:>8} {:>6}  {:<width$}  {}",
            row.score,
            row.queries,
            row.distinct_hosts,
            row.name,
            asked.join(", ")
        )?;
        if how.explain && !row.explanation.is_empty() {
            writeln!(out, "{:>23}{}", "", row.explanation)?;
        }
        if row.more_in_domain > 0 {
            writeln!(
                out,
                "{:>23}(+{} more names under {} not shown)",
                "", row.more_in_domain, row.domain
            )?;
        }
    }
    Ok(())
}

fn write_findings(out: &mut impl io::Write, report: &Report, how: Presentation) -> io::Result<()> {
    let shown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| how.weak || f.score >= WEAK_FINDING)
        .collect();
    let weak = report.findings.len() - shown.len();
    writeln!(
        out,
        "{} from {} ({} distinct names); most suspicious first{}\n",
        plural(shown.len() as u64, "finding", "findings"),
        plural(report.network_hosts, "host", "hosts"),
        report.names,
        if weak > 0 {
            format!("; {weak} weaker (score under {WEAK_FINDING:.0}) not listed: --weak lists them")
        } else {
            String::new()
        }
    )?;
    write_list_counts(out, report)?;
    write_folded(out, &report.folded)?;
    writeln!(
        out,
        "{:>5}  {:<16} {:<24} {:<20}  NAMES",
        "SCORE", "FINDING", "HOST", "FIRST SEEN"
    )?;
    for f in shown {
        let hosts: Vec<String> = f
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| host_label(*h, f.sensors.get(i).map(String::as_str)))
            .collect();
        let mut names = f
            .names
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = f.more_names + f.names.len().saturating_sub(3) as u64;
        if more > 0 {
            names.push_str(&format!(" (+{more} more)"));
        }
        writeln!(
            out,
            "{:>5.0}  {:<16} {:<24} {:<20}  {names}",
            f.score,
            f.kind.as_str(),
            hosts.join(", "),
            format_time(f.first_seen_ns),
        )?;
        writeln!(out, "{:>7}{}", "", f.explanation)?;
    }
    Ok(())
}

/// One line per list that acted on the report, if any did.
fn write_list_counts(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    let mut any = false;
    for (counts, what) in [
        (report.allow_hidden, "the allow list hid"),
        (report.deny_shown, "the deny list flagged"),
    ] {
        if counts.findings == 0 && counts.names == 0 {
            continue;
        }
        any = true;
        let findings = if report.view == View::Finding {
            format!("{} and ", plural(counts.findings, "finding", "findings"))
        } else {
            String::new()
        };
        writeln!(
            out,
            "{what} {findings}{}",
            plural(counts.names, "name", "names")
        )?;
    }
    if any {
        writeln!(out)?;
    }
    Ok(())
}

fn write_host_rows(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "{} hosts; {} rows, most suspicious first\n",
        report.network_hosts,
        report.hosts.len()
    )?;
    writeln!(
        out,
        "{:>5} {:<39} {:>8} {:>7} {:>7}  TOP NAMES",
        "SCORE", "HOST", "QUERIES", "NAMES", "NXDOM"
    )?;
    for h in &report.hosts {
        let names: Vec<String> = h
            .top_names
            .iter()
            .map(|(n, s)| format!("{n} ({s:.0})"))
            .collect();
        writeln!(
            out,
            "{:>5.0} {:<39} {:>8} {:>7} {:>7}  {}",
            h.score,
            host_label(h.addr, h.sensor.as_deref()),
            h.queries,
            h.names,
            h.nxdomain,
            names.join(", ")
        )?;
    }
    Ok(())
}

fn write_domain_rows(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "{} rows, most suspicious first\n",
        report.domains.len()
    )?;
    let width = report
        .domains
        .iter()
        .map(|d| d.domain.len())
        .max()
        .unwrap_or(6)
        .clamp(6, 50);
    writeln!(
        out,
        "{:>5} {:<width$} {:>7} {:>9} {:>6} {:>9}  TOP NAME",
        "SCORE", "DOMAIN", "NAMES", "EXPLODED", "HOSTS", "QUERIES"
    )?;
    for d in &report.domains {
        writeln!(
            out,
            "{:>5.0} {:<width$} {:>7} {:>9} {:>6} {:>9}  {}",
            d.score, d.domain, d.names, d.folded_names, d.hosts, d.queries, d.top_name
        )?;
    }
    Ok(())
}

/// Writes the report as CSV: one line per (host, name) of each name row,
/// `score,src,name,count` first, like the seed method's `uniq -c` file.
pub fn write_csv(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    // Central reports add the sensor of each host as a last column.
    let central = !report.sensors.is_empty();
    let sensor = |s: &Option<String>| match (central, s) {
        (false, _) => String::new(),
        (true, s) => format!(",{}", csv_field(s.as_deref().unwrap_or(""))),
    };
    writeln!(
        out,
        "score,src,name,count,name_queries,distinct_hosts,nxdomain,first_seen,last_seen,explanation{}",
        if central { ",sensor" } else { "" }
    )?;
    for row in &report.rows {
        for h in &row.hosts {
            writeln!(
                out,
                "{:.1},{},{},{},{},{},{},{},{},{}{}",
                row.score,
                h.addr,
                csv_field(&row.name),
                h.queries,
                row.queries,
                row.distinct_hosts,
                row.nxdomain,
                format_time(row.first_seen_ns),
                format_time(row.last_seen_ns),
                csv_field(&row.explanation),
                sensor(&h.sensor)
            )?;
        }
    }
    for h in &report.hosts {
        for (name, score) in &h.top_names {
            writeln!(
                out,
                "{score:.1},{},{},,,,{},,,{}",
                h.addr,
                csv_field(name),
                h.nxdomain,
                sensor(&h.sensor)
            )?;
        }
    }
    Ok(())
}

/// Quotes a CSV field when it holds a comma, a quote or a newline.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Writes the exploded domains, if any.
pub fn write_folded(out: &mut impl io::Write, folded: &[FoldedRow]) -> io::Result<()> {
    for f in folded {
        let why = if f.by_memory {
            "memory budget reached"
        } else {
            "too many distinct names"
        };
        let domain = if f.domain.is_empty() {
            "(new domains)"
        } else {
            &f.domain
        };
        writeln!(
            out,
            "exploded domain {domain}: ~{} distinct names folded ({} queries, {} hosts; {why})",
            f.folded_names_estimate, f.folded_queries, f.distinct_hosts
        )?;
    }
    if !folded.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// Writes the hosts that asked for a name as a table.
pub fn write_hosts(out: &mut impl io::Write, reply: &HostsReply) -> io::Result<()> {
    writeln!(
        out,
        "{}{}: {} from {}\n",
        reply.name,
        if reply.folded {
            " (exploded domain: its folded names)"
        } else {
            ""
        },
        plural(reply.queries, "query", "queries"),
        plural(reply.hosts.len() as u64, "host", "hosts")
    )?;
    if let Some(a) = &reply.answers {
        write_answers(out, a)?;
    }
    writeln!(
        out,
        "{:<39} {:>8}  {:<20}  {:<20}  PERIOD",
        "HOST", "QUERIES", "FIRST SEEN", "LAST SEEN"
    )?;
    for h in &reply.hosts {
        let period = h.beacon.map_or_else(
            || "-".to_owned(),
            |b| {
                format!(
                    "every {} ±{:.0}% ({} beats, score {:.2})",
                    format_period(b.period_s),
                    (b.jitter * 100.0).max(1.0),
                    b.beats,
                    b.score
                )
            },
        );
        writeln!(
            out,
            "{:<39} {:>8}  {:<20}  {:<20}  {period}",
            h.addr.to_string(),
            h.queries,
            format_time(h.first_seen_ns),
            format_time(h.last_seen_ns)
        )?;
    }
    Ok(())
}

/// What the resolver answered, in two or three lines.
fn write_answers(out: &mut impl io::Write, a: &AnswerRow) -> io::Result<()> {
    let addresses: Vec<String> = a.addresses.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "answered {}: {}{}",
        plural(u64::from(a.answered), "time", "times"),
        if addresses.is_empty() {
            "no addresses".to_owned()
        } else {
            addresses.join(", ")
        },
        if a.more_addresses { ", and more" } else { "" }
    )?;
    if !a.cnames.is_empty() {
        writeln!(out, "CNAME chain: {}", a.cnames.join(" -> "))?;
    }
    if a.ttl_min == a.ttl_max {
        writeln!(out, "TTL: {} s\n", a.ttl_min)
    } else {
        writeln!(out, "TTL: {}-{} s\n", a.ttl_min, a.ttl_max)
    }
}

/// `1 host`, `2 hosts`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Formats ns since the UNIX epoch as RFC 3339 UTC, to the second; `-`
/// for an unknown time (0).
pub fn format_time(ns: u64) -> String {
    if ns == 0 {
        return "-".into();
    }
    let t = UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("a.example"), "a.example");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
