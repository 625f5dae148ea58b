//! One shard's counts: the names whose last two labels hash to it, with
//! their domains, the hosts that asked, and per (host, name) the recent
//! arrival times. Owned by one worker thread; nothing is shared or locked.
//!
//! Layout, chosen for bytes per name: names and domains live in one byte
//! [`Arena`](super::chunked::Arena); entries are plain records in [`Chunked`](super::chunked::Chunked) vectors, addressed by
//! `u32` indices; the hash tables ([`hashbrown::HashTable`]) hold only those
//! indices, so rebuilding them (after loading a snapshot) is cheap and the
//! vectors alone are the snapshot. A name asked by one host only — most
//! names, and the rare ones the hunt is about — keeps that host inline
//! ("solo") and needs no pair record; the second host materialises both
//! pairs. Since a shard owns whole registered domains, every per-domain
//! figure is exact and local.
//!
//! The work is split along its seams: [`records`] (the layout),
//! [`validate`] (checks before a snapshot is used), [`index`] (the hash
//! tables), [`count`] (counting an observation), [`ring`] (arrival times),
//! [`cache`] (quantized scores kept beside the counts) and [`reshard`]
//! (moving domains between shards, for older snapshots).
//!
//! Memory is bounded by [`Limits`]: a domain with more than `fold_names`
//! distinct names is "exploded": further new names under it are folded into
//! its aggregate row (queries and hosts still counted, the number of
//! distinct folded names estimated). Under the global budget see
//! [`Pressure`]: nothing already counted is ever evicted.

mod cache;
mod count;
mod index;
mod records;
pub mod reshard;
mod ring;
mod validate;

use std::{hash::BuildHasher, sync::Arc};

pub use records::{
    AnswerEntry, DomainEntry, Fold, HostEntry, KEPT_ADDRESSES, NameEntry, ShardData,
};
pub use ring::{RING_BEATS, RING_MAX_HOSTS};

use super::NameHasher;
use crate::{
    model::status::{Pressure, Totals},
    score::lists::Lists,
};
use cache::DomainFeatures;
use index::{Index, table_bytes};
use ring::NS_PER_DS;

/// "No entry" in a `u32` link.
const NONE: u32 = u32::MAX;

/// Memory limits of one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Distinct names per registered domain before new ones are folded.
    pub fold_names: u32,
    /// Bytes of state this shard may hold.
    pub budget_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fold_names: 10_000,
            budget_bytes: 1 << 30,
        }
    }
}

/// One host's queries for one name, as the views see it.
#[derive(Clone, Copy, Debug)]
pub struct PairView<'a> {
    /// The host.
    pub host: &'a HostEntry,
    /// Its queries for the name.
    pub queries: u64,
    /// First query.
    pub first_seen: u64,
    /// Last query.
    pub last_seen: u64,
    ring: u32,
}

impl PairView<'_> {
    /// Whether arrival times beyond the first are kept for this pair.
    pub fn has_ring(&self) -> bool {
        self.ring != NONE
    }
}

/// One shard's counting state.
pub struct ShardState {
    data: ShardData,
    index: Index,
    limits: Limits,
    pressure: Pressure,
    hasher: NameHasher,
    /// Lists the names are marked against.
    lists: Arc<Lists>,
    /// Names below this index have their lexical score and marks.
    scored_names: u32,
    /// What each domain's names share (its registrable label's lexical
    /// randomness, the lists' verdicts), indexed by domain, `None` until
    /// scored: shared by all the domain's names, so scored once per
    /// domain, not per name.
    domain_features: Vec<Option<DomainFeatures>>,
    /// Rings with beats newer than their cached beacon score.
    dirty_rings: Vec<u32>,
    /// Bytes the answers hold ([`AnswerEntry::bytes`], summed).
    answer_bytes: usize,
}

impl ShardState {
    /// An empty shard hashing with `hasher` (the producer's), marking
    /// names against `lists`.
    pub fn new(limits: Limits, hasher: NameHasher, lists: Arc<Lists>) -> Self {
        Self {
            data: ShardData::default(),
            index: Index::default(),
            limits,
            pressure: Pressure::Normal,
            hasher,
            lists,
            scored_names: 0,
            domain_features: Vec::new(),
            dirty_rings: Vec::new(),
            answer_bytes: 0,
        }
    }

    /// A shard holding `data` (from a snapshot); the tables are rebuilt and
    /// every name and ring is scored again (the lists may have changed).
    pub fn from_data(
        data: ShardData,
        limits: Limits,
        hasher: NameHasher,
        lists: Arc<Lists>,
    ) -> Self {
        let mut s = Self::new(limits, hasher, lists);
        s.answer_bytes = data.answers.values().map(AnswerEntry::bytes).sum();
        s.data = data;
        s.rebuild_index();
        s.update_pressure();
        let rings = s.data.rings.len() as u32;
        for r in 0..rings {
            s.data.rings.get_mut(r).scored = false;
        }
        s.dirty_rings = (0..rings).collect();
        s
    }

    /// The counted data (for snapshots).
    pub fn data(&self) -> &ShardData {
        &self.data
    }

    /// What the resolver answered for name `i`, if anything was read.
    pub fn answers(&self, i: u32) -> Option<&AnswerEntry> {
        self.data.answers.get(&i)
    }

    /// The lists names are marked against.
    pub fn lists(&self) -> &Lists {
        &self.lists
    }

    /// This shard's budget in bytes.
    pub fn budget_bytes(&self) -> usize {
        self.limits.budget_bytes
    }

    /// Current pressure.
    pub fn pressure(&self) -> Pressure {
        self.pressure
    }

    /// Bytes of state held: every chunk's and table's allocation.
    pub fn memory_bytes(&self) -> usize {
        let d = &self.data;
        let i = &self.index;
        d.arena.bytes()
            + d.names.bytes()
            + d.pairs.bytes()
            + d.domains.bytes()
            + d.hosts.bytes()
            + d.domain_hosts.bytes()
            + d.rings.bytes()
            + d.free_rings.capacity() * size_of::<u32>()
            + d.folds
                .iter()
                .map(|f| size_of::<Fold>() + f.names.bytes())
                .sum::<usize>()
            + d.overflow.names.bytes()
            + self.domain_features.capacity() * size_of::<Option<DomainFeatures>>()
            + self.answer_bytes
            + table_bytes(&i.names)
            + table_bytes(&i.domains)
            + table_bytes(&i.hosts)
            + table_bytes(&i.pairs)
            + table_bytes(&i.domain_hosts)
    }

    /// Re-evaluates the pressure level; called after every batch. Full is
    /// final: nothing is ever freed back to the budget.
    pub fn update_pressure(&mut self) {
        if self.pressure == Pressure::Full {
            return;
        }
        let used = self.memory_bytes();
        let budget = self.limits.budget_bytes;
        self.pressure = if used >= budget {
            Pressure::Full
        } else if used >= budget / 10 * 9 {
            Pressure::Tight
        } else {
            Pressure::Normal
        };
    }

    /// Whether allocating `bytes` more would pass the budget; re-evaluates
    /// the pressure when so, so that nothing grows past it.
    fn over_budget(&mut self, bytes: usize) -> bool {
        if self.memory_bytes() + bytes <= self.limits.budget_bytes {
            return false;
        }
        self.pressure = Pressure::Full;
        true
    }

    // ----- reading -----

    /// Number of names counted in detail.
    pub fn name_count(&self) -> usize {
        self.data.names.len()
    }

    /// Every name entry, with its index.
    pub fn names(&self) -> impl Iterator<Item = (u32, &NameEntry)> {
        self.data
            .names
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u32, e))
    }

    /// The text of name `i`.
    pub fn name_text(&self, i: u32) -> &str {
        std::str::from_utf8(self.name_bytes(i)).unwrap_or("")
    }

    /// The bytes of name `i`'s text, unchecked (for what reads a part of
    /// it only).
    pub fn name_bytes(&self, i: u32) -> &[u8] {
        self.data.arena.get(self.data.names.get(i).name)
    }

    /// Name `i`'s entry.
    pub fn name(&self, i: u32) -> &NameEntry {
        self.data.names.get(i)
    }

    /// Index of the name with this text, if counted in detail.
    pub fn lookup_name(&self, name: &str) -> Option<u32> {
        self.find_name(self.hasher.hash_one(name.as_bytes()), name.as_bytes())
    }

    /// Domain `i`'s entry.
    pub fn domain_entry(&self, i: u32) -> &DomainEntry {
        self.data.domains.get(i)
    }

    /// The text of domain `i`.
    pub fn domain_text(&self, i: u32) -> &str {
        std::str::from_utf8(self.data.arena.get(self.data.domains.get(i).name)).unwrap_or("")
    }

    /// How many domains are counted (their indices are `0..` this).
    pub fn domain_count(&self) -> usize {
        self.data.domains.len()
    }

    /// Every domain, with its index.
    pub fn domains(&self) -> impl Iterator<Item = (u32, &DomainEntry)> {
        self.data
            .domains
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u32, e))
    }

    /// The fold of domain `i`, if it exploded.
    pub fn domain_fold(&self, i: u32) -> Option<&Fold> {
        let f = self.data.domains.get(i).fold;
        (f != NONE).then(|| &self.data.folds[f as usize])
    }

    /// Index of the domain with this text.
    pub fn lookup_domain(&self, domain: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(domain.as_bytes());
        let d = &self.data;
        self.index
            .domains
            .find(hash, |&i| {
                d.arena.get(d.domains.get(i).name) == domain.as_bytes()
            })
            .copied()
    }

    /// The hosts that asked for folded names under domain `i`, with their
    /// folded queries.
    pub fn folded_hosts(&self, i: u32) -> Vec<(&HostEntry, u64)> {
        self.data
            .domain_hosts
            .iter()
            .filter(|dh| dh.domain == i && dh.folded_queries > 0)
            .map(|dh| (self.data.hosts.get(dh.host), dh.folded_queries))
            .collect()
    }

    /// Every fold (exploded domains), and the overflow if it counted any.
    pub fn folds(&self) -> impl Iterator<Item = &Fold> {
        self.data
            .folds
            .iter()
            .chain((self.data.overflow.queries > 0).then_some(&self.data.overflow))
    }

    /// The hosts of name `i` with their queries for it.
    pub fn name_pairs(&self, i: u32) -> impl Iterator<Item = PairView<'_>> {
        let e = self.data.names.get(i);
        let solo = (e.solo != NONE).then(|| PairView {
            host: self.data.hosts.get(e.solo),
            queries: e.queries - u64::from(e.untracked),
            first_seen: e.first_seen,
            last_seen: e.last_seen,
            ring: e.link,
        });
        let mut next = if e.solo == NONE { e.link } else { NONE };
        solo.into_iter().chain(std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let p = self.data.pairs.get(next);
            next = p.next;
            Some(PairView {
                host: self.data.hosts.get(p.host),
                queries: p.queries,
                first_seen: p.first_seen,
                last_seen: p.last_seen,
                ring: p.ring,
            })
        }))
    }

    /// Whether any pair of name `i` may hold an arrival ring (false for a
    /// name asked by one host without one: most names).
    pub fn may_have_rings(&self, i: u32) -> bool {
        let e = self.data.names.get(i);
        e.solo == NONE || e.link != NONE
    }

    /// The cached beacon evidence of a pair (bits, and whether its period
    /// is short enough to be a retry loop), if its ring is scored.
    pub fn cached_beacon(&self, pair: &PairView<'_>) -> Option<(f32, bool)> {
        if pair.ring == NONE {
            return None;
        }
        let ring = self.data.rings.get(pair.ring);
        ring.scored.then(|| {
            (
                f32::from(ring.beacon) / cache::BEACON_BITS_SCALE,
                ring.short_period,
            )
        })
    }

    /// The kept arrival times of a pair, oldest first, ns since the epoch.
    pub fn arrivals(&self, pair: &PairView<'_>) -> Vec<u64> {
        if pair.ring == NONE {
            return vec![pair.first_seen];
        }
        self.data
            .rings
            .get(pair.ring)
            .in_order()
            .map(|ds| pair.first_seen + u64::from(ds) * NS_PER_DS)
            .collect()
    }

    /// Every host this shard saw.
    pub fn hosts(&self) -> impl Iterator<Item = &HostEntry> {
        self.data.hosts.iter()
    }

    /// The domain text of a fold ("" for the overflow row).
    pub fn fold_domain(&self, fold: &Fold) -> &str {
        if fold.domain == NONE {
            ""
        } else {
            self.domain_text(fold.domain)
        }
    }

    /// Totals.
    pub fn totals(&self) -> Totals {
        self.data.totals
    }

    /// Distinct (host, name) pairs.
    pub fn pair_count(&self) -> usize {
        self.data.totals.pairs as usize
    }

    /// Arrival rings in use.
    pub fn ring_count(&self) -> usize {
        self.data.rings.len() - self.data.free_rings.len()
    }
}

#[cfg(test)]
mod tests {
    use capture_common::EventKind;

    use super::*;
    use crate::engine::batch::Item;

    pub(crate) fn hasher() -> foldhash::fast::FixedState {
        foldhash::fast::FixedState::with_seed(1)
    }

    fn lists() -> Arc<Lists> {
        Arc::new(Lists::embedded())
    }

    fn item(s: &ShardState, name: &str, host: &str, t_s: u64, kind: EventKind) -> Item {
        Item::for_test(&s.hasher, name, host, t_s * 1_000_000_000, kind, 1, 0)
    }

    /// What the engine built passes the snapshot loader's checks.
    fn assert_valid(s: &ShardState) {
        assert_eq!(s.data().validate(), Ok(()));
    }

    fn query(s: &mut ShardState, name: &str, host: &str, t_s: u64) {
        let i = item(s, name, host, t_s, EventKind::Query);
        s.count(&i, name.as_bytes(), None);
    }

    #[test]
    fn names_domains_hosts_and_pairs_are_exact() {
        let mut s = ShardState::new(Limits::default(), hasher(), lists());
        query(&mut s, "a.example.com", "10.0.0.1", 10);
        query(&mut s, "a.example.com", "10.0.0.1", 30);
        query(&mut s, "a.example.com", "10.0.0.2", 20);
        query(&mut s, "b.example.com", "10.0.0.3", 5);
        let a = s.lookup_name("a.example.com").expect("counted");
        let e = s.name(a);
        assert_eq!(
            (e.queries, e.hosts, e.first_seen, e.last_seen),
            (3, 2, 10_000_000_000, 30_000_000_000)
        );
        let d = s.lookup_domain("example.com").expect("domain");
        let de = s.domain_entry(d);
        assert_eq!((de.names, de.hosts, de.queries), (2, 3, 4));
        assert_eq!(s.pair_count(), 3);
        let hosts: Vec<_> = s
            .hosts()
            .map(|h| (h.addr.to_string(), h.queries, h.names))
            .collect();
        assert_eq!(
            hosts,
            [
                ("10.0.0.1".into(), 2, 1),
                ("10.0.0.2".into(), 1, 1),
                ("10.0.0.3".into(), 1, 1)
            ]
        );
        assert_eq!(s.totals().queries, 4);
        assert_valid(&s);
    }

    #[test]
    fn arrival_ring_keeps_beats_a_second_apart_and_the_last_64() {
        let mut s = ShardState::new(Limits::default(), hasher(), lists());
        for k in 0..100 {
            query(&mut s, "c2.example.net", "10.0.0.9", 1000 + k * 60);
            // A retry within the second is not a beat.
            query(&mut s, "c2.example.net", "10.0.0.9", 1000 + k * 60);
        }
        let n = s.lookup_name("c2.example.net").expect("counted");
        let pair = s.name_pairs(n).next().expect("pair");
        assert_eq!(pair.queries, 200);
        let arrivals = s.arrivals(&pair);
        assert_eq!(arrivals.len(), RING_BEATS);
        let expected: Vec<u64> = (36..100).map(|k| (1000 + k * 60) * 1_000_000_000).collect();
        assert_eq!(arrivals, expected);
    }

    #[test]
    fn popular_names_give_their_rings_back() {
        let mut s = ShardState::new(Limits::default(), hasher(), lists());
        for round in 0..2 {
            for h in 0..RING_MAX_HOSTS {
                query(
                    &mut s,
                    "popular.example",
                    &format!("10.0.1.{h}"),
                    100 + round * 60,
                );
            }
        }
        assert_eq!(s.ring_count(), RING_MAX_HOSTS as usize);
        query(&mut s, "popular.example", "10.0.2.1", 500);
        assert_eq!(s.ring_count(), 0);
        // Freed rings are reused by rare names.
        query(&mut s, "rare.example", "10.0.0.1", 1);
        query(&mut s, "rare.example", "10.0.0.1", 100);
        assert_eq!(s.ring_count(), 1);
        let n = s.lookup_name("rare.example").expect("counted");
        let pair = s.name_pairs(n).next().expect("pair");
        assert_eq!(s.arrivals(&pair), [1_000_000_000, 100_000_000_000]);
        assert_valid(&s);
    }

    #[test]
    fn exploded_domain_folds_new_names_and_keeps_counting() {
        let limits = Limits {
            fold_names: 3,
            ..Limits::default()
        };
        let mut s = ShardState::new(limits, hasher(), lists());
        for i in 0..10 {
            query(&mut s, &format!("n{i}.flood.example"), "10.0.0.1", i);
        }
        query(&mut s, "n0.flood.example", "10.0.0.2", 20);
        let d = s.lookup_domain("flood.example").expect("domain");
        let de = *s.domain_entry(d);
        assert_eq!((de.names, de.queries, de.hosts), (3, 11, 2));
        let fold = s.domain_fold(d).expect("folded");
        assert_eq!(fold.queries, 7);
        assert_eq!(fold.names.estimate(), 7);
        assert!(!fold.by_memory);
        // Names counted before the limit stay exact.
        assert_eq!(
            s.name(s.lookup_name("n0.flood.example").expect("kept"))
                .queries,
            2
        );
        assert!(s.lookup_name("n5.flood.example").is_none());
        assert_eq!(s.totals().folded_queries, 7);
        assert_valid(&s);
    }

    #[test]
    fn full_budget_keeps_known_names_exact_and_folds_the_rest() {
        let limits = Limits {
            fold_names: 1_000_000,
            budget_bytes: 1 << 20,
        };
        let mut s = ShardState::new(limits, hasher(), lists());
        query(&mut s, "rare.example.org", "10.0.0.1", 1);
        let mut i = 0u64;
        while s.pressure() != Pressure::Full {
            query(&mut s, &format!("u{i}.d{i}.example"), "10.0.0.2", 2);
            s.update_pressure();
            i += 1;
        }
        let names_before = s.name_count();
        let by_memory =
            |s: &ShardState| -> u64 { s.folds().filter(|f| f.by_memory).map(|f| f.queries).sum() };
        let folded_before = by_memory(&s);
        for k in 0..1000 {
            query(&mut s, &format!("late{k}.d{k}.example"), "10.0.0.3", 3);
            query(&mut s, "rare.example.org", "10.0.0.1", 4);
            query(&mut s, "rare.example.org", "10.0.0.4", 4);
        }
        assert_eq!(s.name_count(), names_before, "no new names when full");
        let rare = s.name(s.lookup_name("rare.example.org").expect("kept"));
        assert_eq!(rare.queries, 2001);
        assert_eq!(rare.hosts, 1);
        assert_eq!(rare.untracked, 1000);
        assert_eq!(by_memory(&s) - folded_before, 1000);
        assert!(s.memory_bytes() <= limits.budget_bytes);
        assert_valid(&s);
    }

    #[test]
    fn responses_count_nxdomain_per_name_and_host() {
        let mut s = ShardState::new(Limits::default(), hasher(), lists());
        query(&mut s, "dga1.example", "10.0.0.1", 1);
        let mut r = item(&s, "dga1.example", "10.0.0.1", 1, EventKind::Response);
        r.rcode = 3;
        s.count(&r, b"dga1.example", None);
        let mut stray = item(&s, "other.example", "10.0.0.1", 1, EventKind::Response);
        stray.rcode = 3;
        s.count(&stray, b"other.example", None);
        let n = s.lookup_name("dga1.example").expect("counted");
        assert_eq!(s.name(n).nxdomain, 1);
        assert_eq!(s.hosts().next().expect("host").nxdomain, 1);
        assert_eq!(s.totals().unmatched_responses, 1);
        assert_valid(&s);
    }

    #[test]
    fn rebuilt_index_finds_everything() {
        let mut s = ShardState::new(Limits::default(), hasher(), lists());
        for i in 0..500 {
            query(&mut s, &format!("h{i}.example.com"), "10.0.0.1", i);
        }
        let copy = ShardState::from_data(s.data().clone(), Limits::default(), hasher(), lists());
        for i in 0..500 {
            let n = copy
                .lookup_name(&format!("h{i}.example.com"))
                .expect("found");
            assert_eq!(copy.name(n).queries, 1);
        }
        let mut copy = copy;
        query(&mut copy, "h1.example.com", "10.0.0.1", 9);
        assert_eq!(
            copy.name(copy.lookup_name("h1.example.com").expect("found"))
                .queries,
            2
        );
        assert_valid(&copy);
    }
}
