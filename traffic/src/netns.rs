//! A two-namespace lab: a "gateway" namespace and a "client" namespace
//! joined by a veth pair, made fresh for each test, demo or bench and
//! removed when dropped (also when a test panics). Traffic sent in a lab
//! never leaves it.

use std::{
    fs::File,
    net::{Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd,
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

use anyhow::{Context, Result, bail};

/// Prefix of every namespace a lab creates; `clean_stale` looks for it.
const PREFIX: &str = "dnsrare-lab";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two network namespaces joined by a veth pair, with addresses.
#[derive(Debug)]
pub struct Lab {
    /// Namespace where the daemon runs.
    pub gateway_ns: String,
    /// Namespace that sends traffic.
    pub client_ns: String,
    /// The veth end in the gateway namespace.
    pub gateway_if: String,
    /// The veth end in the client namespace.
    pub client_if: String,
    /// Gateway's IPv4 address.
    pub gateway_ip: Ipv4Addr,
    /// Client's IPv4 address.
    pub client_ip: Ipv4Addr,
    /// Gateway's IPv6 address.
    pub gateway_ip6: Ipv6Addr,
    /// Client's IPv6 address.
    pub client_ip6: Ipv6Addr,
}

impl Lab {
    /// Creates the namespaces, the veth pair and the addresses. Namespaces
    /// left behind by killed processes are removed first.
    pub fn new() -> Result<Self> {
        clean_stale();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let lab = Self {
            gateway_ns: format!("{PREFIX}-{id}-gw"),
            client_ns: format!("{PREFIX}-{id}-cl"),
            gateway_if: "dr-gw".into(),
            client_if: "dr-cl".into(),
            gateway_ip: Ipv4Addr::new(10, 53, 0, 1),
            client_ip: Ipv4Addr::new(10, 53, 0, 2),
            gateway_ip6: "fd00:53::1".parse().expect("literal"),
            client_ip6: "fd00:53::2".parse().expect("literal"),
        };
        // From here on, Drop removes whatever was created.
        lab.build().context("building the network-namespace lab")?;
        Ok(lab)
    }

    fn build(&self) -> Result<()> {
        ip(&["netns", "add", &self.gateway_ns])?;
        ip(&["netns", "add", &self.client_ns])?;
        self.add_veth(&self.gateway_if, &self.client_if)?;
        for (ns, dev, v4, v6) in [
            (
                &self.gateway_ns,
                &self.gateway_if,
                self.gateway_ip,
                self.gateway_ip6,
            ),
            (
                &self.client_ns,
                &self.client_if,
                self.client_ip,
                self.client_ip6,
            ),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev])?;
            ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Creates a veth pair with `gateway_end` in the gateway namespace and
    /// `client_end` in the client namespace.
    fn add_veth(&self, gateway_end: &str, client_end: &str) -> Result<()> {
        ip(&[
            "link",
            "add",
            gateway_end,
            "netns",
            &self.gateway_ns,
            "type",
            "veth",
            "peer",
            "name",
            client_end,
            "netns",
            &self.client_ns,
        ])
    }

    /// Adds another veth pair between the two namespaces: `dr-gwN` (with
    /// 10.53.N.1/24) and `dr-clN` (10.53.N.2/24); returns the two names.
    pub fn add_pair(&self, n: u8) -> Result<(String, String)> {
        let (gw, cl) = (format!("dr-gw{n}"), format!("dr-cl{n}"));
        self.add_veth(&gw, &cl)?;
        for (ns, dev, host) in [(&self.gateway_ns, &gw, 1), (&self.client_ns, &cl, 2)] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("10.53.{n}.{host}/24"),
                "dev",
                dev,
            ])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok((gw, cl))
    }

    /// Makes the client resolve the gateway's address without ARP (whose
    /// replies a mirror-mode program drops).
    pub fn pin_gateway_neighbor(&self) -> Result<()> {
        let out = Command::new("ip")
            .args([
                "-n",
                &self.gateway_ns,
                "link",
                "show",
                "dev",
                &self.gateway_if,
            ])
            .output()
            .context("running `ip link show`")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mac = text
            .split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .context("the gateway interface has no MAC address")?
            .to_owned();
        ip(&[
            "-n",
            &self.client_ns,
            "neigh",
            "replace",
            &self.gateway_ip.to_string(),
            "lladdr",
            &mac,
            "dev",
            &self.client_if,
        ])
    }

    /// Whether `iface` in the gateway namespace has an XDP program
    /// attached, as `ip link` shows it.
    pub fn has_xdp(&self, iface: &str) -> Result<bool> {
        let out = Command::new("ip")
            .args(["-n", &self.gateway_ns, "-d", "link", "show", "dev", iface])
            .output()
            .context("running `ip link show`")?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.contains("prog/xdp") || text.contains(" xdp"))
    }

    /// A command that runs `program` inside the gateway namespace.
    pub fn gateway_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.gateway_ns]).arg(program);
        cmd
    }

    /// Runs `f` on a thread that has entered the client namespace: sockets
    /// it opens live in that namespace.
    pub fn in_client<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        in_namespace(&self.client_ns, f)
    }

    /// Runs `f` on a thread that has entered the gateway namespace.
    pub fn in_gateway<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        in_namespace(&self.gateway_ns, f)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it
        // the peer.
        for ns in [&self.gateway_ns, &self.client_ns] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// Runs `f` on a new thread inside the named namespace.
fn in_namespace<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
    let handle = File::open(format!("/var/run/netns/{ns}"))
        .with_context(|| format!("opening network namespace {ns}"))?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on this thread only, with a valid namespace fd.
                if unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    bail!(
                        "entering network namespace {ns}: {}",
                        std::io::Error::last_os_error()
                    );
                }
                Ok(f())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running `ip` (is iproute2 installed?)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Removes lab namespaces whose creating process is gone (a test killed by
/// a timeout cannot run its destructors).
fn clean_stale() {
    let Ok(entries) = std::fs::read_dir("/var/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&format!("{PREFIX}-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", &name]);
        }
    }
}
