//! `framebus run CONFIG`: run a pipeline config. Headless it writes one snapshot per
//! processed frame to `--jsonl`; it stops at `--frames`, at the end of every source, or on
//! SIGINT/SIGTERM (draining pipelines first). Sources with `clips = true` get a clip ring
//! (for `save_clip` and highlight rules); triggers and saved clips are printed on stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use framebus_core::config::Config;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::protocol::ServerMessage;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_media::Recorder;

/// Arguments of `framebus run`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file (.toml or .json).
    config: PathBuf,
    /// Stop each source after this many frames.
    #[arg(long)]
    frames: Option<u64>,
    /// Write one snapshot per processed frame, one JSON object per line.
    #[arg(long)]
    jsonl: Option<PathBuf>,
}

/// Writes every snapshot as a JSON line.
struct JsonlWriter {
    out: Mutex<BufWriter<File>>,
    failed: AtomicBool,
}

impl Observer for JsonlWriter {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let Ok(mut out) = self.out.lock() else { return };
        let r = out.write_all(snap.json).and_then(|_| out.write_all(b"\n"));
        if let Err(e) = r
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            tracing::error!("cannot write snapshots: {e}");
        }
    }
}

/// Prints triggers and saved clips on stderr.
struct Highlights;

impl Observer for Highlights {
    fn event(&self, msg: &ServerMessage) {
        match msg {
            ServerMessage::Trigger(r) => eprintln!(
                "trigger {} ({:?}) at frame {} of {}: {}",
                r.trigger.rule, r.trigger.edge, r.trigger.frame_id, r.trigger.source, r.reason
            ),
            ServerMessage::ClipSaved(c) => eprintln!(
                "clip saved: {} ({} frames, {:.2} s, {})",
                c.path, c.frames, c.duration_s, c.label
            ),
            _ => {}
        }
    }
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = match Config::load(&args.config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut options = RuntimeOptions {
        max_frames: args.frames,
        base_dir: loaded.base_dir.clone(),
        ..Default::default()
    };
    let writer = match &args.jsonl {
        Some(path) => {
            let f =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let w = Arc::new(JsonlWriter {
                out: Mutex::new(BufWriter::new(f)),
                failed: AtomicBool::new(false),
            });
            options.observers.push(w.clone());
            Some(w)
        }
        None => None,
    };
    if loaded.config.server.is_some() {
        // Serve until SIGINT/SIGTERM; the server handles the signals and drains.
        crate::demo::serve_with(&loaded.config, None, None, options)?;
        if let Some(w) = writer {
            w.out
                .lock()
                .map_err(|_| anyhow::anyhow!("writer poisoned"))?
                .flush()?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let recorder = if loaded.config.sources.iter().any(|s| s.clips) {
        let r = Arc::new(Recorder::new(&loaded.config, vec![Arc::new(Highlights)])?);
        options.observers.push(r.clone());
        Some(r)
    } else {
        None
    };
    options.observers.push(Arc::new(Highlights));
    let runtime = Runtime::start(&loaded.config, options)?;
    while !runtime.finished() && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let processed: u64 = runtime.status().sources.iter().map(|s| s.processed).sum();
    runtime.shutdown();
    if let Some(r) = recorder {
        r.close();
    }
    if let Some(w) = writer {
        let mut out = w
            .out
            .lock()
            .map_err(|_| anyhow::anyhow!("writer poisoned"))?;
        out.flush()?;
        if w.failed.load(Ordering::Relaxed) {
            anyhow::bail!("some snapshots could not be written");
        }
    }
    eprintln!("processed {processed} frame(s)");
    Ok(ExitCode::SUCCESS)
}
