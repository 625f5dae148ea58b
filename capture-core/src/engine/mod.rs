//! The counting engine: share-nothing shards, each owning the registered
//! domains whose last two labels hash to it (so every per-domain figure is
//! exact and local), fed in batches over crossbeam channels.
//!
//! Data flows one way: producers (the ring-buffer drain, the pcap reader)
//! hand [`Observation`]s to a [`Dispatcher`], which hashes each name once
//! and appends it to the [`Batch`] of the shard its last two labels choose
//! (every name under one registered domain shares them, so a domain lives
//! whole in one shard; the public suffix is looked up by the shard, once
//! per new name); each shard worker owns its [`state::ShardState`] outright, so counting
//! takes no locks. Batches come back to the producer for reuse, so steady
//! ingest allocates nothing per event. Queries travel down the same
//! channels, so a shard answers after every batch sent before the query;
//! the answers are merged here.

pub mod batch;
pub mod chunked;
pub mod domain;
pub mod hll;
pub mod leads;
pub mod report;
pub mod snapshot;
pub mod state;
pub mod view;

use std::{collections::HashMap, hash::BuildHasher, sync::Arc, thread::JoinHandle};

use capture_common::EventKind;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use thiserror::Error;

use crate::{
    ingest::observation::Observation,
    model::{
        self,
        host::HostAddr,
        query::{ReportQuery, Sort},
        report::{DomainRow, Finding, FoldedRow, HistogramBucket, HostRow, HostsReply},
        status::ShardSize,
    },
    score::{
        findings::{self, Leads},
        host::{HOST_TOP_NAMES, SUSPICIOUS, host_score},
        lists::Lists,
    },
};
use batch::{Batch, Item};
use state::{Limits, ShardData, ShardState};
use view::{HostPartial, KnownScores, ScoreContext};

/// Observations per batch handed to a shard.
pub const BATCH: usize = 1024;
/// Batches a shard's channel holds before the producer waits.
const CHANNEL_BATCHES: usize = 64;
/// Seed of the name hash; fixed so that snapshots and shards agree.
const HASH_SEED: u64 = 0x646e_7372_6172_6521;

/// The hasher of names, domains and hosts in every table.
pub type NameHasher = foldhash::fast::FixedState;

/// The engine's hasher (the same in every shard and run).
pub fn name_hasher() -> NameHasher {
    foldhash::fast::FixedState::with_seed(HASH_SEED)
}

/// Errors talking to the shards.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A shard did not answer: the engine shut down, or the shard failed on
    /// this request (the daemon's log says why).
    #[error("shard {0} did not answer (the engine stopped, or the request failed: see the log)")]
    ShardGone(usize),
}

/// How the engine is laid out and bounded.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Number of shards (at least one).
    pub shards: usize,
    /// Names per registered domain before new ones fold.
    pub fold_names: u32,
    /// Bytes of state for all shards together.
    pub max_memory: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            shards: 1,
            fold_names: Limits::default().fold_names,
            max_memory: Limits::default().budget_bytes,
        }
    }
}

impl EngineConfig {
    /// The limits of each shard: the memory budget is split evenly; the
    /// fold limit applies as is, since a domain lives in one shard.
    pub fn shard_limits(&self) -> Limits {
        Limits {
            fold_names: self.fold_names,
            budget_bytes: self.max_memory / self.shards.max(1),
        }
    }
}

/// A message to one shard.
pub(crate) enum ShardMsg {
    /// Count these.
    Batch(Batch),
    /// Size, hosts and exploded domains in one answer.
    Overview { reply: Sender<view::Overview> },
    /// Name rows for a report.
    Names {
        context: Arc<ScoreContext>,
        query: ReportQuery,
        reply: Sender<view::NameRows>,
    },
    /// Domain rows.
    Domains {
        context: Arc<ScoreContext>,
        query: ReportQuery,
        reply: Sender<Vec<DomainRow>>,
    },
    /// Leads for findings.
    Leads {
        context: Arc<ScoreContext>,
        query: ReportQuery,
        reply: Sender<Leads>,
    },
    /// Who asked for `name` (only the owning shard has it).
    Hosts {
        name: String,
        reply: Sender<Option<HostsReply>>,
    },
    /// Sizes and totals.
    Size { reply: Sender<ShardSize> },
    /// Names per query-count bucket.
    Histogram {
        reply: Sender<[u64; model::report::HISTOGRAM_BUCKETS]>,
    },
    /// A copy of everything counted, for a snapshot.
    Snapshot { reply: Sender<ShardData> },
}

/// Every shard's overview, merged.
#[derive(Clone, Debug, Default)]
pub struct EngineOverview {
    /// The network-wide context names are scored in.
    pub context: ScoreContext,
    /// Each shard's size, in shard order.
    pub sizes: Vec<ShardSize>,
    /// Every host with its counts over all shards (a host asks names in
    /// several).
    pub hosts: HashMap<HostAddr, HostPartial>,
    /// Every exploded domain, most folded queries first.
    pub folded: Vec<FoldedRow>,
}

impl EngineOverview {
    /// Queries counted, all shards.
    pub fn counted(&self) -> u64 {
        self.sizes.iter().map(|s| s.totals.queries).sum()
    }
}

/// The running shards.
pub struct Engine {
    senders: Vec<Sender<ShardMsg>>,
    workers: Vec<JoinHandle<()>>,
    recycled: Receiver<Batch>,
    hasher: NameHasher,
}

impl Engine {
    /// Starts the shards, empty or holding `restored` (one `ShardData` per
    /// shard, from a snapshot; its length decides the shard count); names
    /// are marked against `lists`.
    pub fn start(
        config: &EngineConfig,
        restored: Option<Vec<ShardData>>,
        lists: Arc<Lists>,
    ) -> Self {
        Self::start_with(config, restored, lists, true)
    }

    /// Starts empty shards for reading files: they score nothing while
    /// counting (a live engine scores new names and beats whenever it is
    /// idle, so that reports are quick; a file's report comes once, at the
    /// end, and scoring a beat ring each time it grows would be wasted).
    pub fn start_for_files(config: &EngineConfig, lists: Arc<Lists>) -> Self {
        Self::start_with(config, None, lists, false)
    }

    fn start_with(
        config: &EngineConfig,
        restored: Option<Vec<ShardData>>,
        lists: Arc<Lists>,
        idle_scoring: bool,
    ) -> Self {
        let hasher = name_hasher();
        let shards = restored.as_ref().map_or(config.shards.max(1), Vec::len);
        let limits = EngineConfig { shards, ..*config }.shard_limits();
        let mut restored = restored.map(Vec::into_iter);
        let (recycle, recycled) = unbounded();
        let mut senders = Vec::with_capacity(shards);
        let mut workers = Vec::with_capacity(shards);
        for index in 0..shards {
            let (tx, rx) = bounded(CHANNEL_BATCHES);
            let state = match restored.as_mut().and_then(Iterator::next) {
                Some(data) => {
                    ShardState::from_data(data, limits, hasher.clone(), Arc::clone(&lists))
                }
                None => ShardState::new(limits, hasher.clone(), Arc::clone(&lists)),
            };
            let recycle = recycle.clone();
            senders.push(tx);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("dnsrare-shard-{index}"))
                    .spawn(move || run_shard(state, &rx, &recycle, idle_scoring))
                    .expect("spawning a shard thread"),
            );
        }
        Self {
            senders,
            workers,
            recycled,
            hasher,
        }
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.senders.len()
    }

    /// A producer-side handle that batches observations per shard.
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher {
            batcher: self.batcher(),
            senders: self.senders.clone(),
        }
    }

    /// Per-shard batching without sending, for producers that order
    /// batches themselves before a [`Dispatcher::send_batch`].
    pub fn batcher(&self) -> Batcher {
        Batcher {
            pending: (0..self.senders.len())
                .map(|_| Batch::with_capacity(BATCH))
                .collect(),
            recycled: self.recycled.clone(),
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

/// Names or rings scored per idle step, between checks for new messages.
const IDLE_SCORING: usize = 256;

fn run_shard(
    mut state: ShardState,
    rx: &Receiver<ShardMsg>,
    recycle: &Sender<Batch>,
    idle_scoring: bool,
) {
    // The scores of the last leads request, kept for the name rows of the
    // same report if they are asked next.
    let mut known: Option<(Arc<ScoreContext>, KnownScores)> = None;
    loop {
        // Score new names and rings while idle; block once all are scored.
        let msg = match rx.try_recv() {
            Ok(msg) => msg,
            Err(crossbeam_channel::TryRecvError::Empty) => {
                if idle_scoring && state.refresh_scores(IDLE_SCORING) {
                    continue;
                }
                match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => return,
                }
            }
            Err(crossbeam_channel::TryRecvError::Disconnected) => return,
        };
        // A bug must not stop the counting: a message whose handling panics
        // is dropped (its asker sees the shard fail to answer), the panic is
        // logged, and the shard goes on with the next one.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle(&mut state, msg, recycle, &mut known)
        }));
        if handled.is_err() {
            log::error!("a shard failed on one message and dropped it (see the panic above)");
        }
    }
}

/// Handles one message on a shard. `known` holds the quick scores of the
/// last message if it asked for leads: the name rows of the same context,
/// asked right after, reuse them; any other message drops them (a batch
/// changes the counts they came from).
fn handle(
    state: &mut ShardState,
    msg: ShardMsg,
    recycle: &Sender<Batch>,
    known: &mut Option<(Arc<ScoreContext>, KnownScores)>,
) {
    let last = known.take();
    match msg {
        ShardMsg::Batch(mut batch) => {
            for (item, name, answer) in batch.iter() {
                state.count(item, name, answer);
            }
            state.update_pressure();
            batch.clear();
            // The producer may be gone at shutdown; the batch then drops.
            let _ = recycle.send(batch);
        }
        ShardMsg::Overview { reply } => {
            let _ = reply.send(view::overview(state));
        }
        ShardMsg::Names {
            context,
            query,
            reply,
        } => {
            state.refresh_scores(usize::MAX);
            let scores = last
                .filter(|(scored_in, _)| Arc::ptr_eq(scored_in, &context))
                .map(|(_, scores)| scores)
                .unwrap_or_default();
            let _ = reply.send(view::name_rows(state, &context, &query, &scores));
        }
        ShardMsg::Domains {
            context,
            query,
            reply,
        } => {
            state.refresh_scores(usize::MAX);
            let _ = reply.send(view::domain_rows(state, &context, &query));
        }
        ShardMsg::Leads {
            context,
            query,
            reply,
        } => {
            state.refresh_scores(usize::MAX);
            let mut scores = KnownScores::for_names(state.name_count());
            let leads = leads::leads(state, &context, &query, &mut scores);
            let _ = reply.send(leads);
            *known = Some((context, scores));
        }
        ShardMsg::Hosts { name, reply } => {
            let _ = reply.send(view::hosts(state, &name));
        }
        ShardMsg::Size { reply } => {
            let _ = reply.send(view::size(state));
        }
        ShardMsg::Histogram { reply } => {
            let _ = reply.send(view::query_histogram(state));
        }
        ShardMsg::Snapshot { reply } => {
            let _ = reply.send(state.data().clone());
        }
    }
}

/// The shard that owns `name` (and every name under its registered
/// domain): a hash of its last two labels; `name_hash` is the hash of the
/// whole name, reused when the name has two labels or fewer.
pub fn shard_of(hasher: &NameHasher, name: &[u8], name_hash: u64, shards: usize) -> usize {
    let key = domain::last_two_labels_offset(name);
    let hash = if key == 0 {
        name_hash
    } else {
        hasher.hash_one(&name[key..])
    };
    (hash % shards as u64) as usize
}

/// Batches observations per shard for one producer thread and hands each
/// full batch to a sink, without sending it: a [`Dispatcher`] sends it at
/// once, the parallel offline reader keeps a chunk's batches until every
/// earlier chunk's have gone (so each shard still counts in file order).
pub struct Batcher {
    pending: Vec<Batch>,
    recycled: Receiver<Batch>,
    hasher: NameHasher,
}

impl Batcher {
    /// Queues `observation` for its shard; a batch that fills up goes to
    /// `full` with its shard index. A response whose name's latest item in
    /// the pending batch is its client's query rides on that query
    /// ([`Batch::attach_response`]), so the shard looks the name up once.
    /// The gateway's own upstream queries are not a client's and are not
    /// counted per host (the capture counters count them per direction).
    pub fn push<E>(
        &mut self,
        observation: &Observation<'_>,
        full: impl FnOnce(usize, Batch) -> Result<(), E>,
    ) -> Result<(), E> {
        if observation.upstream {
            return Ok(());
        }
        let name = observation.name.as_bytes();
        let name_hash = self.hasher.hash_one(name);
        let shard = shard_of(&self.hasher, name, name_hash, self.pending.len());
        let item = Item {
            name_hash,
            time_ns: observation.time_ns,
            host: observation.host,
            name_start: 0,
            name_len: 0,
            qtype: observation.qtype,
            kind: observation.kind,
            rcode: observation.rcode,
            answer: Item::NO_ANSWER,
            responded: false,
        };
        let batch = &mut self.pending[shard];
        let answers = observation.answers.parsed();
        if item.kind == EventKind::Response && batch.attach_response(name, &item, answers) {
            return Ok(());
        }
        match answers {
            Some(answers) => batch.push_answered(name, item, answers),
            None => batch.push(name, item),
        }
        if self.pending[shard].len() >= BATCH {
            return full(shard, self.take(shard));
        }
        Ok(())
    }

    /// Hands every partly filled batch to `each`, in shard order.
    pub fn flush<E>(
        &mut self,
        mut each: impl FnMut(usize, Batch) -> Result<(), E>,
    ) -> Result<(), E> {
        for shard in 0..self.pending.len() {
            if !self.pending[shard].is_empty() {
                each(shard, self.take(shard))?;
            }
        }
        Ok(())
    }

    /// The pending batch of `shard`, replaced by a recycled or new one.
    fn take(&mut self, shard: usize) -> Batch {
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity(BATCH));
        std::mem::replace(&mut self.pending[shard], fresh)
    }
}

/// Batches observations per shard and sends full batches; owned by one
/// producer thread.
pub struct Dispatcher {
    batcher: Batcher,
    senders: Vec<Sender<ShardMsg>>,
}

impl Dispatcher {
    /// Queues `observation` for its shard, sending the batch when full
    /// (see [`Batcher::push`]).
    pub fn push(&mut self, observation: &Observation<'_>) -> Result<(), EngineError> {
        let senders = &self.senders;
        self.batcher
            .push(observation, |shard, batch| send(senders, shard, batch))
    }

    /// Sends every partly filled batch.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        let senders = &self.senders;
        self.batcher
            .flush(|shard, batch| send(senders, shard, batch))
    }

    /// Sends `batch`, made by a [`Batcher`] of this engine, to `shard`.
    pub fn send_batch(&self, shard: usize, batch: Batch) -> Result<(), EngineError> {
        send(&self.senders, shard, batch)
    }
}

fn send(senders: &[Sender<ShardMsg>], shard: usize, batch: Batch) -> Result<(), EngineError> {
    senders[shard]
        .send(ShardMsg::Batch(batch))
        .map_err(|_| EngineError::ShardGone(shard))
}

/// Asks the shards and merges their answers.
#[derive(Clone)]
pub struct Querier {
    senders: Vec<Sender<ShardMsg>>,
    hasher: NameHasher,
}

impl Querier {
    /// Every shard's size, hosts and exploded domains, merged: one round
    /// trip.
    pub fn overview(&self) -> Result<EngineOverview, EngineError> {
        let mut merged = EngineOverview::default();
        let overviews = self.ask_all(|reply| ShardMsg::Overview { reply })?;
        for o in &overviews {
            merged.sizes.push(o.size);
            merged.folded.extend(o.folded.iter().cloned());
            for &partial in &o.hosts {
                merged
                    .hosts
                    .entry(partial.addr)
                    .and_modify(|m| {
                        m.queries += partial.queries;
                        m.names += partial.names;
                        m.nxdomain += partial.nxdomain;
                        m.random_nx_names += partial.random_nx_names;
                    })
                    .or_insert(partial);
            }
        }
        merged.context = ScoreContext::merge(&overviews, merged.hosts.values());
        merged.folded.sort_by(|a, b| {
            b.folded_queries
                .cmp(&a.folded_queries)
                .then_with(|| a.domain.cmp(&b.domain))
        });
        Ok(merged)
    }

    /// The name rows of a report over all shards: the best `query.top`
    /// in `rows`, every deny-listed name in `denied` (best first), and how
    /// many names the allow list hid.
    pub fn names(
        &self,
        context: &Arc<ScoreContext>,
        query: &ReportQuery,
    ) -> Result<view::NameRows, EngineError> {
        let mut merged = view::NameRows::default();
        for mut part in self.ask_all(|reply| ShardMsg::Names {
            context: Arc::clone(context),
            query: query.clone(),
            reply,
        })? {
            merged.rows.append(&mut part.rows);
            merged.denied.append(&mut part.denied);
            merged.allow_hidden += part.allow_hidden;
        }
        merged.rows.sort_by(match query.sort {
            Sort::Score => view::score_order,
            Sort::Rare => view::rarest_order,
        });
        merged.rows.truncate(query.top);
        merged.denied.sort_by(view::score_order);
        Ok(merged)
    }

    /// Hosts ranked by how suspicious their findings are (the best counts
    /// whole, every other clearly suspicious one a fifth); `totals` are the
    /// hosts of the [`EngineOverview`].
    pub fn host_rows(
        &self,
        context: &Arc<ScoreContext>,
        totals: &HashMap<HostAddr, HostPartial>,
        query: &ReportQuery,
    ) -> Result<Vec<HostRow>, EngineError> {
        Ok(self.all_findings(context, query)?.host_rows(totals, query))
    }

    /// Findings over all shards, most suspicious first: one `denied`
    /// finding per deny entry that matched (whatever `query.top` and
    /// `query.min_score`), then the best `query.top` others.
    pub fn findings(
        &self,
        context: &Arc<ScoreContext>,
        query: &ReportQuery,
    ) -> Result<Vec<Finding>, EngineError> {
        Ok(self.all_findings(context, query)?.shown(query))
    }

    /// Every finding over all shards for `query`'s time and host filters,
    /// whatever its score: what both the findings and the host rows of a
    /// report are cut from, so the leads are gathered once.
    pub fn all_findings(
        &self,
        context: &Arc<ScoreContext>,
        query: &ReportQuery,
    ) -> Result<AllFindings, EngineError> {
        let mut leads = Leads::default();
        for mut part in self.ask_all(|reply| ShardMsg::Leads {
            context: Arc::clone(context),
            query: query.clone(),
            reply,
        })? {
            leads.names.append(&mut part.names);
            leads.domains.append(&mut part.domains);
            leads.tallies.append(&mut part.tallies);
            leads.denied.append(&mut part.denied);
        }
        leads.names = leads::merge_names(std::mem::take(&mut leads.names));
        Ok(AllFindings {
            denied: findings::denied(&leads.denied),
            others: findings::build(&leads, &context.base),
        })
    }

    /// Registered domains ranked by their most suspicious name.
    pub fn domain_rows(
        &self,
        context: &Arc<ScoreContext>,
        query: &ReportQuery,
    ) -> Result<Vec<DomainRow>, EngineError> {
        let mut rows: Vec<DomainRow> = self
            .ask_all(|reply| ShardMsg::Domains {
                context: Arc::clone(context),
                query: query.clone(),
                reply,
            })?
            .into_iter()
            .flatten()
            .collect();
        rows.sort_by(view::domain_order);
        rows.truncate(query.top);
        Ok(rows)
    }

    /// Every exploded domain's aggregate row, most folded queries first.
    pub fn folded(&self) -> Result<Vec<FoldedRow>, EngineError> {
        Ok(self.overview()?.folded)
    }

    /// Who asked for `name`; `None` if it was never seen.
    pub fn hosts(&self, name: &str) -> Result<Option<HostsReply>, EngineError> {
        let bytes = name.as_bytes();
        let shard = shard_of(
            &self.hasher,
            bytes,
            self.hasher.hash_one(bytes),
            self.senders.len(),
        );
        let (reply, rx) = bounded(1);
        self.senders[shard]
            .send(ShardMsg::Hosts {
                name: name.to_owned(),
                reply,
            })
            .map_err(|_| EngineError::ShardGone(shard))?;
        rx.recv().map_err(|_| EngineError::ShardGone(shard))
    }

    /// How many names were asked how many times, all shards: the non-empty
    /// buckets, fewest queries first.
    pub fn query_histogram(&self) -> Result<Vec<HistogramBucket>, EngineError> {
        let mut merged = [0u64; model::report::HISTOGRAM_BUCKETS];
        for part in self.ask_all(|reply| ShardMsg::Histogram { reply })? {
            for (m, p) in merged.iter_mut().zip(part) {
                *m += p;
            }
        }
        Ok(merged
            .iter()
            .enumerate()
            .filter(|&(_, &names)| names > 0)
            .map(|(exp, &names)| HistogramBucket {
                max_queries: 1u64.checked_shl(exp as u32).unwrap_or(u64::MAX),
                names,
            })
            .collect())
    }

    /// Sizes of every shard, in shard order.
    pub fn sizes(&self) -> Result<Vec<ShardSize>, EngineError> {
        self.ask_all(|reply| ShardMsg::Size { reply })
    }

    /// A copy of every shard's data, in shard order, for a snapshot.
    pub fn snapshot(&self) -> Result<Vec<ShardData>, EngineError> {
        self.ask_all(|reply| ShardMsg::Snapshot { reply })
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

/// Every finding of a report's filters, before the cut to `top` and
/// `min_score` ([`Querier::all_findings`]).
#[derive(Clone, Debug, Default)]
pub struct AllFindings {
    /// One per deny entry that matched.
    pub denied: Vec<Finding>,
    /// The others, most suspicious first.
    pub others: Vec<Finding>,
}

impl AllFindings {
    /// What a report shows: every denied finding, then the best
    /// `query.top` others scoring at least `query.min_score`.
    pub fn shown(&self, query: &ReportQuery) -> Vec<Finding> {
        let mut all = self.denied.clone();
        all.extend(
            self.others
                .iter()
                .filter(|f| f.score >= query.min_score)
                .take(query.top)
                .cloned(),
        );
        all
    }

    /// Hosts ranked by how suspicious their findings are (the best counts
    /// whole, every other clearly suspicious one a fifth), the best
    /// `query.top` scoring at least `query.min_score`; `totals` are the
    /// hosts of the [`EngineOverview`].
    pub fn host_rows(
        &self,
        totals: &HashMap<HostAddr, HostPartial>,
        query: &ReportQuery,
    ) -> Vec<HostRow> {
        // Most suspicious first, so each host's list is too.
        let mut by_host: std::collections::BTreeMap<std::net::IpAddr, Vec<&Finding>> =
            std::collections::BTreeMap::new();
        for f in self.denied.iter().chain(&self.others) {
            for &h in &f.hosts {
                by_host.entry(h).or_default().push(f);
            }
        }
        let mut rows: Vec<HostRow> = by_host
            .into_iter()
            .map(|(addr, findings)| {
                let t = totals.get(&HostAddr::from(addr));
                HostRow {
                    addr,
                    score: host_score(findings.iter().map(|f| f.score)),
                    queries: t.map_or(0, |t| t.queries),
                    names: t.map_or(0, |t| t.names),
                    nxdomain: t.map_or(0, |t| t.nxdomain),
                    suspicious_names: findings
                        .iter()
                        .filter(|f| f.score >= SUSPICIOUS)
                        .map(|f| f.names.len() as u64 + f.more_names)
                        .sum(),
                    top_names: findings
                        .iter()
                        .take(HOST_TOP_NAMES)
                        .filter_map(|f| f.names.first().map(|n| (n.clone(), f.score)))
                        .collect(),
                    sensor: None,
                }
            })
            .filter(|r| r.score >= query.min_score)
            .collect();
        rows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.addr.cmp(&b.addr)));
        rows.truncate(query.top);
        rows
    }
}
