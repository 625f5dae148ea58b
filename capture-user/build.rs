//! Builds the XDP program (`capture-ebpf`) and embeds it in the `dnsrare`
//! binary, so that plain `cargo build` and `cargo install --path
//! capture-user` give a self-contained binary.
//!
//! The eBPF crate builds for `bpfel-unknown-none` with Debian's rustc (it
//! ships the library source that `-Z build-std=core` needs) and
//! bpf-linker, through aya-build as aya's own template does
//! (../shared/TOOLCHAIN.md). Cargo reruns this script whenever a file of
//! the eBPF crate or of `capture-common` changes, and the nested build is
//! incremental, so the embedded object is never stale. Without the
//! toolchain the build stops with one line saying how to install it.

use std::{
    env,
    path::{Path, PathBuf},
};

use aya_build::{Package, Toolchain};

/// Debian's toolchain, as `cargo xtask setup` installs it.
const DEBIAN_TOOLCHAIN: &str = "/usr";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_LIBRARY_SOURCE: &str = "/usr/lib/rustlib/src/rust/library";

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("capture-user sits in the workspace");
    let ebpf = root.join("capture-ebpf");
    println!("cargo::rerun-if-changed=build.rs");
    println!(
        "cargo::rerun-if-changed={}",
        root.join("capture-common").display()
    );
    println!("cargo::rerun-if-env-changed=PATH");

    if let Some(missing) = missing_toolchain() {
        eprintln!(
            "error: cannot build the XDP program: {missing}; run `cargo xtask setup` (as root) first"
        );
        std::process::exit(1);
    }
    // The eBPF build needs `-Z build-std=core` from Debian's stable rustc,
    // and only that child may see the outer cargo's toolchain variables
    // reset (TOOLCHAIN.md): aya-build passes this process's environment on.
    // SAFETY: the build script is single-threaded here; nothing else reads
    // the environment concurrently.
    unsafe {
        env::set_var("RUSTC_BOOTSTRAP", "1");
        // Only errors reach the outer build's output (aya-build turns
        // every line the nested cargo prints into a warning).
        env::set_var("CARGO_TERM_QUIET", "true");
        for var in [
            "CARGO",
            "RUSTDOC",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_BUILD_TARGET",
            "RUSTFLAGS",
        ] {
            env::remove_var(var);
        }
    }
    let ebpf_dir = ebpf.to_str().expect("the workspace path is UTF-8");
    if let Err(e) = aya_build::build_ebpf(
        [Package {
            name: "capture-ebpf",
            root_dir: ebpf_dir,
            ..Package::default()
        }],
        Toolchain::Custom(DEBIAN_TOOLCHAIN),
    ) {
        eprintln!("error: building the XDP program failed: {e:#}");
        std::process::exit(1);
    }
}

/// What of the eBPF toolchain is missing, if anything.
fn missing_toolchain() -> Option<String> {
    for path in [DEBIAN_RUSTC, DEBIAN_CARGO, DEBIAN_LIBRARY_SOURCE] {
        if !Path::new(path).exists() {
            return Some(format!(
                "Debian's Rust toolchain is not installed ({path} is missing)"
            ));
        }
    }
    for tool in ["bpf-linker", "rustup"] {
        if !on_path(tool) {
            return Some(format!("`{tool}` is not on PATH"));
        }
    }
    None
}

fn on_path(tool: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}
