//! Parallel parsing of captured frames for `dnsrare pcap`, in file order.
//!
//! The calling thread only frames the capture: it copies each frame into
//! a chunk of a few thousand frames. Worker threads, one per CPU, take whole chunks
//! and run the twin parser, the event decoder and per-shard batching on
//! them. A sequencer thread sends each chunk's batches to the shards only
//! after every earlier chunk's, so every shard counts its names in file
//! order, exactly as a single reader would: counts, first-seen times and
//! beats do not depend on the number of workers.
//!
//! A fixed pool of chunk buffers, returned by the sequencer, bounds the
//! memory in flight and makes the framer wait when the workers or the
//! shards fall behind.

use std::{collections::BTreeMap, convert::Infallible, num::NonZeroUsize, ops::Range};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::{
    engine::{Batcher, Engine, EngineError, batch::Batch},
    ingest::{frame_decoder::FrameDecoder, pcap::Link},
    model::capture::{CaptureCounters, ParseErrorCounts},
};

/// Frames per chunk.
const CHUNK_FRAMES: usize = 2048;
/// Bytes of frames per chunk (a larger frame gets a chunk of its own).
const CHUNK_BYTES: usize = 1 << 20;
/// Workers at most (the shards want cores too).
const MAX_WORKERS: usize = 8;

/// How the work is split.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Parser threads.
    workers: usize,
    /// Frames per chunk at most.
    chunk_frames: usize,
}

impl Layout {
    /// One worker per CPU (at most [`MAX_WORKERS`]), chunks of
    /// [`CHUNK_FRAMES`].
    fn for_this_machine() -> Self {
        Self {
            workers: std::thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .min(MAX_WORKERS),
            chunk_frames: CHUNK_FRAMES,
        }
    }
}

/// One frame inside a [`Chunk`].
struct ChunkFrame {
    link: Link,
    time_ns: u64,
    bytes: Range<usize>,
}

/// Frames copied out of the capture, then the batches a worker made of
/// them.
#[derive(Default)]
struct Chunk {
    /// Its place in the file: chunks are counted in this order.
    index: u64,
    bytes: Vec<u8>,
    frames: Vec<ChunkFrame>,
    /// Batches with their shard, in the order the worker filled them.
    batches: Vec<(usize, Batch)>,
}

/// What the workers counted, all chunks.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// The twin parser's counters.
    pub counters: CaptureCounters,
    /// Names and answer sections that did not decode.
    pub decode_errors: ParseErrorCounts,
}

/// Where the framer puts frames.
pub(super) struct FrameSink {
    chunk_frames: usize,
    current: Chunk,
    next_index: u64,
    free: Receiver<Chunk>,
    work: Sender<Chunk>,
}

impl FrameSink {
    /// Queues one frame (copied) for parsing.
    pub fn push(&mut self, link: Link, time_ns: u64, data: &[u8]) {
        let full = self.current.frames.len() >= self.chunk_frames
            || (!self.current.frames.is_empty()
                && self.current.bytes.len() + data.len() > CHUNK_BYTES);
        if full {
            self.send();
        }
        let start = self.current.bytes.len();
        self.current.bytes.extend_from_slice(data);
        self.current.frames.push(ChunkFrame {
            link,
            time_ns,
            bytes: start..start + data.len(),
        });
    }

    /// Hands the current chunk to the workers and takes a free one,
    /// waiting while every buffer is in flight.
    fn send(&mut self) {
        // With the workers or the sequencer gone (a panic), the frames
        // cannot be counted; a fresh buffer keeps the framer going to the
        // end and the caller sees the failure when the threads are joined.
        let fresh = self.free.recv().unwrap_or_default();
        let mut chunk = std::mem::replace(&mut self.current, fresh);
        chunk.index = self.next_index;
        self.next_index += 1;
        let _ = self.work.send(chunk);
    }

    /// Sends what is left.
    fn finish(mut self) {
        if !self.current.frames.is_empty() {
            self.send();
        }
    }
}

/// Runs `framer` on this thread with a [`FrameSink`]; every frame it pushes
/// is parsed on a worker thread and counted by `engine`'s shards in the
/// order pushed. Returns what `framer` returned and what the workers
/// counted, or the first engine error once every frame is through.
pub(super) fn parse_frames<R>(
    engine: &Engine,
    framer: impl FnOnce(&mut FrameSink) -> R,
) -> Result<(R, Parsed), EngineError> {
    parse_frames_with(engine, Layout::for_this_machine(), framer)
}

fn parse_frames_with<R>(
    engine: &Engine,
    layout: Layout,
    framer: impl FnOnce(&mut FrameSink) -> R,
) -> Result<(R, Parsed), EngineError> {
    let workers = layout.workers.max(1);
    let pool = 2 * workers + 2;
    let (free_tx, free_rx) = bounded(pool);
    for _ in 0..pool {
        let _ = free_tx.send(Chunk::default());
    }
    let (work_tx, work_rx) = bounded::<Chunk>(pool);
    let (done_tx, done_rx) = unbounded::<Chunk>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|k| {
                let (work, done, batcher) = (work_rx.clone(), done_tx.clone(), engine.batcher());
                std::thread::Builder::new()
                    .name(format!("dnsrare-parse-{k}"))
                    .spawn_scoped(scope, move || parse_worker(&work, &done, batcher))
                    .expect("spawning a parser thread")
            })
            .collect();
        drop((work_rx, done_tx));
        let dispatcher = engine.dispatcher();
        let sequencer = std::thread::Builder::new()
            .name("dnsrare-sequencer".into())
            .spawn_scoped(scope, move || sequence(&done_rx, &free_tx, &dispatcher))
            .expect("spawning the sequencer thread");
        let mut sink = FrameSink {
            chunk_frames: layout.chunk_frames.max(1),
            current: Chunk::default(),
            next_index: 0,
            free: free_rx,
            work: work_tx,
        };
        let framed = framer(&mut sink);
        sink.finish();
        let mut parsed = Parsed::default();
        for handle in handles {
            let worker = handle.join().expect("a parser thread panicked");
            parsed.counters.add(&worker.counters);
            parsed.decode_errors.add(&worker.decode_errors);
        }
        sequencer.join().expect("the sequencer thread panicked")?;
        Ok((framed, parsed))
    })
}

/// Parses chunks until the framer is done.
fn parse_worker(work: &Receiver<Chunk>, done: &Sender<Chunk>, mut batcher: Batcher) -> Parsed {
    let mut decoder = FrameDecoder::new();
    for mut chunk in work {
        // A bug must not stop the reading, nor leave the sequencer waiting
        // for this chunk: a chunk whose parsing panics is logged and goes
        // on with no batches (its frames are not counted).
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parse_chunk(&mut chunk, &mut decoder, &mut batcher);
        }));
        if parsed.is_err() {
            log::error!(
                "a parser thread failed on {} frames (see the panic above); they are not counted",
                chunk.frames.len()
            );
            chunk.batches.clear();
            let Ok(()) = batcher.flush(|_, _| Ok::<(), Infallible>(()));
        }
        if done.send(chunk).is_err() {
            break;
        }
    }
    Parsed {
        counters: decoder.counters(),
        decode_errors: decoder.decode_errors(),
    }
}

/// Parses one chunk's frames into its batches.
fn parse_chunk(chunk: &mut Chunk, decoder: &mut FrameDecoder, batcher: &mut Batcher) {
    let Chunk {
        bytes,
        frames,
        batches,
        ..
    } = chunk;
    let mut full = |shard, batch| {
        batches.push((shard, batch));
        Ok::<(), Infallible>(())
    };
    for frame in frames.iter() {
        let data = &bytes[frame.bytes.clone()];
        decoder.decode(frame.link, data, frame.time_ns, |observation| {
            let Ok(()) = batcher.push(observation, &mut full);
        });
    }
    let Ok(()) = batcher.flush(&mut full);
}

/// Sends the chunks' batches to the shards in chunk order, and returns
/// each chunk to the pool once sent. After an engine error the rest is
/// dropped (still returned), and the error is the result.
fn sequence(
    done: &Receiver<Chunk>,
    free: &Sender<Chunk>,
    dispatcher: &crate::engine::Dispatcher,
) -> Result<(), EngineError> {
    let mut waiting: BTreeMap<u64, Chunk> = BTreeMap::new();
    let mut next = 0u64;
    let mut failed: Option<EngineError> = None;
    for chunk in done {
        waiting.insert(chunk.index, chunk);
        while let Some(mut chunk) = waiting.remove(&next) {
            for (shard, batch) in chunk.batches.drain(..) {
                if failed.is_none()
                    && let Err(e) = dispatcher.send_batch(shard, batch)
                {
                    failed = Some(e);
                }
            }
            chunk.bytes.clear();
            chunk.frames.clear();
            let _ = free.send(chunk);
            next += 1;
        }
    }
    failed.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use std::{path::PathBuf, sync::Arc};

    use super::*;
    use crate::{
        engine::{EngineConfig, report::History},
        ingest::pcap::{self, FileTotals},
        model::{capture::CaptureSummary, query::ReportQuery},
        score::{lists::Lists, report_lists::ReportLists},
    };

    /// The report of `files` parsed with `layout`, as JSON.
    fn report(files: &[PathBuf], layout: Layout) -> String {
        let config = EngineConfig {
            shards: 2,
            ..EngineConfig::default()
        };
        let engine = Engine::start_for_files(&config, Arc::new(Lists::embedded()));
        let ((), parsed) = parse_frames_with(&engine, layout, |sink| {
            for file in files {
                pcap::read_frames(file, &mut FileTotals::default(), |frame| {
                    sink.push(frame.link, frame.time_ns, frame.data);
                })
                .expect("a readable capture");
            }
        })
        .expect("the engine runs");
        assert!(parsed.counters.queries > 1000, "{:?}", parsed.counters);
        let capture = CaptureSummary::new(&parsed.counters, &parsed.decode_errors);
        let querier = engine.querier();
        let report = crate::engine::report::report(
            &querier,
            capture,
            &ReportQuery::default(),
            History::None,
            &Arc::new(ReportLists::default()),
        )
        .expect("a report");
        drop(querier);
        engine.shutdown();
        serde_json::to_string(&report).expect("the report serializes")
    }

    #[test]
    fn the_report_does_not_depend_on_workers_or_chunks() {
        // The shared captures sit beside the workspace (in CI too).
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/pcaps");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("{} is absent: nothing to compare here", dir.display());
            return;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("c2_") || n.starts_with("tunnel_"))
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no captures in {}", dir.display());
        let one = report(
            &files,
            Layout {
                workers: 1,
                chunk_frames: CHUNK_FRAMES,
            },
        );
        for (workers, chunk_frames) in [(2, 1), (3, 7), (4, 100)] {
            let many = report(
                &files,
                Layout {
                    workers,
                    chunk_frames,
                },
            );
            assert!(
                one == many,
                "{workers} workers with chunks of {chunk_frames} frames give another report"
            );
        }
    }
}
