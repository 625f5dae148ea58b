//! One shard's contribution to the findings ([`crate::score::findings`]):
//! per host, its names worth a look (periodic, random and NXDOMAIN, or
//! carrying enough hints) and its many-named domains that at most two
//! hosts ask. Names of a known benign class and names many hosts ask make
//! no lead, and neither do names on the allow list; names on the deny list
//! are collected apart, whatever they look like. Runs on the shard's thread; the merger groups the leads.

use hashbrown::HashMap;

use super::{
    state::ShardState,
    view::{KnownScores, ScoreContext, signals},
};
use crate::{
    model::{host::HostAddr, query::ReportQuery, report::FINDING_NAMES},
    score::{
        class::NameClass,
        combine::{self, marks},
        findings::{DeniedLead, DomainLead, HostTally, LEAD_BITS, Leads, NameLead},
    },
};

/// Hosts at most asking a name for it to make a lead.
const LEAD_HOSTS: u32 = 2;
/// Names kept per domain lead.
const DOMAIN_SAMPLE: usize = 12;
/// Name leads kept per host and kind (random NXDOMAIN, other NXDOMAIN,
/// the rest), best first: as many as a finding lists. Beacons and
/// public-IP lookups are all kept. A flood of rare names costs counts, not
/// strings.
const LEAD_CAP: usize = FINDING_NAMES;
/// Of those, per host and kind, the ones explained (a rare-names finding
/// words its best three); every beacon is explained.
const EXPLAINED: usize = 3;

/// This shard's leads for `q` (its time and host filters); the quick
/// score of every name scored on the way goes into `known`.
pub fn leads(
    state: &ShardState,
    ctx: &ScoreContext,
    q: &ReportQuery,
    known: &mut KnownScores,
) -> Leads {
    let since = q.since_ns.unwrap_or(0);
    let only = q.host.map(HostAddr::from);
    let mut out = Leads::default();
    let mut domains = DomainLeads::new(state.domain_count());
    let mut pending: HashMap<HostAddr, Vec<Pending>> = HashMap::new();
    let mut tallies: HashMap<HostAddr, HostTally> = HashMap::new();
    let lists = &ctx.report_lists;
    for (i, e) in state.names() {
        if !lists.is_empty() {
            let name = state.name_text(i);
            if let Some(entry) = lists.denied(name) {
                if e.last_seen >= since
                    && only.is_none_or(|h| state.name_pairs(i).any(|p| p.host.addr == h))
                {
                    out.denied.push(DeniedLead {
                        entry: entry.to_owned(),
                        name: name.to_owned(),
                        queries: e.queries,
                        hosts: state.name_pairs(i).map(|p| p.host.addr).collect(),
                        first_seen: e.first_seen,
                        last_seen: e.last_seen,
                    });
                }
            } else if lists.allowed(name) {
                // Hidden from findings: it makes no lead.
                continue;
            }
        }
        if e.hosts == 0
            || e.hosts > LEAD_HOSTS
            || e.last_seen < since
            || NameClass::from_code(e.class).is_benign()
            || e.marks & marks::CDN != 0
        {
            continue;
        }
        let (s, beacon_host) = signals(state, i, ctx, false);
        let scored = combine::evaluate(&s, &ctx.base, false);
        known.set(i, scored.score);
        let random_nx = e.nxdomain > 0 && combine::is_random(s.randomness);
        // Names answered NXDOMAIN make leads too, so a DGA burst can take
        // the ones of its shape that read as words.
        let nx_name = e.nxdomain > 0;
        // A public-IP check on a timer is a monitor, not a start-up.
        let ip_lookup = e.marks & marks::IP_LOOKUP != 0 && s.beacon_bits == 0.0;
        let beacon = beacon_host.filter(|_| combine::beacon_counts(&s));
        let d = state.domain_entry(e.domain);
        let domain_candidate = d.hosts <= LEAD_HOSTS && d.names >= 2;
        let wanted = beacon.is_some()
            || random_nx
            || ip_lookup
            || scored.soft_bits >= LEAD_BITS
            || domain_candidate
            || nx_name;
        if !wanted {
            continue;
        }
        let name = state.name_text(i);
        let data_like =
            combine::is_random(s.randomness) || s.txt_or_null || e.marks & marks::LONG_LABEL != 0;
        for p in state.name_pairs(i) {
            let host = p.host.addr;
            if only.is_some_and(|h| h != host) {
                continue;
            }
            if domain_candidate {
                let (lead, sample) = domains.get_or_insert(e.domain, host, || DomainLead {
                    host,
                    domain: state.domain_text(e.domain).to_owned(),
                    names: 0,
                    nx_names: 0,
                    data_like: false,
                    label_bytes: 0,
                    sample: Vec::new(),
                    first_seen: p.first_seen,
                    last_seen: p.last_seen,
                });
                lead.names += 1;
                lead.nx_names += u32::from(e.nxdomain > 0 && e.nxdomain == e.responses);
                lead.data_like |= data_like;
                lead.label_bytes += name
                    .len()
                    .saturating_sub(lead.domain.len() + 1)
                    .try_into()
                    .unwrap_or(0);
                lead.first_seen = lead.first_seen.min(p.first_seen);
                lead.last_seen = lead.last_seen.max(p.last_seen);
                sample.push((name, scored.soft_bits));
                if sample.len() > 4 * DOMAIN_SAMPLE {
                    keep_best_unordered(sample);
                }
            }
            let is_beacon = beacon == Some(host);
            let telling = is_beacon || random_nx || ip_lookup || scored.soft_bits >= LEAD_BITS;
            if !(telling || nx_name) {
                continue;
            }
            let tally = tallies.entry(host).or_insert(HostTally {
                host,
                leads: 0,
                random_nx: 0,
            });
            tally.leads += u64::from(telling);
            tally.random_nx += u64::from(random_nx);
            pending.entry(host).or_default().push(Pending {
                name: i,
                text: name,
                soft_bits: scored.soft_bits,
                beacon_bits: match (is_beacon, scored.suppressed) {
                    (false, _) => 0.0,
                    (true, false) => s.beacon_bits,
                    (true, true) => 0.1 * s.beacon_bits,
                },
                random_nx,
                ip_lookup,
                first_seen: p.first_seen,
                last_seen: p.last_seen,
            });
        }
    }
    // Strings only for the leads kept: every beacon and public-IP lookup,
    // and per host the best LEAD_CAP of its random NXDOMAIN names, of its
    // other NXDOMAIN names and of the rest (explanations for the best
    // EXPLAINED of each); the tallies count them all.
    for (host, mut list) in pending {
        list.sort_by(|a, b| {
            b.soft_bits
                .total_cmp(&a.soft_bits)
                .then_with(|| a.text.cmp(b.text))
        });
        let mut kept = Kept::default();
        for p in list {
            let e = state.name(p.name);
            let Some(explain) = kept.take(
                p.random_nx,
                e.nxdomain > 0,
                p.beacon_bits > 0.0,
                p.ip_lookup,
            ) else {
                continue;
            };
            out.names.push(name_lead(state, ctx, host, &p, explain));
        }
    }
    out.tallies = tallies.into_values().collect();
    out.domains = domains
        .leads
        .into_iter()
        .map(|(lead, sample, _)| (lead, sample))
        .filter(|(d, _)| d.names >= 2)
        .map(|(mut d, mut sample)| {
            keep_best(&mut sample);
            d.sample = sample
                .into_iter()
                .map(|(name, bits)| (name.to_owned(), bits))
                .collect();
            d
        })
        .collect();
    out
}

/// The domain leads of one pass, found by domain index without hashing:
/// a candidate domain has at most two hosts, so each domain's leads are a
/// short chain.
struct DomainLeads<'a> {
    /// Per domain, the index in `leads` of its latest lead (`NO_LEAD`:
    /// none).
    latest: Vec<u32>,
    /// Each lead, the sample of its names (borrowed from the shard: strings
    /// are made only for the names kept), and the index of the domain's
    /// previous lead.
    leads: Vec<(DomainLead, Sample<'a>, u32)>,
}

/// Names of a domain lead with their soft bits.
type Sample<'a> = Vec<(&'a str, f32)>;

/// No lead (yet).
const NO_LEAD: u32 = u32::MAX;

impl<'a> DomainLeads<'a> {
    fn new(domains: usize) -> Self {
        Self {
            latest: vec![NO_LEAD; domains],
            leads: Vec::new(),
        }
    }

    /// The lead of `host` under `domain`, made by `make` the first time.
    fn get_or_insert(
        &mut self,
        domain: u32,
        host: HostAddr,
        make: impl FnOnce() -> DomainLead,
    ) -> (&mut DomainLead, &mut Sample<'a>) {
        let d = domain as usize;
        let mut at = self.latest[d];
        while at != NO_LEAD && self.leads[at as usize].0.host != host {
            at = self.leads[at as usize].2;
        }
        if at == NO_LEAD {
            at = self.leads.len() as u32;
            self.leads.push((make(), Vec::new(), self.latest[d]));
            self.latest[d] = at;
        }
        let (lead, sample, _) = &mut self.leads[at as usize];
        (lead, sample)
    }
}

/// Which of one host's leads, taken best first, are kept and explained.
#[derive(Default)]
struct Kept([usize; 3]);

impl Kept {
    /// Whether the next lead is kept (`Some`) and explained (`true`):
    /// per kind (random NXDOMAIN, other NXDOMAIN, the rest) the best
    /// [`LEAD_CAP`] are kept and the best [`EXPLAINED`] explained; every
    /// beacon is kept and explained, every public-IP lookup kept.
    fn take(
        &mut self,
        random_nx: bool,
        nxdomain: bool,
        beacon: bool,
        ip_lookup: bool,
    ) -> Option<bool> {
        let bucket = if random_nx {
            0
        } else if nxdomain {
            1
        } else {
            2
        };
        let explain = beacon || self.0[bucket] < EXPLAINED;
        if !beacon && !ip_lookup {
            if self.0[bucket] >= LEAD_CAP {
                return None;
            }
            self.0[bucket] += 1;
        }
        Some(explain)
    }
}

/// Every shard's name leads, merged, cut to what one shard holding every
/// name would have kept: per host, the same leads with the same
/// explanations. Each shard keeps its own best per host and kind, so the
/// union holds every lead the whole would keep, plus some it would not;
/// dropping those (and the explanations past the best) makes the findings
/// independent of how names are spread over shards.
pub fn merge_names(mut names: Vec<NameLead>) -> Vec<NameLead> {
    names.sort_by(|a, b| {
        a.host
            .cmp(&b.host)
            .then_with(|| b.soft_bits.total_cmp(&a.soft_bits))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut out = Vec::with_capacity(names.len());
    let mut kept = Kept::default();
    let mut host = None;
    for mut lead in names {
        if host != Some(lead.host) {
            host = Some(lead.host);
            kept = Kept::default();
        }
        let Some(explain) = kept.take(
            lead.random_nx,
            lead.nxdomain,
            lead.beacon_bits > 0.0,
            lead.ip_lookup,
        ) else {
            continue;
        };
        if !explain {
            lead.detail.clear();
        }
        out.push(lead);
    }
    out
}

/// A name lead before its strings are made.
struct Pending<'a> {
    name: u32,
    /// Its text (the sort's tie-break).
    text: &'a str,
    soft_bits: f32,
    beacon_bits: f32,
    random_nx: bool,
    ip_lookup: bool,
    first_seen: u64,
    last_seen: u64,
}

/// The lead of `p` with its name, domain and, with `explain`, its
/// explanation.
fn name_lead(
    state: &ShardState,
    ctx: &ScoreContext,
    host: HostAddr,
    p: &Pending<'_>,
    explain: bool,
) -> NameLead {
    let e = state.name(p.name);
    let is_beacon = p.beacon_bits > 0.0;
    let detail = if explain {
        let (mut exact, _) = signals(state, p.name, ctx, is_beacon);
        if !is_beacon {
            exact.beacon_bits = 0.0;
        }
        combine::explanation(&combine::evaluate(&exact, &ctx.base, true).parts)
    } else {
        String::new()
    };
    NameLead {
        host,
        name: p.text.to_owned(),
        domain: state.domain_text(e.domain).to_owned(),
        soft_bits: p.soft_bits,
        beacon_bits: p.beacon_bits,
        random_nx: p.random_nx,
        nxdomain: e.nxdomain > 0,
        ip_lookup: p.ip_lookup,
        first_seen: p.first_seen,
        last_seen: p.last_seen,
        detail,
    }
}

/// Keeps the best [`DOMAIN_SAMPLE`] of `sample`, best first.
fn keep_best(sample: &mut Vec<(&str, f32)>) {
    keep_best_unordered(sample);
    sample.sort_by(sample_order);
}

/// Keeps the best [`DOMAIN_SAMPLE`] of `sample` by [`sample_order`], in no
/// order (a selection, not a sort: the sample is cut every few names).
fn keep_best_unordered(sample: &mut Vec<(&str, f32)>) {
    if sample.len() > DOMAIN_SAMPLE {
        sample.select_nth_unstable_by(DOMAIN_SAMPLE - 1, sample_order);
        sample.truncate(DOMAIN_SAMPLE);
    }
}

/// Most soft bits first, then by name.
fn sample_order(a: &(&str, f32), b: &(&str, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0))
}
