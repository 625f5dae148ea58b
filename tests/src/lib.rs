//! Helpers shared by the end-to-end tests: the real `dnsrare` binary run as
//! a daemon inside a lab namespace, the real XDP program driven through
//! `BPF_PROG_TEST_RUN`, and the shared real captures when they are present.
//!
//! Every test here needs root (it loads BPF programs and creates network
//! namespaces); traffic only travels inside labs the tests create.

pub mod clickhouse;

use std::{
    net::{Ipv4Addr, UdpSocket},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

use aya::maps::{MapData, RingBuf};
use capture_common::{
    DnsEvent, DnsResponseEvent, EGRESS_PROGRAM_NAME, STATS_EGRESS, STATS_INGRESS,
};
use dnsrare::live::loader::{Capture, CounterMap, LoadOptions};
use dnsrare_core::model::capture::CaptureCounters;
use traffic::{dns, netns::Lab};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The `dnsrare` binary under test: `$DNSRARE_BIN`, or the one cargo built
/// next to this test executable.
pub fn dnsrare_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("DNSRARE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/dnsrare
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable under target/<profile>/deps")
        .join("dnsrare");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --bin dnsrare` (cargo xtask test does)",
        bin.display()
    );
    bin
}

/// The shared developer data (`../shared/data`), or `None` with a plain
/// message when it is absent (it always is present in CI).
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DNSRARE_SHARED_DATA")
        .map_or_else(|| workspace_root().join("../shared/data"), PathBuf::from);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "{test}: {} is absent, so this test checks nothing here (it runs in CI)",
            dir.display()
        );
        None
    }
}

/// Sends `n` A queries (transaction ids 0..n) for each of `names` from a
/// UDP socket in the lab's client namespace to port 53 of `to`.
pub fn send_queries(lab: &Lab, to: Ipv4Addr, names: &[&str], n: u16) {
    lab.in_client(|| {
        let s = UdpSocket::bind("0.0.0.0:0").expect("socket");
        for name in names {
            for i in 0..n {
                s.send_to(&dns::query(i, name, dns::QTYPE_A), (to, 53))
                    .expect("send");
            }
        }
    })
    .expect("client namespace");
}

/// The query count of `name`'s row in a JSON report, if it is listed.
pub fn queries_of(report: &serde_json::Value, name: &str) -> Option<u64> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["queries"].as_u64().expect("queries"))
}

/// Polls `check` every 20 ms until it returns `Some`, or panics with
/// `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The real XDP program, loaded but not attached, for `BPF_PROG_TEST_RUN`.
pub struct Probe {
    capture: Capture,
    ring: RingBuf<MapData>,
    counters: CounterMap,
}

/// What one run of the program over one frame did.
#[derive(Debug)]
pub struct ProbeRun {
    /// XDP action returned (for the egress program: its TC action).
    pub action: u32,
    /// Events it wrote to the ring, queries and responses in order (for a
    /// response, the event part of its record).
    pub events: Vec<DnsEvent>,
    /// The responses among them, whole (with their answer bytes).
    pub responses: Vec<DnsResponseEvent>,
    /// Counter changes of the program's direction.
    pub counters: CaptureCounters,
}

impl Probe {
    /// Loads the program in gateway mode with the default ring.
    pub fn new() -> Self {
        Self::with(LoadOptions::default())
    }

    /// Loads the program with `options`.
    pub fn with(options: LoadOptions) -> Self {
        let mut capture = Capture::load(options).expect("loading the XDP program (root?)");
        let ring = capture.take_ring().expect("ring buffer");
        let counters = capture.take_counters().expect("counters");
        Self {
            capture,
            ring,
            counters,
        }
    }

    /// Runs the program once over `frame`.
    pub fn run(&mut self, frame: &[u8]) -> ProbeRun {
        self.run_counted(STATS_INGRESS, |capture| {
            capture.test_run(frame).expect("BPF_PROG_TEST_RUN")
        })
    }

    /// Runs the TC egress program once over `frame`, as sent by this host
    /// (`ingress_ifindex` 0) or forwarded (the interface it came in on).
    pub fn run_egress(&mut self, frame: &[u8], ingress_ifindex: u32) -> ProbeRun {
        self.run_counted(STATS_EGRESS, |capture| {
            let (action, _) = capture
                .test_run_classifier(EGRESS_PROGRAM_NAME, frame, 1, ingress_ifindex)
                .expect("BPF_PROG_TEST_RUN of the egress program");
            action as u32
        })
    }

    /// Like [`Probe::run_egress`] with a packet sent by this host, or the
    /// kernel's refusal of `frame` (it builds an skb from it and refuses
    /// some frames XDP takes, see `bpf_prog_test_run_skb`).
    pub fn try_run_egress(&mut self, frame: &[u8]) -> Result<ProbeRun, String> {
        let mut refused = None;
        let run = self.run_counted(STATS_EGRESS, |capture| {
            match capture.test_run_classifier(EGRESS_PROGRAM_NAME, frame, 1, 0) {
                Ok((action, _)) => action as u32,
                Err(e) => {
                    refused = Some(format!("{e:?}"));
                    0
                }
            }
        });
        match refused {
            Some(e) => Err(e),
            None => Ok(run),
        }
    }

    /// Runs `run` and collects what it did to the counters of `direction`
    /// (the other direction's must not move) and the ring.
    fn run_counted(&mut self, direction: u32, run: impl FnOnce(&mut Capture) -> u32) -> ProbeRun {
        let other = if direction == STATS_INGRESS {
            STATS_EGRESS
        } else {
            STATS_INGRESS
        };
        let read = |index| self.counters.read_entry(index).expect("reading counters");
        let (before, other_before) = (read(direction), read(other));
        let action = run(&mut self.capture);
        let read = |index| self.counters.read_entry(index).expect("reading counters");
        let (after, other_after) = (read(direction), read(other));
        assert_eq!(
            other_after.since(&other_before),
            CaptureCounters::default(),
            "the other direction's counters moved"
        );
        let (events, responses) = self.drain_all();
        ProbeRun {
            action,
            events,
            responses,
            counters: after.since(&before),
        }
    }

    /// Runs the program once over `frame` without reading the ring; returns
    /// the XDP action.
    pub fn run_only(&mut self, frame: &[u8]) -> u32 {
        self.capture.test_run(frame).expect("BPF_PROG_TEST_RUN")
    }

    /// Runs the program over `frame` and returns the kernel's error.
    pub fn run_err(&mut self, frame: &[u8]) -> dnsrare::live::loader::CaptureError {
        self.capture
            .test_run(frame)
            .expect_err("the kernel should refuse this frame")
    }

    /// Events waiting in the ring (for responses, their event part).
    pub fn drain(&mut self) -> Vec<DnsEvent> {
        self.drain_all().0
    }

    /// Records waiting in the ring: every event in order, and the
    /// responses among them whole. A query must be a bare `DnsEvent`
    /// record, a response a `DnsResponseEvent`.
    pub fn drain_all(&mut self) -> (Vec<DnsEvent>, Vec<DnsResponseEvent>) {
        let (mut events, mut responses) = (Vec::new(), Vec::new());
        while let Some(item) = self.ring.next() {
            if item.len() == size_of::<DnsResponseEvent>() {
                // SAFETY: length checked; DnsResponseEvent is plain old data.
                let r = unsafe { item.as_ptr().cast::<DnsResponseEvent>().read_unaligned() };
                assert_eq!(r.event.kind, capture_common::EventKind::Response as u8);
                events.push(r.event);
                responses.push(r);
            } else {
                assert_eq!(item.len(), size_of::<DnsEvent>(), "event size");
                // SAFETY: length checked; DnsEvent is plain old data.
                let e = unsafe { item.as_ptr().cast::<DnsEvent>().read_unaligned() };
                assert_eq!(
                    e.kind,
                    capture_common::EventKind::Query as u8,
                    "a bare event is a query"
                );
                events.push(e);
            }
        }
        (events, responses)
    }

    /// Current counters.
    pub fn counters(&self) -> CaptureCounters {
        self.counters.read().expect("reading counters")
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

/// A `dnsrare run` daemon inside a lab's gateway namespace, stopped (and
/// killed if need be) when dropped.
pub struct Daemon {
    child: Option<Child>,
    /// Its socket.
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts the daemon on the lab's gateway interface with `extra` flags
    /// and a fresh state directory, and waits until it answers.
    pub fn start(lab: &Lab, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let state = dir.path().join("state");
        Self::start_with_state(lab, dir, &state, extra)
    }

    /// Like [`Daemon::start`], keeping its state in `state` (which outlives
    /// the daemon, for restart tests).
    pub fn start_in(lab: &Lab, state: &Path, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::start_with_state(lab, dir, state, extra)
    }

    fn start_with_state(lab: &Lab, dir: tempfile::TempDir, state: &Path, extra: &[&str]) -> Self {
        let socket = dir.path().join("dnsrare.sock");
        let log = std::fs::File::create(dir.path().join("daemon.log")).expect("log file");
        let child = lab
            .gateway_command(dnsrare_bin())
            .args(["run", "--iface", &lab.gateway_if, "--socket"])
            .arg(&socket)
            .arg("--state-dir")
            .arg(state)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting dnsrare run");
        let mut daemon = Self {
            child: Some(child),
            socket,
            _dir: dir,
        };
        wait_for("the daemon to answer", Duration::from_secs(20), || {
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dnsrare run exited early ({status}): {}", daemon.log());
            }
            daemon.cli(&["stats"]).status.success().then_some(())
        });
        daemon
    }

    /// The directory holding the socket and the log.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// Runs `dnsrare ARGS --socket SOCKET`.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(dnsrare_bin())
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .expect("running dnsrare")
    }

    /// `dnsrare report --json --top N --sort rare`, parsed: every name in
    /// least-queried order.
    pub fn report(&self, top: usize) -> serde_json::Value {
        self.report_with(&["--top", &top.to_string(), "--sort", "rare"])
    }

    /// `dnsrare report --json ARGS`, parsed.
    pub fn report_with(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["report", "--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "report failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("report JSON")
    }

    /// Waits until the engine has counted `queries` queries; returns the
    /// report then.
    pub fn wait_counted(&self, queries: u64, top: usize) -> serde_json::Value {
        wait_for(
            &format!("{queries} queries to be counted"),
            Duration::from_secs(20),
            || {
                let r = self.report(top);
                (r["capture"]["counted"].as_u64() >= Some(queries)).then_some(r)
            },
        )
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(self) -> ExitStatus {
        self.signal(libc::SIGTERM)
    }

    /// Sends SIGKILL and waits for the exit status.
    pub fn kill(self) -> ExitStatus {
        self.signal(libc::SIGKILL)
    }

    fn signal(mut self, signal: i32) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        child.wait().expect("waiting for dnsrare")
    }

    /// `dnsrare stats --json`, parsed.
    pub fn stats(&self) -> serde_json::Value {
        let out = self.cli(&["stats", "--json"]);
        assert!(
            out.status.success(),
            "stats failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stats JSON")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
