//! The counting engine end to end on the producer side: decoding ring
//! events, dispatching batches, shard updates, in events per second for 1
//! and 2 shards, against a baseline in the same run (one thread counting
//! decoded names in a std `HashMap`, what a naive counter does, with no
//! hosts, times or domains). 300 hosts, 100k Zipf-popular names and a fifth
//! of never-repeated names; the engine counts a first million events before
//! timing the next million (a running daemon knows the popular names). And
//! the latency of a report over a million distinct names, idle and while
//! ingest continues.

use std::{
    collections::HashMap,
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dnsrare_benches::{distinct_names, filled_engine, realistic_events, realistic_mix};
use dnsrare_core::{
    engine::report as query,
    ingest::{answers::AnswerBytes, observation::EventDecoder},
    model::{capture::CaptureSummary, query::ReportQuery},
};

const EVENTS: usize = 1_000_000;

fn ingest(c: &mut Criterion) {
    // 100k popular names (Zipf), 20% never-repeated tail, 300 hosts.
    let mix = realistic_mix(EVENTS, 100_000, 0.2, 300);
    let events = &mix.events;
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.bench_function("baseline_std_hashmap_1_thread", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut decoder = EventDecoder::new(0);
                let mut counts: HashMap<String, u64> = HashMap::new();
                for e in &mix.warmup {
                    let o = decoder
                        .decode(e, AnswerBytes::default())
                        .expect("valid event");
                    *counts.entry(o.name.to_owned()).or_default() += 1;
                }
                let start = Instant::now();
                for e in events {
                    let o = decoder
                        .decode(e, AnswerBytes::default())
                        .expect("valid event");
                    *counts.entry(o.name.to_owned()).or_default() += 1;
                }
                total += start.elapsed();
                black_box(counts.len());
            }
            total
        });
    });
    for shards in [1, 2] {
        group.bench_function(format!("engine_{shards}_shards"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let engine = filled_engine(&mix.warmup, shards);
                    let mut dispatcher = engine.dispatcher();
                    let querier = engine.querier();
                    let mut decoder = EventDecoder::new(0);
                    black_box(querier.sizes().expect("engine running"));
                    let start = Instant::now();
                    for e in events {
                        let o = decoder
                            .decode(e, AnswerBytes::default())
                            .expect("valid event");
                        dispatcher.push(&o).expect("engine running");
                    }
                    dispatcher.flush().expect("engine running");
                    // Answered after every batch above is counted.
                    black_box(querier.sizes().expect("engine running"));
                    total += start.elapsed();
                    drop((dispatcher, querier));
                    engine.shutdown();
                }
                total
            });
        });
    }
    group.finish();
}

fn report_latency(c: &mut Criterion) {
    let engine = filled_engine(&distinct_names(1_000_000, 2000), 2);
    let querier = engine.querier();
    let report_query = ReportQuery::default();
    let mut group = c.benchmark_group("report_1M_names");
    group.sample_size(20);
    group.bench_function("idle", |b| {
        b.iter(|| {
            query::report(
                &querier,
                CaptureSummary::default(),
                &report_query,
                Default::default(),
                &Default::default(),
            )
            .expect("report")
        });
    });

    // What `dnsrare report` asks for its table: findings without the name
    // rows beside them.
    let table_query = ReportQuery {
        name_rows: false,
        ..ReportQuery::default()
    };
    group.bench_function("idle_findings_table", |b| {
        b.iter(|| {
            query::report(
                &querier,
                CaptureSummary::default(),
                &table_query,
                Default::default(),
                &Default::default(),
            )
            .expect("report")
        });
    });

    // The same while a producer keeps pushing a realistic mix.
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let stop = Arc::clone(&stop);
        let events = realistic_events(200_000, 50_000, 0.1, 2000);
        let mut dispatcher = engine.dispatcher();
        std::thread::spawn(move || {
            let mut decoder = EventDecoder::new(0);
            let mut pushed = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for e in &events {
                    dispatcher
                        .push(
                            &decoder
                                .decode(e, AnswerBytes::default())
                                .expect("valid event"),
                        )
                        .expect("engine running");
                }
                dispatcher.flush().expect("engine running");
                pushed += events.len() as u64;
            }
            pushed
        })
    };
    group.bench_function("while_ingesting", |b| {
        b.iter(|| {
            query::report(
                &querier,
                CaptureSummary::default(),
                &report_query,
                Default::default(),
                &Default::default(),
            )
            .expect("report")
        });
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
    let pushed = producer.join().expect("producer");
    eprintln!("report_1M_names/while_ingesting: {pushed} events ingested meanwhile");
    drop(querier);
    engine.shutdown();
}

criterion_group!(benches, ingest, report_latency);
criterion_main!(benches);
