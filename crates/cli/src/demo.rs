//! `framebus demo`: the BikeFit example (synthetic rider, blob detection, camera control,
//! marker manager, geometry manager) served with the web UI on http://127.0.0.1:8000.
//! `--camera /dev/video0` runs the same stages on a V4L2 camera.
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
    /// Capture from this V4L2 camera (e.g. `/dev/video0`, YUYV 640×480 at 30 fps) instead of
    /// the synthetic rider.
    #[arg(long, value_name = "DEVICE")]
    camera: Option<String>,
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::parse(BIKEFIT, Format::Toml, "examples/bikefit.toml")
        .context("the embedded example is invalid")?;
    if let Some(device) = args.camera {
        use_camera(&mut config, &device);
    }
    serve(&config, Some(args.bind), args.token)?;
    Ok(ExitCode::SUCCESS)
}

/// Points the example's first source at a V4L2 camera; the stages stay as they are.
fn use_camera(config: &mut Config, device: &str) {
    if let Some(source) = config.sources.first_mut() {
        source.kind = "v4l2".into();
        source.params = serde_json::json!({
            "device": device, "width": 640, "height": 480, "fps": 30, "format": "yuyv"
        });
    }
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
