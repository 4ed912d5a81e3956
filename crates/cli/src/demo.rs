//! `framebus demo`: the BikeFit example (synthetic rider, blob detection, camera control,
//! marker manager, geometry manager) served with the web UI on http://127.0.0.1:8000.
//! Prints one line, `listening on http://ADDR`, once bound; Ctrl-C or SIGTERM closes the
//! clients, drains the pipeline and exits 0.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use framebus_core::config::{Config, Format};
use framebus_server::ServeOptions;

/// The example config, embedded so the demo runs from anywhere.
const BIKEFIT: &str = include_str!("../../../examples/bikefit.toml");

/// Arguments of `framebus demo`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Address to serve on, `ADDR:PORT` (port 0 picks a free one). Anything but loopback
    /// requires `--token`.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
    /// Bearer token required by the REST API and WebSockets.
    #[arg(long)]
    token: Option<String>,
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::parse(BIKEFIT, Format::Toml, "examples/bikefit.toml")
        .context("the embedded example is invalid")?;
    serve(&config, Some(args.bind), args.token)?;
    Ok(ExitCode::SUCCESS)
}

/// Serves `config` until SIGINT/SIGTERM, printing `listening on http://ADDR` once bound.
/// Shared with `framebus run` for configs with `[server]`.
pub(crate) fn serve(
    config: &Config,
    bind: Option<String>,
    token: Option<String>,
) -> anyhow::Result<()> {
    serve_with(config, bind, token, Default::default())
}

/// Like [`serve`], with runtime options (frame limit, extra observers, base directory).
pub(crate) fn serve_with(
    config: &Config,
    bind: Option<String>,
    token: Option<String>,
    runtime: framebus_core::runtime::RuntimeOptions,
) -> anyhow::Result<()> {
    let options = ServeOptions {
        bind,
        token,
        runtime,
        shutdown: None,
    };
    framebus_server::serve(config, options, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    })?;
    Ok(())
}
