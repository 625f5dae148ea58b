//! `cargo xtask bench`, part 2b: dnsrare's capture path without a sender.
//! The embedded XDP program (mirror mode: it drops every frame after
//! counting, so nothing goes up a network stack) is driven by
//! `BPF_PROG_TEST_RUN` on this thread — in live-frames mode
//! (`BPF_F_TEST_XDP_LIVE_FRAMES`, each repeat a fresh frame from a page
//! pool, as a driver hands them over) or in plain repeat mode — while the
//! real drain thread and the real engine (as `dnsrare run` starts them)
//! empty the ring concurrently. Steps are paced at rising event rates;
//! each reports the rate achieved, events lost (ring full) and the queries
//! the engine counted. The highest step with nothing lost is what the drain
//! and the engine sustain.
//!
//! Frames are the DNS query frames of a generated gateway capture, taken
//! in turn; each call runs the program `--repeat` times over one frame.
//! The producer runs in a network namespace of its own lab, so even a frame
//! that was passed would stay there.
//!
//! Usage: `bench_path [--rates 200000,…] [--step-seconds S] [--repeat R]
//! [--mode live|repeat] [--batch B] [--ring-kib K] [--shards N] [--pin]`;
//! prints JSON lines. With `--pin` the producer runs on CPU 0 and the drain
//! and shards on the other CPUs.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use dnsrare_benches::capture_bench::{CapturePath, Producer, emit, scenario_query_frames};
use serde_json::json;
use traffic::{netns::Lab, scenario::ScenarioConfig};

fn main() -> Result<()> {
    let mut rates: Vec<u64> = vec![
        250_000, 500_000, 750_000, 1_000_000, 1_250_000, 1_500_000, 2_000_000,
    ];
    let mut step_seconds = 2.0f64;
    let mut repeat = 16u32;
    let mut live = true;
    let mut batch = 64u32;
    let mut ring_kib = capture_common::DEFAULT_RING_BYTES / 1024;
    let mut shards = std::thread::available_parallelism().map_or(1, usize::from);
    let mut pin = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--rates" => {
                rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse::<u64>())
                    .collect::<Result<_, _>>()?;
            }
            "--step-seconds" => step_seconds = value()?.parse()?,
            "--repeat" => repeat = value()?.parse()?,
            "--mode" => {
                live = match value()?.as_str() {
                    "live" => true,
                    "repeat" => false,
                    other => bail!("unknown mode {other} (live or repeat)"),
                }
            }
            "--batch" => batch = value()?.parse()?,
            "--ring-kib" => ring_kib = value()?.parse()?,
            "--shards" => shards = value()?.parse()?,
            "--pin" => pin = true,
            other => bail!("unknown argument {other}"),
        }
    }
    if !(step_seconds > 0.0 && step_seconds <= 30.0) {
        bail!("--step-seconds must be in (0, 30]");
    }
    let mut config = ScenarioConfig::sized(300, 2 * 3600);
    config.malformed_per_reason = 0;
    let frames = scenario_query_frames(&config);
    let producer = Producer {
        repeat,
        live_frames: live.then_some(batch),
    };
    let lab = Lab::new()?;
    lab.in_gateway(|| -> Result<()> {
        let mut path = CapturePath::start(ring_kib * 1024, shards, Some(&lab.gateway_if), pin)?;
        emit(
            "path_setup",
            json!({
                "mode": if live { format!("live frames, batch {batch}") } else { "repeat".into() },
                "repeat_per_call": repeat,
                "frames_in_pool": frames.len(),
                "ring_bytes": path.ring_bytes,
                "shards": path.shards,
                "step_seconds": step_seconds,
                "pinned": pin,
            }),
        );
        // Warm-up: page pools, the engine's first names.
        path.step(
            &frames,
            producer,
            Some(100_000),
            0.5,
            u64::MAX,
            Duration::from_secs(5),
        )?;
        let mut steps: Vec<Option<u64>> = rates.iter().map(|r| Some(*r)).collect();
        steps.push(None);
        for rate in steps {
            let max_runs = (rate.unwrap_or(4_000_000) as f64 * step_seconds) as u64;
            let s = path.step(
                &frames,
                producer,
                rate,
                step_seconds,
                max_runs,
                Duration::from_secs(10),
            )?;
            eprintln!(
                "bench_path: target {:>9} achieved {:>9.0}/s queries {} counted {} lost {}",
                rate.map_or("max".into(), |r| r.to_string()),
                s.offered_per_s,
                s.kernel.queries,
                s.counted,
                s.kernel.lost
            );
            let mut v = serde_json::to_value(&s)?;
            v["lossless"] = (s.kernel.lost == 0 && s.counted == s.kernel.queries).into();
            emit("path", v);
        }
        path.stop()
    })??;
    drop(lab);
    Ok(())
}
