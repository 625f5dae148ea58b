//! `dnsrare run --metrics ADDR`: the daemon's figures for Prometheus,
//! served over plain HTTP by one small thread.
//!
//! A std `TcpListener` rather than an HTTP crate: the only thing to serve
//! is one read-only page to a scraper, so the whole protocol needed is one
//! request line and one `Connection: close` answer. Each connection is read
//! with a two-second timeout and at most 8 KiB of request head, and is
//! answered before the next is accepted, so a slow or hostile client can
//! hold the thread for seconds at most and never touches the capture or
//! the engine beyond one stats request.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use dnsrare_core::prometheus::CONTENT_TYPE;

/// Where metrics are served when `--metrics` is given without an address.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9153";
/// Longest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the idle thread checks for shutdown.
const POLL: Duration = Duration::from_millis(50);

/// A bound metrics listener, not serving yet.
pub struct MetricsServer {
    listener: TcpListener,
}

impl MetricsServer {
    /// Binds `addr` (before privileges are dropped, so any port works).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Self { listener })
    }

    /// The address actually bound (port 0 picks one).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `GET /metrics` with `render()`'s text until `stop` is set.
    pub fn spawn(
        self,
        stop: Arc<AtomicBool>,
        render: impl Fn() -> Result<String, String> + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("dnsrare-metrics".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match self.listener.accept() {
                        Ok((stream, peer)) => {
                            if let Err(e) = answer(stream, &render) {
                                log::debug!("metrics client {peer}: {e}");
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(POLL);
                        }
                        Err(e) => {
                            log::warn!("metrics: accept failed: {e}");
                            std::thread::sleep(POLL);
                        }
                    }
                }
            })
    }
}

/// Reads one request head and answers it.
fn answer(mut stream: TcpStream, render: &dyn Fn() -> Result<String, String>) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() >= MAX_HEAD {
            return respond(&mut stream, "431 Request Header Fields Too Large", "", "");
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => match render() {
            Ok(body) => {
                let body = if method == "HEAD" { "" } else { &body };
                respond(&mut stream, "200 OK", CONTENT_TYPE, body)
            }
            Err(e) => respond(
                &mut stream,
                "500 Internal Server Error",
                "text/plain",
                &format!("{e}\n"),
            ),
        },
        (_, "/metrics") => respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            "GET or HEAD\n",
        ),
        _ => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            "metrics are at /metrics\n",
        ),
    }
}

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !kind.is_empty() {
        out.push_str(&format!("Content-Type: {kind}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_refuses_the_rest() {
        let server = MetricsServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = server.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = server
            .spawn(Arc::clone(&stop), || Ok("dnsrare_up 1\n".to_owned()))
            .unwrap();
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Length: 13\r\n"), "{ok}");
        assert!(ok.contains("version=0.0.4"), "{ok}");
        assert!(ok.ends_with("\r\n\r\ndnsrare_up 1\n"), "{ok}");
        assert!(get(addr, "GET / HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let head = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        // A client that sends nothing is dropped after the timeout, and
        // the next one is served.
        let idle = TcpStream::connect(addr).unwrap();
        let after = get(addr, "GET /metrics?x=1 HTTP/1.1\r\n\r\n");
        assert!(after.starts_with("HTTP/1.1 200 OK\r\n"), "{after}");
        drop(idle);
        stop.store(true, Ordering::Release);
        thread.join().unwrap();
    }
}
