//! The evaluation harness behind `cargo xtask eval`: generate a gateway
//! capture with known infections, run it through the offline report, and
//! measure how well the report finds them (precision of the top rows, the
//! rank of every malicious name, CDN/cloud noise in the top 50, infected
//! hosts in the top 5 of `--by host`) and how well the lexical model alone
//! separates real DGA names from real popular names.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::Arc,
};

use anyhow::{Result, bail};
use dnsrare_core::{
    engine::EngineConfig,
    model::{
        query::{ReportQuery, View},
        report::Report,
    },
    offline,
    score::{
        lexical::{LexicalModel, roc_auc},
        lists::Lists,
    },
};
use serde::Serialize;
use traffic::scenario::{self, MaliciousKind, ScenarioConfig, Truth};

/// Where one malicious kind ranks in the default report (all rows, at most
/// three names per registered domain: a tunnel's other names are counted on
/// its rows, not listed).
#[derive(Clone, Debug, Serialize)]
pub struct KindRanks {
    /// The kind.
    pub kind: String,
    /// Its names in the scenario.
    pub names: usize,
    /// Of those, listed in the report.
    pub listed: usize,
    /// Best (lowest) rank of any of them, 1-based.
    pub best_rank: Option<usize>,
    /// Worst rank.
    pub worst_rank: Option<usize>,
}

/// The measured figures.
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    /// Frames in the capture.
    pub packets: usize,
    /// Queries in the capture.
    pub queries: u64,
    /// Infected hosts in the scenario.
    pub infected_hosts: usize,
    /// Share of the top 20 name rows that are malicious.
    pub precision_top20: f64,
    /// Share of the top 50 name rows that are malicious.
    pub precision_top50: f64,
    /// CDN/cloud names among the top 50 name rows.
    pub cdn_in_top50: usize,
    /// Infected hosts among the top 5 of `--by host`.
    pub infected_hosts_in_top5_hosts: usize,
    /// Those top 5.
    pub top5_hosts: Vec<String>,
    /// Ranks per malicious kind in the default report.
    pub ranks: Vec<KindRanks>,
    /// Seconds to read the capture and answer the default report.
    pub report_seconds: f64,
}

impl Figures {
    /// Whether the targets hold: top 20 at least 90% malicious, no CDN name
    /// in the top 50, every infected host in the top 5 hosts.
    pub fn targets_met(&self) -> bool {
        self.precision_top20 >= 0.9
            && self.cdn_in_top50 == 0
            && self.infected_hosts_in_top5_hosts == self.infected_hosts
    }
}

/// Generates the scenario `config`, writes it to `out_dir` (pcap and
/// truth), and measures the report on it.
pub fn evaluate(config: &ScenarioConfig, out_dir: &Path) -> Result<(Figures, Truth)> {
    std::fs::create_dir_all(out_dir)?;
    let (packets, truth) = scenario::generate(config);
    let pcap = out_dir.join("eval.pcap");
    scenario::save(&packets, &truth, &pcap, &out_dir.join("eval.truth.json"))?;

    let start = std::time::Instant::now();
    let names = report(
        &pcap,
        ReportQuery {
            top: 50,
            ..ReportQuery::default()
        },
    )?;
    let report_seconds = start.elapsed().as_secs_f64();
    // Every row of the default report (three names per registered domain
    // at most, the rest counted), for the ranks an analyst sees.
    let all = report(
        &pcap,
        ReportQuery {
            top: dnsrare_core::protocol::MAX_TOP,
            ..ReportQuery::default()
        },
    )?;
    let hosts = report(
        &pcap,
        ReportQuery {
            top: 5,
            view: View::Host,
            ..ReportQuery::default()
        },
    )?;

    let malicious: HashSet<&str> = truth.malicious.iter().map(|m| m.name.as_str()).collect();
    let tunnel_domains: Vec<&str> = truth.tunnels.iter().map(|t| t.domain.as_str()).collect();
    let is_malicious = |name: &str| {
        malicious.contains(name)
            || tunnel_domains
                .iter()
                .any(|d| name == *d || name.ends_with(&format!(".{d}")))
    };
    let precision = |n: usize| {
        let rows = &names.rows[..n.min(names.rows.len())];
        rows.iter().filter(|r| is_malicious(&r.name)).count() as f64 / n as f64
    };
    let cdn: HashSet<&str> = truth.cdn_names.iter().map(|c| c.name.as_str()).collect();
    let cdn_in_top50 = names
        .rows
        .iter()
        .filter(|r| cdn.contains(r.name.as_str()))
        .count();
    let rank: HashMap<&str, usize> = all
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i + 1))
        .collect();
    let ranks = MaliciousKind::ALL
        .iter()
        .map(|kind| {
            let of_kind: Vec<usize> = truth
                .malicious
                .iter()
                .filter(|m| m.kind == *kind)
                .filter_map(|m| rank.get(m.name.as_str()).copied())
                .collect();
            KindRanks {
                kind: kind.as_str().to_owned(),
                names: truth.malicious.iter().filter(|m| m.kind == *kind).count(),
                listed: of_kind.len(),
                best_rank: of_kind.iter().min().copied(),
                worst_rank: of_kind.iter().max().copied(),
            }
        })
        .collect();
    let top5: Vec<String> = hosts.hosts.iter().map(|h| h.addr.to_string()).collect();
    let infected_in_top5 = truth
        .infected_hosts
        .iter()
        .filter(|h| top5.contains(&h.addr.to_string()))
        .count();
    let figures = Figures {
        packets: packets.len(),
        queries: truth.queries,
        infected_hosts: truth.infected_hosts.len(),
        precision_top20: precision(20),
        precision_top50: precision(50),
        cdn_in_top50,
        infected_hosts_in_top5_hosts: infected_in_top5,
        top5_hosts: top5,
        ranks,
        report_seconds,
    };
    Ok((figures, truth))
}

fn report(pcap: &Path, query: ReportQuery) -> Result<Report> {
    let run = offline::run(
        &[],
        &[pcap.to_path_buf()],
        &EngineConfig {
            shards: 2,
            ..EngineConfig::default()
        },
        Arc::new(Lists::embedded()),
        &Arc::default(),
        &query,
        |_| {},
    )?;
    if let Some(damage) = run.damaged.first() {
        bail!("generated capture unreadable: {damage}");
    }
    Ok(run.report)
}

/// ROC AUC of the lexical randomness and of plain Shannon entropy, real
/// DGA names (positives) against real popular names (negatives), scored on
/// the labels left of the public suffix, from the lists in `names`.
pub fn lexical_aucs(names: &Path) -> Result<(f64, f64)> {
    let model = LexicalModel::embedded();
    // The labels left of the public suffix (private section included),
    // as the lexical model's own test takes them.
    let labels = |name: &str| -> Option<String> {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        let suffix = psl::suffix(name.as_bytes())?.as_bytes().len();
        let cut = name.len().checked_sub(suffix + 1)?;
        Some(name[..cut].to_owned()).filter(|l| !l.is_empty())
    };
    let dga_text = std::fs::read_to_string(names.join("dga_netlab360_2017-07_sample.tsv"))?;
    let benign_text = std::fs::read_to_string(names.join("benign_alexa_sample.txt"))?;
    let dga: Vec<String> = dga_text
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1))
        .filter_map(labels)
        .collect();
    let benign: Vec<String> = benign_text.lines().filter_map(labels).collect();
    let score = |v: &[String], f: &dyn Fn(&str) -> f32| v.iter().map(|l| f(l)).collect::<Vec<_>>();
    let randomness = |l: &str| model.score(l).randomness;
    let entropy = |l: &str| model.score(l).entropy;
    Ok((
        roc_auc(&score(&dga, &randomness), &score(&benign, &randomness)),
        roc_auc(&score(&dga, &entropy), &score(&benign, &entropy)),
    ))
}

/// The evaluation's scenario: a 12-hour gateway with five infected hosts
/// (beacons at 10 and 60 minutes to random-looking names, one at 15 minutes
/// to a dynamic-DNS name from a host that also looks up its public IP, a
/// DGA burst, a DNS tunnel).
pub fn scenario(names: Arc<dyn traffic::names::NameSource>) -> ScenarioConfig {
    ScenarioConfig {
        names,
        beacon_periods_s: vec![600, 3600],
        dyndns_periods_s: vec![900],
        ip_lookups: 1,
        dga_bursts: 1,
        tunnels: 1,
        ..ScenarioConfig::gateway()
    }
}
