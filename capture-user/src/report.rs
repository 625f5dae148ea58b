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
    /// Queries for it.
    pub queries: u64,
    /// Distinct hosts that asked.
    pub distinct_hosts: u64,
    /// First query, ns since the UNIX epoch.
    pub first_seen_ns: u64,
    /// Last query, ns since the UNIX epoch.
    pub last_seen_ns: u64,
    /// The hosts that asked, most queries first.
    pub hosts: Vec<HostCount>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Packets seen, queries counted, losses and parse errors.
    pub capture: CaptureSummary,
    /// Distinct names counted.
    pub names: u64,
    /// Rows, least queried first.
    pub rows: Vec<Row>,
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
}

/// Answer to `dnsrare hosts NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsReply {
    /// The name asked about.
    pub name: String,
    /// Queries for it, all hosts.
    pub queries: u64,
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
        if row.hosts.len() > HOSTS_SHOWN {
            asked.push(format!("+{} more", row.hosts.len() - HOSTS_SHOWN));
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

/// Writes the hosts that asked for a name as a table.
pub fn write_hosts(out: &mut impl io::Write, reply: &HostsReply) -> io::Result<()> {
    writeln!(
        out,
        "{}: {} from {}\n",
        reply.name,
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

/// Formats ns since the UNIX epoch as RFC 3339 UTC, to the second.
pub fn format_time(ns: u64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    humantime::format_rfc3339_seconds(t).to_string()
}
