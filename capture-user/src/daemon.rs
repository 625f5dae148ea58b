//! `dnsrare run`: load and attach the XDP program, drain its ring into the
//! engine, answer on the socket, and shut down cleanly on SIGINT/SIGTERM.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use anyhow::{Context, Result};

use crate::{
    capture::{Capture, LoadOptions},
    drain::{self, DecodeErrors},
    engine::Engine,
    protocol::{Request, Response, StatsReply},
    report::Report,
    server::Server,
    stats::CaptureSummary,
};

/// Settings of a running daemon, already validated.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// Interfaces to attach to (at least one).
    pub interfaces: Vec<String>,
    /// Socket path.
    pub socket: PathBuf,
    /// Number of shards.
    pub shards: usize,
    /// Load-time settings of the XDP program.
    pub load: LoadOptions,
}

/// Runs the daemon until SIGINT or SIGTERM.
pub fn run(config: &DaemonConfig) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }

    let mut capture = Capture::load(config.load)?;
    for iface in &config.interfaces {
        let mode = capture.attach(iface)?;
        log::info!("attached to {iface} ({mode:?} mode)");
    }
    let interfaces: Vec<String> = capture
        .attached()
        .iter()
        .map(|(iface, mode)| format!("{iface} ({mode:?})"))
        .collect();
    let program = capture.facts()?;
    log::info!(
        "XDP program: {} instructions, {} processed by the verifier",
        program.instructions.unwrap_or(0),
        program.verified_instructions.unwrap_or(0)
    );
    let ring = capture.take_ring()?;
    let counters = capture.take_counters()?;
    let server = Server::bind(&config.socket)?;

    let engine = Engine::start(config.shards);
    let errors = Arc::new(DecodeErrors::default());
    let drain_stop = Arc::new(AtomicBool::new(false));
    let drain = {
        let (dispatcher, errors, drain_stop) = (
            engine.dispatcher(),
            Arc::clone(&errors),
            Arc::clone(&drain_stop),
        );
        std::thread::Builder::new()
            .name("dnsrare-drain".into())
            .spawn(move || drain::run(ring, dispatcher, errors, drain_stop))
            .context("starting the drain thread")?
    };
    log::info!(
        "serving on {} with {} shards",
        config.socket.display(),
        config.shards
    );

    let querier = engine.querier();
    server.serve(&stop, |request| {
        let summary = || -> Result<CaptureSummary> {
            let kernel = counters.read()?;
            let counted = querier.sizes()?.iter().map(|s| s.queries).sum();
            Ok(CaptureSummary::new(&kernel, &errors.snapshot(), counted))
        };
        let answer = || -> Result<Response> {
            Ok(match request {
                Request::Report { top } => {
                    let capture = summary()?;
                    let names = querier.sizes()?.iter().map(|s| s.names).sum();
                    Response::Report(Report {
                        capture,
                        names,
                        rows: querier.rarest(top)?,
                    })
                }
                Request::Stats => Response::Stats(StatsReply {
                    capture: summary()?,
                    shards: querier.sizes()?,
                    interfaces: interfaces.clone(),
                    program,
                }),
                Request::Hosts { name } => Response::Hosts {
                    found: querier.hosts(&name)?,
                },
            })
        };
        answer().unwrap_or_else(|e| Response::Error {
            message: format!("{e:#}"),
        })
    });

    log::info!("stopping: detaching and draining what is left");
    // Detach first, so nothing arrives after the drain's last pass.
    drop(capture);
    drain_stop.store(true, Ordering::Release);
    let drained = drain.join();
    drop(querier);
    engine.shutdown();
    drop(server);
    match drained {
        Ok(result) => result.context("draining the ring buffer"),
        Err(_) => anyhow::bail!("the drain thread panicked"),
    }
}
