//! Checking a shard's records before use: every offset and index in range,
//! every pair list ending and belonging to its name. A checksum catches
//! damage, not a hostile or buggy writer, so a snapshot is only used once
//! it passes.

use super::{NONE, ShardData, ring::RING_BEATS};

impl ShardData {
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
        for &n in self.answers.keys() {
            in_range(n, names, "answered name")?;
        }
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
