//! One recording session: its folder, the `snapshots.jsonl` and `commands.jsonl` writers, the
//! finished videos, and the manifest written when the last source closes its file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use framebus_core::observer::Observer;
use framebus_protocol::{RecordingSaved, ServerMessage};
use serde_json::json;

use super::names::{now_secs, utc_stamp};
use crate::encode::Mp4Summary;

/// An open session. Sources hold it while their files are open; dropping the last holder
/// flushes the JSON lines, writes `session.json` and emits `recording_saved`.
pub(crate) struct Session {
    pub(crate) generation: u64,
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    snapshots: Mutex<BufWriter<File>>,
    commands: Mutex<BufWriter<File>>,
    started: Instant,
    started_utc: String,
    pub(crate) frames: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) dropped_base: u64,
    pub(crate) dropped_now: Box<dyn Fn() -> u64 + Send + Sync>,
    files: Mutex<Vec<(String, Mp4Summary)>>,
    events: Vec<Arc<dyn Observer>>,
}

fn create_dir(root: &Path) -> std::io::Result<(String, PathBuf)> {
    std::fs::create_dir_all(root)?;
    let base = utc_stamp(now_secs());
    for n in 1..1000 {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let dir = root.join(&name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((name, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many sessions this second"))
}

impl Session {
    /// Creates the session folder under `root`, its JSONL files and `config.json`.
    pub(crate) fn create(
        root: &Path,
        generation: u64,
        config_json: Option<&str>,
        dropped_now: Box<dyn Fn() -> u64 + Send + Sync>,
        events: Vec<Arc<dyn Observer>>,
    ) -> std::io::Result<Self> {
        let (name, dir) = create_dir(root)?;
        if let Some(c) = config_json {
            std::fs::write(dir.join("config.json"), c)?;
        }
        let open = |f: &str| File::create(dir.join(f)).map(|f| Mutex::new(BufWriter::new(f)));
        Ok(Self {
            generation,
            snapshots: open("snapshots.jsonl")?,
            commands: open("commands.jsonl")?,
            started: Instant::now(),
            started_utc: utc_stamp(now_secs()),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            dropped_base: dropped_now(),
            dropped_now,
            files: Mutex::new(Vec::new()),
            events,
            name,
            dir,
        })
    }

    /// Seconds since the session started.
    pub(crate) fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Frames dropped from this session's videos so far.
    pub(crate) fn dropped(&self) -> u64 {
        (self.dropped_now)().saturating_sub(self.dropped_base)
    }

    /// Appends one snapshot line.
    pub(crate) fn write_snapshot(&self, json: &[u8]) {
        if let Ok(mut w) = self.snapshots.lock()
            && let Err(e) = w.write_all(json).and_then(|_| w.write_all(b"\n"))
        {
            tracing::error!(session = %self.name, "cannot write snapshots.jsonl: {e}");
        }
    }

    /// Appends one command line.
    pub(crate) fn write_command(&self, line: &serde_json::Value) {
        if let Ok(mut w) = self.commands.lock() {
            let r = serde_json::to_writer(&mut *w, line)
                .map_err(std::io::Error::other)
                .and_then(|_| w.write_all(b"\n"));
            if let Err(e) = r {
                tracing::error!(session = %self.name, "cannot write commands.jsonl: {e}");
            }
        }
    }

    /// Records a finished video of `source`.
    pub(crate) fn add_file(&self, source: &str, summary: Mp4Summary) {
        if let Ok(mut f) = self.files.lock() {
            f.push((source.to_owned(), summary));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for w in [&self.snapshots, &self.commands] {
            if let Ok(mut w) = w.lock()
                && let Err(e) = w.flush()
            {
                tracing::error!(session = %self.name, "cannot flush: {e}");
            }
        }
        let files = self.files.lock().map(|f| f.clone()).unwrap_or_default();
        let frames: u64 = files.iter().map(|(_, s)| s.frames).sum();
        let dropped = self.dropped();
        let sources: Vec<_> = files
            .iter()
            .map(|(source, s)| {
                json!({
                    "source": source,
                    "file": s.path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    "frames": s.frames,
                    "duration_s": s.duration_s,
                    "bytes": s.bytes,
                })
            })
            .collect();
        let manifest = json!({
            "session": self.name,
            "started_utc": self.started_utc,
            "elapsed_s": self.elapsed_s(),
            "frames": frames,
            "dropped": dropped,
            "sources": sources,
        });
        let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        if let Err(e) = std::fs::write(self.dir.join("session.json"), text) {
            tracing::error!(session = %self.name, "cannot write session.json: {e}");
        }
        let bytes = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        let msg = ServerMessage::RecordingSaved(RecordingSaved {
            session: self.name.clone(),
            frames,
            dropped,
            bytes,
        });
        for o in &self.events {
            o.event(&msg);
        }
    }
}
