//! `cargo xtask bench`, part 2: live end to end. A fresh lab (two network
//! namespaces joined by a veth pair), the release `dnsrare run` attached to
//! the gateway end with its state in a temporary directory, and a raw
//! AF_PACKET sender on the client end replaying the DNS query frames of a
//! generated gateway capture at stepped rates. For every step: the rate the
//! sender achieved, the packets the XDP program saw, the queries the daemon
//! counted, events lost (ring full), parse errors and the daemon's CPU time
//! (utime + stime from /proc/PID/stat over the step and its catch-up).
//!
//! Before the daemon starts, the sender runs flat out once with nothing
//! attached, and once more with the daemon attached after the paced steps:
//! that shows whether the sender, rather than dnsrare, is the limit.
//!
//! Every step is bounded in frames (rate × step time) and in time (twice
//! the step time); traffic stays inside the lab, which is removed at the
//! end (also on error).
//!
//! Usage: `bench_live [--dnsrare BIN] [--rates 50000,100000,…]
//! [--step-seconds S] [--sender sendmmsg|ring|xdp] [--xdp-repeat R]
//! [--xdp-batch B] [--hosts N --hours H]`; prints JSON lines.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use dnsrare_benches::capture_bench::{
    context_switches, emit, irq_work_interrupts, process_cpu, scenario_query_frames, thread_cpu,
};
use serde_json::{Value, json};
use traffic::{
    netns::Lab,
    scenario::ScenarioConfig,
    sender::{RawSender, RingSender, XdpSender},
};

/// Frames per sender call in the paced loop.
const CHUNK: usize = 256;

struct Args {
    dnsrare: PathBuf,
    rates: Vec<u64>,
    step_seconds: f64,
    sender: SenderKind,
    hosts: u32,
    hours: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SenderKind {
    /// `sendmmsg` on an AF_PACKET socket (traffic::sender::RawSender).
    Sendmmsg,
    /// AF_PACKET with PACKET_TX_RING and PACKET_QDISC_BYPASS
    /// (traffic::sender::RingSender).
    Ring,
    /// XDP_TX from `BPF_PROG_TEST_RUN` live frames
    /// (traffic::sender::XdpSender), each frame sent `repeat` times in a row.
    Xdp {
        /// Copies of each frame per call.
        repeat: u32,
        /// Frames per live-frames batch.
        batch: u32,
    },
}

impl SenderKind {
    fn describe(self) -> String {
        match self {
            Self::Sendmmsg => "AF_PACKET sendmmsg (batches of 64)".into(),
            Self::Ring => "AF_PACKET PACKET_TX_RING + PACKET_QDISC_BYPASS".into(),
            Self::Xdp { repeat, batch } => format!(
                "XDP_TX from BPF_PROG_TEST_RUN live frames (batches of {batch}), each frame {repeat} times in a row"
            ),
        }
    }
}

/// The down veth in the client namespace that pins the XDP sender's
/// program in the kernel's XDP dispatcher.
const IDLE_IF: &str = "dr-idle0";

enum Sender {
    Mmsg(RawSender),
    Ring(RingSender),
    Xdp(XdpSender, u32, u32),
}

impl Sender {
    fn open(kind: SenderKind, iface: &str) -> std::io::Result<Self> {
        Ok(match kind {
            SenderKind::Sendmmsg => Self::Mmsg(RawSender::open(iface)?),
            SenderKind::Ring => Self::Ring(RingSender::open(iface)?),
            SenderKind::Xdp { repeat, batch } => {
                Self::Xdp(XdpSender::open(iface, IDLE_IF)?, repeat, batch)
            }
        })
    }

    /// Sends at most `max` frames from position `at` of `frames` (cycling);
    /// returns how many went.
    fn send_some(&mut self, frames: &[&[u8]], at: &mut usize, max: u64) -> std::io::Result<u64> {
        match self {
            Self::Mmsg(_) | Self::Ring(_) => {
                let n = CHUNK.min(max as usize).min(frames.len() - *at);
                let chunk = &frames[*at..*at + n];
                match self {
                    Self::Mmsg(s) => s.send_all(chunk)?,
                    Self::Ring(s) => s.send_all(chunk)?,
                    Self::Xdp(..) => unreachable!("matched above"),
                }
                *at = (*at + n) % frames.len();
                Ok(n as u64)
            }
            Self::Xdp(s, repeat, batch) => {
                let n = u64::from(*repeat).min(max) as u32;
                s.send_repeated(frames[*at], n, *batch)?;
                *at = (*at + 1) % frames.len();
                Ok(u64::from(n))
            }
        }
    }
}

fn parse_args() -> Result<Args> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("benches sits in the workspace")?
        .to_path_buf();
    let mut a = Args {
        dnsrare: root.join("target/release/dnsrare"),
        rates: vec![
            50_000, 100_000, 200_000, 400_000, 600_000, 800_000, 1_000_000, 1_200_000,
        ],
        step_seconds: 3.0,
        sender: SenderKind::Sendmmsg,
        hosts: 300,
        hours: 2.0,
    };
    let (mut repeat, mut batch) = (16u32, 64u32);
    let mut kind = String::from("sendmmsg");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--dnsrare" => a.dnsrare = value()?.into(),
            "--rates" => {
                a.rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse::<u64>())
                    .collect::<Result<_, _>>()?;
            }
            "--step-seconds" => a.step_seconds = value()?.parse()?,
            "--sender" => kind = value()?,
            "--xdp-repeat" => repeat = value()?.parse()?,
            "--xdp-batch" => batch = value()?.parse()?,
            "--hosts" => a.hosts = value()?.parse()?,
            "--hours" => a.hours = value()?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    a.sender = match kind.as_str() {
        "sendmmsg" => SenderKind::Sendmmsg,
        "ring" => SenderKind::Ring,
        // A call longer than one batch would resend pages the receiving
        // stack changed (see XdpSender::send_repeated).
        "xdp" if repeat > batch => bail!("--xdp-repeat must not exceed --xdp-batch"),
        "xdp" => SenderKind::Xdp {
            repeat: repeat.max(1),
            batch: batch.clamp(1, 256),
        },
        other => bail!("unknown sender {other} (sendmmsg, ring or xdp)"),
    };
    if !(a.step_seconds > 0.0 && a.step_seconds <= 30.0) {
        bail!("--step-seconds must be in (0, 30]");
    }
    Ok(a)
}

/// What one paced (or flat-out) send achieved.
struct Sent {
    frames: u64,
    seconds: f64,
    sender_cpu: Duration,
}

/// Sends up to `count` frames (cycling over `frames`) at `rate` frames/s
/// (`None`: flat out), stopping at `deadline` in any case.
fn send_step(
    sender: &mut Sender,
    frames: &[&[u8]],
    count: u64,
    rate: Option<u64>,
    deadline: Duration,
) -> Result<Sent> {
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut at = 0usize;
    while sent < count && start.elapsed() < deadline {
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        sent += sender.send_some(frames, &mut at, count - sent)?;
    }
    Ok(Sent {
        frames: sent,
        seconds: start.elapsed().as_secs_f64(),
        sender_cpu: thread_cpu() - cpu0,
    })
}

/// The daemon, stopped with SIGTERM (killed if it does not stop) on drop.
struct Daemon {
    child: Child,
    socket: PathBuf,
    bin: PathBuf,
}

impl Daemon {
    fn stats(&self) -> Result<Value> {
        let out = Command::new(&self.bin)
            .args(["stats", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .context("running dnsrare stats")?;
        if !out.status.success() {
            bail!(
                "dnsrare stats: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    fn stop(&mut self) -> Result<()> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("dnsrare run exited with {status}");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("dnsrare run did not stop within 30 s of SIGTERM")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn capture_field(stats: &Value, field: &str) -> u64 {
    stats["capture"][field].as_u64().unwrap_or(0)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if !args.dnsrare.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release --bin dnsrare`",
            args.dnsrare.display()
        );
    }
    let mut config = ScenarioConfig::sized(args.hosts, (args.hours * 3600.0) as u64);
    config.malformed_per_reason = 0;
    let generated = Instant::now();
    let owned = scenario_query_frames(&config);
    let frames: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    if frames.is_empty() {
        bail!("the scenario produced no query frames");
    }
    let mean_len = frames.iter().map(|f| f.len()).sum::<usize>() as f64 / frames.len() as f64;
    eprintln!(
        "bench_live: {} query frames ({mean_len:.0} bytes on average) in {:.1} s",
        frames.len(),
        generated.elapsed().as_secs_f64()
    );

    let lab = Lab::new()?;
    if matches!(args.sender, SenderKind::Xdp { .. }) {
        // Both ends stay down in the client namespace: no traffic at all.
        let status = Command::new("ip")
            .args(["-n", &lab.client_ns, "link", "add", IDLE_IF])
            .args(["type", "veth", "peer", "name", "dr-idle1"])
            .status()?;
        if !status.success() {
            bail!("cannot create the idle veth in the client namespace");
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("dnsrare-bench-")
        .tempdir()?;
    // Everything that sends runs on a thread inside the client namespace.
    lab.in_client(|| run(&args, &lab, &frames, mean_len, dir.path()))??;
    drop(lab);
    Ok(())
}

fn run(args: &Args, lab: &Lab, frames: &[&[u8]], mean_len: f64, dir: &Path) -> Result<()> {
    let mut sender = Sender::open(args.sender, &lab.client_if)?;
    let step = args.step_seconds;
    let deadline = Duration::from_secs_f64(step * 2.0);
    let top = args.rates.iter().copied().max().unwrap_or(1_000_000);

    // The sender alone, nothing attached: its own ceiling on this machine.
    // (Without an XDP program on the peer, veth refuses XDP frames: the
    // XDP sender's frames are then generated and dropped.)
    let alone = send_step(
        &mut sender,
        frames,
        (top as f64 * step * 4.0) as u64,
        None,
        Duration::from_secs_f64(step),
    )?;
    emit(
        "live_sender_alone",
        json!({
            "sender": args.sender.describe(),
            "frames": alone.frames,
            "seconds": alone.seconds,
            "per_s": alone.frames as f64 / alone.seconds,
            "sender_cpu_seconds": alone.sender_cpu.as_secs_f64(),
        }),
    );

    let socket = dir.join("dnsrare.sock");
    let log = std::fs::File::create(dir.join("daemon.log"))?;
    let mut daemon = Daemon {
        child: lab
            .gateway_command(&args.dnsrare)
            .args(["run", "--iface", &lab.gateway_if, "--socket"])
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting dnsrare run")?,
        socket,
        bin: args.dnsrare.clone(),
    };
    let pid = daemon.child.id();
    let started = Instant::now();
    let first = loop {
        if let Ok(s) = daemon.stats() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(30) || daemon.child.try_wait()?.is_some() {
            bail!(
                "dnsrare run did not come up: {}",
                read_log(&dir.join("daemon.log"))
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    emit(
        "live_setup",
        json!({
            "frames_in_pool": frames.len(),
            "mean_frame_bytes": mean_len,
            "scenario": format!("ScenarioConfig::sized({} hosts, {} h), its single-query frames", args.hosts, args.hours),
            "step_seconds": step,
            "sender": args.sender.describe(),
            "interfaces": first["interfaces"],
            "shards": first["shards"].as_array().map_or(0, Vec::len),
            "program": first["program"],
            "daemon_args": format!("run --iface {} --socket DIR/dnsrare.sock --state-dir DIR/state", lab.gateway_if),
        }),
    );

    let mut steps: Vec<Option<u64>> = args.rates.iter().map(|r| Some(*r)).collect();
    steps.push(None);
    for rate in steps {
        let count = (rate.unwrap_or(top * 2) as f64 * step) as u64;
        let s0 = daemon.stats()?;
        let cpu0 = process_cpu(pid)?;
        let (iwi0, cs0) = (irq_work_interrupts(), context_switches(pid));
        let sent = send_step(&mut sender, frames, count, rate, deadline)?;
        // Wait for the drain and the shards to count what reached the ring.
        let settle = Instant::now();
        let mut s1 = daemon.stats()?;
        let mut last = capture_field(&s1, "counted");
        let mut still = Instant::now();
        while settle.elapsed() < Duration::from_secs(10) {
            let reached = capture_field(&s1, "queries") - capture_field(&s0, "queries");
            let counted = capture_field(&s1, "counted") - capture_field(&s0, "counted");
            if counted >= reached && still.elapsed() > Duration::from_millis(200) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            s1 = daemon.stats()?;
            let now = capture_field(&s1, "counted");
            if now != last {
                last = now;
                still = Instant::now();
            }
        }
        let catch_up = settle.elapsed().as_secs_f64();
        let cpu = process_cpu(pid)?.saturating_sub(cpu0).as_secs_f64();
        // (The stats requests during catch-up add a few switches too.)
        let (iwi, switches) = (
            irq_work_interrupts().saturating_sub(iwi0),
            context_switches(pid).saturating_sub(cs0),
        );
        let d = |f: &str| capture_field(&s1, f).saturating_sub(capture_field(&s0, f));
        let (packets, queries, counted, lost, errors) = (
            d("packets"),
            d("queries"),
            d("counted"),
            d("lost"),
            d("parse_errors"),
        );
        let offered = sent.frames as f64 / sent.seconds;
        // Lossless: every frame sent reached the program as a query, and
        // every query was counted; nothing lost, nothing refused. (The
        // program also sees a few packets of the namespaces' own, such as
        // IPv6 neighbour discovery: packets may exceed the frames sent.)
        let lossless = lost == 0 && errors == 0 && queries == sent.frames && counted == queries;
        emit(
            "live",
            json!({
                "target_per_s": rate,
                "sent": sent.frames,
                "send_seconds": sent.seconds,
                "offered_per_s": offered,
                "sender_cpu_seconds": sent.sender_cpu.as_secs_f64(),
                "xdp_packets": packets,
                "xdp_queries": queries,
                "counted": counted,
                "lost": lost,
                "parse_errors": errors,
                "not_reaching_xdp": sent.frames.saturating_sub(queries),
                "catch_up_seconds": catch_up,
                "daemon_cpu_seconds": cpu,
                "daemon_cpu_share": cpu / (sent.seconds + catch_up),
                "irq_work_interrupts": iwi,
                "daemon_context_switches": switches,
                "lossless": lossless,
            }),
        );
        eprintln!(
            "bench_live: target {:>9} offered {offered:>9.0}/s xdp {queries} counted {counted} lost {lost} cpu {cpu:.2}s",
            rate.map_or("max".into(), |r| r.to_string()),
        );
    }
    daemon.stop()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .join(" | ")
}
