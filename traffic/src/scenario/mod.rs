//! Generated gateway DNS traffic with its ground truth, seeded and
//! deterministic: the same configuration gives the same bytes.
//!
//! What a capture on a company's gateway holds over hours:
//!
//! - **Ordinary hosts** (workstations busy in office hours, laptops that
//!   come and go, steady servers) resolving Zipf-popular names in bursts
//!   (a page and its resources), each with its own favourite long-tail
//!   sites, re-asking a name only once its TTL has run out (apps in use
//!   re-resolve theirs every TTL, a benign near-periodic pattern), A with
//!   AAAA (and HTTPS) as the host's stub does, internal names, SRV lookups
//!   of the domain controllers, reverse lookups, typos and search-suffix
//!   mistakes answered NXDOMAIN. Every query gets a response.
//! - **CDN and cloud auto-generated names** (`d3ag4hukkh62yn.cloudfront.net`,
//!   `ec2-54-12-3-4.compute-1.amazonaws.com`, `e1234.a.akamaiedge.net`, …),
//!   each asked by many hosts: the noise that drowns a plain least-queried
//!   list.
//! - **Background noise** a real network carries (module `noise`, each
//!   name with its class in [`Truth::noise`]): the popular list's long
//!   tail, mail servers' SPF/DMARC/DKIM (TXT), MX and blocklist lookups,
//!   reverse lookups of public IPv4 and IPv6 addresses, Chrome's
//!   intranet-redirect probes, Active Directory's DC locator and Windows'
//!   connectivity checks, a NAS on dynamic DNS, an IP monitor, invented
//!   CDNs, retry loops. Query types: A and AAAA dominate, HTTPS about a
//!   tenth, TXT, MX, SRV and PTR one or two percent each.
//! - **Infected hosts**: periodic C2 beacons (minutes to hours, a few
//!   percent of jitter, missed beats) to random-looking names and to
//!   ordinary-looking names under free dynamic-DNS providers, an IP-lookup
//!   check, DGA bursts (dozens of names in under a minute, almost all
//!   NXDOMAIN) and a DNS tunnel (unique long base32 labels under one
//!   domain, NULL and TXT queries).
//! - **Protocol variety**: 802.1Q and QinQ tags, IPv6 (some with an
//!   extension header), UDP answers truncated and retried over TCP
//!   (length-prefixed), EDNS0 OPT records, and a few malformed queries of
//!   each parse-error reason.
//!
//! Names come from a pluggable [`NameSource`]
//! ([`crate::names::Builtin`] or [`crate::names::SharedNames`]). Packets
//! are in time order, times in ns since the epoch from a fixed start
//! ([`START_NS`], a Monday at 06:00 UTC). The ground truth ([`Truth`]) is
//! counted by construction.
//!
//! Size: `benign_queries` ordinary queries (each with its response) plus
//! the malicious ones and the malformed frames; [`ScenarioConfig::sized`]
//! derives it from hosts × hours, `target_packets` from a packet count.

mod benign;
mod catalog;
mod hosts;
mod malicious;
mod noise;
mod render;
mod tally;
mod truth;

#[cfg(test)]
mod tests;

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::Path,
    sync::Arc,
};

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
pub use truth::{
    Beacon, CdnName, Decoy, DgaBurst, FrameCounts, InfectedHost, MaliciousKind, MaliciousName,
    Truth, Tunnel,
};

use crate::names::{Builtin, NameSource};

/// One frame at a point in scenario time.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Scenario time, ns since the UNIX epoch.
    pub time_ns: u64,
    /// The Ethernet frame.
    pub frame: Vec<u8>,
}

/// Scenario start: Monday 2026-11-30T06:00:00Z.
pub const START_NS: u64 = 1_796_018_400 * 1_000_000_000;

/// Ordinary queries per host and hour in [`ScenarioConfig::sized`]: 300
/// hosts over 12 hours make about 1.3 million packets.
pub const QUERIES_PER_HOST_HOUR: f64 = 180.0;

/// The company's Active Directory domain (DC locator SRV names, domain
/// controllers, WPAD).
pub const CORP_AD: &str = "hq.example-ad.local";

/// The resolver every host asks, over IPv4.
pub const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 53, 0, 1);
/// The resolver over IPv6.
pub const RESOLVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x53, 0, 0, 0, 0, 0, 1);
/// MAC address of the gateway (the resolver side of every frame).
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0x53, 0x00, 0x00, 0x00, 0x01];

/// Address of ordinary host `i` (10.1.0.0/16; distinct for `i` below
/// 64 000).
pub fn host_addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 2) as u8)
}

/// IPv6 address of host `i`, for hosts that have one (fd00:10:1::/64).
pub fn host_addr_v6(i: u32) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfd00,
        0x10,
        1,
        0,
        0,
        0,
        (i >> 16) as u16,
        (i & 0xffff) as u16 + 2,
    )
}

/// Shares of hosts and packets with each protocol feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Protocols {
    /// Hosts on an 802.1Q-tagged segment.
    pub vlan_hosts: f64,
    /// Hosts on a QinQ segment (802.1ad outer tag, 802.1Q inner tag).
    pub qinq_hosts: f64,
    /// Hosts with IPv6 (they send most of their queries over it).
    pub ipv6_hosts: f64,
    /// IPv6 queries with an extension header (hop-by-hop or destination
    /// options) before UDP.
    pub ipv6_ext: f64,
    /// Lookups whose UDP answer comes back truncated (TC) and that are
    /// retried over TCP.
    pub tcp_retry: f64,
    /// Hosts whose stub resolver adds an EDNS0 OPT record.
    pub edns_hosts: f64,
}

impl Default for Protocols {
    fn default() -> Self {
        Self {
            vlan_hosts: 0.2,
            qinq_hosts: 0.05,
            ipv6_hosts: 0.3,
            ipv6_ext: 0.02,
            tcp_retry: 0.003,
            edns_hosts: 0.5,
        }
    }
}

/// Knobs of a generated scenario.
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    /// RNG seed.
    pub seed: u64,
    /// Hosts.
    pub hosts: u32,
    /// Scenario length in seconds.
    pub duration_s: u64,
    /// Scenario start, ns since the epoch.
    pub start_ns: u64,
    /// Ordinary queries over the whole scenario (each answered), unless
    /// `target_packets` is set.
    pub benign_queries: u64,
    /// If set, the ordinary queries are sized so that the capture holds
    /// about this many frames (within a small fraction of a percent: how
    /// many lookups go over TCP, at six frames each, is random).
    pub target_packets: Option<u64>,
    /// Where names come from.
    pub names: Arc<dyn NameSource>,
    /// CDN and cloud names in the catalogue (fewer if the source has
    /// fewer).
    pub cdn_names: u32,
    /// Periods of the beacons to random-looking names, one infected host
    /// each.
    pub beacon_periods_s: Vec<u64>,
    /// Periods of the beacons to dynamic-DNS names, one infected host each.
    pub dyndns_periods_s: Vec<u64>,
    /// Beacon jitter as a fraction of the period: each beacon draws its own
    /// between half of this and this (at most 0.5).
    pub beacon_jitter: f64,
    /// Chance that a beacon skips a beat.
    pub beacon_miss_rate: f64,
    /// Infected hosts (the first beaconing ones) that look up their public
    /// address.
    pub ip_lookups: u32,
    /// DGA bursts, one infected host each.
    pub dga_bursts: u32,
    /// Names per DGA burst (at most).
    pub dga_burst_size: u32,
    /// DNS tunnels, one infected host each.
    pub tunnels: u32,
    /// Queries per tunnel (at most: a shared list may hold fewer names).
    pub tunnel_queries: u32,
    /// Benign look-alikes (a home NAS under a dynamic-DNS provider asked by
    /// two hosts).
    pub decoys: u32,
    /// Malformed query frames of each parse-error reason.
    pub malformed_per_reason: u32,
    /// Protocol variety.
    pub protocols: Protocols,
    /// Background noise (reverse lookups, Chrome probes, AD service
    /// lookups, blocklist and mail lookups, a NAS on dynamic DNS, an IP
    /// monitor, unknown CDNs, retry loops, the popular list's tail), as a
    /// multiple of a real network's share: 0 for none, 1 for realistic.
    /// Its queries are part of the ordinary budget.
    pub noise: f64,
}

impl ScenarioConfig {
    /// The demo's default: 300 hosts over an hour of ordinary traffic with
    /// CDN and background noise, and four infected hosts: a beacon every
    /// five minutes, a RAT's start-up (a public-IP lookup, then a
    /// dynamic-DNS name every ten minutes), a DGA burst and a DNS tunnel.
    pub fn demo() -> Self {
        Self {
            seed: 20_261_129,
            duration_s: 3600,
            benign_queries: 20_000,
            cdn_names: 80,
            beacon_periods_s: vec![300],
            dyndns_periods_s: vec![600],
            beacon_jitter: 0.02,
            beacon_miss_rate: 0.0,
            ip_lookups: 1,
            dga_bursts: 1,
            tunnels: 1,
            decoys: 0,
            malformed_per_reason: 0,
            ..Self::gateway()
        }
    }

    /// A gateway capture of `hosts` hosts over `duration_s` seconds with
    /// every kind of traffic, at [`QUERIES_PER_HOST_HOUR`].
    pub fn sized(hosts: u32, duration_s: u64) -> Self {
        Self {
            seed: 20_261_130,
            hosts,
            duration_s,
            start_ns: START_NS,
            benign_queries: (f64::from(hosts) * duration_s as f64 / 3600.0 * QUERIES_PER_HOST_HOUR)
                .round() as u64,
            target_packets: None,
            names: Arc::new(Builtin),
            cdn_names: 300,
            beacon_periods_s: vec![300, 1800, 6 * 3600],
            dyndns_periods_s: vec![900, 2 * 3600],
            beacon_jitter: 0.05,
            beacon_miss_rate: 0.05,
            ip_lookups: 1,
            dga_bursts: 2,
            dga_burst_size: 50,
            tunnels: 1,
            tunnel_queries: 1500,
            decoys: 1,
            malformed_per_reason: 5,
            protocols: Protocols::default(),
            noise: 1.0,
        }
    }

    /// The default scenario: 300 hosts over 12 hours (about 1.3 million
    /// packets).
    pub fn gateway() -> Self {
        Self::sized(300, 12 * 3600)
    }

    /// Scenario end, ns since the epoch.
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.duration_s * 1_000_000_000
    }
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self::gateway()
    }
}

/// Query flag: sent over IPv6.
pub(crate) const F_V6: u8 = 1;
/// Query flag: an IPv6 extension header before UDP.
pub(crate) const F_EXT: u8 = 2;
/// Query flag: DNS over TCP.
pub(crate) const F_TCP: u8 = 4;
/// Query flag: the UDP response is truncated (TC, no answers).
pub(crate) const F_TC: u8 = 8;

/// One query and its response, before rendering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Query {
    /// Query time, ns since the epoch.
    pub t: u64,
    /// Resolver round trip, ns.
    pub rtt: u32,
    /// Name id in the catalogue.
    pub name: u32,
    /// Host index.
    pub host: u32,
    /// Query type.
    pub qtype: u16,
    /// Transaction id.
    pub txid: u16,
    /// Source port.
    pub sport: u16,
    /// `F_*` flags.
    pub flags: u8,
}

/// A malformed query frame to render.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Malformed {
    /// Time, ns since the epoch.
    pub t: u64,
    /// Host index.
    pub host: u32,
    /// Which parse error it provokes.
    pub reason: render::BadReason,
    /// Transaction id.
    pub txid: u16,
    /// Source port.
    pub sport: u16,
}

/// Generates the scenario: packets in time order and the ground truth.
pub fn generate(config: &ScenarioConfig) -> (Vec<Packet>, Truth) {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let hosts = hosts::population(&mut rng, config);
    let mut cat = catalog::Catalog::default();
    let mut queries = Vec::new();
    let mut truth = Truth {
        seed: config.seed,
        names: config.names.id().to_owned(),
        start_ns: config.start_ns,
        end_ns: config.end_ns(),
        ..Truth::default()
    };
    // Malice first, so that ordinary names never collide with it.
    let plan = malicious::generate(&mut rng, config, &hosts, &mut cat, &mut queries);
    let malformed = malicious::malformed(&mut rng, config, &hosts);
    let budget = match config.target_packets {
        Some(target) => {
            let fixed = 2 * queries.len() as u64 + malformed.len() as u64;
            // Lookups retried over TCP take six frames instead of two.
            let tcp = config.protocols.tcp_retry / (1.0 + config.protocols.tcp_retry);
            let per_query = 2.0 + (render::TCP_FRAMES - 2) as f64 * tcp;
            (target.saturating_sub(fixed) as f64 / per_query).round() as u64
        }
        None => config.benign_queries,
    };
    let names = benign::catalogue(&mut rng, config, &mut cat);
    let noise = noise::generate(
        config,
        &hosts,
        &mut cat,
        &names,
        budget.saturating_sub(plan.decoy_queries),
        &mut queries,
    );
    benign::generate(
        &mut rng,
        config,
        &hosts,
        &mut cat,
        &names,
        budget.saturating_sub(plan.decoy_queries + noise.queries),
        &mut queries,
    );
    let packets = render::packets(config.seed, &hosts, &cat, &queries, &malformed);
    tally::count(
        &mut truth, &hosts, &cat, &queries, &malformed, &plan, &noise,
    );
    debug_assert_eq!(truth.frames.packets, packets.len() as u64);
    truth.packets = packets.len() as u64;
    (packets, truth)
}

/// Writes `packets` as a nanosecond pcap to `pcap` and `truth` as pretty
/// JSON to `truth_json`, creating their directories.
pub fn save(packets: &[Packet], truth: &Truth, pcap: &Path, truth_json: &Path) -> Result<()> {
    for path in [pcap, truth_json] {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    crate::pcap_out::write_pcap(pcap, packets)?;
    std::fs::write(truth_json, serde_json::to_vec_pretty(truth)?)
        .with_context(|| format!("writing {}", truth_json.display()))
}

/// The address malicious and malformed queries of host `i` come from.
pub(crate) fn host_ip(hosts: &[hosts::Host], i: u32) -> IpAddr {
    IpAddr::V4(hosts[i as usize].v4)
}
