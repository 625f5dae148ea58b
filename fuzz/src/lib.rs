//! Checks shared by the dnsrare fuzz targets (`fuzz_targets/`) and the seed
//! generator (`examples/seeds.rs`).
//!
//! Every target feeds untrusted bytes to one parser of the `dnsrare`
//! library and asserts what the design promises about it: nothing panics
//! or hangs on any byte sequence, and what the parser accepts is
//! consistent (counters add up, emitted names decode, accepted requests
//! round-trip, a restored snapshot can be queried and counted into).

use std::{
    net::IpAddr,
    path::Path,
    sync::{Arc, LazyLock},
};

use capture_common::{
    EventKind, FAMILY_IPV4, FAMILY_IPV6, MAX_NAME_LEN, MAX_STREAM_MESSAGES, TRANSPORT_TCP,
    TRANSPORT_UDP,
};
use dnsrare_core::{
    engine::{
        Engine, EngineConfig, Querier, report as query,
        snapshot::{self, FORMAT_VERSION, Snapshot},
    },
    ingest::{
        answers::AnswerBytes,
        frame_parser_twin::FrameParser,
        name,
        observation::{Answered, EventDecoder, Observation},
        pcap::Link,
    },
    model::{
        capture::CaptureSummary,
        host::HostAddr,
        query::{ReportQuery, Sort, View},
    },
    score::lists::Lists,
};

/// Every link layer the packet parser distinguishes (`Other` with the
/// DLT_IEEE802_11 number as a stand-in for any unsupported one).
pub const LINKS: [Link; 5] = [
    Link::Ethernet,
    Link::LinuxSll,
    Link::LinuxSll2,
    Link::RawIp,
    Link::Other(105),
];

/// Magic bytes of a snapshot file (`snapshot.rs`: magic, version, payload
/// length, CRC-32, then the payload).
const SNAPSHOT_MAGIC: &[u8; 8] = b"DNSRSNAP";
/// Length of a snapshot file's header.
pub const SNAPSHOT_HEADER_LEN: usize = 8 + 4 + 8 + 4;

/// The name a snapshot's errors carry in the targets.
pub const SNAPSHOT_PATH: &str = "fuzz/state.snap";

/// Parses `frame` as `link` with a fresh parser and checks the result:
/// the frame is counted once in `packets`, it has between one and
/// `MAX_STREAM_MESSAGES` outcomes (ignored, refused or emitted), every
/// emitted event carries a checked name that the drain's decoder accepts
/// with the same length, and the event's fields are ones the parser can
/// produce.
pub fn parse_checked(link: Link, frame: &[u8], time_ns: u64) {
    let mut parser = FrameParser::new();
    let mut events = Vec::new();
    parser.parse(link, frame, time_ns, |e, a| {
        events.push((*e, a.bytes.to_vec(), a.cut));
    });
    let c = parser.counters();
    assert_eq!(c.packets, 1, "{link:?}: one frame, one packet");
    assert_eq!(c.lost, 0, "{link:?}: nothing is lost offline");
    assert_eq!(
        c.queries + c.responses,
        events.len() as u64,
        "{link:?}: one event per query or response counted"
    );
    let outcomes = c.ignored + c.queries + c.responses + c.parse_errors.total();
    assert!(
        (1..=MAX_STREAM_MESSAGES as u64).contains(&outcomes),
        "{link:?}: {outcomes} outcomes for one frame: {c:?}"
    );
    if matches!(link, Link::Other(_)) {
        assert_eq!(c.ignored, 1, "unsupported link layers are ignored");
    }
    let mut decoder = EventDecoder::new(0);
    for (e, answer_bytes, cut) in &events {
        assert!(
            (1..=MAX_NAME_LEN).contains(&usize::from(e.name_len)),
            "{link:?}: name_len {} out of range",
            e.name_len
        );
        let text = name::decode(e.wire_name())
            .unwrap_or_else(|err| panic!("{link:?}: emitted name does not decode: {err:?}"));
        let observation = decoder
            .decode(
                e,
                AnswerBytes {
                    bytes: answer_bytes,
                    cut: *cut,
                },
            )
            .unwrap_or_else(|err| panic!("{link:?}: the drain refuses an event: {err:?}"));
        assert_eq!(observation.name, text);
        assert_eq!(e.timestamp_ns, time_ns);
        assert!(EventKind::from_u8(e.kind).is_some(), "kind {}", e.kind);
        assert!(
            [FAMILY_IPV4, FAMILY_IPV6].contains(&e.family),
            "family {}",
            e.family
        );
        assert!(
            [TRANSPORT_UDP, TRANSPORT_TCP].contains(&e.transport),
            "transport {}",
            e.transport
        );
        assert!(e.src_port == 53 || e.dst_port == 53, "neither port is 53");
        if e.transport == TRANSPORT_UDP {
            assert_eq!(outcomes, 1, "{link:?}: a UDP datagram has one outcome");
        }
    }
}

/// A snapshot file around `payload`, with the header's length and CRC-32
/// made right, so that a mutated payload reaches the postcard decoder.
pub fn snapshot_file(payload: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(SNAPSHOT_HEADER_LEN + payload.len());
    file.extend_from_slice(SNAPSHOT_MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    file.extend_from_slice(payload);
    file
}

/// Decodes snapshot `bytes` and, when they decode, uses them as the daemon
/// would ([`use_snapshot`]).
pub fn load_snapshot(bytes: &[u8]) {
    if let Ok(s) = snapshot::decode(Path::new(SNAPSHOT_PATH), bytes) {
        use_snapshot(s);
    }
}

/// Snapshots with more shards than this are not started (one thread per
/// shard would make the target crawl); the daemon would start them.
const MAX_SHARDS: usize = 64;

/// The shipped name lists, parsed once per process.
static LISTS: LazyLock<Arc<Lists>> = LazyLock::new(|| Arc::new(Lists::embedded()));

/// Does with a decoded snapshot what the daemon does after a restart:
/// starts the engine on its shards (which rebuilds each shard's tables,
/// `ShardState::from_data`), answers every kind of request, counts new
/// traffic into it (a query from a host it knows and from a new one, and
/// an NXDOMAIN answer, for a few loaded names), and answers again.
/// Nothing here may panic or hang, whatever the snapshot holds; a panic in
/// a shard thread aborts the process like one in this thread.
pub fn use_snapshot(snapshot: Snapshot) {
    if snapshot.shards.len() > MAX_SHARDS {
        return;
    }
    let engine = Engine::start(
        &EngineConfig::default(),
        Some(snapshot.shards),
        Arc::clone(&LISTS),
    );
    let querier = engine.querier();
    let known = answer_everything(&querier);
    let mut dispatcher = engine.dispatcher();
    for (k, (name, host, last_seen)) in known.iter().take(8).enumerate() {
        let time_ns = last_seen.saturating_add(60_000_000_000);
        let fresh = HostAddr::from(IpAddr::from([192, 0, 2, k as u8]));
        for (host, kind, rcode) in [
            (*host, EventKind::Query, 0),
            (fresh, EventKind::Query, 0),
            (fresh, EventKind::Response, 3),
        ] {
            dispatcher
                .push(&Observation {
                    name,
                    time_ns,
                    host,
                    kind,
                    qtype: 1,
                    rcode,
                    answers: Answered::Unknown,
                    upstream: false,
                })
                .expect("the shards are running");
        }
    }
    dispatcher.flush().expect("the shards are running");
    drop(dispatcher);
    answer_everything(&querier);
    drop(querier);
    engine.shutdown();
}

/// Asks for every view and order of the report, the stats, and the hosts
/// of every name (and of one name that is not there); returns the names
/// with one host that asked each and its last query.
fn answer_everything(querier: &Querier) -> Vec<(String, HostAddr, u64)> {
    let running = "the shards are running";
    querier.sizes().expect(running);
    querier.folded().expect(running);
    // More rows than a fuzzed snapshot can hold. (A `top` near
    // `usize::MAX` is a request problem of its own, kept out of here.)
    let everything = ReportQuery {
        top: 100_000,
        per_domain: 0,
        ..ReportQuery::default()
    };
    for view in [View::Name, View::Host, View::Domain] {
        for sort in [Sort::Score, Sort::Rare] {
            let query = ReportQuery {
                view,
                sort,
                ..everything.clone()
            };
            query::report(
                querier,
                CaptureSummary::default(),
                &query,
                Default::default(),
                &Default::default(),
            )
            .expect(running);
        }
    }
    querier.hosts("www.example.com").expect(running);
    let rows = query::report(
        querier,
        CaptureSummary::default(),
        &ReportQuery {
            sort: Sort::Rare,
            ..everything
        },
        Default::default(),
        &Default::default(),
    )
    .expect(running)
    .rows;
    let mut known = Vec::new();
    for row in rows {
        let reply = querier.hosts(&row.name).expect(running);
        if let Some(host) = reply.and_then(|r| r.hosts.into_iter().next()) {
            known.push((row.name, HostAddr::from(host.addr), row.last_seen_ns));
        }
    }
    known
}
