//! The ground truth of a generated scenario: what was put in, counted by
//! construction, for checking a report, a parser or a benchmark against.
//! Serialisable as JSON (`cargo xtask gen` writes it next to the pcap).
//!
//! Names are given as dnsrare reports them ([`crate::names::canonical`]:
//! lowercase, odd bytes as `\DDD`). Hosts are the IPv4 addresses the
//! malicious queries come from (infected hosts send those over IPv4; their
//! ordinary queries may also use their IPv6 address, listed in
//! [`InfectedHost::addr_v6`]).

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv6Addr},
};

use serde::{Deserialize, Serialize};

/// What a malicious name is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaliciousKind {
    /// A periodic C2 beacon to a random-looking name.
    Beacon,
    /// A periodic C2 beacon to an ordinary-looking name under a free
    /// dynamic-DNS provider.
    DyndnsBeacon,
    /// An infected host asking an IP-lookup service for its address.
    IpLookup,
    /// A name of a DGA burst (almost all answered NXDOMAIN).
    Dga,
    /// A query name of a DNS tunnel (unique, long, under one domain).
    Tunnel,
}

impl MaliciousKind {
    /// Every kind, in order.
    pub const ALL: [Self; 5] = [
        Self::Beacon,
        Self::DyndnsBeacon,
        Self::IpLookup,
        Self::Dga,
        Self::Tunnel,
    ];

    /// The snake-case name used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Beacon => "beacon",
            Self::DyndnsBeacon => "dyndns_beacon",
            Self::IpLookup => "ip_lookup",
            Self::Dga => "dga",
            Self::Tunnel => "tunnel",
        }
    }
}

/// One malicious name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaliciousName {
    /// The name, as dnsrare reports it.
    pub name: String,
    /// What it is.
    pub kind: MaliciousKind,
    /// The host that asked it.
    pub host: IpAddr,
    /// Queries for it.
    pub queries: u64,
    /// First query, ns since the epoch.
    pub first_ns: u64,
    /// Last query, ns since the epoch.
    pub last_ns: u64,
    /// Answered NXDOMAIN.
    pub nxdomain: bool,
    /// DGA family (or generator style), for DGA names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// A beaconing host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Beacon {
    /// The infected host.
    pub host: IpAddr,
    /// The name it calls home to.
    pub name: String,
    /// [`MaliciousKind::Beacon`] or [`MaliciousKind::DyndnsBeacon`].
    pub kind: MaliciousKind,
    /// Period in seconds.
    pub period_s: u64,
    /// Jitter: each interval is the period times 1 ± up to this fraction.
    pub jitter: f64,
    /// Queries it sent.
    pub queries: u64,
    /// Beats it skipped (no query at all).
    pub missed: u64,
}

/// A DGA burst.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DgaBurst {
    /// The infected host.
    pub host: IpAddr,
    /// Family or generator style.
    pub family: String,
    /// First query, ns since the epoch.
    pub start_ns: u64,
    /// Last query, ns since the epoch.
    pub end_ns: u64,
    /// Names asked (one query each).
    pub queries: u64,
    /// Names that resolved (the rest got NXDOMAIN).
    pub resolved: Vec<String>,
}

/// A DNS tunnel session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tunnel {
    /// The infected host.
    pub host: IpAddr,
    /// The domain every query name ends in.
    pub domain: String,
    /// Main query type (`NULL` or `TXT`); about a tenth use the other.
    pub qtype: String,
    /// Queries (each to a distinct name).
    pub queries: u64,
    /// First query, ns since the epoch.
    pub start_ns: u64,
    /// Last query, ns since the epoch.
    pub end_ns: u64,
}

/// An infected host and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InfectedHost {
    /// Its IPv4 address (all its malicious queries come from it).
    pub addr: IpAddr,
    /// Its IPv6 address, if it has one (ordinary queries only).
    pub addr_v6: Option<Ipv6Addr>,
    /// Its malicious activities.
    pub roles: Vec<MaliciousKind>,
}

/// A CDN or cloud auto-generated name and how widely it was asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CdnName {
    /// The name.
    pub name: String,
    /// Queries for it.
    pub queries: u64,
    /// Distinct hosts that asked it.
    pub hosts: u64,
}

/// A benign name that looks suspicious (a false positive if reported).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decoy {
    /// The name.
    pub name: String,
    /// Why it looks suspicious and why it is not.
    pub why: String,
    /// Hosts that asked it.
    pub hosts: Vec<IpAddr>,
    /// Queries for it.
    pub queries: u64,
}

/// Frames by the features a parser must handle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameCounts {
    /// Every frame in the capture.
    pub packets: u64,
    /// Frames with at least one VLAN tag.
    pub vlan: u64,
    /// Frames with two tags (802.1ad outer, 802.1Q inner).
    pub qinq: u64,
    /// IPv6 frames.
    pub ipv6: u64,
    /// IPv6 frames with an extension header before UDP.
    pub ipv6_ext: u64,
    /// TCP frames: per exchange a handshake (SYN, SYN-ACK), the query and
    /// the response (one length-prefixed message each), a teardown (two
    /// FIN-ACKs).
    pub tcp: u64,
    /// TCP frames without a DNS message (handshakes and teardowns).
    pub tcp_control: u64,
    /// UDP responses with the TC bit (each followed by a retry over TCP).
    pub truncated_udp: u64,
}

/// What the scenario contains, for checking reports against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Seed the scenario was generated from.
    pub seed: u64,
    /// Name source (`builtin`, `shared`).
    pub names: String,
    /// Scenario start, ns since the epoch.
    pub start_ns: u64,
    /// Scenario end, ns since the epoch.
    pub end_ns: u64,
    /// Hosts that sent queries.
    pub hosts: u64,
    /// Distinct addresses queries came from (a host that also asks over
    /// IPv6 counts twice, as a report by address sees it).
    pub addresses: u64,
    /// Frames in the capture: two per query over UDP, six over TCP, one
    /// per malformed frame.
    pub packets: u64,
    /// DNS queries in the capture (one per query frame; malformed frames
    /// not included).
    pub queries: u64,
    /// DNS responses in the capture (one per query).
    pub responses: u64,
    /// Responses with NXDOMAIN.
    pub nxdomain: u64,
    /// Queries with an EDNS0 OPT record.
    pub edns_queries: u64,
    /// Queries by type (`A`, `AAAA`, `TXT`, …).
    pub qtypes: BTreeMap<String, u64>,
    /// Malformed query frames by parse-error reason (`truncated`,
    /// `bad_label`, `name_too_long`, `compression_pointer`, `other`, as in
    /// `capture_common::ParseError::as_str`).
    pub malformed: BTreeMap<String, u64>,
    /// Frames by feature.
    pub frames: FrameCounts,
    /// The infected hosts.
    pub infected_hosts: Vec<InfectedHost>,
    /// The beacons (random-looking and dynamic-DNS names).
    pub beacons: Vec<Beacon>,
    /// Every malicious name.
    pub malicious: Vec<MaliciousName>,
    /// The DGA bursts.
    pub dga_bursts: Vec<DgaBurst>,
    /// The tunnels.
    pub tunnels: Vec<Tunnel>,
    /// The CDN and cloud names that were asked.
    pub cdn_names: Vec<CdnName>,
    /// Benign names that look suspicious.
    pub decoys: Vec<Decoy>,
    /// Every asked name of the background noise with its class
    /// (`reverse`, `chrome_probe`, `ad_service`, `dnsbl`, `nas_ddns`,
    /// `ip_monitor`, `unknown_cdn`, `retry_loop`, `popular_tail`,
    /// `mail_txt`, `mail_mx`, `service_srv`, and the ordinary traffic's
    /// `typo` and `search_suffix`), as dnsrare reports the name.
    #[serde(default)]
    pub noise: BTreeMap<String, String>,
    /// Queries of each noise class.
    #[serde(default)]
    pub noise_queries: BTreeMap<String, u64>,
}

impl Truth {
    /// Distinct malicious names by kind.
    pub fn malicious_by_kind(&self) -> BTreeMap<MaliciousKind, u64> {
        let mut out = BTreeMap::new();
        for m in &self.malicious {
            *out.entry(m.kind).or_default() += 1;
        }
        out
    }

    /// Malformed frames of every reason.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.values().sum()
    }

    /// The noise class of `name` (as dnsrare reports it), if it is a
    /// noise name.
    pub fn noise_class(&self, name: &str) -> Option<&str> {
        self.noise.get(name).map(String::as_str)
    }

    /// The malicious entry for `name` (as dnsrare reports it), if any.
    pub fn malicious_name(&self, name: &str) -> Option<&MaliciousName> {
        self.malicious.iter().find(|m| m.name == name)
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        let kinds: Vec<String> = self
            .malicious_by_kind()
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        format!(
            "{} packets ({} queries, {} responses, {} malformed) from {} hosts over {:.1} h; \
             {} infected hosts, malicious names: {}; {} CDN names; \
             frames: {} VLAN ({} QinQ), {} IPv6 ({} with ext. header), {} TCP",
            self.packets,
            self.queries,
            self.responses,
            self.malformed_total(),
            self.hosts,
            (self.end_ns - self.start_ns) as f64 / 3.6e12,
            self.infected_hosts.len(),
            kinds.join(", "),
            self.cdn_names.len(),
            self.frames.vlan,
            self.frames.qinq,
            self.frames.ipv6,
            self.frames.ipv6_ext,
            self.frames.tcp,
        )
    }
}
