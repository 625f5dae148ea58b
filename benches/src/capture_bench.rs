//! Shared pieces of the capture benchmarks (`cargo xtask bench`): the
//! frames the XDP program is timed on, query frames taken from a generated
//! gateway capture, JSON-line output, CPU time of a process, and the
//! capture path (ring buffer → drain → engine) driven by
//! `BPF_PROG_TEST_RUN` instead of a NIC.
//!
//! Every bench binary prints one JSON object per line on stdout (progress
//! goes to stderr); `cargo xtask bench` turns the lines into the Markdown
//! section of BENCHMARKS.md.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use capture_common::{DnsEvent, EventKind};
use dnsrare::live::{
    drain::{self, DecodeErrors},
    loader::{Capture, LoadOptions, Mode},
};
use dnsrare_core::{
    engine::{Engine, EngineConfig},
    ingest::{frame_parser_twin::FrameParser, pcap::Link},
    model::capture::CaptureCounters,
    score::lists::Lists,
};
use traffic::{
    dns,
    frame::Frame,
    scenario::{self, ScenarioConfig},
};

/// Name of the trivial XDP_PASS program in the XDP object.
pub const PASS_PROGRAM: &str = "dnsrare_pass";
/// Name of the capture program.
pub const MAIN_PROGRAM: &str = capture_common::PROGRAM_NAME;
/// Name of the trivial classifier in the object (lets every packet go on).
pub const TC_PASS_PROGRAM: &str = "dnsrare_tc_pass";
/// Name of the egress classifier.
pub const EGRESS_PROGRAM: &str = capture_common::EGRESS_PROGRAM_NAME;

/// Prints `value` as one JSON line on stdout, with `"bench": bench` added.
pub fn emit(bench: &str, mut value: serde_json::Value) {
    value["bench"] = bench.into();
    println!("{value}");
}

fn client() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(10, 1, 0, 7), 40_123))
}

fn resolver(port: u16) -> SocketAddr {
    SocketAddr::from((scenario::RESOLVER, port))
}

/// A plain IPv4 TCP segment to port 443 with 64 bytes of payload: the kind
/// of packet a gateway mostly sees.
pub fn non_dns_frame() -> Vec<u8> {
    Frame::tcp(client(), resolver(443), 1, vec![0x17; 64]).bytes()
}

/// An IPv4 UDP query for `name` (type A) to the resolver's port 53.
pub fn query_frame(name: &str) -> Vec<u8> {
    Frame::udp(
        client(),
        resolver(53),
        dns::query(0x1234, name, dns::QTYPE_A),
    )
    .bytes()
}

/// An IPv4 UDP response from the resolver for `www.shop.example` (type A):
/// a CNAME into a CDN name and two addresses, as a resolver answers a
/// CDN-hosted name (89 bytes after the question, all copied).
pub fn response_frame() -> Vec<u8> {
    let answers = [
        dns::Rdata::Cname("d1a2b3c4.cloudfront.example".into()),
        dns::Rdata::A(Ipv4Addr::new(192, 0, 2, 1)),
        dns::Rdata::A(Ipv4Addr::new(192, 0, 2, 2)),
    ];
    let reply = dns::Reply {
        id: 0x1234,
        name: "www.shop.example",
        qtype: dns::QTYPE_A,
        rcode: dns::RCODE_NOERROR,
        ttl: 60,
        answers: &answers,
        soa_labels: 0,
        edns: Some(1232),
        truncated: false,
    };
    Frame::udp(resolver(53), client(), reply.bytes()).bytes()
}

/// A name of exactly `len` characters in text form: 60-character labels
/// (like a DNS tunnel's) under `example.com`.
pub fn name_of_len(len: usize) -> String {
    let suffix = "example.com";
    assert!(len > suffix.len() + 1, "name too short");
    let mut labels = Vec::new();
    let mut left = len - suffix.len();
    // Each label costs its length plus one dot.
    while left > 0 {
        let take = (left - 1).min(60);
        let label: String = (0..take)
            .map(|i| char::from(b'a' + ((i * 7 + labels.len()) % 26) as u8))
            .collect();
        left -= take + 1;
        labels.push(label);
    }
    labels.retain(|l| !l.is_empty());
    let name = format!("{}.{suffix}", labels.join("."));
    assert_eq!(name.len(), len, "built {name}");
    name
}

/// The frames of a generated gateway capture that hold exactly one DNS
/// query each (as the XDP program would count it), in capture order:
/// responses, malformed and non-DNS frames, and TCP segments with several
/// messages are left out, so that one frame sent is one query counted.
pub fn scenario_query_frames(config: &ScenarioConfig) -> Vec<Vec<u8>> {
    let (packets, _truth) = scenario::generate(config);
    let mut parser = FrameParser::new();
    packets
        .into_iter()
        .filter_map(|p| {
            let mut kinds = Vec::new();
            let before = parser.counters();
            parser.parse(Link::Ethernet, &p.frame, p.time_ns, |e: &DnsEvent, _| {
                kinds.push(e.kind);
            });
            let delta = parser.counters().since(&before);
            let one_query = kinds == [EventKind::Query as u8]
                && delta.parse_errors.total() == 0
                && delta.queries == 1;
            one_query.then_some(p.frame)
        })
        .collect()
}

/// User plus system CPU time of process `pid` so far.
pub fn process_cpu(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may hold spaces; fields resume after its ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) sit at 11, 12.
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/PID/stat")?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// IRQ work interrupts so far, summed over CPUs (the `IWI` row of
/// /proc/interrupts): a BPF ring buffer raises one to wake its reader.
pub fn irq_work_interrupts() -> u64 {
    std::fs::read_to_string("/proc/interrupts")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.trim_start().starts_with("IWI:"))?;
            Some(
                line.split_whitespace()
                    .skip(1)
                    .map_while(|f| f.parse::<u64>().ok())
                    .sum(),
            )
        })
        .unwrap_or(0)
}

/// Context switches (voluntary and not) of every thread of process `pid`
/// so far.
pub fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// CPU time of the calling thread so far.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the call to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// How the capture-path bench drives the XDP program.
#[derive(Clone, Copy, Debug)]
pub struct Producer {
    /// Runs of the program per `BPF_PROG_TEST_RUN` call (all over one
    /// frame).
    pub repeat: u32,
    /// Live-frames mode with this batch size, or plain repeat mode.
    pub live_frames: Option<u32>,
}

/// One paced step of the capture-path bench.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PathStep {
    /// Events per second asked for (0: as fast as the producer can).
    pub target_per_s: u64,
    /// Events per second the producer achieved.
    pub offered_per_s: f64,
    /// Program runs (each one query).
    pub runs: u64,
    /// Kernel counter changes over the step.
    pub kernel: CaptureCounters,
    /// Queries the engine counted over the step (after the drain caught up).
    pub counted: u64,
    /// Seconds the producer ran.
    pub seconds: f64,
    /// Seconds the drain needed after the producer stopped.
    pub catch_up_seconds: f64,
    /// CPU seconds of the drain and shard threads (the process minus the
    /// producer thread) over the step, catch-up included.
    pub consumer_cpu_seconds: f64,
    /// IRQ work interrupts over the step (the ring buffer waking the drain).
    pub irq_work_interrupts: u64,
}

/// The capture path of `dnsrare run` — the embedded XDP program, its ring
/// buffer, the real drain thread and the real engine — without a NIC: the
/// producer is `BPF_PROG_TEST_RUN` on this thread.
pub struct CapturePath {
    capture: Capture,
    counters: dnsrare::live::loader::CounterMap,
    engine: Option<Engine>,
    querier: Option<dnsrare_core::engine::Querier>,
    stop: Arc<AtomicBool>,
    drain: Option<std::thread::JoinHandle<Result<(), dnsrare_core::engine::EngineError>>>,
    /// The engine's shard count.
    pub shards: usize,
    /// Ring-buffer size in bytes.
    pub ring_bytes: u32,
}

impl CapturePath {
    /// Loads the program in mirror mode (XDP_DROP: in live-frames mode
    /// nothing goes up the stack), starts the engine with `shards` shards
    /// and the drain thread, as `dnsrare run` does.
    ///
    /// With `attach_to`, the program is also attached to that interface
    /// (which should carry no traffic): the kernel then keeps it in its XDP
    /// dispatcher, and `BPF_PROG_TEST_RUN` calls with `repeat` > 1 no longer
    /// re-patch the dispatcher (a wait for an RCU grace period, tens of
    /// milliseconds here) on every call.
    ///
    /// With `pin`, the drain and the shards are kept off CPU 0 and the
    /// calling thread (the producer) is moved onto it: the producer stands
    /// for a NIC's receive softirq on one core, the consumers share the
    /// others, as on the live gateway.
    pub fn start(
        ring_bytes: u32,
        shards: usize,
        attach_to: Option<&str>,
        pin: bool,
    ) -> Result<Self> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        if pin && cpus < 2 {
            bail!("pinning needs at least two CPUs");
        }
        if pin {
            // Threads inherit the affinity of the thread that spawns them.
            set_affinity(1..cpus)?;
        }
        let mut capture = Capture::load(LoadOptions {
            mode: Mode::Mirror,
            ring_bytes,
            egress: true,
        })?;
        if let Some(iface) = attach_to {
            capture.attach(iface)?;
        }
        let ring = capture.take_ring()?;
        let logger = capture.take_logger();
        let counters = capture.take_counters()?;
        let config = EngineConfig {
            shards,
            ..EngineConfig::default()
        };
        let engine = Engine::start(&config, None, Arc::new(Lists::embedded()));
        let querier = engine.querier();
        let stop = Arc::new(AtomicBool::new(false));
        let drain = {
            let (dispatcher, stop) = (engine.dispatcher(), Arc::clone(&stop));
            let errors = Arc::new(DecodeErrors::default());
            std::thread::Builder::new()
                .name("dnsrare-drain".into())
                .spawn(move || drain::run(ring, logger, dispatcher, errors, None, stop))?
        };
        if pin {
            set_affinity(0..1)?;
        }
        Ok(Self {
            capture,
            counters,
            engine: Some(engine),
            querier: Some(querier),
            stop,
            drain: Some(drain),
            shards,
            ring_bytes,
        })
    }

    /// Queries the engine has counted.
    pub fn counted(&self) -> Result<u64> {
        let querier = self.querier.as_ref().context("the engine is stopped")?;
        Ok(querier.overview()?.counted())
    }

    /// Kernel counters so far.
    pub fn kernel(&self) -> Result<CaptureCounters> {
        Ok(self.counters.read()?)
    }

    /// Runs the program over `frames` (cycling) for at most `seconds` or
    /// `max_runs` runs, paced at `per_second` runs per second (`None`: flat
    /// out), then waits up to `settle` for the engine to count every event
    /// that reached the ring.
    pub fn step(
        &mut self,
        frames: &[Vec<u8>],
        producer: Producer,
        per_second: Option<u64>,
        seconds: f64,
        max_runs: u64,
        settle: Duration,
    ) -> Result<PathStep> {
        if frames.is_empty() {
            bail!("no frames to run");
        }
        let pid = std::process::id();
        let (k0, c0) = (self.kernel()?, self.counted()?);
        let (cpu0, own0) = (process_cpu(pid)?, thread_cpu());
        let iwi0 = irq_work_interrupts();
        let start = Instant::now();
        let limit = Duration::from_secs_f64(seconds);
        let mut runs = 0u64;
        let mut i = 0usize;
        while runs < max_runs && start.elapsed() < limit {
            if let Some(rate) = per_second {
                let due = Duration::from_secs_f64(runs as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            let repeat = producer.repeat.min((max_runs - runs) as u32).max(1);
            self.capture.test_run_program(
                MAIN_PROGRAM,
                &frames[i % frames.len()],
                repeat,
                producer.live_frames,
            )?;
            runs += u64::from(repeat);
            i += 1;
        }
        let produced = start.elapsed();
        let own = thread_cpu() - own0;
        let k1 = self.kernel()?;
        let kernel = k1.since(&k0);
        let expected = kernel.queries;
        let settle_start = Instant::now();
        let mut counted = self.counted()? - c0;
        while counted < expected && settle_start.elapsed() < settle {
            std::thread::sleep(Duration::from_millis(5));
            counted = self.counted()? - c0;
        }
        let catch_up = settle_start.elapsed();
        let cpu = process_cpu(pid)?.saturating_sub(cpu0);
        let iwi = irq_work_interrupts().saturating_sub(iwi0);
        let secs = produced.as_secs_f64().max(1e-9);
        Ok(PathStep {
            target_per_s: per_second.unwrap_or(0),
            offered_per_s: kernel.packets as f64 / secs,
            runs,
            kernel,
            counted,
            seconds: secs,
            catch_up_seconds: catch_up.as_secs_f64(),
            consumer_cpu_seconds: cpu.saturating_sub(own).as_secs_f64(),
            irq_work_interrupts: iwi,
        })
    }

    /// Stops the drain (after a last pass) and the engine.
    pub fn stop(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Release);
        if let Some(drain) = self.drain.take() {
            match drain.join() {
                Ok(r) => r?,
                Err(_) => bail!("the drain thread panicked"),
            }
        }
        self.querier = None;
        if let Some(engine) = self.engine.take() {
            engine.shutdown();
        }
        Ok(())
    }
}

impl Drop for CapturePath {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Restricts the calling thread to the CPUs in `cpus`.
fn set_affinity(cpus: std::ops::Range<usize>) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it,
    // and sched_setaffinity reads it for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}
