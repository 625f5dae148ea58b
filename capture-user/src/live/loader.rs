//! Loading the embedded programs (XDP for what arrives, the TC egress
//! classifier for what the gateway itself sends), attaching them to
//! interfaces, and reading their counters.
//!
//! Both are attached through BPF links where the kernel has them (XDP
//! links; TCX links since Linux 6.6), so they go away with the process
//! (also on SIGKILL); nothing is pinned. On older kernels the classifier
//! goes through a `clsact` qdisc, added if missing, and its filter is
//! removed when the capture is dropped.

use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::{
        ProgramError, SchedClassifier, TcAttachType, TestRun, TestRunAttrs, TestRunOptions, Xdp,
        XdpMode, tc,
    },
    util::KernelVersion,
};
use capture_common::{
    EGRESS_PROGRAM_NAME, EVENTS_MAP, MIRROR_GLOBAL, PROGRAM_NAME, STAT_COUNT, STATS_EGRESS,
    STATS_INGRESS, STATS_MAP, StatCounters, WAKEUP_GLOBAL,
};
use thiserror::Error;

use dnsrare_core::model::{
    capture::{CaptureCounters, DirectionCounters},
    status::ProgramFacts,
};

/// The XDP program, as `build.rs` built it.
static PROGRAM: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/capture-ebpf"));

/// Errors while loading, attaching or reading the XDP program.
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The kernel refused the object (maps or program).
    #[error("cannot load the XDP program (are you root?)")]
    Load(#[source] aya::EbpfError),
    /// The verifier or the kernel refused the program.
    #[error("the kernel refused the XDP program")]
    Verify(#[source] ProgramError),
    /// The verifier or the kernel refused the TC egress program.
    #[error("the kernel refused the TC egress program")]
    VerifyEgress(#[source] ProgramError),
    /// Adding the `clsact` qdisc the egress program hangs from failed.
    #[error("cannot add a clsact qdisc to interface {iface} for the egress program")]
    Clsact {
        /// Interface name.
        iface: String,
        /// Cause.
        #[source]
        source: tc::TcError,
    },
    /// Attaching the egress program failed.
    #[error("cannot attach the TC egress program to interface {iface}")]
    AttachEgress {
        /// Interface name.
        iface: String,
        /// Cause.
        #[source]
        source: ProgramError,
    },
    /// Attaching failed in both driver and generic mode.
    #[error("cannot attach to interface {iface}")]
    Attach {
        /// Interface name.
        iface: String,
        /// Last error seen.
        #[source]
        source: ProgramError,
    },
    /// The interface already runs an XDP program (ours or another tool's);
    /// it is left alone.
    #[error(
        "interface {iface} already has an XDP program attached; left it alone (another dnsrare, or another tool: see `ip link show dev {iface}`)"
    )]
    AlreadyAttached {
        /// Interface name.
        iface: String,
    },
    /// The interface does not exist.
    #[error("no such interface: {0}")]
    NoInterface(String),
    /// The embedded object lacks a map or program this build expects.
    #[error("the XDP object has no {0}")]
    Missing(&'static str),
    /// A map has the wrong type or cannot be read.
    #[error("map {name} in the XDP program")]
    Map {
        /// Map name.
        name: &'static str,
        /// Cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// `BPF_PROG_TEST_RUN` failed.
    #[error("BPF_PROG_TEST_RUN failed")]
    TestRun(#[source] ProgramError),
}

/// What the program does with packets once it has looked at them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every packet passes on (XDP_PASS): a gateway.
    #[default]
    Gateway,
    /// Every packet is dropped after counting (XDP_DROP): a mirror port.
    Mirror,
}

/// Load-time settings.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Gateway or mirror mode.
    pub mode: Mode,
    /// Ring-buffer size in bytes (a power of two, at least one page).
    pub ring_bytes: u32,
    /// Load the TC egress program too, and attach it beside the XDP one.
    pub egress: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Gateway,
            ring_bytes: capture_common::DEFAULT_RING_BYTES,
            egress: true,
        }
    }
}

/// The loaded programs with their maps; dropping it detaches every link
/// and filter it attached.
pub struct Capture {
    ebpf: Ebpf,
    egress: bool,
    attached: Vec<(String, XdpMode)>,
    logger: Option<ProgramLogger>,
}

/// The program's own log lines (aya-log), for the drain to pass on to the
/// `log` crate; the program only logs on rare error paths.
pub struct ProgramLogger(aya_log::EbpfLogger<&'static dyn log::Log>);

impl ProgramLogger {
    /// Passes on whatever the program logged since the last call.
    pub fn flush(&mut self) {
        self.0.flush();
    }
}

impl Capture {
    /// Loads and verifies the embedded program without attaching it.
    pub fn load(options: LoadOptions) -> Result<Self, CaptureError> {
        let mirror: u32 = match options.mode {
            Mode::Gateway => 0,
            Mode::Mirror => 1,
        };
        let wakeup = capture_common::wakeup_bytes(options.ring_bytes);
        let mut ebpf = EbpfLoader::new()
            .override_global(MIRROR_GLOBAL, &mirror, true)
            .override_global(WAKEUP_GLOBAL, &wakeup, true)
            .map_max_entries(EVENTS_MAP, options.ring_bytes)
            .load(PROGRAM)
            .map_err(CaptureError::Load)?;
        // Without the logger the program still works; its rare warnings are
        // then lost (the losses themselves are always counted).
        let logger = match aya_log::EbpfLogger::init(&mut ebpf) {
            Ok(l) => Some(ProgramLogger(l)),
            Err(e) => {
                log::warn!("the XDP program's log is unavailable: {e}");
                None
            }
        };
        let program = xdp(&mut ebpf)?;
        program.load().map_err(CaptureError::Verify)?;
        if options.egress {
            classifier(&mut ebpf, EGRESS_PROGRAM_NAME)?
                .load()
                .map_err(CaptureError::VerifyEgress)?;
        }
        Ok(Self {
            ebpf,
            egress: options.egress,
            attached: Vec::new(),
            logger,
        })
    }

    /// Whether the egress program is loaded (and attached with the XDP
    /// program).
    pub fn egress(&self) -> bool {
        self.egress
    }

    /// Takes the program's logger (once), for the drain thread.
    pub fn take_logger(&mut self) -> Option<ProgramLogger> {
        self.logger.take()
    }

    /// Attaches to `iface` in driver mode, falling back to generic (skb)
    /// mode with a log line when the driver has no XDP support.
    pub fn attach(&mut self, iface: &str) -> Result<XdpMode, CaptureError> {
        let index = if_index(iface).ok_or_else(|| CaptureError::NoInterface(iface.into()))?;
        let program = xdp(&mut self.ebpf)?;
        let busy = |source: ProgramError| {
            if is_busy(&source) {
                CaptureError::AlreadyAttached {
                    iface: iface.into(),
                }
            } else {
                CaptureError::Attach {
                    iface: iface.into(),
                    source,
                }
            }
        };
        let mode = match program.attach_to_if_index(index, XdpMode::Driver) {
            Ok(_) => XdpMode::Driver,
            // Another program is there: never fall back around it.
            Err(e) if is_busy(&e) => return Err(busy(e)),
            Err(driver_err) => {
                log::warn!(
                    "{iface}: driver-mode XDP unavailable ({driver_err}); using generic mode"
                );
                program
                    .attach_to_if_index(index, XdpMode::Skb)
                    .map_err(busy)?;
                XdpMode::Skb
            }
        };
        self.attached.push((iface.to_owned(), mode));
        if self.egress {
            self.attach_egress(iface)?;
        }
        Ok(mode)
    }

    /// Attaches the egress program to `iface`: a TCX link where the kernel
    /// has them (6.6+), which touches no qdisc; before that a filter on the
    /// `clsact` qdisc, added unless it is there already (another tool's
    /// stays as it is). Either goes away when the capture is dropped.
    fn attach_egress(&mut self, iface: &str) -> Result<(), CaptureError> {
        let tcx = KernelVersion::current().is_ok_and(|v| v >= KernelVersion::new(6, 6, 0));
        if !tcx && let Err(source) = tc::qdisc_add_clsact(iface) {
            let exists = matches!(&source, tc::TcError::NetlinkError(e)
                if e.to_string().contains("File exists"));
            if !exists {
                return Err(CaptureError::Clsact {
                    iface: iface.into(),
                    source,
                });
            }
        }
        classifier(&mut self.ebpf, EGRESS_PROGRAM_NAME)?
            .attach(iface, TcAttachType::Egress)
            .map_err(|source| CaptureError::AttachEgress {
                iface: iface.into(),
                source,
            })?;
        Ok(())
    }

    /// What the kernel reports about the loaded XDP program.
    pub fn facts(&mut self) -> Result<ProgramFacts, CaptureError> {
        let info = xdp(&mut self.ebpf)?.info().map_err(CaptureError::Verify)?;
        Ok(ProgramFacts {
            instructions: info.size_translated().map(|bytes| bytes / 8),
            verified_instructions: info.verified_instruction_count(),
        })
    }

    /// What the kernel reports about the loaded egress program, if loaded.
    pub fn egress_facts(&mut self) -> Result<Option<ProgramFacts>, CaptureError> {
        if !self.egress {
            return Ok(None);
        }
        let info = classifier(&mut self.ebpf, EGRESS_PROGRAM_NAME)?
            .info()
            .map_err(CaptureError::VerifyEgress)?;
        Ok(Some(ProgramFacts {
            instructions: info.size_translated().map(|bytes| bytes / 8),
            verified_instructions: info.verified_instruction_count(),
        }))
    }

    /// Interfaces attached so far, with their mode.
    pub fn attached(&self) -> &[(String, XdpMode)] {
        &self.attached
    }

    /// Takes the ring buffer for the drain thread (once).
    pub fn take_ring(&mut self) -> Result<RingBuf<MapData>, CaptureError> {
        let map = self
            .ebpf
            .take_map(EVENTS_MAP)
            .ok_or(CaptureError::Missing(EVENTS_MAP))?;
        RingBuf::try_from(map).map_err(|source| CaptureError::Map {
            name: EVENTS_MAP,
            source,
        })
    }

    /// Takes the counter array, for whoever reports counters (once).
    pub fn take_counters(&mut self) -> Result<CounterMap, CaptureError> {
        let map = self
            .ebpf
            .take_map(STATS_MAP)
            .ok_or(CaptureError::Missing(STATS_MAP))?;
        let array = PerCpuArray::try_from(map).map_err(|source| CaptureError::Map {
            name: STATS_MAP,
            source,
        })?;
        Ok(CounterMap { array })
    }

    /// Runs the program once over `frame` with `BPF_PROG_TEST_RUN` and
    /// returns its XDP action.
    pub fn test_run(&mut self, frame: &[u8]) -> Result<u32, CaptureError> {
        self.test_run_repeat(frame, 1).map(|(action, _)| action)
    }

    /// Runs the program `repeat` times over `frame`; returns the action and
    /// the kernel's average time per run.
    pub fn test_run_repeat(
        &mut self,
        frame: &[u8],
        repeat: u32,
    ) -> Result<(u32, std::time::Duration), CaptureError> {
        let program = xdp(&mut self.ebpf)?;
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat;
        let result = program.test_run(opts).map_err(CaptureError::TestRun)?;
        Ok((result.return_value, result.duration))
    }

    /// Runs the XDP program named `program` in the embedded object (the
    /// capture program [`PROGRAM_NAME`], or another one such as the
    /// benchmarks' trivial `dnsrare_pass`, loaded on first use) `repeat`
    /// times over `frame` with `BPF_PROG_TEST_RUN`; returns the action and
    /// the kernel's average time per run.
    ///
    /// With `live_frames: Some(batch)` the kernel runs in live-frames mode
    /// (`BPF_F_TEST_XDP_LIVE_FRAMES`, batches of at most 256 frames): every
    /// repeat is a frame from a page pool written with `frame` once (a page
    /// that comes back during the call is reused as it was left), and
    /// frames the program passes go up the network stack of the calling
    /// thread's network namespace, through its loopback device. In that
    /// mode the kernel reports no action (0 is returned).
    pub fn test_run_program(
        &mut self,
        program: &'static str,
        frame: &[u8],
        repeat: u32,
        live_frames: Option<u32>,
    ) -> Result<(u32, std::time::Duration), CaptureError> {
        let xdp: &mut Xdp = self
            .ebpf
            .program_mut(program)
            .ok_or(CaptureError::Missing(program))?
            .try_into()
            .map_err(CaptureError::Verify)?;
        match xdp.load() {
            Ok(()) | Err(ProgramError::AlreadyLoaded) => {}
            Err(e) => return Err(CaptureError::Verify(e)),
        }
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat;
        if let Some(batch) = live_frames {
            opts.attrs = TestRunAttrs::new().xdp_live_frames(batch);
        }
        let result = xdp.test_run(opts).map_err(CaptureError::TestRun)?;
        Ok((result.return_value, result.duration))
    }

    /// Runs the classifier named `program` in the embedded object (the
    /// egress program [`EGRESS_PROGRAM_NAME`], or the benchmarks' trivial
    /// `dnsrare_tc_pass`, loaded on first use) `repeat` times over the
    /// Ethernet frame `frame` with `BPF_PROG_TEST_RUN`; returns its TC
    /// action and the kernel's average time per run. With
    /// `ingress_ifindex` other than 0 the packet looks forwarded: it came
    /// in on that interface.
    pub fn test_run_classifier(
        &mut self,
        program: &'static str,
        frame: &[u8],
        repeat: u32,
        ingress_ifindex: u32,
    ) -> Result<(i32, std::time::Duration), CaptureError> {
        let classifier = classifier(&mut self.ebpf, program)?;
        match classifier.load() {
            Ok(()) | Err(ProgramError::AlreadyLoaded) => {}
            Err(e) => return Err(CaptureError::VerifyEgress(e)),
        }
        // The start of a `struct __sk_buff`, zero but for its last field,
        // `ingress_ifindex`, which the kernel copies into the test skb
        // (`convert___skb_to_skb` in net/bpf/test_run.c; the fields left
        // out count as zero).
        let mut skb = [0u8; SK_BUFF_PREFIX];
        skb[SK_BUFF_PREFIX - 4..].copy_from_slice(&ingress_ifindex.to_ne_bytes());
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.ctx_in = Some(&skb);
        opts.repeat = repeat;
        let result = classifier.test_run(opts).map_err(CaptureError::TestRun)?;
        Ok((result.return_value as i32, result.duration))
    }
}

/// `offsetofend(struct __sk_buff, ingress_ifindex)` (uapi/linux/bpf.h).
const SK_BUFF_PREFIX: usize = 40;

fn classifier<'a>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<&'a mut SchedClassifier, CaptureError> {
    ebpf.program_mut(name)
        .ok_or(CaptureError::Missing(name))?
        .try_into()
        .map_err(CaptureError::VerifyEgress)
}

fn xdp(ebpf: &mut Ebpf) -> Result<&mut Xdp, CaptureError> {
    ebpf.program_mut(PROGRAM_NAME)
        .ok_or(CaptureError::Missing(PROGRAM_NAME))?
        .try_into()
        .map_err(CaptureError::Verify)
}

/// Whether an attach failed because the interface has an XDP program.
fn is_busy(e: &ProgramError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(io.raw_os_error(), Some(libc::EBUSY | libc::EEXIST))
        {
            return true;
        }
        source = err.source();
    }
    // aya reports netlink failures without an io::Error in the chain.
    let text = e.to_string();
    text.contains("Device or resource busy") || text.contains("File exists")
}

fn if_index(iface: &str) -> Option<u32> {
    let name = std::ffi::CString::new(iface).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// The per-CPU counters of a loaded program.
pub struct CounterMap {
    array: PerCpuArray<MapData, StatCounters>,
}

impl CounterMap {
    /// Every counter of both directions, summed over all CPUs.
    pub fn read(&self) -> Result<CaptureCounters, CaptureError> {
        let DirectionCounters { ingress, egress } = self.read_directions()?;
        let mut total = ingress;
        total.add(&egress);
        Ok(total)
    }

    /// The XDP program's counters and the egress program's, each summed
    /// over all CPUs.
    pub fn read_directions(&self) -> Result<DirectionCounters, CaptureError> {
        Ok(DirectionCounters {
            ingress: self.read_entry(STATS_INGRESS)?,
            egress: self.read_entry(STATS_EGRESS)?,
        })
    }

    /// One direction's counters (`STATS_INGRESS` or `STATS_EGRESS`), summed
    /// over all CPUs.
    pub fn read_entry(&self, index: u32) -> Result<CaptureCounters, CaptureError> {
        let per_cpu = self
            .array
            .get(&index, 0)
            .map_err(|source| CaptureError::Map {
                name: STATS_MAP,
                source,
            })?;
        let mut sums = [0u64; STAT_COUNT as usize];
        for cpu in per_cpu.iter() {
            for (sum, v) in sums.iter_mut().zip(cpu.counts) {
                *sum += v;
            }
        }
        Ok(CaptureCounters::from_array(&sums))
    }
}
