//! The `dnsrare` binary: parses flags, runs the subcommand, and turns the
//! outcome into an exit code (0 ok, 1 error, 2 daemon unreachable).

use std::{io::Write, process::ExitCode};

use anyhow::Result;
use clap::Parser;
use dnsrare::{
    cli::{Cli, Command},
    client::{self, ClientError},
    daemon,
    protocol::{Request, Response},
    report,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
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

fn run(cli: Cli) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Run(args) => daemon::run(&args.config()),
        Command::Report(args) => {
            let Response::Report(r) =
                client::ask(&args.socket.socket, &Request::Report { top: args.top })?
            else {
                anyhow::bail!("the daemon answered a report request with something else");
            };
            if args.json {
                serde_json::to_writer(&mut out, &r)?;
                writeln!(out)?;
            } else {
                report::write_table(&mut out, &r)?;
            }
            Ok(out.flush()?)
        }
        Command::Stats(args) => {
            let Response::Stats(s) = client::ask(&args.socket.socket, &Request::Stats)? else {
                anyhow::bail!("the daemon answered a stats request with something else");
            };
            if args.json {
                serde_json::to_writer(&mut out, &s)?;
                writeln!(out)?;
            } else {
                report::write_capture(&mut out, &s.capture)?;
                writeln!(out, "interfaces: {}", s.interfaces.join(", "))?;
                if let (Some(insns), Some(verified)) =
                    (s.program.instructions, s.program.verified_instructions)
                {
                    writeln!(
                        out,
                        "XDP program: {insns} instructions, {verified} processed by the verifier"
                    )?;
                }
                for (i, shard) in s.shards.iter().enumerate() {
                    writeln!(
                        out,
                        "shard {i}: {} names, {} host-name pairs, {} queries",
                        shard.names, shard.pairs, shard.queries
                    )?;
                }
            }
            Ok(out.flush()?)
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
                report::write_hosts(&mut out, &found)?;
            }
            Ok(out.flush()?)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
