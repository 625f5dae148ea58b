//! Embeds the XDP program built by `cargo xtask build-ebpf` into the
//! `dnsrare` binary, so the binary is self-contained.
//!
//! The object is built by Debian's rustc in a separate step (TOOLCHAIN.md);
//! this script only copies it into `OUT_DIR`. It refuses a missing object and
//! one older than the eBPF sources, so a stale program is never embedded.

use std::{
    env, fs,
    path::{Path, PathBuf},
    time::SystemTime,
};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("capture-user sits in the workspace");
    let object = env::var_os("DNSRARE_EBPF_OBJECT").map_or_else(
        || root.join("target/ebpf/bpfel-unknown-none/release/capture-ebpf"),
        PathBuf::from,
    );
    println!("cargo::rerun-if-env-changed=DNSRARE_EBPF_OBJECT");
    println!("cargo::rerun-if-changed={}", object.display());
    let sources = [root.join("capture-ebpf"), root.join("capture-common")];
    for dir in &sources {
        println!("cargo::rerun-if-changed={}", dir.display());
    }

    let built = fs::metadata(&object)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            fail(&format!(
                "the XDP program is not built ({} is missing)",
                object.display()
            ))
        });
    if let Some(newer) = sources.iter().find_map(|dir| newer_than(dir, built)) {
        fail(&format!(
            "the XDP program at {} is older than {}",
            object.display(),
            newer.display()
        ));
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("capture-ebpf.o");
    fs::copy(&object, &out).unwrap_or_else(|e| fail(&format!("copying the object: {e}")));
}

/// The first source file under `dir` modified after `built`, if any.
fn newer_than(dir: &Path, built: SystemTime) -> Option<PathBuf> {
    let entries = fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            if let Some(found) = newer_than(&path, built) {
                return Some(found);
            }
        } else if meta.modified().is_ok_and(|m| m > built) {
            return Some(path);
        }
    }
    None
}

fn fail(why: &str) -> ! {
    eprintln!("error: {why}; run `cargo xtask build-ebpf` (after `cargo xtask setup`)");
    std::process::exit(1);
}
