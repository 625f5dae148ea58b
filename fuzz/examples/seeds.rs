//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/<target>/`
//! (replacing what is there): wire names, frames of every link layer the
//! parser reads, small pcap and pcapng files, socket requests, and real
//! snapshots made by the engine. Every seed is built here, byte by byte or
//! through the same code the tests use; no capture is copied.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds` (any
//! toolchain; `cargo xtask fuzz` runs it when the seeds are missing). Run
//! it again after a change to the snapshot format, so that the snapshot
//! seeds are current ones.

use std::{
    error::Error,
    fs,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::Path,
    sync::Arc,
};

use capture_common::EventKind;
use dnsrare_core::{
    engine::{
        Engine, EngineConfig,
        snapshot::{self, Snapshot},
        state::ShardData,
    },
    ingest::observation::{Answered, Observation},
    model::{capture::CaptureCounters, host::HostAddr},
    score::lists::Lists,
};
use dnsrare_fuzz::SNAPSHOT_HEADER_LEN;
use traffic::{
    dns,
    frame::{Frame, Ipv6Ext, TPID_8021AD, TPID_8021Q},
};

/// Seeds of one target: file name and contents.
type Seeds = Vec<(String, Vec<u8>)>;
type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let (files, payloads) = snapshots()?;
    for (target, seeds) in [
        ("name_decoder", names()),
        ("packet_parser", frames()),
        ("pcap_reader", captures()),
        ("socket_request", requests()),
        ("snapshot_loader", files),
        ("snapshot_payload", payloads),
    ] {
        let dir = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        for (name, bytes) in &seeds {
            fs::write(dir.join(name), bytes)?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), dir.display());
    }
    Ok(())
}

/// Names the seeds of a fixed list.
fn named(seeds: Vec<(&str, Vec<u8>)>) -> Seeds {
    seeds
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect()
}

/// Wire-form names, valid and each kind of defect.
fn names() -> Seeds {
    let mut longest = Vec::new();
    for len in [63u8, 63, 63, 61] {
        longest.push(len);
        longest.extend(std::iter::repeat_n(b'x', usize::from(len)));
    }
    longest.push(0);
    let mut too_long = longest.clone();
    too_long.insert(1, b'y');
    too_long[0] = 64;
    named(vec![
        ("plain", dns::encode_name("www.example.com")),
        ("mixed_case", b"\x03WWW\x07Example\x03COM\x00".to_vec()),
        ("root", b"\x00".to_vec()),
        ("escapes", b"\x03a.b\x04\x00\\ \xff\x00".to_vec()),
        ("dga", dns::encode_name("xj4kq9zp2m7w.c2-example.net")),
        ("longest", longest),
        ("label_64", too_long),
        ("pointer", b"\x01a\xc0\x0c".to_vec()),
        ("cut_label", b"\x05abc".to_vec()),
        ("trailing", b"\x01a\x00\x00\x01\x00\x01".to_vec()),
    ])
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address literal")
}

/// Frames of every shape the parser walks, as Ethernet and (for a few)
/// re-framed as raw IP, Linux cooked v1 and v2.
fn frames() -> Seeds {
    let client = addr("192.0.2.10:40000");
    let server = addr("192.0.2.53:53");
    let client6 = addr("[2001:db8::10]:40000");
    let server6 = addr("[2001:db8::53]:53");
    let query = |name| dns::query(0x4242, name, dns::QTYPE_A);
    let v4 = Frame::udp(client, server, query("www.example.com"));
    let v6 = Frame::udp(
        client6,
        server6,
        dns::query_edns(7, "c2.example.net", dns::QTYPE_TXT, 1232),
    );
    let tcp = Frame::tcp(
        client,
        server,
        1,
        dns::tcp_framed(&[query("a.example"), query("b.example")]),
    );
    let mut seeds = named(vec![
        ("eth_v4_udp", v4.bytes()),
        ("eth_v6_udp_edns", v6.bytes()),
        ("eth_v4_tcp_two", tcp.bytes()),
        (
            "eth_qinq",
            v4.clone()
                .vlan(TPID_8021AD, 100)
                .vlan(TPID_8021Q, 200)
                .bytes(),
        ),
        (
            "eth_v4_options",
            Frame {
                ipv4_options: vec![1, 1, 1, 0],
                ..v4.clone()
            }
            .bytes(),
        ),
        (
            "eth_v6_ext",
            Frame {
                ipv6_ext: vec![Ipv6Ext::HopByHop(0), Ipv6Ext::DestinationOptions(1)],
                ..v6.clone()
            }
            .bytes(),
        ),
        (
            "eth_v6_tcp",
            Frame::tcp(
                client6,
                server6,
                9,
                dns::tcp_framed(&[dns::query(3, "dns.example.org", dns::QTYPE_AAAA)]),
            )
            .bytes(),
        ),
        (
            "eth_nxdomain",
            Frame::udp(
                server,
                client,
                dns::response(0x4242, "nx.example", dns::QTYPE_A, dns::RCODE_NXDOMAIN, &[]),
            )
            .bytes(),
        ),
        (
            "eth_answers",
            Frame::udp(
                server,
                client,
                dns::response(
                    1,
                    "www.example.com",
                    dns::QTYPE_A,
                    0,
                    &[Ipv4Addr::new(198, 51, 100, 1)],
                ),
            )
            .bytes(),
        ),
        (
            "eth_pointer",
            Frame::udp(client, server, dns::query_wire(5, b"\xc0\x0c", 1)).bytes(),
        ),
        (
            "eth_cut_name",
            Frame::udp(client, server, dns::query_wire(5, b"\x3fabc", 1)).bytes(),
        ),
    ]);
    for (name, eth) in [
        ("v4_udp", v4.bytes()),
        ("v6_udp", v6.bytes()),
        ("v4_tcp", tcp.bytes()),
    ] {
        seeds.push((format!("raw_{name}"), eth[14..].to_vec()));
        seeds.push((format!("sll_{name}"), sll(&eth)));
        seeds.push((format!("sll2_{name}"), sll2(&eth)));
    }
    seeds
}

/// An Ethernet frame re-framed as Linux cooked capture v1: a 16-byte
/// header ending in the ethertype.
fn sll(eth: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    out.extend_from_slice(&eth[12..]);
    out
}

/// An Ethernet frame re-framed as Linux cooked capture v2: a 20-byte
/// header starting with the ethertype.
fn sll2(eth: &[u8]) -> Vec<u8> {
    let mut out = eth[12..14].to_vec();
    out.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 6, 2, 0, 0, 0, 0, 1, 0]);
    out.extend_from_slice(&eth[14..]);
    out
}

/// Byte order of a capture file being written.
#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }

    fn u64(self, v: u64) -> [u8; 8] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }
}

/// A classic pcap file: `magic` decides microseconds or nanoseconds.
fn pcap(order: Order, magic: u32, link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&order.u32(magic));
    out.extend_from_slice(&order.u16(2));
    out.extend_from_slice(&order.u16(4));
    out.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    out.extend_from_slice(&order.u32(65535));
    out.extend_from_slice(&order.u32(link));
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&order.u32(1_700_000_000 + i as u32));
        out.extend_from_slice(&order.u32(250_000));
        out.extend_from_slice(&order.u32(f.len() as u32));
        out.extend_from_slice(&order.u32(f.len() as u32));
        out.extend_from_slice(f);
    }
    out
}

/// A pcapng block: type, total length, body (padded to 4), total length.
fn block(order: Order, kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&order.u32(kind));
    out.extend_from_slice(&order.u32(total));
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    out.extend_from_slice(&order.u32(total));
    out
}

/// A pcapng file: one section, one interface per `links` entry (the first
/// with nanosecond stamps and a time offset), then for each frame an
/// enhanced packet block on interface `i % interfaces` and, for the
/// first, a simple packet block too.
fn pcapng(order: Order, links: &[u16], frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = order.u32(0x1a2b_3c4d).to_vec();
    shb.extend_from_slice(&order.u16(1));
    shb.extend_from_slice(&order.u16(0));
    shb.extend_from_slice(&order.u64(u64::MAX)); // section length unknown
    out.extend(block(order, 0x0a0d_0d0a, &shb));
    for (i, &link) in links.iter().enumerate() {
        let mut idb = order.u16(link).to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&order.u32(0)); // no snapshot length limit
        if i == 0 {
            // if_tsresol: 10^-9; if_tsoffset: 3600 s; end of options.
            idb.extend_from_slice(&order.u16(9));
            idb.extend_from_slice(&order.u16(1));
            idb.extend_from_slice(&[9, 0, 0, 0]);
            idb.extend_from_slice(&order.u16(14));
            idb.extend_from_slice(&order.u16(8));
            idb.extend_from_slice(&order.u64(3600));
            idb.extend_from_slice(&[0, 0, 0, 0]);
        }
        out.extend(block(order, 1, &idb));
    }
    for (i, f) in frames.iter().enumerate() {
        let ticks = 1_700_000_000_000_000_000u64 + i as u64;
        let mut epb = order.u32((i % links.len()) as u32).to_vec();
        epb.extend_from_slice(&order.u32((ticks >> 32) as u32));
        epb.extend_from_slice(&order.u32(ticks as u32));
        epb.extend_from_slice(&order.u32(f.len() as u32));
        epb.extend_from_slice(&order.u32(f.len() as u32));
        epb.extend_from_slice(f);
        out.extend(block(order, 6, &epb));
    }
    if let Some(f) = frames.first() {
        let mut spb = order.u32(f.len() as u32).to_vec();
        spb.extend_from_slice(f);
        out.extend(block(order, 3, &spb));
    }
    out
}

/// Small capture files in both formats and byte orders.
fn captures() -> Seeds {
    const LINKTYPE_ETHERNET: u16 = 1;
    const LINKTYPE_RAW: u16 = 101;
    const LINKTYPE_LINUX_SLL: u16 = 113;
    const LINKTYPE_LINUX_SLL2: u16 = 276;
    let client = addr("192.0.2.10:40000");
    let server = addr("192.0.2.53:53");
    let query = Frame::udp(
        client,
        server,
        dns::query(1, "www.example.com", dns::QTYPE_A),
    )
    .bytes();
    let answer = Frame::udp(
        server,
        client,
        dns::response(
            1,
            "www.example.com",
            dns::QTYPE_A,
            0,
            &[Ipv4Addr::LOCALHOST],
        ),
    )
    .bytes();
    let tcp = Frame::tcp(
        client,
        server,
        1,
        dns::tcp_framed(&[dns::query(2, "x.example", dns::QTYPE_TXT)]),
    )
    .bytes();
    let eth = vec![query.clone(), answer.clone(), tcp];
    let raw = vec![query[14..].to_vec(), answer[14..].to_vec()];
    named(vec![
        (
            "pcap_le_usec",
            pcap(Order::Little, 0xa1b2_c3d4, LINKTYPE_ETHERNET.into(), &eth),
        ),
        (
            "pcap_be_nsec_raw",
            pcap(Order::Big, 0xa1b2_3c4d, LINKTYPE_RAW.into(), &raw),
        ),
        (
            "pcap_sll",
            pcap(
                Order::Little,
                0xa1b2_c3d4,
                LINKTYPE_LINUX_SLL.into(),
                &[sll(&query)],
            ),
        ),
        (
            "pcapng_le",
            pcapng(Order::Little, &[LINKTYPE_ETHERNET, LINKTYPE_RAW], &eth),
        ),
        (
            "pcapng_be_sll2",
            pcapng(Order::Big, &[LINKTYPE_LINUX_SLL2], &[sll2(&answer)]),
        ),
        (
            "pcap_header_only",
            pcap(Order::Little, 0xa1b2_c3d4, LINKTYPE_ETHERNET.into(), &[]),
        ),
    ])
}

/// Request lines as `dnsrare` commands send them, and a few near misses.
fn requests() -> Seeds {
    [
        ("report", r#"{"request":"report","top":20}"#),
        ("stats", r#"{"request":"stats"}"#),
        (
            "hosts",
            r#"{"request":"hosts","name":"xj4kq9zp2m7w.c2-example.net"}"#,
        ),
        (
            "hosts_escaped",
            r#"{"request":"hosts","name":"a\\046b.\u00e9x\n"}"#,
        ),
        (
            "report_huge",
            r#"{"request":"report","top":18446744073709551615}"#,
        ),
        (
            "report_every_field",
            r#"{"request":"report","top":5,"view":"host","sort":"rare","since_ns":1700000000000000000,"host":"10.0.0.1","min_score":20.5,"per_domain":0}"#,
        ),
        ("unknown", r#"{"request":"shutdown","now":true}"#),
        ("nested", r#"[[[[{"request":[{"top":[1e400]}]}]]]]"#),
    ]
    .into_iter()
    .map(|(name, line)| (name.to_owned(), format!("{line}\n").into_bytes()))
    .collect()
}

/// One observation to count: name, host, second, kind, rcode.
type Obs = (&'static str, [u8; 4], u64, EventKind, u8);

/// Runs `observations` through an engine configured by `config` and
/// returns its snapshot file's bytes.
fn engine_snapshot(config: &EngineConfig, observations: &[Obs]) -> Result<Vec<u8>> {
    let engine = Engine::start(config, None, Arc::new(Lists::embedded()));
    let mut dispatcher = engine.dispatcher();
    for &(name, host, second, kind, rcode) in observations {
        dispatcher.push(&Observation {
            name,
            time_ns: 1_700_000_000_000_000_000 + second * 1_000_000_000,
            host: HostAddr::from(IpAddr::from(host)),
            kind,
            qtype: if rcode == 0 { 1 } else { 16 },
            rcode,
            answers: Answered::Unknown,
            upstream: false,
        })?;
    }
    dispatcher.flush()?;
    drop(dispatcher);
    let querier = engine.querier();
    let shards = querier.snapshot()?;
    drop(querier);
    engine.shutdown();
    snapshot_bytes(&Snapshot {
        created_ns: 1_700_000_000_000_000_000,
        capture: CaptureCounters {
            packets: observations.len() as u64,
            queries: observations.len() as u64,
            ..Default::default()
        },
        shards,
        ..Default::default()
    })
}

/// The file `snapshot::write` makes of `snapshot`.
fn snapshot_bytes(snapshot: &Snapshot) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let written = snapshot::write(dir.path(), snapshot)?;
    Ok(fs::read(written.path)?)
}

/// Snapshot files (for `snapshot_loader`) and their payloads (for
/// `snapshot_payload`): empty shards, a beacon with its arrival ring and a
/// name with several hosts, an exploded domain over two shards, and a
/// shard whose budget is used up (everything in the overflow row).
fn snapshots() -> Result<(Seeds, Seeds)> {
    use EventKind::{Query, Response};
    let mut detailed: Vec<Obs> = (0..6)
        .map(|k| {
            (
                "xj4kq9zp2m7w.c2-example.net",
                [10, 0, 0, 9],
                k * 60,
                Query,
                0,
            )
        })
        .collect();
    detailed.extend([
        ("www.example.com", [10, 0, 0, 1], 1, Query, 0),
        ("www.example.com", [10, 0, 0, 2], 2, Query, 0),
        ("www.example.com", [10, 0, 0, 3], 3, Query, 0),
        ("www.example.com", [10, 0, 0, 1], 30, Query, 0),
        ("gone.example.org", [10, 0, 0, 4], 4, Query, 0),
        ("gone.example.org", [10, 0, 0, 4], 4, Response, 3),
        ("never-asked.example", [10, 0, 0, 4], 5, Response, 0),
    ]);
    let flood: Vec<Obs> = [
        "n1.cdn.example",
        "n2.cdn.example",
        "n3.cdn.example",
        "n4.cdn.example",
        "n5.cdn.example",
        "other.example.com",
    ]
    .into_iter()
    .enumerate()
    .map(|(k, name)| (name, [10, 0, 1, k as u8], k as u64, Query, 0))
    .collect();
    let files = named(vec![
        (
            "empty_shards",
            snapshot_bytes(&Snapshot {
                shards: vec![ShardData::default(), ShardData::default()],
                ..Default::default()
            })?,
        ),
        (
            "detailed",
            engine_snapshot(&EngineConfig::default(), &detailed)?,
        ),
        (
            "folded",
            engine_snapshot(
                &EngineConfig {
                    shards: 2,
                    fold_names: 2,
                    ..EngineConfig::default()
                },
                &flood,
            )?,
        ),
        (
            "full",
            engine_snapshot(
                &EngineConfig {
                    max_memory: 1,
                    ..EngineConfig::default()
                },
                &flood,
            )?,
        ),
    ]);
    let payloads = files
        .iter()
        .map(|(name, file)| (name.clone(), file[SNAPSHOT_HEADER_LEN..].to_vec()))
        .collect();
    Ok((files, payloads))
}
