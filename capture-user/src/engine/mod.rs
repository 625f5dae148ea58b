//! The counting engine: share-nothing shards, each owning the names whose
//! hash falls to it, fed in batches over crossbeam channels.
//!
//! Data flows one way: producers (the ring-buffer drain, the pcap reader)
//! hand [`Observation`]s to a [`Dispatcher`], which batches them per shard;
//! each [`shard`] worker owns its maps outright, so counting takes no locks.
//! Queries travel down the same channels as batches, so a shard answers
//! after every batch sent before the query, and the answers are merged here.

pub mod shard;

use std::{hash::BuildHasher, thread::JoinHandle};

use crossbeam_channel::{Receiver, Sender, bounded};
use thiserror::Error;

use crate::{
    observation::Observation,
    report::{HostsReply, Row},
};
use shard::{Shard, ShardSize};

/// Observations per batch handed to a shard.
pub const BATCH: usize = 1024;
/// Batches a shard's channel holds before the producer waits.
const CHANNEL_BATCHES: usize = 64;

/// Errors talking to the shards.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A shard worker is gone (it panicked or the engine shut down).
    #[error("shard {0} is not running")]
    ShardGone(usize),
}

/// A message to one shard.
pub(crate) enum ShardMsg {
    /// Count these.
    Batch(Vec<Observation>),
    /// The `top` least-queried names, least first.
    Rarest { top: usize, reply: Sender<Vec<Row>> },
    /// Who asked for `name` (only the owning shard has it).
    Hosts {
        name: String,
        reply: Sender<Option<HostsReply>>,
    },
    /// Sizes and totals.
    Size { reply: Sender<ShardSize> },
}

/// The running shards.
pub struct Engine {
    senders: Vec<Sender<ShardMsg>>,
    workers: Vec<JoinHandle<()>>,
    hasher: foldhash::fast::FixedState,
}

impl Engine {
    /// Starts `shards` worker threads (at least one).
    pub fn start(shards: usize) -> Self {
        let shards = shards.max(1);
        let mut senders = Vec::with_capacity(shards);
        let mut workers = Vec::with_capacity(shards);
        for index in 0..shards {
            let (tx, rx) = bounded(CHANNEL_BATCHES);
            senders.push(tx);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("dnsrare-shard-{index}"))
                    .spawn(move || run_shard(rx))
                    .expect("spawning a shard thread"),
            );
        }
        Self {
            senders,
            workers,
            hasher: foldhash::fast::FixedState::with_seed(0x646e_7372_6172_6521),
        }
    }

    /// A producer-side handle that batches observations per shard.
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher {
            senders: self.senders.clone(),
            pending: (0..self.senders.len())
                .map(|_| Vec::with_capacity(BATCH))
                .collect(),
            hasher: self.hasher.clone(),
        }
    }

    /// A handle for queries; cheap to clone, usable from any thread.
    pub fn querier(&self) -> Querier {
        Querier {
            senders: self.senders.clone(),
            hasher: self.hasher.clone(),
        }
    }

    /// Closes the channels and waits for every shard to finish what it was
    /// sent. Every [`Dispatcher`] and [`Querier`] must be dropped first.
    pub fn shutdown(self) {
        drop(self.senders);
        for worker in self.workers {
            // A panicking shard has already printed its panic.
            let _ = worker.join();
        }
    }
}

fn run_shard(rx: Receiver<ShardMsg>) {
    let mut shard = Shard::default();
    for msg in rx {
        match msg {
            ShardMsg::Batch(batch) => {
                for observation in &batch {
                    shard.count(observation);
                }
            }
            ShardMsg::Rarest { top, reply } => {
                let _ = reply.send(shard.rarest(top));
            }
            ShardMsg::Hosts { name, reply } => {
                let _ = reply.send(shard.hosts(&name));
            }
            ShardMsg::Size { reply } => {
                let _ = reply.send(shard.size());
            }
        }
    }
}

fn shard_of(hasher: &foldhash::fast::FixedState, name: &str, shards: usize) -> usize {
    (hasher.hash_one(name) % shards as u64) as usize
}

/// Batches observations per shard and sends full batches; owned by one
/// producer thread.
pub struct Dispatcher {
    senders: Vec<Sender<ShardMsg>>,
    pending: Vec<Vec<Observation>>,
    hasher: foldhash::fast::FixedState,
}

impl Dispatcher {
    /// Queues `observation` for its shard, sending the batch when full.
    pub fn push(&mut self, observation: Observation) -> Result<(), EngineError> {
        let shard = shard_of(&self.hasher, &observation.name, self.senders.len());
        self.pending[shard].push(observation);
        if self.pending[shard].len() >= BATCH {
            self.send(shard)?;
        }
        Ok(())
    }

    /// Sends every partly filled batch.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        for shard in 0..self.senders.len() {
            if !self.pending[shard].is_empty() {
                self.send(shard)?;
            }
        }
        Ok(())
    }

    fn send(&mut self, shard: usize) -> Result<(), EngineError> {
        let batch = std::mem::replace(&mut self.pending[shard], Vec::with_capacity(BATCH));
        self.senders[shard]
            .send(ShardMsg::Batch(batch))
            .map_err(|_| EngineError::ShardGone(shard))
    }
}

/// Asks the shards and merges their answers.
#[derive(Clone)]
pub struct Querier {
    senders: Vec<Sender<ShardMsg>>,
    hasher: foldhash::fast::FixedState,
}

impl Querier {
    /// The `top` least-queried names over all shards, least first, ties by
    /// name.
    pub fn rarest(&self, top: usize) -> Result<Vec<Row>, EngineError> {
        let mut rows: Vec<Row> = self
            .ask_all(|reply| ShardMsg::Rarest { top, reply })?
            .into_iter()
            .flatten()
            .collect();
        rows.sort_by(|a, b| a.queries.cmp(&b.queries).then_with(|| a.name.cmp(&b.name)));
        rows.truncate(top);
        Ok(rows)
    }

    /// Who asked for `name`; `None` if it was never seen.
    pub fn hosts(&self, name: &str) -> Result<Option<HostsReply>, EngineError> {
        let shard = shard_of(&self.hasher, name, self.senders.len());
        let (reply, rx) = bounded(1);
        self.senders[shard]
            .send(ShardMsg::Hosts {
                name: name.to_owned(),
                reply,
            })
            .map_err(|_| EngineError::ShardGone(shard))?;
        rx.recv().map_err(|_| EngineError::ShardGone(shard))
    }

    /// Sizes of every shard, in shard order.
    pub fn sizes(&self) -> Result<Vec<ShardSize>, EngineError> {
        self.ask_all(|reply| ShardMsg::Size { reply })
    }

    /// Sends one message per shard and collects the replies in shard order.
    fn ask_all<T>(&self, make: impl Fn(Sender<T>) -> ShardMsg) -> Result<Vec<T>, EngineError> {
        let mut receivers = Vec::with_capacity(self.senders.len());
        for (index, sender) in self.senders.iter().enumerate() {
            let (reply, rx) = bounded(1);
            sender
                .send(make(reply))
                .map_err(|_| EngineError::ShardGone(index))?;
            receivers.push(rx);
        }
        receivers
            .into_iter()
            .enumerate()
            .map(|(index, rx)| rx.recv().map_err(|_| EngineError::ShardGone(index)))
            .collect()
    }
}
