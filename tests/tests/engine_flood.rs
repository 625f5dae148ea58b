//! Floods of unique names (a random-subdomain attack, or tunnelling at full
//! speed): memory stays within the configured bound, the engine and the
//! daemon keep answering, and every other name's counts stay exact.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
};

use capture_common::EventKind;
use dnsrare_core::{
    engine::{Engine, EngineConfig},
    ingest::observation::{Answered, Observation},
    model::host::HostAddr,
};
use dnsrare_tests::Daemon;
use traffic::{dns, frame::Frame, netns::Lab, sender::RawSender};

const FLOOD_DOMAINS: u64 = 5;

fn flood_name(i: u64) -> String {
    // Random-looking, unique labels under a handful of domains.
    let mixed = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17);
    format!("{mixed:016x}.flood{}.example", i % FLOOD_DOMAINS)
}

fn host(i: u8) -> HostAddr {
    HostAddr::from(IpAddr::V4(Ipv4Addr::new(10, 9, 0, i)))
}

#[test]
fn two_million_unique_names_stay_within_a_small_bound() {
    let max_memory = 32 << 20;
    let config = EngineConfig {
        shards: 2,
        fold_names: 10_000,
        max_memory,
    };
    let engine = Engine::start(&config, None, Default::default());
    let mut dispatcher = engine.dispatcher();
    let querier = engine.querier();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let total = 2_000_000u64;
    for i in 0..total {
        let name = flood_name(i);
        dispatcher
            .push(&Observation {
                name: &name,
                time_ns: i,
                host: host(1),
                kind: EventKind::Query,
                qtype: 16,
                rcode: 0,
                answers: Answered::Unknown,
                upstream: false,
            })
            .expect("engine running");
        if i % 997 == 0 {
            let other = format!("rare{}.normal{}.example.com", i % 13, i % 3);
            dispatcher
                .push(&Observation {
                    name: &other,
                    time_ns: i,
                    host: host((i % 7) as u8 + 2),
                    kind: EventKind::Query,
                    qtype: 1,
                    rcode: 0,
                    answers: Answered::Unknown,
                    upstream: false,
                })
                .expect("engine running");
            *expected.entry(other).or_default() += 1;
        }
        if i % 400_000 == 0 {
            // Queries are answered in the middle of the flood.
            dispatcher.flush().expect("engine running");
            assert!(!querier.folded().expect("answers").is_empty() || i == 0);
        }
    }
    dispatcher.flush().expect("engine running");
    let sizes = querier.sizes().expect("answers");
    let memory: u64 = sizes.iter().map(|s| s.memory_bytes).sum();
    assert!(
        memory <= max_memory as u64,
        "state {memory} bytes over the {max_memory}-byte bound"
    );
    let queries: u64 = sizes.iter().map(|s| s.totals.queries).sum();
    assert_eq!(queries, total + expected.values().sum::<u64>());

    let folded = querier.folded().expect("answers");
    assert_eq!(folded.len() as u64, FLOOD_DOMAINS);
    for f in &folded {
        assert!(
            f.domain.starts_with("flood") && f.domain.ends_with(".example"),
            "{f:?}"
        );
        assert_eq!(f.names_counted, 10_000);
        assert_eq!(f.domain_queries, total / FLOOD_DOMAINS);
        assert_eq!(f.folded_queries, total / FLOOD_DOMAINS - 10_000);
        let want = f.folded_queries as f64;
        let err = (f.folded_names_estimate as f64 - want).abs() / want;
        assert!(err < 0.05, "{f:?}");
        assert!(!f.by_memory);
    }

    for (name, count) in &expected {
        let hosts = querier.hosts(name).expect("answers").expect("counted");
        assert_eq!(hosts.queries, *count, "{name}");
        assert_eq!(hosts.hosts.iter().map(|h| h.queries).sum::<u64>(), *count);
    }
    drop((dispatcher, querier));
    engine.shutdown();
}

#[test]
fn live_daemon_under_a_flood_keeps_its_bound_and_exact_counts() {
    let lab = Lab::new().expect("lab");
    let daemon = Daemon::start(
        &lab,
        &[
            "--max-memory",
            "4MiB",
            "--fold-names",
            "1000",
            "--shards",
            "2",
        ],
    );
    let gw = SocketAddr::new(IpAddr::V4(lab.gateway_ip), 53);
    let mut frames = Vec::new();
    let flood = 100_000u64;
    for i in 0..flood {
        let src = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 8, 0, 1)), 40000);
        frames.push(
            Frame::udp(
                src,
                gw,
                dns::query(i as u16, &flood_name(i), dns::QTYPE_TXT),
            )
            .bytes(),
        );
        if i % 1000 == 0 {
            let k = i / 1000;
            let src = SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 8, 1, (k % 5) as u8 + 1)),
                40000,
            );
            let name = format!("steady{}.example.net", k % 4);
            frames.push(Frame::udp(src, gw, dns::query(1, &name, dns::QTYPE_A)).bytes());
        }
    }
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    lab.in_client(|| {
        RawSender::open(&lab.client_if)
            .expect("raw socket")
            .send_paced(&refs, Some(50_000))
            .expect("send")
    })
    .expect("client namespace");
    let report = daemon.wait_counted(flood + 100, 20);
    assert_eq!(report["capture"]["lost"], 0);
    let stats = daemon.stats();
    let memory: u64 = stats["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| s["memory_bytes"].as_u64().expect("bytes"))
        .sum();
    assert!(memory <= 4 << 20, "state {memory} bytes over 4 MiB");
    for k in 0..4 {
        let out = daemon.cli(&["hosts", &format!("steady{k}.example.net"), "--json"]);
        assert!(out.status.success());
        let hosts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(hosts["queries"], 25, "steady{k}");
    }
    let folded = report["folded"].as_array().expect("folded rows");
    let folded_queries: u64 = folded
        .iter()
        .map(|f| f["folded_queries"].as_u64().expect("count"))
        .sum();
    let counted: u64 = report["names"].as_u64().expect("names");
    assert!(folded_queries > 0);
    // Every flood query is either a name counted one by one or folded.
    assert_eq!(folded_queries + counted - 4, flood);
    let table = String::from_utf8(daemon.cli(&["report"]).stdout).expect("utf-8");
    assert!(table.contains("exploded domain flood"), "{table}");
}
