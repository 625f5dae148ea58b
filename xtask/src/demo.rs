//! `cargo xtask demo`: the main job on an embedded default. Generates a
//! deterministic hour of gateway DNS (a few hundred hosts with realistic
//! noise; four infected: a beacon, a RAT's start-up, a DGA burst, a
//! tunnel), starts the real daemon with the
//! real XDP program on one end of a veth pair in a fresh network namespace,
//! replays the traffic from the other end, and prints the report.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use traffic::{
    netns::Lab,
    pcap_out,
    scenario::{self, ScenarioConfig},
    sender::RawSender,
};

use crate::{cmd, setup};

/// Replay speed: the hour of generated traffic takes 30 s, so the
/// beacon's 5-minute period becomes 2.5 s — still well above the engine's
/// one-second beat resolution.
const SPEEDUP: f64 = 120.0;

/// Runs the demo.
pub fn run(root: &Path) -> Result<()> {
    if !setup::is_root() {
        bail!(
            "cargo xtask demo needs root: it loads an XDP program and creates network namespaces"
        );
    }
    setup::run()?;
    let bin = cmd::build_dnsrare(root, true)?;

    let config = ScenarioConfig::demo();
    let (packets, truth) = scenario::generate(&config);
    let dir = cmd::target_dir(root)?.join("demo");
    std::fs::create_dir_all(&dir).context("creating target/demo")?;
    let pcap = dir.join("demo.pcap");
    pcap_out::write_pcap(&pcap, &packets)?;
    std::fs::write(
        dir.join("demo-truth.json"),
        serde_json::to_vec_pretty(&truth)?,
    )?;
    eprintln!(
        "demo: generated {} packets ({} queries from {} hosts over {} s) into {}",
        packets.len(),
        truth.queries,
        truth.hosts,
        config.duration_s,
        pcap.display()
    );

    let lab = Lab::new()?;
    let socket = dir.join("dnsrare.sock");
    // A fresh state every time: the demo shows this replay only.
    let state = dir.join("state");
    if state.exists() {
        std::fs::remove_dir_all(&state).context("clearing target/demo/state")?;
    }
    let mut daemon = Daemon(
        lab.gateway_command(&bin)
            .args(["run", "--iface", &lab.gateway_if, "--socket"])
            .arg(&socket)
            .arg("--state-dir")
            .arg(&state)
            .stdout(Stdio::null())
            .spawn()
            .context("starting dnsrare run")?,
    );
    let ask = |args: &[&str]| -> Result<std::process::Output> {
        Ok(Command::new(&bin)
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()?)
    };
    wait("the daemon to start", Duration::from_secs(20), || {
        Ok(ask(&["stats"])?.status.success())
    })?;

    let frames: Vec<(u64, &[u8])> = packets
        .iter()
        .map(|p| (p.time_ns, p.frame.as_slice()))
        .collect();
    eprintln!(
        "demo: replaying {} frames on {} at {SPEEDUP}x real time ({:.0} s)…",
        frames.len(),
        lab.client_if,
        config.duration_s as f64 / SPEEDUP
    );
    let took = lab.in_client(|| -> Result<Duration> {
        let sender = RawSender::open(&lab.client_if)?;
        Ok(sender.send_scheduled(&frames, SPEEDUP)?)
    })??;
    eprintln!("demo: replayed in {:.1} s", took.as_secs_f64());
    wait("every query to be counted", Duration::from_secs(30), || {
        let out = ask(&["stats", "--json"])?;
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(stats["capture"]["counted"].as_u64() >= Some(truth.queries))
    })?;

    let report = ask(&["report", "--top", "10", "--explain"])?;
    println!("$ dnsrare report --top 10 --explain");
    print!("{}", String::from_utf8_lossy(&report.stdout));
    let rare = ask(&["report", "--top", "5", "--sort", "rare"])?;
    println!("\n$ dnsrare report --top 5 --sort rare   # the plain least-queried list");
    print!("{}", String::from_utf8_lossy(&rare.stdout));
    for beacon in &truth.beacons {
        println!("\n$ dnsrare hosts {}", beacon.name);
        print!(
            "{}",
            String::from_utf8_lossy(&ask(&["hosts", &beacon.name])?.stdout)
        );
        println!(
            "\n(ground truth: {} beacons to {} every {} s ±{:.0}%; replayed {SPEEDUP}x faster than real time, so every {:.1} s here)",
            beacon.host,
            beacon.name,
            beacon.period_s,
            config.beacon_jitter * 100.0,
            beacon.period_s as f64 / SPEEDUP
        );
    }
    daemon.stop()
}

/// The daemon process; killed if the demo fails half-way.
struct Daemon(Child);

impl Daemon {
    fn stop(&mut self) -> Result<()> {
        terminate(self.0.id());
        let status = self.0.wait()?;
        if !status.success() {
            bail!("dnsrare run exited with {status}");
        }
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Sends SIGTERM to `pid` through `kill(1)`, keeping xtask free of libc.
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let start = Instant::now();
    while !done()? {
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
