//! One shard's counts: the names whose registered domain hashes to it, with
//! their domains, the hosts that asked, and per (host, name) the recent
//! arrival times. Owned by one worker thread; nothing is shared or locked.
//!
//! Layout, chosen for bytes per name: names and domains live in one byte
//! [`Arena`]; entries are plain records in [`Chunked`] vectors, addressed by
//! `u32` indices; the hash tables ([`hashbrown::HashTable`]) hold only those
//! indices, so rebuilding them (after loading a snapshot) is cheap and the
//! vectors alone are the snapshot. A name asked by one host only — most
//! names, and the rare ones the hunt is about — keeps that host inline
//! ("solo") and needs no pair record; the second host materialises both
//! pairs. Since a shard owns whole registered domains, every per-domain
//! figure is exact and local.
//!
//! Memory is bounded by [`Limits`]: a domain with more than `fold_names`
//! distinct names is "exploded": further new names under it are folded into
//! its aggregate row (queries and hosts still counted, the number of
//! distinct folded names estimated). Under the global budget see
//! [`Pressure`]: nothing already counted is ever evicted.

use std::{hash::BuildHasher, sync::Arc};

use capture_common::{EventKind, qtype};
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

use super::{
    NameHasher,
    batch::Item,
    chunked::{Arena, Chunked},
    hll::Hll,
};
use crate::{
    model::{
        host::HostAddr,
        status::{Pressure, Totals},
    },
    score::{
        beacon,
        combine::{has_long_label, marks},
        lexical::LexicalModel,
        lists::{ListKind, Lists},
    },
};

/// "No entry" in a `u32` link.
const NONE: u32 = u32::MAX;
/// Arrival times kept per (host, name).
pub const RING_BEATS: usize = 64;
/// Names asked by more hosts than this keep no arrival rings: beacon
/// scoring is for rare names, and a name everyone asks would otherwise hold
/// a ring per host.
pub const RING_MAX_HOSTS: u32 = 32;
/// Arrivals closer than this to the previous kept one are the same beat
/// (retries, A + AAAA pairs); in ring units (100 ms).
const BEAT_GAP_DS: u32 = 10;
const NS_PER_DS: u64 = 100_000_000;

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

/// What a shard knows about one name (64 bytes).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct NameEntry {
    /// Queries.
    pub queries: u64,
    /// First query, ns since the epoch.
    pub first_seen: u64,
    /// Last query.
    pub last_seen: u64,
    /// Arena offset of the text.
    name: u32,
    /// Index of its registered domain.
    pub domain: u32,
    /// Distinct hosts tracked.
    pub hosts: u32,
    /// The one host that asked, while only one did (else `NONE`).
    solo: u32,
    /// The solo host's arrival ring, or the first materialised pair.
    link: u32,
    /// NXDOMAIN answers seen.
    pub nxdomain: u32,
    /// Responses seen.
    pub responses: u32,
    /// Queries from hosts not tracked because the shard was full.
    pub untracked: u32,
    /// Query types seen ([`qtype::bit`]).
    pub qtypes: u16,
    /// Cached lexical randomness, quantized to 0..=255 (valid once
    /// `marks` has [`marks::SCORED`]).
    pub lexical: u8,
    /// List matches and shape ([`marks`]); 0 until scored.
    pub marks: u8,
}

/// One host's queries for one name, once the name has two hosts or more.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct PairEntry {
    queries: u64,
    first_seen: u64,
    last_seen: u64,
    name: u32,
    host: u32,
    next: u32,
    ring: u32,
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

/// A registered domain.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct DomainEntry {
    /// Queries for any name under it (folded ones included).
    pub queries: u64,
    /// First query.
    pub first_seen: u64,
    /// Last query.
    pub last_seen: u64,
    name: u32,
    /// Distinct names counted in detail.
    pub names: u32,
    /// Distinct hosts that asked for any name under it.
    pub hosts: u32,
    fold: u32,
}

/// A host, as this shard saw it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct HostEntry {
    /// Its address.
    pub addr: HostAddr,
    /// Queries (this shard's domains only).
    pub queries: u64,
    /// Distinct names it asked (in detail).
    pub names: u32,
    /// NXDOMAIN answers it got.
    pub nxdomain: u32,
}

/// A host that asked for some name under a domain, with its queries for
/// the domain's folded names.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct DomainHost {
    folded_queries: u64,
    domain: u32,
    host: u32,
}

/// Arrival times of one (host, name): deciseconds since the pair's first
/// query, oldest overwritten first.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Ring {
    // Two halves: serde arrays stop at 32 elements.
    beats: [[u32; RING_BEATS / 2]; 2],
    used: u8,
    next: u8,
    /// Cached beacon score, quantized to 0..=255 (0 also when fewer beats
    /// than a score needs); valid while `scored`.
    beacon: u8,
    /// Whether `beacon` is up to date with the beats.
    scored: bool,
}

impl Ring {
    const EMPTY: Self = Self {
        beats: [[0; RING_BEATS / 2]; 2],
        used: 0,
        next: 0,
        beacon: 0,
        scored: false,
    };

    fn slot(&self, i: usize) -> u32 {
        self.beats[i / (RING_BEATS / 2)][i % (RING_BEATS / 2)]
    }

    fn last(&self) -> Option<u32> {
        (self.used > 0).then(|| self.slot((usize::from(self.next) + RING_BEATS - 1) % RING_BEATS))
    }

    fn push(&mut self, beat: u32) {
        let i = usize::from(self.next);
        self.beats[i / (RING_BEATS / 2)][i % (RING_BEATS / 2)] = beat;
        self.next = ((i + 1) % RING_BEATS) as u8;
        self.used = (usize::from(self.used) + 1).min(RING_BEATS) as u8;
    }

    fn in_order(&self) -> impl Iterator<Item = u32> + '_ {
        let used = usize::from(self.used);
        let start = (usize::from(self.next) + RING_BEATS - used) % RING_BEATS;
        (0..used).map(move |k| self.slot((start + k) % RING_BEATS))
    }
}

/// The aggregate row of an exploded domain (or of the overflow).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Fold {
    /// The domain, or `NONE` for the overflow row.
    pub domain: u32,
    /// Queries for folded names.
    pub queries: u64,
    /// Estimate of the distinct folded names.
    pub names: Hll,
    /// First folded query.
    pub first_seen: u64,
    /// Last folded query.
    pub last_seen: u64,
    /// Why it folds: the domain's name limit (false) or memory (true).
    pub by_memory: bool,
}

/// Everything a shard counts; this is also what a snapshot holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ShardData {
    arena: Arena,
    names: Chunked<NameEntry>,
    pairs: Chunked<PairEntry>,
    domains: Chunked<DomainEntry>,
    hosts: Chunked<HostEntry>,
    domain_hosts: Chunked<DomainHost>,
    rings: Chunked<Ring>,
    free_rings: Vec<u32>,
    folds: Vec<Fold>,
    overflow: Fold,
    totals: Totals,
}

impl ShardData {
    /// Names counted in detail.
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// Checks every offset and index inside, and that every pair list ends
    /// and is its name's own: what a snapshot holds is only used once it
    /// passes (a checksum catches damage, not a hostile or buggy writer).
    pub fn validate(&self) -> Result<(), String> {
        let in_range = |i: u32, len: usize, what: &str| -> Result<(), String> {
            if (i as usize) < len {
                Ok(())
            } else {
                Err(format!("{what} {i} is out of range ({len})"))
            }
        };
        let link = |i: u32, len: usize, what: &str| {
            if i == NONE {
                Ok(())
            } else {
                in_range(i, len, what)
            }
        };
        let (names, pairs, domains, hosts, rings, folds) = (
            self.names.len(),
            self.pairs.len(),
            self.domains.len(),
            self.hosts.len(),
            self.rings.len(),
            self.folds.len(),
        );
        for d in self.domains.iter() {
            self.arena
                .checked_get(d.name)
                .ok_or_else(|| format!("domain text at {} is out of range", d.name))?;
            link(d.fold, folds, "fold")?;
        }
        let mut seen = vec![false; pairs];
        for (i, e) in self.names.iter().enumerate() {
            self.arena
                .checked_get(e.name)
                .ok_or_else(|| format!("name text at {} is out of range", e.name))?;
            in_range(e.domain, domains, "domain")?;
            if e.untracked as u64 > e.queries {
                return Err(format!("name {i} has more untracked queries than queries"));
            }
            // The link is a ring for a name with a solo host and a pair list
            // otherwise; the host count says which, so it must agree.
            if e.solo != NONE {
                in_range(e.solo, hosts, "host")?;
                link(e.link, rings, "ring")?;
                if e.hosts != 1 {
                    return Err(format!("name {i} has a solo host but {} hosts", e.hosts));
                }
                continue;
            }
            // Each pair belongs to one list, once: no cycles, no sharing.
            let mut next = e.link;
            let mut listed = 0u64;
            while next != NONE {
                listed += 1;
                in_range(next, pairs, "pair")?;
                let slot = &mut seen[next as usize];
                if *slot {
                    return Err(format!("pair {next} is linked twice"));
                }
                *slot = true;
                let p = self.pairs.get(next);
                if p.name as usize != i {
                    return Err(format!("pair {next} is in the list of another name"));
                }
                next = p.next;
            }
            if listed != u64::from(e.hosts) {
                return Err(format!(
                    "name {i} has {} hosts but {listed} pair records",
                    e.hosts
                ));
            }
        }
        for p in self.pairs.iter() {
            in_range(p.name, names, "name")?;
            in_range(p.host, hosts, "host")?;
            link(p.ring, rings, "ring")?;
        }
        for dh in self.domain_hosts.iter() {
            in_range(dh.domain, domains, "domain")?;
            in_range(dh.host, hosts, "host")?;
        }
        for r in self.rings.iter() {
            if usize::from(r.used) > RING_BEATS || usize::from(r.next) >= RING_BEATS {
                return Err("an arrival ring's position is out of range".into());
            }
        }
        for &r in &self.free_rings {
            in_range(r, rings, "free ring")?;
        }
        if self.free_rings.len() > rings {
            return Err("more free rings than rings".into());
        }
        for f in &self.folds {
            link(f.domain, domains, "fold domain")?;
            if !f.names.is_valid() {
                return Err("a fold's distinct-name sketch has the wrong size".into());
            }
        }
        if !self.overflow.names.is_valid() {
            return Err("the overflow sketch has the wrong size".into());
        }
        // The row is only shown once it has counted (it takes NONE then).
        if self.overflow.queries > 0 && self.overflow.domain != NONE {
            return Err("the overflow row names a domain".into());
        }
        Ok(())
    }
}

/// The lookup tables over [`ShardData`]; rebuilt from it on load.
#[derive(Default)]
struct Index {
    names: HashTable<u32>,
    domains: HashTable<u32>,
    hosts: HashTable<u32>,
    pairs: HashTable<u32>,
    domain_hosts: HashTable<u32>,
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
    /// Rings with beats newer than their cached beacon score.
    dirty_rings: Vec<u32>,
}

fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Bytes a hashbrown table of `u32` indices holds: a slot and a control
/// byte per bucket.
fn table_bytes(t: &HashTable<u32>) -> usize {
    if t.capacity() == 0 {
        return 0;
    }
    (t.capacity() * 8 / 7).next_power_of_two() * (size_of::<u32>() + 1)
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
            dirty_rings: Vec::new(),
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

    /// Scores up to `budget` names and dirty rings not scored yet (lexical
    /// randomness and list marks per name, beacon score per ring); returns
    /// whether work remains. The shard calls this when it is idle, and
    /// before answering a scored report.
    pub fn refresh_scores(&mut self, mut budget: usize) -> bool {
        let model = LexicalModel::embedded();
        while budget > 0 && (self.scored_names as usize) < self.data.names.len() {
            let i = self.scored_names;
            self.scored_names += 1;
            budget -= 1;
            let (lexical, marks) = self.name_features(i, model);
            let e = self.data.names.get_mut(i);
            e.lexical = lexical;
            e.marks = marks;
        }
        while budget > 0 {
            let Some(r) = self.dirty_rings.pop() else {
                break;
            };
            budget -= 1;
            let ring = self.data.rings.get(r);
            if ring.scored {
                continue;
            }
            let arrivals: Vec<u64> = ring
                .in_order()
                .map(|ds| u64::from(ds) * NS_PER_DS)
                .collect();
            let score = beacon::score(&arrivals).map_or(0.0, |b| b.score);
            let ring = self.data.rings.get_mut(r);
            ring.beacon = (score.clamp(0.0, 1.0) * 255.0).round() as u8;
            ring.scored = true;
        }
        (self.scored_names as usize) < self.data.names.len() || !self.dirty_rings.is_empty()
    }

    /// Lexical randomness (quantized) and list marks of name `i`.
    fn name_features(&self, i: u32, model: &LexicalModel) -> (u8, u8) {
        let e = self.data.names.get(i);
        let name = std::str::from_utf8(self.data.arena.get(e.name)).unwrap_or("");
        let domain = std::str::from_utf8(self.data.arena.get(self.data.domains.get(e.domain).name))
            .unwrap_or("");
        // The labels left of the public suffix: the registrable label and
        // any below it; the more random of the two counts.
        let label = domain.split('.').next().unwrap_or("");
        let sub = name
            .strip_suffix(domain)
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or("");
        let mut randomness = model.score(label).randomness;
        if !sub.is_empty() {
            randomness = randomness.max(model.score(sub).randomness);
        }
        let mut m = marks::SCORED;
        for (kind, bit) in [
            (ListKind::CdnCloud, marks::CDN),
            (ListKind::DynamicDns, marks::DYNAMIC_DNS),
            (ListKind::IpLookup, marks::IP_LOOKUP),
            (ListKind::Watch, marks::WATCH),
        ] {
            if self.lists.get(kind).matching(name).is_some() {
                m |= bit;
            }
        }
        if has_long_label(name) {
            m |= marks::LONG_LABEL;
        }
        ((randomness.clamp(0.0, 1.0) * 255.0).round() as u8, m)
    }

    fn rebuild_index(&mut self) {
        let d = &self.data;
        let h = &self.hasher;
        let mut index = Index {
            names: HashTable::with_capacity(d.names.len()),
            domains: HashTable::with_capacity(d.domains.len()),
            hosts: HashTable::with_capacity(d.hosts.len()),
            pairs: HashTable::with_capacity(d.pairs.len()),
            domain_hosts: HashTable::with_capacity(d.domain_hosts.len()),
        };
        for (i, e) in d.names.iter().enumerate() {
            index
                .names
                .insert_unique(h.hash_one(d.arena.get(e.name)), i as u32, |&j| {
                    h.hash_one(d.arena.get(d.names.get(j).name))
                });
        }
        for (i, e) in d.domains.iter().enumerate() {
            index
                .domains
                .insert_unique(h.hash_one(d.arena.get(e.name)), i as u32, |&j| {
                    h.hash_one(d.arena.get(d.domains.get(j).name))
                });
        }
        for (i, e) in d.hosts.iter().enumerate() {
            index
                .hosts
                .insert_unique(h.hash_one(e.addr), i as u32, |&j| {
                    h.hash_one(d.hosts.get(j).addr)
                });
        }
        for (i, e) in d.pairs.iter().enumerate() {
            index
                .pairs
                .insert_unique(h.hash_one(pair_key(e.name, e.host)), i as u32, |&j| {
                    let p = d.pairs.get(j);
                    h.hash_one(pair_key(p.name, p.host))
                });
        }
        for (i, e) in d.domain_hosts.iter().enumerate() {
            index.domain_hosts.insert_unique(
                h.hash_one(pair_key(e.domain, e.host)),
                i as u32,
                |&j| {
                    let p = d.domain_hosts.get(j);
                    h.hash_one(pair_key(p.domain, p.host))
                },
            );
        }
        self.index = index;
    }

    /// The counted data (for snapshots).
    pub fn data(&self) -> &ShardData {
        &self.data
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

    /// Counts one observation; `name` is its name, `item` the rest.
    pub fn count(&mut self, item: &Item, name: &[u8]) {
        match item.kind {
            EventKind::Query => self.count_query(item, name),
            EventKind::Response => self.count_response(item, name),
        }
    }

    fn find_name(&self, hash: u64, name: &[u8]) -> Option<u32> {
        let d = &self.data;
        self.index
            .names
            .find(hash, |&i| d.arena.get(d.names.get(i).name) == name)
            .copied()
    }

    fn count_query(&mut self, item: &Item, name: &[u8]) {
        let t = item.time_ns;
        self.data.totals.queries += 1;
        let host = self.host(item.host);
        let name_index = match self.find_name(item.name_hash, name) {
            Some(i) => i,
            None => {
                let domain_name = &name[usize::from(item.domain_offset)..];
                match self.admit_name(item, name, domain_name, host) {
                    Some(i) => i,
                    None => return,
                }
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
    }

    /// Creates the entry for a new name; `None` when the query was folded
    /// into an aggregate instead (and is fully counted).
    fn admit_name(
        &mut self,
        item: &Item,
        name: &[u8],
        domain_name: &[u8],
        host: Option<u32>,
    ) -> Option<u32> {
        let t = item.time_ns;
        let domain = self.domain(item.domain_hash, domain_name, t);
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
            untracked: 0,
            qtypes: 0,
            lexical: 0,
            marks: 0,
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
    fn fold(&mut self, domain: Option<u32>, item: &Item, by_memory: bool) {
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

    fn domain(&mut self, hash: u64, name: &[u8], t: u64) -> Option<u32> {
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

    fn host(&mut self, addr: HostAddr) -> Option<u32> {
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
    fn touch_domain(&mut self, domain: u32, t: u64) {
        let e = self.data.domains.get_mut(domain);
        e.queries += 1;
        e.first_seen = e.first_seen.min(t);
        e.last_seen = e.last_seen.max(t);
    }

    /// Records that `host` asked for a name under `domain` (counting it
    /// among the domain's distinct hosts the first time), and one folded
    /// query from it when `folded`. Called when a (host, name) association
    /// is created and for folded queries, not on every query.
    fn domain_host(&mut self, domain: u32, host: u32, folded: bool) {
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

    fn find_pair(&self, name: u32, host: u32) -> Option<u32> {
        let key = pair_key(name, host);
        let d = &self.data;
        self.index
            .pairs
            .find(self.hasher.hash_one(key), |&i| {
                let p = d.pairs.get(i);
                pair_key(p.name, p.host) == key
            })
            .copied()
    }

    /// Counts a query of `host` for `name` at `t`, before the name's own
    /// counts are updated.
    fn count_pair(&mut self, name: u32, host: u32, t: u64) {
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

    fn untracked(&mut self, name: u32) {
        self.data.names.get_mut(name).untracked += 1;
        self.data.totals.untracked_queries += 1;
    }

    /// Links `pair` into its name's list and the table; false when the
    /// budget has no room for it.
    fn add_pair(&mut self, mut pair: PairEntry) -> bool {
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

    /// Frees the arrival rings of every pair of `name` (it became popular).
    fn release_rings(&mut self, name: u32) {
        let mut next = self.data.names.get(name).link;
        while next != NONE {
            let pair = self.data.pairs.get_mut(next);
            if pair.ring != NONE {
                self.data.free_rings.push(pair.ring);
                pair.ring = NONE;
            }
            next = pair.next;
        }
    }

    /// Keeps arrival `t` in `ring` (of a pair first seen at `first`, of a
    /// name with `hosts` hosts) unless it is within a second of the last
    /// kept beat; returns the ring, allocated if need be, or `NONE`.
    fn record_beat(&mut self, ring: u32, first: u64, t: u64, hosts: u32) -> u32 {
        let offset = (t.saturating_sub(first) / NS_PER_DS).min(u64::from(u32::MAX)) as u32;
        if ring != NONE {
            let r = self.data.rings.get_mut(ring);
            if r.last()
                .is_none_or(|last| offset.saturating_sub(last) >= BEAT_GAP_DS)
            {
                r.push(offset);
                if r.scored {
                    r.scored = false;
                    self.dirty_rings.push(ring);
                }
            }
            return ring;
        }
        if offset < BEAT_GAP_DS || self.pressure != Pressure::Normal || hosts > RING_MAX_HOSTS {
            return NONE;
        }
        let ring = match self.data.free_rings.pop() {
            Some(r) => {
                *self.data.rings.get_mut(r) = Ring::EMPTY;
                r
            }
            None => {
                if self.data.rings.is_full() && self.over_budget(Chunked::<Ring>::chunk_bytes()) {
                    return NONE;
                }
                self.data.rings.push(Ring::EMPTY)
            }
        };
        let r = self.data.rings.get_mut(ring);
        // The first query is beat zero.
        r.push(0);
        r.push(offset);
        self.dirty_rings.push(ring);
        ring
    }

    fn count_response(&mut self, item: &Item, name: &[u8]) {
        self.data.totals.responses += 1;
        let nx = item.rcode == 3;
        let Some(n) = self.find_name(item.name_hash, name) else {
            self.data.totals.unmatched_responses += 1;
            return;
        };
        let entry = self.data.names.get_mut(n);
        entry.responses += 1;
        entry.nxdomain += u32::from(nx);
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
        std::str::from_utf8(self.data.arena.get(self.data.names.get(i).name)).unwrap_or("")
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

    /// The cached beacon score of a pair (0..=1), if its ring is scored.
    pub fn cached_beacon(&self, pair: &PairView<'_>) -> Option<f32> {
        if pair.ring == NONE {
            return None;
        }
        let ring = self.data.rings.get(pair.ring);
        ring.scored.then(|| f32::from(ring.beacon) / 255.0)
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
    use std::net::IpAddr;

    use super::*;
    use crate::engine::domain::registered_domain_offset;

    pub(crate) fn hasher() -> foldhash::fast::FixedState {
        foldhash::fast::FixedState::with_seed(1)
    }

    fn lists() -> Arc<Lists> {
        Arc::new(Lists::embedded())
    }

    fn item(s: &ShardState, name: &str, host: &str, t_s: u64, kind: EventKind) -> Item {
        let off = registered_domain_offset(name);
        Item {
            name_hash: s.hasher.hash_one(name.as_bytes()),
            domain_hash: s.hasher.hash_one(&name.as_bytes()[off..]),
            time_ns: t_s * 1_000_000_000,
            host: HostAddr::from(host.parse::<IpAddr>().expect("literal")),
            name_start: 0,
            name_len: name.len() as u16,
            domain_offset: off as u16,
            qtype: 1,
            kind,
            rcode: 0,
        }
    }

    /// What the engine built passes the snapshot loader's checks.
    fn assert_valid(s: &ShardState) {
        assert_eq!(s.data().validate(), Ok(()));
    }

    fn query(s: &mut ShardState, name: &str, host: &str, t_s: u64) {
        let i = item(s, name, host, t_s, EventKind::Query);
        s.count(&i, name.as_bytes());
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
        s.count(&r, b"dga1.example");
        let mut stray = item(&s, "other.example", "10.0.0.1", 1, EventKind::Response);
        stray.rcode = 3;
        s.count(&stray, b"other.example");
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
