//! `cargo xtask test`: every check and test, in two tiers.
//!
//! 1. The fast tier: `dnsrare-core`'s tests, which need no kernel, no root
//!    and no eBPF toolchain (they run before `setup`, so on a fresh machine
//!    they prove it).
//! 2. Set up, then format, clippy with warnings denied (the eBPF crate too,
//!    with Debian's toolchain), and the whole test suite, including the
//!    tests that load the XDP program and build network namespaces (root),
//!    and the one that installs and purges the Debian package, built here
//!    once and handed over in `DNSRARE_DEB`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::{cmd, deb, ebpf, setup};

/// Runs every check and test.
pub fn run(root: &Path) -> Result<()> {
    if !setup::is_root() {
        bail!(
            "cargo xtask test needs root: its tests load XDP programs and create network namespaces"
        );
    }
    cmd::run(cmd::cargo(root).args(["test", "--package", "dnsrare-core"]))?;
    setup::run()?;
    let bin = cmd::build_dnsrare(root, false)?;
    cmd::run(cmd::cargo(root).args(["fmt", "--all", "--", "--check"]))?;
    cmd::run(cmd::cargo(root).args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    ebpf::clippy(root)?;
    let package = deb::build(root)?;
    // Unit, integration and doc tests of every crate but the eBPF one
    // (which only builds for BPF); benches are built by clippy above and
    // run by `cargo xtask bench`.
    cmd::run(
        cmd::cargo(root)
            .arg("test")
            .env("DNSRARE_BIN", &bin)
            .env("DNSRARE_DEB", &package),
    )?;
    eprintln!("xtask: every check and test passed");
    Ok(())
}
