//! Ordinary traffic: the name catalogue (popular names with their host
//! prefixes, CDN and cloud names, the company's internal zone) and each
//! host's lookups over the day.
//!
//! A host looks names up in bursts (a page and its resources: other names
//! of the same site, CDN names, popular trackers), at times drawn from its
//! activity over the day. A lookup picks an internal name, a reverse
//! lookup, a typo or search-suffix mistake (NXDOMAIN), a CDN name, one of
//! the host's favourite long-tail sites or a Zipf-popular name; a name
//! still in the host's cache (its TTL not run out) is not asked again, and
//! a few names in constant use are re-asked as soon as their TTL runs out.
//! Each lookup sends the host's query types (A, AAAA, HTTPS); a few come
//! back truncated and are retried over TCP.
//!
//! The host's share of the budget is fixed up front; a host generates a
//! quarter more lookups than it needs and random ones (never the in-use
//! re-asks) are dropped, so its traffic spans the whole day; any shortfall
//! is made up by single lookups at random.

use std::collections::HashMap;

use rand::{RngExt, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Geometric, LogNormal, Zipf};

use super::{
    F_EXT, F_TC, F_TCP, F_V6, Query, ScenarioConfig,
    catalog::{Answer, Catalog, Kind},
    hosts::{Host, HostKind},
};
use crate::{
    dns::{QTYPE_A, QTYPE_PTR, QTYPE_SRV},
    names::words::HOST_PREFIXES,
};

/// The company's own zone.
pub(crate) const CORP: &str = "corp.example.com";
const CORP_HOSTS: &[&str] = &[
    "dc01", "dc02", "fs01", "intranet", "wiki", "mail", "vpn", "print01", "proxy", "git", "sso",
    "erp",
];
const CORP_NX: &[&str] = &["wpad", "isatap"];

/// Public addresses reverse lookups are made for.
const PTR_POOL: u32 = 2000;

/// Picks of ordinary names.
pub(crate) struct Names {
    /// The registered domain of each popular domain, most popular first.
    pub registered: Vec<String>,
    /// Names of each popular domain, most asked first (flat, by range).
    domain_names: Vec<u32>,
    /// Start of each domain's range in `domain_names` (and one past the
    /// last).
    domain_start: Vec<u32>,
    zipf: Zipf<f64>,
    cdn: Vec<u32>,
    cdn_cumulative: Vec<f64>,
    internal: Vec<u32>,
    srv: Vec<u32>,
    nx_internal: Vec<u32>,
    keepalive: Vec<u32>,
}

impl Names {
    pub(crate) fn domains(&self) -> usize {
        self.domain_start.len() - 1
    }

    fn domain(&self, d: usize) -> &[u32] {
        &self.domain_names[self.domain_start[d] as usize..self.domain_start[d + 1] as usize]
    }

    fn popular_domain(&self, rng: &mut ChaCha8Rng) -> usize {
        (self.zipf.sample(rng) as usize).clamp(1, self.domains()) - 1
    }

    /// A name of domain `d`: the first most often.
    fn name_of(&self, rng: &mut ChaCha8Rng, d: usize) -> u32 {
        let names = self.domain(d);
        let mut i = 0;
        while i + 1 < names.len() && rng.random_bool(0.45) {
            i += 1;
        }
        names[i]
    }

    fn cdn(&self, rng: &mut ChaCha8Rng) -> Option<u32> {
        let total = *self.cdn_cumulative.last()?;
        let u = rng.random_range(0.0..total);
        let i = self.cdn_cumulative.partition_point(|&c| c <= u);
        self.cdn.get(i.min(self.cdn.len() - 1)).copied()
    }
}

/// Adds the ordinary names to the catalogue.
pub(crate) fn catalogue(rng: &mut ChaCha8Rng, config: &ScenarioConfig, cat: &mut Catalog) -> Names {
    let source = config.names.as_ref();
    let domains = source.popular_domains(rng);
    let cdn_names = source.cdn_names(rng, config.cdn_names as usize);

    let mut domain_names = Vec::new();
    let mut domain_start = vec![0u32];
    let mut registered = Vec::new();
    for (rank, domain) in domains.iter().enumerate() {
        let count = match rank {
            0..30 => rng.random_range(6..=10),
            30..300 => rng.random_range(2..=4),
            _ => rng.random_range(1..=2),
        };
        for (j, prefix) in HOST_PREFIXES.iter().take(count).enumerate() {
            let name = if prefix.is_empty() {
                domain.clone()
            } else {
                format!("{prefix}.{domain}")
            };
            let ttl = popular_ttl(rng, rank);
            let cname = (rank < 2000 && j < 2 && rng.random_bool(0.25)).then(|| {
                let target = match rng.random_range(0..4) {
                    0 => format!("{name}.edgekey.net"),
                    1 => format!("{name}.cdn.cloudflare.net"),
                    2 => format!("{}.map.fastly.net", domain.replace('.', "-")),
                    _ => format!("{name}.edgesuite.net"),
                };
                cat.intern(&target, || (ttl, Kind::Target, plain(1, true)))
            });
            let answer = Answer::Addresses {
                a: rng.random_range(1..=4),
                aaaa: rng.random_bool(0.6),
                cname,
            };
            if let Some(id) = cat.add_new(&name, ttl, Kind::Popular, answer) {
                domain_names.push(id);
            }
        }
        if domain_names.len() as u32 > *domain_start.last().unwrap_or(&0) {
            domain_start.push(domain_names.len() as u32);
            registered.push(domain.clone());
        }
    }
    if domain_start.len() < 2 {
        // A source without popular names: one stand-in, so picks work.
        let id = cat.intern("www.example.org", || (300, Kind::Popular, plain(1, true)));
        domain_names.push(id);
        domain_start.push(1);
        registered.push("example.org".to_owned());
    }

    let weights = LogNormal::new(0.0, 0.8).expect("valid log-normal");
    let mut cdn = Vec::new();
    let mut cdn_cumulative = Vec::new();
    let mut total = 0.0;
    for name in &cdn_names {
        let ttl = [20, 60, 60, 120, 300][rng.random_range(0..5)];
        let answer = plain(rng.random_range(1..=4), rng.random_bool(0.5));
        if let Some(id) = cat.add_new(name, ttl, Kind::Cdn, answer) {
            total += weights.sample(rng);
            cdn.push(id);
            cdn_cumulative.push(total);
        }
    }

    let mut internal = Vec::new();
    for h in CORP_HOSTS {
        let name = format!("{h}.{CORP}");
        internal.push(cat.intern(&name, || (1200, Kind::Internal, plain(1, false))));
    }
    let srv = ["_ldap._tcp.dc._msdcs", "_kerberos._tcp"]
        .iter()
        .zip([internal[0], internal[1]])
        .map(|(service, target)| {
            let name = format!("{service}.{CORP}");
            cat.intern(&name, || (600, Kind::Internal, Answer::Srv(target)))
        })
        .collect();
    let nx_internal = CORP_NX
        .iter()
        .map(|h| {
            let name = format!("{h}.{CORP}");
            let nx = Answer::NxDomain { zone_labels: 3 };
            cat.intern(&name, || (300, Kind::Internal, nx))
        })
        .collect();
    // Names in constant use: short TTLs among the most popular.
    let keepalive: Vec<u32> = domain_names
        .iter()
        .take(80)
        .copied()
        .filter(|&id| cat.get(id).ttl <= 900)
        .collect();

    let zipf = Zipf::new((domain_start.len() - 1) as f64, 1.0).expect("valid Zipf parameters");
    Names {
        registered,
        domain_names,
        domain_start,
        zipf,
        cdn,
        cdn_cumulative,
        internal,
        srv,
        nx_internal,
        keepalive,
    }
}

fn plain(a: u8, aaaa: bool) -> Answer {
    Answer::Addresses {
        a,
        aaaa,
        cname: None,
    }
}

fn popular_ttl(rng: &mut ChaCha8Rng, rank: usize) -> u32 {
    let choices: &[u32] = if rank < 100 {
        &[60, 120, 300, 300, 600, 900]
    } else {
        &[300, 600, 1800, 3600, 3600, 14_400, 86_400]
    };
    choices[rng.random_range(0..choices.len())]
}

/// What one lookup asks.
#[derive(Clone, Copy)]
struct Want {
    name: u32,
    /// A single query of this type instead of the host's types.
    single: Option<u16>,
    /// An in-use name re-asked on expiry (never dropped).
    keep: bool,
}

/// Per-host generation state.
struct HostGen<'a> {
    i: u32,
    host: &'a Host,
    cache: HashMap<u32, u64>,
    favourites: Vec<u32>,
    keepalive: Vec<u32>,
}

/// Generates `budget` ordinary queries into `out` (what is left of the
/// ordinary budget once the decoys and the background noise took theirs).
pub(crate) fn generate(
    rng: &mut ChaCha8Rng,
    config: &ScenarioConfig,
    hosts: &[Host],
    cat: &mut Catalog,
    names: &Names,
    budget: u64,
    out: &mut Vec<Query>,
) {
    if hosts.is_empty() || budget == 0 {
        return;
    }
    let span = config.duration_s * 1_000_000_000;

    // Each host's share, by largest remainder.
    let weights: Vec<f64> = hosts.iter().map(Host::weight).collect();
    let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let exact: Vec<f64> = weights.iter().map(|w| w / total * budget as f64).collect();
    let mut shares: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut left = budget - shares.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &h in order.iter().cycle() {
        if left == 0 {
            break;
        }
        shares[h] += 1;
        left -= 1;
    }

    out.reserve(budget as usize);
    let start_len = out.len();
    let cluster = Geometric::new(0.45).expect("valid geometric");
    let mean_cluster = 1.0 + (1.0 - 0.45) / 0.45;
    for (i, host) in hosts.iter().enumerate() {
        let share = shares[i];
        if share == 0 {
            continue;
        }
        let mut g = HostGen {
            i: i as u32,
            host,
            cache: HashMap::new(),
            favourites: (0..15)
                .map(|_| {
                    let lo = 30.min(names.domains() - 1);
                    let d = rng.random_range(lo..names.domains());
                    names.domain(d)[0]
                })
                .collect(),
            keepalive: if names.keepalive.is_empty() {
                Vec::new()
            } else {
                (0..rng.random_range(0..=3usize))
                    .map(|_| names.keepalive[rng.random_range(0..names.keepalive.len())])
                    .collect()
            },
        };
        if host.kind != HostKind::Server {
            g.keepalive.push(names.internal[0]);
        }
        let per_want = host.qtypes.len() as f64 * 0.97 + 0.03 + config.protocols.tcp_retry;
        let clusters = (1.25 * share as f64 / (mean_cluster * per_want)).ceil() as usize;
        let mut times: Vec<u64> = (0..clusters)
            .map(|_| host.sample_offset(rng, span))
            .collect();
        times.sort_unstable();

        let mut local: Vec<Query> = Vec::with_capacity((share as usize) * 5 / 4 + 8);
        // Query ranges of droppable lookups.
        let mut droppable: Vec<(u32, u32)> = Vec::new();
        for t0 in times {
            let size = 1 + cluster.sample(rng).min(30) as usize;
            let mut t = config.start_ns + t0;
            let mut domain = None;
            for member in 0..size {
                if t >= config.end_ns() {
                    break;
                }
                let Some(want) = g.pick(rng, names, cat, member, &mut domain, t) else {
                    continue;
                };
                let from = local.len() as u32;
                g.emit(rng, config, cat, want, t, &mut local);
                if !want.keep {
                    droppable.push((from, local.len() as u32 - from));
                }
                t += rng.random_range(2_000_000..400_000_000);
            }
        }
        // Drop random lookups down to the share.
        let mut excess = local.len() as i64 - share as i64;
        if excess > 0 {
            droppable.shuffle(rng);
            let mut drop = vec![false; local.len()];
            for &(from, n) in &droppable {
                if excess <= 0 {
                    break;
                }
                for k in from..from + n {
                    drop[k as usize] = true;
                }
                excess -= i64::from(n);
            }
            let mut k = 0;
            local.retain(|_| {
                k += 1;
                !drop[k - 1]
            });
            // Cut any overshoot from the in-use re-asks, latest first.
            local.truncate(share as usize);
        }
        out.extend_from_slice(&local);
    }

    // Make up any shortfall with single lookups at random.
    let mut cumulative = Vec::with_capacity(hosts.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w.max(1e-12);
        cumulative.push(acc);
    }
    while ((out.len() - start_len) as u64) < budget {
        let u = rng.random_range(0.0..acc);
        let h = cumulative.partition_point(|&c| c <= u).min(hosts.len() - 1);
        let t = config.start_ns + hosts[h].sample_offset(rng, span);
        let d = names.popular_domain(rng);
        let name = names.name_of(rng, d);
        let rtt = rtt(rng);
        out.push(Query {
            t,
            rtt,
            name,
            host: h as u32,
            qtype: QTYPE_A,
            txid: rng.random(),
            sport: rng.random_range(49_152..=65_535),
            flags: 0,
        });
    }
}

fn rtt(rng: &mut ChaCha8Rng) -> u32 {
    if rng.random_bool(0.7) {
        rng.random_range(200_000..2_000_000)
    } else {
        rng.random_range(5_000_000..150_000_000)
    }
}

impl HostGen<'_> {
    /// Picks what lookup `member` of a burst at `t` asks, or nothing if
    /// every candidate is still cached.
    fn pick(
        &mut self,
        rng: &mut ChaCha8Rng,
        names: &Names,
        cat: &mut Catalog,
        member: usize,
        domain: &mut Option<usize>,
        t: u64,
    ) -> Option<Want> {
        if let Some(&name) = self
            .keepalive
            .iter()
            .find(|&&k| self.cache.get(&k).is_none_or(|&e| e <= t))
        {
            return Some(Want {
                name,
                single: None,
                keep: true,
            });
        }
        let server = self.host.kind == HostKind::Server;
        for _ in 0..6 {
            let want = if member == 0 {
                let u: f64 = rng.random_range(0.0..1.0);
                let ptr = if server { 0.05 } else { 0.012 };
                if u < 0.04 {
                    self.plain(names.internal[rng.random_range(0..names.internal.len())])
                } else if u < 0.05 {
                    Want {
                        name: names.srv[rng.random_range(0..names.srv.len())],
                        single: Some(QTYPE_SRV),
                        keep: false,
                    }
                } else if u < 0.06 {
                    self.plain(names.nx_internal[rng.random_range(0..names.nx_internal.len())])
                } else if u < 0.06 + ptr {
                    Want {
                        name: ptr_name(rng, cat, self.i),
                        single: Some(QTYPE_PTR),
                        keep: false,
                    }
                } else if u < 0.064 + ptr {
                    match typo(rng, names, cat) {
                        Some(name) => self.plain(name),
                        None => continue,
                    }
                } else if u < 0.076 + ptr {
                    let d = names.popular_domain(rng);
                    let base = cat.get(names.name_of(rng, d)).name.clone();
                    let name = format!("{base}.{CORP}");
                    let nx = Answer::NxDomain { zone_labels: 3 };
                    self.plain(cat.intern(&name, || (300, Kind::Suffixed, nx)))
                } else if u < 0.156 + ptr {
                    match names.cdn(rng) {
                        Some(name) => self.plain(name),
                        None => continue,
                    }
                } else if u < 0.396 + ptr && !server {
                    self.plain(self.favourites[rng.random_range(0..self.favourites.len())])
                } else {
                    let d = names.popular_domain(rng);
                    *domain = Some(d);
                    self.plain(names.name_of(rng, d))
                }
            } else {
                // A resource of the page: same site, a CDN, a tracker.
                match rng.random_range(0..10) {
                    0..4 => match *domain {
                        Some(d) if names.domain(d).len() > 1 => {
                            let others = &names.domain(d)[1..];
                            self.plain(others[rng.random_range(0..others.len())])
                        }
                        _ => {
                            let d = (names.popular_domain(rng) % 200).min(names.domains() - 1);
                            self.plain(names.name_of(rng, d))
                        }
                    },
                    4..7 => match names.cdn(rng) {
                        Some(name) => self.plain(name),
                        None => continue,
                    },
                    _ => {
                        let d = (names.popular_domain(rng) % 200).min(names.domains() - 1);
                        self.plain(names.name_of(rng, d))
                    }
                }
            };
            if self.cache.get(&want.name).is_none_or(|&e| e <= t) {
                return Some(want);
            }
        }
        None
    }

    fn plain(&self, name: u32) -> Want {
        Want {
            name,
            single: None,
            keep: false,
        }
    }

    /// Sends the queries of one lookup at `t`.
    fn emit(
        &mut self,
        rng: &mut ChaCha8Rng,
        config: &ScenarioConfig,
        cat: &Catalog,
        want: Want,
        t: u64,
        out: &mut Vec<Query>,
    ) {
        let single = want.single.map(|q| [q]);
        let qtypes: &[u16] = match &single {
            Some(q) => q,
            None => self.host.qtypes,
        };
        let p = &config.protocols;
        let mut at = t;
        for &qtype in qtypes {
            let v6 = self.host.v6_share > 0.0 && rng.random_bool(self.host.v6_share);
            let mut flags = if v6 { F_V6 } else { 0 };
            if v6 && rng.random_bool(p.ipv6_ext) {
                flags |= F_EXT;
            }
            let rtt = rtt(rng);
            let mut q = Query {
                t: at,
                rtt,
                name: want.name,
                host: self.i,
                qtype,
                txid: rng.random(),
                sport: rng.random_range(49_152..=65_535),
                flags,
            };
            if rng.random_bool(p.tcp_retry) {
                // Truncated over UDP, asked again over TCP.
                q.flags |= F_TC;
                out.push(q);
                let mut retry = q;
                retry.t = at + u64::from(rtt) + rng.random_range(300_000..3_000_000);
                retry.flags = (flags & F_V6) | F_TCP;
                retry.txid = rng.random();
                retry.rtt = rng.random_range(1_000_000..20_000_000);
                out.push(retry);
            } else {
                out.push(q);
            }
            at += rng.random_range(50_000..500_000);
        }
        let ttl = u64::from(cat.get(want.name).ttl.max(1)) * 1_000_000_000;
        self.cache.insert(want.name, t + ttl);
    }
}

/// A reverse lookup: of another host of the company (answered) or of a
/// public address (NXDOMAIN half of the time).
fn ptr_name(rng: &mut ChaCha8Rng, cat: &mut Catalog, asker: u32) -> u32 {
    if rng.random_bool(0.6) {
        let other = (asker + rng.random_range(1..500u32)) % 500;
        let a = super::host_addr(other).octets();
        let name = format!("{}.{}.{}.{}.in-addr.arpa", a[3], a[2], a[1], a[0]);
        let target = format!("ws{other}.{CORP}");
        let target = cat.intern(&target, || (1200, Kind::Target, plain(1, false)));
        cat.intern(&name, || (1200, Kind::Ptr, Answer::Ptr(target)))
    } else {
        let k = rng.random_range(0..PTR_POOL);
        let h = super::render::mix(u64::from(k) ^ 0x9e37_79b9);
        let a = [
            [23u8, 34, 52, 104, 142, 151, 185, 203][(h % 8) as usize],
            (h >> 8) as u8,
            (h >> 16) as u8,
            ((h >> 24) as u8).max(1),
        ];
        let name = format!("{}.{}.{}.{}.in-addr.arpa", a[3], a[2], a[1], a[0]);
        if h >> 40 & 1 == 0 {
            let nx = Answer::NxDomain { zone_labels: 3 };
            cat.intern(&name, || (3600, Kind::Ptr, nx))
        } else {
            let target = format!("{}-{}-{}-{}.static.example.net", a[0], a[1], a[2], a[3]);
            let target = cat.intern(&target, || (3600, Kind::Target, plain(1, false)));
            cat.intern(&name, || (3600, Kind::Ptr, Answer::Ptr(target)))
        }
    }
}

/// A mistyped popular name (NXDOMAIN), or `None` if the typo happens to
/// be a name already known.
fn typo(rng: &mut ChaCha8Rng, names: &Names, cat: &mut Catalog) -> Option<u32> {
    let d = (names.popular_domain(rng) % 300).min(names.domains() - 1);
    let base = cat.get(names.domain(d)[0]).name.clone();
    let label_end = base.find('.').unwrap_or(base.len());
    let (first, rest) = base.split_at(label_end);
    // Mistype inside the site's own label, not the prefix or TLD.
    let (prefix, label) = match first {
        "www" | "" => {
            let rest = rest.trim_start_matches('.');
            let end = rest.find('.').unwrap_or(rest.len());
            (format!("{first}."), rest[..end].to_owned())
        }
        _ => (String::new(), first.to_owned()),
    };
    if label.len() < 3 || !label.is_ascii() {
        return None;
    }
    let suffix = &base[prefix.len() + label.len()..];
    let mut b = label.into_bytes();
    let at = rng.random_range(1..b.len());
    match rng.random_range(0..4) {
        0 => {
            b.remove(at);
        }
        1 => b.insert(at, b[at - 1]),
        2 => b.swap(at - 1, at),
        _ => b[at] = b"qwertyuiopasdfghjklzxcvbnm"[rng.random_range(0..26)],
    }
    let name = format!("{prefix}{}{suffix}", String::from_utf8(b).ok()?);
    if name == base || cat.contains(&name) {
        return None;
    }
    let nx = Answer::NxDomain { zone_labels: 1 };
    Some(cat.intern(&name, || (900, Kind::Typo, nx)))
}
