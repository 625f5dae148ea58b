//! Batches of observations in flight from a producer to one shard: fixed
//! records plus one byte arena for the names (and the CNAME chains of
//! answers), so a batch of a thousand observations is a few allocations,
//! reused when the shard hands the batch back.

use std::net::IpAddr;

use capture_common::EventKind;

use crate::{ingest::answers::Answers, model::host::HostAddr};

/// Addresses of one answer a batch carries to its shard.
pub const SUMMARY_ADDRESSES: usize = 4;

/// What a response's answer section said, in fixed size: the part the
/// shard keeps per name.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnswerSummary {
    /// The first A/AAAA addresses (`addr_count` of them, at most
    /// [`SUMMARY_ADDRESSES`]).
    pub addrs: [HostAddr; SUMMARY_ADDRESSES],
    /// How many of `addrs` are set.
    pub addr_count: u8,
    /// Smallest and largest TTL, seconds (0, 0 for an empty section).
    pub ttl_min: u32,
    /// Largest TTL.
    pub ttl_max: u32,
    /// Answer records read.
    pub records: u16,
    /// Where the CNAME chain (targets joined by spaces) starts in the
    /// batch's arena.
    chain_start: u32,
    /// Its length in bytes (0: no CNAME).
    chain_len: u16,
}

/// One answer as the shard reads it from a batch.
#[derive(Clone, Copy, Debug)]
pub struct AnswerView<'a> {
    /// The fixed part.
    pub summary: &'a AnswerSummary,
    /// The CNAME chain, targets joined by spaces ("" when none).
    pub chain: &'a str,
}

/// No answer attached to an item.
const NO_ANSWER: u32 = u32::MAX;

/// One observation inside a [`Batch`].
#[derive(Clone, Copy, Debug)]
pub struct Item {
    /// Hash of the name (the shard's table hash; computed once, here).
    pub name_hash: u64,
    /// When, ns since the UNIX epoch.
    pub time_ns: u64,
    /// The client.
    pub host: HostAddr,
    /// Where the name starts in the batch's arena.
    pub name_start: u32,
    /// Name length in bytes.
    pub name_len: u16,
    /// QTYPE.
    pub qtype: u16,
    /// Query or response.
    pub kind: EventKind,
    /// RCODE.
    pub rcode: u8,
    /// Index of its answer in the batch (set by [`Batch::push_answered`]).
    pub answer: u32,
}

impl Item {
    /// No answer attached (the value [`Batch::push`] sets).
    pub const NO_ANSWER: u32 = NO_ANSWER;
}

#[cfg(test)]
impl Item {
    /// The item a producer hashing with `hasher` makes for `name` and the
    /// host address `host` (a literal), at `time_ns`: for tests that feed
    /// shards directly.
    pub(crate) fn for_test(
        hasher: &super::NameHasher,
        name: &str,
        host: &str,
        time_ns: u64,
        kind: EventKind,
        qtype: u16,
        rcode: u8,
    ) -> Self {
        use std::hash::BuildHasher;
        Self {
            name_hash: hasher.hash_one(name.as_bytes()),
            time_ns,
            host: HostAddr::from(host.parse::<IpAddr>().expect("literal address")),
            name_start: 0,
            name_len: name.len() as u16,
            qtype,
            kind,
            rcode,
            answer: NO_ANSWER,
        }
    }
}

/// Observations for one shard.
#[derive(Debug, Default)]
pub struct Batch {
    names: Vec<u8>,
    items: Vec<Item>,
    answers: Vec<AnswerSummary>,
}

impl Batch {
    /// An empty batch with room for `items` observations.
    pub fn with_capacity(items: usize) -> Self {
        Self {
            names: Vec::with_capacity(items * 32),
            items: Vec::with_capacity(items),
            answers: Vec::new(),
        }
    }

    /// Appends an observation whose name is `name`; `item`'s name fields
    /// are filled in here.
    pub fn push(&mut self, name: &[u8], mut item: Item) {
        item.name_start = self.names.len() as u32;
        item.name_len = name.len() as u16;
        item.answer = NO_ANSWER;
        self.names.extend_from_slice(name);
        self.items.push(item);
    }

    /// Appends a response with the answer section it carried.
    pub fn push_answered(&mut self, name: &[u8], item: Item, answers: &Answers) {
        self.push(name, item);
        let chain_start = self.names.len();
        for (k, link) in answers.chain.iter().enumerate() {
            if k > 0 {
                self.names.push(b' ');
            }
            self.names.extend_from_slice(link.as_bytes());
        }
        let mut summary = AnswerSummary {
            ttl_min: answers.ttl.map_or(0, |t| t.0),
            ttl_max: answers.ttl.map_or(0, |t| t.1),
            records: answers.records,
            chain_start: chain_start as u32,
            chain_len: (self.names.len() - chain_start).min(usize::from(u16::MAX)) as u16,
            ..AnswerSummary::default()
        };
        for (slot, addr) in summary.addrs.iter_mut().zip(&answers.addresses) {
            *slot = HostAddr::from(*addr);
            summary.addr_count += 1;
        }
        if let Some(last) = self.items.last_mut() {
            last.answer = self.answers.len() as u32;
        }
        self.answers.push(summary);
    }

    /// The observations, each with its name and, for a response that
    /// carried one, its answer.
    pub fn iter(&self) -> impl Iterator<Item = (&Item, &[u8], Option<AnswerView<'_>>)> {
        self.items.iter().map(|i| {
            let start = i.name_start as usize;
            let answer = self.answers.get(i.answer as usize).map(|summary| {
                let at = summary.chain_start as usize;
                let chain = &self.names[at..at + usize::from(summary.chain_len)];
                AnswerView {
                    summary,
                    // Names are checked ASCII (decoded from the wire).
                    chain: std::str::from_utf8(chain).unwrap_or_default(),
                }
            });
            (
                i,
                &self.names[start..start + usize::from(i.name_len)],
                answer,
            )
        })
    }

    /// Observations held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empties it, keeping its allocations.
    pub fn clear(&mut self) {
        self.names.clear();
        self.items.clear();
        self.answers.clear();
    }
}

impl AnswerSummary {
    /// The addresses it holds.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.addrs[..usize::from(self.addr_count)]
            .iter()
            .map(|a| a.ip())
    }
}
