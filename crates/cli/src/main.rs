//! `framebus`: the command-line entry point of the framebus perception runtime.
//!
//! # Layout
//! One file per subcommand:
//! - `run`: run a config headless (snapshots to JSONL) or serving when it has `[server]`.
//! - `demo`: the BikeFit example served with the web UI on http://127.0.0.1:8000.
//! - `check`: validate a config and exit non-zero with a located message.
//! - `replay`: run a recorded session's video again, applying its recorded commands.
//! - `plugins`: list registered stages and sources (`--json` for manifests).
//! - `bench`: the benchmarks, with ratios against baselines and peers (`bench/`).
//! - `worker`: serve one registered stage to a framebus host (process isolation).

mod bench;
mod check;
mod csv_out;
mod demo;
mod plugins;
mod replay;
mod run;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// framebus: real-time perception pipelines from config files.
#[derive(Parser)]
#[command(name = "framebus", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline config.
    Run(run::Args),
    /// Validate a config file.
    Check(check::Args),
    /// Serve the BikeFit demo (synthetic rider) with the web UI.
    Demo(demo::Args),
    /// Replay a recording: its pipeline (or another config) on the recorded video, with the
    /// recorded commands applied before the same frames.
    Replay(replay::Args),
    /// List registered stages and sources.
    Plugins(plugins::Args),
    /// Run the benchmarks (printed with ratios against baselines; `--compare` for peers).
    Bench(bench::Args),
    /// Serve a registered stage to a framebus host over the worker protocol (started by
    /// framebus for `isolation = "process"` stages).
    #[command(hide = true)]
    Worker(worker::Args),
}

fn main() -> ExitCode {
    // Keep the crates whose stages and sources register themselves with `inventory`.
    framebus_stages::link();
    framebus_media::link();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run::main(a),
        Command::Check(a) => check::main(a),
        Command::Demo(a) => demo::main(a),
        Command::Replay(a) => replay::main(a),
        Command::Plugins(a) => plugins::main(a),
        Command::Bench(a) => bench::main(a),
        Command::Worker(a) => worker::main(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
