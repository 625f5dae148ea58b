//! Read-only views of one shard's state: scored and least-queried name
//! rows, host and domain partials, folded domains, the hosts of a name, the
//! shard's size. Pure functions of the state, run on the shard's own thread
//! between batches.
//!
//! Scoring a million names must take milliseconds, so every name is first
//! scored from cached features only (its quantized lexical randomness and
//! list marks, its pairs' cached beacon scores); only the rows that make
//! the report are scored again exactly and explained.

use std::{
    cmp::{Ordering, Reverse},
    collections::{BinaryHeap, HashMap},
};

use capture_common::qtype;

use super::{
    domain,
    state::{AnswerEntry, PairView, ShardState},
};
use crate::{
    model::{
        host::HostAddr,
        query::{ReportQuery, Sort},
        report::{
            AnswerRow, BeaconRow, DomainRow, FoldedRow, HISTOGRAM_BUCKETS, HostCount, HostDetail,
            HostsReply, Row, histogram_bucket,
        },
        status::ShardSize,
    },
    score::{
        addresses::{self, AddressClass, AddressList},
        beacon,
        class::NameClass,
        combine::{self, AnswerFacts, BaseRates, NameSignals, marks},
        lists::ListKind,
        report_lists::{ListRole, ReportLists},
    },
};

/// Hosts listed per row.
const ROW_HOSTS: usize = 10;

/// What the network as a whole looks like, merged from every shard before
/// names are scored.
#[derive(Clone, Debug, Default)]
pub struct ScoreContext {
    /// How common each property is on this network (`base.hosts` is the
    /// number of hosts on it).
    pub base: BaseRates,
    /// Per host, distinct random-looking names it asked that got NXDOMAIN,
    /// all shards (hosts without any are left out).
    pub host_random_nx: HashMap<HostAddr, u64>,
    /// The allow and deny lists the report is assembled with (empty: none).
    pub report_lists: std::sync::Arc<ReportLists>,
    /// Registered domains that names of at least [`CNAME_SHARED_FROM`]
    /// other registered domains alias into (CNAME): shared
    /// infrastructure, found without any list; with how many.
    pub cname_shared: HashMap<String, usize>,
    /// Public answer addresses shared by rare names of two or more
    /// registered domains, with how many domains.
    pub shared_addresses: HashMap<HostAddr, usize>,
}

/// One host as one shard saw it.
#[derive(Clone, Copy, Debug)]
pub struct HostPartial {
    /// The host.
    pub addr: HostAddr,
    /// Queries for this shard's domains.
    pub queries: u64,
    /// Distinct names among them.
    pub names: u64,
    /// NXDOMAIN answers.
    pub nxdomain: u64,
    /// Distinct random-looking names it asked that got NXDOMAIN.
    pub random_nx_names: u64,
}

/// What one shard knows in summary: its size, its hosts, its exploded
/// domains and its share of the base rates (one round trip for everything
/// a report needs first).
#[derive(Clone, Debug)]
pub struct Overview {
    /// Sizes and totals.
    pub size: ShardSize,
    /// Every host with its counts.
    pub hosts: Vec<HostPartial>,
    /// Exploded domains.
    pub folded: Vec<FoldedRow>,
    /// Name counts of the base rates (host figures are the merger's).
    pub base: BaseRates,
    /// Hosts that asked a dynamic-DNS customer name here.
    pub ddns_hosts: Vec<HostAddr>,
    /// Hosts that asked a public-IP lookup service here.
    pub ip_lookup_hosts: Vec<HostAddr>,
    /// Answer facts that need every shard (CNAME targets, shared
    /// addresses).
    pub answers: AnswerOverview,
}

/// What one shard's answers contribute to the network-wide context.
#[derive(Clone, Debug, Default)]
pub struct AnswerOverview {
    /// (registered domain a CNAME chain ends in, registered domain of the
    /// name that aliases into it), distinct.
    pub cname_targets: Vec<(String, String)>,
    /// (answer address, registered domain) of rare ordinary names:
    /// domains at most two hosts ask.
    pub rare_addresses: Vec<(HostAddr, String)>,
}

/// Distinct aliasing domains from which a CNAME target's domain counts as
/// shared infrastructure.
pub const CNAME_SHARED_FROM: usize = 3;
/// Pairs of each kind one shard reports at most (bounds a flood).
const ANSWER_FACTS: usize = 100_000;

/// This shard's overview (scores its names first: the base rates count
/// their classes and randomness).
pub fn overview(state: &mut ShardState) -> Overview {
    state.refresh_scores(usize::MAX);
    let (base, ddns_hosts, ip_lookup_hosts) = name_base(state);
    Overview {
        size: size(state),
        hosts: host_partials(state),
        folded: folded(state),
        base,
        ddns_hosts,
        ip_lookup_hosts,
        answers: answer_overview(state),
    }
}

/// This shard's CNAME targets and rare names' addresses.
fn answer_overview(state: &ShardState) -> AnswerOverview {
    let mut targets = std::collections::BTreeSet::new();
    let mut rare = std::collections::BTreeSet::new();
    for (i, e) in state.names() {
        let Some(a) = state.answers(i) else {
            continue;
        };
        let source = state.domain_text(e.domain);
        if let Some(last) = a.chain.rsplit(' ').next().filter(|l| !l.is_empty())
            && targets.len() < ANSWER_FACTS
        {
            let target = domain::registered_domain(last);
            if target != source {
                targets.insert((target.to_owned(), source.to_owned()));
            }
        }
        let ordinary = !NameClass::from_code(e.class).is_benign();
        if ordinary && state.domain_entry(e.domain).hosts <= 2 && rare.len() < ANSWER_FACTS {
            for addr in &a.addrs {
                if addresses::classify(addr.ip(), &AddressList::default()) == AddressClass::Public {
                    rare.insert((*addr, source.to_owned()));
                }
            }
        }
    }
    AnswerOverview {
        cname_targets: targets.into_iter().collect(),
        rare_addresses: rare.into_iter().collect(),
    }
}

/// This shard's name counts for the base rates, and the hosts that asked
/// dynamic-DNS customer names and IP-lookup services.
fn name_base(state: &ShardState) -> (BaseRates, Vec<HostAddr>, Vec<HostAddr>) {
    let mut base = BaseRates::default();
    let mut ddns = Vec::new();
    let mut ip_lookup = Vec::new();
    let txt_or_null = qtype::bit(16) | qtype::bit(10);
    // Names counted per domain (domains are dense indices).
    let mut per_domain = vec![0u32; state.domain_count()];
    for (i, e) in state.names() {
        base.names += 1;
        match e.hosts {
            1 => base.one_host_names += 1,
            2 => base.two_host_names += 1,
            _ => {}
        }
        match state.domain_entry(e.domain).hosts {
            1 => base.one_host_domain_names += 1,
            2 => base.two_host_domain_names += 1,
            _ => {}
        }
        let class = NameClass::from_code(e.class);
        if class.is_benign() {
            continue;
        }
        base.ordinary_names += 1;
        base.txt_names += u64::from(e.qtypes & txt_or_null != 0);
        base.nx_names += u64::from(e.nxdomain > 0);
        base.long_label_names += u64::from(e.marks & marks::LONG_LABEL != 0);
        if let Some(a) = state.answers(i) {
            let facts = answer_facts(a, state.lists().sinkholes());
            base.answered_names += 1;
            base.null_names += u64::from(matches!(
                facts.worst,
                AddressClass::Null | AddressClass::Loopback
            ));
            base.private_names += u64::from(matches!(
                facts.worst,
                AddressClass::Private | AddressClass::LinkLocal
            ));
            base.flux_names += u64::from(facts.flux);
        }
        let counted = &mut per_domain[e.domain as usize];
        if *counted < combine::RANDOMNESS_NAMES_PER_DOMAIN {
            *counted += 1;
            base.randomness[combine::randomness_bin(f32::from(e.lexical) / 255.0)] += 1;
        }
        let domain_seen = state.domain_entry(e.domain).first_seen;
        *base
            .domain_age
            .entry(domain_seen / combine::NS_PER_HOUR)
            .or_default() += 1;
        if base.history_start_ns == 0 || domain_seen < base.history_start_ns {
            base.history_start_ns = domain_seen;
        }
        if let Some(t) = tld(state.name_bytes(i)) {
            match base.tlds.get_mut(t) {
                Some(n) => *n += 1,
                None => {
                    base.tlds.insert(t.to_owned(), 1);
                }
            }
        }
        if e.marks & (marks::DYNAMIC_DNS | marks::IP_LOOKUP) != 0 {
            let to = if e.marks & marks::IP_LOOKUP != 0 {
                &mut ip_lookup
            } else {
                &mut ddns
            };
            to.extend(state.name_pairs(i).map(|p| p.host.addr));
        }
    }
    for list in [&mut ddns, &mut ip_lookup] {
        list.sort_unstable();
        list.dedup();
    }
    (base, ddns, ip_lookup)
}

impl ScoreContext {
    /// The network-wide context from every shard's overview and the merged
    /// hosts (each once, with its random NXDOMAIN names).
    pub fn merge<'a>(
        overviews: impl IntoIterator<Item = &'a Overview>,
        hosts: impl IntoIterator<Item = &'a HostPartial>,
    ) -> Self {
        let overviews: Vec<&Overview> = overviews.into_iter().collect();
        let mut base = BaseRates::default();
        let mut ddns = std::collections::HashSet::new();
        let mut ip_lookup = std::collections::HashSet::new();
        let mut aliases: HashMap<&str, usize> = HashMap::new();
        let mut sharing: HashMap<HostAddr, usize> = HashMap::new();
        for o in &overviews {
            base.add_names(&o.base);
            ddns.extend(o.ddns_hosts.iter().copied());
            ip_lookup.extend(o.ip_lookup_hosts.iter().copied());
            // Pairs are distinct within a shard, and a source domain lives
            // in one shard only, so counting pairs counts distinct sources.
            for (target, _) in &o.answers.cname_targets {
                *aliases.entry(target).or_default() += 1;
            }
            for (addr, _) in &o.answers.rare_addresses {
                *sharing.entry(*addr).or_default() += 1;
            }
        }
        sharing.retain(|_, n| *n >= 2);
        // Rare domains with a public answer, and those of them on an
        // address another rare domain shares (each domain lives in one
        // shard, so per-shard distinct counts add up).
        for o in &overviews {
            let mut all = std::collections::BTreeSet::new();
            let mut shared = std::collections::BTreeSet::new();
            for (addr, domain) in &o.answers.rare_addresses {
                all.insert(domain);
                if sharing.contains_key(addr) {
                    shared.insert(domain);
                }
            }
            base.rare_answered_domains += all.len() as u64;
            base.shared_address_domains += shared.len() as u64;
        }
        let mut host_random_nx = HashMap::new();
        for h in hosts {
            base.hosts += 1;
            if h.random_nx_names > 0 {
                host_random_nx.insert(h.addr, h.random_nx_names);
            }
        }
        base.ddns_hosts = ddns.len() as u64;
        base.ip_lookup_hosts = ip_lookup.len() as u64;
        Self {
            base,
            host_random_nx,
            report_lists: std::sync::Arc::default(),
            cname_shared: aliases
                .into_iter()
                .filter(|&(_, n)| n >= CNAME_SHARED_FROM)
                .map(|(t, n)| (t.to_owned(), n))
                .collect(),
            shared_addresses: sharing,
        }
    }
}

/// Every host of this shard, for the network-wide context.
pub fn host_partials(state: &ShardState) -> Vec<HostPartial> {
    let mut random_nx: HashMap<HostAddr, u64> = HashMap::new();
    for (i, e) in state.names() {
        if e.nxdomain > 0
            && !NameClass::from_code(e.class).is_benign()
            && combine::is_random(f32::from(e.lexical) / 255.0)
        {
            for p in state.name_pairs(i) {
                *random_nx.entry(p.host.addr).or_default() += 1;
            }
        }
    }
    state
        .hosts()
        .map(|h| HostPartial {
            addr: h.addr,
            queries: h.queries,
            names: u64::from(h.names),
            nxdomain: u64::from(h.nxdomain),
            random_nx_names: random_nx.get(&h.addr).copied().unwrap_or(0),
        })
        .collect()
}

/// Score order: highest score, then fewest queries, then name.
pub fn score_order(a: &Row, b: &Row) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then(a.queries.cmp(&b.queries))
        .then_with(|| a.name.cmp(&b.name))
}

/// The least-queried order: fewest queries, then fewest hosts, then name.
pub fn rarest_order(a: &Row, b: &Row) -> Ordering {
    a.queries
        .cmp(&b.queries)
        .then(a.distinct_hosts.cmp(&b.distinct_hosts))
        .then_with(|| a.name.cmp(&b.name))
}

/// The signals of name `i` from cached features; with `exact`, the best
/// pair's beacon is also measured from its arrivals for the explanation
/// (the bits are the cached ones either way, so every path orders alike).
/// Also returns that pair's host.
pub(super) fn signals<'a>(
    state: &'a ShardState,
    i: u32,
    ctx: &ScoreContext,
    exact: bool,
) -> (NameSignals<'a>, Option<HostAddr>) {
    let e = state.name(i);
    let d = state.domain_entry(e.domain);
    let mut host_random_nx = 0;
    let mut best: Option<((f32, bool), PairView<'_>)> = None;
    if e.nxdomain > 0 || (state.may_have_rings(i) && e.hosts <= super::state::RING_MAX_HOSTS) {
        for p in state.name_pairs(i) {
            if e.nxdomain > 0 {
                host_random_nx =
                    host_random_nx.max(ctx.host_random_nx.get(&p.host.addr).copied().unwrap_or(0));
            }
            if let Some(cached) = state.cached_beacon(&p)
                && cached.0 > 0.0
                && best.is_none_or(|(b, q)| {
                    cached.0 > b.0 || (cached.0 == b.0 && p.host.addr < q.host.addr)
                })
            {
                best = Some((cached, p));
            }
        }
    }
    let beacon = best
        .filter(|_| exact)
        .and_then(|(_, p)| beacon::score(&state.arrivals(&p)));
    let txt_or_null = e.qtypes & (qtype::bit(16) | qtype::bit(10)) != 0;
    let answer = state.answers(i).map(|a| {
        let mut facts = answer_facts(a, state.lists().sinkholes());
        if let Some(last) = a.chain.rsplit(' ').next().filter(|l| !l.is_empty()) {
            let target = domain::registered_domain(last);
            facts.cname_target = Some(last);
            facts.cname_shared = ctx.cname_shared.get(target).copied().unwrap_or(0);
            facts.cname_listed = state.lists().cdn_cloud.matching(last).is_some();
        }
        facts.shared_address = a
            .addrs
            .iter()
            .filter_map(|h| ctx.shared_addresses.get(h).map(|&n| (n, h.ip())))
            .max();
        facts
    });
    (
        NameSignals {
            tld: tld(state.name_bytes(i)),
            queries: e.queries,
            hosts: u64::from(e.hosts),
            randomness: f32::from(e.lexical) / 255.0,
            marks: e.marks,
            class: NameClass::from_code(e.class),
            domain_names: d.names,
            domain_first_seen: d.first_seen,
            domain_hosts: d.hosts,
            responses: e.responses,
            nxdomain: e.nxdomain,
            failures: u32::from(e.failures),
            txt_or_null,
            host_random_nx,
            beacon_bits: best.map_or(0.0, |((bits, _), _)| bits),
            beacon_short_period: best.is_some_and(|((_, short), _)| short),
            beacon,
            answer,
        },
        best.map(|(_, p)| p.host.addr),
    )
}

/// What a name's kept answers say by themselves (the network-wide facts
/// are filled in by [`signals`]).
fn answer_facts<'a>(a: &'a AnswerEntry, sinkholes: &AddressList) -> AnswerFacts<'a> {
    // The most telling class, and the first address of it: one
    // classification per address.
    let (worst, worst_address) = a
        .addrs
        .iter()
        .map(|h| (addresses::classify(h.ip(), sinkholes), h.ip()))
        .fold((AddressClass::Public, None), |best, (class, ip)| {
            if best.1.is_none() || class > best.0 {
                (class, Some(ip))
            } else {
                best
            }
        });
    let mut prefixes: Vec<u32> = a
        .addrs
        .iter()
        .map(|h| addresses::spread_prefix(h.ip()))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let distinct = a.addrs.len() as u32;
    let v4 = a.addrs.iter().filter(|h| h.ip().is_ipv4()).count() as u32;
    // Churn within a family: an A and an AAAA answer together are not
    // addresses changing over time.
    let churn = (v4.saturating_sub(u32::from(a.max_v4_per_answer)))
        .max((distinct - v4).saturating_sub(u32::from(a.max_v6_per_answer)));
    AnswerFacts {
        worst,
        worst_address,
        distinct,
        prefixes: prefixes.len() as u32,
        ttl_max: a.ttl_max,
        flux: combine::is_flux(distinct, churn, prefixes.len() as u32, a.ttl_max),
        ..AnswerFacts::default()
    }
}

/// The last label of a dotted name, if it has more than one and looks like
/// a TLD (letters, or an IDN `xn--` label); a numeric last label is a
/// local mistake (an address with a suffix), not a TLD. Reads the name's
/// bytes: only the last label is checked as text.
fn tld(name: &[u8]) -> Option<&str> {
    let dot = name.iter().rposition(|&b| b == b'.')?;
    let t = &name[dot + 1..];
    let looks = !t.is_empty() && (t.iter().all(u8::is_ascii_lowercase) || t.starts_with(b"xn--"));
    looks.then(|| std::str::from_utf8(t).ok()).flatten()
}

/// A name and its quick score, ordered as [`score_order`] orders rows
/// (best last, for the candidate heap): score, then fewer queries, then
/// the name, so the best `n` are the same whatever `n` is.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    score: f32,
    queries: u64,
    name: &'a str,
    index: u32,
}

impl PartialEq for Candidate<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate<'_> {}

impl PartialOrd for Candidate<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.queries.cmp(&self.queries))
            .then_with(|| other.name.cmp(self.name))
    }
}

/// The cheap score of name `i` (cached features only).
fn quick_score(state: &ShardState, i: u32, ctx: &ScoreContext) -> f32 {
    combine::evaluate(&signals(state, i, ctx, false).0, &ctx.base, false).score
}

/// Quick scores one request already computed in a context, by name index,
/// so that the next request of the same report does not score those names
/// again (the leads score most names, the name rows all of them).
#[derive(Debug, Default)]
pub struct KnownScores(Vec<f32>);

impl KnownScores {
    /// Room for the scores of `names` names, none known yet.
    pub fn for_names(names: usize) -> Self {
        Self(vec![f32::NAN; names])
    }

    /// Records the quick score of name `i`.
    pub fn set(&mut self, i: u32, score: f32) {
        if let Some(slot) = self.0.get_mut(i as usize) {
            *slot = score;
        }
    }

    /// The quick score of name `i`: known, or computed now.
    fn score(&self, state: &ShardState, i: u32, ctx: &ScoreContext) -> f32 {
        match self.0.get(i as usize) {
            Some(&known) if !known.is_nan() => known,
            _ => quick_score(state, i, ctx),
        }
    }
}

/// Whether name `i` passes the query's time and host filters.
fn passes(state: &ShardState, i: u32, q: &ReportQuery, host: Option<HostAddr>) -> bool {
    state.name(i).last_seen >= q.since_ns.unwrap_or(0)
        && host.is_none_or(|h| state.name_pairs(i).any(|p| p.host.addr == h))
}

/// One shard's answer to a name-rows request.
#[derive(Clone, Debug, Default)]
pub struct NameRows {
    /// The best rows (see [`name_rows`]), deny-listed names left out.
    pub rows: Vec<Row>,
    /// Every deny-listed name passing the time and host filters, whatever
    /// its score, marked `deny`.
    pub denied: Vec<Row>,
    /// Names passing the time and host filters that the allow list hid.
    pub allow_hidden: u64,
}

/// How the report lists treat name `i`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    Neither,
    Allowed,
    Denied,
}

fn listed(state: &ShardState, i: u32, ctx: &ScoreContext) -> Listed {
    let lists = &ctx.report_lists;
    if lists.is_empty() {
        return Listed::Neither;
    }
    let name = state.name_text(i);
    if lists.denied(name).is_some() {
        Listed::Denied
    } else if lists.allowed(name) {
        Listed::Allowed
    } else {
        Listed::Neither
    }
}

/// This shard's name rows for `q`: the best `q.top` by score (at most
/// `q.per_domain` per registered domain) or the `q.top` least queried.
/// Names on the allow list are counted, not shown; names on the deny list
/// come apart, all of them.
pub fn name_rows(
    state: &ShardState,
    ctx: &ScoreContext,
    q: &ReportQuery,
    known: &KnownScores,
) -> NameRows {
    let host = q.host.map(HostAddr::from);
    let mut allow_hidden = 0u64;
    let mut denied: Vec<Row> = Vec::new();
    let mut wanted = |i: u32| {
        if !passes(state, i, q, host) {
            return false;
        }
        match listed(state, i, ctx) {
            Listed::Neither => true,
            Listed::Allowed => {
                allow_hidden += 1;
                false
            }
            Listed::Denied => {
                let mut row = row(state, i, ctx);
                row.lists.push(ListRole::Deny.name().to_owned());
                denied.push(row);
                false
            }
        }
    };
    let rows = if q.top == 0 {
        for (i, _) in state.names() {
            wanted(i);
        }
        Vec::new()
    } else {
        match q.sort {
            Sort::Rare => {
                let key = |i: u32| {
                    let e = state.name(i);
                    (e.queries, e.hosts)
                };
                let order = |a: &u32, b: &u32| {
                    key(*a)
                        .cmp(&key(*b))
                        .then_with(|| state.name_text(*a).cmp(state.name_text(*b)))
                };
                let mut picked: Vec<u32> = state
                    .names()
                    .map(|(i, _)| i)
                    .filter(|&i| wanted(i))
                    .filter(|&i| q.min_score <= 0.0 || known.score(state, i, ctx) >= q.min_score)
                    .collect();
                if picked.len() > q.top {
                    picked.select_nth_unstable_by(q.top - 1, order);
                    picked.truncate(q.top);
                }
                picked.sort_unstable_by(order);
                picked.into_iter().map(|i| row(state, i, ctx)).collect()
            }
            Sort::Score => {
                // The best `pool` names by quick score, in a bounded min-heap:
                // no allocation in proportion to the names held.
                let pool = q
                    .top
                    .saturating_mul(10)
                    .saturating_add(1000)
                    .min(state.name_count());
                let mut heap: BinaryHeap<Reverse<Candidate<'_>>> =
                    BinaryHeap::with_capacity(pool + 1);
                for (i, e) in state.names() {
                    if !wanted(i) {
                        continue;
                    }
                    let score = known.score(state, i, ctx);
                    if score < q.min_score {
                        continue;
                    }
                    let candidate = Candidate {
                        score,
                        queries: e.queries,
                        name: state.name_text(i),
                        index: i,
                    };
                    if heap.len() >= pool && heap.peek().is_some_and(|Reverse(c)| *c >= candidate) {
                        continue;
                    }
                    heap.push(Reverse(candidate));
                    if heap.len() > pool {
                        heap.pop();
                    }
                }
                let mut scored: Vec<Candidate<'_>> = heap.into_iter().map(|Reverse(c)| c).collect();
                scored.sort_unstable_by(|a, b| b.cmp(a));
                let mut rows: Vec<Row> = Vec::new();
                // Per domain: names shown, the last one's row, and whether the
                // cap left some out.
                let mut per_domain: HashMap<u32, (usize, usize, bool)> = HashMap::new();
                for Candidate { index: i, .. } in scored {
                    let domain = state.name(i).domain;
                    let (shown, last_row, capped) =
                        per_domain.entry(domain).or_insert((0, usize::MAX, false));
                    if q.per_domain > 0 && *shown >= q.per_domain {
                        *capped = true;
                        continue;
                    }
                    if rows.len() >= q.top {
                        continue;
                    }
                    *shown += 1;
                    *last_row = rows.len();
                    rows.push(row(state, i, ctx));
                }
                for (domain, (shown, last_row, capped)) in per_domain {
                    if capped {
                        let names = u64::from(state.domain_entry(domain).names);
                        rows[last_row].more_in_domain = names.saturating_sub(shown as u64);
                    }
                }
                rows.sort_by(score_order);
                rows
            }
        }
    };
    NameRows {
        rows,
        denied,
        allow_hidden,
    }
}

/// The full, explained row of name `i`.
pub fn row(state: &ShardState, i: u32, ctx: &ScoreContext) -> Row {
    let e = state.name(i);
    let (signals, beacon_host) = signals(state, i, ctx, true);
    let scored = combine::evaluate(&signals, &ctx.base, true);
    let mut hosts: Vec<HostCount> = state
        .name_pairs(i)
        .map(|p| HostCount {
            addr: p.host.addr.ip(),
            queries: p.queries,
            sensor: None,
        })
        .collect();
    hosts.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.addr.cmp(&b.addr)));
    hosts.truncate(ROW_HOSTS);
    let lists = [
        (marks::CDN, ListKind::CdnCloud),
        (marks::DYNAMIC_DNS, ListKind::DynamicDns),
        (marks::IP_LOOKUP, ListKind::IpLookup),
        (marks::WATCH, ListKind::Watch),
    ]
    .iter()
    .filter(|(bit, _)| e.marks & bit != 0)
    .map(|(_, kind)| kind.name().to_owned())
    .collect();
    let d = state.domain_entry(e.domain);
    Row {
        name: state.name_text(i).to_owned(),
        domain: state.domain_text(e.domain).to_owned(),
        score: scored.score,
        queries: e.queries,
        distinct_hosts: u64::from(e.hosts),
        network_hosts: ctx.base.hosts,
        untracked_queries: u64::from(e.untracked),
        first_seen_ns: e.first_seen,
        last_seen_ns: e.last_seen,
        responses: u64::from(e.responses),
        nxdomain: u64::from(e.nxdomain),
        qtypes: qtype::names(e.qtypes).map(str::to_owned).collect(),
        randomness: signals.randomness,
        lists,
        domain_names: u64::from(d.names),
        domain_hosts: u64::from(d.hosts),
        beacon: signals
            .beacon
            .zip(beacon_host)
            .map(|(beacon, host)| BeaconRow {
                host: host.ip(),
                beacon,
            }),
        explanation: combine::explanation(&scored.parts),
        parts: scored.parts,
        more_in_domain: 0,
        hosts,
        answers: answer_row(state, i),
    }
}

/// What the resolver answered for name `i`, for rows and `hosts NAME`.
pub fn answer_row(state: &ShardState, i: u32) -> Option<AnswerRow> {
    let a = state.answers(i)?;
    Some(AnswerRow {
        addresses: a.addrs.iter().map(|h| h.ip()).collect(),
        distinct_addresses: a.addrs.len() as u32,
        more_addresses: a.more_addresses,
        cnames: a
            .chain
            .split(' ')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        ttl_min: a.ttl_min,
        ttl_max: a.ttl_max,
        answered: a.answered,
    })
}

/// One row per registered domain of this shard, with its best name not on
/// the allow list (a domain whose names are all allowed has no row unless it
/// folds; the counts still include allowed names).
pub fn domain_rows(state: &ShardState, ctx: &ScoreContext, q: &ReportQuery) -> Vec<DomainRow> {
    let mut best: HashMap<u32, (f32, u32)> = HashMap::new();
    for (i, e) in state.names() {
        // An allowed name neither ranks its domain nor is named for it.
        if e.last_seen < q.since_ns.unwrap_or(0) || listed(state, i, ctx) == Listed::Allowed {
            continue;
        }
        let score = quick_score(state, i, ctx);
        let slot = best.entry(e.domain).or_insert((score, i));
        if score > slot.0 {
            *slot = (score, i);
        }
    }
    let mut rows: Vec<DomainRow> = state
        .domains()
        .filter(|(d, e)| {
            best.contains_key(d)
                || state.domain_fold(*d).is_some() && e.last_seen >= q.since_ns.unwrap_or(0)
        })
        .map(|(d, e)| {
            let (score, top) = best.get(&d).copied().unwrap_or((0.0, u32::MAX));
            DomainRow {
                domain: state.domain_text(d).to_owned(),
                score,
                top_name: if top == u32::MAX {
                    String::new()
                } else {
                    state.name_text(top).to_owned()
                },
                names: u64::from(e.names),
                folded_names: state.domain_fold(d).map_or(0, |f| f.names.estimate()),
                hosts: u64::from(e.hosts),
                queries: e.queries,
            }
        })
        .filter(|r| r.score >= q.min_score)
        .collect();
    rows.sort_by(domain_order);
    rows.truncate(q.top);
    rows
}

/// Domain order: highest score, then most names, then name.
pub fn domain_order(a: &DomainRow, b: &DomainRow) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then((b.names + b.folded_names).cmp(&(a.names + a.folded_names)))
        .then_with(|| a.domain.cmp(&b.domain))
}

/// The aggregate rows of this shard's exploded domains (and overflow).
pub fn folded(state: &ShardState) -> Vec<FoldedRow> {
    state
        .folds()
        .map(|f| {
            let domain = state.fold_domain(f).to_owned();
            let (names_counted, domain_queries, distinct_hosts) = state
                .lookup_domain(&domain)
                .filter(|_| !domain.is_empty())
                .map_or((0, f.queries, 0), |d| {
                    let e = state.domain_entry(d);
                    (u64::from(e.names), e.queries, u64::from(e.hosts))
                });
            FoldedRow {
                domain,
                folded_queries: f.queries,
                folded_names_estimate: f.names.estimate(),
                names_counted,
                domain_queries,
                distinct_hosts,
                by_memory: f.by_memory,
                first_seen_ns: f.first_seen,
                last_seen_ns: f.last_seen,
            }
        })
        .collect()
}

/// Who asked for `name`, most queries first, with each host's
/// periodicity; for an exploded domain's folded names, the hosts that
/// asked them.
pub fn hosts(state: &ShardState, name: &str) -> Option<HostsReply> {
    let Some(i) = state.lookup_name(name) else {
        let d = state.lookup_domain(name)?;
        let fold = state.domain_fold(d)?;
        let mut hosts: Vec<HostDetail> = state
            .folded_hosts(d)
            .into_iter()
            .map(|(h, queries)| HostDetail {
                addr: h.addr.ip(),
                queries,
                first_seen_ns: 0,
                last_seen_ns: 0,
                arrivals_ns: Vec::new(),
                beacon: None,
            })
            .collect();
        sort_details(&mut hosts);
        return Some(HostsReply {
            name: name.to_owned(),
            queries: fold.queries,
            folded: true,
            hosts,
            answers: None,
        });
    };
    let mut hosts: Vec<HostDetail> = state
        .name_pairs(i)
        .map(|p| {
            let arrivals_ns = state.arrivals(&p);
            HostDetail {
                addr: p.host.addr.ip(),
                queries: p.queries,
                first_seen_ns: p.first_seen,
                last_seen_ns: p.last_seen,
                beacon: beacon::score(&arrivals_ns),
                arrivals_ns,
            }
        })
        .collect();
    sort_details(&mut hosts);
    Some(HostsReply {
        name: name.to_owned(),
        queries: state.name(i).queries,
        folded: false,
        hosts,
        answers: answer_row(state, i),
    })
}

fn sort_details(hosts: &mut [HostDetail]) {
    hosts.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.addr.cmp(&b.addr)));
}

/// How many of this shard's names were asked how many times: names per
/// [`histogram_bucket`] of their query count (names only answered, never
/// asked, are left out).
pub fn query_histogram(state: &ShardState) -> [u64; HISTOGRAM_BUCKETS] {
    let mut buckets = [0u64; HISTOGRAM_BUCKETS];
    for (_, e) in state.names() {
        if e.queries > 0 {
            buckets[histogram_bucket(e.queries)] += 1;
        }
    }
    buckets
}

/// Sizes and totals.
pub fn size(state: &ShardState) -> ShardSize {
    ShardSize {
        names: state.name_count() as u64,
        pairs: state.pair_count() as u64,
        domains: state.domains().count() as u64,
        hosts: state.hosts().count() as u64,
        rings: state.ring_count() as u64,
        folded_domains: state
            .domains()
            .filter(|(d, _)| state.domain_fold(*d).is_some())
            .count() as u64,
        memory_bytes: state.memory_bytes() as u64,
        budget_bytes: state.budget_bytes() as u64,
        pressure: state.pressure(),
        totals: state.totals(),
    }
}

#[cfg(test)]
mod tests {
    use std::{net::IpAddr, sync::Arc};

    use capture_common::EventKind;

    use super::*;
    use crate::{
        engine::{
            batch::Item,
            name_hasher,
            state::{self, Limits},
        },
        score::lists::Lists,
    };

    struct Shard(ShardState);

    impl Shard {
        fn new() -> Self {
            Self(ShardState::new(
                Limits::default(),
                name_hasher(),
                Arc::new(Lists::embedded()),
            ))
        }

        fn ask(&mut self, name: &str, host: &str, t_s: f64, qtype: u16) {
            let time_ns = (t_s * 1e9) as u64;
            let item = Item::for_test(
                &name_hasher(),
                name,
                host,
                time_ns,
                EventKind::Query,
                qtype,
                0,
            );
            self.0.count(&item, name.as_bytes(), None);
        }

        fn answer_nx(&mut self, name: &str, host: &str) {
            let item = Item::for_test(&name_hasher(), name, host, 1, EventKind::Response, 1, 3);
            self.0.count(&item, name.as_bytes(), None);
        }

        /// A response for `name` to `host` answering `addrs` through the
        /// CNAME `chain`.
        fn answer(&mut self, name: &str, host: &str, addrs: &[&str], chain: &[&str], ttl: u32) {
            let item = Item::for_test(&name_hasher(), name, host, 1, EventKind::Response, 1, 0);
            let answers = crate::ingest::answers::Answers {
                chain: chain.iter().map(|c| (*c).to_owned()).collect(),
                addresses: addrs.iter().map(|a| a.parse().expect("literal")).collect(),
                ttl: Some((ttl, ttl)),
                records: (addrs.len() + chain.len()) as u16,
                truncated: false,
            };
            let mut batch = crate::engine::batch::Batch::default();
            batch.push_answered(name.as_bytes(), item, &answers);
            for (item, name, answer) in batch.iter() {
                self.0.count(item, name, answer);
            }
        }

        fn row_of(&mut self, name: &str) -> Row {
            let ctx = self.context();
            let i = self.0.lookup_name(name).expect("counted");
            row(&self.0, i, &ctx)
        }

        fn rows(&mut self, q: &ReportQuery) -> Vec<Row> {
            let ctx = self.context();
            name_rows(&self.0, &ctx, q, &KnownScores::default()).rows
        }

        fn context(&mut self) -> ScoreContext {
            let o = overview(&mut self.0);
            ScoreContext::merge([&o], o.hosts.iter())
        }
    }

    /// A background of 50 hosts asking ordinary names.
    fn background(s: &mut Shard) {
        for h in 0..50 {
            for (k, name) in ["www.google.com", "mail.example.org", "news.example.net"]
                .iter()
                .enumerate()
            {
                s.ask(name, &format!("10.0.1.{h}"), f64::from(h * 3 + k as u32), 1);
            }
        }
    }

    fn has_part(row: &Row, signal: crate::model::score::Signal) -> bool {
        row.parts.iter().any(|p| p.signal == signal)
    }

    /// A background of 50 hosts whose names are answered with public
    /// addresses.
    fn answered_background(s: &mut Shard) {
        background(s);
        for (k, name) in ["www.google.com", "mail.example.org", "news.example.net"]
            .iter()
            .enumerate()
        {
            s.answer(name, "10.0.1.1", &[&format!("198.51.100.{k}")], &[], 300);
        }
    }

    #[test]
    fn name_rows_after_leads_are_the_name_rows_alone() {
        let mut s = Shard::new();
        background(&mut s);
        for k in 0..30 {
            let name = format!("q{k}x7kz{}.rare-{}.net", k * 7919, k % 4);
            s.ask(&name, "10.0.0.7", f64::from(k), 1);
            if k % 3 == 0 {
                s.answer_nx(&name, "10.0.0.7");
            }
        }
        let ctx = s.context();
        let q = ReportQuery {
            top: 1000,
            per_domain: 0,
            ..ReportQuery::default()
        };
        let alone = name_rows(&s.0, &ctx, &q, &KnownScores::default()).rows;
        let mut known = KnownScores::for_names(s.0.name_count());
        crate::engine::leads::leads(&s.0, &ctx, &q, &mut known);
        assert!(known.0.iter().filter(|k| !k.is_nan()).count() >= 30);
        let after = name_rows(&s.0, &ctx, &q, &known).rows;
        let key = |rows: &[Row]| -> Vec<(String, u32)> {
            rows.iter()
                .map(|r| (r.name.clone(), r.score.to_bits()))
                .collect()
        };
        assert_eq!(key(&after), key(&alone));
        assert!(alone.len() > 30);
    }

    #[test]
    fn answers_are_kept_bounded_and_shown() {
        let mut s = Shard::new();
        s.ask("www.shop-one.biz", "10.0.0.9", 1.0, 1);
        for k in 0..12 {
            s.answer(
                "www.shop-one.biz",
                "10.0.0.9",
                &[&format!("198.51.100.{k}"), "198.51.100.0"],
                &["shop.edge-cdn.biz", "e1.edge-cdn.biz"],
                30 + k,
            );
        }
        let a = s.row_of("www.shop-one.biz").answers.expect("answered");
        assert_eq!(a.answered, 12);
        assert_eq!(a.addresses.len(), state::KEPT_ADDRESSES);
        assert!(a.more_addresses);
        assert_eq!(a.cnames, ["shop.edge-cdn.biz", "e1.edge-cdn.biz"]);
        assert_eq!((a.ttl_min, a.ttl_max), (30, 41));
    }

    #[test]
    fn sinkhole_null_and_private_answers_raise_a_rare_name() {
        let mut lists = Lists::embedded();
        lists
            .sinkholes
            .extend(AddressList::parse("203.0.113.0/24", None).expect("valid"));
        let mut s = Shard(ShardState::new(
            Limits::default(),
            name_hasher(),
            Arc::new(lists),
        ));
        answered_background(&mut s);
        for (name, addr) in [
            ("seized-c2.biz", "203.0.113.9"),
            ("blocked-c2.biz", "0.0.0.0"),
            ("inside-c2.biz", "10.9.9.9"),
            ("plain-c2.biz", "198.51.100.77"),
        ] {
            s.ask(name, "10.0.1.7", 5.0, 1);
            s.answer(name, "10.0.1.7", &[addr], &[], 60);
        }
        let seized = s.row_of("seized-c2.biz");
        assert!(
            has_part(&seized, crate::model::score::Signal::Sinkhole),
            "{seized:?}"
        );
        assert!(
            seized
                .explanation
                .contains("known sinkhole address (203.0.113.9)")
        );
        assert!(has_part(
            &s.row_of("blocked-c2.biz"),
            crate::model::score::Signal::NullAnswer
        ));
        assert!(has_part(
            &s.row_of("inside-c2.biz"),
            crate::model::score::Signal::PrivateAnswer
        ));
        let plain = s.row_of("plain-c2.biz");
        for row in ["seized-c2.biz", "blocked-c2.biz", "inside-c2.biz"] {
            assert!(
                s.row_of(row).score > plain.score,
                "{row} above plain-c2.biz"
            );
        }
    }

    #[test]
    fn a_cname_into_shared_infrastructure_suppresses_without_any_list() {
        let mut s = Shard::new();
        answered_background(&mut s);
        for (k, name) in [
            "a.one.example",
            "b.two.example",
            "c.three.example",
            "d.four-shop.biz",
        ]
        .iter()
        .enumerate()
        {
            s.ask(name, &format!("10.0.1.{k}"), 5.0, 1);
            s.answer(
                name,
                "10.0.1.1",
                &["198.51.100.200"],
                &[&format!("x{k}.edgehost.biz")],
                20,
            );
        }
        let row = s.row_of("d.four-shop.biz");
        assert!(
            has_part(&row, crate::model::score::Signal::CnameInfrastructure),
            "{row:?}"
        );
        assert!(
            row.explanation
                .contains("other domains alias into its domain")
        );
        assert!(row.score < 20.0, "{}", row.score);
    }

    #[test]
    fn fast_flux_and_shared_addresses_raise() {
        let mut s = Shard::new();
        answered_background(&mut s);
        s.ask("flux-c2.biz", "10.0.1.3", 5.0, 1);
        for k in 0..6 {
            s.answer(
                "flux-c2.biz",
                "10.0.1.3",
                &[&format!("{}.{k}.1.1", 20 + k)],
                &[],
                60,
            );
        }
        let flux = s.row_of("flux-c2.biz");
        assert!(
            has_part(&flux, crate::model::score::Signal::FastFlux),
            "{flux:?}"
        );
        for name in ["alpha-c2.biz", "beta-c2.biz", "gamma-c2.biz"] {
            s.ask(name, "10.0.1.4", 5.0, 1);
            s.answer(name, "10.0.1.4", &["192.0.2.66"], &[], 600);
        }
        let shared = s.row_of("beta-c2.biz");
        assert!(
            shared
                .explanation
                .contains("shares 192.0.2.66 with rare names of 2 other domains"),
            "{}",
            shared.explanation
        );
    }

    #[test]
    fn a_beacon_tops_the_report_with_its_period() {
        let mut s = Shard::new();
        background(&mut s);
        for k in 0..40 {
            s.ask(
                "update.example.com",
                "10.0.0.7",
                1000.0 + f64::from(k) * 612.0,
                1,
            );
            if k % 7 == 2 {
                // Idle-time scoring in the middle of the beats.
                s.0.refresh_scores(usize::MAX);
            }
        }
        // Rare but not periodic: the same host, at irregular times.
        for t in [5.0, 17.0, 400.0, 9000.0, 9001.5, 30_000.0] {
            s.ask("odd.example.com", "10.0.0.8", t, 1);
        }
        let rows = s.rows(&ReportQuery::default());
        assert_eq!(rows[0].name, "update.example.com");
        let beacon = rows[0].beacon.as_ref().expect("measured");
        assert_eq!(beacon.host.to_string(), "10.0.0.7");
        assert!((beacon.beacon.period_s - 612.0).abs() < 1.0, "{beacon:?}");
        assert!(
            rows[0]
                .explanation
                .contains("beacon: every 10 min ±1% (40 beats over"),
            "{}",
            rows[0].explanation
        );
        let odd = rows
            .iter()
            .find(|r| r.name == "odd.example.com")
            .expect("listed");
        assert!(odd.score < rows[0].score - 20.0);
        // The quick score (cached features) is the exact one.
        let i = s.0.lookup_name("update.example.com").expect("counted");
        let ctx = s.context();
        assert_eq!(quick_score(&s.0, i, &ctx), rows[0].score);
    }

    #[test]
    fn tunnel_outranks_cdn_spread_without_any_list() {
        let mut s = Shard::new();
        background(&mut s);
        // CDN-like: 40 random names under one domain, each asked by many
        // hosts. Tunnel-like: 40 random names under another, one host.
        for n in 0..40 {
            let cdn = format!("d{:x}q7k2v9z3.cdnprovider.net", n * 7919 + 1_000_003);
            for h in 0..12 {
                s.ask(&cdn, &format!("10.0.1.{}", (n + h) % 50), 1.0, 1);
            }
            let tunnel = format!("x{:x}m3zq8w1r.t.badtunnel.net", n * 104_729 + 77);
            s.ask(&tunnel, "10.0.0.66", f64::from(n), 16);
        }
        let query = ReportQuery {
            per_domain: 0,
            top: 80,
            ..ReportQuery::default()
        };
        let rows = s.rows(&query);
        let rank = |domain: &str| {
            rows.iter()
                .position(|r| r.domain == domain)
                .expect("listed")
        };
        let first_cdn = rank("cdnprovider.net");
        let last_tunnel = rows
            .iter()
            .rposition(|r| r.domain == "badtunnel.net")
            .expect("listed");
        assert!(
            last_tunnel < first_cdn,
            "every tunnel name above every CDN name"
        );
        assert!(rank("badtunnel.net") == 0);
        let cdn_row = &rows[first_cdn];
        assert!(
            cdn_row.explanation.contains("infrastructure: 40 names"),
            "{}",
            cdn_row.explanation
        );
        let tunnel_row = &rows[0];
        assert!(
            tunnel_row
                .explanation
                .contains("40 names under its domain from 1 host")
        );
        assert!(tunnel_row.explanation.contains("TXT/NULL"));
    }

    #[test]
    fn equal_scores_come_out_in_the_same_order_whatever_top_is() {
        let mut s = Shard::new();
        background(&mut s);
        // Hundreds of names that score alike, asked once each.
        for n in 0..600 {
            s.ask(&format!("same{n:03}.rare{n:03}.net"), "10.0.0.9", 5.0, 1);
        }
        let names = |s: &mut Shard, top: usize| -> Vec<String> {
            s.rows(&ReportQuery {
                top,
                view: crate::model::query::View::Name,
                ..ReportQuery::default()
            })
            .into_iter()
            .map(|r| r.name)
            .collect()
        };
        let ten = names(&mut s, 10);
        let thousand = names(&mut s, 1000);
        assert_eq!(ten, thousand[..10]);
        assert_eq!(names(&mut s, 100), thousand[..100]);
    }

    #[test]
    fn per_domain_cap_counts_the_names_left_out() {
        let mut s = Shard::new();
        for n in 0..10 {
            s.ask(&format!("q{n}zx8k.t.tun.net"), "10.0.0.66", 1.0, 16);
        }
        let rows = s.rows(&ReportQuery::default());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.iter().map(|r| r.more_in_domain).sum::<u64>(), 7);
        assert_eq!(
            rows[2].more_in_domain, 7,
            "counted on the domain's last row shown"
        );
    }

    #[test]
    fn dga_burst_names_carry_their_hosts_nxdomain() {
        let mut s = Shard::new();
        background(&mut s);
        for n in 0..30 {
            let name = format!("kq{:x}zvxw{}.com", n * 7_777_777 + 12_345, n);
            s.ask(&name, "10.0.0.9", 100.0 + f64::from(n), 1);
            s.answer_nx(&name, "10.0.0.9");
        }
        let rows = s.rows(&ReportQuery {
            per_domain: 0,
            ..ReportQuery::default()
        });
        let top = &rows[0];
        assert_eq!(top.hosts[0].addr.to_string(), "10.0.0.9");
        assert!(
            top.explanation.contains("NXDOMAIN 100%"),
            "{}",
            top.explanation
        );
        assert!(
            top.explanation
                .contains("DGA-like host: 30 random names answered NXDOMAIN"),
            "{}",
            top.explanation
        );
    }

    #[test]
    fn filters_by_host_time_and_score() {
        let mut s = Shard::new();
        background(&mut s);
        s.ask("late.example.com", "10.0.0.5", 50_000.0, 1);
        let only = |q: ReportQuery, s: &mut Shard| -> Vec<String> {
            s.rows(&q).into_iter().map(|r| r.name).collect()
        };
        let host: IpAddr = "10.0.0.5".parse().expect("literal");
        assert_eq!(
            only(
                ReportQuery {
                    host: Some(host),
                    ..ReportQuery::default()
                },
                &mut s
            ),
            ["late.example.com"]
        );
        assert_eq!(
            only(
                ReportQuery {
                    since_ns: Some(40_000 * 1_000_000_000),
                    ..ReportQuery::default()
                },
                &mut s
            ),
            ["late.example.com"]
        );
        assert!(
            only(
                ReportQuery {
                    min_score: 99.0,
                    ..ReportQuery::default()
                },
                &mut s
            )
            .is_empty()
        );
    }
}
