//! The Debian package on this machine: `dpkg -i` puts the binary, the unit,
//! the configuration (a conffile), the man pages, the service user and its
//! state directory in place without enabling anything; installing again
//! keeps an edited configuration; the installed binary runs; `dpkg --purge`
//! takes all of it away again, the user included.
//!
//! The package is the one `cargo xtask test` builds once with `cargo xtask
//! deb` and names in `DNSRARE_DEB`; without it this test checks nothing.
//! By hand: `DNSRARE_DEB=$(cargo xtask deb) cargo test --test deb_package`.
//! It needs root, and refuses to run where dnsrare is already installed or
//! its user exists (purging would take an operator's set-up away).

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use dnsrare_tests::shared_data;

const PACKAGE: &str = "dnsrare";
const USER: &str = "dnsrare";
const BINARY: &str = "/usr/bin/dnsrare";
const UNIT: &str = "/lib/systemd/system/dnsrare.service";
const CONFIG: &str = "/etc/dnsrare/dnsrare.toml";
const STATE: &str = "/var/lib/dnsrare";
const MAN_DIR: &str = "/usr/share/man/man1";
const PAGES: &[&str] = &[
    "dnsrare",
    "dnsrare-run",
    "dnsrare-report",
    "dnsrare-pcap",
    "dnsrare-zeek",
    "dnsrare-eve",
    "dnsrare-stats",
    "dnsrare-hosts",
    "dnsrare-install",
    "dnsrare-clickhouse",
    "dnsrare-clickhouse-init",
    "dnsrare-clickhouse-prune",
];
const WANTS_LINK: &str = "/etc/systemd/system/multi-user.target.wants/dnsrare.service";

#[test]
fn package_installs_runs_and_purges_cleanly() {
    let Some(deb) = std::env::var_os("DNSRARE_DEB").map(PathBuf::from) else {
        eprintln!(
            "package_installs_runs_and_purges_cleanly: DNSRARE_DEB is not set, so this test \
             checks nothing (cargo xtask test sets it)"
        );
        return;
    };
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("package_installs_runs_and_purges_cleanly: needs root (dpkg -i); skipped");
        return;
    }
    assert!(deb.is_file(), "{} is missing", deb.display());
    assert!(
        !package_present(),
        "the {PACKAGE} package is already installed here; this test would purge it \
         (`dpkg --purge {PACKAGE}` first if it is a leftover)"
    );
    assert!(
        passwd(USER).is_none(),
        "the user {USER} already exists; purging the package would delete it"
    );

    let package = Installed::new();
    let out = run(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(out.status.success(), "dpkg -i: {}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("not enabled") && said.contains("iface"),
        "the postinst says to set iface first: {said}"
    );
    assert!(package_present());

    // The files, their owners and modes.
    assert_file(BINARY, 0o755, 0, 0);
    assert_file(CONFIG, 0o644, 0, 0);
    assert_file(UNIT, 0o644, 0, 0);
    assert_eq!(
        std::fs::read_to_string(CONFIG).expect("config"),
        include_str!("../../capture-user/data/dnsrare.toml")
    );
    let conffiles =
        run(Command::new("dpkg-query").args(["--show", "--showformat=${Conffiles}", PACKAGE]));
    assert!(
        String::from_utf8_lossy(&conffiles.stdout).contains(CONFIG),
        "{CONFIG} is a conffile: {}",
        text(&conffiles)
    );
    let unit = std::fs::read_to_string(UNIT).expect("unit");
    assert!(
        unit.contains(&format!("ExecStart={BINARY} run ")),
        "the unit runs the packaged binary: {unit}"
    );
    let (uid, gid, shell) = passwd(USER).expect("postinst created the service user");
    assert!(uid < 1000, "{USER} is a system user (uid {uid})");
    assert_eq!(shell, "/usr/sbin/nologin");
    assert!(group_exists(USER), "postinst created the group {USER}");
    let state = std::fs::metadata(STATE).expect("state directory");
    assert!(state.is_dir());
    assert_eq!(state.mode() & 0o7777, 0o700, "{STATE} mode");
    assert_eq!((state.uid(), state.gid()), (uid, gid), "{STATE} owner");
    for page in PAGES {
        let path = format!("{MAN_DIR}/{page}.1.gz");
        assert_file(&path, 0o644, 0, 0);
        let roff = run(Command::new("gzip").args(["-dc", &path]));
        assert!(roff.status.success(), "{path}: {}", text(&roff));
        assert!(
            String::from_utf8_lossy(&roff.stdout).contains(&format!(".TH {page} 1")),
            "{path} is the page of {page}"
        );
    }
    assert!(
        !Path::new(&format!("{MAN_DIR}/dnsrare-man.1.gz")).exists(),
        "the hidden man subcommand has no page"
    );
    assert!(
        !Path::new(WANTS_LINK).exists(),
        "the service is not enabled by the package"
    );

    verify_unit();

    // Installing again (an upgrade takes the same path) keeps an edited
    // conffile and the user, and says nothing more about iface.
    let edited = "iface = [\"eth1\"]\n";
    std::fs::write(CONFIG, edited).expect("edit the configuration");
    let out = run(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(out.status.success(), "dpkg -i again: {}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not enabled"));
    assert_eq!(std::fs::read_to_string(CONFIG).expect("config"), edited);
    assert_eq!(passwd(USER).map(|p| p.0), Some(uid), "the same user");
    assert_eq!(
        std::fs::metadata(STATE).expect("state").mode() & 0o7777,
        0o700
    );

    // The installed binary runs, with the XDP program in it.
    let version = run(Command::new(BINARY).arg("--version"));
    assert!(version.status.success(), "{}", text(&version));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("dnsrare {}", env!("CARGO_PKG_VERSION"))
    );
    pcap_report();

    // Purge: every file, the state, the user and the group go.
    let out = package.purge();
    assert!(out.status.success(), "dpkg --purge: {}", text(&out));
    assert!(!package_present(), "dpkg still lists {PACKAGE}");
    for path in [BINARY, UNIT, CONFIG, "/etc/dnsrare", STATE] {
        assert!(!Path::new(path).exists(), "{path} is left after purge");
    }
    for page in PAGES {
        let path = format!("{MAN_DIR}/{page}.1.gz");
        assert!(!Path::new(&path).exists(), "{path} is left after purge");
    }
    assert!(
        passwd(USER).is_none(),
        "the user {USER} is left after purge"
    );
    assert!(!group_exists(USER), "the group {USER} is left after purge");
}

/// The installed package; purged on drop, so a failed check leaves nothing.
struct Installed {
    purged: bool,
}

impl Installed {
    fn new() -> Self {
        Self { purged: false }
    }

    fn purge(mut self) -> Output {
        self.purged = true;
        run(Command::new("dpkg").args(["--purge", PACKAGE]))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.purged {
            let out = run(Command::new("dpkg").args(["--purge", PACKAGE]));
            eprintln!("cleanup: dpkg --purge {PACKAGE}: {}", out.status);
        }
    }
}

/// `systemd-analyze verify` on the installed unit, when it can run here.
fn verify_unit() {
    let usable = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        eprintln!("systemd-analyze is not usable here, so the installed unit is not verified");
        return;
    }
    let out = run(Command::new("systemd-analyze").args(["verify", "--recursive-errors=no", UNIT]));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify {UNIT}: {}",
        text(&out)
    );
}

/// The installed binary's report of a shared capture, read in place.
fn pcap_report() {
    let Some(data) = shared_data("package_installs_runs_and_purges_cleanly (pcap)") else {
        return;
    };
    let pcap = data.join("pcaps/benign_zeek_wikipedia.pcap");
    if !pcap.is_file() {
        eprintln!(
            "{} is absent, so the pcap report is not checked",
            pcap.display()
        );
        return;
    }
    let out = run(Command::new(BINARY)
        .args(["pcap", "--no-progress"])
        .arg(&pcap));
    assert_eq!(out.status.code(), Some(0), "dnsrare pcap: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("capture: 136 packets, 14 queries, 14 responses, 0 lost"),
        "first line: {first}"
    );
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_file(path: &str, mode: u32, uid: u32, gid: u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(meta.is_file(), "{path} is a file");
    assert_eq!(meta.mode() & 0o7777, mode, "{path} mode {:o}", meta.mode());
    assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{path} owner");
}

fn package_present() -> bool {
    let out = run(Command::new("dpkg-query").args(["--show", "--showformat=${Status}", PACKAGE]));
    let status = String::from_utf8_lossy(&out.stdout);
    out.status.success() && (status.ends_with(" installed") || status.contains("config-files"))
}

/// The uid, gid and shell of `user`.
fn passwd(user: &str) -> Option<(u32, u32, String)> {
    let out = run(Command::new("getent").args(["passwd", user]));
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let fields: Vec<&str> = line.split(':').collect();
    Some((
        fields.get(2)?.parse().ok()?,
        fields.get(3)?.parse().ok()?,
        (*fields.get(6)?).to_owned(),
    ))
}

fn group_exists(group: &str) -> bool {
    run(Command::new("getent").args(["group", group]))
        .status
        .success()
}
