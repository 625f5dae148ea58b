//! Tests of the generator: determinism, the truth against the frames
//! (parsed back with a minimal parser of our own), every malicious kind,
//! CDN spread, time order, sizing, and the shared-data source.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::IpAddr,
    path::PathBuf,
    sync::Arc,
};

use super::*;
use crate::names::SharedNames;

/// A small but complete scenario: 60 hosts over three hours.
fn small() -> ScenarioConfig {
    ScenarioConfig {
        tunnel_queries: 300,
        cdn_names: 60,
        ..ScenarioConfig::sized(60, 3 * 3600)
    }
}

/// What the minimal parser makes of a frame.
#[derive(Debug, Default)]
struct Parsed {
    tags: usize,
    ipv6: bool,
    ext: bool,
    tcp: bool,
    /// TCP without payload.
    control: bool,
    src: Option<IpAddr>,
    dns: Option<Result<Dns, &'static str>>,
}

#[derive(Debug)]
struct Dns {
    response: bool,
    truncated: bool,
    rcode: u8,
    qtype: u16,
    name: String,
    edns: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Ethernet, up to two tags, IPv4 or IPv6 (with extension headers), UDP
/// or TCP (one length-prefixed message), then the DNS header and question.
fn parse(f: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let mut off = 12;
    let mut ethertype = be16(f, off).expect("ethertype");
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        p.tags += 1;
        off += 4;
        ethertype = be16(f, off).expect("inner ethertype");
    }
    let l3 = off + 2;
    let (proto, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(f[l3] & 0x0f) * 4;
            let src: [u8; 4] = f[l3 + 12..l3 + 16].try_into().expect("v4");
            p.src = Some(IpAddr::from(src));
            (f[l3 + 9], l3 + ihl)
        }
        0x86dd => {
            p.ipv6 = true;
            let src: [u8; 16] = f[l3 + 8..l3 + 24].try_into().expect("v6");
            p.src = Some(IpAddr::from(src));
            let mut next = f[l3 + 6];
            let mut at = l3 + 40;
            while matches!(next, 0 | 43 | 60) {
                p.ext = true;
                next = f[at];
                at += (usize::from(f[at + 1]) + 1) * 8;
            }
            (next, at)
        }
        other => panic!("unexpected ethertype {other:#x}"),
    };
    let dns = match proto {
        17 => l4 + 8,
        6 => {
            p.tcp = true;
            let start = l4 + usize::from(f[l4 + 12] >> 4) * 4;
            if start == f.len() {
                p.control = true;
                return p;
            }
            let len = usize::from(be16(f, start).expect("TCP length"));
            assert_eq!(start + 2 + len, f.len(), "one whole message per segment");
            start + 2
        }
        other => panic!("unexpected protocol {other}"),
    };
    p.dns = Some(parse_dns(&f[dns..]));
    p
}

fn parse_dns(m: &[u8]) -> Result<Dns, &'static str> {
    if m.len() < 12 {
        return Err("truncated");
    }
    let flags = be16(m, 2).expect("flags");
    let qd = be16(m, 4).expect("qdcount");
    let ar = be16(m, 10).expect("arcount");
    if qd == 0 {
        return Err("other");
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *m.get(at).ok_or("bad_label")?;
        if len == 0 {
            at += 1;
            break;
        }
        if len & 0xc0 == 0xc0 {
            return Err("compression_pointer");
        }
        if len > 63 {
            return Err("bad_label");
        }
        let label = m.get(at + 1..at + 1 + usize::from(len));
        at += usize::from(len) + 1;
        if at >= 255 + 12 {
            return Err("name_too_long");
        }
        labels.push(String::from_utf8_lossy(label.ok_or("bad_label")?).into_owned());
    }
    let qtype = be16(m, at).ok_or("truncated")?;
    be16(m, at + 2).ok_or("truncated")?;
    let name = crate::names::canonical(&labels.join("."));
    // An OPT record is the last additional one: type 41 after a root owner.
    let edns = ar > 0 && m.len() >= 11 && m[m.len() - 11] == 0 && be16(m, m.len() - 10) == Some(41);
    Ok(Dns {
        response: flags & 0x8000 != 0,
        truncated: flags & 0x0200 != 0,
        rcode: (flags & 0x0f) as u8,
        qtype,
        name,
        edns,
    })
}

#[test]
fn same_seed_same_bytes() {
    let c = small();
    let (a, ta) = generate(&c);
    let (b, tb) = generate(&c);
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter()
            .zip(&b)
            .all(|(x, y)| x.frame == y.frame && x.time_ns == y.time_ns)
    );
    assert_eq!(ta, tb);
    let other = ScenarioConfig { seed: 7, ..small() };
    let (c, _) = generate(&other);
    assert!(a.len() != c.len() || a.iter().zip(&c).any(|(x, y)| x.frame != y.frame));
}

#[test]
fn truth_matches_the_frames() {
    let (packets, truth) = generate(&small());
    let mut frames = FrameCounts::default();
    let (mut queries, mut responses, mut nx, mut edns) = (0, 0, 0, 0);
    let mut malformed: BTreeMap<String, u64> = BTreeMap::new();
    let mut qtypes: BTreeMap<String, u64> = BTreeMap::new();
    // (host, name) → queries, for the malicious names.
    let mut asked: HashMap<(IpAddr, String), u64> = HashMap::new();
    let mut hosts = HashSet::new();
    for p in &packets {
        let f = parse(&p.frame);
        frames.packets += 1;
        frames.vlan += u64::from(f.tags > 0);
        frames.qinq += u64::from(f.tags == 2);
        frames.ipv6 += u64::from(f.ipv6);
        frames.ipv6_ext += u64::from(f.ext);
        frames.tcp += u64::from(f.tcp);
        frames.tcp_control += u64::from(f.control);
        match f.dns {
            None => {}
            Some(Err(reason)) => *malformed.entry(reason.to_owned()).or_default() += 1,
            Some(Ok(d)) if d.response => {
                responses += 1;
                nx += u64::from(d.rcode == 3);
                frames.truncated_udp += u64::from(d.truncated && !f.tcp);
            }
            Some(Ok(d)) => {
                queries += 1;
                edns += u64::from(d.edns);
                let src = f.src.expect("source");
                hosts.insert(src);
                *qtypes.entry(tally::qtype_name(d.qtype)).or_default() += 1;
                *asked.entry((src, d.name)).or_default() += 1;
            }
        }
    }
    assert_eq!(frames, truth.frames);
    assert_eq!(frames.packets, truth.packets);
    assert_eq!(packets.len() as u64, truth.packets);
    assert_eq!(queries, truth.queries);
    assert_eq!(responses, truth.responses);
    assert_eq!(nx, truth.nxdomain);
    assert_eq!(edns, truth.edns_queries);
    assert_eq!(qtypes, truth.qtypes);
    assert_eq!(malformed, truth.malformed);
    assert_eq!(
        malformed.len(),
        5,
        "every parse-error reason: {malformed:?}"
    );
    // Hosts with IPv6 appear under both addresses on the wire.
    assert_eq!(hosts.len() as u64, truth.addresses);
    assert!(truth.addresses > truth.hosts);
    for m in &truth.malicious {
        assert_eq!(
            asked.get(&(m.host, m.name.clone())).copied(),
            Some(m.queries),
            "{} from {}",
            m.name,
            m.host
        );
    }
    for cdn in &truth.cdn_names {
        let by: u64 = asked
            .iter()
            .filter(|((_, n), _)| *n == cdn.name)
            .map(|(_, q)| q)
            .sum();
        assert_eq!(by, cdn.queries, "{}", cdn.name);
    }
    assert!(frames.vlan > 0 && frames.qinq > 0 && frames.ipv6_ext > 0 && frames.tcp > 0);
}

#[test]
fn every_malicious_kind_is_present() {
    let config = small();
    let (_, truth) = generate(&config);
    let kinds = truth.malicious_by_kind();
    for kind in MaliciousKind::ALL {
        assert!(
            kinds.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?} missing"
        );
    }
    assert_eq!(
        truth.beacons.len(),
        config.beacon_periods_s.len() + config.dyndns_periods_s.len()
    );
    for b in &truth.beacons {
        let expected = config.duration_s / b.period_s;
        assert!(
            b.queries + b.missed + 1 >= expected && b.queries + b.missed <= expected + 1,
            "{b:?}"
        );
        assert!(b.jitter > 0.0 && b.jitter <= config.beacon_jitter);
    }
    for b in truth
        .beacons
        .iter()
        .filter(|b| b.kind == MaliciousKind::DyndnsBeacon)
    {
        assert!(
            crate::names::DYNDNS_PROVIDERS
                .iter()
                .any(|p| b.name.ends_with(&format!(".{p}"))),
            "{}",
            b.name
        );
    }
    for burst in &truth.dga_bursts {
        assert!(burst.queries >= 20, "{burst:?}");
        assert!(burst.end_ns - burst.start_ns < 120_000_000_000, "{burst:?}");
        let names: Vec<&MaliciousName> = truth
            .malicious
            .iter()
            .filter(|m| m.kind == MaliciousKind::Dga && m.host == burst.host)
            .collect();
        let nx = names.iter().filter(|m| m.nxdomain).count();
        assert!(nx + 1 >= names.len() && nx >= names.len() * 9 / 10);
    }
    let tunnel = &truth.tunnels[0];
    let names: Vec<&MaliciousName> = truth
        .malicious
        .iter()
        .filter(|m| m.kind == MaliciousKind::Tunnel)
        .collect();
    assert_eq!(names.len() as u64, tunnel.queries);
    assert!(names.iter().all(|m| m.queries == 1
        && m.host == tunnel.host
        && m.name.ends_with(&tunnel.domain)
        && m.name.len() > tunnel.domain.len() + 40));
    // Every infected host is listed with its roles.
    for m in &truth.malicious {
        assert!(truth.infected_hosts.iter().any(|h| h.addr == m.host));
    }
}

#[test]
fn beacons_are_periodic_with_jitter() {
    let config = small();
    let (packets, truth) = generate(&config);
    for b in truth.beacons.iter().filter(|b| b.queries >= 10) {
        let times: Vec<u64> = packets
            .iter()
            .filter_map(|p| {
                let f = parse(&p.frame);
                match f.dns {
                    Some(Ok(d)) if !d.response && d.name == b.name => Some(p.time_ns),
                    _ => None,
                }
            })
            .collect();
        let period = b.period_s as f64 * 1e9;
        for w in times.windows(2) {
            let gap = (w[1] - w[0]) as f64 / period;
            // One period (or a few, after missed beats), within the jitter.
            let beats = gap.round();
            assert!(beats >= 1.0 && (gap - beats).abs() <= beats * b.jitter + 1e-6);
        }
    }
}

#[test]
fn cdn_names_are_asked_by_many_hosts() {
    let config = small();
    let (_, truth) = generate(&config);
    assert!(truth.cdn_names.len() >= 50);
    // The least-weighted of 60 names get only a handful of lookups in a
    // small scenario (the fewer since the background noise takes a sixth
    // of the ordinary budget): nearly all are asked by five hosts or more,
    // every one by two.
    for cdn in &truth.cdn_names {
        assert!(cdn.hosts >= 2, "{cdn:?}");
    }
    let few = truth.cdn_names.iter().filter(|c| c.hosts < 5).count();
    assert!(
        few * 10 <= truth.cdn_names.len(),
        "{few} asked by few hosts"
    );
    let median = truth.cdn_names[truth.cdn_names.len() / 2].hosts;
    assert!(median >= u64::from(config.hosts) / 4, "median {median}");
    // The big providers' shapes are there.
    for suffix in ["cloudfront.net", "amazonaws.com", "akamaiedge.net"] {
        assert!(truth.cdn_names.iter().any(|c| c.name.ends_with(suffix)));
    }
}

#[test]
fn timestamps_are_ordered_and_in_range() {
    let config = small();
    let (packets, _) = generate(&config);
    assert!(packets.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    assert!(packets.first().expect("packets").time_ns >= config.start_ns);
    // Responses may trail the end by a round trip.
    assert!(packets.last().expect("packets").time_ns < config.end_ns() + 1_000_000_000);
}

#[test]
fn sized_by_packet_count() {
    let config = ScenarioConfig {
        target_packets: Some(60_000),
        ..small()
    };
    let (packets, truth) = generate(&config);
    let off = (packets.len() as f64 - 60_000.0).abs() / 60_000.0;
    assert!(off < 0.01, "{} packets", packets.len());
    assert_eq!(truth.packets, packets.len() as u64);
}

#[test]
fn demo_plants_a_clean_beacon_a_startup_a_dga_burst_and_a_tunnel() {
    let (packets, truth) = generate(&ScenarioConfig::demo());
    let mut periods: Vec<u64> = truth.beacons.iter().map(|b| b.period_s).collect();
    periods.sort_unstable();
    assert_eq!(periods, [300, 600]);
    // One beacon per period over an hour.
    let five_minutes = truth
        .beacons
        .iter()
        .find(|b| b.period_s == 300)
        .expect("planted");
    assert!((11..=13).contains(&five_minutes.queries));
    assert_eq!(truth.dga_bursts.len(), 1);
    assert_eq!(truth.tunnels.len(), 1);
    assert_eq!(truth.infected_hosts.len(), 4);
    assert_eq!(truth.malformed_total(), 0);
    assert_eq!(truth.hosts, 300);
    let malicious: u64 = truth.malicious.iter().map(|m| m.queries).sum();
    assert_eq!(truth.queries, 20_000 + malicious);
    assert_eq!(packets.len() as u64, truth.packets);
}

#[test]
fn shared_lists_feed_the_scenario() {
    let dir = std::env::var_os("DNSRARE_SHARED_DATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
            PathBuf::from,
        )
        .join("names");
    if !dir.is_dir() {
        eprintln!(
            "shared_lists_feed_the_scenario: {} is absent, so this test checks nothing here",
            dir.display()
        );
        return;
    }
    let shared = SharedNames::load(&dir).expect("shared lists load");
    let config = ScenarioConfig {
        names: Arc::new(shared),
        tunnel_queries: 5000,
        ..small()
    };
    let (packets, truth) = generate(&config);
    assert_eq!(truth.names, "shared");
    assert_eq!(packets.len() as u64, truth.packets);
    let kinds = truth.malicious_by_kind();
    for kind in MaliciousKind::ALL {
        assert!(
            kinds.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?} missing"
        );
    }
    // One netlab family per burst; the iodine tunnel, all of it.
    assert!(
        truth
            .dga_bursts
            .iter()
            .all(|b| b.family != "random-letters")
    );
    assert_eq!(truth.tunnels[0].domain, "hidemyself.org");
    assert!(truth.tunnels[0].queries >= 90);
    // The lists were read, not copied: popular names are Alexa's.
    let (_, builtin) = generate(&small());
    assert_ne!(truth.cdn_names, builtin.cdn_names);
    // And the frames still parse to the truth.
    let queries = packets
        .iter()
        .filter(|p| {
            matches!(
                parse(&p.frame).dns,
                Some(Ok(Dns {
                    response: false,
                    ..
                }))
            )
        })
        .count();
    assert_eq!(queries as u64, truth.queries);
}

#[test]
fn tiny_and_empty_scenarios_do_not_panic() {
    for (hosts, duration_s) in [(0, 3600), (1, 1), (3, 60), (2, 0)] {
        let config = ScenarioConfig {
            beacon_jitter: 5.0,
            ..ScenarioConfig::sized(hosts, duration_s)
        };
        let (packets, truth) = generate(&config);
        assert_eq!(packets.len() as u64, truth.packets);
        assert!(packets.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    }
}

#[test]
fn background_noise_is_there_and_labelled() {
    let config = small();
    let (packets, truth) = generate(&config);
    for class in [
        "popular_tail",
        "mail_txt",
        "mail_mx",
        "service_srv",
        "reverse",
        "chrome_probe",
        "ad_service",
        "dnsbl",
        "nas_ddns",
        "ip_monitor",
        "unknown_cdn",
        "retry_loop",
    ] {
        assert!(
            truth.noise_queries.get(class).copied().unwrap_or(0) > 0,
            "{class} missing: {:?}",
            truth.noise_queries
        );
        assert!(truth.noise.values().any(|c| c == class), "{class}");
    }
    // Noise is never malicious.
    for m in &truth.malicious {
        assert!(truth.noise_class(&m.name).is_none(), "{}", m.name);
    }
    // Query-type shares: A and AAAA dominate, HTTPS about a tenth, TXT,
    // MX and SRV a percent or two each.
    let total: u64 = truth.qtypes.values().sum();
    let share = |t: &str| truth.qtypes.get(t).copied().unwrap_or(0) as f64 / total as f64;
    assert!(share("A") + share("AAAA") > 0.7, "{:?}", truth.qtypes);
    assert!((0.07..0.16).contains(&share("HTTPS")), "{:?}", truth.qtypes);
    for t in ["TXT", "MX", "SRV", "PTR"] {
        assert!((0.005..0.03).contains(&share(t)), "{t}: {:?}", truth.qtypes);
    }
    // Chrome probes: single labels of 7-15 lowercase letters, NXDOMAIN;
    // the IP monitor every five minutes; reverse names under both trees.
    let mut monitor = Vec::new();
    let mut probes = 0;
    for p in &packets {
        let Some(Ok(d)) = parse(&p.frame).dns else {
            continue;
        };
        match truth.noise_class(&d.name) {
            Some("chrome_probe") if !d.name.contains('.') => {
                assert!((7..=15).contains(&d.name.len()), "{}", d.name);
                assert!(d.name.bytes().all(|b| b.is_ascii_lowercase()));
                if d.response {
                    assert_eq!(d.rcode, 3);
                }
                probes += 1;
            }
            Some("ip_monitor") if !d.response => monitor.push(p.time_ns),
            _ => {}
        }
    }
    assert!(probes > 0);
    assert!(monitor.len() as u64 >= config.duration_s / 300 - 1);
    for w in monitor.windows(2) {
        let gap = (w[1] - w[0]) as f64 / 1e9;
        assert!((299.0..301.0).contains(&gap), "{gap}");
    }
    assert!(truth.noise.keys().any(|n| n.ends_with(".ip6.arpa")));
    assert!(truth.noise.keys().any(|n| n.ends_with(".zen.spamhaus.org")));
    // No noise at all when switched off.
    let (_, quiet) = generate(&ScenarioConfig {
        noise: 0.0,
        ..small()
    });
    assert!(quiet.noise.keys().all(|n| {
        matches!(
            quiet.noise_class(n),
            Some("reverse" | "typo" | "search_suffix")
        )
    }));
}
