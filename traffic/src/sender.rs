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
        let name = CString::new(iface).map_err(io::Error::other)?;
        // SAFETY: plain syscalls with valid arguments; the fd is owned below.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid descriptor we now own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self {
            fd,
            ifindex: ifindex as i32,
        })
    }

    fn address(&self) -> libc::sockaddr_ll {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = self.ifindex;
        addr.sll_halen = 6;
        addr
    }

    /// Sends one frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.send_all(&[frame])
    }

    /// Sends every frame in order, in `sendmmsg` batches, retrying when the
    /// socket buffer is full.
    pub fn send_all(&self, frames: &[&[u8]]) -> io::Result<()> {
        let mut addr = self.address();
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
        let name = CString::new(iface).map_err(io::Error::other)?;
        // SAFETY: plain syscalls with valid arguments; the fd is owned below.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // Protocol 0: this socket receives nothing.
        // SAFETY: as above.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid descriptor we now own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
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
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex as i32;
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
