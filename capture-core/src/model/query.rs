//! What a report asks for: its rows (names, hosts, domains), their order
//! and filters.

use serde::{Deserialize, Serialize};

/// What the rows of a report are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Findings: behaviours of hosts, most suspicious first (with the name
    /// rows beside them).
    #[default]
    Finding,
    /// Names, most suspicious first.
    Name,
    /// Hosts, ranked by how suspicious their findings are.
    Host,
    /// Registered domains, with exploded-subdomain counts.
    Domain,
}

/// How name rows are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Combined suspicion score, highest first.
    #[default]
    Score,
    /// Least queried first (the plain SANS method).
    Rare,
}

/// What a report should contain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Rows wanted.
    pub top: usize,
    /// Names, hosts or domains.
    #[serde(default)]
    pub view: View,
    /// Order of name rows.
    #[serde(default)]
    pub sort: Sort,
    /// Only names seen at or after this time (ns since the epoch).
    #[serde(default)]
    pub since_ns: Option<u64>,
    /// Only names this host asked (and, by host, only this host).
    #[serde(default)]
    pub host: Option<std::net::IpAddr>,
    /// Only rows scoring at least this.
    #[serde(default)]
    pub min_score: f32,
    /// Name rows per registered domain, the rest counted in the last shown
    /// (0: no limit); keeps one tunnel's thousand names from filling the
    /// report.
    #[serde(default = "default_per_domain")]
    pub per_domain: usize,
    /// Also count how many names were asked how many times (the report's
    /// `query_histogram`, over every name counted one by one, whatever
    /// the filters; the HTML report draws it).
    #[serde(default)]
    pub histogram: bool,
    /// In the findings view: the arrival timelines of the first name of
    /// this many top findings (at most [`MAX_TIMELINES`]), and the host
    /// rows of the findings' hosts (the HTML report draws and lists them).
    #[serde(default)]
    pub timelines: usize,
    /// In the findings view: also the name rows beside the findings (what
    /// JSON and CSV carry; the findings table does not print them, and
    /// they cost a pass over every name).
    #[serde(default = "default_name_rows")]
    pub name_rows: bool,
}

fn default_name_rows() -> bool {
    true
}

/// Most timelines a report carries.
pub const MAX_TIMELINES: usize = 50;

fn default_per_domain() -> usize {
    3
}

impl Default for ReportQuery {
    fn default() -> Self {
        Self {
            top: 50,
            view: View::default(),
            sort: Sort::default(),
            since_ns: None,
            host: None,
            min_score: 0.0,
            per_domain: default_per_domain(),
            histogram: false,
            timelines: 0,
            name_rows: default_name_rows(),
        }
    }
}
