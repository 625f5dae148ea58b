//! The suspicion score of a name, as bits of evidence weighed against this
//! network's own base rates, with the parts and their reasons kept so every
//! row can say why it ranks where it does.
//!
//! A property that a share `p` of this network's names (or hosts) has is
//! worth `log2(1 / p)` bits: if 12% of names are asked as TXT, a TXT query
//! says 3 bits; if 0.4% are, 8 bits. Every explanation states the measured
//! share. The soft hints one query can carry (rarity, random labels,
//! NXDOMAIN, TXT/NULL, long labels, dynamic DNS, IP lookup) are capped
//! together at [`SOFT_CAP_BITS`], since they are correlated and each is
//! cheap to produce by chance; evidence that is unlikely by chance over many
//! observations (periodic beats, a host's burst of random NXDOMAIN names, a
//! domain's hundreds of unique names from one host) is not, so it dominates
//! any single query.
//!
//! | signal | bits | when |
//! |---|---|---|
//! | rare | `log2(names / names asked by so few hosts)` | at most 2 hosts asked |
//! | random labels | `log2(1 / share of names at least as random)` | randomness above 0.5 |
//! | NXDOMAIN | `log2(names / NXDOMAIN names)` × share of answers | not a typo-like name |
//! | TXT/NULL | `log2(names / TXT-or-NULL names)` | few hosts |
//! | long labels | `log2(names / names with a 40+ label)` | |
//! | dynamic DNS | `log2(hosts / hosts asking dynamic DNS)` | a customer name, few hosts |
//! | IP lookup | `log2(hosts / hosts asking IP lookups)` | few hosts |
//! | watch list | 20 | on the user's watch list |
//! | beacon | [`beacon_bits`] | periodic arrivals of one host |
//! | DGA host | [`dga_bits`] | its host asked many random NXDOMAIN names |
//! | tunnel domain | [`tunnel_bits`] | many names under its domain from ≤ 2 hosts |
//!
//! Names of a known benign class ([`NameClass`]) give no evidence from
//! their shape. Infrastructure is suppressed, not scored: a name under a
//! listed CDN or cloud suffix keeps a tenth of its bits; so does one whose
//! registered domain has many names asked by many hosts (the spread signal,
//! which needs no list). The score shown is `100 × (1 − 2^(−bits / 10))`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{addresses::AddressClass, class::NameClass};
use crate::model::score::{BeaconScore, Part, Signal};

/// Hosts at or below which a name counts as asked by "few hosts".
const FEW_HOSTS: u64 = 2;
/// Names under one domain from which its spread is judged.
const SPREAD_NAMES: u32 = 20;
/// Names under one domain, from at most two hosts, from which it looks like
/// a tunnel.
pub const TUNNEL_NAMES: u32 = 10;
/// Distinct random-looking names answered NXDOMAIN from which a host
/// looks like it runs a DGA (typos give a few, a DGA dozens).
pub const DGA_HOST_NAMES: u64 = 8;
/// Label length from which a label looks like a tunnel's payload.
const LONG_LABEL: usize = 40;
/// Lexical randomness above which labels count as random.
const RANDOM_FROM: f32 = 0.5;
/// A TLD that fewer than one in this many names use is rare.
const RARE_TLD_SHARE: u64 = 100;
/// Bits a TLD's rarity gives only beyond this (`log2(RARE_TLD_SHARE)`):
/// one name in a hundred is where it starts to say something.
const RARE_TLD_FROM_BITS: f32 = 6.64;
/// The most bits the soft hints of one name add up to.
pub const SOFT_CAP_BITS: f32 = 16.0;
/// The most bits one behaviour (beacon, DGA burst, tunnel) gives.
pub const BEHAVIOUR_CAP_BITS: f32 = 60.0;
/// Bits a watch-list match gives.
const WATCH_BITS: f32 = 20.0;
/// Beats a periodic series needs before it counts as a beacon: with three
/// beats any spacing fits some period, and under eight a ±5% fit happens by
/// chance to bursty browsing often enough to flood a report (each further
/// interval within ±j of the grid has a chance of about 2j).
pub const BEACON_MIN_BEATS: u32 = 8;
/// Periods under this whose name never got a good answer are retry loops
/// (a resolver or stub re-asking a failing name every few seconds), not
/// beacons.
pub const RETRY_PERIOD_S: f64 = 60.0;

/// List matches of a name, as bits.
pub mod marks {
    /// Under a listed CDN or cloud suffix.
    pub const CDN: u8 = 1 << 0;
    /// Under a listed dynamic-DNS provider.
    pub const DYNAMIC_DNS: u8 = 1 << 1;
    /// A listed public-IP lookup service.
    pub const IP_LOOKUP: u8 = 1 << 2;
    /// On the user's watch list.
    pub const WATCH: u8 = 1 << 3;
    /// Has a label of 40 characters or more.
    pub const LONG_LABEL: u8 = 1 << 4;
    /// Marks have been computed (set on every scored name).
    pub const SCORED: u8 = 1 << 7;
}

/// How common each property is in the traffic being analysed: the
/// denominators of every weight. Counts are of distinct names (or hosts).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaseRates {
    /// Names counted in detail.
    pub names: u64,
    /// Names of an ordinary class (the population shape evidence is drawn
    /// from).
    pub ordinary_names: u64,
    /// Names asked by one host.
    pub one_host_names: u64,
    /// Names asked by two hosts.
    pub two_host_names: u64,
    /// Names whose registered domain one host asks.
    pub one_host_domain_names: u64,
    /// Names whose registered domain two hosts ask.
    pub two_host_domain_names: u64,
    /// Ordinary names asked as TXT or NULL.
    pub txt_names: u64,
    /// Ordinary names answered NXDOMAIN.
    pub nx_names: u64,
    /// Ordinary names with a label of 40+ characters.
    pub long_label_names: u64,
    /// Ordinary names by quantized randomness (16 bins of 1/16), at most
    /// [`RANDOMNESS_NAMES_PER_DOMAIN`] per registered domain: one tunnel's
    /// or CDN's thousands of random names must not make every other random
    /// name look common.
    pub randomness: [u64; 16],
    /// Ordinary names per top-level domain.
    pub tlds: std::collections::BTreeMap<String, u64>,
    /// Hosts on the network.
    pub hosts: u64,
    /// Hosts that asked a dynamic-DNS customer name.
    pub ddns_hosts: u64,
    /// Hosts that asked a public-IP lookup service.
    pub ip_lookup_hosts: u64,
    /// Ordinary names by the hour (since the epoch) their registered
    /// domain was first seen on this network.
    pub domain_age: std::collections::BTreeMap<u64, u64>,
    /// The earliest time any registered domain was first seen: where this
    /// network's history begins.
    pub history_start_ns: u64,
    /// Registered domains first seen at or after this are new on this
    /// network (set once the history covers the learning period).
    pub known_before_ns: Option<u64>,
    /// Ordinary names under domains that new.
    pub new_domain_names: u64,
    /// Ordinary names a response with an answer section was seen for.
    pub answered_names: u64,
    /// Of those, answered with 0.0.0.0 or a loopback address.
    pub null_names: u64,
    /// Of those, answered with a private or link-local address.
    pub private_names: u64,
    /// Of those, answered like fast flux ([`is_flux`]).
    pub flux_names: u64,
    /// Registered domains at most two hosts ask that were answered with a
    /// public address (set by the merger).
    pub rare_answered_domains: u64,
    /// Of those, on an address that answers another such domain too.
    pub shared_address_domains: u64,
}

impl BaseRates {
    /// Adds another shard's counts (host figures are set by the merger).
    pub fn add_names(&mut self, other: &Self) {
        self.names += other.names;
        self.ordinary_names += other.ordinary_names;
        self.one_host_names += other.one_host_names;
        self.two_host_names += other.two_host_names;
        self.one_host_domain_names += other.one_host_domain_names;
        self.two_host_domain_names += other.two_host_domain_names;
        self.txt_names += other.txt_names;
        self.nx_names += other.nx_names;
        self.long_label_names += other.long_label_names;
        self.answered_names += other.answered_names;
        self.null_names += other.null_names;
        self.private_names += other.private_names;
        self.flux_names += other.flux_names;
        for (a, b) in self.randomness.iter_mut().zip(other.randomness) {
            *a += b;
        }
        for (tld, n) in &other.tlds {
            *self.tlds.entry(tld.clone()).or_default() += n;
        }
        for (hour, n) in &other.domain_age {
            *self.domain_age.entry(*hour).or_default() += n;
        }
        self.history_start_ns = match (self.history_start_ns, other.history_start_ns) {
            (0, b) => b,
            (a, 0) => a,
            (a, b) => a.min(b),
        };
    }

    /// Sets where the known history ends: registered domains first seen
    /// at or after `known_before_ns` are new.
    pub fn set_known_before(&mut self, known_before_ns: u64) {
        let hour = known_before_ns / NS_PER_HOUR;
        self.known_before_ns = Some(known_before_ns);
        self.new_domain_names = self.domain_age.range(hour..).map(|(_, n)| n).sum();
    }

    /// Ordinary names at least as random as `randomness`.
    fn at_least_as_random(&self, randomness: f32) -> u64 {
        let bin = randomness_bin(randomness);
        self.randomness[bin..].iter().sum()
    }
}

/// Names of one registered domain counted in [`BaseRates::randomness`].
pub const RANDOMNESS_NAMES_PER_DOMAIN: u32 = 3;

/// Nanoseconds per hour, the resolution of [`BaseRates::domain_age`].
pub const NS_PER_HOUR: u64 = 3_600_000_000_000;

/// The bin of a randomness in [`BaseRates::randomness`].
pub fn randomness_bin(randomness: f32) -> usize {
    ((randomness.clamp(0.0, 1.0) * 16.0) as usize).min(15)
}

/// `log2((total + 1) / (count + 1))`: the surprise of a property that
/// `count` of `total` have (add-one smoothed, so an unseen property is
/// surprising but finite).
pub fn surprise(count: u64, total: u64) -> f32 {
    (((total + 1) as f64) / ((count.min(total) + 1) as f64))
        .log2()
        .max(0.0) as f32
}

/// A share as a percentage for explanations: "0.4%", "12%".
pub fn percent(count: u64, total: u64) -> String {
    let p = 100.0 * count as f64 / total.max(1) as f64;
    if p < 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// Distinct answer addresses from which a name can look like fast flux.
pub const FLUX_ADDRESSES: u32 = 5;
/// Distinct networks (IPv4 /16s, IPv6 /32s) those must spread over.
pub const FLUX_NETWORKS: u32 = 3;
/// Longest TTL (seconds) of a fast-flux answer: flux networks keep TTLs
/// short so that takedowns of single hosts do not matter.
pub const FLUX_TTL_MAX: u32 = 300;
/// Bits a known sinkhole answer gives: the name was malware's, and a
/// host still asks for it.
const SINKHOLE_BITS: f32 = 20.0;

/// Addresses beyond the most one answer carried that make the set churn:
/// round-robin DNS hands out the same few addresses in every answer,
/// fast flux new ones over time.
pub const FLUX_CHURN: u32 = 3;

/// Whether answers look like fast flux: many addresses over many networks
/// with short TTLs, changing over time (`churn`: distinct addresses of one
/// family beyond the most one answer carried, at least [`FLUX_CHURN`]).
pub fn is_flux(distinct: u32, churn: u32, networks: u32, ttl_max: u32) -> bool {
    distinct >= FLUX_ADDRESSES
        && churn >= FLUX_CHURN
        && networks >= FLUX_NETWORKS
        && ttl_max <= FLUX_TTL_MAX
}

/// What the resolver's answers for a name say.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AnswerFacts<'a> {
    /// The most telling class among its addresses.
    pub worst: AddressClass,
    /// An address of that class.
    pub worst_address: Option<std::net::IpAddr>,
    /// Distinct addresses kept.
    pub distinct: u32,
    /// Distinct networks among them.
    pub prefixes: u32,
    /// Longest TTL seen.
    pub ttl_max: u32,
    /// [`is_flux`].
    pub flux: bool,
    /// The name its CNAME chain ends in.
    pub cname_target: Option<&'a str>,
    /// That target is under a listed CDN/cloud suffix.
    pub cname_listed: bool,
    /// Distinct registered domains aliasing into the target's domain
    /// (network-wide; 0 when below the sharing threshold).
    pub cname_shared: usize,
    /// The most rare domains sharing one of its addresses, and that
    /// address.
    pub shared_address: Option<(usize, std::net::IpAddr)>,
}

/// Everything the score of one name looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameSignals<'a> {
    /// Its top-level domain (the last label), if it has one.
    pub tld: Option<&'a str>,
    /// Queries for it.
    pub queries: u64,
    /// Distinct hosts that asked.
    pub hosts: u64,
    /// Lexical randomness of its labels, 0..=1.
    pub randomness: f32,
    /// List marks ([`marks`]).
    pub marks: u8,
    /// Its structural class.
    pub class: NameClass,
    /// Distinct names under its registered domain.
    pub domain_names: u32,
    /// When its registered domain was first seen on this network.
    pub domain_first_seen: u64,
    /// Distinct hosts asking names under its registered domain.
    pub domain_hosts: u32,
    /// Responses seen for it.
    pub responses: u32,
    /// NXDOMAIN answers among them.
    pub nxdomain: u32,
    /// Answers with an error RCODE among them (NXDOMAIN included).
    pub failures: u32,
    /// Asked as TXT or NULL.
    pub txt_or_null: bool,
    /// Most distinct random-looking NXDOMAIN names any of its hosts asked
    /// (network-wide).
    pub host_random_nx: u64,
    /// Bits of beacon evidence of its most periodic (host, name), as the
    /// engine cached them ([`beacon_bits`], quantized): the same in every
    /// view, so the order never depends on how a row was reached.
    pub beacon_bits: f32,
    /// That series' period is under [`RETRY_PERIOD_S`].
    pub beacon_short_period: bool,
    /// That series measured, for the explanation (the bits come from
    /// `beacon_bits`).
    pub beacon: Option<BeaconScore>,
    /// What the resolver answered, when an answer section was read.
    pub answer: Option<AnswerFacts<'a>>,
}

/// A name's score and, when asked for, its parts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// 0..=100, from [`score_of_bits`].
    pub score: f32,
    /// Bits of evidence (the order of the report).
    pub bits: f32,
    /// Of those, the soft hints and the watch list (suppression applied):
    /// what the name says by itself, without its behaviour.
    pub soft_bits: f32,
    /// Infrastructure (a listed CDN/cloud suffix or the spread signal):
    /// every part kept a tenth.
    pub suppressed: bool,
    /// The parts (empty unless explained).
    pub parts: Vec<Part>,
}

/// Collects parts only when explaining; the hot path formats nothing.
struct Parts {
    explain: bool,
    total: f32,
    parts: Vec<Part>,
}

impl Parts {
    /// A part that adds nothing but explains (a known class).
    fn note(&mut self, signal: Signal, detail: impl FnOnce() -> String) {
        if self.explain {
            self.parts.push(Part {
                signal,
                points: 0.0,
                detail: detail(),
            });
        }
    }

    fn add(&mut self, signal: Signal, bits: f32, detail: impl FnOnce() -> String) {
        if bits == 0.0 {
            return;
        }
        self.total += bits;
        if self.explain {
            self.parts.push(Part {
                signal,
                points: bits,
                detail: detail(),
            });
        }
    }
}

/// The displayed score of `bits` of evidence: 0..100, 50 at 10 bits, 75 at
/// 20, 94 at 40.
pub fn score_of_bits(bits: f32) -> f32 {
    if bits <= 0.0 {
        return 0.0;
    }
    (100.0 * (1.0 - (-bits / 10.0).exp2())).clamp(0.0, 100.0)
}

/// Whether a name's periodic series counts as beacon evidence: an
/// ordinary name, asked by few hosts (a name many hosts ask on a timer is
/// software everyone runs), not a retry loop, and not a public-IP lookup
/// service (checked on a timer by updaters and monitors; malware checks
/// once, at start-up).
pub fn beacon_counts(s: &NameSignals<'_>) -> bool {
    s.beacon_bits > 0.0
        && !s.class.is_benign()
        && s.hosts <= FEW_HOSTS
        && s.marks & marks::IP_LOOKUP == 0
        && !is_retry_loop(s)
}

/// Whether a name's periodic series is a retry loop rather than a beacon:
/// a period under [`RETRY_PERIOD_S`] on a name that never got a good
/// answer (a stub or resolver re-asking a failing name).
pub fn is_retry_loop(s: &NameSignals<'_>) -> bool {
    s.beacon_short_period && (s.responses == 0 || s.failures >= s.responses)
}

/// Whether labels of this lexical randomness (0..=1) count as random.
pub fn is_random(randomness: f32) -> bool {
    randomness > RANDOM_FROM
}

/// Bits of evidence that a series is periodic: each beat after the first
/// three that lands within ±jitter of the period grid has a chance of about
/// `2 × jitter` (at least 2%) of doing so by chance, weighted by the
/// series' regularity score; capped at [`BEHAVIOUR_CAP_BITS`]. A missed
/// beat costs two beats: a grid with gaps fits bursty traffic far more
/// easily (an app re-resolving on its TTL while in use). Series with fewer
/// than [`BEACON_MIN_BEATS`] beats beyond their missed ones give nothing.
pub fn beacon_bits(b: &BeaconScore) -> f32 {
    if b.beats < BEACON_MIN_BEATS + b.missed {
        return 0.0;
    }
    let per_beat = (1.0 / (2.0 * b.jitter.max(0.01))).log2().max(0.0);
    let telling = b.beats.saturating_sub(3 + 2 * b.missed);
    (b.score * per_beat * telling as f32).min(BEHAVIOUR_CAP_BITS)
}

/// Bits of evidence that a host runs a DGA: `names` distinct random-looking
/// names answered NXDOMAIN, each as surprising as such names are among this
/// network's names (at most 3 bits each), from [`DGA_HOST_NAMES`] on.
pub fn dga_bits(names: u64, base: &BaseRates) -> f32 {
    if names < DGA_HOST_NAMES {
        return 0.0;
    }
    let each = surprise(base.nx_names, base.ordinary_names).clamp(1.0, 3.0);
    (names as f32 * each).min(BEHAVIOUR_CAP_BITS)
}

/// Bits of evidence that a domain carries a tunnel: `names` distinct names
/// under it from at most two hosts, 1.5 bits each beyond the first five
/// (from [`TUNNEL_NAMES`] on).
pub fn tunnel_bits(names: u32) -> f32 {
    if names < TUNNEL_NAMES {
        return 0.0;
    }
    (1.5 * (names - 5) as f32).min(BEHAVIOUR_CAP_BITS)
}

/// Scores a name against `base`; with `explain`, keeps each part with its
/// reason.
pub fn evaluate(s: &NameSignals<'_>, base: &BaseRates, explain: bool) -> Scored {
    let mut p = Parts {
        explain,
        total: 0.0,
        parts: Vec::new(),
    };
    let few = s.hosts <= FEW_HOSTS;
    let ordinary = !s.class.is_benign();
    let infrastructure =
        s.domain_names >= SPREAD_NAMES && u64::from(s.domain_hosts) >= (base.hosts / 30).max(5);
    let tunnel_domain = s.domain_names >= TUNNEL_NAMES && s.domain_hosts <= 2;

    // Soft hints: each weighed by its share in this network. Rarity is the
    // registered domain's when few hosts ask anything under it (a rare
    // name under a popular domain says little); for a known structure it
    // says nothing either.
    if !ordinary {
        p.note(Signal::KnownClass, || s.class.describe().to_owned());
    } else if u64::from(s.domain_hosts) <= FEW_HOSTS && s.domain_hosts > 0 {
        let alike = if s.domain_hosts == 1 {
            base.one_host_domain_names
        } else {
            base.one_host_domain_names + base.two_host_domain_names
        };
        p.add(Signal::Rare, surprise(alike, base.names), || {
            format!(
                "rare domain: {} {} from {} of {} hosts ({} of names are under so rare a domain)",
                s.queries,
                if s.queries == 1 { "query" } else { "queries" },
                s.domain_hosts,
                base.hosts.max(u64::from(s.domain_hosts)),
                percent(alike, base.names)
            )
        });
    } else if few && s.hosts > 0 {
        let alike = if s.hosts == 1 {
            base.one_host_names
        } else {
            base.one_host_names + base.two_host_names
        };
        p.add(Signal::Rare, surprise(alike, base.names), || {
            format!(
                "rare: {} {} from {} of {} hosts ({} of names are this rare)",
                s.queries,
                if s.queries == 1 { "query" } else { "queries" },
                s.hosts,
                base.hosts.max(s.hosts),
                percent(alike, base.names)
            )
        });
    }
    if ordinary && is_random(s.randomness) {
        let alike = base.at_least_as_random(s.randomness);
        let all: u64 = base.randomness.iter().sum();
        p.add(Signal::RandomLabels, surprise(alike, all), || {
            format!(
                "random labels p={:.2} ({} of names as random)",
                s.randomness,
                percent(alike, all)
            )
        });
    }
    if ordinary && let Some(tld) = s.tld {
        let alike = base.tlds.get(tld).copied().unwrap_or(0);
        // Only TLDs rarer than one name in a hundred say anything.
        if alike * RARE_TLD_SHARE < base.ordinary_names {
            p.add(
                Signal::RareTld,
                surprise(alike, base.ordinary_names) - RARE_TLD_FROM_BITS,
                || {
                    format!(
                        "rare TLD .{tld}: {} of this network's names",
                        percent(alike, base.ordinary_names)
                    )
                },
            );
        }
    }
    if ordinary
        && let Some(cut) = base.known_before_ns
        && s.domain_first_seen >= cut
    {
        p.add(
            Signal::NewDomain,
            surprise(base.new_domain_names, base.ordinary_names),
            || {
                format!(
                    "new domain: first seen {} (history since {}; {} of names are under domains this new)",
                    utc_minutes(s.domain_first_seen),
                    utc_minutes(base.history_start_ns),
                    percent(base.new_domain_names, base.ordinary_names)
                )
            },
        );
    }
    if ordinary && s.nxdomain > 0 {
        let share = (s.nxdomain as f32 / s.responses.max(1) as f32).min(1.0);
        // A mistyped name is answered NXDOMAIN too; it looks ordinary.
        let weight = if is_random(s.randomness) { 1.0 } else { 0.3 };
        p.add(
            Signal::Nxdomain,
            weight * share * surprise(base.nx_names, base.ordinary_names),
            || {
                format!(
                    "NXDOMAIN {:.0}% ({} of names get NXDOMAIN)",
                    share * 100.0,
                    percent(base.nx_names, base.ordinary_names)
                )
            },
        );
    }
    if ordinary && s.txt_or_null && few {
        p.add(
            Signal::TxtOrNull,
            surprise(base.txt_names, base.ordinary_names),
            || {
                format!(
                    "TXT/NULL: {} of this network's names",
                    percent(base.txt_names, base.ordinary_names)
                )
            },
        );
    }
    if ordinary && s.marks & marks::LONG_LABEL != 0 {
        p.add(
            Signal::LongLabels,
            surprise(base.long_label_names, base.ordinary_names),
            || {
                format!(
                    "a label of {LONG_LABEL}+ characters ({} of names)",
                    percent(base.long_label_names, base.ordinary_names)
                )
            },
        );
    }
    if ordinary && s.marks & marks::DYNAMIC_DNS != 0 && few {
        p.add(
            Signal::DynamicDns,
            surprise(base.ddns_hosts, base.hosts),
            || {
                format!(
                    "dynamic-DNS name: {} of hosts ask one",
                    percent(base.ddns_hosts, base.hosts)
                )
            },
        );
    }
    // Malware checks its public address once, at start-up; a check on a
    // timer is an updater or a monitor (noted with the beacon below).
    let periodic_check = s.beacon_bits > 0.0 && s.marks & marks::IP_LOOKUP != 0;
    if s.marks & marks::IP_LOOKUP != 0
        && !periodic_check
        && s.hosts <= (base.hosts / 20).max(FEW_HOSTS)
    {
        p.add(
            Signal::IpLookup,
            surprise(base.ip_lookup_hosts, base.hosts),
            || {
                format!(
                    "public-IP lookup: {} of hosts check their address",
                    percent(base.ip_lookup_hosts, base.hosts)
                )
            },
        );
    }
    if ordinary && let Some(a) = &s.answer {
        answer_hints(&mut p, a, base);
    }
    if p.total > SOFT_CAP_BITS {
        let over = p.total - SOFT_CAP_BITS;
        p.add(Signal::Rare, -over, || {
            format!("soft hints capped at {SOFT_CAP_BITS:.0} bits")
        });
    }
    if s.marks & marks::WATCH != 0 {
        p.add(Signal::Watch, WATCH_BITS, || "on the watch list".into());
    }
    if let Some(a) = &s.answer
        && a.worst == AddressClass::Sinkhole
    {
        p.add(Signal::Sinkhole, SINKHOLE_BITS, || {
            format!(
                "answered with a known sinkhole address ({})",
                a.worst_address
                    .map_or_else(String::new, |ip| ip.to_string())
            )
        });
    }
    let soft = p.total;
    // Behaviour: unlikely by chance, not capped with the hints.
    if periodic_check {
        p.note(Signal::Beacon, || {
            "periodic public-IP check (what dynamic-DNS updaters and monitors do): no beacon evidence".into()
        });
    }
    if beacon_counts(s) {
        p.add(Signal::Beacon, s.beacon_bits, || {
            s.beacon
                .as_ref()
                .map_or_else(|| "beacon: periodic arrivals".to_owned(), beacon_detail)
        });
    }
    if ordinary && s.nxdomain > 0 && is_random(s.randomness) {
        p.add(Signal::DgaHost, dga_bits(s.host_random_nx, base), || {
            format!(
                "DGA-like host: {} random names answered NXDOMAIN",
                s.host_random_nx
            )
        });
    }
    if ordinary && tunnel_domain {
        p.add(Signal::TunnelDomain, tunnel_bits(s.domain_names), || {
            format!(
                "{} names under its domain from {} {}",
                s.domain_names,
                s.domain_hosts,
                if s.domain_hosts == 1 { "host" } else { "hosts" }
            )
        });
    }

    let before = p.total;
    let cname_infrastructure = s
        .answer
        .as_ref()
        .filter(|a| a.cname_listed || a.cname_shared > 0)
        .and_then(|a| a.cname_target.map(|t| (t, a.cname_listed, a.cname_shared)));
    let suppressed = s.marks & marks::CDN != 0 || infrastructure || cname_infrastructure.is_some();
    if let Some((target, listed, shared)) = cname_infrastructure
        && s.marks & marks::CDN == 0
    {
        p.add(Signal::CnameInfrastructure, -0.9 * before, || {
            if listed {
                format!("CNAME to {target}: a CDN/cloud name (infrastructure)")
            } else {
                format!(
                    "CNAME to {target}: {shared} other domains alias into its domain (infrastructure)"
                )
            }
        });
    } else if s.marks & marks::CDN != 0 {
        p.add(Signal::CdnList, -0.9 * before, || {
            "CDN/cloud suffix list: infrastructure".into()
        });
    } else if infrastructure {
        p.add(Signal::Infrastructure, -0.9 * before, || {
            format!(
                "infrastructure: {} names under its domain asked by {} hosts",
                s.domain_names, s.domain_hosts
            )
        });
    }
    let bits = p.total.max(0.0);
    Scored {
        score: score_of_bits(bits),
        bits,
        soft_bits: if suppressed { 0.1 * soft } else { soft }.max(0.0),
        suppressed,
        parts: p.parts,
    }
}

/// The soft hints of a name's answers, each weighed by how many of this
/// network's answered names share it.
fn answer_hints(p: &mut Parts, a: &AnswerFacts<'_>, base: &BaseRates) {
    // Null and private answers: one hint each, worded by class (the text
    // is only formatted when explaining).
    let class_hint = match a.worst {
        AddressClass::Null | AddressClass::Loopback => {
            Some((Signal::NullAnswer, base.null_names, "answered ", ""))
        }
        AddressClass::Private | AddressClass::LinkLocal => Some((
            Signal::PrivateAnswer,
            base.private_names,
            "a public name answered with a ",
            " address",
        )),
        AddressClass::Public | AddressClass::Sinkhole => None,
    };
    if let Some((signal, alike, before, after)) = class_hint {
        p.add(signal, surprise(alike, base.answered_names), || {
            format!(
                "{before}{}{after} ({}: {} of answered names)",
                a.worst.describe(),
                a.worst_address
                    .map_or_else(String::new, |ip| ip.to_string()),
                percent(alike, base.answered_names)
            )
        });
    }
    if a.flux {
        p.add(
            Signal::FastFlux,
            surprise(base.flux_names, base.answered_names),
            || {
                format!(
                    "fast flux: {} addresses in {} networks, TTL at most {} s ({} of answered names)",
                    a.distinct,
                    a.prefixes,
                    a.ttl_max,
                    percent(base.flux_names, base.answered_names)
                )
            },
        );
    }
    if let Some((domains, ip)) = a.shared_address {
        // Each other rare domain on the same address halves the chance
        // that the match is a coincidence of shared hosting.
        p.add(Signal::SharedAddress, (domains - 1).min(8) as f32, || {
            format!(
                "shares {ip} with rare names of {} other domains",
                domains - 1
            )
        });
    }
}

/// "beacon: every 10 min ±1% (40 beats over 6.7 h, 2 missed)".
pub fn beacon_detail(b: &BeaconScore) -> String {
    let mut d = format!(
        "beacon: every {} ±{:.0}% ({} beats",
        format_period(b.period_s),
        (b.jitter * 100.0).max(1.0),
        b.beats
    );
    let span = b.period_s * f64::from(b.beats.saturating_sub(1) + b.missed);
    if span >= 60.0 {
        let _ = write!(d, " over {}", format_period(span));
    }
    if b.missed > 0 {
        let _ = write!(d, ", {} missed", b.missed);
    }
    d.push(')');
    d
}

/// A time as "2026-12-02 08:15Z" (UTC, to the minute), for explanations.
pub fn utc_minutes(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// "612 s", "15 min", "6 h".
pub fn format_period(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// Joins the parts' details into the one-line explanation of a row.
pub fn explanation(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| p.detail.as_str())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Whether a label of `name` (dotted, any escapes counted as characters)
/// is long enough to look like tunnelled data.
pub fn has_long_label(name: &str) -> bool {
    name.split('.').any(|l| l.len() >= LONG_LABEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network of 300 hosts and 100,000 names, most asked by one host.
    fn network() -> BaseRates {
        let mut randomness = [0u64; 16];
        randomness[2] = 60_000;
        randomness[6] = 30_000;
        randomness[12] = 7_000;
        randomness[15] = 3_000;
        BaseRates {
            names: 100_000,
            ordinary_names: 100_000,
            one_host_names: 60_000,
            two_host_names: 10_000,
            one_host_domain_names: 15_000,
            two_host_domain_names: 5_000,
            txt_names: 1_000,
            nx_names: 5_000,
            long_label_names: 200,
            randomness,
            tlds: [("com".to_owned(), 60_000), ("top".to_owned(), 10)].into(),
            hosts: 300,
            ddns_hosts: 2,
            ip_lookup_hosts: 3,
            ..BaseRates::default()
        }
    }

    fn base() -> NameSignals<'static> {
        NameSignals {
            queries: 1,
            hosts: 1,
            domain_names: 1,
            domain_hosts: 1,
            ..NameSignals::default()
        }
    }

    fn periodic(b: BeaconScore, short: bool) -> NameSignals<'static> {
        NameSignals {
            beacon_bits: beacon_bits(&b),
            beacon_short_period: short,
            beacon: Some(b),
            ..base()
        }
    }

    fn beacon(beats: u32, jitter: f32) -> BeaconScore {
        BeaconScore {
            score: 0.95,
            period_s: 43_200.0 / f64::from(beats),
            jitter,
            beats,
            missed: 0,
            skew: 0.0,
            gaps: 0,
            extras: 0,
        }
    }

    #[test]
    fn rarity_says_little_when_most_names_are_rare() {
        let under_popular_domain = NameSignals {
            domain_names: 500,
            domain_hosts: 200,
            ..base()
        };
        let s = evaluate(&under_popular_domain, &network(), true);
        assert!(s.bits < 1.0, "{s:?}");
        assert!(
            explanation(&s.parts).contains("(60% of names are this rare)"),
            "{}",
            explanation(&s.parts)
        );
        // A domain only one host asks is rarer than a name only one asks.
        let rare_domain = evaluate(&base(), &network(), true);
        assert!(rare_domain.bits > s.bits + 2.0, "{rare_domain:?}");
        assert!(
            explanation(&rare_domain.parts).contains("(15% of names are under so rare a domain)")
        );
    }

    #[test]
    fn a_strong_beacon_outranks_any_single_query() {
        let n = network();
        let everything_on_one_query = NameSignals {
            randomness: 1.0,
            responses: 1,
            nxdomain: 1,
            txt_or_null: true,
            marks: marks::DYNAMIC_DNS | marks::IP_LOOKUP | marks::LONG_LABEL,
            ..base()
        };
        let soft = evaluate(&everything_on_one_query, &n, true);
        assert!(soft.bits <= SOFT_CAP_BITS + 0.01, "{soft:?}");
        // A pronounceable name, 42 beats at ±1% over 12 hours.
        let beacon = NameSignals {
            queries: 42,
            randomness: 0.1,
            responses: 42,
            ..periodic(beacon(42, 0.01), false)
        };
        let strong = evaluate(&beacon, &n, true);
        assert!(strong.score > soft.score + 10.0, "{strong:?} vs {soft:?}");
        assert!(
            explanation(&strong.parts).contains("42 beats over 11.7 h"),
            "{}",
            explanation(&strong.parts)
        );
    }

    #[test]
    fn weights_move_with_the_networks_shares() {
        let txt = NameSignals {
            txt_or_null: true,
            ..base()
        };
        let rare_txt = evaluate(&txt, &network(), true);
        let common = BaseRates {
            txt_names: 12_000,
            ..network()
        };
        let common_txt = evaluate(&txt, &common, true);
        assert!(rare_txt.bits > common_txt.bits + 3.0);
        assert!(explanation(&rare_txt.parts).contains("TXT/NULL: 1% of this network's names"));
        assert!(explanation(&common_txt.parts).contains("TXT/NULL: 12% of this network's names"));
    }

    #[test]
    fn domains_first_seen_after_the_learning_period_are_new() {
        const DAY: u64 = 24 * NS_PER_HOUR;
        let start = 20_000 * DAY;
        let mut n = BaseRates {
            domain_age: [
                (start / NS_PER_HOUR, 99_000),
                ((start + 8 * DAY) / NS_PER_HOUR, 1_000),
            ]
            .into(),
            history_start_ns: start,
            ..network()
        };
        let fresh = NameSignals {
            domain_first_seen: start + 8 * DAY,
            domain_names: 1,
            ..base()
        };
        let before = evaluate(&fresh, &n, true);
        assert!(!before.parts.iter().any(|p| p.signal == Signal::NewDomain));
        n.set_known_before(start + 7 * DAY);
        assert_eq!(n.new_domain_names, 1_000);
        let after = evaluate(&fresh, &n, true);
        assert!((after.bits - before.bits - surprise(1_000, 100_000)).abs() < 0.01);
        assert!(
            explanation(&after.parts).contains(
                "new domain: first seen 2024-10-12 00:00Z (history since 2024-10-04 00:00Z; 1% of names are under domains this new)"
            ),
            "{}",
            explanation(&after.parts)
        );
        let old = NameSignals {
            domain_first_seen: start,
            ..fresh
        };
        assert!(
            !evaluate(&old, &n, true)
                .parts
                .iter()
                .any(|p| p.signal == Signal::NewDomain)
        );
    }

    #[test]
    fn a_public_ip_check_on_a_timer_is_a_monitor() {
        let once = NameSignals {
            marks: marks::IP_LOOKUP,
            ..base()
        };
        let startup = evaluate(&once, &network(), true);
        assert!(startup.parts.iter().any(|p| p.signal == Signal::IpLookup));
        let monitor = NameSignals {
            queries: 144,
            ..periodic(beacon(64, 0.01), false)
        };
        let monitor = NameSignals {
            marks: marks::IP_LOOKUP,
            ..monitor
        };
        let s = evaluate(&monitor, &network(), true);
        assert!(
            !s.parts
                .iter()
                .any(|p| p.signal == Signal::IpLookup
                    || p.points > 0.0 && p.signal == Signal::Beacon)
        );
        assert!(explanation(&s.parts).contains("periodic public-IP check"));
        assert!(s.bits < startup.bits + 1.0);
    }

    #[test]
    fn benign_classes_give_no_shape_evidence() {
        let reverse = NameSignals {
            randomness: 0.9,
            responses: 1,
            nxdomain: 1,
            class: NameClass::Reverse,
            ..base()
        };
        let s = evaluate(&reverse, &network(), true);
        assert!(s.bits < 1.0, "{s:?}");
        assert!(explanation(&s.parts).starts_with("reverse lookup"));
    }

    #[test]
    fn retry_loops_and_few_beats_are_not_beacons() {
        assert_eq!(beacon_bits(&beacon(BEACON_MIN_BEATS - 1, 0.01)), 0.0);
        assert!(beacon_bits(&beacon(BEACON_MIN_BEATS, 0.01)) > 20.0);
        let retry = NameSignals {
            queries: 60,
            responses: 60,
            nxdomain: 60,
            failures: 60,
            ..periodic(beacon(60, 0.01), true)
        };
        let s = evaluate(&retry, &network(), true);
        assert!(!s.parts.iter().any(|p| p.signal == Signal::Beacon));
        let answered = NameSignals {
            nxdomain: 0,
            failures: 0,
            ..retry
        };
        let s = evaluate(&answered, &network(), true);
        assert!(s.parts.iter().any(|p| p.signal == Signal::Beacon));
    }

    #[test]
    fn cdn_like_spread_is_suppressed_without_a_list() {
        let cdn = NameSignals {
            hosts: 6,
            randomness: 0.95,
            domain_names: 5000,
            domain_hosts: 250,
            ..base()
        };
        let tunnel = NameSignals {
            hosts: 1,
            domain_hosts: 1,
            ..cdn
        };
        let cdn_score = evaluate(&cdn, &network(), true);
        let tunnel_score = evaluate(&tunnel, &network(), true);
        assert!(cdn_score.score < 10.0, "{cdn_score:?}");
        assert!(tunnel_score.score > 90.0, "{tunnel_score:?}");
        assert!(explanation(&cdn_score.parts).contains("infrastructure: 5000 names"));
    }

    #[test]
    fn scores_stay_within_0_and_100() {
        let everything = NameSignals {
            randomness: 1.0,
            responses: 1,
            nxdomain: 1,
            host_random_nx: 100,
            marks: marks::WATCH | marks::DYNAMIC_DNS | marks::LONG_LABEL,
            txt_or_null: true,
            domain_names: 100,
            ..periodic(beacon(60, 0.0), false)
        };
        let s = evaluate(&everything, &network(), false);
        assert!(s.score <= 100.0 && s.score > 99.0, "{s:?}");
        assert_eq!(score_of_bits(0.0), 0.0);
        assert_eq!(score_of_bits(10.0), 50.0);
    }
}
