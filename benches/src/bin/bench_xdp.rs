//! `cargo xtask bench`, part 1: the kernel programs' cost per packet, from
//! the kernel's own timing (`BPF_PROG_TEST_RUN` with `repeat`), for
//!
//! - (a) a trivial program that returns XDP_PASS (`dnsrare_pass`, in the
//!   same object), the XDP baseline;
//! - (b) the capture program on a non-DNS packet (TCP to port 443);
//! - (c) on a DNS query with a short name (`example.com`);
//! - (d) on a DNS query with a 200-character name;
//! - (e) on a DNS response with a CNAME and two addresses (the answer
//!   bytes copied into the ring);
//! - (f) a trivial classifier (`dnsrare_tc_pass`), the TC baseline;
//! - (g), (h), (i) the egress classifier on the packets of (b), (c), (e).
//!
//! Every round runs the cases in turn (rotating which goes first), so
//! they share the machine's noise; the figures are medians over rounds.
//! Every run of a DNS case writes a record into the ring buffer; the ring
//! is sized to hold all of one call's records and emptied between calls, so
//! the timed path is the ordinary one, never the ring-full one (the lost
//! counter is checked to stay at zero). Response records are 848 bytes,
//! queries 328: response cases repeat as often as the ring holds.
//!
//! Usage: `bench_xdp [--repeat N] [--rounds R] [--ring-bytes B] [--cases abcdefghi]`;
//! prints JSON lines.

use anyhow::{Context, Result, bail};
use dnsrare::live::loader::{Capture, LoadOptions, Mode};
use dnsrare_benches::capture_bench::{
    EGRESS_PROGRAM, MAIN_PROGRAM, PASS_PROGRAM, TC_PASS_PROGRAM, emit, name_of_len, non_dns_frame,
    query_frame, response_frame,
};
use serde_json::json;

/// Bytes one query event takes in the ring: the event plus the 8-byte
/// record header, rounded up to 8.
const RING_RECORD: u64 = (size_of::<capture_common::DnsEvent>() as u64 + 8).next_multiple_of(8);
/// The same for a response (with its answer bytes).
const RING_RESPONSE_RECORD: u64 =
    (size_of::<capture_common::DnsResponseEvent>() as u64 + 8).next_multiple_of(8);

/// What each run of a case writes to the ring.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Emits {
    Nothing,
    Query,
    Response,
}

struct Case {
    id: &'static str,
    what: String,
    program: &'static str,
    /// A classifier (run with a `__sk_buff` context), or an XDP program.
    tc: bool,
    /// The case whose median is its baseline: (a) for XDP, (f) for TC.
    baseline: &'static str,
    frame: Vec<u8>,
    emits: Emits,
    ns: Vec<u64>,
}

fn main() -> Result<()> {
    let mut repeat: u32 = 1_000_000;
    let mut rounds: usize = 11;
    let mut ring_override: Option<u32> = None;
    let mut only = String::from("abcdefghi");
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

    // Response cases repeat as often as the ring holds their records.
    let response_repeat =
        u32::try_from((u64::from(ring_bytes) / RING_RESPONSE_RECORD).min(u64::from(repeat)))
            .context("response repeat")?;

    let mut capture = Capture::load(LoadOptions {
        mode: Mode::Gateway,
        ring_bytes,
        egress: true,
    })?;
    let egress_facts = capture
        .egress_facts()?
        .context("the egress program is loaded")?;
    let facts = capture.facts()?;
    let mut ring = capture.take_ring()?;
    let counters = capture.take_counters()?;
    let long = name_of_len(200);
    let case = |id, what: String, program, tc, frame, emits| Case {
        id,
        what,
        program,
        tc,
        baseline: if tc { "f" } else { "a" },
        frame,
        emits,
        ns: Vec::new(),
    };
    let mut cases = [
        case(
            "a",
            "trivial XDP_PASS program".into(),
            PASS_PROGRAM,
            false,
            non_dns_frame(),
            Emits::Nothing,
        ),
        case(
            "b",
            "dnsrare, non-DNS packet (IPv4 TCP to port 443, 64-byte payload)".into(),
            MAIN_PROGRAM,
            false,
            non_dns_frame(),
            Emits::Nothing,
        ),
        case(
            "c",
            "dnsrare, DNS query, short name (example.com, IPv4 UDP)".into(),
            MAIN_PROGRAM,
            false,
            query_frame("example.com"),
            Emits::Query,
        ),
        case(
            "d",
            format!(
                "dnsrare, DNS query, {}-character name (IPv4 UDP)",
                long.len()
            ),
            MAIN_PROGRAM,
            false,
            query_frame(&long),
            Emits::Query,
        ),
        case(
            "e",
            "dnsrare, DNS response, CNAME + 2 A (answer bytes copied, IPv4 UDP)".into(),
            MAIN_PROGRAM,
            false,
            response_frame(),
            Emits::Response,
        ),
        case(
            "f",
            "trivial classifier (TC, lets the packet go on)".into(),
            TC_PASS_PROGRAM,
            true,
            non_dns_frame(),
            Emits::Nothing,
        ),
        case(
            "g",
            "dnsrare_egress, non-DNS packet (as (b))".into(),
            EGRESS_PROGRAM,
            true,
            non_dns_frame(),
            Emits::Nothing,
        ),
        case(
            "h",
            "dnsrare_egress, DNS query, short name (as (c))".into(),
            EGRESS_PROGRAM,
            true,
            query_frame("example.com"),
            Emits::Query,
        ),
        case(
            "i",
            "dnsrare_egress, DNS response with answers (as (e))".into(),
            EGRESS_PROGRAM,
            true,
            response_frame(),
            Emits::Response,
        ),
    ];

    let mut drain = || {
        let mut n = 0u64;
        while ring.next().is_some() {
            n += 1;
        }
        n
    };
    // One untimed round first: loads the trivial programs, warms caches.
    let n = cases.len();
    for round in 0..=rounds {
        for k in 0..n {
            let case = &mut cases[(k + round) % n];
            if !only.contains(case.id) {
                continue;
            }
            let repeat = if case.emits == Emits::Response {
                response_repeat
            } else {
                repeat
            };
            drain();
            let before = counters.read()?;
            let (action, per_run, expected_action) = if case.tc {
                let (action, per_run) =
                    capture.test_run_classifier(case.program, &case.frame, repeat, 0)?;
                // TC_ACT_UNSPEC: the packet goes on.
                (i64::from(action), per_run, -1)
            } else {
                let (action, per_run) =
                    capture.test_run_program(case.program, &case.frame, repeat, None)?;
                // XDP_PASS.
                (i64::from(action), per_run, 2)
            };
            let after = counters.read()?.since(&before);
            let events = drain();
            if action != expected_action {
                bail!(
                    "case {}: action {action}, expected {expected_action}",
                    case.id
                );
            }
            if after.lost != 0 {
                bail!(
                    "case {}: {} events lost: the ring is too small",
                    case.id,
                    after.lost
                );
            }
            let expected = |what| {
                if case.emits == what {
                    u64::from(repeat)
                } else {
                    0
                }
            };
            let records = expected(Emits::Query) + expected(Emits::Response);
            if events != records
                || after.queries != expected(Emits::Query)
                || after.responses != expected(Emits::Response)
            {
                bail!(
                    "case {}: {events} events, {} queries and {} responses counted, expected {records}",
                    case.id,
                    after.queries,
                    after.responses
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
            "ring_response_record_bytes": RING_RESPONSE_RECORD,
            "response_repeat": response_repeat,
            "instructions": facts.instructions,
            "verified_instructions": facts.verified_instructions,
            "egress_instructions": egress_facts.instructions,
            "egress_verified_instructions": egress_facts.verified_instructions,
        }),
    );
    let baseline = |id: &str| {
        cases
            .iter()
            .find(|c| c.id == id)
            .map_or(f64::NAN, |c| median(&c.ns))
    };
    for case in cases.iter().filter(|c| only.contains(c.id)) {
        let med = median(&case.ns);
        let base = baseline(case.baseline);
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
                "baseline": case.baseline,
                "above_baseline_ns": med - base,
                "ratio_to_trivial": med / base,
                "events_per_run": u64::from(case.emits != Emits::Nothing),
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
