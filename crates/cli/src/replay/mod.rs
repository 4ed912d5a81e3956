//! `framebus replay SESSION [--config other.toml] [--jsonl out.jsonl] [--speed X]`: runs a
//! recording's pipeline (the session's `config.json`, or another config) on the recorded
//! video, and applies the recorded commands before the same frames.
//!
//! - Every source of the config is replaced by `kind = "video_file"` on
//!   `SESSION/<source>.mp4` with `looping = false` and a `block` edge, so every recorded
//!   frame is processed: as fast as the stages go, or with `--speed X` paced at X times the
//!   recorded rate (`realtime = true, speed = X`). Pacing changes no frame time (`t_ns` is
//!   the file's), so fusion rules, which run on frame time, fire at the same frames at any
//!   speed; triggers are printed on stderr as `framebus run` prints them. Rules keep every
//!   action except `save_clip` (the replay keeps no clip ring and writes no clips). A source without a video
//!   in the session is an error. `[server]` is dropped, the run state is `running` (nothing
//!   is recorded again), and the run ends when every video has ended.
//! - Frame ids: `video_file` numbers frames from 1, so the replayed frame id is the MP4
//!   position (`index` in `commands.jsonl`) + 1. A recorded command with `index` i is
//!   applied on the pipeline thread just before replayed frame i + 1 (a schedule handed to
//!   the runtime, not timing), so it takes effect on the frame it did when recorded.
//! - Several sources: each becomes `kind = "replay_video"` instead, and a [`merge::Merge`]
//!   releases their frames one at a time in `(t_ns, source index)` order, so rules across
//!   sources and the order of the snapshots are the same in every replay.
//! - Only the commands that were accepted when recorded (`ok: true`) are applied; refused
//!   ones (e.g. `set_params` under the recording lock) changed nothing then and are skipped.
//!   `save_clip` is skipped too (it cuts files, it does not change results), and so is a
//!   command applied after the recording's last frame (no `index`). A recorded
//!   command that the replay refuses (e.g. with `--config` naming other stages) is reported
//!   on stderr.
//! - `--jsonl` writes one snapshot per frame. Its only wall-clock field is
//!   `active_plugins[].performance_ms` (stage run time); everything else is a function of
//!   the video, the config and the commands, so two replays are identical apart from it.
//!   With several sources the lines of different sources interleave by timing, and
//!   `sequence` (a counter over all sources) with them: compare per source.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use framebus_core::config::Config;
use framebus_core::edge::EdgePolicy;
use framebus_core::fusion::config::ActionConfig;
use framebus_core::observer::{CommandApplied, Observer};
use framebus_core::protocol::{Command, CommandPayload, RunState};
use framebus_core::runtime::{Runtime, RuntimeOptions, ScheduledCommand};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::run::JsonlWriter;

mod merge;

/// Queue length of the replayed sources' `block` edges.
const EDGE_CAPACITY: usize = 4;

/// Arguments of `framebus replay`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// A recording session folder (`<recordings_dir>/<session>/`).
    session: PathBuf,
    /// Run this config instead of the session's `config.json` (its sources must have
    /// recordings in the session, by id).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write one snapshot per replayed frame, one JSON object per line.
    #[arg(long)]
    jsonl: Option<PathBuf>,
    /// Pace the replay at this multiple of the recorded rate (1 = as recorded, 4 = four
    /// times as fast); without it, frames go as fast as the stages take them.
    #[arg(long)]
    speed: Option<f64>,
}

/// One line of `commands.jsonl` (other fields, e.g. `after_frame_id`, are ignored).
#[derive(Debug, Deserialize)]
struct RecordedCommand {
    source: String,
    target: String,
    cmd: String,
    #[serde(default)]
    args: Value,
    ok: bool,
    /// Position in the source's MP4 of the frame the command was applied before; absent
    /// for a command applied after the source's last frame (e.g. a clip cut as it ended).
    #[serde(default)]
    index: Option<u64>,
}

/// Reads `commands.jsonl`; a line that is not a recorded command is an error naming it.
fn read_commands(path: &Path) -> anyhow::Result<Vec<RecordedCommand>> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let c: RecordedCommand = serde_json::from_str(&line).with_context(|| {
            format!("{} line {}: not a recorded command", path.display(), n + 1)
        })?;
        out.push(c);
    }
    Ok(out)
}

/// Replaces every source of `config` by the session's video of it.
fn use_recorded_video(
    config: &mut Config,
    session: &Path,
    speed: Option<f64>,
) -> anyhow::Result<()> {
    use framebus_core::source::Source;
    let video_kind = if config.sources.len() > 1 {
        merge::ReplayVideo::KIND
    } else {
        "video_file"
    };
    for sc in &mut config.sources {
        let file = format!("{}.mp4", framebus_media::record::names::file_safe(&sc.id));
        let path = session.join(&file);
        if !path.is_file() {
            bail!(
                "the session has no recording of source `{}` (expected {})",
                sc.id,
                path.display()
            );
        }
        sc.kind = video_kind.into();
        sc.params = json!({
            "path": path,
            "realtime": speed.is_some(),
            "speed": speed.unwrap_or(1.0),
            "looping": false,
        });
        sc.edge = EdgePolicy::Block {
            capacity: EDGE_CAPACITY,
        };
        sc.clips = false;
    }
    // Rules fire as recorded, but cut no clips: like a recorded `save_clip`, a clip changes
    // files, not results, and the replay keeps no clip ring.
    for rule in &mut config.rules {
        rule.actions
            .retain(|a| !matches!(a, ActionConfig::SaveClip(_)));
    }
    config.server = None;
    config.runtime.initial_state = RunState::Running;
    Ok(())
}

/// The recorded commands to apply, by source index; the number skipped as refused.
fn schedule(
    config: &Config,
    recorded: Vec<RecordedCommand>,
) -> (Vec<ScheduledCommand>, usize, usize) {
    let mut out = Vec::new();
    let (mut refused, mut other) = (0, 0);
    for c in recorded {
        if !c.ok {
            refused += 1;
            continue;
        }
        let Some(index) = config.sources.iter().position(|s| s.id == c.source) else {
            eprintln!(
                "warning: skipping `{}` to `{}`: source `{}` is not in the config",
                c.cmd, c.target, c.source
            );
            other += 1;
            continue;
        };
        let Some(at) = c.index.filter(|_| c.cmd != "save_clip") else {
            // A clip cut (it changes files, not results), or a command applied after the
            // recording's last frame, which no replayed frame can come before.
            other += 1;
            continue;
        };
        out.push(ScheduledCommand {
            source_index: index as u32,
            before_frame_id: at + 1,
            command: Command {
                id: None,
                target: c.target,
                payload: CommandPayload {
                    cmd: c.cmd,
                    args: c.args,
                },
            },
        });
    }
    (out, refused, other)
}

/// Collects the replies of the replayed commands.
#[derive(Default)]
struct Replies(Mutex<Vec<(String, String, Option<String>)>>);

impl Observer for Replies {
    fn command(&self, applied: &CommandApplied<'_>) {
        let c = applied.command;
        let err = applied.reply.as_ref().err().map(|e| e.message.clone());
        if let Ok(mut r) = self.0.lock() {
            r.push((c.target.clone(), c.payload.cmd.clone(), err));
        }
    }
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let session = &args.session;
    if let Some(s) = args.speed
        && !(s.is_finite() && s > 0.0)
    {
        bail!("--speed must be a number above 0, not {s}");
    }
    if !session.is_dir() {
        bail!("no such session directory: {}", session.display());
    }
    let session = session
        .canonicalize()
        .with_context(|| format!("cannot open {}", session.display()))?;
    let config_path = match &args.config {
        Some(c) => c.clone(),
        None => {
            let c = session.join("config.json");
            if !c.is_file() {
                bail!(
                    "{} has no config.json: not a recording session (or pass --config)",
                    session.display()
                );
            }
            c
        }
    };
    let loaded = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = loaded.config;
    use_recorded_video(&mut config, &session, args.speed)?;
    let recorded = read_commands(&session.join("commands.jsonl"))?;
    let (schedule, refused, other) = schedule(&config, recorded);
    let scheduled = schedule.len();

    let replies = Arc::new(Replies::default());
    let mut options = RuntimeOptions {
        base_dir: loaded.base_dir,
        ..Default::default()
    };
    options.observers.push(replies.clone());
    options.observers.push(Arc::new(crate::run::Highlights));
    let writer = JsonlWriter::attach(args.jsonl.as_deref(), &mut options)?;
    if config.sources.len() > 1 {
        // Last, so a frame counts as processed once every other observer has seen it.
        options
            .observers
            .push(merge::Merge::install(config.sources.len()));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let runtime = Runtime::start_with_schedule(&config, options, schedule)?;
    while !runtime.finished() && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let processed: u64 = runtime.status().sources.iter().map(|s| s.processed).sum();
    runtime.shutdown();
    if let Some(w) = writer {
        w.finish()?;
    }
    let replies = replies.0.lock().map(|r| r.clone()).unwrap_or_default();
    for (target, cmd, err) in &replies {
        if let Some(e) = err {
            eprintln!(
                "warning: `{cmd}` to `{target}` was accepted when recorded, refused now: {e}"
            );
        }
    }
    let failed = replies.iter().filter(|r| r.2.is_some()).count();
    let never = scheduled - replies.len().min(scheduled);
    eprintln!(
        "replayed {processed} frame(s); applied {} recorded command(s), {failed} refused now, \
         {never} after the last frame not applied; skipped {refused} refused when recorded \
         and {other} other(s)",
        replies.len() - failed
    );
    Ok(ExitCode::SUCCESS)
}
