//! The infected hosts' traffic — beacons, dynamic-DNS beacons, IP lookups,
//! DGA bursts, tunnels — the benign look-alikes (decoys) and the malformed
//! frames.

use std::collections::HashMap;

use rand::{RngExt, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;

use super::{
    Malformed, Query, ScenarioConfig,
    catalog::{Answer, Catalog, Kind},
    hosts::Host,
    render::BadReason,
    truth::MaliciousKind,
};
use crate::{
    dns::{QTYPE_A, QTYPE_NULL, QTYPE_TXT},
    names::{IP_LOOKUP_SERVICES, words::FIRST_NAMES},
};

/// A beacon as planned (its counts come from the queries).
#[derive(Clone, Debug)]
pub(crate) struct BeaconPlan {
    pub host: u32,
    pub name: u32,
    pub kind: MaliciousKind,
    pub period_s: u64,
    pub jitter: f64,
    pub missed: u64,
}

/// A DGA burst as planned.
#[derive(Clone, Debug)]
pub(crate) struct BurstPlan {
    pub host: u32,
    pub family: String,
    pub names: Vec<u32>,
    pub resolved: Vec<u32>,
}

/// A tunnel as planned.
#[derive(Clone, Debug)]
pub(crate) struct TunnelPlan {
    pub host: u32,
    pub domain: String,
    pub qtype: u16,
    pub names: Vec<u32>,
}

/// What the malicious part put in, for the ground truth.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    /// Benign queries the decoys sent (part of the ordinary budget).
    pub decoy_queries: u64,
    pub beacons: Vec<BeaconPlan>,
    pub bursts: Vec<BurstPlan>,
    pub tunnels: Vec<TunnelPlan>,
    /// Malicious activities by host, in the order they were planned.
    pub roles: Vec<(u32, MaliciousKind)>,
    /// DGA family of each DGA name.
    pub families: HashMap<u32, String>,
    /// Decoy names and why they look suspicious.
    pub decoys: Vec<(u32, String)>,
}

/// A query from host `host` at `t` over IPv4/UDP.
pub(crate) fn query(
    rng: &mut ChaCha8Rng,
    t: u64,
    host: u32,
    name: u32,
    qtype: u16,
    rtt: u32,
) -> Query {
    Query {
        t,
        rtt,
        name,
        host,
        qtype,
        txid: rng.random(),
        sport: rng.random_range(49_152..=65_535),
        flags: 0,
    }
}

fn ms(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> u32 {
    (rng.random_range(lo..hi) * 1e6) as u32
}

/// Distinct random hosts, `n` of them (reusing hosts if there are fewer).
fn pick_hosts(rng: &mut ChaCha8Rng, hosts: usize, n: usize) -> Vec<u32> {
    let mut all: Vec<u32> = (0..hosts as u32).collect();
    all.shuffle(rng);
    (0..n).map(|i| all[i % all.len().max(1)]).collect()
}

/// Generates the malicious queries into `out` and returns the plan.
pub(crate) fn generate(
    rng: &mut ChaCha8Rng,
    config: &ScenarioConfig,
    hosts: &[Host],
    cat: &mut Catalog,
    out: &mut Vec<Query>,
) -> Plan {
    let mut plan = Plan::default();
    if hosts.is_empty() {
        return plan;
    }
    let source = config.names.as_ref();
    let (start, end) = (config.start_ns, config.end_ns());
    let span = end - start;

    // Names, in a fixed order of calls.
    let c2 = source.c2_names(rng, config.beacon_periods_s.len());
    let dyndns = source.dyndns_names(rng, config.dyndns_periods_s.len());
    let mut lookups = source.ip_lookup_names();
    if lookups.is_empty() {
        lookups = IP_LOOKUP_SERVICES.iter().map(|s| (*s).to_owned()).collect();
    }
    lookups.shuffle(rng);
    let bursts = source.dga_bursts(
        rng,
        config.dga_bursts as usize,
        config.dga_burst_size as usize,
    );
    let tunnels: Vec<_> = (0..config.tunnels as usize)
        .map(|i| source.tunnel(rng, i, config.tunnel_queries as usize))
        .collect();

    let roles = config.beacon_periods_s.len()
        + config.dyndns_periods_s.len()
        + bursts.len()
        + tunnels.len()
        + 2 * config.decoys as usize;
    let mut picked = pick_hosts(rng, hosts.len(), roles).into_iter();
    let mut next_host = || picked.next().unwrap_or(0);

    // Beacons: dynamic-DNS ones first, so that the first infected host is
    // the AgentTesla-like one that also checks its public address.
    let specs = config
        .dyndns_periods_s
        .iter()
        .zip(&dyndns)
        .map(|(p, n)| (*p, n, MaliciousKind::DyndnsBeacon))
        .chain(
            config
                .beacon_periods_s
                .iter()
                .zip(&c2)
                .map(|(p, n)| (*p, n, MaliciousKind::Beacon)),
        );
    for (period_s, name, kind) in specs.collect::<Vec<_>>() {
        let host = next_host();
        let ttl = rng.random_range(30..300);
        let Some(id) = cat.add_new(name, ttl, Kind::Malicious(kind), addresses(1, false)) else {
            continue;
        };
        // Capped so that an interval is always positive.
        let max_jitter = config.beacon_jitter.min(0.5);
        let jitter = if max_jitter > 0.0 {
            rng.random_range(max_jitter / 2.0..=max_jitter)
        } else {
            0.0
        };
        let period_ns = period_s.max(1) as f64 * 1e9;
        let mut t = start as f64 + rng.random_range(0.0..period_ns.min(span as f64).max(1.0));
        let mut missed = 0;
        while t < end as f64 {
            if rng.random_bool(config.beacon_miss_rate.clamp(0.0, 1.0)) {
                missed += 1;
            } else {
                let rtt = ms(rng, 0.3, 40.0);
                out.push(query(rng, t as u64, host, id, QTYPE_A, rtt));
            }
            let j = if jitter > 0.0 {
                rng.random_range(-jitter..=jitter)
            } else {
                0.0
            };
            t += period_ns * (1.0 + j);
        }
        plan.roles.push((host, kind));
        plan.beacons.push(BeaconPlan {
            host,
            name: id,
            kind,
            period_s,
            jitter,
            missed,
        });
    }

    // IP lookups: the first beaconing hosts, shortly after their first
    // beacon, and half of them again later.
    let lookers: Vec<(u32, u32)> = plan
        .beacons
        .iter()
        .map(|b| (b.host, b.name))
        .take(config.ip_lookups as usize)
        .collect();
    for (i, (host, beacon)) in lookers.into_iter().enumerate() {
        let service = &lookups[i % lookups.len()];
        let Some(id) = cat.add_new(
            service,
            300,
            Kind::Malicious(MaliciousKind::IpLookup),
            addresses(2, true),
        ) else {
            continue;
        };
        let first = out
            .iter()
            .filter(|q| q.name == beacon)
            .map(|q| q.t)
            .min()
            .unwrap_or(start);
        let mut times = vec![first + rng.random_range(2_000_000_000..30_000_000_000)];
        if rng.random_bool(0.5) {
            times.push(start + rng.random_range(span / 2..span.max(1)));
        }
        for t in times.into_iter().filter(|&t| t < end) {
            let rtt = ms(rng, 5.0, 60.0);
            out.push(query(rng, t, host, id, QTYPE_A, rtt));
        }
        plan.roles.push((host, MaliciousKind::IpLookup));
    }

    // DGA bursts: one host asks the names one after another within a
    // minute or so; an even burst stops at the first name that resolves
    // (near the end), an odd one finds none.
    for (i, family) in bursts.into_iter().enumerate() {
        let host = next_host();
        let mut ids = Vec::new();
        for name in &family.names {
            let answer = Answer::NxDomain { zone_labels: 1 };
            if let Some(id) = cat.add_new(name, 0, Kind::Malicious(MaliciousKind::Dga), answer) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            continue;
        }
        let mut resolved = Vec::new();
        if i % 2 == 0 {
            let last = ids.len() - 1 - rng.random_range(0..ids.len().min(4));
            ids.truncate(last + 1);
            let id = ids[last];
            cat.entries[id as usize].answer = addresses(1, false);
            cat.entries[id as usize].ttl = 300;
            resolved.push(id);
        }
        let mut t = start + rng.random_range(span / 10..span * 8 / 10 + 1);
        for &id in &ids {
            let rtt = ms(rng, 20.0, 250.0);
            out.push(query(rng, t, host, id, QTYPE_A, rtt));
            plan.families.insert(id, family.family.clone());
            t += rng.random_range(50_000_000..1_500_000_000);
        }
        plan.roles.push((host, MaliciousKind::Dga));
        plan.bursts.push(BurstPlan {
            host,
            family: family.family,
            names: ids,
            resolved,
        });
    }

    // Tunnels: every name once, one or two a second, mostly one type.
    for (i, tunnel) in tunnels.into_iter().enumerate() {
        let host = next_host();
        let (main, other) = if i % 2 == 0 {
            (QTYPE_NULL, QTYPE_TXT)
        } else {
            (QTYPE_TXT, QTYPE_NULL)
        };
        let mut ids = Vec::new();
        for name in &tunnel.names {
            let kind = Kind::Malicious(MaliciousKind::Tunnel);
            if let Some(id) = cat.add_new(name, 0, kind, Answer::TunnelData) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            continue;
        }
        let mut t = start + rng.random_range(span / 20..span * 7 / 10 + 1);
        for &id in &ids {
            let qtype = if rng.random_bool(0.1) { other } else { main };
            let rtt = ms(rng, 20.0, 90.0);
            out.push(query(rng, t, host, id, qtype, rtt));
            t += rng.random_range(20_000_000..1_000_000_000);
        }
        plan.roles.push((host, MaliciousKind::Tunnel));
        plan.tunnels.push(TunnelPlan {
            host,
            domain: tunnel.domain,
            qtype: main,
            names: ids,
        });
    }

    // Decoys: a home NAS under a dynamic-DNS provider, asked now and then
    // by two hosts.
    for _ in 0..config.decoys {
        let owner = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let name = format!("{owner}-nas.duckdns.org");
        let Some(id) = cat.add_new(&name, 60, Kind::Decoy, addresses(1, false)) else {
            continue;
        };
        let per_host = (config.duration_s / 7200).max(1);
        for _ in 0..2 {
            let host = next_host();
            for _ in 0..per_host {
                let t = start + hosts[host as usize].sample_offset(rng, span);
                let rtt = ms(rng, 10.0, 80.0);
                out.push(query(rng, t, host, id, QTYPE_A, rtt));
                plan.decoy_queries += 1;
            }
        }
        plan.decoys.push((
            id,
            "a home NAS under a dynamic-DNS provider, asked at random times by two hosts".into(),
        ));
    }
    plan
}

/// Answer of addresses without an alias.
fn addresses(a: u8, aaaa: bool) -> Answer {
    Answer::Addresses {
        a,
        aaaa,
        cname: None,
    }
}

/// The malformed query frames: `malformed_per_reason` of each reason from
/// random hosts at random times.
pub(crate) fn malformed(
    rng: &mut ChaCha8Rng,
    config: &ScenarioConfig,
    hosts: &[Host],
) -> Vec<Malformed> {
    if hosts.is_empty() {
        return Vec::new();
    }
    let span = config.duration_s * 1_000_000_000;
    let mut out = Vec::new();
    for reason in BadReason::ALL {
        for _ in 0..config.malformed_per_reason {
            out.push(Malformed {
                t: config.start_ns + rng.random_range(0..span.max(1)),
                host: rng.random_range(0..hosts.len() as u32),
                reason,
                txid: rng.random(),
                sport: rng.random_range(49_152..=65_535),
            });
        }
    }
    out
}
