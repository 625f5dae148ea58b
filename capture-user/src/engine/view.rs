//! Read-only views of one shard's state: the report rows, the folded
//! domains, the hosts of a name, the shard's size. Pure functions of the
//! state, run on the shard's own thread between batches.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::state::{Pressure, ShardState, Totals, qtype};
use crate::report::{FoldedRow, HostCount, HostDetail, HostsReply, Row};

/// Hosts listed per row.
const ROW_HOSTS: usize = 10;

/// Sizes and totals of one shard, for `dnsrare stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSize {
    /// Distinct names counted in detail.
    pub names: u64,
    /// Distinct (host, name) pairs.
    pub pairs: u64,
    /// Registered domains.
    pub domains: u64,
    /// Hosts seen by this shard.
    pub hosts: u64,
    /// Arrival rings held.
    pub rings: u64,
    /// Exploded (folding) domains.
    pub folded_domains: u64,
    /// Bytes of state.
    pub memory_bytes: u64,
    /// This shard's budget.
    pub budget_bytes: u64,
    /// How close to the budget.
    pub pressure: Pressure,
    /// Counting totals.
    pub totals: Totals,
}

/// The report's least-queried order: fewest queries, then fewest hosts,
/// then name.
pub fn rarest_order(a: &Row, b: &Row) -> Ordering {
    a.queries
        .cmp(&b.queries)
        .then(a.distinct_hosts.cmp(&b.distinct_hosts))
        .then_with(|| a.name.cmp(&b.name))
}

/// The `top` least-queried names of this shard, in [`rarest_order`].
pub fn rarest(state: &ShardState, top: usize) -> Vec<Row> {
    if top == 0 {
        return Vec::new();
    }
    let key = |i: u32| {
        let e = state.name(i);
        (e.queries, e.hosts)
    };
    let order = |a: &u32, b: &u32| {
        key(*a)
            .cmp(&key(*b))
            .then_with(|| state.name_text(*a).cmp(state.name_text(*b)))
    };
    let mut picked: Vec<u32> = state.names().map(|(i, _)| i).collect();
    if picked.len() > top {
        picked.select_nth_unstable_by(top - 1, order);
        picked.truncate(top);
    }
    picked.sort_unstable_by(order);
    picked.into_iter().map(|i| row(state, i)).collect()
}

/// The full row of name `i`.
pub fn row(state: &ShardState, i: u32) -> Row {
    let e = state.name(i);
    let mut hosts: Vec<HostCount> = state
        .name_pairs(i)
        .map(|p| HostCount {
            addr: p.host.addr.ip(),
            queries: p.queries,
        })
        .collect();
    hosts.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.addr.cmp(&b.addr)));
    hosts.truncate(ROW_HOSTS);
    Row {
        name: state.name_text(i).to_owned(),
        domain: state.domain_text(e.domain).to_owned(),
        queries: e.queries,
        distinct_hosts: u64::from(e.hosts),
        untracked_queries: u64::from(e.untracked),
        first_seen_ns: e.first_seen,
        last_seen_ns: e.last_seen,
        nxdomain: u64::from(e.nxdomain),
        qtypes: qtype::names(e.qtypes)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        hosts,
    }
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

/// Who asked for `name`, most queries first; for an exploded domain's
/// folded names, the hosts of the whole domain.
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
            })
            .collect();
        sort_details(&mut hosts);
        return Some(HostsReply {
            name: name.to_owned(),
            queries: fold.queries,
            folded: true,
            hosts,
        });
    };
    let mut hosts: Vec<HostDetail> = state
        .name_pairs(i)
        .map(|p| HostDetail {
            addr: p.host.addr.ip(),
            queries: p.queries,
            first_seen_ns: p.first_seen,
            last_seen_ns: p.last_seen,
            arrivals_ns: state.arrivals(&p),
        })
        .collect();
    sort_details(&mut hosts);
    Some(HostsReply {
        name: name.to_owned(),
        queries: state.name(i).queries,
        folded: false,
        hosts,
    })
}

fn sort_details(hosts: &mut [HostDetail]) {
    hosts.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.addr.cmp(&b.addr)));
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
