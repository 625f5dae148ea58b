//! `cargo xtask build-ebpf`: builds the XDP program for bpfel-unknown-none
//! with Debian's rustc (1.96, LLVM 22), which ships the library source that
//! `-Z build-std=core` needs (TOOLCHAIN.md). The object lands at
//! [`object_path`], where `capture-user`'s build script embeds it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result};

use crate::cmd;

const TARGET: &str = "bpfel-unknown-none";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// Where the built object is; `capture-user/build.rs` reads the same path.
pub fn object_path(root: &Path) -> PathBuf {
    root.join("target/ebpf")
        .join(TARGET)
        .join("release/capture-ebpf")
}

/// Builds the XDP program and returns the object's path.
pub fn build(root: &Path) -> Result<PathBuf> {
    let mut build = Command::new(DEBIAN_CARGO);
    build
        .current_dir(root.join("capture-ebpf"))
        .args(["build", "--package", "capture-ebpf", "--bins", "--release"])
        .args(["--target", TARGET, "-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(root.join("target/ebpf"))
        // Debian's rustc is a stable release; build-std needs the bootstrap
        // switch. Only this child sees it.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTC", DEBIAN_RUSTC)
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            ["-Cdebuginfo=2", "-Clink-arg=--btf"].join("\x1f"),
        );
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
        build.env_remove(var);
    }
    cmd::run(&mut build).context("building the XDP program (run `cargo xtask setup` first?)")?;
    Ok(object_path(root))
}
