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
    /// Index of its answer in the batch (set by [`Batch::push_answered`],
    /// or for a query by [`Batch::attach_response`]).
    pub answer: u32,
    /// A query with its response attached ([`Batch::attach_response`]):
    /// `rcode` and `answer` are the response's.
    pub responded: bool,
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
            responded: false,
        }
    }
}

/// Slots of a batch's table of latest items per name.
const LATEST_SLOTS: usize = 256;

/// Observations for one shard.
#[derive(Debug, Default)]
pub struct Batch {
    names: Vec<u8>,
    items: Vec<Item>,
    answers: Vec<AnswerSummary>,
    /// Per slot (name hash modulo [`LATEST_SLOTS`]), the position of the
    /// latest item whose name hash falls in it. Kept across
    /// [`Batch::clear`]: a stale position is caught by comparing the name
    /// hash of the item there, since every item updates its slot.
    latest: Vec<u32>,
}

impl Batch {
    /// An empty batch with room for `items` observations.
    pub fn with_capacity(items: usize) -> Self {
        Self {
            names: Vec::with_capacity(items * 32),
            items: Vec::with_capacity(items),
            answers: Vec::new(),
            latest: Vec::new(),
        }
    }

    /// Appends an observation whose name is `name`; `item`'s name fields
    /// are filled in here.
    pub fn push(&mut self, name: &[u8], mut item: Item) {
        item.name_start = self.names.len() as u32;
        item.name_len = name.len() as u16;
        item.answer = NO_ANSWER;
        item.responded = false;
        self.names.extend_from_slice(name);
        if self.latest.is_empty() {
            self.latest = vec![u32::MAX; LATEST_SLOTS];
        }
        self.latest[item.name_hash as usize % LATEST_SLOTS] = self.items.len() as u32;
        self.items.push(item);
    }

    /// Appends a response with the answer section it carried.
    pub fn push_answered(&mut self, name: &[u8], item: Item, answers: &Answers) {
        self.push(name, item);
        let index = self.push_answer(answers);
        if let Some(last) = self.items.last_mut() {
            last.answer = index;
        }
    }

    /// Attaches the response `response` for `name` (with the answer section
    /// it carried, when read) to the query it answers, if that query is
    /// the latest item of the name in this batch, was asked by the
    /// response's client and has no response yet; returns whether it did.
    /// The shard then counts both with one lookup of the name, at the
    /// query's place: no item of the name lies between the two, so nothing
    /// it counts changes. Otherwise nothing changes and the response is
    /// pushed as usual.
    pub fn attach_response(
        &mut self,
        name: &[u8],
        response: &Item,
        answers: Option<&Answers>,
    ) -> bool {
        let Some(&at) = self.latest.get(response.name_hash as usize % LATEST_SLOTS) else {
            return false;
        };
        let Some(query) = self.items.get(at as usize) else {
            return false;
        };
        let start = query.name_start as usize;
        let matches = query.name_hash == response.name_hash
            && query.kind == EventKind::Query
            && !query.responded
            && query.host == response.host
            && self.names.get(start..start + usize::from(query.name_len)) == Some(name);
        if !matches {
            return false;
        }
        let answer = answers.map_or(NO_ANSWER, |a| self.push_answer(a));
        let query = &mut self.items[at as usize];
        query.responded = true;
        query.rcode = response.rcode;
        query.answer = answer;
        true
    }

    /// Stores what an answer section said; returns its index.
    fn push_answer(&mut self, answers: &Answers) -> u32 {
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
        self.answers.push(summary);
        (self.answers.len() - 1) as u32
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        engine::{
            name_hasher,
            state::{Limits, ShardState},
        },
        score::lists::Lists,
    };

    fn query(name: &str, host: &str) -> Item {
        Item::for_test(&name_hasher(), name, host, 1, EventKind::Query, 1, 0)
    }

    fn response(name: &str, host: &str, rcode: u8) -> Item {
        Item::for_test(&name_hasher(), name, host, 2, EventKind::Response, 1, rcode)
    }

    #[test]
    fn a_response_attaches_to_the_latest_item_of_its_name_if_its_clients_query() {
        let mut b = Batch::default();
        b.push(b"a.example", query("a.example", "10.0.0.1"));
        assert!(b.attach_response(b"a.example", &response("a.example", "10.0.0.1", 3), None));
        assert_eq!(
            (b.len(), b.items[0].responded, b.items[0].rcode),
            (1, true, 3)
        );
        // Once only: a second response is an item of its own.
        assert!(!b.attach_response(b"a.example", &response("a.example", "10.0.0.1", 0), None));
        // Another client's query came last: not this client's.
        b.push(b"a.example", query("a.example", "10.0.0.2"));
        b.push(b"b.example", query("b.example", "10.0.0.1"));
        assert!(!b.attach_response(b"a.example", &response("a.example", "10.0.0.1", 0), None));
        assert!(b.attach_response(b"a.example", &response("a.example", "10.0.0.2", 0), None));
        // A response last of its name: nothing to attach to.
        b.push(b"c.example", response("c.example", "10.0.0.1", 0));
        assert!(!b.attach_response(b"c.example", &response("c.example", "10.0.0.1", 0), None));
        // Never asked, and after a clear.
        assert!(!b.attach_response(b"d.example", &response("d.example", "10.0.0.1", 0), None));
        b.clear();
        assert!(!b.attach_response(b"b.example", &response("b.example", "10.0.0.1", 0), None));
    }

    /// A test event: name, host, and for a response its rcode and whether
    /// it carried answers.
    type Event<'a> = (&'a str, &'a str, Option<(u8, bool)>);

    /// The state after counting `events` in batches of `batch` items,
    /// responses attached where they can be when `attach`, as a snapshot's
    /// JSON.
    fn counted(events: &[Event<'_>], attach: bool, batch: usize) -> String {
        let limits = Limits {
            fold_names: 3,
            ..Limits::default()
        };
        let mut state = ShardState::new(limits, name_hasher(), Arc::new(Lists::embedded()));
        let answers = crate::ingest::answers::Answers {
            chain: vec!["edge.cdn.example".to_owned()],
            addresses: vec!["192.0.2.9".parse().expect("literal")],
            ttl: Some((30, 60)),
            records: 2,
            truncated: false,
        };
        for part in events.chunks(batch) {
            let mut b = Batch::default();
            for &(name, host, reply) in part {
                let n = name.as_bytes();
                match reply {
                    None => b.push(n, query(name, host)),
                    Some((rcode, answered)) => {
                        let item = response(name, host, rcode);
                        let answers = answered.then_some(&answers);
                        if attach && b.attach_response(n, &item, answers) {
                            continue;
                        }
                        match answers {
                            Some(a) => b.push_answered(n, item, a),
                            None => b.push(n, item),
                        }
                    }
                }
            }
            for (item, name, answer) in b.iter() {
                state.count(item, name, answer);
            }
        }
        serde_json::to_string(state.data()).expect("serializes")
    }

    #[test]
    fn attached_responses_count_as_responses_apart() {
        let (h1, h2) = ("10.0.0.1", "10.0.0.2");
        let q = None;
        let nx = Some((3, false));
        let ok = Some((0, true));
        let events = [
            ("a.example", h1, q),
            ("a.example", h1, ok),
            ("a.example", h2, q),
            ("b.example", h1, q),
            ("a.example", h2, nx),
            ("b.example", h1, ok),
            ("b.example", h1, ok),
            ("never.example", h1, ok),
            // Past the fold limit of three names: folded queries have no
            // entry, so their responses are unmatched either way.
            ("n1.fold.example", h1, q),
            ("n2.fold.example", h1, q),
            ("n3.fold.example", h1, q),
            ("n4.fold.example", h1, q),
            ("n4.fold.example", h1, nx),
            ("n1.fold.example", h2, q),
            ("n1.fold.example", h2, ok),
            ("c.example", h1, q),
            ("c.example", h2, q),
            ("c.example", h1, ok),
            ("c.example", h2, nx),
        ];
        for batch in [1, 2, 3, events.len()] {
            assert_eq!(
                counted(&events, true, batch),
                counted(&events, false, batch),
                "batches of {batch}"
            );
        }
    }
}
