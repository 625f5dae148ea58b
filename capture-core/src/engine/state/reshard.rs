//! Moving registered domains between shards, for snapshots written before
//! the shard of a domain was chosen by its last two labels (format 4 and
//! earlier placed it by the hash of the registered domain itself). Every
//! domain moves whole with its names (and what the resolver answered for
//! them), (host, name) pairs, arrival rings, per-domain hosts and aggregate
//! row; hosts and the shard totals stay with the shard index they had, so
//! every sum over shards is what it was.

use std::collections::HashMap;

use super::{NONE, ShardData, records::PairEntry};
use crate::model::host::HostAddr;

/// `shards` with every domain moved to the shard `place(domain text)`
/// names (below `shards.len()`); the shard count is kept.
pub fn reshard(shards: Vec<ShardData>, place: impl Fn(&[u8]) -> usize) -> Vec<ShardData> {
    let mut out: Vec<Target> = shards
        .iter()
        .map(|old| {
            let mut t = Target {
                data: ShardData {
                    totals: old.totals,
                    overflow: old.overflow.clone(),
                    ..ShardData::default()
                },
                hosts: HashMap::new(),
            };
            // Hosts keep their index and counters in their own shard.
            for h in old.hosts.iter() {
                t.hosts.insert(h.addr, t.data.hosts.push(*h));
            }
            t
        })
        .collect();
    for old in &shards {
        let mut names_of: Vec<Vec<u32>> = vec![Vec::new(); old.domains.len()];
        for (i, n) in old.names.iter().enumerate() {
            names_of[n.domain as usize].push(i as u32);
        }
        let mut hosts_of: Vec<Vec<u32>> = vec![Vec::new(); old.domains.len()];
        for (i, dh) in old.domain_hosts.iter().enumerate() {
            hosts_of[dh.domain as usize].push(i as u32);
        }
        for (d, entry) in old.domains.iter().enumerate() {
            let text = old.arena.get(entry.name);
            let target = &mut out[place(text).min(shards.len() - 1)];
            target.domain(old, d as u32, &names_of[d], &hosts_of[d]);
        }
    }
    out.into_iter().map(|t| t.data).collect()
}

/// A shard being filled.
struct Target {
    data: ShardData,
    hosts: HashMap<HostAddr, u32>,
}

impl Target {
    /// This shard's index of `old`'s host `h` (a record with no counts
    /// when the host is new here).
    fn host(&mut self, old: &ShardData, h: u32) -> u32 {
        let addr = old.hosts.get(h).addr;
        let data = &mut self.data;
        *self.hosts.entry(addr).or_insert_with(|| {
            data.hosts.push(super::records::HostEntry {
                addr,
                queries: 0,
                names: 0,
                nxdomain: 0,
            })
        })
    }

    fn ring(&mut self, old: &ShardData, r: u32) -> u32 {
        if r == NONE {
            NONE
        } else {
            self.data.rings.push(*old.rings.get(r))
        }
    }

    /// Copies domain `d` of `old`, with its `names` and its `hosts` (indices
    /// of its (domain, host) records).
    fn domain(&mut self, old: &ShardData, d: u32, names: &[u32], hosts: &[u32]) {
        let mut entry = *old.domains.get(d);
        entry.name = self.data.arena.store(old.arena.get(entry.name));
        if entry.fold != NONE {
            let mut fold = old.folds[entry.fold as usize].clone();
            fold.domain = self.data.domains.len() as u32;
            entry.fold = self.data.folds.len() as u32;
            self.data.folds.push(fold);
        }
        let new_d = self.data.domains.push(entry);
        for &dh in hosts {
            let mut link = *old.domain_hosts.get(dh);
            link.domain = new_d;
            link.host = self.host(old, link.host);
            self.data.domain_hosts.push(link);
        }
        for &n in names {
            let mut name = *old.names.get(n);
            name.name = self.data.arena.store(old.arena.get(name.name));
            name.domain = new_d;
            let new_n = self.data.names.len() as u32;
            if let Some(answers) = old.answers.get(&n) {
                self.data.answers.insert(new_n, answers.clone());
            }
            if name.solo != NONE {
                name.solo = self.host(old, name.solo);
                name.link = self.ring(old, name.link);
            } else {
                // The pair list, in its order.
                let mut pairs: Vec<PairEntry> = Vec::new();
                let mut next = name.link;
                while next != NONE {
                    let p = *old.pairs.get(next);
                    next = p.next;
                    pairs.push(p);
                }
                let first = self.data.pairs.len() as u32;
                name.link = if pairs.is_empty() { NONE } else { first };
                let count = pairs.len() as u32;
                for (k, mut p) in pairs.into_iter().enumerate() {
                    p.name = new_n;
                    p.host = self.host(old, p.host);
                    p.ring = self.ring(old, p.ring);
                    let k = k as u32;
                    p.next = if k + 1 < count { first + k + 1 } else { NONE };
                    self.data.pairs.push(p);
                }
            }
            self.data.names.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{hash::BuildHasher, net::IpAddr, sync::Arc};

    use capture_common::EventKind;

    use super::*;
    use crate::{
        engine::{
            batch::{Batch, Item},
            domain::registered_domain_offset,
            name_hasher, shard_of,
            state::{Limits, ShardState},
            view,
        },
        ingest::answers::Answers,
        model::status::ShardSize,
        score::lists::Lists,
    };

    const NAMES: &[&str] = &[
        "a.example.com",
        "b.example.com",
        "x.example.co.uk",
        "y.other.co.uk",
        "z.foo.org",
        "w.foo.org",
        "wpad",
        "c2.dyn.duckdns.org",
    ];

    fn item(name: &str, host: &str, t_s: u64, kind: EventKind) -> Item {
        Item::for_test(&name_hasher(), name, host, t_s * 1_000_000_000, kind, 1, 3)
    }

    /// A shard holding `data`, as a snapshot load makes it.
    fn loaded(data: ShardData) -> ShardState {
        ShardState::from_data(
            data,
            Limits::default(),
            name_hasher(),
            Arc::new(Lists::embedded()),
        )
    }

    /// Shards filled the old way: each name in the shard of its registered
    /// domain's hash.
    fn old_shards(n: usize) -> Vec<ShardState> {
        let h = name_hasher();
        let mut shards: Vec<ShardState> = (0..n)
            .map(|_| ShardState::new(Limits::default(), h.clone(), Arc::new(Lists::embedded())))
            .collect();
        for (k, name) in NAMES.iter().enumerate() {
            let domain = &name.as_bytes()[registered_domain_offset(*name)..];
            let s = &mut shards[(h.hash_one(domain) % n as u64) as usize];
            for t in 0..5 {
                let query = item(name, "10.0.0.1", t * 60, EventKind::Query);
                s.count(&query, name.as_bytes(), None);
            }
            if k % 2 == 0 {
                let query = item(name, "10.0.0.2", 400, EventKind::Query);
                s.count(&query, name.as_bytes(), None);
            }
            // A response with an answer section: what it said moves too.
            let answers = Answers {
                chain: vec![format!("cdn{k}.example.net")],
                addresses: vec![IpAddr::from([192, 0, 2, k as u8])],
                ttl: Some((60, 60)),
                records: 2,
                truncated: false,
            };
            let mut batch = Batch::default();
            let mut response = item(name, "10.0.0.1", 401, EventKind::Response);
            response.rcode = 0;
            batch.push_answered(name.as_bytes(), response, &answers);
            for (item, name, answer) in batch.iter() {
                s.count(item, name, answer);
            }
        }
        shards
    }

    #[test]
    fn every_domain_moves_whole_and_every_count_stays() {
        let n = 4;
        let old: Vec<ShardData> = old_shards(n).iter().map(|s| s.data().clone()).collect();
        let h = name_hasher();
        let moved = reshard(old.clone(), |d| shard_of(&h, d, h.hash_one(d), n));
        assert_eq!(moved.len(), n);
        let states: Vec<ShardState> = moved
            .into_iter()
            .map(|d| {
                d.validate().expect("valid after the move");
                loaded(d)
            })
            .collect();
        let before: Vec<ShardState> = old.into_iter().map(loaded).collect();
        for name in NAMES {
            let owner = shard_of(&h, name.as_bytes(), h.hash_one(name.as_bytes()), n);
            let now = view::hosts(&states[owner], name).expect("in its new shard");
            let was = before
                .iter()
                .find_map(|s| view::hosts(s, name))
                .expect("counted before");
            assert_eq!(format!("{now:?}"), format!("{was:?}"), "{name}");
            let answered = |s: &ShardState| {
                s.lookup_name(name)
                    .and_then(|i| s.answers(i))
                    .map(|a| format!("{a:?}"))
            };
            let was_answered = before.iter().find_map(answered);
            assert!(was_answered.is_some(), "{name} was answered");
            assert_eq!(answered(&states[owner]), was_answered, "{name}");
        }
        let sum = |s: &[ShardState], f: fn(&ShardSize) -> u64| -> u64 {
            s.iter().map(|s| f(&view::size(s))).sum()
        };
        for f in [
            (|s: &ShardSize| s.names) as fn(&ShardSize) -> u64,
            |s| s.pairs,
            |s| s.domains,
            |s| s.rings,
            |s| s.totals.queries,
            |s| s.totals.responses,
            |s| s.totals.pairs,
        ] {
            assert_eq!(sum(&states, f), sum(&before, f));
        }
        // Host totals over all shards are unchanged.
        let host_queries = |s: &[ShardState]| -> u64 {
            s.iter()
                .flat_map(|s| s.hosts().map(|h| h.queries).collect::<Vec<_>>())
                .sum()
        };
        assert_eq!(host_queries(&states), host_queries(&before));
    }

    #[test]
    fn counting_goes_on_in_the_moved_records() {
        let n = 2;
        let h = name_hasher();
        let old: Vec<ShardData> = old_shards(n).iter().map(|s| s.data().clone()).collect();
        let mut states: Vec<ShardState> = reshard(old, |d| shard_of(&h, d, h.hash_one(d), n))
            .into_iter()
            .map(loaded)
            .collect();
        for name in NAMES {
            let owner = shard_of(&h, name.as_bytes(), h.hash_one(name.as_bytes()), n);
            let s = &mut states[owner];
            let names = s.name_count();
            let query = item(name, "10.0.0.1", 900, EventKind::Query);
            s.count(&query, name.as_bytes(), None);
            assert_eq!(s.name_count(), names, "{name} found, not added again");
            let reply = view::hosts(s, name).expect("counted");
            assert_eq!(
                reply.queries,
                6 + u64::from(NAMES.iter().position(|x| x == name).expect("listed") % 2 == 0)
            );
        }
    }
}
