//! Batches of observations in flight from a producer to one shard: fixed
//! records plus one byte arena for the names, so a batch of a thousand
//! observations is two allocations, reused when the shard hands the batch
//! back.

use capture_common::EventKind;

use crate::model::host::HostAddr;

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
}

/// Observations for one shard.
#[derive(Debug, Default)]
pub struct Batch {
    names: Vec<u8>,
    items: Vec<Item>,
}

impl Batch {
    /// An empty batch with room for `items` observations.
    pub fn with_capacity(items: usize) -> Self {
        Self {
            names: Vec::with_capacity(items * 32),
            items: Vec::with_capacity(items),
        }
    }

    /// Appends an observation whose name is `name`; `item`'s name fields
    /// are filled in here.
    pub fn push(&mut self, name: &[u8], mut item: Item) {
        item.name_start = self.names.len() as u32;
        item.name_len = name.len() as u16;
        self.names.extend_from_slice(name);
        self.items.push(item);
    }

    /// The observations, each with its name.
    pub fn iter(&self) -> impl Iterator<Item = (&Item, &[u8])> {
        self.items.iter().map(|i| {
            let start = i.name_start as usize;
            (i, &self.names[start..start + usize::from(i.name_len)])
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
    }
}
