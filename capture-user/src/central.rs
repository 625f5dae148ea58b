//! The ClickHouse side of the CLI: `dnsrare report --from clickhouse=…`
//! (the central report: rows read back, scored by the core's engine),
//! `dnsrare clickhouse init|prune`, and the backfill of `dnsrare pcap
//! --export`.

use std::{io::Write, path::PathBuf, sync::Arc};

use anyhow::{Context, Result};
use dnsrare::{clickhouse::client::Client, live::exporter::ExportSettings};
use dnsrare_core::{
    export::{
        backfill,
        central::{self, CentralInput},
        schema::ReadFilter,
    },
    model::report::Report,
};

use crate::cli::flags::{ClickhouseCommand, ReportArgs, store};

/// The central report `args` ask for, across the sensors of the store.
pub fn report(args: &ReportArgs, url: &str) -> Result<Report> {
    let client = Client::new(store(url, args.export_credentials.as_deref())?);
    let info = client.schema()?;
    let query = args.options.query();
    let filter = ReadFilter {
        since_ns: query.since_ns,
        sensors: args.sensor.clone(),
    };
    let (pairs, sensors) = client.read(&info, &filter)?;
    let report_lists = Arc::new(args.lists.report_lists()?.current());
    let input = CentralInput {
        pairs: &pairs,
        sensors: &sensors,
        engine: &args.engine.config(),
        lists: args.lists.lists()?,
        report_lists: &report_lists,
    };
    Ok(central::report(&input, &query)?)
}

/// Runs `dnsrare clickhouse …`.
pub fn clickhouse(out: &mut impl Write, command: &ClickhouseCommand) -> Result<()> {
    match command {
        ClickhouseCommand::Init(args) => {
            let target = store(&args.store.url, args.store.export_credentials.as_deref())?;
            if let Some(c) = &args.cluster
                && !dnsrare_core::export::schema::valid_identifier(c)
            {
                anyhow::bail!("--cluster {c:?}: use letters, digits and _");
            }
            let client = Client::new(target);
            let info = client.init(args.cluster.as_deref(), args.retention_days)?;
            writeln!(
                out,
                "{}: dnsrare schema version {}{}, keeping {}",
                client.target(),
                info.version,
                if info.cluster.is_empty() {
                    String::new()
                } else {
                    format!(", Distributed tables over cluster {}", info.cluster)
                },
                if info.retention_days == 0 {
                    "everything".to_owned()
                } else {
                    format!("{} days", info.retention_days)
                }
            )?;
        }
        ClickhouseCommand::Prune(args) => {
            let client = Client::new(store(&args.url, args.export_credentials.as_deref())?);
            let info = client.schema()?;
            let now_s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let days = client.prune(&info, now_s)?;
            writeln!(out, "dropped {} days: {}", days.len(), days.join(", "))?;
        }
    }
    Ok(())
}

/// Loads `files` into the store as `settings` say (of a damaged file,
/// what came before the damage); returns how many files were damaged.
pub fn backfill(files: &[PathBuf], settings: &ExportSettings) -> Result<usize> {
    let client = Client::new(settings.target.clone());
    client.schema()?;
    let loaded = backfill::from_captures(files, &settings.sensor, settings.window_s, |batch| {
        client.send(&batch).with_context(|| {
            format!(
                "exporting window {} (run the same command again: batches already in are not doubled)",
                batch.window_start_s
            )
        })
    })?;
    eprintln!(
        "exported {} windows ({} rows, {} queries) as sensor {} to {}",
        loaded.batches, loaded.rows, loaded.queries, settings.sensor, settings.target
    );
    for damage in &loaded.damaged {
        eprintln!("warning: {damage}; the export covers what was read before it");
    }
    Ok(loaded.damaged.len())
}
