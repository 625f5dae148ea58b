//! End to end with a real resolver: Debian's dnsmasq in a lab's gateway
//! namespace, answering from local records (a CNAME chain, an address, an
//! NXDOMAIN zone) and forwarding one zone upstream to a tiny responder in
//! the client namespace, with `dnsrare run` attached to the gateway's veth
//! end. The clients' queries arrive (XDP); dnsmasq's answers leave (TC
//! egress): both are counted once each, per direction, and the gateway's
//! own upstream query is shown as the gateway's.

use std::{
    net::{Ipv4Addr, UdpSocket},
    process::{Child, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use dnsrare_tests::{Daemon, wait_for};
use traffic::{dns, netns::Lab};

/// dnsmasq in the lab's gateway namespace, killed when dropped (also when
/// the test fails).
struct Dnsmasq {
    child: Child,
    dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// Starts dnsmasq on the gateway's address, port 53, with the lab's
    /// zone; `upstream` answers the `up.test` zone.
    fn start(lab: &Lab, upstream: Ipv4Addr) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let child = lab
            .gateway_command("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--user=root",
                "--bind-interfaces",
                "--port=53",
                "--log-queries",
            ])
            .arg(format!("--listen-address={}", lab.gateway_ip))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!(
                "--log-facility={}",
                dir.path().join("log").display()
            ))
            .args([
                "--host-record=target.lab.test,192.0.2.10",
                "--cname=edge.lab.test,target.lab.test",
                "--cname=www.lab.test,edge.lab.test",
                "--address=/addr.lab.test/192.0.2.44",
                "--local=/nx.test/",
            ])
            .arg(format!("--server=/up.test/{upstream}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dnsmasq (cargo xtask setup installs dnsmasq-base)");
        Self { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-record upstream server on the client's address, port 53, for the
/// zone dnsmasq forwards; stops when dropped.
struct Upstream {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Upstream {
    fn start(lab: &Lab) -> Self {
        let socket = lab
            .in_client(|| UdpSocket::bind((lab.client_ip, 53)).expect("bind the upstream :53"))
            .expect("client namespace");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut answered = 0;
                let mut buf = [0u8; 512];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some(reply) = answer(&buf[..n]) {
                        socket.send_to(&reply, from).expect("upstream reply");
                        answered += 1;
                    }
                }
                answered
            })
        };
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the server; returns how many queries it answered.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("upstream thread")
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An A answer (192.0.2.99) to a plain query, echoing its id and name.
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    let id = u16::from_be_bytes([*query.first()?, *query.get(1)?]);
    let mut at = 12;
    let mut labels = Vec::new();
    while *query.get(at)? != 0 {
        let len = usize::from(query[at]);
        labels.push(String::from_utf8_lossy(query.get(at + 1..at + 1 + len)?).into_owned());
        at += len + 1;
    }
    Some(dns::response(
        id,
        &labels.join("."),
        dns::QTYPE_A,
        dns::RCODE_NOERROR,
        &[Ipv4Addr::new(192, 0, 2, 99)],
    ))
}

/// A client socket in the lab's client namespace.
fn client(lab: &Lab) -> UdpSocket {
    let s = lab
        .in_client(|| UdpSocket::bind((lab.client_ip, 0)).expect("client socket"))
        .expect("client namespace");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    s
}

/// Asks the resolver for `name` (A) and returns the answer's RCODE.
fn ask(lab: &Lab, s: &UdpSocket, id: u16, name: &str) -> u8 {
    s.send_to(&dns::query(id, name, dns::QTYPE_A), (lab.gateway_ip, 53))
        .expect("send");
    let mut buf = [0u8; 1500];
    let (n, _) = s
        .recv_from(&mut buf)
        .unwrap_or_else(|e| panic!("no answer from dnsmasq for {name}: {e}"));
    assert!(n >= 12, "short answer");
    assert_eq!(u16::from_be_bytes([buf[0], buf[1]]), id);
    buf[3] & 0x0f
}

/// Waits until dnsmasq answers (before the daemon runs, so nothing of it
/// is counted).
fn wait_ready(lab: &Lab, dnsmasq: &Dnsmasq) {
    let s = client(lab);
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    wait_for(
        "dnsmasq to answer",
        Duration::from_secs(10),
        || -> Option<()> {
            s.send_to(
                &dns::query(1, "addr.lab.test", dns::QTYPE_A),
                (lab.gateway_ip, 53),
            )
            .ok()?;
            let mut buf = [0u8; 512];
            s.recv_from(&mut buf).ok().map(|_| ())
        },
    );
    assert!(
        dnsmasq.log().contains("started"),
        "dnsmasq log: {}",
        dnsmasq.log()
    );
}

fn row<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from the report: {report:#}"))
}

/// Names of the TC egress programs attached (TCX) to the lab's gateway
/// interface.
fn egress_programs(lab: &Lab) -> Vec<String> {
    lab.in_gateway(|| {
        let (_, programs) = aya::programs::SchedClassifier::query_tcx(
            &lab.gateway_if,
            aya::programs::TcAttachType::Egress,
        )
        .expect("querying the interface's TCX egress programs");
        programs
            .iter()
            .map(|p| p.name_as_str().unwrap_or("?").to_owned())
            .collect()
    })
    .expect("gateway namespace")
}

/// `host`'s query count in `row`, if listed.
fn host_queries(row: &serde_json::Value, host: &str) -> Option<u64> {
    row["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|h| h["addr"] == host)
        .map(|h| h["queries"].as_u64().expect("queries"))
}

#[test]
fn resolver_answers_leave_by_egress_and_are_counted_once() {
    let lab = Lab::new().expect("lab");
    let upstream = Upstream::start(&lab);
    let dnsmasq = Dnsmasq::start(&lab, lab.client_ip);
    wait_ready(&lab, &dnsmasq);
    let daemon = Daemon::start(&lab, &[]);
    assert_eq!(egress_programs(&lab), ["dnsrare_egress"]);
    let client_ip = lab.client_ip.to_string();
    let gateway_ip = lab.gateway_ip.to_string();

    let s = client(&lab);
    let asked = [
        ("www.lab.test", 2, dns::RCODE_NOERROR),
        ("gone.nx.test", 3, dns::RCODE_NXDOMAIN),
        ("addr.lab.test", 1, dns::RCODE_NOERROR),
        ("svc.up.test", 1, dns::RCODE_NOERROR),
    ];
    let mut id = 100;
    for (name, n, rcode) in asked {
        for _ in 0..n {
            id += 1;
            assert_eq!(ask(&lab, &s, id, name), rcode, "{name}");
        }
    }
    let sent: u64 = asked.iter().map(|(_, n, _)| n).sum();

    let stats = wait_for(
        "every query and answer to be counted",
        Duration::from_secs(20),
        || {
            let s = daemon.stats();
            let d = &s["capture"]["directions"];
            (d["egress"]["responses"].as_u64() == Some(sent)
                && s["capture"]["counted"].as_u64() >= Some(sent))
            .then_some(s)
        },
    );
    let d = &stats["capture"]["directions"];
    // The clients' queries arrive; dnsmasq's answers to them leave.
    assert_eq!(d["ingress"]["queries"], sent, "{stats:#}");
    assert_eq!(d["egress"]["responses"], sent, "{stats:#}");
    // dnsmasq's one forward upstream leaves as the gateway's own query;
    // the upstream's answer arrives.
    assert_eq!(d["egress"]["queries"], 1, "{stats:#}");
    assert_eq!(d["ingress"]["responses"], 1, "{stats:#}");
    assert_eq!(stats["capture"]["upstream_queries"], 1);
    // Totals are the two directions added.
    assert_eq!(stats["capture"]["queries"], sent + 1);
    assert_eq!(stats["capture"]["responses"], sent + 1);
    assert_eq!(stats["capture"]["lost"], 0);
    assert!(stats["egress_program"]["verified_instructions"].as_u64() > Some(0));
    assert_eq!(upstream.stop(), 1, "dnsmasq forwarded once");

    let report = daemon.report_with(&["--top", "100", "--sort", "rare"]);
    for (name, n, _) in asked {
        let r = row(&report, name);
        // Each query counted once, for the client that asked.
        assert_eq!(host_queries(r, &client_ip), Some(n), "{name}: {r:#}");
        // dnsmasq's answers; for the forwarded name also the upstream's
        // answer to the gateway.
        let upstream = u64::from(name.ends_with(".up.test"));
        assert_eq!(r["responses"].as_u64(), Some(n + upstream), "{name}: {r:#}");
    }
    assert_eq!(row(&report, "gone.nx.test")["nxdomain"], 3);
    assert_eq!(row(&report, "www.lab.test")["nxdomain"], 0);
    // The forward is the gateway's query, never counted for a host.
    assert_eq!(
        host_queries(row(&report, "svc.up.test"), &gateway_ip),
        None,
        "the gateway's own upstream query counted as a host's: {report:#}"
    );
    // The CNAME chain dnsmasq gave, in the row's answers.
    let answers = &row(&report, "www.lab.test")["answers"];
    assert_eq!(
        answers["cnames"],
        serde_json::json!(["edge.lab.test", "target.lab.test"]),
        "{answers:#}"
    );
    assert_eq!(answers["addresses"], serde_json::json!(["192.0.2.10"]));
    assert_eq!(
        row(&report, "addr.lab.test")["answers"]["addresses"],
        serde_json::json!(["192.0.2.44"])
    );
    drop(dnsmasq);
    assert!(daemon.stop().success());
    // Detached on exit.
    assert!(egress_programs(&lab).is_empty());
}

#[test]
fn no_egress_leaves_the_classifier_out() {
    let lab = Lab::new().expect("lab");
    let upstream = Upstream::start(&lab);
    let dnsmasq = Dnsmasq::start(&lab, lab.client_ip);
    wait_ready(&lab, &dnsmasq);
    let daemon = Daemon::start(&lab, &["--no-egress"]);
    assert!(egress_programs(&lab).is_empty());
    let s = client(&lab);
    for id in 0..2 {
        assert_eq!(ask(&lab, &s, id, "www.lab.test"), dns::RCODE_NOERROR);
    }
    let stats = wait_for("the queries to be counted", Duration::from_secs(20), || {
        let s = daemon.stats();
        (s["capture"]["counted"].as_u64() >= Some(2)).then_some(s)
    });
    assert_eq!(stats["egress_program"], serde_json::Value::Null);
    let d = &stats["capture"]["directions"];
    assert_eq!(d["ingress"]["queries"], 2);
    for counter in ["packets", "queries", "responses", "ignored", "lost"] {
        assert_eq!(d["egress"][counter], 0, "{counter}: {stats:#}");
    }
    // Without the classifier the resolver's answers go unseen.
    assert_eq!(stats["capture"]["responses"], 0);
    let text = daemon.cli(&["stats"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("TC egress program: not attached"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    drop(upstream);
    drop(dnsmasq);
    assert!(daemon.stop().success());
}
