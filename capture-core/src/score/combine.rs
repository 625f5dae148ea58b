//! The combined suspicion score of a name: points from each signal, capped
//! at 100, with the parts and their reasons kept so every row can say why
//! it ranks where it does.
//!
//! | signal | points | when |
//! |---|---|---|
//! | rare | up to 25 | few of the network's hosts asked (1 of 300 → 25) |
//! | random labels | up to 25 | lexical randomness above 0.5 |
//! | beacon | up to 35 | one host's arrivals are periodic |
//! | NXDOMAIN | up to 15 | share of answers that were NXDOMAIN (5 for names that do not look random: typos) |
//! | DGA host | 15 | its host asked ≥ 10 distinct random names answered NXDOMAIN |
//! | tunnel domain | 20 | ≥ 20 names under the domain, asked by ≤ 2 hosts |
//! | long labels | 10 | a label of 40 characters or more |
//! | TXT/NULL | 10 | rare name asked as TXT or NULL |
//! | dynamic DNS | 30 | under a dynamic-DNS provider, asked by ≤ 2 hosts |
//! | IP lookup | 25 | a public-IP lookup service, asked by few hosts |
//! | watch list | 50 | on the user's watch list |
//!
//! Infrastructure is suppressed, not scored: a name under a listed CDN or
//! cloud suffix keeps a tenth of its points; so does one whose registered
//! domain has many names asked by many hosts (the spread signal, which
//! needs no list).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::score::{BeaconScore, Part, Signal};

/// Hosts at or below which a dynamic-DNS name counts as "few hosts".
const FEW_HOSTS: u64 = 2;
/// Names under one domain from which its spread is judged.
const SPREAD_NAMES: u32 = 20;
/// Distinct random-looking names answered NXDOMAIN from which a host
/// looks like it runs a DGA (typos give a few, a DGA dozens).
const DGA_HOST_NAMES: u64 = 10;
/// Label length from which a label looks like a tunnel's payload.
const LONG_LABEL: usize = 40;
/// Lexical randomness above which labels count as random.
const RANDOM_FROM: f32 = 0.5;

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

/// Everything the score of one name looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameSignals {
    /// Queries for it.
    pub queries: u64,
    /// Distinct hosts that asked.
    pub hosts: u64,
    /// Distinct hosts on the network.
    pub network_hosts: u64,
    /// Lexical randomness of its labels, 0..=1.
    pub randomness: f32,
    /// List marks ([`marks`]).
    pub marks: u8,
    /// Distinct names under its registered domain.
    pub domain_names: u32,
    /// Distinct hosts asking names under its registered domain.
    pub domain_hosts: u32,
    /// Responses seen for it.
    pub responses: u32,
    /// NXDOMAIN answers among them.
    pub nxdomain: u32,
    /// Asked as TXT or NULL.
    pub txt_or_null: bool,
    /// Most distinct random-looking NXDOMAIN names any of its hosts asked
    /// (network-wide).
    pub host_random_nx: u64,
    /// The most periodic (host, name) arrivals, if any were regular enough
    /// to measure.
    pub beacon: Option<BeaconScore>,
}

/// A name's score and, when asked for, its parts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// 0..=100.
    pub score: f32,
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
    fn add(&mut self, signal: Signal, points: f32, detail: impl FnOnce() -> String) {
        if points == 0.0 {
            return;
        }
        self.total += points;
        if self.explain {
            self.parts.push(Part {
                signal,
                points,
                detail: detail(),
            });
        }
    }
}

/// Rarity across the network: 1 for one host of many, 0 when all asked.
fn host_rarity(hosts: u64, network: u64) -> f32 {
    if hosts == 0 {
        return 1.0;
    }
    let network = network.max(hosts).max(2) as f32;
    (1.0 - (hosts as f32).ln() / network.ln()).clamp(0.0, 1.0)
}

/// Whether labels of this lexical randomness (0..=1) count as random.
pub fn is_random(randomness: f32) -> bool {
    randomness > RANDOM_FROM
}

/// Scores a name; with `explain`, keeps each part with its reason.
pub fn evaluate(s: &NameSignals, explain: bool) -> Scored {
    let mut p = Parts {
        explain,
        total: 0.0,
        parts: Vec::new(),
    };
    let few = s.hosts <= FEW_HOSTS;
    let infrastructure = s.domain_names >= SPREAD_NAMES
        && u64::from(s.domain_hosts) >= (s.network_hosts / 30).max(5);
    let tunnel_domain = s.domain_names >= SPREAD_NAMES && s.domain_hosts <= 2;

    let rare = 25.0 * host_rarity(s.hosts, s.network_hosts);
    p.add(Signal::Rare, rare, || {
        format!(
            "rare: {} {}, {} of {} hosts",
            s.queries,
            if s.queries == 1 { "query" } else { "queries" },
            s.hosts,
            s.network_hosts.max(s.hosts)
        )
    });
    let random = if s.randomness > RANDOM_FROM {
        25.0 * (s.randomness - RANDOM_FROM) / (1.0 - RANDOM_FROM)
    } else {
        0.0
    };
    p.add(Signal::RandomLabels, random, || {
        format!("random labels: p={:.2}", s.randomness)
    });
    if let Some(b) = s.beacon {
        p.add(Signal::Beacon, 35.0 * b.score, || {
            let mut d = format!(
                "beacon: every {} ±{:.0}% ({} beats",
                format_period(b.period_s),
                (b.jitter * 100.0).max(1.0),
                b.beats
            );
            if b.missed > 0 {
                let _ = write!(d, ", {} missed", b.missed);
            }
            d.push(')');
            d
        });
    }
    if s.nxdomain > 0 {
        let share = (s.nxdomain as f32 / s.responses.max(1) as f32).min(1.0);
        // A mistyped name is answered NXDOMAIN too; it looks ordinary.
        let weight = if s.randomness > RANDOM_FROM {
            15.0
        } else {
            5.0
        };
        p.add(Signal::Nxdomain, weight * share, || {
            format!("NXDOMAIN {:.0}%", share * 100.0)
        });
        if s.host_random_nx >= DGA_HOST_NAMES && s.randomness > RANDOM_FROM {
            p.add(Signal::DgaHost, 15.0, || {
                format!(
                    "DGA-like host: {} random names answered NXDOMAIN",
                    s.host_random_nx
                )
            });
        }
    }
    if tunnel_domain {
        p.add(Signal::TunnelDomain, 20.0, || {
            format!(
                "{} names under its domain from {} {}",
                s.domain_names,
                s.domain_hosts,
                if s.domain_hosts == 1 { "host" } else { "hosts" }
            )
        });
    }
    if s.marks & marks::LONG_LABEL != 0 {
        p.add(Signal::LongLabels, 10.0, || {
            format!("a label of {LONG_LABEL}+ characters")
        });
    }
    if s.txt_or_null && few {
        p.add(Signal::TxtOrNull, 10.0, || "TXT/NULL queries".into());
    }
    if s.marks & marks::DYNAMIC_DNS != 0 && few {
        p.add(Signal::DynamicDns, 30.0, || {
            "dynamic-DNS provider, asked by few hosts".into()
        });
    }
    if s.marks & marks::IP_LOOKUP != 0 && s.hosts <= (s.network_hosts / 20).max(FEW_HOSTS) {
        p.add(Signal::IpLookup, 25.0, || {
            "public-IP lookup service: a host checking its address".into()
        });
    }
    if s.marks & marks::WATCH != 0 {
        p.add(Signal::Watch, 50.0, || "on the watch list".into());
    }

    let before = p.total;
    if s.marks & marks::CDN != 0 {
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
    Scored {
        score: p.total.clamp(0.0, 100.0),
        parts: p.parts,
    }
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

    fn base() -> NameSignals {
        NameSignals {
            queries: 3,
            hosts: 1,
            network_hosts: 300,
            domain_names: 1,
            domain_hosts: 1,
            ..NameSignals::default()
        }
    }

    #[test]
    fn one_host_of_many_is_rare_and_explained() {
        let s = evaluate(&base(), true);
        assert_eq!(s.score, 25.0);
        assert_eq!(explanation(&s.parts), "rare: 3 queries, 1 of 300 hosts");
        let everyone = NameSignals {
            hosts: 300,
            ..base()
        };
        assert_eq!(evaluate(&everyone, false).score, 0.0);
    }

    #[test]
    fn dga_name_from_a_dga_host_outranks_a_rare_ordinary_name() {
        let dga = NameSignals {
            randomness: 0.95,
            responses: 1,
            nxdomain: 1,
            host_random_nx: 40,
            ..base()
        };
        let s = evaluate(&dga, true);
        assert!(
            (s.score - (25.0 + 22.5 + 15.0 + 15.0)).abs() < 0.01,
            "{s:?}"
        );
        assert!(explanation(&s.parts).contains("NXDOMAIN 100%"));
        assert!(s.score > evaluate(&base(), false).score + 40.0);
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
            domain_names: 5000,
            domain_hosts: 1,
            ..cdn
        };
        let cdn_score = evaluate(&cdn, true);
        let tunnel_score = evaluate(&tunnel, true);
        assert!(cdn_score.score < 10.0, "{cdn_score:?}");
        assert!(tunnel_score.score > 50.0, "{tunnel_score:?}");
        assert!(explanation(&cdn_score.parts).contains("infrastructure: 5000 names"));
        let listed = NameSignals {
            marks: marks::CDN,
            domain_names: 1,
            ..cdn
        };
        assert!(evaluate(&listed, false).score < 10.0);
    }

    #[test]
    fn beacon_and_dynamic_dns_rank_an_ordinary_label() {
        let s = NameSignals {
            queries: 41,
            marks: marks::DYNAMIC_DNS,
            beacon: Some(BeaconScore {
                score: 0.95,
                period_s: 612.0,
                jitter: 0.01,
                beats: 41,
                missed: 0,
                skew: 0.0,
                gaps: 0,
                extras: 0,
            }),
            ..base()
        };
        let scored = evaluate(&s, true);
        assert!(scored.score > 80.0, "{scored:?}");
        assert_eq!(
            explanation(&scored.parts),
            "rare: 41 queries, 1 of 300 hosts · beacon: every 10 min ±1% (41 beats) · dynamic-DNS provider, asked by few hosts"
        );
    }

    #[test]
    fn ip_lookup_from_few_hosts_ranks() {
        let s = NameSignals {
            marks: marks::IP_LOOKUP,
            ..base()
        };
        assert_eq!(evaluate(&s, false).score, 50.0);
        let common = NameSignals {
            hosts: 200,
            marks: marks::IP_LOOKUP,
            ..base()
        };
        assert!(evaluate(&common, false).score < 5.0);
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
            ..base()
        };
        assert_eq!(evaluate(&everything, false).score, 100.0);
    }
}
