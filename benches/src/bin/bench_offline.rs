//! `cargo xtask bench`, part 3: offline. `dnsrare pcap` (release) on a
//! generated gateway capture of about 1.3 million packets, timed in the
//! same run as
//!
//! - the seed method: `tshark -r F -Y 'dns.flags.response == 0' -T fields
//!   -e ip.src -e dns.qry.name | sort | uniq -c | sort -n`;
//! - `dnstop -l 3 -Q F` (non-interactive, since stdout is not a tty).
//!
//! Wall-clock time of each whole command (output to a file), best of
//! `--rounds` rounds, the three tools taking turns in every round so they
//! share the machine's noise; the capture is read once before timing, so
//! every tool reads it from the page cache.
//!
//! Then the query counts are compared frame by frame: tshark lists the
//! frames its filter matches (frame number, addresses, names; untimed) and
//! dnsrare's own parser (the library path of `dnsrare pcap`) says what it
//! made of every frame; each difference is put in a class with its count.
//!
//! Usage: `bench_offline [--dnsrare BIN] [--pcap FILE] [--rounds N]`;
//! without `--pcap` the capture is generated (deterministic,
//! `ScenarioConfig::gateway()`) into target/bench/gateway.pcap. Prints JSON
//! lines.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use capture_common::EventKind;
use dnsrare_benches::capture_bench::emit;
use dnsrare_core::ingest::{
    frame_parser_twin::FrameParser,
    observation::EventDecoder,
    pcap::{self, FileTotals},
};
use serde_json::json;
use traffic::scenario::{self, ScenarioConfig};

const SEED_FILTER: &str = "dns.flags.response == 0";

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("benches sits in the workspace")?
        .to_path_buf();
    let mut dnsrare = root.join("target/release/dnsrare");
    let mut pcap_path: Option<PathBuf> = None;
    let mut rounds = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--dnsrare" => dnsrare = value()?.into(),
            "--pcap" => pcap_path = Some(value()?.into()),
            "--rounds" => rounds = value()?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    for tool in ["tshark", "editcap", "dnstop", "sort", "uniq", "sh"] {
        if which(tool).is_none() {
            bail!("{tool} is not installed (cargo xtask bench installs tshark and dnstop)");
        }
    }
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let pcap = match pcap_path {
        Some(p) => p,
        None => {
            let p = out_dir.join("gateway.pcap");
            let started = Instant::now();
            let config = ScenarioConfig::gateway();
            let (packets, truth) = scenario::generate(&config);
            scenario::save(&packets, &truth, &p, &p.with_extension("truth.json"))?;
            eprintln!(
                "bench_offline: generated {} in {:.1} s",
                truth.summary(),
                started.elapsed().as_secs_f64()
            );
            p
        }
    };
    let bytes = std::fs::metadata(&pcap)?.len();
    // Into the page cache.
    std::fs::read(&pcap)?;

    let f = pcap.display().to_string();
    let seed = format!(
        "tshark -r {f} -Y '{SEED_FILTER}' -T fields -e ip.src -e dns.qry.name | sort | uniq -c | sort -n"
    );
    let tools: [(&str, String, Command); 3] = [
        ("dnsrare", format!("dnsrare pcap --no-progress {f}"), {
            let mut c = Command::new(&dnsrare);
            c.args(["pcap", "--no-progress"]).arg(&pcap);
            c
        }),
        ("tshark", seed.clone(), {
            let mut c = Command::new("sh");
            c.args(["-c", &seed]);
            c
        }),
        ("dnstop", format!("dnstop -l 3 -Q {f}"), {
            let mut c = Command::new("dnstop");
            c.args(["-l", "3", "-Q"]).arg(&pcap);
            c
        }),
    ];
    let mut tools = tools;
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut outputs: BTreeMap<&str, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    for round in 0..rounds {
        for (name, _, cmd) in tools.iter_mut() {
            let started = Instant::now();
            let out = cmd
                .stdin(Stdio::null())
                .output()
                .with_context(|| format!("running {name}"))?;
            let took = started.elapsed().as_secs_f64();
            // dnsrare pcap exits 3 on a damaged capture; anything else
            // non-zero is a failure.
            if !out.status.success() {
                bail!(
                    "{name} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            times.entry(name).or_default().push(took);
            outputs.insert(name, (out.stdout, out.stderr));
        }
        eprintln!("bench_offline: round {}/{rounds}", round + 1);
    }
    let best = |n: &str| times[n].iter().copied().fold(f64::INFINITY, f64::min);
    let (b_d, b_t, b_s) = (best("dnsrare"), best("tshark"), best("dnstop"));

    // What each tool counted.
    let dnsrare_summary = String::from_utf8_lossy(&outputs["dnsrare"].1).into_owned();
    let tshark_out = String::from_utf8_lossy(&outputs["tshark"].0).into_owned();
    let tshark_frames: u64 = tshark_out
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    let tshark_no_ipv4 = tshark_out
        .lines()
        .filter(|l| {
            // "count<TAB>" with an empty ip.src: IPv6 (or non-IP) queries.
            let rest = l.trim_start().split_once(' ').map_or("", |(_, r)| r);
            rest.starts_with('\t')
        })
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .sum::<u64>();
    let dnstop_out = String::from_utf8_lossy(&outputs["dnstop"].0).into_owned();
    let dnstop_queries = opcode_query_count(&dnstop_out);

    let totals = compare(&pcap)?;
    // dnstop over just the frames tshark lists and dnsrare refuses.
    let refused = out_dir.join("refused-queries.pcap");
    let dnstop_refused = if totals.tshark_only_frames.is_empty() {
        Some(0)
    } else {
        let status = Command::new("editcap")
            .arg("-r")
            .arg(&pcap)
            .arg(&refused)
            .args(totals.tshark_only_frames.iter().map(usize::to_string))
            .stderr(Stdio::null())
            .status()
            .context("running editcap (part of tshark's packages)")?;
        if !status.success() {
            bail!("editcap failed: {status}");
        }
        let out = Command::new("dnstop")
            .args(["-l", "3", "-Q"])
            .arg(&refused)
            .stdin(Stdio::null())
            .output()?;
        opcode_query_count(&String::from_utf8_lossy(&out.stdout))
    };
    emit(
        "offline_setup",
        json!({
            "pcap": f,
            "bytes": bytes,
            "frames": totals.frames,
            "rounds": rounds,
            "dnsrare_summary": dnsrare_summary.trim(),
        }),
    );
    for (name, cmd, _) in &tools {
        emit(
            "offline",
            json!({
                "tool": name,
                "command": cmd,
                "seconds": times[name],
                "best_seconds": best(name),
                "packets_per_s": totals.frames as f64 / best(name),
                "ratio_to_dnsrare": best(name) / b_d,
            }),
        );
    }
    emit(
        "offline_ratios",
        json!({
            "tshark_over_dnsrare": b_t / b_d,
            "dnstop_over_dnsrare": b_s / b_d,
        }),
    );
    emit(
        "offline_counts",
        json!({
            "tshark_frames": tshark_frames,
            "tshark_frames_without_ip_src": tshark_no_ipv4,
            "tshark_lines": tshark_out.lines().count(),
            "dnstop_queries": dnstop_queries,
            "dnstop_queries_among_refused": dnstop_refused,
            "dnsrare_queries": totals.dnsrare_queries,
            "dnsrare_query_frames": totals.dnsrare_query_frames,
            "dnsrare_parse_errors": totals.parse_errors,
            "tshark_listed_frames": totals.tshark_frames,
            "both": totals.both,
            "both_names_equal": totals.names_equal,
            "both_names_equal_ignoring_case": totals.names_equal_nocase,
            "name_mismatch_examples": totals.mismatch_examples,
            "tshark_only": totals.tshark_only,
            "tshark_only_frame_numbers": totals.tshark_only_frames,
            "dnsrare_only": totals.dnsrare_only,
            "dnsrare_multi_query_frames": totals.multi,
            "query_frames_by_encapsulation": totals.by_encapsulation,
        }),
    );
    Ok(())
}

/// The "Query" row of dnstop's Opcode table.
fn opcode_query_count(out: &str) -> Option<u64> {
    let mut in_opcode = false;
    for line in out.lines() {
        if line.starts_with("Opcode") {
            in_opcode = true;
            continue;
        }
        if in_opcode && line.starts_with("Query") {
            return line.split_whitespace().nth(1)?.parse().ok();
        }
    }
    None
}

#[derive(Default)]
struct Comparison {
    frames: u64,
    tshark_frames: u64,
    dnsrare_queries: u64,
    dnsrare_query_frames: u64,
    parse_errors: u64,
    both: u64,
    names_equal: u64,
    names_equal_nocase: u64,
    mismatch_examples: Vec<String>,
    /// Frames tshark lists and dnsrare did not count, by dnsrare's verdict.
    tshark_only: BTreeMap<String, u64>,
    /// Numbers of the first 100 frames tshark lists and dnsrare did not
    /// count.
    tshark_only_frames: Vec<usize>,
    /// Frames dnsrare counted and tshark did not list, by transport.
    dnsrare_only: BTreeMap<String, u64>,
    /// Frames in which dnsrare counted more than one query.
    multi: u64,
    /// Query frames both count, by encapsulation: tagged or not, UDP or TCP.
    by_encapsulation: BTreeMap<String, u64>,
}

/// What dnsrare made of one frame.
#[derive(Default)]
struct Verdict {
    names: Vec<String>,
    /// How the frame is wrapped: tagged or not, IPv4 or IPv6 (with an
    /// extension header or not).
    wrap: &'static str,
    /// The parse-error reason, or "ignored" (not a DNS query/response to or
    /// from port 53, another opcode, …), or "response".
    other: Option<String>,
}

fn compare(pcap_file: &Path) -> Result<Comparison> {
    // dnsrare's side: the library path of `dnsrare pcap`.
    let mut parser = FrameParser::new();
    let mut decoder = EventDecoder::new(0);
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut totals = FileTotals::default();
    pcap::read_frames(pcap_file, &mut totals, |frame| {
        let before = parser.counters();
        let mut v = Verdict {
            wrap: wrapping(frame.link, frame.data),
            ..Verdict::default()
        };
        let mut responses = 0;
        parser.parse(frame.link, frame.data, frame.time_ns, |event, answers| {
            if event.kind == EventKind::Query as u8 {
                match decoder.decode(event, answers) {
                    Ok(o) => v.names.push(o.name.to_owned()),
                    Err(r) => v.other = Some(format!("decode error: {}", r.as_str())),
                }
            } else {
                responses += 1;
            }
        });
        let delta = parser.counters().since(&before);
        if v.names.is_empty() && v.other.is_none() {
            v.other = Some(if delta.parse_errors.total() > 0 {
                let reason = capture_common::ParseError::ALL
                    .into_iter()
                    .find(|r| delta.parse_errors.get(*r) > 0)
                    .map_or("?", |r| r.as_str());
                format!("parse error: {reason}")
            } else if responses > 0 {
                "response".into()
            } else {
                "ignored (not a DNS query to port 53, or another opcode)".into()
            });
        }
        verdicts.push(v);
    })
    .context("reading the capture")?;
    let counters = parser.counters();

    // tshark's side: the frames the seed filter matches, one line each.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap_file)
        .args(["-Y", SEED_FILTER, "-T", "fields"])
        .args(["-e", "frame.number", "-e", "tcp.port", "-e", "dns.qry.name"])
        .args(["-E", "occurrence=a", "-E", "aggregator=|"])
        .stderr(Stdio::null())
        .output()
        .context("running tshark")?;
    if !out.status.success() {
        bail!("tshark failed: {}", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut c = Comparison {
        frames: totals.frames,
        dnsrare_queries: counters.queries,
        parse_errors: counters.parse_errors.total(),
        ..Default::default()
    };
    let mut listed = vec![false; verdicts.len()];
    for line in text.lines() {
        let mut fields = line.split('\t');
        let Some(number) = fields.next().and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let tcp = !fields.next().unwrap_or("").is_empty();
        let names: Vec<&str> = fields
            .next()
            .unwrap_or("")
            .split('|')
            .filter(|n| !n.is_empty())
            .collect();
        c.tshark_frames += 1;
        let Some(v) = verdicts.get(number.wrapping_sub(1)) else {
            *c.tshark_only
                .entry("not in dnsrare's read".into())
                .or_default() += 1;
            continue;
        };
        listed[number - 1] = true;
        if v.names.is_empty() {
            if c.tshark_only_frames.len() < 100 {
                c.tshark_only_frames.push(number);
            }
            let why = v.other.clone().unwrap_or_default();
            let key = if tcp { format!("{why} (TCP)") } else { why };
            *c.tshark_only.entry(key).or_default() += 1;
            continue;
        }
        c.both += 1;
        let key = format!("{} {}", v.wrap, if tcp { "TCP" } else { "UDP" });
        *c.by_encapsulation.entry(key).or_default() += 1;
        let first = names.first().copied().unwrap_or("");
        if first == v.names[0] {
            c.names_equal += 1;
        } else if first.eq_ignore_ascii_case(&v.names[0]) {
            c.names_equal_nocase += 1;
        } else if c.mismatch_examples.len() < 5 {
            c.mismatch_examples.push(format!(
                "frame {number}: tshark {first:?}, dnsrare {:?}",
                v.names[0]
            ));
        }
    }
    for (i, v) in verdicts.iter().enumerate() {
        if v.names.is_empty() {
            continue;
        }
        c.dnsrare_query_frames += 1;
        if v.names.len() > 1 {
            c.multi += 1;
        }
        if !listed[i] {
            *c.dnsrare_only
                .entry("not matched by tshark".into())
                .or_default() += 1;
        }
    }
    Ok(c)
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

/// How an Ethernet frame is wrapped, for the encapsulation counts.
fn wrapping(link: pcap::Link, data: &[u8]) -> &'static str {
    if link != pcap::Link::Ethernet {
        return "non-Ethernet";
    }
    match data.get(12..14) {
        Some([0x81, 0x00] | [0x88, 0xa8]) => "VLAN-tagged",
        Some([0x08, 0x00]) => "untagged IPv4",
        Some([0x86, 0xdd]) => match data.get(20) {
            Some(6 | 17) => "untagged IPv6",
            _ => "untagged IPv6 with an extension header,",
        },
        _ => "untagged other",
    }
}
