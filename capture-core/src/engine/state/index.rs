//! The hash tables over a shard's records: they hold only `u32` indices,
//! so they are rebuilt from [`super::ShardData`] after a snapshot loads.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::ShardState;

/// The lookup tables over [`ShardData`]; rebuilt from it on load.
#[derive(Default)]
pub(super) struct Index {
    pub(super) names: HashTable<u32>,
    pub(super) domains: HashTable<u32>,
    pub(super) hosts: HashTable<u32>,
    pub(super) pairs: HashTable<u32>,
    pub(super) domain_hosts: HashTable<u32>,
}

pub(super) fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Bytes a hashbrown table of `u32` indices holds: a slot and a control
/// byte per bucket.
pub(super) fn table_bytes(t: &HashTable<u32>) -> usize {
    if t.capacity() == 0 {
        return 0;
    }
    (t.capacity() * 8 / 7).next_power_of_two() * (size_of::<u32>() + 1)
}

impl ShardState {
    pub(super) fn rebuild_index(&mut self) {
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

    pub(super) fn find_name(&self, hash: u64, name: &[u8]) -> Option<u32> {
        let d = &self.data;
        self.index
            .names
            .find(hash, |&i| d.arena.get(d.names.get(i).name) == name)
            .copied()
    }

    pub(super) fn find_pair(&self, name: u32, host: u32) -> Option<u32> {
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
}
