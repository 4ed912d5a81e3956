//! Per-stage isolation settings (seed 004's levels): where a stage runs (`isolation`), whether
//! the pipeline waits for it (`mode`), how long it may take (`deadline_ms`), and which earlier
//! stages it must follow (`after`), with their validation.
//!
//! Rules (each broken rule is a located config error):
//! - `mode = "latest"` needs `isolation = "thread"` or `"process"`: an inline stage runs on
//!   the pipeline thread, so the pipeline always waits for it.
//! - `deadline_ms` (at least 1) is for `thread`/`process` stages in `join` mode: the pipeline
//!   cannot stop waiting for an inline stage, and never waits for a `latest` one.
//! - `after` names earlier stages of the same source.
//! - `thread`/`process` stages must take frames (sample stages may replace the packet, which
//!   only makes sense in order on the pipeline thread).
//! - `python`/`module` (a Python stage run by a worker process) need `isolation = "process"`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Config;
use crate::packet::PayloadKind;
use crate::registry;

/// Where a stage runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// On the pipeline thread, in config order (the default; the fastest).
    #[default]
    Inline,
    /// On its own persistent thread; consecutive `join` thread stages run in parallel on the
    /// same frame and are joined before the next other stage.
    Thread,
    /// In a child process (`framebus worker` or a Python interpreter).
    Process,
}

impl Isolation {
    /// True for the default (`inline`), so configs serialize without it.
    pub fn is_inline(&self) -> bool {
        *self == Self::Inline
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Thread => "thread",
            Self::Process => "process",
        }
    }
}

/// Whether the pipeline waits for a `thread` or `process` stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageMode {
    /// The frame waits for the stage (until its `deadline_ms`, if any).
    #[default]
    Join,
    /// The pipeline never waits: the stage takes the newest frame whenever it is free and
    /// its last result is carried into later snapshots with its own `frame_id` and `age_ms`.
    Latest,
}

impl StageMode {
    /// True for the default (`join`), so configs serialize without it.
    pub fn is_join(&self) -> bool {
        *self == Self::Join
    }
}

/// How a pipeline schedules one stage (from its `[[stages]]` entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Where it runs.
    pub isolation: Isolation,
    /// Whether the pipeline waits for it.
    pub mode: StageMode,
    /// Longest wait for its result in `join` mode.
    pub deadline: Option<std::time::Duration>,
    /// Instance ids of earlier stages it must follow (a `thread` stage naming a stage of the
    /// thread group in progress starts a new group after it).
    pub after: Vec<String>,
}

type Problem = (String, String, Option<String>);

/// Checks the isolation settings of every stage (see the module docs for the rules).
pub(super) fn validate(config: &Config) -> Result<(), Problem> {
    for (i, s) in config.stages.iter().enumerate() {
        let at = |f: &str| format!("stages[{i}].{f}");
        let isolated = s.isolation != Isolation::Inline;
        if s.mode == StageMode::Latest && !isolated {
            return Err((
                at("mode"),
                "mode = \"latest\" needs isolation = \"thread\" or \"process\" (an inline stage \
                 always holds up its frame)"
                    .into(),
                Some("add isolation = \"thread\"".into()),
            ));
        }
        if let Some(ms) = s.deadline_ms {
            if ms == 0 {
                return Err((at("deadline_ms"), "must be at least 1".into(), None));
            }
            if !isolated {
                return Err((
                    at("deadline_ms"),
                    "deadline_ms needs isolation = \"thread\" or \"process\" (the pipeline \
                     cannot stop waiting for an inline stage)"
                        .into(),
                    Some("add isolation = \"thread\"".into()),
                ));
            }
            if s.mode == StageMode::Latest {
                return Err((
                    at("deadline_ms"),
                    "deadline_ms applies to mode = \"join\"; the pipeline never waits for a \
                     \"latest\" stage"
                        .into(),
                    None,
                ));
            }
        }
        let slots = s.worker.slot_bytes;
        let range = crate::isolation::process::bell::SLOT_RANGE;
        if slots != 0 && !range.contains(&slots) {
            return Err((
                at("worker.slot_bytes"),
                format!(
                    "slots of {slots} bytes: 0 (no slots) or {} to {} bytes",
                    range.start(),
                    range.end()
                ),
                None,
            ));
        }
        if (s.python.is_some() || s.module.is_some()) && s.isolation != Isolation::Process {
            let field = if s.python.is_some() {
                "python"
            } else {
                "module"
            };
            return Err((
                at(field),
                format!(
                    "`{field}` needs isolation = \"process\" (a Python stage runs in a worker process)"
                ),
                Some("add isolation = \"process\"".into()),
            ));
        }
        let source = config.stage_source(i);
        for (k, name) in s.after.iter().enumerate() {
            let earlier = (0..i)
                .any(|j| config.stage_source(j) == source && config.stage_id(j) == name.as_str());
            if !earlier {
                return Err((
                    format!("stages[{i}].after[{k}]"),
                    format!("`{name}` is not an earlier stage of source `{source}`"),
                    Some("`after` names stages listed before this one in the same pipeline".into()),
                ));
            }
        }
        if isolated
            && let Some(reg) = registry::stage(&s.plugin)
            && reg.takes != PayloadKind::Frames
        {
            return Err((
                at("isolation"),
                format!(
                    "isolation = \"{}\" is for frame stages; `{}` takes {}",
                    s.isolation.as_str(),
                    config.stage_id(i),
                    reg.takes.as_str()
                ),
                Some("sample stages run inline, in order".into()),
            ));
        }
    }
    Ok(())
}

impl super::StageConfig {
    /// The stage's scheduling settings.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            isolation: self.isolation,
            mode: self.mode,
            // A process stage's `deadline_ms` is its worker's per-frame timeout: the proxy
            // reports the hang, kills and restarts the worker itself.
            deadline: if self.isolation == Isolation::Process {
                None
            } else {
                self.deadline_ms.map(std::time::Duration::from_millis)
            },
            after: self.after.clone(),
        }
    }

    /// True when the stage is a Python stage (run by an interpreter, not the registry).
    pub fn is_python(&self) -> bool {
        self.python.is_some() || self.module.is_some()
    }
}
