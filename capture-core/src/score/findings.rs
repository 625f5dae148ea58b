//! Findings: the leads every shard found (a host's periodic names, its
//! random names answered NXDOMAIN, its many-named domains nobody else
//! asks, its other rare names with hints), grouped per host and behaviour
//! and weighed as bits of evidence, so that one DGA host is one finding
//! listing its names instead of a hundred rows.
//!
//! | finding | evidence |
//! |---|---|
//! | beacon | the series' beacon bits plus the name's soft hints |
//! | DGA burst | [`combine::dga_bits`] of its random NXDOMAIN names plus the best name's hints |
//! | tunnel | [`combine::tunnel_bits`] of its unique names under domains only it asks, plus the best name's hints |
//! | start-up sequence | a public-IP lookup and other rare names within [`STARTUP_WINDOW_NS`]: the rare-names evidence plus [`STARTUP_BITS`] |
//! | rare names | the best name's hints, half the second's, a quarter of the third's, less `log2` of how many more leads than the median host the host has (a mail server picks its best three out of thousands) |

use std::{
    cmp::Ordering,
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use serde::{Deserialize, Serialize};

use super::combine::{self, BaseRates};
use crate::model::{
    host::HostAddr,
    report::{FINDING_NAMES, Finding, FindingKind},
};

/// Soft bits from which a name is worth a look on its own.
pub const LEAD_BITS: f32 = 4.0;
/// Names of one domain, from one host, from which the domain counts
/// towards a tunnel spread over several domains.
pub const TUNNEL_DOMAIN_NAMES: u32 = 4;
/// A public-IP lookup and another rare name this close make a start-up
/// sequence.
pub const STARTUP_WINDOW_NS: u64 = 10 * 60 * 1_000_000_000;
/// What a start-up sequence adds to its names' evidence: the chance that a
/// host checks its public address within minutes of a rare name, when few
/// hosts check it at all, is small.
pub const STARTUP_BITS: f32 = 4.0;

/// One host's query for one name, worth a look.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NameLead {
    /// The host.
    pub host: HostAddr,
    /// The name.
    pub name: String,
    /// Its registered domain.
    pub domain: String,
    /// Bits of its soft hints (capped), suppression applied.
    pub soft_bits: f32,
    /// Bits of beacon evidence of this host's series (0: not a beacon).
    pub beacon_bits: f32,
    /// Random-looking and answered NXDOMAIN.
    pub random_nx: bool,
    /// Answered NXDOMAIN.
    pub nxdomain: bool,
    /// A public-IP lookup service.
    pub ip_lookup: bool,
    /// This host's first query for it.
    pub first_seen: u64,
    /// Its last.
    pub last_seen: u64,
    /// The name's explanation.
    pub detail: String,
}

/// One host's names under one registered domain that at most two hosts
/// ask, when it asked several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainLead {
    /// The host.
    pub host: HostAddr,
    /// The registered domain.
    pub domain: String,
    /// Distinct names this host asked under it.
    pub names: u32,
    /// Of those, names every answer seen said do not exist.
    pub nx_names: u32,
    /// Whether its names look like data: random or long labels, or TXT/NULL.
    pub data_like: bool,
    /// Bytes of the labels left of the domain, over its names.
    pub label_bytes: u64,
    /// Its most telling names with their soft bits.
    pub sample: Vec<(String, f32)>,
    /// First query.
    pub first_seen: u64,
    /// Last query.
    pub last_seen: u64,
}

/// How many leads a host had before the cap on the names listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostTally {
    /// The host.
    pub host: HostAddr,
    /// Names worth a look on their own (hints, beacons, IP lookups, random
    /// NXDOMAIN names).
    pub leads: u64,
    /// Random-looking names answered NXDOMAIN.
    pub random_nx: u64,
}

/// Everything one shard contributes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Leads {
    /// Names worth a look, per host (at most a cap per host and kind).
    pub names: Vec<NameLead>,
    /// Many-named domains, per host.
    pub domains: Vec<DomainLead>,
    /// Per host, the counts behind the names (every shard's, summed by
    /// [`build`]).
    pub tallies: Vec<HostTally>,
    /// Names on the deny list (see [`crate::score::report_lists`]).
    #[serde(default)]
    pub denied: Vec<DeniedLead>,
}

/// A name on the deny list, with who asked it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeniedLead {
    /// The deny entry it matches, as canonically written.
    pub entry: String,
    /// The name.
    pub name: String,
    /// Queries for it.
    pub queries: u64,
    /// The hosts that asked.
    pub hosts: Vec<HostAddr>,
    /// First query.
    pub first_seen: u64,
    /// Last query.
    pub last_seen: u64,
}

/// Bits a deny-list finding carries: above any other finding, so denied
/// names come first (score 100).
pub const DENIED_BITS: f32 = 1000.0;

/// One `denied` finding per deny entry that matched, names most queried
/// first, in entry order.
pub fn denied(leads: &[DeniedLead]) -> Vec<Finding> {
    let mut by_entry: BTreeMap<&str, Vec<&DeniedLead>> = BTreeMap::new();
    for lead in leads {
        by_entry.entry(&lead.entry).or_default().push(lead);
    }
    by_entry
        .into_iter()
        .map(|(entry, mut names)| {
            names.sort_by(|a, b| b.queries.cmp(&a.queries).then_with(|| a.name.cmp(&b.name)));
            let hosts: BTreeSet<std::net::IpAddr> = names
                .iter()
                .flat_map(|n| n.hosts.iter().map(|h| h.ip()))
                .collect();
            let queries: u64 = names.iter().map(|n| n.queries).sum();
            let listed: Vec<String> = names
                .iter()
                .take(FINDING_NAMES)
                .map(|n| n.name.clone())
                .collect();
            Finding {
                kind: FindingKind::Denied,
                score: combine::score_of_bits(DENIED_BITS),
                bits: DENIED_BITS,
                hosts: hosts.into_iter().collect(),
                more_names: (names.len() - listed.len()) as u64,
                names: listed,
                first_seen_ns: names.iter().map(|n| n.first_seen).min().unwrap_or(0),
                last_seen_ns: names.iter().map(|n| n.last_seen).max().unwrap_or(0),
                explanation: format!(
                    "on the deny list ({entry}): {} asked, {queries} {}",
                    if names.len() == 1 {
                        "1 name".to_owned()
                    } else {
                        format!("{} names", names.len())
                    },
                    if queries == 1 { "query" } else { "queries" }
                ),
                sensors: Vec::new(),
            }
        })
        .collect()
}

/// Groups `leads` into findings, most suspicious first, in a total order
/// (bits, then kind, host and first name).
pub fn build(leads: &Leads, base: &BaseRates) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut by_host: BTreeMap<HostAddr, Vec<&NameLead>> = BTreeMap::new();
    for lead in &leads.names {
        by_host.entry(lead.host).or_default().push(lead);
    }
    let mut domains_by_host: BTreeMap<HostAddr, Vec<&DomainLead>> = BTreeMap::new();
    for d in &leads.domains {
        domains_by_host.entry(d.host).or_default().push(d);
    }
    // Tunnels first: their names are consumed.
    let mut tunnel_domains: BTreeSet<(HostAddr, &str)> = BTreeSet::new();
    for (&host, domains) in &domains_by_host {
        if let Some(f) = tunnel(host, domains, &mut tunnel_domains) {
            findings.push(f);
        }
    }
    let mut tallies: BTreeMap<HostAddr, (u64, u64)> = BTreeMap::new();
    for t in &leads.tallies {
        let e = tallies.entry(t.host).or_default();
        e.0 += t.leads;
        e.1 += t.random_nx;
    }
    // The typical number of leads a host has: picking the best three of
    // many more costs bits (the look-elsewhere effect).
    let mut counts: Vec<u64> = tallies.values().map(|t| t.0).collect();
    counts.sort_unstable();
    let typical = counts.get(counts.len() / 2).copied().unwrap_or(0).max(3);
    for (&host, names) in &mut by_host {
        names.sort_by(|a, b| lead_order(a, b));
        let (mut random_nx, mut others): (Vec<&NameLead>, Vec<&NameLead>) = names
            .iter()
            .copied()
            .filter(|n| !tunnel_domains.contains(&(host, n.domain.as_str())))
            .partition(|n| n.random_nx);
        let (host_leads, host_random_nx) = tallies.get(&host).copied().unwrap_or_default();
        // Names past the cap are counted, not listed.
        let unlisted = host_random_nx.saturating_sub(random_nx.len() as u64);
        let dga = combine::dga_bits(random_nx.len() as u64 + unlisted, base);
        if dga > 0.0 {
            // Names of the same shape answered NXDOMAIN are the same DGA
            // even where they read as words (Tinba's `elofedefihij.xyz`); a
            // differently shaped one (its hard-coded `fffreenet.xyz`) stays
            // its own finding. A DGA cycling through its list asks each
            // name on a timer: they belong to the burst, not to a beacon
            // each.
            let shapes: BTreeSet<(usize, &str)> =
                random_nx.iter().map(|n| shape(&n.name)).collect();
            let (same, other): (Vec<&NameLead>, Vec<&NameLead>) = others
                .into_iter()
                .partition(|n| n.nxdomain && shapes.contains(&shape(&n.name)));
            random_nx.extend(same);
            random_nx.sort_by(|a, b| lead_order(a, b));
            others = other;
            findings.push(dga_burst(host, &random_nx, unlisted, dga, base));
        } else {
            others.extend(random_nx);
            others.sort_by(|a, b| lead_order(a, b));
        }
        let (beacons, mut rest): (Vec<&NameLead>, Vec<&NameLead>) =
            others.into_iter().partition(|n| n.beacon_bits > 0.0);
        findings.extend(beacons.into_iter().map(beacon));
        // NXDOMAIN names came only for a DGA burst to take; alone they are
        // typos.
        rest.retain(|n| n.soft_bits >= LEAD_BITS || n.ip_lookup || n.random_nx);
        let rest_total = (rest.len() as u64).max(host_leads);
        if let Some(f) = rare_names(host, &rest, rest_total, typical) {
            findings.push(f);
        }
    }
    findings.sort_by(finding_order);
    findings
}

/// A DGA family's shape: the length of the first label and the TLD.
fn shape(name: &str) -> (usize, &str) {
    let first = name.split('.').next().unwrap_or("");
    let tld = name.rsplit('.').next().unwrap_or("");
    (first.len(), tld)
}

/// Most telling first: soft bits, then the name.
fn lead_order(a: &NameLead, b: &NameLead) -> Ordering {
    b.soft_bits
        .total_cmp(&a.soft_bits)
        .then_with(|| a.name.cmp(&b.name))
}

/// The report's order of findings: most bits first, then kind, first host
/// and first name, so equal findings come out alike whatever `--top` is.
pub fn finding_order(a: &Finding, b: &Finding) -> Ordering {
    b.bits
        .total_cmp(&a.bits)
        .then(a.kind.cmp(&b.kind))
        .then_with(|| a.hosts.cmp(&b.hosts))
        .then_with(|| a.names.cmp(&b.names))
}

fn finding(
    kind: FindingKind,
    bits: f32,
    host: HostAddr,
    names: impl IntoIterator<Item = String>,
    total_names: u64,
    span: (u64, u64),
    explanation: String,
) -> Finding {
    let names: Vec<String> = names.into_iter().take(FINDING_NAMES).collect();
    Finding {
        kind,
        score: combine::score_of_bits(bits),
        bits,
        hosts: vec![host.ip()],
        more_names: total_names.saturating_sub(names.len() as u64),
        names,
        first_seen_ns: span.0,
        last_seen_ns: span.1,
        explanation,
        sensors: Vec::new(),
    }
}

fn span<'a>(leads: impl IntoIterator<Item = &'a NameLead>) -> (u64, u64) {
    leads.into_iter().fold((u64::MAX, 0), |(f, l), x| {
        (f.min(x.first_seen), l.max(x.last_seen))
    })
}

fn beacon(lead: &NameLead) -> Finding {
    finding(
        FindingKind::Beacon,
        lead.beacon_bits + lead.soft_bits,
        lead.host,
        [lead.name.clone()],
        1,
        (lead.first_seen, lead.last_seen),
        lead.detail.clone(),
    )
}

fn dga_burst(
    host: HostAddr,
    names: &[&NameLead],
    unlisted: u64,
    dga: f32,
    base: &BaseRates,
) -> Finding {
    let total = names.len() as u64 + unlisted;
    let (first, last) = span(names.iter().copied());
    let best = names.first().map_or(0.0, |n| n.soft_bits);
    let explanation = format!(
        "DGA burst: {} random-looking names answered NXDOMAIN in {} ({} of this network's names get NXDOMAIN)",
        total,
        combine::format_period(last.saturating_sub(first) as f64 / 1e9),
        combine::percent(base.nx_names, base.ordinary_names)
    );
    finding(
        FindingKind::DgaBurst,
        dga + best,
        host,
        names.iter().map(|n| n.name.clone()),
        total,
        (first, last),
        explanation,
    )
}

/// A host's many-named domains nobody else asks: one domain with
/// [`combine::TUNNEL_NAMES`] names, or several data-like ones with
/// [`TUNNEL_DOMAIN_NAMES`] each that add up to as many.
fn tunnel<'a>(
    host: HostAddr,
    domains: &[&'a DomainLead],
    consumed: &mut BTreeSet<(HostAddr, &'a str)>,
) -> Option<Finding> {
    let mut picked: Vec<&DomainLead> = domains
        .iter()
        .copied()
        // A tunnel's server answers its names; names that all do not exist
        // are a DGA's guesses (its burst takes them), not a tunnel.
        .filter(|d| d.nx_names < d.names)
        .filter(|d| {
            d.names >= combine::TUNNEL_NAMES || (d.data_like && d.names >= TUNNEL_DOMAIN_NAMES)
        })
        .collect();
    let total: u32 = picked.iter().map(|d| d.names).sum();
    let bits = combine::tunnel_bits(total);
    if bits <= 0.0 {
        return None;
    }
    picked.sort_by(|a, b| b.names.cmp(&a.names).then_with(|| a.domain.cmp(&b.domain)));
    let mut sample: Vec<(String, f32)> = picked.iter().flat_map(|d| d.sample.clone()).collect();
    sample.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let best = sample.first().map_or(0.0, |s| s.1);
    let bytes: u64 = picked.iter().map(|d| d.label_bytes).sum();
    let first = picked.iter().map(|d| d.first_seen).min().unwrap_or(0);
    let last = picked.iter().map(|d| d.last_seen).max().unwrap_or(0);
    let mut explanation = format!(
        "tunnel: {total} unique names under {} that no other host asks ({} of labels)",
        match picked.as_slice() {
            [one] => one.domain.clone(),
            many => format!("{} domains ({})", many.len(), domain_list(many)),
        },
        bytes_text(bytes)
    );
    if best > 0.0 {
        let _ = write!(explanation, "; best name {:.0} bits of hints", best);
    }
    for d in &picked {
        consumed.insert((host, d.domain.as_str()));
    }
    Some(finding(
        FindingKind::Tunnel,
        bits + best,
        host,
        sample.into_iter().map(|(n, _)| n),
        u64::from(total),
        (first, last),
        explanation,
    ))
}

fn domain_list(domains: &[&DomainLead]) -> String {
    let mut s: Vec<&str> = domains.iter().take(4).map(|d| d.domain.as_str()).collect();
    if domains.len() > 4 {
        s.push("…");
    }
    s.join(", ")
}

fn bytes_text(bytes: u64) -> String {
    if bytes >= 10_240 {
        format!("{:.0} kB", bytes as f64 / 1024.0)
    } else if bytes >= 1024 {
        format!("{:.1} kB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

/// A host's other rare names: a start-up sequence when a public-IP lookup
/// sits within minutes of another of them.
fn rare_names(host: HostAddr, names: &[&NameLead], total: u64, typical: u64) -> Option<Finding> {
    let best: Vec<f32> = names.iter().take(3).map(|n| n.soft_bits).collect();
    let evidence = best.first().copied().unwrap_or(0.0)
        + 0.5 * best.get(1).copied().unwrap_or(0.0)
        + 0.25 * best.get(2).copied().unwrap_or(0.0);
    let busy = (total as f32 / typical as f32).log2().max(0.0);
    let startup = names.iter().find(|n| n.ip_lookup).is_some_and(|ip| {
        names.iter().any(|n| {
            !n.ip_lookup
                && n.soft_bits > 0.0
                && n.first_seen.abs_diff(ip.first_seen) <= STARTUP_WINDOW_NS
        })
    });
    let bits = evidence - busy + if startup { STARTUP_BITS } else { 0.0 };
    if bits <= 0.0 {
        return None;
    }
    let mut explanation = String::new();
    if startup {
        explanation
            .push_str("start-up sequence: a public-IP lookup within minutes of rare names; ");
    }
    for (k, n) in names.iter().take(3).enumerate() {
        if k > 0 {
            explanation.push_str("; ");
        }
        let _ = write!(explanation, "{}: {}", n.name, n.detail);
    }
    if busy > 0.5 {
        let _ = write!(
            explanation,
            "; less {busy:.1} bits: {total} such names from this host (typical host {typical})"
        );
    }
    Some(finding(
        if startup {
            FindingKind::StartupSequence
        } else {
            FindingKind::RareNames
        },
        bits,
        host,
        names.iter().map(|n| n.name.clone()),
        total,
        span(names.iter().copied()),
        explanation,
    ))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn host(s: &str) -> HostAddr {
        HostAddr::from(s.parse::<IpAddr>().expect("literal"))
    }

    fn lead(h: &str, name: &str, soft: f32, t_s: u64) -> NameLead {
        NameLead {
            host: host(h),
            name: name.to_owned(),
            domain: name.split_once('.').map_or(name, |(_, d)| d).to_owned(),
            soft_bits: soft,
            beacon_bits: 0.0,
            random_nx: false,
            nxdomain: false,
            ip_lookup: false,
            first_seen: t_s * 1_000_000_000,
            last_seen: t_s * 1_000_000_000,
            detail: format!("{soft} bits"),
        }
    }

    fn base() -> BaseRates {
        BaseRates {
            names: 100_000,
            ordinary_names: 100_000,
            nx_names: 5_000,
            hosts: 300,
            ..BaseRates::default()
        }
    }

    fn build_all(leads: &Leads) -> Vec<Finding> {
        build(leads, &base())
    }

    #[test]
    fn one_dga_host_is_one_finding_listing_its_names() {
        let mut leads = Leads::default();
        for k in 0..200 {
            leads.names.push(NameLead {
                random_nx: true,
                ..lead("10.0.0.9", &format!("q{k:03}zkxvbq.xyz"), 6.0, 100 + k)
            });
        }
        leads
            .names
            .push(lead("10.0.0.5", "odd.example.com", 5.0, 50));
        let f = build_all(&leads);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].kind, FindingKind::DgaBurst);
        assert_eq!(f[0].hosts, vec!["10.0.0.9".parse::<IpAddr>().expect("ip")]);
        assert_eq!(f[0].names.len(), FINDING_NAMES);
        assert_eq!(f[0].more_names, 200 - FINDING_NAMES as u64);
        assert!(
            f[0].explanation
                .starts_with("DGA burst: 200 random-looking names")
        );
        assert_eq!(f[1].kind, FindingKind::RareNames);
    }

    #[test]
    fn a_dga_cycling_through_its_names_is_one_burst_not_a_beacon_each() {
        let mut leads = Leads::default();
        for k in 0..50 {
            leads.names.push(NameLead {
                random_nx: true,
                nxdomain: true,
                beacon_bits: 30.0,
                ..lead("10.0.2.108", &format!("q{k:03}zkxvbqrt.xyz"), 6.0, 100 + k)
            });
        }
        // A DGA name that reads as words: the same shape, so the same DGA.
        leads.names.push(NameLead {
            nxdomain: true,
            beacon_bits: 20.0,
            ..lead("10.0.2.108", "elofedefihij.xyz", 2.0, 95)
        });
        // The hard-coded C2 name: another shape, its own finding.
        leads.names.push(NameLead {
            nxdomain: true,
            beacon_bits: 30.0,
            ..lead("10.0.2.108", "fffreenet.xyz", 5.0, 90)
        });
        let f = build_all(&leads);
        let kinds: Vec<FindingKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FindingKind::DgaBurst, FindingKind::Beacon]);
        assert_eq!(f[0].names.len() as u64 + f[0].more_names, 51);
        assert_eq!(f[1].names, ["fffreenet.xyz"]);
    }

    #[test]
    fn names_that_all_do_not_exist_make_no_tunnel() {
        let mut leads = Leads::default();
        for d in ["co.cc", "cz.cc"] {
            leads.domains.push(DomainLead {
                host: host("10.0.0.9"),
                domain: d.to_owned(),
                names: 12,
                nx_names: 12,
                data_like: true,
                label_bytes: 400,
                sample: vec![(format!("a1b2c3d4e5.{d}"), 5.0)],
                first_seen: 1,
                last_seen: 2,
            });
        }
        assert!(
            build_all(&leads)
                .iter()
                .all(|f| f.kind != FindingKind::Tunnel)
        );
    }

    #[test]
    fn tunnels_group_their_domains_and_consume_their_names() {
        let mut leads = Leads::default();
        for d in ["0ffice365.agency", "skydrive.services", "owa365.bid"] {
            leads.domains.push(DomainLead {
                host: host("10.0.0.7"),
                domain: d.to_owned(),
                names: 6,
                nx_names: 0,
                data_like: true,
                label_bytes: 300,
                sample: vec![(format!("abc.{d}"), 5.0)],
                first_seen: 1,
                last_seen: 2,
            });
            leads
                .names
                .push(lead("10.0.0.7", &format!("abc.{d}"), 5.0, 1));
        }
        let f = build_all(&leads);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::Tunnel);
        assert!(
            f[0].explanation
                .starts_with("tunnel: 18 unique names under 3 domains"),
            "{}",
            f[0].explanation
        );
    }

    #[test]
    fn ip_lookup_next_to_a_rare_name_is_a_startup_sequence() {
        let mut leads = Leads::default();
        leads.names.push(NameLead {
            ip_lookup: true,
            ..lead("10.0.0.3", "api.ipify.org", 6.0, 1000)
        });
        leads
            .names
            .push(lead("10.0.0.3", "7.tcp.eu.ngrok.io", 8.0, 1100));
        leads
            .names
            .push(lead("10.0.0.4", "lonely.example.net", 8.0, 1100));
        let f = build_all(&leads);
        assert_eq!(f[0].kind, FindingKind::StartupSequence);
        assert_eq!(f[0].names, ["7.tcp.eu.ngrok.io", "api.ipify.org"]);
        assert!(f[0].bits > f[1].bits + STARTUP_BITS);
    }

    #[test]
    fn busy_hosts_pay_for_picking_their_best_names() {
        let mut leads = Leads::default();
        for k in 0..192 {
            leads.names.push(lead(
                "10.0.0.25",
                &format!("mx{k}.rare.example.com"),
                8.0,
                1,
            ));
        }
        for h in ["10.0.0.3", "10.0.0.4", "10.0.0.5"] {
            leads.names.push(lead(h, "c2.other.example.net", 8.0, 1));
        }
        let f = build_all(&leads);
        assert_eq!(f[0].hosts[0].to_string(), "10.0.0.3");
        let busy = f
            .iter()
            .find(|f| f.hosts[0].to_string() == "10.0.0.25")
            .expect("listed");
        // 8 + 4 + 2 bits from its best three, less log2(192 / 3) = 6.
        assert!((busy.bits - 8.0).abs() < 0.01, "{busy:?}");
        assert!(
            busy.explanation
                .contains("less 6.0 bits: 192 such names from this host (typical host 3)")
        );
    }

    #[test]
    fn order_is_total_and_stable() {
        let mut leads = Leads::default();
        for h in ["10.0.0.2", "10.0.0.1", "10.0.0.3"] {
            leads.names.push(lead(h, "same.example.net", 8.0, 1));
        }
        let f = build_all(&leads);
        let hosts: Vec<String> = f.iter().map(|f| f.hosts[0].to_string()).collect();
        assert_eq!(hosts, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    }
}
