//! Counting the ground truth from what was generated (by construction,
//! not by parsing the frames back).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::IpAddr,
};

use super::{
    F_EXT, F_TC, F_TCP, F_V6, Malformed, Query,
    catalog::{Catalog, Kind},
    host_ip,
    hosts::Host,
    malicious::Plan,
    noise::NoisePlan,
    render::{TCP_FRAMES, is_nxdomain},
    truth::{
        Beacon, CdnName, Decoy, DgaBurst, FrameCounts, InfectedHost, MaliciousName, Truth, Tunnel,
    },
};
use crate::{dns, names::canonical};

/// The text form of a query type.
pub(crate) fn qtype_name(qtype: u16) -> String {
    match qtype {
        dns::QTYPE_A => "A".into(),
        dns::QTYPE_AAAA => "AAAA".into(),
        dns::QTYPE_CNAME => "CNAME".into(),
        dns::QTYPE_PTR => "PTR".into(),
        dns::QTYPE_SRV => "SRV".into(),
        dns::QTYPE_TXT => "TXT".into(),
        dns::QTYPE_NULL => "NULL".into(),
        dns::QTYPE_HTTPS => "HTTPS".into(),
        dns::QTYPE_MX => "MX".into(),
        other => format!("TYPE{other}"),
    }
}

#[derive(Default)]
struct Agg {
    queries: u64,
    first: u64,
    last: u64,
    host: u32,
    hosts: HashSet<u32>,
}

/// Fills `truth` from the generated queries, malformed frames and plan.
pub(crate) fn count(
    truth: &mut Truth,
    hosts: &[Host],
    cat: &Catalog,
    queries: &[Query],
    malformed: &[Malformed],
    plan: &Plan,
    noise: &NoisePlan,
) {
    let mut noise_names: HashMap<u32, &'static str> = HashMap::new();
    let mut frames = FrameCounts::default();
    let mut qtypes: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_qtype: HashMap<u16, u64> = HashMap::new();
    let mut askers = vec![false; hosts.len()];
    let mut askers_v6 = vec![false; hosts.len()];
    let mut aggs: HashMap<u32, Agg> = HashMap::new();
    for q in queries {
        let host = &hosts[q.host as usize];
        askers[q.host as usize] = true;
        askers_v6[q.host as usize] |= q.flags & F_V6 != 0;
        *by_qtype.entry(q.qtype).or_default() += 1;
        if is_nxdomain(q, cat) {
            truth.nxdomain += 1;
        }
        if host.edns.is_some() {
            truth.edns_queries += 1;
        }
        let n = if q.flags & F_TCP != 0 { TCP_FRAMES } else { 2 };
        frames.packets += n;
        if !host.vlans.is_empty() {
            frames.vlan += n;
        }
        if host.vlans.len() >= 2 {
            frames.qinq += n;
        }
        if q.flags & F_V6 != 0 {
            frames.ipv6 += n;
        }
        if q.flags & F_EXT != 0 {
            frames.ipv6_ext += 1;
        }
        if q.flags & F_TCP != 0 {
            frames.tcp += n;
            frames.tcp_control += n - 2;
        }
        if q.flags & F_TC != 0 {
            frames.truncated_udp += 1;
        }
        let class = noise
            .classes
            .get(&q.name)
            .map(|c| c.as_str())
            .or(match cat.get(q.name).kind {
                Kind::Ptr => Some("reverse"),
                Kind::Typo => Some("typo"),
                Kind::Suffixed => Some("search_suffix"),
                _ => None,
            });
        if let Some(class) = class {
            *truth.noise_queries.entry(class.to_owned()).or_default() += 1;
            noise_names.insert(q.name, class);
        }
        if !matches!(cat.get(q.name).kind, Kind::Popular | Kind::Internal) {
            let a = aggs.entry(q.name).or_insert_with(|| Agg {
                first: q.t,
                last: q.t,
                host: q.host,
                ..Agg::default()
            });
            a.queries += 1;
            a.first = a.first.min(q.t);
            a.last = a.last.max(q.t);
            a.hosts.insert(q.host);
        }
    }
    for (qtype, n) in by_qtype {
        qtypes.insert(qtype_name(qtype), n);
    }
    for m in malformed {
        let host = &hosts[m.host as usize];
        *truth
            .malformed
            .entry(m.reason.as_str().to_owned())
            .or_default() += 1;
        if !host.vlans.is_empty() {
            frames.vlan += 1;
        }
        if host.vlans.len() >= 2 {
            frames.qinq += 1;
        }
    }
    frames.packets += malformed.len() as u64;
    truth.queries = queries.len() as u64;
    truth.responses = queries.len() as u64;
    truth.qtypes = qtypes;
    truth.frames = frames;
    truth.hosts = askers.iter().filter(|&&a| a).count() as u64;
    truth.addresses = truth.hosts + askers_v6.iter().filter(|&&a| a).count() as u64;

    truth.noise = noise_names
        .iter()
        .map(|(&id, &class)| (canonical(&cat.get(id).name), class.to_owned()))
        .collect();

    let ip = |h: u32| host_ip(hosts, h);
    let name = |id: u32| canonical(&cat.get(id).name);
    let agg = |id: u32| aggs.get(&id);

    let mut ids: Vec<u32> = aggs.keys().copied().collect();
    ids.sort_unstable();
    for &id in &ids {
        let entry = cat.get(id);
        let a = &aggs[&id];
        match entry.kind {
            Kind::Malicious(kind) => truth.malicious.push(MaliciousName {
                name: name(id),
                kind,
                host: ip(a.host),
                queries: a.queries,
                first_ns: a.first,
                last_ns: a.last,
                nxdomain: matches!(entry.answer, super::catalog::Answer::NxDomain { .. }),
                family: plan.families.get(&id).cloned(),
            }),
            Kind::Cdn => truth.cdn_names.push(CdnName {
                name: name(id),
                queries: a.queries,
                hosts: a.hosts.len() as u64,
            }),
            _ => {}
        }
    }
    truth
        .malicious
        .sort_by(|a, b| (a.kind, a.first_ns, &a.name).cmp(&(b.kind, b.first_ns, &b.name)));
    truth
        .cdn_names
        .sort_by(|a, b| b.hosts.cmp(&a.hosts).then(a.name.cmp(&b.name)));

    truth.beacons = plan
        .beacons
        .iter()
        .map(|b| Beacon {
            host: ip(b.host),
            name: name(b.name),
            kind: b.kind,
            period_s: b.period_s,
            jitter: b.jitter,
            queries: agg(b.name).map_or(0, |a| a.queries),
            missed: b.missed,
        })
        .collect();
    truth.dga_bursts = plan
        .bursts
        .iter()
        .map(|b| {
            let stats: Vec<&Agg> = b.names.iter().filter_map(|&id| agg(id)).collect();
            DgaBurst {
                host: ip(b.host),
                family: b.family.clone(),
                start_ns: stats.iter().map(|a| a.first).min().unwrap_or(0),
                end_ns: stats.iter().map(|a| a.last).max().unwrap_or(0),
                queries: stats.iter().map(|a| a.queries).sum(),
                resolved: b.resolved.iter().map(|&id| name(id)).collect(),
            }
        })
        .collect();
    truth.tunnels = plan
        .tunnels
        .iter()
        .map(|t| {
            let stats: Vec<&Agg> = t.names.iter().filter_map(|&id| agg(id)).collect();
            Tunnel {
                host: ip(t.host),
                domain: canonical(&t.domain),
                qtype: qtype_name(t.qtype),
                queries: stats.iter().map(|a| a.queries).sum(),
                start_ns: stats.iter().map(|a| a.first).min().unwrap_or(0),
                end_ns: stats.iter().map(|a| a.last).max().unwrap_or(0),
            }
        })
        .collect();
    let mut infected: Vec<InfectedHost> = Vec::new();
    for &(h, kind) in &plan.roles {
        let addr = ip(h);
        match infected.iter_mut().find(|i| i.addr == addr) {
            Some(i) => i.roles.push(kind),
            None => infected.push(InfectedHost {
                addr,
                addr_v6: hosts[h as usize].v6,
                roles: vec![kind],
            }),
        }
    }
    truth.infected_hosts = infected;
    truth.decoys = plan
        .decoys
        .iter()
        .map(|(id, why)| {
            let mut asked: Vec<IpAddr> = agg(*id)
                .map(|a| a.hosts.iter().map(|&h| ip(h)).collect())
                .unwrap_or_default();
            asked.sort();
            Decoy {
                name: name(*id),
                why: why.clone(),
                hosts: asked,
                queries: agg(*id).map_or(0, |a| a.queries),
            }
        })
        .collect();
}
