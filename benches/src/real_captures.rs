//! The real-capture evaluation behind `cargo xtask eval`: every labelled
//! capture of ../shared/data/pcaps is spliced, as one extra host with its
//! own timing, into a 12-hour, 300-host generated background with the
//! noise a real network has (traffic's scenario and splice), and the
//! default report is read as an analyst would: the rank of the first
//! finding (and of the first `--by name` row) that carries a labelled name,
//! and what ranks above it.

use std::{collections::BTreeSet, path::Path, sync::Arc};

use anyhow::{Context, Result};
use dnsrare_core::{
    engine::EngineConfig,
    model::{
        query::{ReportQuery, View},
        report::{Finding, Report},
    },
    offline,
    score::lists::Lists,
};
use serde::Serialize;
use traffic::{
    names::SharedNames,
    pcap_out::write_pcap_iter,
    scenario::{self, MaliciousKind, Truth},
    splice::{self, Label},
};

/// Where in the background each capture starts.
const OFFSET_NS: u64 = 5 * 3600 * 1_000_000_000;
/// Findings read per report.
const FINDINGS_READ: usize = 1000;

/// One finding as the evaluation shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Shown {
    /// Its kind.
    pub kind: String,
    /// Its score.
    pub score: f32,
    /// Its first host.
    pub host: String,
    /// Its first name.
    pub name: String,
    /// What the first name is in the ground truth: a noise class, a
    /// planted kind, the spliced capture's, or empty.
    pub class: String,
}

/// Where one spliced capture ranks.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureRank {
    /// The capture file.
    pub capture: String,
    /// Its host in the splice.
    pub host: String,
    /// Its labelled names.
    pub labelled_names: usize,
    /// Rank (1-based) of the first finding with a labelled name.
    pub finding_rank: Option<usize>,
    /// Rank of the first `--by name` row with a labelled name.
    pub name_rank: Option<usize>,
    /// The findings above it (at most ten).
    pub above: Vec<Shown>,
}

/// The background alone: the planted threats and the noise in its top 10.
#[derive(Clone, Debug, Serialize)]
pub struct BackgroundFigures {
    /// Its top 10 findings.
    pub top10: Vec<Shown>,
    /// Planted beacons with at least 20 beats, and how many of them are in
    /// the top 10 findings.
    pub strong_beacons: (usize, usize),
    /// Planted DGA bursts and tunnels, and how many are in the top 10.
    pub dga_and_tunnels: (usize, usize),
    /// Findings in the top 10 made of reverse lookups, Chrome probes,
    /// service names or CDN names.
    pub benign_class_in_top10: usize,
}

/// The real-capture evaluation's figures.
#[derive(Clone, Debug, Serialize)]
pub struct RealFigures {
    /// Per capture.
    pub captures: Vec<CaptureRank>,
    /// The background alone.
    pub background: BackgroundFigures,
}

/// Runs the evaluation on the shared data in `data` (LABELS.csv, pcaps/,
/// names/), writing its captures under `out_dir`.
pub fn evaluate(data: &Path, out_dir: &Path) -> Result<RealFigures> {
    std::fs::create_dir_all(out_dir)?;
    let labels = splice::load_labels(&data.join("LABELS.csv"))?;
    // The evaluation's own scenario (its planted threats) with the
    // scenario's background noise.
    let config = crate::evaluation::scenario(Arc::new(SharedNames::load(&data.join("names"))?));
    let (packets, truth) = scenario::generate(&config);
    let pcap = out_dir.join("background.pcap");
    scenario::save(&packets, &truth, &pcap, &out_dir.join("background.json"))?;
    let report = findings_report(&pcap)?;
    let background = background_figures(&report, &truth);

    let files: BTreeSet<&str> = labels.iter().map(|l| l.file.as_str()).collect();
    let mut captures = Vec::new();
    for (index, file) in files.into_iter().enumerate() {
        let path = data.join("pcaps").join(file);
        if !path.is_file() {
            continue;
        }
        let capture = splice::read_capture(&path)?;
        let host = splice::splice_host(index as u16);
        let at = config.start_ns + OFFSET_NS;
        let spliced = splice::reframe(&capture, host, at);
        let splice_truth = splice::truth(&capture, &labels, host, at);
        let out = out_dir.join("spliced.pcap");
        write_pcap_iter(&out, splice::merge(&packets, &spliced))?;
        let report = findings_report(&out)?;
        let labelled = |name: &str| is_labelled(&labels, file, name);
        let finding_rank = report
            .findings
            .iter()
            .position(|f| f.names.iter().any(|n| labelled(n)))
            .map(|i| i + 1);
        let name_rank = report
            .rows
            .iter()
            .position(|r| labelled(&r.name))
            .map(|i| i + 1);
        let above_end = finding_rank.map_or(10, |r| r - 1).min(10);
        let host_ip = std::net::IpAddr::V4(host);
        let above = report.findings[..above_end.min(report.findings.len())]
            .iter()
            .map(|f| shown(f, &truth, Some(host_ip)))
            .collect();
        captures.push(CaptureRank {
            capture: file.to_owned(),
            host: host.to_string(),
            labelled_names: splice_truth.labelled.len(),
            finding_rank,
            name_rank,
            above,
        });
        std::fs::remove_file(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    Ok(RealFigures {
        captures,
        background,
    })
}

fn is_labelled(labels: &[Label], file: &str, name: &str) -> bool {
    splice::label_of(labels, file, name).is_some()
}

/// The default report (findings, with the name rows beside them).
fn findings_report(pcap: &Path) -> Result<Report> {
    let run = offline::run(
        &[],
        &[pcap.to_path_buf()],
        &EngineConfig {
            shards: 2,
            ..EngineConfig::default()
        },
        Arc::new(Lists::embedded()),
        &Arc::default(),
        &ReportQuery {
            top: FINDINGS_READ,
            view: View::Finding,
            ..ReportQuery::default()
        },
        |_| {},
    )?;
    Ok(run.report)
}

fn shown(f: &Finding, truth: &Truth, spliced: Option<std::net::IpAddr>) -> Shown {
    let name = f.names.first().cloned().unwrap_or_default();
    let class = if spliced.is_some_and(|h| f.hosts.contains(&h)) {
        "spliced capture".to_owned()
    } else if let Some(c) = truth.noise_class(&name) {
        c.to_owned()
    } else if let Some(m) = truth.malicious_name(&name) {
        format!("planted {}", m.kind.as_str())
    } else {
        String::new()
    };
    Shown {
        kind: f.kind.as_str().to_owned(),
        score: f.score,
        host: f.hosts.first().map(ToString::to_string).unwrap_or_default(),
        name,
        class,
    }
}

fn background_figures(report: &Report, truth: &Truth) -> BackgroundFigures {
    let top10 = &report.findings[..report.findings.len().min(10)];
    let in_top10 = |name: &str| top10.iter().any(|f| f.names.iter().any(|n| n == name));
    let strong: Vec<&str> = truth
        .beacons
        .iter()
        .filter(|b| b.queries >= 20)
        .map(|b| b.name.as_str())
        .collect();
    let others: Vec<&str> = truth
        .malicious
        .iter()
        .filter(|m| matches!(m.kind, MaliciousKind::Dga | MaliciousKind::Tunnel))
        .map(|m| m.name.as_str())
        .collect();
    // A DGA burst or a tunnel counts once, by any of its names.
    let bursts: BTreeSet<String> = truth
        .malicious
        .iter()
        .filter(|m| matches!(m.kind, MaliciousKind::Dga | MaliciousKind::Tunnel))
        .map(|m| format!("{}/{}", m.kind.as_str(), m.host))
        .collect();
    let found_bursts: BTreeSet<String> = truth
        .malicious
        .iter()
        .filter(|m| others.contains(&m.name.as_str()) && in_top10(&m.name))
        .map(|m| format!("{}/{}", m.kind.as_str(), m.host))
        .collect();
    let benign_classes = [
        "reverse",
        "chrome_probe",
        "ad_service",
        "service_srv",
        "unknown_cdn",
    ];
    BackgroundFigures {
        top10: top10.iter().map(|f| shown(f, truth, None)).collect(),
        strong_beacons: (strong.len(), strong.iter().filter(|n| in_top10(n)).count()),
        dga_and_tunnels: (bursts.len(), found_bursts.len()),
        benign_class_in_top10: top10
            .iter()
            .filter(|f| {
                f.names
                    .first()
                    .and_then(|n| truth.noise_class(n))
                    .is_some_and(|c| benign_classes.contains(&c))
                    || f.names
                        .first()
                        .is_some_and(|n| truth.cdn_names.iter().any(|c| &c.name == n))
            })
            .count(),
    }
}
