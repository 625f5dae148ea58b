//! `cargo xtask fuzz [--time SECONDS] [TARGET…]`: runs the cargo-fuzz
//! targets of `fuzz/` (the untrusted-input parsers of the `dnsrare`
//! library), each for a fixed time, and fails if any finds a crash.
//!
//! cargo-fuzz is installed if missing; it needs a nightly toolchain, taken
//! from `rustup toolchain list` (no component is downloaded). Each target
//! reads its growing corpus (`fuzz/corpus/TARGET`, not committed), its
//! committed seeds (`fuzz/seeds/TARGET`, made by `fuzz/examples/seeds.rs`,
//! regenerated here when missing) and, for `pcap_reader`, the shared
//! captures in `../shared/data/pcaps`, read in place. A crash, hang or
//! out-of-memory input is kept in `fuzz/artifacts/TARGET/`.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use clap::{Args, builder::PossibleValuesParser};

use crate::cmd;

/// The fuzz targets, in the order they run by default.
const TARGETS: [&str; 7] = [
    "name_decoder",
    "answer_parser",
    "packet_parser",
    "pcap_reader",
    "socket_request",
    "snapshot_loader",
    "snapshot_payload",
];

/// Seconds one input may take before libFuzzer calls it a hang (generous:
/// the machine may be busy compiling).
const HANG_SECONDS: u32 = 25;

/// What `cargo xtask fuzz` takes.
#[derive(Args)]
pub struct FuzzArgs {
    /// Seconds to fuzz each target.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    time: u64,
    /// Targets to run (default: all).
    #[arg(value_name = "TARGET", value_parser = PossibleValuesParser::new(TARGETS))]
    targets: Vec<String>,
}

/// How one target's run went.
struct Outcome {
    target: String,
    executions: Option<u64>,
    per_second: Option<u64>,
    artifacts: Vec<String>,
    failed: bool,
}

/// Installs what is missing, builds every target, runs the chosen ones and
/// fails if any found a crash (the input stays in `fuzz/artifacts/`).
pub fn run(root: &Path, args: &FuzzArgs) -> Result<()> {
    let toolchain = nightly()?;
    ensure_cargo_fuzz(root)?;
    let fuzz = root.join("fuzz");
    if TARGETS.iter().any(|t| !fuzz.join("seeds").join(t).is_dir()) {
        cmd::run(nightly_cargo(root, &toolchain).args([
            "run",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--example",
            "seeds",
        ]))?;
    }
    cmd::run(nightly_cargo(root, &toolchain).args(["fuzz", "build", "--fuzz-dir", "fuzz"]))?;
    let targets: Vec<String> = if args.targets.is_empty() {
        TARGETS.iter().map(|&t| t.to_owned()).collect()
    } else {
        args.targets.clone()
    };
    let shared_pcaps = root
        .parent()
        .map(|p| p.join("shared/data/pcaps"))
        .filter(|p| p.is_dir());
    let mut outcomes = Vec::new();
    for target in &targets {
        let corpus = fuzz.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("creating {}", corpus.display()))?;
        let mut dirs = vec![corpus, fuzz.join("seeds").join(target)];
        if let Some(pcaps) = shared_pcaps.as_ref().filter(|_| target == "pcap_reader") {
            dirs.push(pcaps.clone());
        }
        let dict = fuzz.join("dicts").join(format!("{target}.dict"));
        outcomes.push(run_target(
            root,
            &toolchain,
            target,
            &dirs,
            dict.is_file().then_some(dict.as_path()),
            args.time,
        )?);
    }
    eprintln!("\nxtask fuzz: {} s per target", args.time);
    for o in &outcomes {
        let count = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
        eprintln!(
            "  {:<17} {:>12} executions {:>9} exec/s  {}",
            o.target,
            count(o.executions),
            count(o.per_second),
            match (o.failed, o.artifacts.is_empty()) {
                (false, _) => "ok".to_owned(),
                (true, true) => "FAILED (see its output above)".to_owned(),
                (true, false) => format!("CRASH: {}", o.artifacts.join(", ")),
            }
        );
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.failed)
        .map(|o| o.target.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "fuzzing failed for {}; reproduce with `cargo +nightly fuzz run --fuzz-dir fuzz TARGET ARTIFACT`",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The first nightly toolchain rustup has.
fn nightly() -> Result<String> {
    let out = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .context("cannot run `rustup toolchain list` (cargo fuzz needs rustup's nightly)")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .find(|name| name.starts_with("nightly"))
        .map(str::to_owned)
        .context("cargo fuzz needs a nightly toolchain and rustup lists none")
}

/// `cargo` through rustup's proxy on `toolchain`, in the repository root
/// (whose rust-toolchain.toml pins stable, overridden here).
fn nightly_cargo(root: &Path, toolchain: &str) -> Command {
    let mut cargo = Command::new("cargo");
    cargo.current_dir(root).env("RUSTUP_TOOLCHAIN", toolchain);
    cargo
}

/// Installs cargo-fuzz with the stable toolchain unless it runs already.
fn ensure_cargo_fuzz(root: &Path) -> Result<()> {
    let present = cmd::cargo(root)
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        cmd::run(cmd::cargo(root).args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Fuzzes `target` for `seconds` over the corpus directories `dirs` (new
/// inputs go to the first), echoing libFuzzer's output and collecting its
/// final statistics and any artifact it wrote.
fn run_target(
    root: &Path,
    toolchain: &str,
    target: &str,
    dirs: &[PathBuf],
    dict: Option<&Path>,
    seconds: u64,
) -> Result<Outcome> {
    let mut fuzz = nightly_cargo(root, toolchain);
    fuzz.args(["fuzz", "run", "--fuzz-dir", "fuzz", target])
        .args(dirs)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={HANG_SECONDS}"))
        .arg("-print_final_stats=1");
    if let Some(dict) = dict {
        fuzz.arg(format!("-dict={}", dict.display()));
    }
    eprintln!("\nxtask: fuzzing {target} for {seconds} s");
    let start = Instant::now();
    let mut child = fuzz
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start cargo fuzz")?;
    let mut outcome = Outcome {
        target: target.to_owned(),
        executions: None,
        per_second: None,
        artifacts: Vec::new(),
        failed: false,
    };
    let stderr = child.stderr.take().context("cargo fuzz's stderr")?;
    for line in BufReader::new(stderr).lines() {
        let line = line.context("reading cargo fuzz's output")?;
        eprintln!("{line}");
        let stat = |name: &str| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim().parse::<u64>().ok())
        };
        if let Some(n) = stat("stat::number_of_executed_units:") {
            outcome.executions = Some(n);
        } else if let Some(n) = stat("stat::average_exec_per_sec:") {
            outcome.per_second = Some(n);
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            outcome.artifacts.push(path.trim().to_owned());
        }
    }
    let status = child.wait().context("waiting for cargo fuzz")?;
    outcome.failed = !status.success() || !outcome.artifacts.is_empty();
    eprintln!(
        "xtask: {target} ran {:.0} s: {} executions, {} exec/s{}",
        start.elapsed().as_secs_f64(),
        outcome.executions.unwrap_or(0),
        outcome.per_second.unwrap_or(0),
        if outcome.failed { ", FAILED" } else { "" }
    );
    Ok(outcome)
}
