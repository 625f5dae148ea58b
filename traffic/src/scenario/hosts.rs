//! The host population: addresses, network segment (VLAN tags), resolver
//! behaviour (query types, EDNS0, IPv6) and when each host is active over
//! the day.

use std::net::{Ipv4Addr, Ipv6Addr};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};

use super::{ScenarioConfig, host_addr, host_addr_v6};
use crate::frame::{TPID_8021AD, TPID_8021Q};

/// Width of the bins the activity curve is sampled in.
pub(crate) const BIN_NS: u64 = 300_000_000_000;

/// What kind of machine a host is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostKind {
    /// On all day, busy during office hours, a trickle at night.
    Workstation,
    /// Arrives and leaves, off when away.
    Laptop,
    /// Steady around the clock.
    Server,
}

/// One host of the population.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    /// IPv4 address.
    pub v4: Ipv4Addr,
    /// IPv6 address, if the host has one.
    pub v6: Option<Ipv6Addr>,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// VLAN tags of its segment, outermost first.
    pub vlans: Vec<(u16, u16)>,
    /// EDNS0 UDP size its stub resolver advertises, if it uses EDNS0.
    pub edns: Option<u16>,
    /// Query types it sends for an ordinary lookup, in order.
    pub qtypes: &'static [u16],
    /// Share of its queries sent over IPv6 (zero without an address).
    pub v6_share: f64,
    /// What kind of machine it is.
    pub kind: HostKind,
    /// Cumulative activity over the scenario's bins (last = total).
    pub activity: Vec<f64>,
    /// How chatty it is relative to others of its kind.
    pub chattiness: f64,
}

impl Host {
    /// Relative share of the scenario's ordinary queries.
    pub fn weight(&self) -> f64 {
        self.chattiness * self.activity.last().copied().unwrap_or(0.0)
    }

    /// A time drawn from the host's activity, ns since the scenario start.
    pub fn sample_offset(&self, rng: &mut ChaCha8Rng, span_ns: u64) -> u64 {
        let total = self.activity.last().copied().unwrap_or(0.0);
        let u = rng.random_range(0.0..1.0) * total;
        let bin = self.activity.partition_point(|&c| c <= u);
        let bin = bin.min(self.activity.len() - 1) as u64;
        let start = bin * BIN_NS;
        let end = (start + BIN_NS).min(span_ns);
        if end <= start {
            return span_ns.saturating_sub(1);
        }
        rng.random_range(start..end)
    }
}

const A: &[u16] = &[crate::dns::QTYPE_A];
const A_AAAA: &[u16] = &[crate::dns::QTYPE_A, crate::dns::QTYPE_AAAA];
const A_AAAA_HTTPS: &[u16] = &[
    crate::dns::QTYPE_A,
    crate::dns::QTYPE_AAAA,
    crate::dns::QTYPE_HTTPS,
];

/// Builds the population of `config.hosts` hosts.
pub(crate) fn population(rng: &mut ChaCha8Rng, config: &ScenarioConfig) -> Vec<Host> {
    let span_ns = config.duration_s * 1_000_000_000;
    let bins = span_ns.div_ceil(BIN_NS).max(1) as usize;
    let chatty = LogNormal::new(0.0, 0.7).expect("valid log-normal");
    let p = &config.protocols;
    (0..config.hosts)
        .map(|i| {
            let kind = match rng.random_range(0..100) {
                0..75 => HostKind::Workstation,
                75..90 => HostKind::Laptop,
                _ => HostKind::Server,
            };
            let segment = rng.random_range(0.0..1.0);
            let vlan_id = 10 * (1 + (i / 250) as u16 % 9);
            let vlans = if segment < p.qinq_hosts {
                vec![(TPID_8021AD, 100), (TPID_8021Q, vlan_id)]
            } else if segment < p.qinq_hosts + p.vlan_hosts {
                vec![(TPID_8021Q, vlan_id)]
            } else {
                Vec::new()
            };
            let v6 = rng.random_bool(p.ipv6_hosts).then(|| host_addr_v6(i));
            let edns = rng
                .random_bool(p.edns_hosts)
                .then(|| if rng.random_bool(0.6) { 1232 } else { 4096 });
            let qtypes = match (kind, rng.random_range(0..100)) {
                (HostKind::Server, 0..70) => A,
                (HostKind::Server, _) => A_AAAA,
                // Chromium-based browsers ask HTTPS records beside A and
                // AAAA: about a tenth of all queries.
                (_, 0..20) => A,
                (_, 20..60) => A_AAAA,
                _ => A_AAAA_HTTPS,
            };
            let activity = activity(rng, kind, config.start_ns, bins);
            let chattiness = chatty.sample(rng)
                * match kind {
                    HostKind::Server => 0.6,
                    _ => 1.0,
                };
            Host {
                v4: host_addr(i),
                v6,
                mac: [0x02, 0x10, 0x00, (i >> 16) as u8, (i >> 8) as u8, i as u8],
                vlans,
                edns,
                qtypes,
                v6_share: if v6.is_some() { 0.6 } else { 0.0 },
                kind,
                activity,
                chattiness,
            }
        })
        .collect()
}

/// Cumulative activity of a host over `bins` bins from `start_ns`
/// (UTC taken as local time; Saturdays and Sundays are quiet).
fn activity(rng: &mut ChaCha8Rng, kind: HostKind, start_ns: u64, bins: usize) -> Vec<f64> {
    let hours = |mean: f64, sd: f64, rng: &mut ChaCha8Rng| {
        Normal::new(mean, sd)
            .expect("valid normal")
            .sample(rng)
            .clamp(0.0, 24.0)
    };
    let (arrive, leave, idle) = match kind {
        HostKind::Workstation => (hours(8.5, 0.75, rng), hours(17.5, 1.0, rng), 0.03),
        HostKind::Laptop => (hours(9.5, 1.5, rng), hours(16.5, 1.5, rng), 0.005),
        HostKind::Server => (0.0, 24.0, 1.0),
    };
    let mut total = 0.0;
    (0..bins)
        .map(|b| {
            let t_s = start_ns / 1_000_000_000 + b as u64 * (BIN_NS / 1_000_000_000);
            let day = (t_s / 86_400 + 4) % 7; // 1970-01-01 was a Thursday: 0 = Sunday
            let hour = (t_s % 86_400) as f64 / 3600.0;
            let level = if kind == HostKind::Server {
                0.8 + 0.2 * ((hour - 14.0) / 24.0 * std::f64::consts::TAU).cos()
            } else if day == 0 || day == 6 || hour < arrive || hour >= leave {
                idle
            } else if (12.0..13.0).contains(&hour) {
                0.5
            } else {
                1.0
            };
            total += level;
            total
        })
        .collect()
}
