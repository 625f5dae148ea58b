//! The `dnsrare` binary: parses flags, runs the subcommand, and turns the
//! outcome into an exit code: 0 ok, 1 error, 2 daemon unreachable, 3 report
//! printed but an input file was damaged (the report covers what was read).

use std::{io::Write, process::ExitCode};

use anyhow::Result;
use clap::Parser;
mod central;
mod cli;
mod install;
mod offline;

use cli::{
    client::{self, ClientError},
    config,
    flags::{Cli, Command, LogArgs, ReportOptions},
    render,
};
use dnsrare::live::daemon;
use dnsrare_core::{
    ingest::logs::LogFormat,
    model::{
        report::Report,
        status::{ShardSize, StatsReply},
    },
    protocol::{Request, Response},
};

/// Exit code when a report was printed from damaged input.
const EXIT_PARTIAL: u8 = 3;

fn main() -> ExitCode {
    let args = match config::apply(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("dnsrare: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(args);
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dnsrare: {e:#}");
            if e.downcast_ref::<ClientError>()
                .is_some_and(|c| matches!(c, ClientError::Connect { .. }))
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Run(args) => daemon::run(&args.config()?)?,
        Command::Report(args) if args.from.is_some() => {
            let url = args.from.as_deref().unwrap_or_default();
            let r = central::report(&args, url)?;
            print_report(&mut out, &r, &args.options)?;
        }
        Command::Clickhouse(command) => central::clickhouse(&mut out, &command)?,
        Command::Report(args) => {
            if !args.lists.is_empty() {
                anyhow::bail!(
                    "list files apply to `report --from` only: the daemon's lists are in its configuration"
                );
            }
            let Response::Report(r) =
                client::ask(&args.socket.socket, &Request::Report(args.options.query()))?
            else {
                anyhow::bail!("the daemon answered a report request with something else");
            };
            print_report(&mut out, &r, &args.options)?;
        }
        Command::Pcap(args) => {
            let export = args.export.settings()?;
            let run = offline::run(
                &args.baseline,
                &args.files,
                &args.engine.config(),
                args.lists.lists()?,
                &args.lists.report_lists()?.current(),
                &args.options.query(),
                !args.no_progress,
            )?;
            print_report(&mut out, &run.report, &args.options)?;
            eprintln!("{}", offline::summary_text(&run.read));
            for damage in &run.damaged {
                eprintln!("warning: {damage}; the report covers what was read before it");
            }
            if let Some(settings) = &export {
                out.flush()?;
                central::backfill(&args.files, settings)?;
            }
            if !run.damaged.is_empty() {
                return Ok(ExitCode::from(EXIT_PARTIAL));
            }
        }
        Command::Zeek(args) => return log_report(&mut out, LogFormat::Zeek, &args),
        Command::Eve(args) => return log_report(&mut out, LogFormat::Eve, &args),
        Command::Stats(args) => {
            let Response::Stats(s) = client::ask(&args.socket.socket, &Request::Stats)? else {
                anyhow::bail!("the daemon answered a stats request with something else");
            };
            if args.prometheus {
                let now_ns = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                out.write_all(dnsrare_core::prometheus::render(&s, now_ns).as_bytes())?;
            } else if args.json {
                serde_json::to_writer(&mut out, &s)?;
                writeln!(out)?;
            } else {
                render::write_capture(&mut out, &s.capture)?;
                render::write_directions(&mut out, &s.capture)?;
                writeln!(out, "interfaces: {}", s.interfaces.join(", "))?;
                if let (Some(insns), Some(verified)) =
                    (s.program.instructions, s.program.verified_instructions)
                {
                    writeln!(
                        out,
                        "XDP program: {insns} instructions, {verified} processed by the verifier"
                    )?;
                }
                match s.egress_program {
                    Some(facts) => {
                        if let (Some(insns), Some(verified)) =
                            (facts.instructions, facts.verified_instructions)
                        {
                            writeln!(
                                out,
                                "TC egress program: {insns} instructions, {verified} processed by the verifier"
                            )?;
                        }
                    }
                    None => writeln!(out, "TC egress program: not attached (--no-egress)")?,
                }
                write_state(&mut out, &s)?;
                if s.reports.count > 0 {
                    writeln!(
                        out,
                        "reports: {} answered, {:.1} ms on average, the last {:.1} ms",
                        s.reports.count,
                        s.reports.total_ns as f64 / s.reports.count as f64 / 1e6,
                        s.reports.last_ns as f64 / 1e6
                    )?;
                }
            }
        }
        Command::Hosts(args) => {
            let Response::Hosts { found } = client::ask(
                &args.socket.socket,
                &Request::Hosts {
                    name: args.name.to_ascii_lowercase(),
                },
            )?
            else {
                anyhow::bail!("the daemon answered a hosts request with something else");
            };
            let Some(found) = found else {
                anyhow::bail!("{} has not been seen", args.name);
            };
            if args.json {
                serde_json::to_writer(&mut out, &found)?;
                writeln!(out)?;
            } else {
                render::write_hosts(&mut out, &found)?;
            }
        }
        Command::Install(args) => {
            let done = install::install(&args.root)?;
            for p in &done.written {
                writeln!(out, "installed {}", p.display())?;
            }
            for p in &done.kept {
                writeln!(out, "kept {} (already there)", p.display())?;
            }
            if done.created_user {
                writeln!(out, "created the system user {}", install::SERVICE_USER)?;
            }
            writeln!(
                out,
                "next: set `iface` in {}, then `systemctl daemon-reload && systemctl enable --now dnsrare`",
                args.root.join("etc/dnsrare/dnsrare.toml").display()
            )?;
        }
        Command::Man(args) => {
            for page in cli::man::write_pages(&args.dir)? {
                writeln!(out, "{}", page.display())?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `dnsrare zeek` / `dnsrare eve`: the report, the summary, a warning per
/// file with malformed lines or cut short; exit code 3 when any.
fn log_report(out: &mut impl Write, format: LogFormat, args: &LogArgs) -> Result<ExitCode> {
    let run = offline::run_logs(
        format,
        &args.files,
        &args.engine.config(),
        args.lists.lists()?,
        &args.lists.report_lists()?.current(),
        &args.options.query(),
        !args.no_progress,
    )?;
    print_report(out, &run.report, &args.options)?;
    out.flush()?;
    eprintln!("{}", offline::log_summary_text(&run.read));
    for warning in offline::malformed_warnings(&run.read) {
        eprintln!("warning: {warning}");
    }
    for damage in &run.damaged {
        let cause = std::error::Error::source(damage)
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        eprintln!("warning: {damage}{cause}; the report covers what was read before it");
    }
    Ok(if run.partial() {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(out: &mut impl Write, r: &Report, options: &ReportOptions) -> Result<()> {
    if let Some(path) = &options.html {
        write_html(path, r)?;
    }
    if options.json {
        serde_json::to_writer(&mut *out, r)?;
        writeln!(out)?;
    } else if options.csv {
        render::write_csv(out, r)?;
    } else {
        render::write_table(out, r, options.presentation())?;
    }
    Ok(())
}

/// Writes the HTML page to `path` (through a temporary file beside it, so
/// a reader never sees half a page). A path that is not a regular file (a
/// pipe, `/dev/stdout`, `/dev/null`) is written in place: renaming over it
/// would replace the device or pipe with a file.
fn write_html(path: &std::path::Path, r: &Report) -> Result<()> {
    use anyhow::Context as _;
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let write = || -> std::io::Result<()> {
            let mut file =
                std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(path)?);
            cli::html::write_html(&mut file, r)?;
            file.flush()
        };
        write().with_context(|| format!("writing the HTML report to {}", path.display()))?;
        eprintln!("wrote the HTML report to {}", path.display());
        return Ok(());
    }
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map_or_else(|| "report.html".into(), |n| n.to_string_lossy())
    ));
    let write = || -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        cli::html::write_html(&mut file, r)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("writing the HTML report to {}", path.display()))?;
    eprintln!("wrote the HTML report to {}", path.display());
    Ok(())
}

fn write_state(out: &mut impl Write, s: &StatsReply) -> std::io::Result<()> {
    let sum = |f: fn(&ShardSize) -> u64| s.shards.iter().map(f).sum::<u64>();
    writeln!(
        out,
        "state: {:.1} MiB of {:.1} MiB; {} names, {} host-name pairs, {} domains ({} exploded), {} arrival rings",
        sum(|x| x.memory_bytes) as f64 / 1048576.0,
        sum(|x| x.budget_bytes) as f64 / 1048576.0,
        sum(|x| x.names),
        sum(|x| x.pairs),
        sum(|x| x.domains),
        sum(|x| x.folded_domains),
        sum(|x| x.rings),
    )?;
    let folded = sum(|x| x.totals.folded_queries);
    let untracked = sum(|x| x.totals.untracked_queries);
    if folded + untracked > 0 {
        writeln!(
            out,
            "folded: {folded} queries into domain rows; {untracked} queries from untracked hosts"
        )?;
    }
    for (i, shard) in s.shards.iter().enumerate() {
        writeln!(
            out,
            "shard {i}: {} names, {} pairs, {} queries, {:.1} MiB ({:?})",
            shard.names,
            shard.pairs,
            shard.totals.queries,
            shard.memory_bytes as f64 / 1048576.0,
            shard.pressure
        )?;
    }
    match (&s.snapshot.error, s.snapshot.written_ns) {
        (Some(e), _) => writeln!(out, "last snapshot failed: {e}")?,
        (None, 0) => writeln!(out, "no snapshot written yet")?,
        (None, at) => writeln!(
            out,
            "last snapshot: {} ({} ms, {:.1} MiB)",
            render::format_time(at),
            s.snapshot.duration_ms,
            s.snapshot.bytes as f64 / 1048576.0
        )?,
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
