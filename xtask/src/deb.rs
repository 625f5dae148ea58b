//! `cargo xtask deb`: the Debian package `target/debian/dnsrare_*.deb`,
//! built by cargo-deb from `[package.metadata.deb]` in
//! `capture-user/Cargo.toml`.
//!
//! xtask builds the release binary (with the XDP program embedded) and
//! stages what is generated from it under `target/release/deb/`, where
//! cargo-deb's `target/release/` asset prefix finds it: the man pages,
//! written by the binary's hidden `dnsrare man DIR` from its own clap
//! definitions, and the systemd unit with the packaged binary's path
//! (`/usr/bin`, where `dnsrare install` uses `/usr/local/bin`). cargo-deb
//! then packs without building again (`--no-build`) and marks the files
//! under /etc as conffiles.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::{cmd, setup};

/// cargo-deb release this packaging is written for.
const CARGO_DEB_VERSION: &str = "3.8.0";
/// The unit `dnsrare install` writes, and the binary path in it.
const UNIT_SOURCE: &str = "capture-user/data/dnsrare.service";
const INSTALL_BINARY: &str = "/usr/local/bin/dnsrare";
const PACKAGE_BINARY: &str = "/usr/bin/dnsrare";
const CHANGELOG: &str = "capture-user/debian/changelog";

/// Builds the package; returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    check_changelog(root)?;
    setup::run()?;
    install_cargo_deb()?;
    let bin = cmd::build_dnsrare(root, true)?;
    let target = cmd::target_dir(root)?;
    stage(root, &bin, &target.join("release/deb"))?;
    let out_dir = target.join("debian");
    // Only this build's package in there, so `dnsrare_*.deb` names one.
    if let Ok(entries) = std::fs::read_dir(&out_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("dnsrare_") && name.ends_with(".deb") {
                std::fs::remove_file(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
    }
    eprintln!(
        "xtask: cargo deb --package capture-user --no-build --output {}",
        out_dir.display()
    );
    let out = cmd::cargo(root)
        .args(["deb", "--package", "capture-user", "--no-build", "--output"])
        .arg(&out_dir)
        .output()
        .context("cannot run cargo deb")?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("cargo deb failed: {}", out.status);
    }
    // cargo-deb prints the package's path on its last line.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let deb = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(".deb"))
        .map(|l| PathBuf::from(l.trim()))
        .with_context(|| format!("cargo deb printed no package path: {stdout}"))?;
    println!("{}", deb.display());
    Ok(deb)
}

/// The changelog's top entry is this version (the workspace's, revision 1).
fn check_changelog(root: &Path) -> Result<()> {
    let text = std::fs::read_to_string(root.join(CHANGELOG)).context(CHANGELOG)?;
    let want = format!("dnsrare ({}-1) ", env!("CARGO_PKG_VERSION"));
    if !text.starts_with(&want) {
        bail!(
            "{CHANGELOG}: the top entry should start with `{want}`: add an entry for this version"
        );
    }
    Ok(())
}

/// Writes the generated assets into `dir`, replacing what was there.
fn stage(root: &Path, bin: &Path, dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let man = dir.join("man");
    let out = Command::new(bin)
        .arg("man")
        .arg(&man)
        .output()
        .with_context(|| format!("cannot run {} man", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} man failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // cargo-deb gzips man pages from the source tree but takes what sits
    // under target/release as built, so they are gzipped here, as Debian
    // policy wants (-n: no name or time stamp, the same bytes every build).
    let pages = std::fs::read_dir(&man)
        .context("reading the man pages")?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    cmd::run(Command::new("gzip").args(["-9", "-n", "-f"]).args(&pages))?;
    let unit = std::fs::read_to_string(root.join(UNIT_SOURCE)).context(UNIT_SOURCE)?;
    if unit.matches(INSTALL_BINARY).count() != 1 {
        bail!("{UNIT_SOURCE} should name {INSTALL_BINARY} exactly once (in ExecStart)");
    }
    let unit = unit.replace(INSTALL_BINARY, PACKAGE_BINARY);
    std::fs::write(dir.join("dnsrare.service"), unit).context("writing the staged unit")?;
    Ok(())
}

/// Installs the pinned cargo-deb unless it is already there.
pub fn install_cargo_deb() -> Result<()> {
    if let Ok(out) = Command::new("cargo-deb").arg("--version").output()
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout).contains(CARGO_DEB_VERSION)
    {
        return Ok(());
    }
    cmd::run(
        Command::new("cargo")
            .args(["install", "--locked", "cargo-deb", "--version"])
            .arg(CARGO_DEB_VERSION)
            // Its own build, not this workspace's target directory.
            .env_remove("CARGO_TARGET_DIR"),
    )
    .context("installing cargo-deb")
}
