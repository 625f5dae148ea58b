//! Deployment: the installed systemd unit verifies, the configuration file
//! is checked before anything is attached, gateway and mirror modes, several
//! interfaces, an interface that already runs XDP, the program gone on
//! SIGKILL, privileges dropped, the socket guarded by its group.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, UdpSocket},
    os::unix::{fs::MetadataExt, fs::PermissionsExt, net::UnixStream, process::CommandExt},
    process::Command,
    time::{Duration, Instant},
};

use dnsrare_tests::{Daemon, dnsrare_bin, queries_of, send_queries, wait_for};
use traffic::{dns, netns::Lab};

#[test]
fn installed_unit_verifies_and_config_is_written_once() {
    let root = tempfile::tempdir().expect("tempdir");
    let install = || {
        Command::new(dnsrare_bin())
            .args(["install", "--root"])
            .arg(root.path())
            .output()
            .expect("run install")
    };
    let out = install();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = root.path().join("etc/systemd/system/dnsrare.service");
    let config = root.path().join("etc/dnsrare/dnsrare.toml");
    assert!(root.path().join("usr/local/bin/dnsrare").is_file());
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--recursive-errors=no"])
        .arg(format!("--root={}", root.path().display()))
        .arg(&unit)
        .output()
        .expect("systemd-analyze");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // An edited configuration survives a reinstall.
    std::fs::write(&config, "iface = [\"eth1\"]\n").expect("edit");
    let out = install();
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept"));
    assert_eq!(
        std::fs::read_to_string(&config).expect("read"),
        "iface = [\"eth1\"]\n"
    );
    // The shipped configuration is valid as it is (all commented out).
    let shipped = root.path().join("shipped.toml");
    std::fs::write(
        &shipped,
        include_str!("../../capture-user/data/dnsrare.toml"),
    )
    .expect("write");
    let out = Command::new(dnsrare_bin())
        .args(["run", "--config"])
        .arg(&shipped)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no interface to capture on"), "{err}");
}

#[test]
fn config_file_runs_the_daemon_and_bad_keys_stop_it_before_attaching() {
    let lab = Lab::new().expect("lab");
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            "iface = [\"{}\"]\nshards = 1\nmax-memory = \"64MiB\"\nsnapshot-interval = 5\n",
            lab.gateway_if
        ),
    )
    .expect("write");
    let daemon = Daemon::start_in(
        &lab,
        &dir.path().join("state"),
        &["--config", good.to_str().expect("utf-8")],
    );
    send_queries(&lab, lab.gateway_ip, &["configured.example.com"], 2);
    let report = daemon.wait_counted(2, 10);
    assert_eq!(queries_of(&report, "configured.example.com"), Some(2));
    let stats = daemon.stats();
    assert_eq!(stats["shards"].as_array().expect("shards").len(), 1);
    assert_eq!(stats["shards"][0]["budget_bytes"], 64 << 20);
    drop(daemon);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!(
            "iface = \"{}\"\n# a comment\nmax-memroy = \"64MiB\"\n",
            lab.gateway_if
        ),
    )
    .expect("write");
    let out = lab
        .gateway_command(dnsrare_bin())
        .args(["run", "--config"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3: max-memroy: unknown key"), "{err}");
    assert!(
        !lab.has_xdp(&lab.gateway_if).expect("ip link"),
        "nothing attached"
    );
}

#[test]
fn gateway_mode_passes_traffic_and_mirror_mode_drops_it_after_counting() {
    for (mode, passes) in [("gateway", true), ("mirror", false)] {
        let lab = Lab::new().expect("lab");
        // A mirror port sees copies: no ARP needed (its replies are dropped).
        lab.pin_gateway_neighbor().expect("static neighbour");
        let daemon = Daemon::start(&lab, &["--mode", mode]);
        let gw = lab.gateway_ip;
        let sink = lab
            .in_gateway(|| UdpSocket::bind((gw, 9999)).expect("bind"))
            .expect("gateway namespace");
        sink.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        lab.in_client(|| {
            let s = UdpSocket::bind("0.0.0.0:0").expect("socket");
            s.send_to(&dns::query(1, "mode.example.com", 1), (gw, 53))
                .expect("send");
            s.send_to(b"ordinary", (gw, 9999)).expect("send");
        })
        .expect("client namespace");
        let mut buf = [0u8; 64];
        assert_eq!(sink.recv_from(&mut buf).is_ok(), passes, "{mode}");
        let report = daemon.wait_counted(1, 10);
        assert_eq!(
            queries_of(&report, "mode.example.com"),
            Some(1),
            "{mode}: counted either way"
        );
    }
}

#[test]
fn one_daemon_on_several_interfaces_and_none_on_a_taken_one() {
    let lab = Lab::new().expect("lab");
    let (gw2, _) = lab.add_pair(7).expect("second pair");
    let first = Daemon::start(&lab, &["--iface", &gw2]);
    send_queries(&lab, lab.gateway_ip, &["first.example.com"], 1);
    send_queries(
        &lab,
        "10.53.7.1".parse().expect("literal"),
        &["second.example.com"],
        1,
    );
    let report = first.wait_counted(2, 10);
    assert_eq!(queries_of(&report, "first.example.com"), Some(1));
    assert_eq!(queries_of(&report, "second.example.com"), Some(1));
    let stats = first.stats();
    assert_eq!(stats["interfaces"].as_array().expect("interfaces").len(), 2);

    // A second daemon on the same interface: refused, the first unharmed.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lab
        .gateway_command(dnsrare_bin())
        .args(["run", "--iface", &lab.gateway_if, "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already has an XDP program attached"), "{err}");
    assert!(lab.has_xdp(&lab.gateway_if).expect("ip link"));
    send_queries(&lab, lab.gateway_ip, &["still.example.com"], 1);
    let report = first.wait_counted(3, 10);
    assert_eq!(queries_of(&report, "still.example.com"), Some(1));

    // A second daemon on the first one's socket (another interface): refused.
    let (gw3, _) = lab.add_pair(8).expect("third pair");
    let out = lab
        .gateway_command(dnsrare_bin())
        .args(["run", "--iface", &gw3, "--socket"])
        .arg(&first.socket)
        .arg("--state-dir")
        .arg(dir.path().join("state2"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another dnsrare daemon is already serving"),
        "{err}"
    );
    assert!(
        !lab.has_xdp(&gw3).expect("ip link"),
        "its program was detached on the way out"
    );
    assert!(first.cli(&["stats"]).status.success());
}

#[test]
fn sigkill_takes_the_program_away_and_a_stale_socket_is_replaced() {
    let lab = Lab::new().expect("lab");
    let daemon = Daemon::start(&lab, &[]);
    assert!(lab.has_xdp(&lab.gateway_if).expect("ip link"));
    daemon.kill();
    wait_for("the XDP link to go", Duration::from_secs(5), || {
        (!lab.has_xdp(&lab.gateway_if).expect("ip link")).then_some(())
    });
    // A socket file nobody answers on (as a killed daemon leaves behind)
    // is replaced by the next daemon.
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
    assert!(socket.exists());
    let state = dir.path().join("state");
    let out = lab
        .gateway_command(dnsrare_bin())
        .args(["run", "--iface", &lab.gateway_if, "--socket"])
        .arg(&socket)
        .arg("--state-dir")
        .arg(&state)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run");
    let mut child = out;
    wait_for("the new daemon", Duration::from_secs(20), || {
        Command::new(dnsrare_bin())
            .args(["stats", "--socket"])
            .arg(&socket)
            .output()
            .expect("stats")
            .status
            .success()
            .then_some(())
    });
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().expect("wait").success());
}

fn proc_status(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .expect("field")
        .trim()
        .to_owned()
}

#[test]
fn privileges_are_dropped_and_the_socket_serves_only_its_group() {
    let lab = Lab::new().expect("lab");
    let daemon = Daemon::start(
        &lab,
        &[
            "--user",
            "nobody",
            "--socket-group",
            "4242",
            "--snapshot-interval",
            "1",
        ],
    );
    let pid = daemon.pid();
    assert!(
        proc_status(pid, "Uid")
            .split_whitespace()
            .all(|u| u == "65534")
    );
    for caps in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
        assert_eq!(proc_status(pid, caps), "0000000000000000", "{caps}");
    }
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    let meta = std::fs::metadata(&daemon.socket).expect("socket");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (0, 4242, 0o660)
    );

    // Counting and snapshots go on as nobody.
    send_queries(&lab, lab.gateway_ip, &["dropped.example.com"], 3);
    daemon.wait_counted(3, 10);
    let snap = daemon.dir().join("state/state.snap");
    wait_for(
        "a snapshot written as nobody",
        Duration::from_secs(10),
        || {
            std::fs::metadata(&snap)
                .ok()
                .filter(|m| m.uid() == 65534)
                .map(drop)
        },
    );

    std::fs::set_permissions(daemon.dir(), std::fs::Permissions::from_mode(0o755))
        .expect("open the socket directory");
    let as_nobody = |groups: &'static [libc::gid_t]| {
        let mut cmd = Command::new(dnsrare_bin());
        cmd.args(["report", "--json", "--socket"])
            .arg(&daemon.socket);
        // SAFETY: only async-signal-safe calls between fork and exec:
        // groups, then gid, then uid (after which nothing else may change).
        unsafe {
            cmd.pre_exec(move || {
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.output().expect("run as nobody")
    };
    let refused = as_nobody(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Permission denied"));
    let served = as_nobody(&[4242]);
    assert!(
        served.status.success(),
        "{}",
        String::from_utf8_lossy(&served.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&served.stdout).expect("JSON");
    assert_eq!(queries_of(&report, "dropped.example.com"), Some(3));
}

#[test]
fn socket_survives_garbage_oversize_and_half_open_clients() {
    let lab = Lab::new().expect("lab");
    let daemon = Daemon::start(&lab, &[]);
    let exchange = |bytes: &[u8]| -> String {
        let mut s = UnixStream::connect(&daemon.socket).expect("connect");
        let _ = s.write_all(bytes);
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).expect("answer");
        answer
    };
    assert!(exchange(b"\x00\xff not json\n").contains("malformed request"));
    assert!(exchange(b"{\"request\":\"nope\"}\n").contains("malformed request"));
    let oversize = vec![b'x'; 70 * 1024];
    assert!(exchange(&oversize).contains("longer than 65536 bytes"));

    // A client that sends half a request and waits holds nobody up.
    let mut half = UnixStream::connect(&daemon.socket).expect("connect");
    half.write_all(b"{\"request\":").expect("write");
    let start = Instant::now();
    assert!(daemon.cli(&["stats"]).status.success());
    assert!(start.elapsed() < Duration::from_secs(2), "served at once");
    // It is cut off after the client timeout.
    half.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = half.read_to_end(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(9));
    assert!(daemon.cli(&["stats"]).status.success());
}

#[test]
fn a_full_ring_counts_its_losses_and_the_daemon_recovers() {
    let lab = Lab::new().expect("lab");
    // 4 KiB holds a dozen events: a burst overruns it.
    let daemon = Daemon::start(&lab, &["--ring-kib", "4"]);
    let gw = SocketAddr::new(std::net::IpAddr::V4(lab.gateway_ip), 53);
    let frames: Vec<Vec<u8>> = (0..3000u16)
        .map(|i| {
            traffic::frame::Frame::udp(
                "10.9.9.9:4000".parse().expect("literal"),
                gw,
                dns::query(i, &format!("burst{i}.example.com"), 1),
            )
            .bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    lab.in_client(|| {
        traffic::sender::RawSender::open(&lab.client_if)
            .expect("raw socket")
            .send_all(&refs)
            .expect("send")
    })
    .expect("client namespace");
    let report = wait_for("the burst to be accounted", Duration::from_secs(10), || {
        let r = daemon.report(10);
        let c = &r["capture"];
        (c["queries"].as_u64()? + c["lost"].as_u64()? == 3000 && c["counted"] == c["queries"])
            .then_some(r)
    });
    let lost = report["capture"]["lost"].as_u64().expect("lost");
    assert!(lost > 0, "a 4 KiB ring cannot take a 3000-query burst");
    let table = String::from_utf8(daemon.cli(&["report"]).stdout).expect("utf-8");
    assert!(
        table.contains(&format!(
            "warning: {lost} events were lost (ring buffer full)"
        )),
        "{table}"
    );
    // The program says so itself, once per CPU, through aya-log.
    wait_for("the program's warning", Duration::from_secs(5), || {
        daemon
            .log()
            .contains("ring buffer full: DNS events are being lost")
            .then_some(())
    });
    // Paced traffic afterwards is counted in full.
    let before = report["capture"]["queries"].as_u64().expect("queries");
    for _ in 0..20 {
        send_queries(&lab, lab.gateway_ip, &["after.example.com"], 1);
        std::thread::sleep(Duration::from_millis(5));
    }
    let after = daemon.wait_counted(before + 20, 100_000);
    assert_eq!(queries_of(&after, "after.example.com"), Some(20));
    assert_eq!(after["capture"]["lost"].as_u64(), Some(lost));
}

#[test]
fn unwritable_state_dir_is_reported_capture_goes_on_and_snapshots_resume() {
    let lab = Lab::new().expect("lab");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state dir");
    // Read-only for its owner (root); the daemon drops CAP_DAC_OVERRIDE.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o500)).expect("chmod");
    let daemon = Daemon::start_in(&lab, &state, &["--snapshot-interval", "1"]);
    send_queries(&lab, lab.gateway_ip, &["kept.example.com"], 2);
    daemon.wait_counted(2, 10);
    let failed = wait_for("a failed snapshot", Duration::from_secs(10), || {
        daemon.stats()["snapshot"]["error"]
            .as_str()
            .map(str::to_owned)
    });
    assert!(failed.contains("Permission denied"), "{failed}");
    let text = String::from_utf8(daemon.cli(&["stats"]).stdout).expect("utf-8");
    assert!(text.contains("last snapshot failed"), "{text}");
    // Capture goes on meanwhile.
    send_queries(&lab, lab.gateway_ip, &["kept.example.com"], 1);
    daemon.wait_counted(3, 10);
    // Writable again: the next interval's snapshot succeeds.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    wait_for(
        "a snapshot after the retry",
        Duration::from_secs(10),
        || {
            let s = daemon.stats();
            (s["snapshot"]["error"].is_null() && s["snapshot"]["written_ns"].as_u64() > Some(0))
                .then_some(())
        },
    );
    assert!(state.join("state.snap").exists());
}
