//! `cargo xtask bench`, part 3: offline. `dnsrare pcap` (release, default
//! report) on a generated gateway capture of about 1.3 million packets,
//! timed in the same rounds as
//!
//! - the floor: `bench_floor F`, the least work that does the same
//!   counting (issue 12; see that program);
//! - the seed method: `tshark -r F -Y 'dns.flags.response == 0' -T fields
//!   -e ip.src -e dns.qry.name | sort | uniq -c | sort -n`;
//! - `dnstop -l 3 -Q F` (non-interactive, since stdout is not a tty);
//! - with `--dnsrare-before BIN`, an earlier dnsrare build too.
//!
//! Wall-clock time of each whole command (output to a pipe), its CPU time
//! and peak RSS (`/usr/bin/time`), in `--rounds` rounds; each round starts with another
//! tool. Before every run the machine must be idle (CPU busy below a
//! quarter over 250 ms, waiting at most 5 s; the busy share seen is
//! printed) and the capture is read through, so every tool finds it in
//! the page cache. Ratios are taken against dnsrare in the same round,
//! and their median reported.
//!
//! Then the query counts are compared frame by frame: tshark lists the
//! frames its filter matches (frame number, addresses, names; untimed) and
//! dnsrare's own parser (the library path of `dnsrare pcap`) says what it
//! made of every frame; each difference is put in a class with its count.
//!
//! Usage: `bench_offline [--dnsrare BIN] [--dnsrare-before BIN] [--floor BIN]
//! [--pcap FILE] [--rounds N]`;
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
    let mut floor = root.join("target/release/bench_floor");
    let mut dnsrare_before: Option<PathBuf> = None;
    let mut pcap_path: Option<PathBuf> = None;
    let mut rounds = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--dnsrare" => dnsrare = value()?.into(),
            "--dnsrare-before" => dnsrare_before = Some(value()?.into()),
            "--floor" => floor = value()?.into(),
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

    let f = pcap.display().to_string();
    let seed = format!(
        "tshark -r {f} -Y '{SEED_FILTER}' -T fields -e ip.src -e dns.qry.name | sort | uniq -c | sort -n"
    );
    let mut tools: Vec<Tool> = vec![
        Tool::new(
            "floor",
            format!("bench_floor {f}"),
            &floor,
            [f.as_str()],
            &out_dir,
        ),
        Tool::new(
            "dnsrare",
            format!("dnsrare pcap --no-progress {f}"),
            &dnsrare,
            ["pcap", "--no-progress", f.as_str()],
            &out_dir,
        ),
        Tool::new(
            "tshark",
            seed.clone(),
            Path::new("sh"),
            ["-c", seed.as_str()],
            &out_dir,
        ),
        Tool::new(
            "dnstop",
            format!("dnstop -l 3 -Q {f}"),
            Path::new("dnstop"),
            ["-l", "3", "-Q", f.as_str()],
            &out_dir,
        ),
    ];
    if let Some(before) = &dnsrare_before {
        tools.push(Tool::new(
            "dnsrare_before",
            format!("{} pcap --no-progress {f}", before.display()),
            before,
            ["pcap", "--no-progress", f.as_str()],
            &out_dir,
        ));
    }
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut rss: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut busy: Vec<f64> = Vec::new();
    let mut outputs: BTreeMap<&str, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    for round in 0..rounds {
        // Each round starts with another tool, so none always runs first.
        let order: Vec<usize> = (0..tools.len())
            .map(|i| (i + round) % tools.len())
            .collect();
        for i in order {
            let tool = &mut tools[i];
            busy.push(idle::wait_for_idle());
            warm(&pcap)?;
            let run = tool.run()?;
            times.entry(tool.name).or_default().push(run.seconds);
            rss.entry(tool.name).or_default().push(run.max_rss_kib);
            cpu.entry(tool.name).or_default().push(run.cpu_seconds);
            outputs.insert(tool.name, (run.stdout, run.stderr));
        }
        eprintln!("bench_offline: round {}/{rounds}", round + 1);
    }
    // Ratios against dnsrare in the same round, then their median.
    let round_ratio = |a: &str, b: &str| -> Vec<f64> {
        times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect()
    };
    let best = |n: &str| times[n].iter().copied().fold(f64::INFINITY, f64::min);

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
    for tool in &tools {
        let name = tool.name;
        let ratios = round_ratio(name, "dnsrare");
        emit(
            "offline",
            json!({
                "tool": name,
                "command": tool.command,
                "seconds": times[name],
                "best_seconds": best(name),
                "median_seconds": median(&times[name]),
                "max_rss_kib": rss[name],
                "cpu_seconds": cpu[name],
                "median_cpu_seconds": median(&cpu[name]),
                "packets_per_s": totals.frames as f64 / best(name),
                "ratio_to_dnsrare": ratios,
                "median_ratio_to_dnsrare": median(&ratios),
            }),
        );
    }
    let ratio = |a: &str| median(&round_ratio(a, "dnsrare"));
    emit(
        "offline_ratios",
        json!({
            "tshark_over_dnsrare": ratio("tshark"),
            "dnstop_over_dnsrare": ratio("dnstop"),
            "dnsrare_over_floor": 1.0 / ratio("floor"),
            "cpu_busy_before_runs": busy,
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

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Reads `path` through, so that the run after it finds it in the page
/// cache (the kernel here drops idle file pages within seconds).
fn warm(path: &Path) -> Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while std::io::Read::read(&mut file, &mut buf)? > 0 {}
    Ok(())
}

/// One timed command, run under `/usr/bin/time` for its CPU time and peak
/// RSS (measured from a process that did not inherit this program's
/// memory: a child's peak RSS starts from its parent's at fork).
struct Tool {
    name: &'static str,
    command: String,
    cmd: Command,
    /// Where `/usr/bin/time` writes its figures.
    figures: PathBuf,
}

/// What one run of a tool took.
struct Run {
    seconds: f64,
    /// User plus system CPU time, all its processes.
    cpu_seconds: f64,
    /// Peak resident set of the command (its largest process), KiB.
    max_rss_kib: u64,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Tool {
    fn new<'a>(
        name: &'static str,
        command: String,
        program: &Path,
        args: impl IntoIterator<Item = &'a str>,
        out_dir: &Path,
    ) -> Self {
        let figures = out_dir.join(format!("time-{name}.txt"));
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%U %S %M", "-o"])
            .arg(&figures)
            .arg(program)
            .args(args)
            .stdin(Stdio::null());
        Self {
            name,
            command,
            cmd,
            figures,
        }
    }

    /// Runs it to the end and reads what `/usr/bin/time` measured.
    fn run(&mut self) -> Result<Run> {
        let started = Instant::now();
        let out = self
            .cmd
            .output()
            .with_context(|| format!("running {}", self.name))?;
        let seconds = started.elapsed().as_secs_f64();
        // dnsrare pcap exits 3 on a damaged capture; anything else
        // non-zero is a failure.
        if !out.status.success() {
            bail!(
                "{} failed ({}): {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let figures = std::fs::read_to_string(&self.figures)
            .with_context(|| format!("reading {}", self.figures.display()))?;
        let fields: Vec<f64> = figures
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [user, system, rss] = fields[..] else {
            bail!("/usr/bin/time wrote {figures:?}");
        };
        Ok(Run {
            seconds,
            cpu_seconds: user + system,
            max_rss_kib: rss as u64,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

/// The idle gate before each timed run.
mod idle {
    use std::time::{Duration, Instant};

    /// Busy share of all CPUs below which the machine counts as idle.
    const IDLE_BELOW: f64 = 0.25;
    /// Longest wait for idleness before running anyway.
    const MAX_WAIT: Duration = Duration::from_secs(5);
    const SAMPLE: Duration = Duration::from_millis(250);

    /// Waits until the machine's CPUs were busy less than [`IDLE_BELOW`]
    /// of a [`SAMPLE`] (at most [`MAX_WAIT`]); returns the last busy share
    /// seen, so the output says how idle each run really started.
    pub fn wait_for_idle() -> f64 {
        let started = Instant::now();
        loop {
            let busy = busy_share(SAMPLE);
            if busy < IDLE_BELOW || started.elapsed() > MAX_WAIT {
                return busy;
            }
        }
    }

    /// Busy share of all CPUs over `window` (from /proc/stat).
    fn busy_share(window: Duration) -> f64 {
        let a = cpu_times();
        std::thread::sleep(window);
        let b = cpu_times();
        let (busy, total) = (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1));
        if total == 0 {
            return 0.0;
        }
        busy as f64 / total as f64
    }

    /// (busy, total) jiffies of all CPUs.
    fn cpu_times() -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let total: u64 = fields.iter().sum();
        // idle and iowait are the fourth and fifth fields.
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        (total - idle, total)
    }
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
