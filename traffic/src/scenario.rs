//! Generated gateway traffic with its ground truth: a population of hosts
//! asking for popular names (Zipf-distributed), each query answered by the
//! resolver, and infected hosts beaconing to random-looking names at a
//! period with jitter. Seeded and deterministic: the same configuration
//! gives the same bytes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use serde::Serialize;

use crate::{
    dns,
    frame::Frame,
    names::{BENIGN_DOMAINS, SUBDOMAINS},
};

/// One frame at a point in scenario time.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Scenario time, ns since the UNIX epoch.
    pub time_ns: u64,
    /// The Ethernet frame.
    pub frame: Vec<u8>,
}

/// A beaconing host in the ground truth.
#[derive(Clone, Debug, Serialize)]
pub struct Beacon {
    /// The infected host.
    pub host: IpAddr,
    /// The name it calls home to.
    pub name: String,
    /// Period in seconds.
    pub period_s: u64,
    /// Queries it sent.
    pub queries: u64,
}

/// What the scenario contains, for checking reports against.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Truth {
    /// Seed the scenario was generated from.
    pub seed: u64,
    /// Hosts that sent queries.
    pub hosts: u64,
    /// DNS queries in the capture.
    pub queries: u64,
    /// DNS responses in the capture.
    pub responses: u64,
    /// The beacons.
    pub beacons: Vec<Beacon>,
}

/// Knobs of a generated scenario.
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    /// RNG seed.
    pub seed: u64,
    /// Ordinary hosts.
    pub hosts: u32,
    /// Scenario length in seconds.
    pub duration_s: u64,
    /// Ordinary queries over the whole scenario.
    pub benign_queries: u32,
    /// Beaconing hosts (each with its own name and period).
    pub beacons: u32,
    /// Beacon period in seconds (each beacon adds a little to it).
    pub beacon_period_s: u64,
    /// Beacon jitter as a fraction of the period.
    pub beacon_jitter: f64,
}

impl ScenarioConfig {
    /// The demo's default: a few hundred hosts over an hour, one beacon.
    pub fn demo() -> Self {
        Self {
            seed: 20_261_129,
            hosts: 300,
            duration_s: 3600,
            benign_queries: 20_000,
            beacons: 1,
            beacon_period_s: 300,
            beacon_jitter: 0.02,
        }
    }
}

/// Scenario start: 2026-11-29T00:00:00Z.
const START_NS: u64 = 1_795_910_400 * 1_000_000_000;
const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 53, 0, 1);

/// Address of ordinary host `i` (10.1.0.0/16).
pub fn host_addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 2) as u8)
}

/// Generates the scenario: packets in time order and the ground truth.
pub fn generate(config: &ScenarioConfig) -> (Vec<Packet>, Truth) {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut queries: Vec<(u64, Ipv4Addr, String)> = Vec::new();
    let span_ns = config.duration_s * 1_000_000_000;

    // Ordinary traffic: a Zipf-popular name from a Zipf-popular domain.
    let names: Vec<String> = BENIGN_DOMAINS
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let sub = SUBDOMAINS[i % SUBDOMAINS.len()];
            if sub.is_empty() {
                (*d).to_owned()
            } else {
                format!("{sub}.{d}")
            }
        })
        .collect();
    let popularity = Zipf::new(names.len() as f64, 1.0).expect("valid Zipf parameters");
    for _ in 0..config.benign_queries {
        let rank = popularity.sample(&mut rng) as usize - 1;
        let host = host_addr(rng.random_range(0..config.hosts));
        let t = START_NS + rng.random_range(0..span_ns);
        queries.push((t, host, names[rank.min(names.len() - 1)].clone()));
    }

    // Beacons: one infected host each, a random-looking name, a period
    // with jitter.
    let mut truth = Truth {
        seed: config.seed,
        hosts: u64::from(config.hosts),
        ..Truth::default()
    };
    for b in 0..config.beacons {
        let host = host_addr(rng.random_range(0..config.hosts));
        let name = random_name(&mut rng, 12, "info");
        let period_s = config.beacon_period_s + u64::from(b) * 37;
        let period_ns = period_s as f64 * 1e9;
        let mut t = START_NS as f64 + rng.random_range(0.0..period_ns);
        let mut sent = 0;
        while t < (START_NS + span_ns) as f64 {
            queries.push((t as u64, host, name.clone()));
            sent += 1;
            let jitter = rng.random_range(-config.beacon_jitter..=config.beacon_jitter);
            t += period_ns * (1.0 + jitter);
        }
        truth.beacons.push(Beacon {
            host: IpAddr::V4(host),
            name,
            period_s,
            queries: sent,
        });
    }

    queries.sort_by_key(|q| q.0);
    let mut packets = Vec::with_capacity(queries.len() * 2);
    for (i, (t, host, name)) in queries.into_iter().enumerate() {
        let id = (i % 65536) as u16;
        let port = 1024 + (i % 60000) as u16;
        let client = SocketAddr::new(IpAddr::V4(host), port);
        let server = SocketAddr::new(IpAddr::V4(RESOLVER), 53);
        packets.push(Packet {
            time_ns: t,
            frame: Frame::udp(client, server, dns::query(id, &name, dns::QTYPE_A)).bytes(),
        });
        let answer = Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1);
        let reply = dns::response(id, &name, dns::QTYPE_A, 0, &[answer]);
        packets.push(Packet {
            time_ns: t + 2_000_000,
            frame: Frame::udp(server, client, reply).bytes(),
        });
        truth.queries += 1;
        truth.responses += 1;
    }
    packets.sort_by_key(|p| p.time_ns);
    (packets, truth)
}

/// A random-looking name: `len` letters and digits under `tld`.
fn random_name(rng: &mut ChaCha8Rng, len: usize, tld: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let label: String = (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{label}.{tld}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let mut c = ScenarioConfig::demo();
        c.benign_queries = 500;
        let (a, ta) = generate(&c);
        let (b, _) = generate(&c);
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.frame == y.frame && x.time_ns == y.time_ns)
        );
        assert_eq!(ta.queries, 500 + ta.beacons[0].queries);
        assert_eq!(a.len() as u64, ta.queries * 2);
        // One beacon per period over an hour.
        assert!((11..=13).contains(&ta.beacons[0].queries));
    }
}
