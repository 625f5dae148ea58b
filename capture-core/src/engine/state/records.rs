//! The records one shard counts in, addressed by `u32` indices: names,
//! (host, name) pairs, registered domains, hosts, (domain, host) links and
//! the aggregate rows of exploded domains. [`ShardData`] holds them all and
//! is exactly what a snapshot stores.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ring::Ring;
use crate::{
    engine::{
        chunked::{Arena, Chunked},
        hll::Hll,
    },
    model::{host::HostAddr, status::Totals},
};

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
    pub(super) name: u32,
    /// Index of its registered domain.
    pub domain: u32,
    /// Distinct hosts tracked.
    pub hosts: u32,
    /// The one host that asked, while only one did (else `NONE`).
    pub(super) solo: u32,
    /// The solo host's arrival ring, or the first materialised pair.
    pub(super) link: u32,
    /// NXDOMAIN answers seen.
    pub nxdomain: u32,
    /// Responses seen.
    pub responses: u32,
    /// Answers with an error RCODE (NXDOMAIN, SERVFAIL, REFUSED, …),
    /// saturating.
    pub failures: u16,
    /// Queries from hosts not tracked because the shard was full.
    pub untracked: u32,
    /// Query types seen ([`qtype::bit`]).
    pub qtypes: u16,
    /// Cached lexical randomness, quantized to 0..=255 (valid once
    /// `marks` has [`marks::SCORED`]).
    pub lexical: u8,
    /// List matches and shape ([`marks`]); 0 until scored.
    pub marks: u8,
    /// Structural class ([`crate::score::class::NameClass`] as `u8`),
    /// valid once scored; recomputed after a snapshot loads, so not stored
    /// in it.
    #[serde(skip)]
    pub class: u8,
}

/// One host's queries for one name, once the name has two hosts or more.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(super) struct PairEntry {
    pub(super) queries: u64,
    pub(super) first_seen: u64,
    pub(super) last_seen: u64,
    pub(super) name: u32,
    pub(super) host: u32,
    pub(super) next: u32,
    pub(super) ring: u32,
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
    pub(super) name: u32,
    /// Distinct names counted in detail.
    pub names: u32,
    /// Distinct hosts that asked for any name under it.
    pub hosts: u32,
    pub(super) fold: u32,
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
pub(super) struct DomainHost {
    pub(super) folded_queries: u64,
    pub(super) domain: u32,
    pub(super) host: u32,
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

/// Distinct answer addresses kept per name.
pub const KEPT_ADDRESSES: usize = 8;

/// What the resolver answered for one name, bounded: the first distinct
/// addresses, the TTL range and the last CNAME chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerEntry {
    /// Responses whose answer section was read.
    pub answered: u32,
    /// Distinct A/AAAA addresses, first seen first, at most
    /// [`KEPT_ADDRESSES`].
    pub addrs: Vec<HostAddr>,
    /// More distinct addresses were seen than are kept.
    pub more_addresses: bool,
    /// Most IPv4 addresses one response carried (addresses beyond it came
    /// from answers changing over time).
    pub max_v4_per_answer: u8,
    /// Most IPv6 addresses one response carried.
    pub max_v6_per_answer: u8,
    /// Smallest TTL of any answer record, seconds.
    pub ttl_min: u32,
    /// Largest TTL.
    pub ttl_max: u32,
    /// The last CNAME chain from the name, targets joined by spaces (empty
    /// when it is answered directly).
    pub chain: String,
}

impl AnswerEntry {
    /// Bytes it holds, counted against the shard's budget (an estimate of
    /// the map slot and its two allocations).
    pub fn bytes(&self) -> usize {
        size_of::<(u32, Self)>()
            + 16
            + self.addrs.capacity() * size_of::<HostAddr>()
            + self.chain.capacity()
    }
}

/// What the resolver answered, by name index. Hashed with foldhash: the
/// keys are the shard's own indices, and every response probes the map.
pub type AnswerMap = HashMap<u32, AnswerEntry, foldhash::fast::FixedState>;

/// Answers per name index; a snapshot stores them sorted by name, so the
/// same state always writes the same bytes.
mod sorted_answers {
    use super::*;

    pub fn serialize<S: Serializer>(map: &AnswerMap, serializer: S) -> Result<S::Ok, S::Error> {
        map.iter().collect::<BTreeMap<_, _>>().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AnswerMap, D::Error> {
        Ok(BTreeMap::<u32, AnswerEntry>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Everything a shard counts; this is also what a snapshot holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ShardData {
    pub(super) arena: Arena,
    pub(super) names: Chunked<NameEntry>,
    pub(super) pairs: Chunked<PairEntry>,
    pub(super) domains: Chunked<DomainEntry>,
    pub(super) hosts: Chunked<HostEntry>,
    pub(super) domain_hosts: Chunked<DomainHost>,
    pub(super) rings: Chunked<Ring>,
    pub(super) free_rings: Vec<u32>,
    pub(super) folds: Vec<Fold>,
    pub(super) overflow: Fold,
    pub(super) totals: Totals,
    /// What the resolver answered, by name index (names answered only).
    #[serde(with = "sorted_answers")]
    pub(super) answers: AnswerMap,
}

impl ShardData {
    /// Names counted in detail.
    pub fn name_count(&self) -> usize {
        self.names.len()
    }
}
