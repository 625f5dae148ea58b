//! A raw-frame sender on an AF_PACKET socket, with `sendmmsg` batches and
//! an optional rate. Open it inside the namespace whose interface it sends
//! on (see [`crate::netns::Lab::in_client`]).

use std::{
    ffi::CString,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

/// Frames handed to the kernel per `sendmmsg` call.
const BATCH: usize = 64;

/// An AF_PACKET socket bound to one interface.
pub struct RawSender {
    fd: OwnedFd,
    ifindex: i32,
}

impl RawSender {
    /// Opens a raw socket on `iface` (in the calling thread's namespace).
    pub fn open(iface: &str) -> io::Result<Self> {
        let (fd, ifindex) = packet_socket(iface)?;
        Ok(Self { fd, ifindex })
    }

    /// Sends one frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.send_all(&[frame])
    }

    /// Sends every frame in order, in `sendmmsg` batches, retrying when the
    /// socket buffer is full.
    pub fn send_all(&self, frames: &[&[u8]]) -> io::Result<()> {
        let mut addr = link_address(self.ifindex);
        for chunk in frames.chunks(BATCH) {
            let mut iov: Vec<libc::iovec> = chunk
                .iter()
                .map(|f| libc::iovec {
                    iov_base: f.as_ptr() as *mut libc::c_void,
                    iov_len: f.len(),
                })
                .collect();
            let mut msgs: Vec<libc::mmsghdr> = iov
                .iter_mut()
                .map(|v| {
                    // SAFETY: mmsghdr is plain data; zero is a valid start.
                    let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                    m.msg_hdr.msg_name = (&raw mut addr).cast();
                    m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as u32;
                    m.msg_hdr.msg_iov = v;
                    m.msg_hdr.msg_iovlen = 1;
                    m
                })
                .collect();
            let mut sent = 0usize;
            while sent < msgs.len() {
                // SAFETY: every pointer in `msgs` points into `iov`, `addr`
                // and the caller's frames, all alive for this call.
                let n = unsafe {
                    libc::sendmmsg(
                        self.fd.as_raw_fd(),
                        msgs[sent..].as_mut_ptr(),
                        (msgs.len() - sent) as u32,
                        0,
                    )
                };
                if n < 0 {
                    let err = io::Error::last_os_error();
                    if err.raw_os_error() == Some(libc::ENOBUFS)
                        || err.kind() == io::ErrorKind::WouldBlock
                    {
                        std::thread::sleep(Duration::from_micros(50));
                        continue;
                    }
                    return Err(err);
                }
                sent += n as usize;
            }
        }
        Ok(())
    }

    /// Sends `(time_ns, frame)` pairs at their capture times divided by
    /// `speedup` (time ordered; frames due together go in one batch);
    /// returns the time it took.
    pub fn send_scheduled(&self, frames: &[(u64, &[u8])], speedup: f64) -> io::Result<Duration> {
        let start = Instant::now();
        let Some(&(t0, _)) = frames.first() else {
            return Ok(start.elapsed());
        };
        let due = |t: u64| Duration::from_secs_f64(t.saturating_sub(t0) as f64 / 1e9 / speedup);
        let mut i = 0;
        while i < frames.len() {
            if let Some(wait) = due(frames[i].0).checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            let now = start.elapsed();
            let mut j = i;
            while j < frames.len() && j - i < BATCH && due(frames[j].0) <= now {
                j += 1;
            }
            let batch: Vec<&[u8]> = frames[i..j.max(i + 1)].iter().map(|f| f.1).collect();
            self.send_all(&batch)?;
            i = j.max(i + 1);
        }
        Ok(start.elapsed())
    }

    /// Sends `frames` at about `per_second` frames per second (all at once
    /// when `None`); returns the time it took.
    pub fn send_paced(&self, frames: &[&[u8]], per_second: Option<u64>) -> io::Result<Duration> {
        let start = Instant::now();
        let Some(rate) = per_second.filter(|r| *r > 0) else {
            self.send_all(frames)?;
            return Ok(start.elapsed());
        };
        for (i, chunk) in frames.chunks(BATCH).enumerate() {
            let due = Duration::from_secs_f64((i * BATCH) as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            self.send_all(chunk)?;
        }
        Ok(start.elapsed())
    }
}

/// Frame slots in a [`RingSender`]'s transmit ring.
const RING_FRAMES: usize = 4096;
/// Bytes per slot: the TPACKET_V2 header and a frame of up to 2016 bytes.
const RING_FRAME_SIZE: usize = 2048;
/// Bytes per ring block (a multiple of the page and of the slot size).
const RING_BLOCK_SIZE: usize = 1 << 20;
/// Where the frame starts in a slot (TPACKET_V2 without PACKET_TX_HAS_OFF).
const RING_DATA_OFFSET: usize = libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>();

/// A faster raw-frame sender for benchmarks: an AF_PACKET socket with a
/// memory-mapped transmit ring (`PACKET_TX_RING`, TPACKET_V2) that bypasses
/// the qdisc layer (`PACKET_QDISC_BYPASS`). Frames are copied into ring
/// slots and handed to the kernel with one `send` per batch, without a
/// per-frame system call or message header. Open it inside the namespace
/// whose interface it sends on.
pub struct RingSender {
    fd: OwnedFd,
    ring: *mut u8,
    ring_len: usize,
    next: usize,
}

// SAFETY: the ring mapping belongs to this value alone and is only touched
// through `&mut self`.
unsafe impl Send for RingSender {}

impl RingSender {
    /// Opens the socket, sets up and maps the ring, binds to `iface`.
    pub fn open(iface: &str) -> io::Result<Self> {
        let (fd, ifindex) = packet_socket(iface)?;
        let version = libc::tpacket_versions::TPACKET_V2 as libc::c_int;
        setsockopt(&fd, libc::PACKET_VERSION, &version)?;
        setsockopt(&fd, libc::PACKET_QDISC_BYPASS, &1 as &libc::c_int)?;
        let req = libc::tpacket_req {
            tp_block_size: RING_BLOCK_SIZE as u32,
            tp_block_nr: (RING_FRAMES * RING_FRAME_SIZE / RING_BLOCK_SIZE) as u32,
            tp_frame_size: RING_FRAME_SIZE as u32,
            tp_frame_nr: RING_FRAMES as u32,
        };
        setsockopt(&fd, libc::PACKET_TX_RING, &req)?;
        let ring_len = RING_FRAMES * RING_FRAME_SIZE;
        // SAFETY: maps the ring the kernel just set up for this socket.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let sender = Self {
            fd,
            ring: ring.cast(),
            ring_len,
            next: 0,
        };
        let addr = link_address(ifindex);
        // SAFETY: a valid sockaddr_ll of the stated size.
        let rc = unsafe {
            libc::bind(
                sender.fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sender)
    }

    fn status(&self, slot: usize) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: `slot` is below RING_FRAMES, so the header lies inside the
        // mapping; tp_status is the header's first, 4-byte aligned field,
        // which the kernel also accesses atomically.
        unsafe {
            &*self
                .ring
                .add(slot * RING_FRAME_SIZE)
                .cast::<std::sync::atomic::AtomicU32>()
        }
    }

    /// Sends every frame in order: fills free ring slots, kicks the kernel
    /// with `send` when the ring is full and at the end, and waits for the
    /// kernel to have sent them all. Frames longer than a slot are refused.
    pub fn send_all(&mut self, frames: &[&[u8]]) -> io::Result<()> {
        use std::sync::atomic::Ordering;
        let room = RING_FRAME_SIZE - RING_DATA_OFFSET;
        if let Some(f) = frames.iter().find(|f| f.len() > room) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte frame does not fit a {room}-byte ring slot",
                    f.len()
                ),
            ));
        }
        for frame in frames {
            let slot = self.next;
            // A slot is free once the kernel has sent what it held.
            let mut spins = 0u32;
            loop {
                match self.status(slot).load(Ordering::Acquire) {
                    libc::TP_STATUS_AVAILABLE => break,
                    libc::TP_STATUS_WRONG_FORMAT => {
                        return Err(io::Error::other("the kernel refused a frame"));
                    }
                    _ => {
                        self.kick(true)?;
                        spins += 1;
                        if spins > 1000 {
                            std::thread::sleep(Duration::from_micros(20));
                        }
                    }
                }
            }
            // SAFETY: the slot is ours (status AVAILABLE) and the frame fits
            // after the header (checked above); the header is 4-aligned.
            unsafe {
                let base = self.ring.add(slot * RING_FRAME_SIZE);
                std::ptr::copy_nonoverlapping(
                    frame.as_ptr(),
                    base.add(RING_DATA_OFFSET),
                    frame.len(),
                );
                let hdr = base.cast::<libc::tpacket2_hdr>();
                (*hdr).tp_len = frame.len() as u32;
            }
            self.status(slot)
                .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
            self.next = (slot + 1) % RING_FRAMES;
        }
        self.kick(true)
    }

    /// Asks the kernel to send every slot marked for sending; with `wait`,
    /// returns once they have been sent.
    fn kick(&self, wait: bool) -> io::Result<()> {
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        loop {
            // SAFETY: a zero-length send on our own socket.
            let rc = unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, flags) };
            if rc >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) => {
                    std::thread::sleep(Duration::from_micros(50));
                    return Ok(());
                }
                _ => return Err(err),
            }
        }
    }
}

impl Drop for RingSender {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `open`, once.
        unsafe { libc::munmap(self.ring.cast(), self.ring_len) };
    }
}

fn setsockopt<T>(fd: &OwnedFd, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a valid `T` of the stated size for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            (value as *const T).cast(),
            size_of::<T>() as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `bpf(2)` commands and constants the [`XdpSender`] needs.
mod bpf {
    pub const PROG_LOAD: libc::c_long = 5;
    pub const PROG_TEST_RUN: libc::c_long = 10;
    pub const LINK_CREATE: libc::c_long = 28;
    pub const PROG_TYPE_XDP: u32 = 6;
    pub const ATTACH_XDP: u32 = 37;
    pub const F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
    pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
    /// Most frames the kernel runs per live-frames batch.
    pub const MAX_BATCH: u32 = 256;

    /// The `BPF_PROG_LOAD` part of `union bpf_attr`, up to
    /// `expected_attach_type`.
    #[repr(C)]
    #[derive(Default)]
    pub struct ProgLoad {
        pub prog_type: u32,
        pub insn_cnt: u32,
        pub insns: u64,
        pub license: u64,
        pub log_level: u32,
        pub log_size: u32,
        pub log_buf: u64,
        pub kern_version: u32,
        pub prog_flags: u32,
        pub prog_name: [u8; 16],
        pub prog_ifindex: u32,
        pub expected_attach_type: u32,
    }

    /// The `BPF_PROG_TEST_RUN` part of `union bpf_attr`.
    #[repr(C)]
    #[derive(Default)]
    pub struct TestRun {
        pub prog_fd: u32,
        pub retval: u32,
        pub data_size_in: u32,
        pub data_size_out: u32,
        pub data_in: u64,
        pub data_out: u64,
        pub repeat: u32,
        pub duration: u32,
        pub ctx_size_in: u32,
        pub ctx_size_out: u32,
        pub ctx_in: u64,
        pub ctx_out: u64,
        pub flags: u32,
        pub cpu: u32,
        pub batch_size: u32,
        pub pad: u32,
    }

    /// The `BPF_LINK_CREATE` part of `union bpf_attr` for XDP.
    #[repr(C)]
    #[derive(Default)]
    pub struct LinkCreate {
        pub prog_fd: u32,
        pub target_ifindex: u32,
        pub attach_type: u32,
        pub flags: u32,
    }

    /// `struct xdp_md`, the context handed to a test run.
    #[repr(C)]
    #[derive(Default)]
    pub struct XdpMd {
        pub data: u32,
        pub data_end: u32,
        pub data_meta: u32,
        pub ingress_ifindex: u32,
        pub rx_queue_index: u32,
        pub egress_ifindex: u32,
    }

    /// Runs `bpf(cmd, attr, size_of::<T>())`.
    pub fn call<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
        // SAFETY: `attr` is a valid, initialised attribute struct of the
        // stated size; the kernel zero-extends what it does not get.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd,
                (attr as *mut T).cast::<libc::c_void>(),
                size_of::<T>() as libc::c_uint,
            )
        };
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }
}

/// The fastest sender here, for benchmarks: frames leave `iface` the way an
/// XDP program's XDP_TX sends them, as in xdp-project's `xdp-trafficgen`.
/// A two-instruction XDP program that returns XDP_TX is run with
/// `BPF_PROG_TEST_RUN` in live-frames mode with `iface` as its ingress
/// interface, and the kernel turns each XDP_TX into a transmission out of
/// `iface` (`ndo_xdp_xmit`): no socket buffers, no qdisc. On a veth pair
/// the frames reach the peer's XDP program as frames from a driver do. The
/// peer must have an XDP program attached in driver mode (veth only then
/// accepts XDP frames).
///
/// Each call sends one frame a number of times. The program is also
/// attached (generic mode) to `idle_iface`, an interface that must carry
/// no traffic (a down veth): the kernel then keeps it in its XDP dispatcher
/// and does not re-patch the dispatcher, a wait for an RCU grace period, on
/// every call with more than one repeat. Open and use the sender on a thread
/// inside the namespace of both interfaces.
pub struct XdpSender {
    prog: OwnedFd,
    _link: OwnedFd,
    ifindex: u32,
}

impl XdpSender {
    /// Loads the XDP_TX program and pins it to `idle_iface`.
    pub fn open(iface: &str, idle_iface: &str) -> io::Result<Self> {
        let ifindex = if_index(iface)?;
        let idle = if_index(idle_iface)?;
        // r0 = XDP_TX (3); exit.
        let insns: [u64; 2] = [0x0000_0003_0000_00b7, 0x0000_0000_0000_0095];
        let license = b"GPL\0";
        let mut name = [0u8; 16];
        name[..10].copy_from_slice(b"dnsrare_tx");
        let mut load = bpf::ProgLoad {
            prog_type: bpf::PROG_TYPE_XDP,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name: name,
            expected_attach_type: bpf::ATTACH_XDP,
            ..Default::default()
        };
        let raw = bpf::call(bpf::PROG_LOAD, &mut load)?;
        // SAFETY: a fresh descriptor returned by the kernel, owned here.
        let prog = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        let mut link = bpf::LinkCreate {
            prog_fd: prog.as_raw_fd() as u32,
            target_ifindex: idle,
            attach_type: bpf::ATTACH_XDP,
            flags: bpf::XDP_FLAGS_SKB_MODE,
        };
        let raw = bpf::call(bpf::LINK_CREATE, &mut link)?;
        // SAFETY: as above; closing it detaches the program.
        let link = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        Ok(Self {
            prog,
            _link: link,
            ifindex,
        })
    }

    /// Sends `frame` out of the interface `count` times, in batches of
    /// `batch` frames (at most 256); returns the kernel's time per frame.
    ///
    /// Keep `count` at most `batch`: each call draws its frames from a page
    /// pool of `batch` pages, written with `frame` once, and a page that
    /// comes back to the pool during the call is sent again as it was
    /// returned — after the receiving stack may have changed it in place
    /// (it moves the MAC addresses of a VLAN-tagged frame when it strips
    /// the tag, for one).
    pub fn send_repeated(&self, frame: &[u8], count: u32, batch: u32) -> io::Result<Duration> {
        let mut ctx = bpf::XdpMd {
            data_end: frame.len() as u32,
            ingress_ifindex: self.ifindex,
            ..Default::default()
        };
        let mut attr = bpf::TestRun {
            prog_fd: self.prog.as_raw_fd() as u32,
            data_size_in: frame.len() as u32,
            data_in: frame.as_ptr() as u64,
            repeat: count.max(1),
            ctx_size_in: size_of::<bpf::XdpMd>() as u32,
            ctx_in: (&raw mut ctx) as u64,
            flags: bpf::F_TEST_XDP_LIVE_FRAMES,
            batch_size: batch.clamp(1, bpf::MAX_BATCH),
            ..Default::default()
        };
        loop {
            match bpf::call(bpf::PROG_TEST_RUN, &mut attr) {
                Ok(_) => return Ok(Duration::from_nanos(u64::from(attr.duration))),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// An AF_PACKET raw socket for sending on `iface` (protocol 0: it receives
/// nothing), with the interface's index.
fn packet_socket(iface: &str) -> io::Result<(OwnedFd, i32)> {
    let ifindex = if_index(iface)?;
    // SAFETY: a plain syscall; the descriptor is owned below.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh, valid descriptor we now own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    Ok((fd, ifindex as i32))
}

/// The link-layer address of interface `ifindex`, for `sendmmsg` and
/// `bind` on an AF_PACKET socket.
fn link_address(ifindex: i32) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_ifindex = ifindex;
    addr.sll_halen = 6;
    addr
}

fn if_index(iface: &str) -> io::Result<u32> {
    let name = CString::new(iface).map_err(io::Error::other)?;
    // SAFETY: a valid NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}
