//! Counting one observation: a query (its name, domain, host, pair and
//! arrival) or a response (NXDOMAIN per name and host), within the memory
//! budget: at the limit new names fold into their domain's row and nothing
//! already counted is evicted.

use std::{hash::BuildHasher, net::IpAddr};

use capture_common::{EventKind, qtype};

use super::{
    KEPT_ADDRESSES, NONE, ShardState,
    index::pair_key,
    records::{AnswerEntry, DomainEntry, DomainHost, Fold, HostEntry, NameEntry, PairEntry},
    ring::RING_MAX_HOSTS,
};
use crate::{
    engine::{
        batch::{AnswerView, Item},
        chunked::{Arena, Chunked},
        domain,
    },
    model::{host::HostAddr, status::Pressure},
};

impl ShardState {
    /// Counts one observation; `name` is its name, `item` the rest, and
    /// `answer` what a response's answer section said.
    ///
    /// A query with its response attached counts both, the response with
    /// the query's lookup of the name.
    pub fn count(&mut self, item: &Item, name: &[u8], answer: Option<AnswerView<'_>>) {
        match item.kind {
            EventKind::Query => {
                let counted = self.count_query(item, name);
                if item.responded {
                    self.count_response(counted, item, answer);
                }
            }
            EventKind::Response => {
                let counted = self.find_name(item.name_hash, name);
                self.count_response(counted, item, answer);
            }
        }
    }

    /// Counts a query; returns the index of its name, if it has an entry
    /// (`None` when it was folded into an aggregate).
    pub(super) fn count_query(&mut self, item: &Item, name: &[u8]) -> Option<u32> {
        let t = item.time_ns;
        self.data.totals.queries += 1;
        let host = self.host(item.host);
        let name_index = match self.find_name(item.name_hash, name) {
            Some(i) => i,
            None => {
                // A new name: its registered domain is looked up here, once.
                let domain_name = &name[domain::registered_domain_offset(name)..];
                self.admit_name(item, name, domain_name, host)?
            }
        };
        // The pair first: it reads the name's counts as they were.
        match host {
            Some(h) => {
                self.data.hosts.get_mut(h).queries += 1;
                self.count_pair(name_index, h, t);
            }
            None => {
                self.data.names.get_mut(name_index).untracked += 1;
                self.data.totals.untracked_queries += 1;
            }
        }
        let entry = self.data.names.get_mut(name_index);
        entry.queries += 1;
        entry.first_seen = entry.first_seen.min(t);
        entry.last_seen = entry.last_seen.max(t);
        entry.qtypes |= qtype::bit(item.qtype);
        let domain = entry.domain;
        self.touch_domain(domain, t);
        Some(name_index)
    }

    /// Creates the entry for a new name; `None` when the query was folded
    /// into an aggregate instead (and is fully counted).
    pub(super) fn admit_name(
        &mut self,
        item: &Item,
        name: &[u8],
        domain_name: &[u8],
        host: Option<u32>,
    ) -> Option<u32> {
        let t = item.time_ns;
        let domain = self.domain(self.hasher.hash_one(domain_name), domain_name, t);
        let fold_at_limit = domain.is_some_and(|d| {
            let e = self.data.domains.get(d);
            e.fold != NONE || e.names >= self.limits.fold_names
        });
        let needs = if self.data.names.is_full() {
            Chunked::<NameEntry>::chunk_bytes()
        } else {
            0
        } + if self.data.arena.needs_chunk(name.len()) {
            Arena::chunk_bytes()
        } else {
            0
        };
        let full = self.pressure == Pressure::Full || (needs > 0 && self.over_budget(needs));
        let Some(domain) = domain.filter(|_| !full && !fold_at_limit) else {
            self.fold(domain, item, !fold_at_limit);
            if let Some(d) = domain {
                self.touch_domain(d, t);
            }
            if let Some(h) = host {
                self.data.hosts.get_mut(h).queries += 1;
                if let Some(d) = domain {
                    self.domain_host(d, h, true);
                }
            }
            return None;
        };
        let offset = self.data.arena.store(name);
        let index = self.data.names.push(NameEntry {
            queries: 0,
            first_seen: t,
            last_seen: t,
            name: offset,
            domain,
            hosts: 0,
            solo: NONE,
            link: NONE,
            nxdomain: 0,
            responses: 0,
            failures: 0,
            untracked: 0,
            qtypes: 0,
            lexical: 0,
            marks: 0,
            class: 0,
        });
        let d = &self.data;
        let h = &self.hasher;
        self.index.names.insert_unique(item.name_hash, index, |&j| {
            h.hash_one(d.arena.get(d.names.get(j).name))
        });
        self.data.domains.get_mut(domain).names += 1;
        Some(index)
    }

    /// Counts a folded query in `domain`'s aggregate (or the overflow).
    pub(super) fn fold(&mut self, domain: Option<u32>, item: &Item, by_memory: bool) {
        self.data.totals.folded_queries += 1;
        // When full, only domains that already fold keep their own row: a
        // new aggregate would grow the state.
        let domain = domain
            .filter(|&d| self.pressure != Pressure::Full || self.data.domains.get(d).fold != NONE);
        let fold = match domain {
            Some(d) => {
                let existing = self.data.domains.get(d).fold;
                if existing == NONE {
                    let index = self.data.folds.len() as u32;
                    self.data.folds.push(Fold {
                        domain: d,
                        first_seen: item.time_ns,
                        last_seen: item.time_ns,
                        by_memory,
                        ..Fold::default()
                    });
                    self.data.domains.get_mut(d).fold = index;
                    &mut self.data.folds[index as usize]
                } else {
                    &mut self.data.folds[existing as usize]
                }
            }
            None => {
                let o = &mut self.data.overflow;
                if o.queries == 0 {
                    o.domain = NONE;
                    o.first_seen = item.time_ns;
                    o.by_memory = true;
                }
                o
            }
        };
        fold.queries += 1;
        fold.names.add(item.name_hash);
        fold.first_seen = fold.first_seen.min(item.time_ns);
        fold.last_seen = fold.last_seen.max(item.time_ns);
    }

    pub(super) fn domain(&mut self, hash: u64, name: &[u8], t: u64) -> Option<u32> {
        let d = &self.data;
        if let Some(&i) = self
            .index
            .domains
            .find(hash, |&i| d.arena.get(d.domains.get(i).name) == name)
        {
            return Some(i);
        }
        if self.pressure == Pressure::Full
            || (self.data.domains.is_full()
                && self.over_budget(Chunked::<DomainEntry>::chunk_bytes()))
        {
            return None;
        }
        let offset = self.data.arena.store(name);
        let index = self.data.domains.push(DomainEntry {
            queries: 0,
            first_seen: t,
            last_seen: t,
            name: offset,
            names: 0,
            hosts: 0,
            fold: NONE,
        });
        let d = &self.data;
        let h = &self.hasher;
        self.index.domains.insert_unique(hash, index, |&j| {
            h.hash_one(d.arena.get(d.domains.get(j).name))
        });
        Some(index)
    }

    pub(super) fn host(&mut self, addr: HostAddr) -> Option<u32> {
        let hash = self.hasher.hash_one(addr);
        let d = &self.data;
        if let Some(&i) = self
            .index
            .hosts
            .find(hash, |&i| d.hosts.get(i).addr == addr)
        {
            return Some(i);
        }
        if self.pressure == Pressure::Full
            || (self.data.hosts.is_full() && self.over_budget(Chunked::<HostEntry>::chunk_bytes()))
        {
            return None;
        }
        let index = self.data.hosts.push(HostEntry {
            addr,
            queries: 0,
            names: 0,
            nxdomain: 0,
        });
        let d = &self.data;
        let h = &self.hasher;
        self.index
            .hosts
            .insert_unique(hash, index, |&j| h.hash_one(d.hosts.get(j).addr));
        Some(index)
    }

    /// Counts a query under `domain`.
    pub(super) fn touch_domain(&mut self, domain: u32, t: u64) {
        let e = self.data.domains.get_mut(domain);
        e.queries += 1;
        e.first_seen = e.first_seen.min(t);
        e.last_seen = e.last_seen.max(t);
    }

    /// Records that `host` asked for a name under `domain` (counting it
    /// among the domain's distinct hosts the first time), and one folded
    /// query from it when `folded`. Called when a (host, name) association
    /// is created and for folded queries, not on every query.
    pub(super) fn domain_host(&mut self, domain: u32, host: u32, folded: bool) {
        let key = pair_key(domain, host);
        let hash = self.hasher.hash_one(key);
        let d = &self.data;
        if let Some(&i) = self.index.domain_hosts.find(hash, |&i| {
            let p = d.domain_hosts.get(i);
            pair_key(p.domain, p.host) == key
        }) {
            self.data.domain_hosts.get_mut(i).folded_queries += u64::from(folded);
            return;
        }
        if self.pressure == Pressure::Full
            || (self.data.domain_hosts.is_full()
                && self.over_budget(Chunked::<DomainHost>::chunk_bytes()))
        {
            return;
        }
        let index = self.data.domain_hosts.push(DomainHost {
            folded_queries: u64::from(folded),
            domain,
            host,
        });
        self.data.domains.get_mut(domain).hosts += 1;
        let d = &self.data;
        let h = &self.hasher;
        self.index.domain_hosts.insert_unique(hash, index, |&j| {
            let p = d.domain_hosts.get(j);
            h.hash_one(pair_key(p.domain, p.host))
        });
    }

    /// Counts a query of `host` for `name` at `t`, before the name's own
    /// counts are updated.
    pub(super) fn count_pair(&mut self, name: u32, host: u32, t: u64) {
        let entry = *self.data.names.get(name);
        if entry.solo == host {
            let ring = self.record_beat(entry.link, entry.first_seen, t, entry.hosts);
            self.data.names.get_mut(name).link = ring;
            return;
        }
        if entry.hosts > 0
            && entry.solo == NONE
            && let Some(p) = self.find_pair(name, host)
        {
            let pair = *self.data.pairs.get(p);
            let ring = self.record_beat(pair.ring, pair.first_seen, t, entry.hosts);
            let pair = self.data.pairs.get_mut(p);
            pair.queries += 1;
            pair.last_seen = pair.last_seen.max(t);
            pair.ring = ring;
            return;
        }
        // A new host for this name.
        if self.pressure == Pressure::Full {
            self.data.names.get_mut(name).untracked += 1;
            self.data.totals.untracked_queries += 1;
            return;
        }
        if entry.hosts == 0 {
            let e = self.data.names.get_mut(name);
            e.solo = host;
            e.hosts = 1;
        } else {
            if entry.solo != NONE {
                // The second host: the solo host becomes a pair record.
                let first = PairEntry {
                    queries: entry.queries - u64::from(entry.untracked),
                    first_seen: entry.first_seen,
                    last_seen: entry.last_seen,
                    name,
                    host: entry.solo,
                    next: NONE,
                    ring: entry.link,
                };
                if !self.add_pair(first) {
                    return self.untracked(name);
                }
                let e = self.data.names.get_mut(name);
                e.solo = NONE;
            }
            let own = PairEntry {
                queries: 1,
                first_seen: t,
                last_seen: t,
                name,
                host,
                next: NONE,
                ring: NONE,
            };
            if !self.add_pair(own) {
                return self.untracked(name);
            }
            let e = self.data.names.get_mut(name);
            e.hosts += 1;
            if e.hosts == RING_MAX_HOSTS + 1 {
                self.release_rings(name);
            }
        }
        self.data.totals.pairs += 1;
        self.data.hosts.get_mut(host).names += 1;
        let domain = entry.domain;
        self.domain_host(domain, host, false);
    }

    pub(super) fn untracked(&mut self, name: u32) {
        self.data.names.get_mut(name).untracked += 1;
        self.data.totals.untracked_queries += 1;
    }

    /// Links `pair` into its name's list and the table; false when the
    /// budget has no room for it.
    pub(super) fn add_pair(&mut self, mut pair: PairEntry) -> bool {
        if self.data.pairs.is_full() && self.over_budget(Chunked::<PairEntry>::chunk_bytes()) {
            return false;
        }
        let e = self.data.names.get_mut(pair.name);
        pair.next = if e.solo == NONE { e.link } else { NONE };
        let key = pair_key(pair.name, pair.host);
        let index = self.data.pairs.push(pair);
        self.data.names.get_mut(pair.name).link = index;
        let d = &self.data;
        let h = &self.hasher;
        self.index
            .pairs
            .insert_unique(h.hash_one(key), index, |&j| {
                let p = d.pairs.get(j);
                h.hash_one(pair_key(p.name, p.host))
            });
        true
    }

    /// Counts a response to name `counted` (`None`: a name without an
    /// entry, never asked or folded).
    pub(super) fn count_response(
        &mut self,
        counted: Option<u32>,
        item: &Item,
        answer: Option<AnswerView<'_>>,
    ) {
        self.data.totals.responses += 1;
        let nx = item.rcode == 3;
        let Some(n) = counted else {
            self.data.totals.unmatched_responses += 1;
            return;
        };
        if let Some(answer) = answer {
            self.count_answer(n, answer);
        }
        let entry = self.data.names.get_mut(n);
        entry.responses += 1;
        entry.nxdomain += u32::from(nx);
        entry.failures = entry.failures.saturating_add(u16::from(item.rcode != 0));
        if !nx {
            return;
        }
        let hash = self.hasher.hash_one(item.host);
        let d = &self.data;
        if let Some(&h) = self
            .index
            .hosts
            .find(hash, |&i| d.hosts.get(i).addr == item.host)
        {
            self.data.hosts.get_mut(h).nxdomain += 1;
        }
    }

    /// Keeps what one response said about name `n`: its distinct
    /// addresses (the first [`KEPT_ADDRESSES`]), TTL range and last CNAME
    /// chain. At the memory limit a name not yet answered gets no entry.
    fn count_answer(&mut self, n: u32, answer: AnswerView<'_>) {
        if answer.summary.records == 0 {
            return;
        }
        // One probe for a name answered before (most responses).
        if let Some(entry) = self.data.answers.get_mut(&n) {
            self.answer_bytes += absorb(entry, answer);
            return;
        }
        if self.over_budget(size_of::<(u32, AnswerEntry)>() + 64 + answer.chain.len()) {
            return;
        }
        let mut entry = AnswerEntry::default();
        self.answer_bytes += absorb(&mut entry, answer);
        self.data.answers.insert(n, entry);
    }
}

/// Adds what one response with answer records said to `entry`; returns
/// the bytes it grew by.
fn absorb(entry: &mut AnswerEntry, answer: AnswerView<'_>) -> usize {
    let before = entry.bytes();
    let a = answer.summary;
    if entry.answered == 0 {
        entry.ttl_min = a.ttl_min;
    }
    entry.answered = entry.answered.saturating_add(1);
    entry.ttl_min = entry.ttl_min.min(a.ttl_min);
    entry.ttl_max = entry.ttl_max.max(a.ttl_max);
    let v4 = a.addresses().filter(IpAddr::is_ipv4).count() as u8;
    entry.max_v4_per_answer = entry.max_v4_per_answer.max(v4);
    entry.max_v6_per_answer = entry.max_v6_per_answer.max(a.addr_count - v4);
    for addr in &a.addrs[..usize::from(a.addr_count)] {
        if entry.addrs.contains(addr) {
            continue;
        }
        if entry.addrs.len() < KEPT_ADDRESSES {
            entry.addrs.push(*addr);
        } else {
            entry.more_addresses = true;
        }
    }
    if entry.chain != answer.chain {
        entry.chain.clear();
        entry.chain.push_str(answer.chain);
    }
    entry.bytes().saturating_sub(before)
}
