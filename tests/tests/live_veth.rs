//! End to end on a veth pair: `dnsrare run` with the real XDP program in a
//! lab's gateway namespace, real DNS traffic from the client namespace
//! (kernel UDP sockets and crafted frames), exact counts through the CLI.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    time::Duration,
};

use dnsrare_tests::{Daemon, dnsrare_bin};
use traffic::{
    dns,
    frame::{Frame, Ipv6Ext, TPID_8021AD, TPID_8021Q},
    netns::Lab,
    sender::RawSender,
};

/// (name, host) → queries, from a report's rows.
fn counts(report: &serde_json::Value) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for row in report["rows"].as_array().expect("rows") {
        let name = row["name"].as_str().expect("name").to_owned();
        for host in row["hosts"].as_array().expect("hosts") {
            out.insert(
                (
                    name.clone(),
                    host["addr"].as_str().expect("addr").to_owned(),
                ),
                host["queries"].as_u64().expect("queries"),
            );
        }
    }
    out
}

#[test]
fn live_queries_are_counted_exactly_and_traffic_still_flows() {
    let lab = Lab::new().expect("lab");
    let daemon = Daemon::start(&lab, &["--shards", "2"]);
    let gw4 = lab.gateway_ip;
    let gw6 = lab.gateway_ip6;

    // A DNS "server" socket in the gateway namespace: queries must still
    // reach it while the program is attached (XDP_PASS).
    let server = lab
        .in_gateway(|| UdpSocket::bind((gw4, 53)).expect("bind :53"))
        .expect("gateway namespace");
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");

    // Real sockets from the client namespace.
    lab.in_client(|| {
        let s = UdpSocket::bind("0.0.0.0:0").expect("udp socket");
        for (name, n) in [("alpha.example.com", 3), ("beta.example.org", 1)] {
            for i in 0..n {
                s.send_to(&dns::query(i, name, dns::QTYPE_A), (gw4, 53))
                    .expect("send");
            }
        }
        let s6 = UdpSocket::bind("[::]:0").expect("udp6 socket");
        for i in 0..2 {
            s6.send_to(
                &dns::query(i, "six.example.net", dns::QTYPE_AAAA),
                (gw6, 53),
            )
            .expect("send6");
        }
    })
    .expect("client namespace");
    let mut buf = [0u8; 512];
    for _ in 0..4 {
        let (n, _) = server.recv_from(&mut buf).expect("query reached :53");
        assert!(n > 12);
    }

    // Crafted frames from other hosts, through a raw socket.
    let host = |s: &str| -> SocketAddr { s.parse().expect("literal") };
    let dst = SocketAddr::new(IpAddr::V4(gw4), 53);
    let frames = [
        Frame::udp(
            host("10.7.0.5:5000"),
            dst,
            dns::query(1, "vlan.example.com", 1),
        )
        .vlan(TPID_8021Q, 7)
        .bytes(),
        Frame::udp(
            host("10.7.0.6:5000"),
            dst,
            dns::query(2, "qinq.example.com", 1),
        )
        .vlan(TPID_8021AD, 10)
        .vlan(TPID_8021Q, 20)
        .bytes(),
        Frame::udp(
            host("10.7.0.6:5001"),
            dst,
            dns::query_edns(3, "Alpha.Example.Com", 1, 1232),
        )
        .bytes(),
        {
            let mut f = Frame::udp(
                host("[fd00:77::9]:5000"),
                SocketAddr::new(IpAddr::V6(gw6), 53),
                dns::query(4, "ext.example.net", 28),
            );
            f.ipv6_ext = vec![Ipv6Ext::HopByHop(0), Ipv6Ext::DestinationOptions(1)];
            f.bytes()
        },
        // A malformed query: one parse error, no name.
        Frame::udp(
            host("10.7.0.5:5002"),
            dst,
            dns::query_wire(5, b"\x03www\xc0\x0c", 1),
        )
        .bytes(),
        // A response to a client: not a query.
        Frame::udp(
            dst,
            host("10.7.0.5:5000"),
            dns::response(1, "vlan.example.com", 1, 0, &[]),
        )
        .bytes(),
    ];
    lab.in_client(|| {
        let sender = RawSender::open(&lab.client_if).expect("raw socket");
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        sender.send_all(&refs).expect("send frames");
    })
    .expect("client namespace");

    // Ordinary TCP still crosses both ways while the program is attached.
    let listener = lab
        .in_gateway(|| TcpListener::bind((gw4, 8080)).expect("listen"))
        .expect("gateway namespace");
    let echo = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut b = [0u8; 5];
        conn.read_exact(&mut b).expect("read");
        conn.write_all(&b).expect("write");
    });
    lab.in_client(|| {
        let mut c = TcpStream::connect((gw4, 8080)).expect("connect through the veth");
        c.write_all(b"hello").expect("write");
        let mut b = [0u8; 5];
        c.read_exact(&mut b).expect("echo");
        assert_eq!(&b, b"hello");
    })
    .expect("client namespace");
    echo.join().expect("echo thread");

    let report = daemon.wait_counted(10, 100);
    let client4 = lab.client_ip.to_string();
    let client6 = lab.client_ip6.to_string();
    let expected: BTreeMap<(String, String), u64> = [
        (("alpha.example.com", client4.as_str()), 3),
        (("alpha.example.com", "10.7.0.6"), 1),
        (("beta.example.org", client4.as_str()), 1),
        (("six.example.net", client6.as_str()), 2),
        (("vlan.example.com", "10.7.0.5"), 1),
        (("qinq.example.com", "10.7.0.6"), 1),
        (("ext.example.net", "fd00:77::9"), 1),
    ]
    .into_iter()
    .map(|((n, h), c)| ((n.to_owned(), h.to_owned()), c))
    .collect();
    assert_eq!(counts(&report), expected);

    let capture = &report["capture"];
    assert_eq!(capture["queries"], 10);
    assert_eq!(capture["counted"], 10);
    assert_eq!(capture["lost"], 0);
    assert_eq!(capture["parse_errors"], 1);
    assert_eq!(capture["parse_errors_by_reason"]["compression_pointer"], 1);
    assert_eq!(capture["responses"], 1);
    assert_eq!(report["names"], 6);

    // Least queried first, ties by name.
    let order: Vec<&str> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        order,
        [
            "beta.example.org",
            "ext.example.net",
            "qinq.example.com",
            "vlan.example.com",
            "six.example.net",
            "alpha.example.com"
        ]
    );

    // `hosts NAME` agrees.
    let out = daemon.cli(&["hosts", "ALPHA.example.com", "--json"]);
    assert!(out.status.success());
    let hosts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("hosts JSON");
    assert_eq!(hosts["queries"], 4);
    assert_eq!(hosts["hosts"][0]["addr"], client4.as_str());
    assert_eq!(hosts["hosts"][0]["queries"], 3);

    // The table of names names the same rows.
    let table = daemon.cli(&["report", "--by", "name"]);
    let text = String::from_utf8(table.stdout).expect("utf-8");
    assert!(text.contains("10 queries"), "{text}");
    assert!(text.contains("alpha.example.com"), "{text}");

    // The daemon's report as a page: the histogram comes from its shards.
    let page = daemon.dir().join("report.html");
    let out = daemon.cli(&["report", "--html", page.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&page).expect("the page");
    assert!(page.contains("id=\"histogram\""), "{page}");
    assert!(page.contains("class=\"bar rare\""), "{page}");

    let socket = daemon.socket.clone();
    let status = daemon.stop();
    assert!(status.success(), "dnsrare run exit: {status}");
    assert!(!socket.exists(), "the socket is removed on exit");
}

#[test]
fn cli_without_daemon_says_so_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(dnsrare_bin())
        .args(["report", "--socket"])
        .arg(dir.path().join("none.sock"))
        .output()
        .expect("run dnsrare");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach the daemon"), "{err}");
}

#[test]
fn run_refuses_a_missing_interface() {
    let lab = Lab::new().expect("lab");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lab
        .gateway_command(dnsrare_bin())
        .args(["run", "--iface", "nosuch0", "--socket"])
        .arg(dir.path().join("s.sock"))
        .output()
        .expect("run dnsrare");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert!(err.contains("no such interface: nosuch0"), "{err}");
}

/// The allow list applies to each report: editing the file changes the
/// next report without a restart, both when its modification time changes
/// and, for an edit that keeps time, size and inode, on SIGHUP.
#[test]
fn an_edited_allow_list_changes_the_next_report() {
    let lab = Lab::new().expect("lab");
    let dir = tempfile::tempdir().expect("tempdir");
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "# nothing yet\n").expect("write");
    let allow_arg = allow.to_str().expect("utf-8");
    let daemon = Daemon::start(&lab, &["--shards", "2", "--allow", allow_arg]);
    dnsrare_tests::send_queries(
        &lab,
        lab.gateway_ip,
        &["alpha.example.com", "beta.example.org"],
        2,
    );
    daemon.wait_counted(4, 50);
    let names = |r: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = r["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| row["name"].as_str().expect("name").to_owned())
            .collect();
        v.sort();
        v
    };
    let by_name = || daemon.report_with(&["--by", "name"]);
    let first = by_name();
    assert_eq!(names(&first), ["alpha.example.com", "beta.example.org"]);
    assert_eq!(first["allow_hidden"]["names"], 0);

    // A new modification time: the next report reads the file again.
    std::fs::write(&allow, "alpha.example.com\n").expect("write");
    let hidden = by_name();
    assert_eq!(names(&hidden), ["beta.example.org"]);
    assert_eq!(hidden["allow_hidden"]["names"], 1);

    // Same size, same inode, and the old modification time put back: only
    // SIGHUP tells the daemon.
    let stamp = std::fs::metadata(&allow)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::fs::write(&allow, "*.example.org    \n").expect("write");
    std::fs::File::options()
        .write(true)
        .open(&allow)
        .and_then(|f| f.set_modified(stamp))
        .expect("set mtime");
    assert_eq!(names(&by_name()), ["beta.example.org"], "not reread yet");
    // SAFETY: signalling the daemon this test started.
    unsafe { libc::kill(daemon.pid() as i32, libc::SIGHUP) };
    let reread = dnsrare_tests::wait_for(
        "the report to follow the reread list",
        Duration::from_secs(10),
        || {
            let r = by_name();
            (names(&r) == ["alpha.example.com"]).then_some(r)
        },
    );
    assert_eq!(reread["allow_hidden"]["names"], 1);
    assert!(
        daemon
            .log()
            .contains("reread the allow and deny lists (SIGHUP)"),
        "{}",
        daemon.log()
    );
    // A bad edit keeps the lists in use and says why.
    std::fs::write(&allow, "bad..example\n").expect("write");
    assert_eq!(names(&by_name()), ["alpha.example.com"]);
    assert!(
        daemon.log().contains(":1: allow list: empty label"),
        "{}",
        daemon.log()
    );
    assert!(daemon.stop().success());
}

/// Scrapes `http://addr/metrics` from the lab's client namespace.
fn scrape(lab: &Lab, addr: SocketAddr) -> String {
    lab.in_client(|| {
        let mut s = TcpStream::connect(addr).expect("connect to the metrics port");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: dnsrare\r\n\r\n")
            .expect("request");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("response");
        out
    })
    .expect("client namespace")
}

/// Every sample of a Prometheus text exposition, by metric name and
/// labels (sorted `k=v` pairs), parsed with `prometheus-parse`.
fn samples(text: &str) -> BTreeMap<(String, String), f64> {
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let mut labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("{}: unexpected {other:?}", s.metric),
            };
            ((s.metric, labels.join(",")), value)
        })
        .collect()
}

/// `--metrics ADDR` serves the daemon's figures over HTTP in the
/// Prometheus text format, and `dnsrare stats --prometheus` prints the same.
#[test]
fn metrics_are_served_for_prometheus() {
    let lab = Lab::new().expect("lab");
    let addr = SocketAddr::new(IpAddr::V4(lab.gateway_ip), 9153);
    let daemon = Daemon::start(&lab, &["--shards", "2", "--metrics", &addr.to_string()]);
    dnsrare_tests::send_queries(
        &lab,
        lab.gateway_ip,
        &["m1.example.com", "m2.example.org"],
        2,
    );
    daemon.wait_counted(4, 50);
    let reports = daemon.stats()["reports"]["count"].as_u64().expect("count");
    assert!(reports >= 1);

    let http = scrape(&lab, addr);
    let (head, body) = http.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let m = samples(body);
    let get = |name: &str, labels: &str| -> f64 {
        *m.get(&(name.to_owned(), labels.to_owned()))
            .unwrap_or_else(|| panic!("{name}{{{labels}}} missing in\n{body}"))
    };
    let sum = |name: &str| -> f64 {
        m.iter()
            .filter(|((n, _), _)| n == name)
            .map(|(_, v)| v)
            .sum()
    };
    assert_eq!(get("dnsrare_queries_total", ""), 4.0);
    assert_eq!(get("dnsrare_counted_queries_total", ""), 4.0);
    assert_eq!(get("dnsrare_responses_total", ""), 0.0);
    assert_eq!(get("dnsrare_lost_events_total", ""), 0.0);
    assert!(get("dnsrare_packets_total", "") >= 4.0);
    for reason in [
        "truncated",
        "bad_label",
        "name_too_long",
        "compression_pointer",
        "other",
    ] {
        assert_eq!(
            get("dnsrare_parse_errors_total", &format!("reason={reason}")),
            0.0
        );
    }
    assert_eq!(sum("dnsrare_engine_names"), 2.0);
    assert_eq!(sum("dnsrare_engine_pairs"), 2.0);
    assert_eq!(sum("dnsrare_engine_domains"), 2.0);
    assert!(m.contains_key(&("dnsrare_engine_memory_bytes".into(), "shard=1".into())));
    assert_eq!(sum("dnsrare_interface_info"), 1.0);
    assert!(m.keys().any(|(n, l)| n == "dnsrare_interface_info"
        && l.contains(&format!("interface={}", lab.gateway_if))));
    assert!(get("dnsrare_report_duration_seconds_count", "") >= reports as f64);
    assert!(get("dnsrare_report_duration_seconds_sum", "") > 0.0);

    // The same, printed once.
    let out = daemon.cli(&["stats", "--prometheus"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = samples(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        printed.keys().collect::<Vec<_>>(),
        m.keys().collect::<Vec<_>>(),
        "the same metrics"
    );
    assert_eq!(
        printed[&("dnsrare_queries_total".to_owned(), String::new())],
        4.0
    );
    assert!(daemon.stop().success());
}
