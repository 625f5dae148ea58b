//! The background noise a real network carries beside browsing, each name
//! recorded with its class in the ground truth ([`Truth::noise`]):
//!
//! - `popular_tail`: deeper sub-names of the long tail of the popular list
//!   (`img12.`, `eu.api.`, `cdn-v2.` …), each asked by a host or three;
//! - `mail_txt`, `mail_mx`: a mail server checking SPF, DMARC and DKIM
//!   records (TXT) of senders and looking up recipients' exchangers (MX);
//! - `service_srv`: clients' SRV lookups (autodiscover, SIP federation,
//!   XMPP, CalDAV) under popular domains, mostly NXDOMAIN;
//! - `reverse`: PTR lookups of public IPv4 (`in-addr.arpa`) and IPv6
//!   (`ip6.arpa`) addresses, many NXDOMAIN (the mail server's checks of
//!   senders among them);
//! - `chrome_probe`: at each browser start (arrival, wake-ups) a
//!   workstation asks three random single-label names of 7–15 letters
//!   (Chromium's intranet-redirect detector), all NXDOMAIN;
//! - `ad_service`: Active Directory's DC locator (`_ldap._tcp.dc._msdcs.`,
//!   site and GUID SRV names), domain-controller host names (`dc01.`,
//!   `WIN-…`), `wpad`, `isatap`, and Windows' connectivity checks
//!   (`dns.msftncsi.com`, `www.msftconnecttest.com`);
//! - `dnsbl`: the mail server's blocklist lookups of senders' addresses
//!   (`<reversed ip>.zen.spamhaus.org` …), most NXDOMAIN;
//! - `nas_ddns`: a home NAS on dynamic DNS asked hourly by one or two
//!   hosts, and the provider's own site now and then;
//! - `ip_monitor`: a server's script checking its public address every
//!   five minutes;
//! - `unknown_cdn`: hex-labelled names under CDN and telemetry providers
//!   no shipped list knows (invented here), asked by many hosts;
//! - `retry_loop`: a host re-asking a failing name (NXDOMAIN or SERVFAIL)
//!   every two seconds for a minute or two.
//!
//! The rate-driven classes scale with the scenario's query density (its
//! ordinary budget per host and hour against [`QUERIES_PER_HOST_HOUR`]) and
//! [`ScenarioConfig::noise`]; the event-driven ones (browser starts, logons,
//! the NAS, the IP monitor) follow the hosts' days. Their queries are part
//! of the ordinary budget. A generator of its own (seeded from the
//! scenario's seed) keeps the rest of the scenario's draws as they were.
//!
//! [`Truth::noise`]: super::Truth::noise

use std::collections::HashMap;

use rand::{RngExt, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;

use super::{
    CORP_AD, F_V6, QUERIES_PER_HOST_HOUR, Query, ScenarioConfig,
    benign::{CORP, Names},
    catalog::{Answer, Catalog, Kind},
    hosts::{BIN_NS, Host, HostKind},
    render::mix,
};
use crate::{
    dns::{QTYPE_A, QTYPE_HTTPS, QTYPE_MX, QTYPE_PTR, QTYPE_SRV, QTYPE_TXT},
    names::{
        ordinary_domain,
        words::{FIRST_NAMES, HOST_PREFIXES, NOUNS},
    },
};

/// A class of background noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum NoiseClass {
    PopularTail,
    MailTxt,
    MailMx,
    ServiceSrv,
    Reverse,
    ChromeProbe,
    AdService,
    Dnsbl,
    NasDdns,
    IpMonitor,
    UnknownCdn,
    RetryLoop,
}

impl NoiseClass {
    /// The class as the ground truth names it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PopularTail => "popular_tail",
            Self::MailTxt => "mail_txt",
            Self::MailMx => "mail_mx",
            Self::ServiceSrv => "service_srv",
            Self::Reverse => "reverse",
            Self::ChromeProbe => "chrome_probe",
            Self::AdService => "ad_service",
            Self::Dnsbl => "dnsbl",
            Self::NasDdns => "nas_ddns",
            Self::IpMonitor => "ip_monitor",
            Self::UnknownCdn => "unknown_cdn",
            Self::RetryLoop => "retry_loop",
        }
    }
}

/// What the noise put in.
#[derive(Debug, Default)]
pub(crate) struct NoisePlan {
    /// The class of each noise name (by catalogue id).
    pub classes: HashMap<u32, NoiseClass>,
    /// Queries it added.
    pub queries: u64,
}

/// Invented CDN and telemetry providers (on no shipped list).
const UNKNOWN_CDNS: &[&str] = &[
    "edge-cache-net.com",
    "fastcontent-delivery.net",
    "cdn-pulse.io",
    "static-mirrorhub.net",
    "tlm-gateway.com",
];
/// DNS blocklist zones; each mail server asks three of them.
const DNSBL_ZONES: &[&str] = &[
    "zen.spamhaus.org",
    "bl.spamcop.net",
    "b.barracudacentral.org",
    "zen.spamhaus.org",
    "dnsbl.sorbs.net",
    "bl.mailspike.net",
];
/// Invented reverse-DNS zones of hosting and access providers.
const PTR_ZONES: &[&str] = &[
    "static.hostnet-provider.com",
    "rev.cloudhost-sys.net",
    "pool.broadband-isp.fr",
    "customer.fiberline.nl",
    "dyn.metrocable.de",
];
const DKIM_SELECTORS: &[&str] = &[
    "google",
    "selector1",
    "selector2",
    "s1",
    "k1",
    "default",
    "mail",
    "dkim",
];
const SRV_SERVICES: &[&str] = &[
    "_autodiscover._tcp",
    "_autodiscover._tcp",
    "_sipfederationtls._tcp",
    "_sip._tls",
    "_xmpp-client._tcp",
    "_caldavs._tcp",
    "_imaps._tcp",
    "_submission._tcp",
];
const TAIL_PREFIXES: &[&str] = &[
    "shop",
    "blog",
    "forum",
    "help",
    "status",
    "careers",
    "portal",
    "my",
    "secure",
    "go",
    "link",
    "click",
    "track",
    "ads",
    "metrics",
    "beacon",
    "sso",
    "id",
    "account",
    "pay",
    "files",
    "dl",
    "download",
    "video",
    "live",
    "search",
    "maps",
    "chat",
    "community",
    "dev",
    "beta",
];
/// Names of stale internal services a host keeps failing to reach.
const STALE_INTERNAL: &[&str] = &[
    "oldfs02",
    "printer-3f",
    "sccm01",
    "backup-nas",
    "legacy-crm",
    "scanner02",
    "wsus-old",
    "kms01",
];
/// AD sites.
const AD_SITES: &[&str] = &["HQ", "Lyon", "DataCenter"];

/// Generates the noise into `out`; `budget` is the scenario's ordinary
/// budget (the noise takes its queries from it).
pub(crate) fn generate(
    config: &ScenarioConfig,
    hosts: &[Host],
    cat: &mut Catalog,
    names: &Names,
    budget: u64,
    out: &mut Vec<Query>,
) -> NoisePlan {
    let mut plan = NoisePlan::default();
    if hosts.is_empty() || config.duration_s == 0 || config.noise <= 0.0 {
        return plan;
    }
    let hours = config.duration_s as f64 / 3600.0;
    let host_hours = f64::from(config.hosts.max(1)) * hours;
    let density = (budget as f64 / (host_hours * QUERIES_PER_HOST_HOUR)).clamp(0.0, 4.0);
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x6e6f_6973_655f_6267),
        config,
        hosts,
        cat,
        out,
        plan: &mut plan,
        span: config.duration_s * 1_000_000_000,
        cumulative: Vec::new(),
    };
    let mut acc = 0.0;
    for h in hosts {
        acc += h.weight().max(1e-12);
        g.cumulative.push(acc);
    }
    let rate = |per_host_hour: f64| (per_host_hour * host_hours * density * config.noise).round();

    g.windows_hosts();
    g.chrome_probes();
    g.popular_tail(names, rate(3.0) as u64);
    g.unknown_cdn(rate(2.0) as u64);
    g.client_reverse(rate(1.2) as u64);
    g.service_srv(names, rate(0.7) as u64);
    g.mail(names, rate(1.3) as u64, rate(2.0) as u64);
    g.nas();
    g.ip_monitor();
    g.retry_loops(rate(1.0 / 60.0) as u64);
    plan
}

struct Gen<'a> {
    rng: ChaCha8Rng,
    config: &'a ScenarioConfig,
    hosts: &'a [Host],
    cat: &'a mut Catalog,
    out: &'a mut Vec<Query>,
    plan: &'a mut NoisePlan,
    /// Scenario length, ns.
    span: u64,
    /// Cumulative host weights, for picking hosts by activity.
    cumulative: Vec<f64>,
}

/// Lowercase letters, `len` of them (from `rng`).
fn letters(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

fn hex(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16usize)]))
        .collect()
}

fn pick<'s>(rng: &mut ChaCha8Rng, from: &[&'s str]) -> &'s str {
    from.choose(rng).copied().unwrap_or("x")
}

fn labels(name: &str) -> u8 {
    name.split('.').filter(|l| !l.is_empty()).count() as u8
}

impl Gen<'_> {
    /// The id of noise name `name` of `class` (added with `ttl` and
    /// `answer` if new), or `None` if it is malicious or a decoy. A name
    /// the catalogue already held as something else keeps that kind but is
    /// recorded under `class` all the same.
    fn name(&mut self, name: &str, class: NoiseClass, ttl: u32, answer: Answer) -> Option<u32> {
        let id = self.cat.intern(name, || (ttl, Kind::Noise, answer));
        if matches!(self.cat.get(id).kind, Kind::Malicious(_) | Kind::Decoy) {
            return None;
        }
        self.plan.classes.entry(id).or_insert(class);
        Some(id)
    }

    /// One query of `qtype` for `name` from `host` at `t` (ns since the
    /// scenario start); dropped if outside the scenario.
    fn ask(&mut self, host: u32, t: u64, name: u32, qtype: u16) {
        if t >= self.span {
            return;
        }
        let h = &self.hosts[host as usize];
        let v6 = h.v6_share > 0.0 && self.rng.random_bool(h.v6_share);
        let rtt = if self.rng.random_bool(0.7) {
            self.rng.random_range(200_000..2_000_000)
        } else {
            self.rng.random_range(5_000_000..150_000_000)
        };
        self.out.push(Query {
            t: self.config.start_ns + t,
            rtt,
            name,
            host,
            qtype,
            txid: self.rng.random(),
            sport: self.rng.random_range(49_152..=65_535),
            flags: if v6 { F_V6 } else { 0 },
        });
        self.plan.queries += 1;
    }

    /// A lookup as the host's browser makes it (its query types).
    fn browse(&mut self, host: u32, t: u64, name: u32) {
        let qtypes = self.hosts[host as usize].qtypes;
        for (k, &qtype) in qtypes.iter().enumerate() {
            self.ask(host, t + k as u64 * 300_000, name, qtype);
        }
    }

    /// A lookup through `getaddrinfo`: A, and AAAA if the host asks it.
    fn resolve(&mut self, host: u32, t: u64, name: u32) {
        let qtypes = self.hosts[host as usize].qtypes;
        for (k, &qtype) in qtypes.iter().filter(|&&q| q != QTYPE_HTTPS).enumerate() {
            self.ask(host, t + k as u64 * 200_000, name, qtype);
        }
    }

    /// A host picked by its share of the traffic.
    fn busy_host(&mut self) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = self.rng.random_range(0.0..total);
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.hosts.len() - 1) as u32
    }

    /// A time in `host`'s activity, ns since the start.
    fn when(&mut self, host: u32) -> u64 {
        self.hosts[host as usize].sample_offset(&mut self.rng, self.span)
    }

    /// Activity level of `host` in the bin holding `t`.
    fn level(&self, host: u32, t: u64) -> f64 {
        let act = &self.hosts[host as usize].activity;
        let b = ((t / BIN_NS) as usize).min(act.len() - 1);
        act[b] - if b == 0 { 0.0 } else { act[b - 1] }
    }

    /// When `host` starts its working days (bins where it becomes busy),
    /// ns since the start; servers and hosts busy from the start have
    /// none.
    fn arrivals(&mut self, host: u32) -> Vec<u64> {
        if self.hosts[host as usize].kind == HostKind::Server {
            return Vec::new();
        }
        let bins = self.hosts[host as usize].activity.len() as u64;
        let mut out = Vec::new();
        for b in 1..bins {
            let t = b * BIN_NS;
            if self.level(host, t) >= 0.4 && self.level(host, t - BIN_NS) < 0.4 {
                let at = t + self.rng.random_range(0..BIN_NS);
                if at < self.span {
                    out.push(at);
                }
            }
        }
        out
    }

    /// Wake-ups and restarts: a few times a day in the host's activity.
    fn wakeups(&mut self, host: u32) -> Vec<u64> {
        let days = (self.span as f64 / 86_400e9).max(0.05);
        let n = (days * self.rng.random_range(0.0..4.0f64)).round() as usize;
        (0..n).map(|_| self.when(host)).collect()
    }

    fn is_windows(&self, host: u32) -> bool {
        let r = mix(self.config.seed ^ u64::from(host) << 20 ^ 0x77_696e) % 100;
        match self.hosts[host as usize].kind {
            HostKind::Server => r < 40,
            _ => r < 85,
        }
    }

    /// Active Directory and Windows: the DC locator at logon and at every
    /// group-policy refresh, WPAD and ISATAP, connectivity checks after
    /// wake-ups.
    fn windows_hosts(&mut self) {
        use NoiseClass::AdService as C;
        let ad = CORP_AD;
        let guid = {
            let r = mix(self.config.seed ^ 0x6775_6964);
            let s = mix(r);
            format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                r >> 32,
                (r >> 16) & 0xffff,
                r & 0xffff,
                s >> 48,
                s & 0xffff_ffff_ffff
            )
        };
        let win_dc = {
            const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            let r = mix(self.config.seed ^ 0x0077_696e_6463);
            let tail: String = (0..11)
                .map(|k| char::from(ALNUM[(mix(r ^ k) % ALNUM.len() as u64) as usize]))
                .collect();
            format!("WIN-{tail}")
        };
        let dc_names = [
            format!("DC01.{ad}"),
            format!("DC02.{ad}"),
            format!("{win_dc}.{ad}"),
        ];
        let mut dcs = Vec::new();
        for n in &dc_names {
            let answer = Answer::Addresses {
                a: 1,
                aaaa: false,
                cname: None,
            };
            dcs.extend(self.name(n, C, 1200, answer));
        }
        if dcs.is_empty() {
            return;
        }
        let srv = |g: &mut Self, name: &str, target: u32| g.name(name, C, 600, Answer::Srv(target));
        let mut site_srv = Vec::new();
        for (k, site) in AD_SITES.iter().enumerate() {
            let dc = dcs[k % dcs.len()];
            let ldap = srv(
                self,
                &format!("_ldap._tcp.{site}._sites.dc._msdcs.{ad}"),
                dc,
            );
            let krb = srv(self, &format!("_kerberos._tcp.{site}._sites.{ad}"), dc);
            if let (Some(l), Some(k)) = (ldap, krb) {
                site_srv.push((l, k, dc));
            }
        }
        let dc_any = srv(self, &format!("_ldap._tcp.dc._msdcs.{ad}"), dcs[0]);
        let by_guid = srv(
            self,
            &format!("_ldap._tcp.{guid}.domains._msdcs.{ad}"),
            dcs[0],
        );
        let kdc = srv(self, &format!("_kerberos._tcp.dc._msdcs.{ad}"), dcs[0]);
        let nx = |labels_: u8| Answer::NxDomain {
            zone_labels: labels_,
        };
        let wpad = self.name(&format!("wpad.{ad}"), C, 300, nx(labels(ad)));
        let isatap = self.name(&format!("isatap.{ad}"), C, 300, nx(labels(ad)));
        let plain = Answer::Addresses {
            a: 1,
            aaaa: true,
            cname: None,
        };
        let ncsi = self.name("dns.msftncsi.com", C, 300, plain.clone());
        let connect = self.name("www.msftconnecttest.com", C, 300, plain);
        if site_srv.is_empty() {
            return;
        }

        for host in 0..self.hosts.len() as u32 {
            if !self.is_windows(host) {
                continue;
            }
            let server = self.hosts[host as usize].kind == HostKind::Server;
            let (site_ldap, site_krb, dc) =
                site_srv[(mix(u64::from(host)) % site_srv.len() as u64) as usize];
            let mut logons = self.arrivals(host);
            if server || self.level(host, 0) >= 0.4 {
                logons.push(self.rng.random_range(0..self.span.min(3_600_000_000_000)));
            }
            let wakeups = self.wakeups(host);
            for &t in &logons {
                let mut at = t;
                let mut step = |g: &mut Self| {
                    at += g.rng.random_range(1_000_000..40_000_000);
                    at
                };
                for id in [Some(site_ldap), dc_any, Some(site_krb), kdc]
                    .into_iter()
                    .flatten()
                {
                    let t = step(self);
                    self.ask(host, t, id, QTYPE_SRV);
                }
                if let Some(id) = by_guid.filter(|_| self.rng.random_bool(0.3)) {
                    let t = step(self);
                    self.ask(host, t, id, QTYPE_SRV);
                }
                let t = step(self);
                self.resolve(host, t, dc);
                if !server {
                    let t = step(self);
                    self.connectivity(host, t, ncsi, connect, wpad);
                    if let Some(id) = isatap.filter(|_| self.rng.random_bool(0.5)) {
                        let t = step(self);
                        self.ask(host, t, id, QTYPE_A);
                    }
                }
            }
            for &t in &wakeups {
                self.connectivity(host, t, ncsi, connect, wpad);
            }
            // Group-policy refresh every 90 ± 30 minutes while busy (a
            // server all day), with WinHTTP's proxy detection.
            let mut t = self.rng.random_range(0..5_400_000_000_000u64);
            while t < self.span {
                if server || self.level(host, t) >= 0.4 {
                    self.ask(host, t, site_ldap, QTYPE_SRV);
                    let at = t + self.rng.random_range(1_000_000..30_000_000);
                    self.resolve(host, at, dc);
                    if self.rng.random_bool(0.3) {
                        self.ask(host, at + 40_000_000, site_krb, QTYPE_SRV);
                    }
                    if let Some(id) = wpad.filter(|_| !server && self.rng.random_bool(0.7)) {
                        self.ask(host, at + 90_000_000, id, QTYPE_A);
                    }
                }
                t += self.rng.random_range(3_600_000_000_000..7_200_000_000_000);
            }
        }
    }

    /// Windows' network connectivity status check (and WPAD) after a
    /// network change.
    fn connectivity(
        &mut self,
        host: u32,
        t: u64,
        ncsi: Option<u32>,
        connect: Option<u32>,
        wpad: Option<u32>,
    ) {
        if let Some(id) = ncsi {
            self.resolve(host, t, id);
        }
        if let Some(id) = connect {
            self.ask(host, t + 30_000_000, id, QTYPE_A);
        }
        if let Some(id) = wpad {
            self.ask(host, t + 60_000_000, id, QTYPE_A);
        }
    }

    /// Chromium's intranet-redirect probes: three random single-label
    /// names at each browser start, all NXDOMAIN; Windows stubs also try
    /// them under the AD domain.
    fn chrome_probes(&mut self) {
        for host in 0..self.hosts.len() as u32 {
            if self.hosts[host as usize].kind == HostKind::Server {
                continue;
            }
            let mut starts: Vec<u64> = self
                .arrivals(host)
                .into_iter()
                .filter(|_| self.rng.random_bool(0.9))
                .collect();
            if self.level(host, 0) >= 0.4 {
                starts.push(self.rng.random_range(0..self.span.min(600_000_000_000)));
            }
            starts.extend(self.wakeups(host));
            if starts.is_empty() && self.hosts[host as usize].weight() > 0.0 {
                // Every workstation starts its browser at least once.
                starts.push(self.when(host));
            }
            let windows = self.is_windows(host);
            for t0 in starts {
                let mut t = t0 + self.rng.random_range(2_000_000_000..20_000_000_000);
                for _ in 0..3 {
                    let len = self.rng.random_range(7..=15);
                    let label = letters(&mut self.rng, len);
                    let nx = Answer::NxDomain { zone_labels: 0 };
                    if let Some(id) = self.name(&label, NoiseClass::ChromeProbe, 0, nx) {
                        self.resolve(host, t, id);
                    }
                    if windows && self.rng.random_bool(0.5) {
                        let name = format!("{label}.{CORP_AD}");
                        let nx = Answer::NxDomain {
                            zone_labels: labels(CORP_AD),
                        };
                        if let Some(id) = self.name(&name, NoiseClass::ChromeProbe, 0, nx) {
                            self.ask(host, t + 1_000_000, id, QTYPE_A);
                        }
                    }
                    t += self.rng.random_range(1_000_000..30_000_000);
                }
            }
        }
    }

    /// Deeper sub-names of the popular list's long tail.
    fn popular_tail(&mut self, names: &Names, lookups: u64) {
        let n = names.registered.len();
        if n == 0 {
            return;
        }
        let lo = 300.min(n - 1);
        let mut pool: Vec<u32> = Vec::new();
        for _ in 0..lookups {
            let host = self.busy_host();
            let t = self.when(host);
            let id = if !pool.is_empty() && self.rng.random_bool(0.4) {
                pool[self.rng.random_range(0..pool.len())]
            } else {
                let domain = names.registered[self.rng.random_range(lo..n)].clone();
                let name = match self.rng.random_range(0..6) {
                    0 => format!(
                        "{}{}.{domain}",
                        pick(
                            &mut self.rng,
                            &["img", "cdn", "static", "s", "media", "assets"]
                        ),
                        self.rng.random_range(1..20)
                    ),
                    1 => format!(
                        "{}.{}.{domain}",
                        pick(&mut self.rng, &["eu", "us", "api", "cdn", "edge", "app"]),
                        pick(&mut self.rng, &["static", "api", "www", "img", "auth"])
                    ),
                    2 | 3 => format!("{}.{domain}", pick(&mut self.rng, TAIL_PREFIXES)),
                    4 => format!(
                        "{}-{}.{domain}",
                        pick(&mut self.rng, &["api", "cdn", "static", "img"]),
                        pick(&mut self.rng, &["v2", "prod", "eu", "us-east", "01", "02"])
                    ),
                    _ => {
                        let prefixes = &HOST_PREFIXES[2..];
                        format!("{}.{domain}", pick(&mut self.rng, prefixes))
                    }
                };
                let answer = if self.rng.random_bool(0.04) {
                    Answer::NxDomain {
                        zone_labels: labels(&domain),
                    }
                } else {
                    Answer::Addresses {
                        a: self.rng.random_range(1..=3),
                        aaaa: self.rng.random_bool(0.5),
                        cname: None,
                    }
                };
                let ttl = [300, 600, 3600, 14_400][self.rng.random_range(0..4)];
                let Some(id) = self.name(&name, NoiseClass::PopularTail, ttl, answer) else {
                    continue;
                };
                pool.push(id);
                id
            };
            self.browse(host, t, id);
        }
    }

    /// A hex-labelled name under an invented provider.
    fn unknown_cdn_name(&mut self, provider: usize) -> String {
        let rng = &mut self.rng;
        let domain = UNKNOWN_CDNS[provider % UNKNOWN_CDNS.len()];
        match provider % UNKNOWN_CDNS.len() {
            0 => format!("{}.{domain}", hex(rng, 10)),
            1 => format!("e{}.x.{domain}", hex(rng, 6)),
            2 => format!("{}-{}.{domain}", hex(rng, 8), hex(rng, 4)),
            3 => format!("s{}.{}.{domain}", rng.random_range(1..10), hex(rng, 12)),
            _ => format!("{}.{domain}", hex(rng, 16)),
        }
    }

    /// Names under invented CDN and telemetry providers, most from a pool
    /// every host shares, a tenth one-off.
    fn unknown_cdn(&mut self, lookups: u64) {
        if lookups == 0 {
            return;
        }
        let mut pool = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for k in 0..240 {
            let name = self.unknown_cdn_name(k);
            let answer = Answer::Addresses {
                a: self.rng.random_range(1..=4),
                aaaa: self.rng.random_bool(0.5),
                cname: None,
            };
            let ttl = [20, 60, 60, 120, 300][self.rng.random_range(0..5)];
            if let Some(id) = self.name(&name, NoiseClass::UnknownCdn, ttl, answer) {
                // Log-normal-ish weights: a few names carry most lookups.
                let u: f64 = self.rng.random_range(0.0..1.0);
                total += (u * 3.0).exp();
                pool.push(id);
                cumulative.push(total);
            }
        }
        for _ in 0..lookups {
            let host = self.busy_host();
            let t = self.when(host);
            let id = if self.rng.random_bool(0.1) {
                let provider = [0, 4][self.rng.random_range(0..2)];
                let name = self.unknown_cdn_name(provider);
                let answer = Answer::Addresses {
                    a: 1,
                    aaaa: false,
                    cname: None,
                };
                match self.name(&name, NoiseClass::UnknownCdn, 60, answer) {
                    Some(id) => id,
                    None => continue,
                }
            } else {
                let u = self.rng.random_range(0.0..total);
                pool[cumulative.partition_point(|&c| c <= u).min(pool.len() - 1)]
            };
            self.browse(host, t, id);
        }
    }

    /// A reverse name of a public IPv4 address (same key, same address
    /// and answer), NXDOMAIN for `nx_share` percent of the keys.
    fn ptr_v4(&mut self, key: u64, nx_share: u64) -> Option<u32> {
        let h = mix(key ^ 0x7074_7234);
        let first = [
            8u8, 20, 31, 37, 45, 62, 77, 81, 89, 91, 95, 104, 151, 185, 193, 212, 217,
        ];
        let a = [
            first[(h % first.len() as u64) as usize],
            (h >> 8) as u8,
            (h >> 16) as u8,
            ((h >> 24) as u8).max(1),
        ];
        let name = format!("{}.{}.{}.{}.in-addr.arpa", a[3], a[2], a[1], a[0]);
        if (h >> 40) % 100 < nx_share {
            let nx = Answer::NxDomain { zone_labels: 4 };
            self.name(&name, NoiseClass::Reverse, 3600, nx)
        } else {
            let zone = PTR_ZONES[((h >> 48) % PTR_ZONES.len() as u64) as usize];
            let target = format!("{}-{}-{}-{}.{zone}", a[0], a[1], a[2], a[3]);
            let target = self.cat.intern(&target, || {
                (
                    3600,
                    Kind::Target,
                    Answer::Addresses {
                        a: 1,
                        aaaa: false,
                        cname: None,
                    },
                )
            });
            self.name(&name, NoiseClass::Reverse, 3600, Answer::Ptr(target))
        }
    }

    /// A reverse name of a public IPv6 address (`ip6.arpa`).
    fn ptr_v6(&mut self, key: u64) -> Option<u32> {
        let h = mix(key ^ 0x7074_7236);
        let prefixes: [[u16; 2]; 6] = [
            [0x2a00, 0x1450],
            [0x2606, 0x4700],
            [0x2a03, 0x2880],
            [0x2620, 0x01ec],
            [0x2001, 0x067c],
            [0x2a02, 0x26f0],
        ];
        let p = prefixes[(h % prefixes.len() as u64) as usize];
        let r = mix(h);
        let words = [
            p[0],
            p[1],
            (h >> 16) as u16,
            (h >> 32) as u16,
            0,
            0,
            (r >> 16) as u16,
            r as u16,
        ];
        let mut nibbles = Vec::with_capacity(32);
        for w in words.iter().rev() {
            for k in 0..4 {
                nibbles.push(format!("{:x}", (w >> (4 * k)) & 0xf));
            }
        }
        let name = format!("{}.ip6.arpa", nibbles.join("."));
        if (h >> 48) % 100 < 70 {
            let nx = Answer::NxDomain { zone_labels: 10 };
            self.name(&name, NoiseClass::Reverse, 3600, nx)
        } else {
            let target = format!("{:x}-{:x}.v6.{}", words[6], words[7], PTR_ZONES[0]);
            let target = self.cat.intern(&target, || {
                (
                    3600,
                    Kind::Target,
                    Answer::Addresses {
                        a: 1,
                        aaaa: true,
                        cname: None,
                    },
                )
            });
            self.name(&name, NoiseClass::Reverse, 3600, Answer::Ptr(target))
        }
    }

    /// Clients' (and above all servers') reverse lookups of public
    /// addresses: logs, `netstat`, admin tools.
    fn client_reverse(&mut self, lookups: u64) {
        for _ in 0..lookups {
            let mut host = self.busy_host();
            if self.rng.random_bool(0.3) {
                // Servers resolve the peers in their logs.
                if let Some(s) = (0..self.hosts.len())
                    .map(|_| self.rng.random_range(0..self.hosts.len() as u32))
                    .take(20)
                    .find(|&h| self.hosts[h as usize].kind == HostKind::Server)
                {
                    host = s;
                }
            }
            let t = self.when(host);
            let id = if self.rng.random_bool(0.3) {
                let key = self.rng.random_range(0..1500u64);
                self.ptr_v6(key)
            } else {
                let key = self.rng.random_range(0..4000u64);
                self.ptr_v4(key, 55)
            };
            if let Some(id) = id {
                self.ask(host, t, id, QTYPE_PTR);
            }
        }
    }

    /// Clients' SRV lookups of services under popular domains.
    fn service_srv(&mut self, names: &Names, lookups: u64) {
        let n = names.registered.len().min(3000);
        if n == 0 {
            return;
        }
        for _ in 0..lookups {
            let host = self.busy_host();
            let t = self.when(host);
            let u: f64 = self.rng.random_range(0.0..1.0);
            let domain = names.registered[((u * u * n as f64) as usize).min(n - 1)].clone();
            let service = pick(&mut self.rng, SRV_SERVICES);
            let name = format!("{service}.{domain}");
            let answer = if mix(name.len() as u64 ^ u64::from(name.as_bytes()[1])).is_multiple_of(3)
            {
                let target = self.cat.intern(&format!("sip.{domain}"), || {
                    (
                        3600,
                        Kind::Target,
                        Answer::Addresses {
                            a: 1,
                            aaaa: false,
                            cname: None,
                        },
                    )
                });
                Answer::Srv(target)
            } else {
                Answer::NxDomain {
                    zone_labels: labels(&domain),
                }
            };
            if let Some(id) = self.name(&name, NoiseClass::ServiceSrv, 3600, answer) {
                self.ask(host, t, id, QTYPE_SRV);
            }
        }
    }

    /// A time weighted to office hours (mail flow), ns since the start.
    fn office_time(&mut self) -> u64 {
        loop {
            let t = self.rng.random_range(0..self.span);
            let hour = ((self.config.start_ns + t) / 3_600_000_000_000) % 24;
            if (8..18).contains(&hour) || self.rng.random_bool(0.35) {
                return t;
            }
        }
    }

    /// The mail servers: per inbound mail a reverse lookup of the sender,
    /// three blocklist lookups, the sender domain's SPF (TXT), often its
    /// DMARC and DKIM records; per outbound mail the recipient domain's
    /// MX.
    fn mail(&mut self, names: &Names, inbound: u64, outbound: u64) {
        let servers: Vec<u32> = (0..self.hosts.len() as u32)
            .filter(|&h| self.hosts[h as usize].kind == HostKind::Server)
            .take(2)
            .collect();
        let servers = if servers.is_empty() { vec![0] } else { servers };
        let n = names.registered.len();
        if n == 0 {
            return;
        }
        let nx2 = Answer::NxDomain { zone_labels: 2 };
        for _ in 0..inbound {
            let k = self.rng.random_range(0..servers.len());
            let host = servers[k];
            let mut t = self.office_time();
            let ip_key = self.rng.random_range(0..3000u64);
            if let Some(id) = self.ptr_v4(ip_key | 1 << 20, 40) {
                self.ask(host, t, id, QTYPE_PTR);
            }
            let h = mix(ip_key ^ 0x6269_7073);
            let a = [
                [37u8, 45, 77, 89, 91, 103, 113, 141, 176, 185, 188, 193, 212][(h % 13) as usize],
                (h >> 8) as u8,
                (h >> 16) as u8,
                ((h >> 24) as u8).max(1),
            ];
            for (z, zone) in DNSBL_ZONES[k * 3..k * 3 + 3].iter().enumerate() {
                t += self.rng.random_range(2_000_000..40_000_000);
                let name = format!("{}.{}.{}.{}.{zone}", a[3], a[2], a[1], a[0]);
                let answer = if mix(h ^ z as u64) % 100 < 18 {
                    Answer::Listed([2, 3, 4, 10, 11][(h >> 50) as usize % 5])
                } else {
                    Answer::NxDomain {
                        zone_labels: labels(zone),
                    }
                };
                if let Some(id) = self.name(&name, NoiseClass::Dnsbl, 900, answer) {
                    self.ask(host, t, id, QTYPE_A);
                }
            }
            // The sender's domain: a popular one (reaching into the tail)
            // or an unknown one.
            let domain = if self.rng.random_bool(0.55) {
                let u: f64 = self.rng.random_range(0.0..1.0);
                names.registered[((u * u * u * n as f64) as usize).min(n - 1)].clone()
            } else {
                let mut r = ChaCha8Rng::seed_from_u64(ip_key);
                ordinary_domain(&mut r)
            };
            t += self.rng.random_range(5_000_000..200_000_000);
            let spf = Answer::Addresses {
                a: 1,
                aaaa: false,
                cname: None,
            };
            // The bare domain is recorded only if the noise added it.
            let known = self.cat.contains(&domain);
            let id = self.cat.intern(&domain, || (3600, Kind::Noise, spf));
            if !known {
                self.plan.classes.entry(id).or_insert(NoiseClass::MailTxt);
            }
            if !matches!(self.cat.get(id).kind, Kind::Malicious(_) | Kind::Decoy) {
                self.ask(host, t, id, QTYPE_TXT);
            }
            if self.rng.random_bool(0.6) {
                t += self.rng.random_range(2_000_000..50_000_000);
                let name = format!("_dmarc.{domain}");
                let answer = if mix(ip_key ^ 0x646d).is_multiple_of(5) {
                    nx2.clone()
                } else {
                    Answer::Text(format!(
                        "v=DMARC1; p={}; rua=mailto:dmarc@{domain}",
                        ["none", "quarantine", "reject"][(ip_key % 3) as usize]
                    ))
                };
                if let Some(id) = self.name(&name, NoiseClass::MailTxt, 3600, answer) {
                    self.ask(host, t, id, QTYPE_TXT);
                }
            }
            if self.rng.random_bool(0.4) {
                t += self.rng.random_range(2_000_000..50_000_000);
                let selector = DKIM_SELECTORS[(ip_key % DKIM_SELECTORS.len() as u64) as usize];
                let name = format!("{selector}._domainkey.{domain}");
                const B64: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let key: String = (0..216)
                    .map(|j| char::from(B64[(mix(ip_key << 8 ^ j) % 64) as usize]))
                    .collect();
                let answer = Answer::Text(format!("v=DKIM1; k=rsa; p=MIGfMA0G{key}"));
                if let Some(id) = self.name(&name, NoiseClass::MailTxt, 3600, answer) {
                    self.ask(host, t, id, QTYPE_TXT);
                }
            }
        }
        for _ in 0..outbound {
            let host = servers[self.rng.random_range(0..servers.len())];
            let t = self.office_time();
            let domain = if self.rng.random_bool(0.7) {
                let u: f64 = self.rng.random_range(0.0..1.0);
                names.registered[((u * u * n as f64) as usize).min(n - 1)].clone()
            } else {
                let key = self.rng.random_range(0..2000u64);
                let mut r = ChaCha8Rng::seed_from_u64(key ^ 0x6f7574);
                ordinary_domain(&mut r)
            };
            let answer = Answer::Addresses {
                a: 1,
                aaaa: false,
                cname: None,
            };
            let known = self.cat.contains(&domain);
            let id = self.cat.intern(&domain, || (3600, Kind::Noise, answer));
            if !known {
                self.plan.classes.entry(id).or_insert(NoiseClass::MailMx);
            }
            if matches!(self.cat.get(id).kind, Kind::Malicious(_) | Kind::Decoy) {
                continue;
            }
            self.ask(host, t, id, QTYPE_MX);
            let mx = format!("mx1.{domain}");
            let answer = Answer::Addresses {
                a: 1,
                aaaa: false,
                cname: None,
            };
            if let Some(id) = self.name(&mx, NoiseClass::MailMx, 3600, answer) {
                let at = t + self.rng.random_range(5_000_000..60_000_000);
                self.ask(host, at, id, QTYPE_A);
            }
        }
    }

    /// A home NAS under dynamic DNS asked hourly by one or two hosts (the
    /// first all day, a sync client; the second while busy), and the
    /// provider's web site now and then.
    fn nas(&mut self) {
        let (name, provider) = loop {
            let provider = ["duckdns.org", "ddns.net"][self.rng.random_range(0..2)];
            let name = if self.rng.random_bool(0.5) {
                format!("{}nas.{provider}", pick(&mut self.rng, FIRST_NAMES))
            } else {
                format!("{}-nas.{provider}", pick(&mut self.rng, NOUNS))
            };
            if !self.cat.contains(&name) {
                break (name, provider);
            }
        };
        let answer = Answer::Addresses {
            a: 1,
            aaaa: false,
            cname: None,
        };
        let Some(nas) = self.name(&name, NoiseClass::NasDdns, 60, answer.clone()) else {
            return;
        };
        let apex = self.name(provider, NoiseClass::NasDdns, 300, answer.clone());
        let www = self.name(&format!("www.{provider}"), NoiseClass::NasDdns, 300, answer);
        let candidates: Vec<u32> = (0..self.hosts.len() as u32)
            .filter(|&h| self.hosts[h as usize].kind != HostKind::Server)
            .collect();
        let candidates = if candidates.is_empty() {
            vec![0]
        } else {
            candidates
        };
        let count = if self.hosts.len() >= 2 { 2 } else { 1 };
        for k in 0..count {
            let host = candidates[self.rng.random_range(0..candidates.len())];
            let mut t = self.rng.random_range(0..3_600_000_000_000u64);
            while t < self.span {
                if k == 0 || self.level(host, t) >= 0.4 {
                    self.ask(host, t, nas, QTYPE_A);
                }
                // Hourly, within a few seconds.
                t += 3_600_000_000_000 + self.rng.random_range(0..4_000_000_000u64);
            }
            let visits = (self.span / 18_000_000_000_000).max(1);
            for _ in 0..visits {
                let t = self.when(host);
                for id in [apex, www].into_iter().flatten() {
                    if self.rng.random_bool(0.7) {
                        self.resolve(host, t, id);
                    }
                }
            }
        }
    }

    /// A monitoring script on a server checking its public address every
    /// five minutes.
    fn ip_monitor(&mut self) {
        let host = (0..self.hosts.len() as u32)
            .rev()
            .find(|&h| self.hosts[h as usize].kind == HostKind::Server)
            .unwrap_or(0);
        let answer = Answer::Addresses {
            a: 1,
            aaaa: false,
            cname: None,
        };
        let Some(id) = self.name("ifconfig.me", NoiseClass::IpMonitor, 300, answer) else {
            return;
        };
        let mut t = self.rng.random_range(0..300_000_000_000u64);
        while t < self.span {
            let at = t + self.rng.random_range(0..300_000_000);
            self.ask(host, at, id, QTYPE_A);
            t += 300_000_000_000;
        }
    }

    /// Windows retry loops: a host re-asking a failing name every two
    /// seconds for a minute or two.
    fn retry_loops(&mut self, episodes: u64) {
        for _ in 0..episodes {
            let host = self.busy_host();
            let t0 = self.when(host);
            let (name, answer) = match self.rng.random_range(0..3) {
                0 => (
                    format!("{}.{CORP}", pick(&mut self.rng, STALE_INTERNAL)),
                    Answer::NxDomain {
                        zone_labels: labels(CORP),
                    },
                ),
                1 => (
                    format!("{}.{CORP_AD}", pick(&mut self.rng, STALE_INTERNAL)),
                    Answer::NxDomain {
                        zone_labels: labels(CORP_AD),
                    },
                ),
                _ => {
                    let mut r = ChaCha8Rng::seed_from_u64(self.rng.random_range(0..40u64));
                    let domain = ordinary_domain(&mut r);
                    let prefix = pick(&mut self.rng, &["license", "update", "sync", "api"]);
                    (format!("{prefix}.{domain}"), Answer::ServFail)
                }
            };
            let Some(id) = self.name(&name, NoiseClass::RetryLoop, 0, answer) else {
                continue;
            };
            let tries = self.rng.random_range(30..=60u64);
            for k in 0..tries {
                let jitter = self.rng.random_range(0..40_000_000u64);
                self.ask(host, t0 + k * 2_000_000_000 + jitter, id, QTYPE_A);
            }
        }
    }
}
