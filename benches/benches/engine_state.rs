//! State size and snapshot cost at scale (not a timing loop: one-shot
//! figures, printed): bytes per distinct name and per (host, name) pair,
//! and the time to write and load a snapshot of a million names.
//!
//! `cargo bench -p dnsrare-benches --bench engine_state`

use std::time::Instant;

use dnsrare_benches::{distinct_names, filled_engine, query_event};
use dnsrare_core::{
    engine::{
        snapshot::{self, Snapshot},
        state::ShardState,
    },
    ingest::{answers::AnswerBytes, observation::EventDecoder},
};

const NAMES: usize = 1_000_000;

fn main() {
    // Criterion's `cargo bench` passes --bench; nothing else to parse.
    let events = distinct_names(NAMES, 2000);
    let name_bytes: usize = events.iter().map(|e| usize::from(e.name_len) - 1).sum();

    let engine = filled_engine(&events, 1);
    let q = engine.querier();
    let size = q.sizes().expect("engine running")[0];
    let per_name = (size.memory_bytes as f64 - name_bytes as f64) / size.names as f64;
    println!(
        "state: {} names, {} pairs, {:.1} MiB; {:.1} bytes per name beyond its {:.1} name bytes (each with one host pair)",
        size.names,
        size.pairs,
        size.memory_bytes as f64 / 1048576.0,
        per_name,
        name_bytes as f64 / size.names as f64
    );

    // Pairs: 200 more hosts for each of 10,000 names.
    let mut dispatcher = engine.dispatcher();
    let mut decoder = EventDecoder::new(0);
    for i in 0..10_000u32 {
        let name = format!("n{i:07}.d{}.org", i % 20_000);
        for h in 0..200u32 {
            let e = query_event(&name, 5000 + h, 2);
            dispatcher
                .push(&decoder.decode(&e, AnswerBytes::default()).expect("valid"))
                .expect("running");
        }
    }
    dispatcher.flush().expect("running");
    let after = q.sizes().expect("engine running")[0];
    let per_pair =
        (after.memory_bytes - size.memory_bytes) as f64 / (after.pairs - size.pairs) as f64;
    println!(
        "pairs: {} more cost {:.1} bytes each (table, entry, per-domain host record)",
        after.pairs - size.pairs,
        per_pair
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let shards = q.snapshot().expect("engine running");
    let snap = Snapshot {
        shards,
        ..Snapshot::default()
    };
    let t = Instant::now();
    let written = snapshot::write(dir.path(), &snap).expect("write");
    let write_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let loaded = snapshot::load(dir.path()).expect("load").expect("present");
    let decode_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let hasher = dnsrare_core::engine::name_hasher();
    let states: Vec<ShardState> = loaded
        .shards
        .into_iter()
        .map(|d| ShardState::from_data(d, Default::default(), hasher.clone(), Default::default()))
        .collect();
    let rebuild_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "snapshot of {} names: {:.1} MiB, write {write_ms:.0} ms, read+check+decode {decode_ms:.0} ms, index rebuild {rebuild_ms:.0} ms",
        states.iter().map(ShardState::name_count).sum::<usize>(),
        written.bytes as f64 / 1048576.0
    );
    drop((dispatcher, q));
    engine.shutdown();
}
