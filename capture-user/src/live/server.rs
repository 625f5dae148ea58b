//! The daemon side of the local socket: binds it safely (mode 0600, a stale
//! file replaced, a live daemon refused) and answers one request per
//! connection until told to stop.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    os::unix::{
        fs::PermissionsExt,
        net::{UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

use thiserror::Error;

use dnsrare_core::protocol::{MAX_REQUEST_BYTES, Request, Response, parse_request};

/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Clients served at once.
pub const MAX_CLIENTS: usize = 16;
/// How often the accept loop checks the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(100);

/// Errors setting up the socket.
#[derive(Debug, Error)]
pub enum ServerError {
    /// Another daemon answers on the path.
    #[error("another dnsrare daemon is already serving {0}")]
    InUse(PathBuf),
    /// Binding or preparing the socket failed.
    #[error("cannot serve on {path}")]
    Bind {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// A bound socket; the file is removed when this is dropped.
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Binds `path` with mode 0600. A leftover socket file nobody answers on
    /// is replaced; a live daemon's socket is left alone.
    pub fn bind(path: &Path) -> Result<Self, ServerError> {
        let err = |source| ServerError::Bind {
            path: path.to_owned(),
            source,
        };
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(ServerError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        // Bind under a strict umask so the socket is never reachable by
        // others, not even between bind and chmod.
        // SAFETY: umask only swaps the process's file-creation mask.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(path);
        // SAFETY: as above, restoring the previous mask.
        unsafe { libc::umask(old) };
        let listener = bound.map_err(err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        listener.set_nonblocking(true).map_err(err)?;
        Ok(Self {
            listener,
            path: path.to_owned(),
        })
    }

    /// Answers requests with `handle` until `stop` is set, each client on
    /// its own thread (at most [`MAX_CLIENTS`] at once; more are told the
    /// daemon is busy), so a slow or half-open client delays nobody else.
    pub fn serve(&self, stop: &AtomicBool, handle: &(dyn Fn(Request) -> Response + Sync)) {
        let active = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            while !stop.load(Ordering::Acquire) {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        if active.load(Ordering::Acquire) >= MAX_CLIENTS {
                            let _ = refuse(&stream, "the daemon is busy: too many clients at once");
                            continue;
                        }
                        active.fetch_add(1, Ordering::AcqRel);
                        let slot = Slot(&active);
                        scope.spawn(move || {
                            let _slot = slot;
                            if let Err(e) = answer(stream, handle) {
                                log::debug!("client connection: {e}");
                            }
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(ACCEPT_POLL)
                    }
                    Err(e) => {
                        log::warn!("accepting a client on {}: {e}", self.path.display());
                        std::thread::sleep(ACCEPT_POLL);
                    }
                }
            }
        });
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A client's place among the [`MAX_CLIENTS`]; given back when dropped,
/// whatever happens to the client's thread.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Answers a client that cannot be served with an error.
fn refuse(stream: &UnixStream, message: &str) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut out = serde_json::to_vec(&Response::Error {
        message: message.to_owned(),
    })
    .map_err(io::Error::other)?;
    out.push(b'\n');
    (&*stream).write_all(&out)
}

fn answer(stream: UnixStream, handle: &(dyn Fn(Request) -> Response + Sync)) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = Vec::new();
    BufReader::new((&stream).take(MAX_REQUEST_BYTES as u64 + 1)).read_until(b'\n', &mut line)?;
    let response = match parse_request(&line) {
        // A request the daemon fails on must not take the server down.
        Ok(request) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(request)))
            .unwrap_or_else(|_| Response::Error {
                message: "the daemon failed on this request (see its log)".into(),
            }),
        Err(message) => Response::Error { message },
    };
    let mut out = serde_json::to_vec(&response).map_err(io::Error::other)?;
    out.push(b'\n');
    (&stream).write_all(&out)
}
