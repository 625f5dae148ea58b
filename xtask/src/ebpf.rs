//! Lints the eBPF crate: `cargo clippy` for `bpfel-unknown-none` with
//! Debian's toolchain (rustc 1.96 with its library source and clippy), as
//! aya lints its own eBPF crates. The XDP program itself is built by
//! `capture-user/build.rs`.

use std::{path::Path, process::Command};

use anyhow::{Context, Result};

use crate::cmd;

const TARGET: &str = "bpfel-unknown-none";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// Runs clippy on `capture-ebpf` with warnings denied.
pub fn clippy(root: &Path) -> Result<()> {
    let mut lint = Command::new(DEBIAN_CARGO);
    lint.current_dir(root.join("capture-ebpf"))
        .args(["clippy", "--package", "capture-ebpf", "--bins", "--release"])
        .args(["--target", TARGET, "-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(cmd::target_dir(root)?.join("ebpf-clippy"))
        .args(["--", "-D", "warnings"])
        // Debian's rustc is a stable release; build-std needs the bootstrap
        // switch. Only this child sees it.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTC", DEBIAN_RUSTC)
        // `cargo clippy` runs the first `cargo-clippy` on PATH: Debian's,
        // which drives the clippy that matches Debian's rustc.
        .env("PATH", debian_first_path());
    // The outer cargo points these at rustup's toolchain; the eBPF build
    // must not inherit them (TOOLCHAIN.md).
    for var in [
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
    ] {
        lint.env_remove(var);
    }
    cmd::run(&mut lint).context("linting the XDP program (run `cargo xtask setup` first?)")
}

/// `PATH` with /usr/bin first.
fn debian_first_path() -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![std::path::PathBuf::from("/usr/bin")];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).unwrap_or(rest)
}
