//! `framebus run CONFIG`: run a pipeline config. Headless it writes one snapshot per
//! processed frame to `--jsonl` and one row of signals per frame to `--csv`; it stops at
//! `--frames`, at the end of every source, or on SIGINT/SIGTERM (draining pipelines first,
//! then finishing recordings and clips). On a terminal it shows a progress bar on stderr
//! (frames, fps, and an ETA when the length is known: video files that do not loop, or
//! `--frames`); nothing when stderr is not a terminal. Sources with `clips = true` get a
//! clip ring (for `save_clip` and highlight rules); triggers and saved clips are printed on
//! stderr.

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
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::csv_out::CsvSignals;

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
    /// Write one row per processed frame with every signal (CSV; header = every signal name
    /// seen in the run, sorted).
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// Writes every snapshot as a JSON line (also used by `replay`).
pub(crate) struct JsonlWriter {
    pub(crate) out: Mutex<BufWriter<File>>,
    pub(crate) failed: AtomicBool,
}

impl JsonlWriter {
    /// With a `path`, creates the file and adds a writer to it to `options`' observers
    /// (returned, to check and flush at the end); without, nothing.
    pub(crate) fn attach(
        path: Option<&std::path::Path>,
        options: &mut RuntimeOptions,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        let Some(path) = path else {
            return Ok(None);
        };
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let w = Arc::new(Self {
            out: Mutex::new(BufWriter::new(f)),
            failed: AtomicBool::new(false),
        });
        options.observers.push(w.clone());
        Ok(Some(w))
    }

    /// Flushes the file; an error if it fails or if any snapshot could not be written.
    pub(crate) fn finish(&self) -> anyhow::Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| anyhow::anyhow!("writer poisoned"))?;
        out.flush()?;
        if self.failed.load(Ordering::Relaxed) {
            anyhow::bail!("some snapshots could not be written");
        }
        Ok(())
    }
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

/// Prints triggers and saved clips on stderr (`run` and `replay`).
pub(crate) struct Highlights;

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
    let writer = JsonlWriter::attach(args.jsonl.as_deref(), &mut options)?;
    let csv = args.csv.as_ref().map(|_| {
        let c = Arc::new(CsvSignals::default());
        options.observers.push(c.clone());
        c
    });
    if loaded.config.server.is_some() {
        // Serve until SIGINT/SIGTERM; the server handles the signals and drains.
        crate::demo::serve_with(&loaded.config, None, None, options)?;
        if let Some(w) = writer {
            w.out
                .lock()
                .map_err(|_| anyhow::anyhow!("writer poisoned"))?
                .flush()?;
        }
        if let (Some(c), Some(path)) = (&csv, &args.csv) {
            c.write(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let total = known_length(&loaded, args.frames);
    let recorder = Arc::new(
        Recorder::new(&loaded.config, vec![Arc::new(Highlights)])
            .context("cannot start the recorder")?,
    );
    options.observers.push(recorder.clone());
    options.observers.push(Arc::new(Highlights));
    let runtime = Runtime::start(&loaded.config, options)?;
    let bar = progress_bar(total);
    let processed = || -> u64 { runtime.status().sources.iter().map(|s| s.processed).sum() };
    while !runtime.finished() && !stop.load(Ordering::Relaxed) {
        if let Some(bar) = &bar {
            bar.set_position(processed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let processed = processed();
    runtime.shutdown();
    if let Some(bar) = bar {
        bar.set_position(processed);
        bar.finish();
    }
    if let (Some(c), Some(path)) = (&csv, &args.csv) {
        c.write(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Pipelines have drained: finish every recording and clip in progress.
    recorder.close();
    if let Some(w) = writer {
        w.finish()?;
    }
    eprintln!("processed {processed} frame(s)");
    Ok(ExitCode::SUCCESS)
}

/// Frames the run will process, when every source knows its length (non-looping video
/// files) or `--frames` bounds it.
fn known_length(loaded: &framebus_core::config::LoadedConfig, frames: Option<u64>) -> Option<u64> {
    let sources = &loaded.config.sources;
    let per_source = sources.iter().map(|s| {
        let file_len = (s.kind == "video_file" && !s.params["looping"].as_bool().unwrap_or(false))
            .then(|| s.params["path"].as_str())
            .flatten()
            .and_then(|p| framebus_media::video_file::frame_count(&loaded.base_dir.join(p)).ok());
        match (file_len, frames) {
            (Some(n), Some(f)) => Some(n.min(f)),
            (a, b) => a.or(b),
        }
    });
    per_source.sum()
}

/// A progress bar on stderr when it is a terminal; `None` otherwise.
fn progress_bar(total: Option<u64>) -> Option<ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            "{bar:40} {pos}/{len} frames  {per_sec}  ETA {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {pos} frames  {per_sec}",
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}
