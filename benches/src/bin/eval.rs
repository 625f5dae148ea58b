//! `cargo xtask eval`: the evaluation harness on real labelled names.
//!
//! Builds a 12-hour, 300-host scenario from the names in ../shared/data
//! (popular domains with Zipf popularity, CDN/cloud auto-generated names
//! asked by many hosts, five infected hosts), runs it through `dnsrare
//! pcap`'s path, measures the report (see `dnsrare_benches::evaluation`)
//! and the lexical model alone (ROC AUC on real DGA against real popular
//! names, with a Shannon-entropy baseline in the same run). Prints a
//! Markdown summary and writes the figures as JSON (target/eval/).

use std::{path::PathBuf, sync::Arc};

use anyhow::{Context, Result, bail};
use dnsrare_benches::{
    evaluation::{self, Figures},
    real_captures::{self, RealFigures},
};
use traffic::{names::SharedNames, scenario::Truth};

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("benches sits in the workspace")?
        .to_path_buf();
    let data = std::env::var_os("DNSRARE_SHARED_DATA")
        .map_or_else(|| root.join("../shared/data"), PathBuf::from);
    if !data.is_dir() {
        bail!(
            "{} is absent: the evaluation needs the shared labelled names",
            data.display()
        );
    }
    let out_dir = root.join("target/eval");
    let config = evaluation::scenario(Arc::new(SharedNames::load(&data.join("names"))?));
    let (figures, truth) = evaluation::evaluate(&config, &out_dir)?;
    let (lexical_auc, entropy_auc) = evaluation::lexical_aucs(&data.join("names"))?;
    print_summary(&figures, &truth, lexical_auc, entropy_auc);
    let real = real_captures::evaluate(&data, &out_dir.join("real"))?;
    print_real(&real);
    let mut json = serde_json::to_value(&figures)?;
    json["lexical_auc"] = lexical_auc.into();
    json["entropy_auc"] = entropy_auc.into();
    json["real_captures"] = serde_json::to_value(&real)?;
    std::fs::write(out_dir.join("eval.json"), serde_json::to_vec_pretty(&json)?)?;
    let missed: Vec<&str> = real
        .captures
        .iter()
        .filter(|c| c.finding_rank.is_none_or(|r| r > 10))
        .map(|c| c.capture.as_str())
        .collect();
    let b = &real.background;
    println!(
        "\ntargets: labelled name in a top-10 finding for {} of {} captures (missed: {}); strong beacons in the top 10: {} of {}; DGA bursts and tunnels: {} of {}; benign-class findings in the top 10: {}; lexical AUC {lexical_auc:.3}",
        real.captures.len() - missed.len(),
        real.captures.len(),
        if missed.is_empty() {
            "none".to_owned()
        } else {
            missed.join(", ")
        },
        b.strong_beacons.1,
        b.strong_beacons.0,
        b.dga_and_tunnels.1,
        b.dga_and_tunnels.0,
        b.benign_class_in_top10
    );
    if lexical_auc < 0.97 || lexical_auc <= entropy_auc {
        bail!("lexical model target missed");
    }
    Ok(())
}

fn print_real(real: &RealFigures) {
    println!("\n## Real captures spliced into a noisy 12-hour, 300-host background\n");
    println!(
        "| capture | labelled names | first finding with one | first `--by name` row | findings above it |"
    );
    println!("|---|---|---|---|---|");
    let rank = |r: Option<usize>| r.map_or("-".to_owned(), |v| v.to_string());
    for c in &real.captures {
        let above: Vec<String> = c
            .above
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({})",
                    s.kind,
                    s.name,
                    if s.class.is_empty() { "?" } else { &s.class }
                )
            })
            .collect();
        println!(
            "| {} | {} | {} | {} | {} |",
            c.capture,
            c.labelled_names,
            rank(c.finding_rank),
            rank(c.name_rank),
            if c.finding_rank.is_some_and(|r| r <= 10) {
                String::new()
            } else {
                above.join("; ")
            }
        );
    }
    println!("\nThe background alone, top 10 findings:\n");
    println!("| # | finding | score | host | first name | truth |");
    println!("|---|---|---|---|---|---|");
    for (i, s) in real.background.top10.iter().enumerate() {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} |",
            i + 1,
            s.kind,
            s.score,
            s.host,
            s.name.chars().take(60).collect::<String>(),
            s.class
        );
    }
}

fn print_summary(f: &Figures, truth: &Truth, lexical_auc: f64, entropy_auc: f64) {
    println!(
        "## Evaluation ({} packets, {} queries, {} infected hosts)\n",
        f.packets, f.queries, f.infected_hosts
    );
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!(
        "| precision of the top 20 name rows | {:.0}% | ≥ 90% |",
        f.precision_top20 * 100.0
    );
    println!(
        "| precision of the top 50 name rows | {:.0}% | |",
        f.precision_top50 * 100.0
    );
    println!("| CDN/cloud names in the top 50 | {} | 0 |", f.cdn_in_top50);
    println!(
        "| infected hosts in the top 5 of `--by host` | {} of {} | all |",
        f.infected_hosts_in_top5_hosts, f.infected_hosts
    );
    println!(
        "| lexical ROC AUC (DGA vs popular) | {:.3} | ≥ 0.97, above the baseline |",
        lexical_auc
    );
    println!("| Shannon-entropy baseline AUC | {:.3} | |", entropy_auc);
    println!(
        "| report time (12 h, 300 hosts, offline) | {:.2} s | |\n",
        f.report_seconds
    );
    println!("| malicious kind | names | listed | best rank | worst listed rank |");
    println!("|---|---|---|---|---|");
    for r in &f.ranks {
        let show = |x: Option<usize>| x.map_or("-".to_owned(), |v| v.to_string());
        println!(
            "| {} | {} | {} | {} | {} |",
            r.kind,
            r.names,
            r.listed,
            show(r.best_rank),
            show(r.worst_rank)
        );
    }
    println!(
        "\ninfected hosts: {}; top 5 hosts: {}",
        truth
            .infected_hosts
            .iter()
            .map(|h| format!("{} ({:?})", h.addr, h.roles))
            .collect::<Vec<_>>()
            .join(", "),
        f.top5_hosts.join(", ")
    );
}
