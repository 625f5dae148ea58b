//! Inputs shared by the benchmarks: DNS events with a realistic name mix,
//! built the way the XDP program writes them; and the evaluation harness.

pub mod capture_bench;
pub mod evaluation;
pub mod real_captures;

use capture_common::{DnsEvent, EventKind, FAMILY_IPV4};
use dnsrare_core::{
    engine::{Engine, EngineConfig},
    ingest::{answers::AnswerBytes, observation::EventDecoder},
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

/// An engine with `shards` shards that has counted every one of `events`
/// (decoded and dispatched as the drain does).
pub fn filled_engine(events: &[DnsEvent], shards: usize) -> Engine {
    let engine = Engine::start(
        &EngineConfig {
            shards,
            ..EngineConfig::default()
        },
        None,
        Default::default(),
    );
    let mut dispatcher = engine.dispatcher();
    let mut decoder = EventDecoder::new(0);
    for e in events {
        dispatcher
            .push(
                &decoder
                    .decode(e, AnswerBytes::default())
                    .expect("valid event"),
            )
            .expect("engine running");
    }
    dispatcher.flush().expect("engine running");
    engine
}

/// A query event for `name` from host 10.x.y.z number `host` at `time_ns`.
pub fn query_event(name: &str, host: u32, time_ns: u64) -> DnsEvent {
    let wire = traffic::dns::encode_name(name);
    let mut e = DnsEvent::zeroed();
    e.timestamp_ns = time_ns;
    e.family = FAMILY_IPV4;
    e.kind = EventKind::Query as u8;
    e.src_addr[..4].copy_from_slice(&(0x0a00_0000 | host).to_be_bytes());
    e.dst_addr[..4].copy_from_slice(&[10, 53, 0, 1]);
    e.src_port = 40000;
    e.dst_port = 53;
    e.qtype = 1;
    e.qclass = 1;
    e.name_len = wire.len() as u16;
    e.name[..wire.len()].copy_from_slice(&wire);
    e
}

/// A realistic ingest: a first stretch of traffic to count before timing
/// (a daemon that has run for a while knows the popular names and who asks
/// them), then the measured stretch, drawn from the same distribution
/// with its own never-repeated tail.
pub struct Mix {
    /// Counted before timing.
    pub warmup: Vec<DnsEvent>,
    /// The events to time.
    pub events: Vec<DnsEvent>,
}

/// Share of a host's queries that re-ask one of its recent names.
pub const REQUERY: f64 = 0.7;

fn popular_name(i: usize) -> String {
    format!(
        "{}{i}.site{}.com",
        ["www", "api", "cdn", "img"][i % 4],
        i % 5000
    )
}

/// Two stretches of [`realistic_events`]: warm-up and measured.
pub fn realistic_mix(n: usize, popular: usize, unique_share: f64, hosts: u32) -> Mix {
    Mix {
        warmup: realistic_events_seeded(n, popular, unique_share, hosts, 1),
        events: realistic_events_seeded(n, popular, unique_share, hosts, 2),
    }
}

/// `n` query events from `hosts` hosts: `unique_share` of them for a long
/// tail of names never seen twice; the rest re-ask, with probability
/// [`REQUERY`], one of the host's last 64 names (a cache entry expiring),
/// or else a name drawn Zipf-popular (s = 1) from `popular` names under a
/// few thousand domains.
pub fn realistic_events(n: usize, popular: usize, unique_share: f64, hosts: u32) -> Vec<DnsEvent> {
    realistic_events_seeded(n, popular, unique_share, hosts, 0)
}

fn realistic_events_seeded(
    n: usize,
    popular: usize,
    unique_share: f64,
    hosts: u32,
    seed: u64,
) -> Vec<DnsEvent> {
    let mut rng = ChaCha8Rng::seed_from_u64(0xbe9c + seed);
    let names: Vec<String> = (0..popular).map(popular_name).collect();
    let zipf = Zipf::new(popular as f64, 1.0).expect("valid Zipf parameters");
    let mut recent: Vec<Vec<usize>> = vec![Vec::with_capacity(64); hosts as usize];
    (0..n)
        .map(|i| {
            let host = rng.random_range(0..hosts);
            let t = 1_795_910_400_000_000_000 + i as u64 * 1_000_000;
            if rng.random_bool(unique_share) {
                let tail = format!(
                    "u{seed}x{i:x}{}.tail{}.net",
                    rng.random_range(0..1000u32),
                    i % 997
                );
                return query_event(&tail, host, t);
            }
            let own = &mut recent[host as usize];
            let rank = if !own.is_empty() && rng.random_bool(REQUERY) {
                own[rng.random_range(0..own.len())]
            } else {
                let rank = (zipf.sample(&mut rng) as usize - 1).min(popular - 1);
                if own.len() == 64 {
                    own[rng.random_range(0..64)] = rank;
                } else {
                    own.push(rank);
                }
                rank
            };
            query_event(&names[rank], host, t)
        })
        .collect()
}

/// `n` events for `n` distinct names, one query each, from `hosts` hosts.
pub fn distinct_names(n: usize, hosts: u32) -> Vec<DnsEvent> {
    (0..n)
        .map(|i| {
            let name = format!("n{i:07}.d{}.org", i % 20_000);
            query_event(
                &name,
                i as u32 % hosts,
                1_795_910_400_000_000_000 + i as u64,
            )
        })
        .collect()
}
