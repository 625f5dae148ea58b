//! `cargo xtask bench`, part 1: the XDP program's cost per packet, from
//! the kernel's own timing (`BPF_PROG_TEST_RUN` with `repeat`), for
//!
//! - (a) a trivial program that returns XDP_PASS (`dnsrare_pass`, in the
//!   same object), the baseline;
//! - (b) the capture program on a non-DNS packet (TCP to port 443);
//! - (c) on a DNS query with a short name (`example.com`);
//! - (d) on a DNS query with a 200-character name.
//!
//! Every round runs the four cases in turn (rotating which goes first), so
//! they share the machine's noise; the figures are medians over rounds.
//! Every run of (c) and (d) writes an event into the ring buffer; the ring
//! is sized to hold all of one call's events and emptied between calls, so
//! the timed path is the ordinary one, never the ring-full one (the lost
//! counter is checked to stay at zero).
//!
//! Usage: `bench_xdp [--repeat N] [--rounds R] [--ring-bytes B] [--cases abcd]`;
//! prints JSON lines.

use anyhow::{Context, Result, bail};
use dnsrare::live::loader::{Capture, LoadOptions, Mode};
use dnsrare_benches::capture_bench::{
    MAIN_PROGRAM, PASS_PROGRAM, emit, name_of_len, non_dns_frame, query_frame,
};
use serde_json::json;

/// Bytes one event takes in the ring: the event plus the 8-byte record
/// header, rounded up to 8.
const RING_RECORD: u64 = (size_of::<capture_common::DnsEvent>() as u64 + 8).next_multiple_of(8);

struct Case {
    id: &'static str,
    what: String,
    program: &'static str,
    frame: Vec<u8>,
    emits: bool,
    ns: Vec<u64>,
}

fn main() -> Result<()> {
    let mut repeat: u32 = 1_000_000;
    let mut rounds: usize = 11;
    let mut ring_override: Option<u32> = None;
    let mut only = String::from("abcd");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--repeat" => repeat = value()?.parse()?,
            "--rounds" => rounds = value()?.parse()?,
            "--ring-bytes" => ring_override = Some(value()?.parse()?),
            "--cases" => only = value()?,
            other => bail!("unknown argument {other}"),
        }
    }
    let needed = u64::from(repeat) * RING_RECORD;
    let ring_bytes = match ring_override {
        Some(bytes) if u64::from(bytes) < needed => {
            bail!("a ring of {bytes} bytes cannot hold {repeat} events ({needed} bytes)")
        }
        Some(bytes) => bytes,
        None => u32::try_from(needed.next_power_of_two())
            .context("--repeat too large for one ring")?
            .max(4096),
    };

    let mut capture = Capture::load(LoadOptions {
        mode: Mode::Gateway,
        ring_bytes,
    })?;
    let facts = capture.facts()?;
    let mut ring = capture.take_ring()?;
    let counters = capture.take_counters()?;
    let long = name_of_len(200);
    let mut cases = [
        Case {
            id: "a",
            what: "trivial XDP_PASS program".into(),
            program: PASS_PROGRAM,
            frame: non_dns_frame(),
            emits: false,
            ns: Vec::new(),
        },
        Case {
            id: "b",
            what: "dnsrare, non-DNS packet (IPv4 TCP to port 443, 64-byte payload)".into(),
            program: MAIN_PROGRAM,
            frame: non_dns_frame(),
            emits: false,
            ns: Vec::new(),
        },
        Case {
            id: "c",
            what: "dnsrare, DNS query, short name (example.com, IPv4 UDP)".into(),
            program: MAIN_PROGRAM,
            frame: query_frame("example.com"),
            emits: true,
            ns: Vec::new(),
        },
        Case {
            id: "d",
            what: format!(
                "dnsrare, DNS query, {}-character name (IPv4 UDP)",
                long.len()
            ),
            program: MAIN_PROGRAM,
            frame: query_frame(&long),
            emits: true,
            ns: Vec::new(),
        },
    ];

    let mut drain = || {
        let mut n = 0u64;
        while ring.next().is_some() {
            n += 1;
        }
        n
    };
    // One untimed round first: loads `dnsrare_pass`, warms caches.
    for round in 0..=rounds {
        for k in 0..cases.len() {
            let case = &mut cases[(k + round) % 4];
            if !only.contains(case.id) {
                continue;
            }
            drain();
            let before = counters.read()?;
            let (action, per_run) =
                capture.test_run_program(case.program, &case.frame, repeat, None)?;
            let after = counters.read()?.since(&before);
            let events = drain();
            if action != 2 {
                bail!("case {}: action {action}, expected XDP_PASS (2)", case.id);
            }
            if after.lost != 0 {
                bail!(
                    "case {}: {} events lost: the ring is too small",
                    case.id,
                    after.lost
                );
            }
            let expected = if case.emits { u64::from(repeat) } else { 0 };
            if events != expected || after.queries != expected {
                bail!(
                    "case {}: {events} events, {} queries counted, expected {expected}",
                    case.id,
                    after.queries
                );
            }
            if round > 0 {
                case.ns.push(per_run.as_nanos() as u64);
            }
        }
        eprintln!("bench_xdp: round {round}/{rounds}");
    }

    emit(
        "xdp_setup",
        json!({
            "repeat": repeat,
            "rounds": rounds,
            "ring_bytes": ring_bytes,
            "ring_record_bytes": RING_RECORD,
            "instructions": facts.instructions,
            "verified_instructions": facts.verified_instructions,
        }),
    );
    let base = median(&cases[0].ns);
    for case in cases.iter().filter(|c| only.contains(c.id)) {
        let med = median(&case.ns);
        emit(
            "xdp",
            json!({
                "case": case.id,
                "what": case.what,
                "program": case.program,
                "frame_bytes": case.frame.len(),
                "ns": case.ns,
                "median_ns": med,
                "min_ns": case.ns.iter().min(),
                "max_ns": case.ns.iter().max(),
                "ratio_to_trivial": med / base,
                "events_per_run": u64::from(case.emits),
                "lost": 0,
            }),
        );
    }
    Ok(())
}

fn median(v: &[u64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2] as f64,
        n => (s[n / 2 - 1] + s[n / 2]) as f64 / 2.0,
    }
}
