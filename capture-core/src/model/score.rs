//! What a score is made of, as rows carry it: the beacon measurement and
//! the explained parts of a combined score.

use serde::{Deserialize, Serialize};

/// Regularity of one host's queries for one name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeaconScore {
    /// 0..=1, 1 = perfectly periodic with enough beats.
    pub score: f32,
    /// The estimated period in seconds.
    pub period_s: f64,
    /// Median distance of the beat intervals and extras from the nearest
    /// multiple of the period, in periods (0 = exact; about 0.2 = random).
    pub jitter: f32,
    /// Arrivals used, after collapsing duplicates within a beat (extras
    /// included).
    pub beats: u32,
    /// Estimated missed beats: beat intervals of `k` periods (2 <= k <= 8)
    /// count `k - 1`.
    pub missed: u32,
    /// Bowley skewness of the beat intervals folded onto the period
    /// (interval / k); 0 when their spread is under 2 % of the period or the
    /// median equals a quartile (no meaningful shape).
    pub skew: f32,
    /// Intervals longer than 8 periods: the beacon was off (or the host
    /// asleep); not counted as missed beats.
    pub gaps: u32,
    /// Arrivals off the grid (queries between beats), not counted as beats.
    pub extras: u32,
}

/// Which signal a part comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Few hosts asked.
    Rare,
    /// Random-looking labels.
    RandomLabels,
    /// Periodic arrivals.
    Beacon,
    /// NXDOMAIN answers.
    Nxdomain,
    /// The asking host gets many NXDOMAIN answers.
    DgaHost,
    /// Many names under one domain from one or two hosts.
    TunnelDomain,
    /// Very long labels.
    LongLabels,
    /// A top-level domain few of the network's names use.
    RareTld,
    /// A registered domain first seen on this network after its learning
    /// period.
    NewDomain,
    /// TXT or NULL queries.
    TxtOrNull,
    /// Dynamic-DNS provider.
    DynamicDns,
    /// Public-IP lookup service.
    IpLookup,
    /// User watch list.
    Watch,
    /// Listed CDN/cloud suffix (suppresses).
    CdnList,
    /// Many names under the domain asked by many hosts (suppresses).
    Infrastructure,
    /// The resolver aliased it (CNAME) into a CDN/cloud name, or into a
    /// domain many other domains alias into (suppresses).
    CnameInfrastructure,
    /// Answered with a known sinkhole address: a security team took the
    /// name over from malware.
    Sinkhole,
    /// Answered with 0.0.0.0 or a loopback address.
    NullAnswer,
    /// A public name answered with a private or link-local address
    /// (rebinding, an internal relay).
    PrivateAnswer,
    /// Many addresses across many networks with short TTLs (fast flux).
    FastFlux,
    /// Shares an answer address with rare names of other domains.
    SharedAddress,
    /// A known benign structure (reverse lookup, service label, …): no
    /// evidence is drawn from its shape.
    KnownClass,
}

/// One signal's contribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The signal.
    pub signal: Signal,
    /// Bits of evidence added: `log2(1 / p)` of the property's base rate
    /// `p` in this network (negative for suppression).
    pub points: f32,
    /// Why, for people.
    pub detail: String,
}
