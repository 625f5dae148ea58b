//! `cargo xtask setup`: installs what building the XDP program needs on a
//! fresh Debian machine, skipping every step whose result is present
//! (TOOLCHAIN.md): Debian's rustc with its library source, LLVM 22, and
//! bpf-linker built against that LLVM.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Debian packages the build and the tests need.
const PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "llvm-22-dev",
    "rust-web-clippy",
    "iproute2",
    // Renders the HTML report headless in tests/tests/html_report.rs.
    "chromium",
    // The real resolver of tests/tests/resolver_egress.rs: Debian's
    // dnsmasq binary without the system service the `dnsmasq` package
    // would install and start.
    "dnsmasq-base",
    // Debian's ClickHouse (18.16), run as a plain process by
    // tests/tests/clickhouse.rs for the export and central report.
    "clickhouse-server",
    "clickhouse-client",
];

/// bpf-linker release known to work with LLVM 22 and the aya 0.14 set.
const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

/// Installs the toolchain; does nothing when it is already complete.
pub fn run() -> Result<()> {
    install_packages(PACKAGES)?;
    install_bpf_linker()
}

/// Installs the Debian packages among `packages` that are missing.
pub fn install_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !package_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "Debian packages missing: {}; run `cargo xtask setup` as root",
            missing.join(" ")
        );
    }
    cmd::run(Command::new("apt-get").args(["update", "-q"]))?;
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn package_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
}

fn install_bpf_linker() -> Result<()> {
    if let Ok(out) = Command::new("bpf-linker").arg("--version").output()
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout).contains(BPF_LINKER_VERSION)
    {
        return Ok(());
    }
    let path = std::env::var("PATH").unwrap_or_default();
    cmd::run(
        Command::new("cargo")
            .args(["install", "--locked", "bpf-linker", "--version"])
            .arg(BPF_LINKER_VERSION)
            .args(["--no-default-features", "--features", "llvm-22"])
            .env("LLVM_PREFIX", LLVM_PREFIX)
            .env("PATH", format!("{LLVM_PREFIX}/bin:{path}"))
            // Use rustup's default toolchain, not whatever runs xtask.
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .env_remove("RUSTC"),
    )
    .context("installing bpf-linker")
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
