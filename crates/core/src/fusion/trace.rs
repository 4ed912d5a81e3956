//! Traces (seed 004's observability): JSON lines at `minimal` (triggers), `normal` (plus
//! per-frame summaries and rule state changes) or `verbose` (plus every signal and stage
//! timing), to a JSONL file or the console. At `off` no tracer exists, so nothing is
//! formatted or allocated. A sink that fails is reported once and dropped; processing goes on.

use std::io::Write;
use std::sync::Mutex;

use crate::fusion::config::{TraceConfig, TraceLevel, TraceSinkConfig};

enum Sink {
    File(String, std::fs::File),
    Console,
}

/// A tracer shared by every pipeline.
pub struct Tracer {
    level: TraceLevel,
    sinks: Mutex<Vec<Sink>>,
    failures: Mutex<Vec<String>>,
    line: Mutex<String>,
}

impl Tracer {
    /// A tracer for `[trace]`, or `None` at `off` (or with no sinks). Sinks that cannot be
    /// opened are reported by [`take_failures`](Self::take_failures).
    pub fn new(cfg: &TraceConfig, base: &std::path::Path) -> Option<Self> {
        if cfg.level == TraceLevel::Off || cfg.sinks.is_empty() {
            return None;
        }
        let mut sinks = Vec::new();
        let mut failures = Vec::new();
        for s in &cfg.sinks {
            match s {
                TraceSinkConfig::Console {} => sinks.push(Sink::Console),
                TraceSinkConfig::Jsonl { path } => {
                    let p = base.join(path);
                    match std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&p)
                    {
                        Ok(f) => sinks.push(Sink::File(p.display().to_string(), f)),
                        Err(e) => failures.push(format!(
                            "trace sink {} cannot be opened: {e}; tracing to it is off",
                            p.display()
                        )),
                    }
                }
            }
        }
        Some(Self {
            level: cfg.level,
            sinks: Mutex::new(sinks),
            failures: Mutex::new(failures),
            line: Mutex::new(String::with_capacity(512)),
        })
    }

    /// The level.
    pub fn level(&self) -> TraceLevel {
        self.level
    }

    /// Whether records of `level` are written.
    pub fn wants(&self, level: TraceLevel) -> bool {
        level <= self.level
    }

    /// Writes one record (a JSON value without newline). A sink whose write fails is
    /// reported once (see [`take_failures`](Self::take_failures)) and dropped.
    pub fn write(&self, record: &impl serde::Serialize) {
        let Ok(mut line) = self.line.lock() else {
            return;
        };
        line.clear();
        let mut buf = std::mem::take(&mut *line).into_bytes();
        if serde_json::to_writer(&mut buf, record).is_err() {
            *line = String::from_utf8(buf).unwrap_or_default();
            return;
        }
        buf.push(b'\n');
        let Ok(mut sinks) = self.sinks.lock() else {
            return;
        };
        let mut failed = Vec::new();
        for (i, s) in sinks.iter_mut().enumerate() {
            let r = match s {
                Sink::Console => std::io::stderr().write_all(&buf),
                Sink::File(_, f) => f.write_all(&buf).and_then(|()| f.flush()),
            };
            if let Err(e) = r {
                failed.push((i, e));
            }
        }
        for (i, e) in failed.into_iter().rev() {
            let s = sinks.remove(i);
            let name = match &s {
                Sink::File(p, _) => p.clone(),
                Sink::Console => "console".into(),
            };
            let msg = format!("trace sink {name} failed: {e}; tracing to it is off");
            tracing::error!("{msg}");
            if let Ok(mut f) = self.failures.lock() {
                f.push(msg);
            }
        }
        buf.pop();
        *line = String::from_utf8(buf).unwrap_or_default();
    }

    /// Sink failures not reported yet (each sink fails at most once).
    pub fn take_failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }

    /// True when some sink failure waits to be reported (cheap check per frame).
    pub fn has_failures(&self) -> bool {
        self.failures.lock().map(|f| !f.is_empty()).unwrap_or(false)
    }
}
