//! `cargo xtask …`: everything that is not the `dnsrare` binary itself —
//! installing the eBPF toolchain (which `capture-user/build.rs` uses to
//! build the XDP program), running every check and test, the Debian
//! package, the demo, the evaluation, benchmarks and fuzzing.

mod bench;
mod cmd;
mod deb;
mod demo;
mod ebpf;
mod fuzz;
mod r#gen;
mod lexical;
mod setup;
mod test;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "dnsrare project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the eBPF toolchain (Debian rustc, LLVM 22, bpf-linker); idempotent.
    Setup,
    /// Set up, build, then run the daemon: `cargo xtask run -- --iface IF`.
    Run {
        /// Arguments for `dnsrare run` (at least `--iface IF`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up, build, then run every check and test (needs root).
    Test,
    /// Build the Debian package target/debian/dnsrare_VERSION_amd64.deb
    /// (installs the pinned cargo-deb if missing).
    Deb,
    /// Set up, build, then run the daemon on a veth pair in a fresh network
    /// namespace, replay generated traffic into it and print the report.
    Demo,
    /// Train the lexical randomness model (capture-core/data/lexical-model.bin).
    TrainLexical(lexical::TrainArgs),
    /// Generate a gateway capture (pcap) with its ground truth (JSON).
    Gen(r#gen::GenArgs),
    /// Measure the report on a generated capture of real labelled names
    /// (precision, ranks, CDN noise, infected hosts; lexical AUC).
    Eval,
    /// Run the cargo-fuzz targets (nightly), each for `--time` seconds.
    Fuzz(fuzz::FuzzArgs),
    /// Run the capture benchmarks (XDP cost, live veth, offline against
    /// tshark and dnstop) and append a dated section to BENCHMARKS.md.
    Bench(bench::BenchArgs),
}

fn main() -> Result<()> {
    let root = workspace_root();
    match Cli::parse().task {
        Task::Setup => setup::run(),
        Task::Run { args } => {
            setup::run()?;
            let bin = cmd::build_dnsrare(&root, true)?;
            let mut full = vec!["run".to_owned()];
            full.extend(args);
            cmd::exec(&bin, &full)
        }
        Task::Test => test::run(&root),
        Task::Deb => deb::build(&root).map(drop),
        Task::Demo => demo::run(&root),
        Task::TrainLexical(args) => lexical::train(&root, &args),
        Task::Gen(args) => r#gen::run(&root, &args),
        Task::Fuzz(args) => fuzz::run(&root, &args),
        Task::Bench(args) => bench::run(&root, &args),
        Task::Eval => {
            setup::run()?;
            cmd::run(cmd::cargo(&root).args([
                "run",
                "--release",
                "--package",
                "dnsrare-benches",
                "--bin",
                "eval",
            ]))
        }
    }
}

/// The repository root (the parent of this crate).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
