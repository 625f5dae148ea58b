//! The report: rows of names with their counts and the hosts that asked,
//! and the capture summary that says how complete it is. Built by the
//! engine, printed by the CLI as a table or JSON.

use std::{io, net::IpAddr, time::UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::stats::CaptureSummary;

/// How many hosts a table row lists before "+N more".
const HOSTS_SHOWN: usize = 3;

/// One host's query count for a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCount {
    /// Host address.
    pub addr: IpAddr,
    /// Queries from this host.
    pub queries: u64,
}

/// One name in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Lowercase dotted name.
    pub name: String,
    /// Its registered domain (ICANN public suffix plus one label).
    pub domain: String,
    /// Queries for it.
    pub queries: u64,
    /// Distinct hosts that asked (tracked ones).
    pub distinct_hosts: u64,
    /// Queries from hosts not tracked because memory was full.
    pub untracked_queries: u64,
    /// First query, ns since the UNIX epoch.
    pub first_seen_ns: u64,
    /// Last query, ns since the UNIX epoch.
    pub last_seen_ns: u64,
    /// NXDOMAIN answers seen for it.
    pub nxdomain: u64,
    /// Query types asked.
    pub qtypes: Vec<String>,
    /// The hosts that asked, most queries first (at most ten).
    pub hosts: Vec<HostCount>,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Packets seen, queries counted, losses and parse errors.
    pub capture: CaptureSummary,
    /// Distinct names counted one by one.
    pub names: u64,
    /// Rows, least queried first.
    pub rows: Vec<Row>,
    /// Exploded domains, most folded queries first.
    pub folded: Vec<FoldedRow>,
}

/// One host's queries for a name, with times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Answer to `dnsrare hosts NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsReply {
    /// The name asked about.
    pub name: String,
    /// Queries for it, all hosts.
    pub queries: u64,
    /// The name is an exploded domain: the hosts are those that asked for
    /// any name under it.
    pub folded: bool,
    /// Hosts, most queries first.
    pub hosts: Vec<HostDetail>,
}

/// Writes the capture summary line every report starts with.
pub fn write_capture(out: &mut impl io::Write, c: &CaptureSummary) -> io::Result<()> {
    writeln!(
        out,
        "capture: {} packets, {} queries, {} responses, {} lost, {} parse errors, {} ignored",
        c.packets, c.queries, c.responses, c.lost, c.parse_errors, c.ignored
    )?;
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

/// Writes the report as a table for people.
pub fn write_table(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    write_capture(out, &report.capture)?;
    writeln!(
        out,
        "{} distinct names; {} rows, least queried first\n",
        report.names,
        report.rows.len()
    )?;
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
        "{:>8} {:>6}  {:<width$}  ASKED BY",
        "QUERIES", "HOSTS", "NAME"
    )?;
    for row in &report.rows {
        let mut asked: Vec<String> = row
            .hosts
            .iter()
            .take(HOSTS_SHOWN)
            .map(|h| format!("{} ({})", h.addr, h.queries))
            .collect();
        let more = row.distinct_hosts.saturating_sub(asked.len() as u64);
        if more > 0 {
            asked.push(format!("+{more} more"));
        }
        writeln!(
            out,
            "{:>8} {:>6}  {:<width$}  {}",
            row.queries,
            row.distinct_hosts,
            row.name,
            asked.join(", ")
        )?;
    }
    Ok(())
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
    writeln!(
        out,
        "{:<39} {:>8}  {:<20}  {:<20}",
        "HOST", "QUERIES", "FIRST SEEN", "LAST SEEN"
    )?;
    for h in &reply.hosts {
        writeln!(
            out,
            "{:<39} {:>8}  {:<20}  {:<20}",
            h.addr.to_string(),
            h.queries,
            format_time(h.first_seen_ns),
            format_time(h.last_seen_ns)
        )?;
    }
    Ok(())
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
