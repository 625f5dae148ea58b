//! `cargo xtask bench`: the capture benchmarks of issue 5, run one after
//! the other, their JSON lines collected into a dated Markdown section
//! appended to BENCHMARKS.md (and printed).
//!
//! 1. XDP program cost: `bench_xdp` (BPF_PROG_TEST_RUN with repeat; a
//!    trivial XDP_PASS program, then the capture program on a non-DNS
//!    packet, a short-name query and a 200-character-name query).
//! 2. Live end to end: `bench_live` (the release `dnsrare run` on a veth
//!    pair in a fresh lab, a sender on the other end at stepped rates), with
//!    each sender in turn; then `bench_path`, the capture path (XDP program,
//!    ring buffer, drain, engine) driven by BPF_PROG_TEST_RUN without any
//!    sender.
//! 3. Offline: `bench_offline` (`dnsrare pcap` against the floor program
//!    `bench_floor`, the tshark seed method and dnstop on a generated
//!    1.3-million-packet capture, in interleaved idle-gated rounds; tshark
//!    and dnstop are installed from Debian when missing).
//!
//! Raw output stays in target/bench/*.jsonl. Needs root (BPF programs,
//! network namespaces); all traffic stays inside the labs the benches make.

use std::{
    collections::BTreeMap,
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cmd, setup};

/// Which parts to run.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Parts to run: xdp, live, path, offline [default: all]
    /// (`cargo xtask bench offline`).
    parts: Vec<String>,
    /// Parts to run (comma-separated), as the positional list.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also time this earlier `dnsrare` build in the offline rounds (a
    /// before/after comparison in the same rounds).
    #[arg(long)]
    dnsrare_before: Option<std::path::PathBuf>,
    /// Print the section without appending it to BENCHMARKS.md.
    #[arg(long)]
    no_append: bool,
    /// Shorter runs (fewer rounds, shorter steps) for a quick look; the
    /// section says so.
    #[arg(long)]
    quick: bool,
}

/// The live-benchmark senders, in order: id, arguments, what it is.
const SENDERS: &[(&str, &[&str])] = &[
    ("sendmmsg", &["--sender", "sendmmsg"]),
    ("ring", &["--sender", "ring"]),
    (
        "xdp16",
        &["--sender", "xdp", "--xdp-repeat", "16", "--xdp-batch", "64"],
    ),
    (
        "xdp128",
        &[
            "--sender",
            "xdp",
            "--xdp-repeat",
            "128",
            "--xdp-batch",
            "128",
        ],
    ),
];

const RATES: &str = "50000,100000,200000,400000,600000,800000,1000000,1200000";
const PATH_RATES: &str = "250000,500000,1000000,1500000,2000000,2500000,3000000";

/// Runs `cargo xtask bench`.
pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    const ALL: [&str; 4] = ["xdp", "live", "path", "offline"];
    let parts: Vec<&str> = match (args.parts.is_empty(), args.only.is_empty()) {
        (true, true) => ALL.to_vec(),
        _ => args
            .parts
            .iter()
            .chain(&args.only)
            .map(String::as_str)
            .collect(),
    };
    for part in &parts {
        if !ALL.contains(part) {
            bail!("unknown part {part} (xdp, live, path, offline)");
        }
    }
    if !setup::is_root() {
        bail!(
            "cargo xtask bench needs root: it installs its tools, loads XDP programs and creates \
             network namespaces"
        );
    }
    let wants = |part: &str| parts.contains(&part);
    setup::run()?;
    if wants("offline") {
        install_tools()?;
    }
    cmd::run(cmd::cargo(root).args([
        "build",
        "--release",
        "--package",
        "capture-user",
        "--bin",
        "dnsrare",
        "--package",
        "dnsrare-benches",
        "--bin",
        "bench_xdp",
        "--bin",
        "bench_live",
        "--bin",
        "bench_path",
        "--bin",
        "bench_offline",
        "--bin",
        "bench_floor",
    ]))?;
    let target = cmd::target_dir(root)?;
    let release = target.join("release");
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir).context("creating target/bench")?;
    let load_before = load_average();

    let mut section = String::new();
    let machine = machine()?;
    section += &format!(
        "\n## {} — capture benchmarks (issue 5)\n\n`cargo xtask bench`{} (as root; the bench binaries are \
         built in release and run one after the other; their JSON lines are kept in `target/bench/*.jsonl`).\n\n\
         **Machine**: {machine}. Load average before the run: {load_before}.\n",
        today(),
        if args.quick {
            " --quick (shortened runs)"
        } else {
            ""
        },
    );

    if wants("xdp") {
        let rounds = if args.quick { "3" } else { "11" };
        let argv = ["--repeat", "1000000", "--rounds", rounds];
        let lines = run_bench(&release, &out_dir, "bench_xdp", "xdp", &argv)?;
        section += &xdp_section(&lines, &argv);
    }
    if wants("live") {
        let step = if args.quick { "1" } else { "3" };
        let mut all = Vec::new();
        for (id, sender) in SENDERS {
            let mut argv: Vec<&str> = vec!["--rates", RATES, "--step-seconds", step];
            argv.extend_from_slice(sender);
            let lines = run_bench(
                &release,
                &out_dir,
                "bench_live",
                &format!("live-{id}"),
                &argv,
            )?;
            all.push((argv.join(" "), lines));
        }
        section += &live_section(&all);
    }
    if wants("path") {
        let step = if args.quick { "1" } else { "2" };
        let argv = [
            "--rates",
            PATH_RATES,
            "--step-seconds",
            step,
            "--mode",
            "repeat",
            "--repeat",
            "64",
            "--pin",
        ];
        let lines = run_bench(&release, &out_dir, "bench_path", "path", &argv)?;
        section += &path_section(&lines, &argv);
    }
    if wants("offline") {
        let rounds = if args.quick { "1" } else { "5" };
        let before = args
            .dnsrare_before
            .as_ref()
            .map(|p| p.display().to_string());
        let mut argv = vec!["--rounds", rounds];
        if let Some(before) = &before {
            argv.extend(["--dnsrare-before", before.as_str()]);
        }
        let lines = run_bench(&release, &out_dir, "bench_offline", "offline", &argv)?;
        section += &offline_section(&lines, &argv);
    }
    section += &format!("\nLoad average after the run: {}.\n", load_average());

    println!("{section}");
    if !args.no_append {
        let path = root.join("BENCHMARKS.md");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.write_all(section.as_bytes())?;
        eprintln!("xtask: appended the section to {}", path.display());
    }
    Ok(())
}

/// Installs tshark and dnstop from Debian if either is missing; tshark's
/// debconf question (may non-root users capture?) is answered "no" first.
fn install_tools() -> Result<()> {
    if on_path("tshark") && on_path("dnstop") {
        return Ok(());
    }
    let mut preseed = Command::new("debconf-set-selections")
        .stdin(Stdio::piped())
        .spawn()
        .context("running debconf-set-selections")?;
    preseed
        .stdin
        .take()
        .context("debconf-set-selections stdin")?
        .write_all(b"wireshark-common wireshark-common/install-setuid boolean false\n")?;
    if !preseed.wait()?.success() {
        bail!("debconf-set-selections failed");
    }
    setup::install_packages(&["tshark", "dnstop"])
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// Runs `release/bin argv…`, saves its stdout as target/bench/ID.jsonl and
/// returns the parsed lines.
fn run_bench(
    release: &Path,
    out_dir: &Path,
    bin: &str,
    id: &str,
    argv: &[&str],
) -> Result<Vec<Value>> {
    let path = release.join(bin);
    eprintln!("xtask: {} {}", path.display(), argv.join(" "));
    let out = Command::new(&path)
        .args(argv)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {}", path.display()))?;
    std::fs::write(out_dir.join(format!("{id}.jsonl")), &out.stdout)?;
    if !out.status.success() {
        bail!("{bin} failed: {}", out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("{bin} printed {l}")))
        .collect()
}

fn of<'a>(lines: &'a [Value], bench: &str) -> impl Iterator<Item = &'a Value> {
    let bench = bench.to_owned();
    lines.iter().filter(move |l| l["bench"] == bench.as_str())
}

fn one<'a>(lines: &'a [Value], bench: &str) -> &'a Value {
    of(lines, bench).next().unwrap_or(&Value::Null)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate in k or M per second.
fn rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else {
        format!("{:.0} k", r / 1e3)
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn xdp_section(lines: &[Value], argv: &[&str]) -> String {
    let setup = one(lines, "xdp_setup");
    let mut s = format!(
        "\n### 1. XDP program cost (BPF_PROG_TEST_RUN, kernel timing)\n\n\
         `target/release/bench_xdp {}`\n\n\
         Each case is one `BPF_PROG_TEST_RUN` call with `repeat` = {}; the kernel reports the mean \
         time per run in whole nanoseconds. {} rounds, each running the four cases in turn \
         (rotating which goes first); the table gives the median over rounds. The ring buffer is \
         sized at {} MiB so that it holds every event of one call ({} bytes each) and is emptied \
         between calls: the timed path is the ordinary reserve-and-submit one, never the ring-full \
         one (each call is checked to produce exactly `repeat` events and 0 lost). The capture \
         program is {} instructions after the kernel's rewrites ({} processed by the verifier).\n\n\
         | case | ns/packet (median) | min–max over rounds | above (a), ns | ratio to (a) | target |\n|---|---|---|---|---|---|\n",
        argv.join(" "),
        thousands(u(&setup["repeat"])),
        u(&setup["rounds"]),
        u(&setup["ring_bytes"]) >> 20,
        u(&setup["ring_record_bytes"]),
        u(&setup["instructions"]),
        thousands(u(&setup["verified_instructions"])),
    );
    let base = of(lines, "xdp")
        .find(|c| c["case"] == "a")
        .map_or(f64::NAN, |c| f(&c["median_ns"]));
    for case in of(lines, "xdp") {
        let id = case["case"].as_str().unwrap_or("?");
        let ratio = f(&case["ratio_to_trivial"]);
        let target = match id {
            "b" => format!("≤ 1.2× — {}", met(ratio <= 1.2)),
            "c" | "d" => format!("≤ 3× — {}", met(ratio <= 3.0)),
            _ => "baseline".into(),
        };
        s += &format!(
            "| ({id}) {} [{} B frame] | {:.0} | {}–{} | {:.0} | {:.2} | {target} |\n",
            case["what"].as_str().unwrap_or(""),
            u(&case["frame_bytes"]),
            f(&case["median_ns"]),
            u(&case["min_ns"]),
            u(&case["max_ns"]),
            f(&case["median_ns"]) - base,
            ratio,
        );
    }
    s += "\nEvery round's figures, in nanoseconds: ";
    let rounds: Vec<String> = of(lines, "xdp")
        .map(|c| {
            format!(
                "({}) {}",
                c["case"].as_str().unwrap_or("?"),
                c["ns"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .map(|v| u(v).to_string())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            )
        })
        .collect();
    s += &rounds.join("; ");
    s += ".\n";
    s
}

fn live_section(runs: &[(String, Vec<Value>)]) -> String {
    let mut s = String::from(
        "\n### 2. Live end to end: veth pair, `dnsrare run`, stepped rates\n\n\
         A fresh lab (two network namespaces joined by a veth pair); the release `dnsrare run` \
         attached to the gateway end (driver-mode XDP, gateway mode, default ring and shards, \
         state in a temporary directory); a sender on the client end replays the single-query \
         frames of a generated gateway capture. Each step sends rate × step time frames (at most \
         twice the step time), then waits until the daemon has counted everything that reached the \
         ring. *Offered* is what the sender achieved; *reached XDP* counts the queries the program \
         saw; *counted* is the engine's count (`dnsrare stats --json`: capture.queries, \
         capture.counted, capture.lost, capture.parse_errors); *daemon CPU* is utime + stime of \
         the daemon (/proc/PID/stat) over the step and its catch-up, as a share of one core; the \
         sender thread's CPU includes the XDP program and veth's receive path, which run in its \
         softirq context. The last row of each table (max) sends flat out. Before the daemon \
         starts, each sender runs flat out once with nothing attached (its own ceiling).\n",
    );
    let mut best_overall: (f64, String) = (0.0, String::new());
    for (argv, lines) in runs {
        let setup = one(lines, "live_setup");
        let alone = one(lines, "live_sender_alone");
        s += &format!(
            "\n**Sender: {}** — `target/release/bench_live {argv}`. Pool: {} frames ({:.0} bytes on \
             average; {}). Daemon: `dnsrare {}`, {} shards, attached to {}. Sender alone (nothing \
             attached): {}/s.\n\n\
             | target q/s | offered q/s | reached XDP | counted | lost | parse errors | daemon CPU (share of a core) | daemon context switches per 1k q | IRQ-work interrupts per 1k q | sender CPU s | lossless |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
            setup["sender"].as_str().unwrap_or("?"),
            thousands(u(&setup["frames_in_pool"])),
            f(&setup["mean_frame_bytes"]),
            setup["scenario"].as_str().unwrap_or(""),
            setup["daemon_args"].as_str().unwrap_or(""),
            u(&setup["shards"]),
            setup["interfaces"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            rate(f(&alone["per_s"])),
        );
        let mut best_lossless = 0.0f64;
        let mut limited = Vec::new();
        let mut lossy = Vec::new();
        for step in of(lines, "live") {
            let target = step["target_per_s"].as_u64();
            let offered = f(&step["offered_per_s"]);
            let lossless = step["lossless"].as_bool().unwrap_or(false);
            if lossless {
                best_lossless = best_lossless.max(offered);
            }
            if let Some(t) = target
                && offered < 0.95 * t as f64
                && lossless
            {
                limited.push(thousands(t));
            }
            if u(&step["lost"]) > 0 {
                lossy.push(target.map_or("max".into(), thousands));
            }
            let per_k = |field: &str| {
                u(&step[field]) as f64 * 1000.0 / (u(&step["xdp_queries"]).max(1)) as f64
            };
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {:.2} s ({:.0}%) | {:.0} | {:.0} | {:.2} | {} |\n",
                target.map_or("max".into(), thousands),
                thousands(offered as u64),
                thousands(u(&step["xdp_queries"])),
                thousands(u(&step["counted"])),
                thousands(u(&step["lost"])),
                u(&step["parse_errors"]),
                f(&step["daemon_cpu_seconds"]),
                f(&step["daemon_cpu_share"]) * 100.0,
                per_k("daemon_context_switches"),
                per_k("irq_work_interrupts"),
                f(&step["sender_cpu_seconds"]),
                if lossless { "yes" } else { "**no**" },
            );
        }
        s += &format!(
            "\nHighest lossless offered rate: **{}/s**.",
            rate(best_lossless)
        );
        if !limited.is_empty() {
            s += &format!(
                " The sender fell short of the target (below 95%) at {} q/s: there the sender, not \
                 dnsrare, set the rate (nothing was lost).",
                limited.join(", ")
            );
        }
        if !lossy.is_empty() {
            s += &format!(
                " Events were lost (ring full) at the {} q/s step(s).",
                lossy.join(", ")
            );
        }
        s += "\n";
        if best_lossless > best_overall.0 {
            best_overall = (
                best_lossless,
                setup["sender"].as_str().unwrap_or("").to_owned(),
            );
        }
    }
    s += &format!(
        "\nTarget: 1 M queries/s lossless — {} (best lossless rate {}/s, with the sender \"{}\").\n",
        met(best_overall.0 >= 1e6),
        rate(best_overall.0),
        best_overall.1
    );
    s
}

fn path_section(lines: &[Value], argv: &[&str]) -> String {
    let setup = one(lines, "path_setup");
    let mut s = format!(
        "\n### 2b. Capture path without a sender (BPF_PROG_TEST_RUN producer, real drain and engine)\n\n\
         `target/release/bench_path {}`\n\n\
         The embedded XDP program (mirror mode) runs under `BPF_PROG_TEST_RUN` on one thread, \
         {} times per call over each frame of a pool of {} single-query frames from a generated \
         capture, paced at each step's rate; meanwhile the real drain thread and engine ({} shards, \
         as `dnsrare run` starts them) empty the {} MiB ring. {}The program is also attached to an \
         idle veth in the bench's own lab so that the kernel keeps it in its XDP dispatcher (without \
         that, every call with repeat > 1 re-patches the dispatcher and waits for an RCU grace \
         period, ~27 ms here). *Consumer CPU* is the process's CPU minus the producer thread's; \
         *IRQ-work interrupts* are the ring buffer's wakeups of the drain (/proc/interrupts, IWI).\n\n\
         | target events/s | achieved | queries into the ring | counted | lost (ring full) | catch-up s | consumer CPU s | IRQ-work interrupts per 1k events | lossless |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        argv.join(" "),
        u(&setup["repeat_per_call"]),
        thousands(u(&setup["frames_in_pool"])),
        u(&setup["shards"]),
        u(&setup["ring_bytes"]) >> 20,
        if setup["pinned"].as_bool().unwrap_or(false) {
            "The producer is pinned to CPU 0 and the drain and shards to the other CPU (a NIC's \
             receive softirq on one core, the daemon on the other). "
        } else {
            ""
        },
    );
    let mut best = 0.0f64;
    let mut short = Vec::new();
    for step in of(lines, "path") {
        let lossless = step["lossless"].as_bool().unwrap_or(false);
        let achieved = f(&step["offered_per_s"]);
        if lossless {
            best = best.max(achieved);
        }
        let target = u(&step["target_per_s"]);
        if target > 0 && achieved < 0.95 * target as f64 && lossless {
            short.push(thousands(target));
        }
        s += &format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.0} | {} |\n",
            if target == 0 {
                "max".into()
            } else {
                thousands(target)
            },
            thousands(achieved as u64),
            thousands(u(&step["kernel"]["queries"])),
            thousands(u(&step["counted"])),
            thousands(u(&step["kernel"]["lost"])),
            f(&step["catch_up_seconds"]),
            f(&step["consumer_cpu_seconds"]),
            u(&step["irq_work_interrupts"]) as f64 * 1000.0
                / u(&step["kernel"]["queries"]).max(1) as f64,
            if lossless { "yes" } else { "**no**" },
        );
    }
    s += &format!(
        "\nHighest lossless rate the drain and engine sustained: **{}/s** (target 1 M/s — {}).",
        rate(best),
        met(best >= 1e6)
    );
    if !short.is_empty() {
        s += &format!(
            " The producer fell short of the target (below 95%) at {} events/s with nothing lost: \
             there it, not the drain and the engine, set the rate.",
            short.join(", ")
        );
    }
    s += "\n";
    s
}

fn offline_section(lines: &[Value], argv: &[&str]) -> String {
    let setup = one(lines, "offline_setup");
    let ratios = one(lines, "offline_ratios");
    let counts = one(lines, "offline_counts");
    let mut s = format!(
        "\n### 3. Offline: `dnsrare pcap` against the floor, the seed method and dnstop\n\n\
         `target/release/bench_offline {}` on `{}` ({} frames, {} MB; generated by \
         `traffic::scenario::generate(&ScenarioConfig::gateway())` + `save`, deterministic). \
         Wall-clock time of each whole command, output to a pipe, in {} rounds; each round starts \
         with another tool; before every run the machine must be idle (CPU busy below 25% over \
         250 ms, at most 5 s of waiting; busy share seen before the runs: {}) and the capture is \
         read through into the page cache. Ratios are to dnsrare in the same round (median over \
         rounds); CPU time (user + system) and peak RSS from `/usr/bin/time`.\n\n\
         | tool | command | median (s) | every round (s) | CPU, median (s) | peak RSS (MiB) | packets/s (best) | time ratio to dnsrare (median of rounds) |\n|---|---|---|---|---|---|---|---|\n",
        argv.join(" "),
        setup["pcap"].as_str().unwrap_or("?"),
        thousands(u(&setup["frames"])),
        u(&setup["bytes"]) / 1_000_000,
        u(&setup["rounds"]),
        ratios["cpu_busy_before_runs"]
            .as_array()
            .map(|a| {
                let v: Vec<f64> = a.iter().map(f).collect();
                format!(
                    "{:.0}–{:.0}%",
                    v.iter().copied().fold(f64::INFINITY, f64::min) * 100.0,
                    v.iter().copied().fold(0.0, f64::max) * 100.0
                )
            })
            .unwrap_or_default(),
    );
    for tool in of(lines, "offline") {
        let list = |key: &str, scale: f64, digits: usize| -> Vec<String> {
            tool[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| format!("{:.digits$}", f(v) * scale))
                        .collect()
                })
                .unwrap_or_default()
        };
        let rss = list("max_rss_kib", 1.0 / 1024.0, 0);
        s += &format!(
            "| {} | `{}` | {:.3} | {} | {:.3} | {} | {} | {:.2} |\n",
            tool["tool"].as_str().unwrap_or("?"),
            tool["command"].as_str().unwrap_or(""),
            f(&tool["median_seconds"]),
            list("seconds", 1.0, 3).join(", "),
            f(&tool["median_cpu_seconds"]),
            rss.join(", "),
            thousands(f(&tool["packets_per_s"]) as u64),
            f(&tool["median_ratio_to_dnsrare"]),
        );
    }
    let (t, d, fl) = (
        f(&ratios["tshark_over_dnsrare"]),
        f(&ratios["dnstop_over_dnsrare"]),
        f(&ratios["dnsrare_over_floor"]),
    );
    s += &format!(
        "\nTargets (issue 12): within 1.3× of the floor — {} ({fl:.2}×); at least 6× faster than \
         dnstop — {} ({d:.2}×); at least 200× faster than the seed method — {} ({t:.1}×).\n\n\
         dnsrare's own summary: `{}`\n",
        met(fl <= 1.3),
        met(d >= 6.0),
        met(t >= 200.0),
        setup["dnsrare_summary"].as_str().unwrap_or(""),
    );
    let only: BTreeMap<String, u64> =
        serde_json::from_value(counts["tshark_only"].clone()).unwrap_or_default();
    let only_total: u64 = only.values().sum();
    let dn_only: BTreeMap<String, u64> =
        serde_json::from_value(counts["dnsrare_only"].clone()).unwrap_or_default();
    let enc: BTreeMap<String, u64> =
        serde_json::from_value(counts["query_frames_by_encapsulation"].clone()).unwrap_or_default();
    s += &format!(
        "\n**Do the counts agree?** The seed method counts {} frames (the sum of its `uniq -c` \
         column; {} of them have no `ip.src`, i.e. IPv6 queries, which it files under an empty \
         host). dnsrare counts {} queries in {} frames ({} frames with more than one query) and {} \
         parse errors. Frame by frame (tshark listing frame numbers with the same filter): {} \
         frames are counted by both, with the same first name in {} ({} more equal ignoring case{}); \
         {} frames are listed by tshark only{}; {} frames are counted by dnsrare only{}. tshark's \
         filter would also match mDNS and LLMNR and count a frame with several DNS messages once{}. \
         dnstop counts {} queries; the query frames both count are, by encapsulation: {}{}.\n",
        thousands(u(&counts["tshark_frames"])),
        thousands(u(&counts["tshark_frames_without_ip_src"])),
        thousands(u(&counts["dnsrare_queries"])),
        thousands(u(&counts["dnsrare_query_frames"])),
        u(&counts["dnsrare_multi_query_frames"]),
        u(&counts["dnsrare_parse_errors"]),
        thousands(u(&counts["both"])),
        thousands(u(&counts["both_names_equal"])),
        u(&counts["both_names_equal_ignoring_case"]),
        counts["name_mismatch_examples"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|a| format!("; differing: {a:?}"))
            .unwrap_or_default(),
        only_total,
        if only.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                only.iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        dn_only.values().sum::<u64>(),
        if dn_only.is_empty() {
            String::new()
        } else {
            format!(" ({dn_only:?})")
        },
        if only.keys().all(|k| k.starts_with("parse error"))
            && dn_only.is_empty()
            && u(&counts["dnsrare_multi_query_frames"]) == 0
        {
            "; this capture has neither (every frame tshark alone lists is one dnsrare refuses as \
             malformed, and no frame holds two queries), so the counts differ by exactly the \
             malformed queries, which tshark still shows as queries and dnsrare counts as parse \
             errors by reason"
        } else {
            "; the classes above give every difference"
        },
        counts["dnstop_queries"]
            .as_u64()
            .map_or("?".into(), thousands),
        enc.iter()
            .map(|(k, v)| format!("{} {k}", thousands(*v)))
            .collect::<Vec<_>>()
            .join(", "),
        {
            let plain = enc.get("untagged IPv4 UDP").copied().unwrap_or(0)
                + enc.get("untagged IPv6 UDP").copied().unwrap_or(0);
            let refused = u(&counts["dnstop_queries_among_refused"]);
            if counts["dnstop_queries"].as_u64() == Some(plain + refused) {
                format!(
                    ". dnstop's count is exactly the {} untagged UDP query frames without an IPv6 \
                     extension header plus {refused} of the {only_total} malformed queries (dnstop \
                     run on those frames alone, cut out with `editcap -r`): it skips VLAN-tagged \
                     frames, TCP and IPv6 extension headers",
                    thousands(plain)
                )
            } else {
                String::new()
            }
        },
    );
    s
}

/// "AMD EPYC, 2 CPUs (2 cores), 23 GiB RAM, Linux 6.18.44; rustc …".
fn machine() -> Result<String> {
    let lscpu = capture(&mut Command::new("lscpu"))?;
    let field = |name: &str| {
        lscpu
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "?".into())
    };
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("?".into(), |kib| format!("{:.0}", kib as f64 / 1048576.0));
    let kernel = capture(Command::new("uname").arg("-r"))?;
    let rustc = capture(
        Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())).arg("--version"),
    )
    .unwrap_or_else(|_| "rustc ?".into());
    Ok(format!(
        "{} ({}), {} CPUs ({} cores per socket, {} threads per core), L2 {}, L3 {}, {mem_gib} GiB RAM, \
         hypervisor {}; Linux {}; userspace built by {} (release profile)",
        field("Model name:"),
        field("Vendor ID:"),
        field("CPU(s):"),
        field("Core(s) per socket:"),
        field("Thread(s) per core:"),
        field("L2 cache:"),
        field("L3 cache:"),
        field("Hypervisor vendor:"),
        kernel.trim(),
        rustc.trim(),
    ))
}

fn capture(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().context("running a probe command")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn today() -> String {
    capture(Command::new("date").args(["-u", "+%Y-%m-%d"]))
        .map(|d| d.trim().to_owned())
        .unwrap_or_else(|_| "????-??-??".into())
}
