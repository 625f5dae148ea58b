//! One shard's state: the names it owns, with per-host counts. Owned by a
//! single worker thread; nothing here is shared or locked.

use std::net::IpAddr;

use capture_common::EventKind;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::{
    observation::Observation,
    report::{HostCount, HostDetail, HostsReply, Row},
};

/// What a shard knows about one name.
#[derive(Debug, Default)]
struct NameEntry {
    queries: u64,
    first_seen: u64,
    last_seen: u64,
    hosts: Vec<HostEntry>,
}

/// One host's queries for one name.
#[derive(Debug)]
struct HostEntry {
    addr: IpAddr,
    queries: u64,
    first_seen: u64,
    last_seen: u64,
}

/// Sizes and totals of one shard, for `dnsrare stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSize {
    /// Distinct names held.
    pub names: u64,
    /// Distinct (host, name) pairs held.
    pub pairs: u64,
    /// Queries counted.
    pub queries: u64,
    /// Responses seen.
    pub responses: u64,
}

/// The names owned by one shard.
#[derive(Debug, Default)]
pub struct Shard {
    names: HashMap<Box<str>, NameEntry>,
    pairs: u64,
    queries: u64,
    responses: u64,
}

impl Shard {
    /// Counts one observation.
    pub fn count(&mut self, obs: &Observation) {
        if obs.kind == EventKind::Response {
            self.responses += 1;
            return;
        }
        self.queries += 1;
        let entry = match self.names.get_mut(&*obs.name) {
            Some(entry) => entry,
            None => self
                .names
                .entry(obs.name.clone())
                .or_insert_with(|| NameEntry {
                    first_seen: obs.time_ns,
                    ..NameEntry::default()
                }),
        };
        entry.queries += 1;
        entry.first_seen = entry.first_seen.min(obs.time_ns);
        entry.last_seen = entry.last_seen.max(obs.time_ns);
        match entry.hosts.iter_mut().find(|h| h.addr == obs.host) {
            Some(host) => {
                host.queries += 1;
                host.first_seen = host.first_seen.min(obs.time_ns);
                host.last_seen = host.last_seen.max(obs.time_ns);
            }
            None => {
                self.pairs += 1;
                entry.hosts.push(HostEntry {
                    addr: obs.host,
                    queries: 1,
                    first_seen: obs.time_ns,
                    last_seen: obs.time_ns,
                });
            }
        }
    }

    /// The `top` least-queried names, least first, ties by name.
    pub fn rarest(&self, top: usize) -> Vec<Row> {
        let mut all: Vec<(&str, &NameEntry)> = self.names.iter().map(|(n, e)| (&**n, e)).collect();
        let order = |a: &(&str, &NameEntry), b: &(&str, &NameEntry)| {
            a.1.queries.cmp(&b.1.queries).then_with(|| a.0.cmp(b.0))
        };
        if all.len() > top && top > 0 {
            all.select_nth_unstable_by(top - 1, order);
        }
        all.truncate(top);
        all.sort_unstable_by(order);
        all.into_iter().map(|(name, e)| row(name, e)).collect()
    }

    /// Who asked for `name`, most queries first.
    pub fn hosts(&self, name: &str) -> Option<HostsReply> {
        let entry = self.names.get(name)?;
        let mut hosts: Vec<HostDetail> = entry
            .hosts
            .iter()
            .map(|h| HostDetail {
                addr: h.addr,
                queries: h.queries,
                first_seen_ns: h.first_seen,
                last_seen_ns: h.last_seen,
            })
            .collect();
        hosts.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.addr.cmp(&b.addr)));
        Some(HostsReply {
            name: name.to_owned(),
            queries: entry.queries,
            hosts,
        })
    }

    /// Sizes and totals.
    pub fn size(&self) -> ShardSize {
        ShardSize {
            names: self.names.len() as u64,
            pairs: self.pairs,
            queries: self.queries,
            responses: self.responses,
        }
    }
}

fn row(name: &str, entry: &NameEntry) -> Row {
    let mut hosts: Vec<HostCount> = entry
        .hosts
        .iter()
        .map(|h| HostCount {
            addr: h.addr,
            queries: h.queries,
        })
        .collect();
    hosts.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.addr.cmp(&b.addr)));
    Row {
        name: name.to_owned(),
        queries: entry.queries,
        distinct_hosts: hosts.len() as u64,
        first_seen_ns: entry.first_seen,
        last_seen_ns: entry.last_seen,
        hosts,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn obs(name: &str, host: u8, t: u64) -> Observation {
        Observation {
            name: name.into(),
            time_ns: t,
            host: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)),
            kind: EventKind::Query,
            qtype: 1,
            rcode: 0,
        }
    }

    #[test]
    fn counts_names_and_hosts() {
        let mut s = Shard::default();
        s.count(&obs("a.com", 1, 30));
        s.count(&obs("a.com", 1, 10));
        s.count(&obs("a.com", 2, 20));
        s.count(&obs("b.com", 3, 5));
        let rows = s.rarest(10);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name, "b.com");
        assert_eq!(rows[1].queries, 3);
        assert_eq!(rows[1].first_seen_ns, 10);
        assert_eq!(rows[1].last_seen_ns, 30);
        assert_eq!(rows[1].hosts[0].queries, 2);
        assert_eq!(s.size().pairs, 3);
        let hosts = s.hosts("a.com").expect("known");
        assert_eq!(hosts.hosts[0].first_seen_ns, 10);
        assert!(s.hosts("c.com").is_none());
    }

    #[test]
    fn rarest_takes_the_least_queried() {
        let mut s = Shard::default();
        for (i, n) in ["x", "y", "z", "w"].iter().enumerate() {
            for _ in 0..=i {
                s.count(&obs(n, 1, 0));
            }
        }
        let names: Vec<_> = s.rarest(2).into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["x", "y"]);
        assert!(s.rarest(0).is_empty());
    }
}
