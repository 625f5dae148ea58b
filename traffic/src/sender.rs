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
