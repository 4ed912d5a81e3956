//! Pipeline configuration: one schema for TOML and JSON (`deny_unknown_fields` throughout),
//! loaded and validated before anything starts. Every error names the file, line, column and
//! field, with a "did you mean" hint for misspelt plugin and source kinds.

pub mod isolation;
mod locate;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use framebus_protocol::RunState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::edge::EdgePolicy;
use crate::registry::{self, did_you_mean};
pub use isolation::{Isolation, Schedule, StageMode};

/// A whole framebus config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Runtime settings.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// Frame sources; each gets a capture thread and a pipeline thread.
    pub sources: Vec<SourceConfig>,
    /// Stages, run in order by the pipeline of their source.
    #[serde(default)]
    pub stages: Vec<StageConfig>,
    /// Serve the web UI and API (see `framebus-server`); absent means headless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerConfig>,
    /// Fusion rules (seed 004): conditions on observations that fire triggers and actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<crate::fusion::config::RuleConfig>,
    /// Traces of observations, rule states and triggers.
    #[serde(
        default,
        skip_serializing_if = "crate::fusion::config::TraceConfig::is_off"
    )]
    pub trace: crate::fusion::config::TraceConfig,
}

/// `[runtime]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// A stage that fails this many frames in a row is disabled.
    pub max_consecutive_failures: u32,
    /// Frames each source may have in flight (pool size).
    pub pool_frames: usize,
    /// Run state at start.
    pub initial_state: RunState,
    /// Where recordings (one folder per session) and clips (`clips/`) are written; a
    /// relative path is relative to the working directory.
    pub recordings_dir: PathBuf,
    /// Seconds of encoded video each source with `clips = true` keeps for `save_clip`.
    pub clip_pre_s: f64,
    /// Frames each source may have waiting for the recording encoder; frames beyond are
    /// dropped from the recording (counted and reported), never waited for.
    pub record_queue_frames: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_consecutive_failures: 5,
            pool_frames: 8,
            initial_state: RunState::Running,
            recordings_dir: PathBuf::from("./recordings"),
            clip_pre_s: 10.0,
            record_queue_frames: 16,
        }
    }
}

/// `[[sources]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Source id (`camera_0`), also a command target.
    pub id: String,
    /// Registered source kind (`synthetic_rider`, `image_sequence`, `browser`).
    pub kind: String,
    /// Policy of the edge from this source to its pipeline.
    #[serde(default)]
    pub edge: EdgePolicy,
    /// Most snapshots a second this pipeline publishes (sample sources: default 30; every
    /// packet is still processed). Counted in payload time, not wall-clock time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_hz: Option<f64>,
    /// Read the source on its pipeline thread instead of a capture thread (sample sources
    /// only): no edge hop, so a packet is processed without waking another thread first.
    /// For sources whose next packet comes within about a packet's time (the generator,
    /// files); commands wait while the source waits for its next packet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
    /// Kind-specific params.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Keep a ring of the last `runtime.clip_pre_s` seconds of encoded video so `save_clip`
    /// can cut clips (costs one H.264 encode per frame while running).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clips: bool,
}

/// `[[stages]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Instance id (defaults to the plugin id); the command target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Registered stage id (`blob_detection`).
    pub plugin: String,
    /// Source whose pipeline runs this stage (defaults to the first source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Results namespace (defaults to the plugin's, else the instance id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Start disabled with `false`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Plugin params (validated against its schema).
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Where the stage runs: `inline` (default), `thread` or `process` (see the
    /// [`isolation`] module for the rules).
    #[serde(default, skip_serializing_if = "Isolation::is_inline")]
    pub isolation: Isolation,
    /// `join` (default): the frame waits for the stage; `latest`: it never waits.
    #[serde(default, skip_serializing_if = "StageMode::is_join")]
    pub mode: StageMode,
    /// Longest wait for a `join` thread/process stage; past it the stage is reported and its
    /// result for that frame is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// Earlier stages (instance ids) this one must follow; a `thread` stage naming one of the
    /// thread stages just before it waits for them instead of running beside them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Python interpreter for a Python stage (`isolation = "process"`), relative to the
    /// config file; default `python3` on `PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Python module holding the stage (`my_stages.brightness`), importable by `python`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Worker restarts and circuit breaker of a process stage.
    #[serde(
        default,
        skip_serializing_if = "crate::isolation::process::WorkerConfig::is_default"
    )]
    pub worker: crate::isolation::process::WorkerConfig,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on; a non-loopback address requires `token`.
    pub bind: String,
    /// Bearer token for REST and WebSocket (required off loopback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Extra Origins allowed to open WebSockets (same-origin is always allowed).
    pub allowed_origins: Vec<String>,
    /// Largest accepted WebSocket message or request body, bytes.
    pub max_message_bytes: usize,
    /// Largest accepted ingest frame, bytes.
    pub max_ingest_bytes: usize,
    /// JPEG quality of the video preview (1-100).
    pub preview_quality: u8,
    /// Close a connection idle this long, seconds.
    pub idle_timeout_s: u64,
    /// Close a WebSocket client whose sends have been blocked this long (it stopped reading
    /// or cannot keep up), seconds.
    pub slow_client_timeout_s: u64,
    /// Most WebSocket clients served at once; more are refused with 503.
    pub max_clients: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8000".into(),
            token: None,
            allowed_origins: Vec::new(),
            max_message_bytes: 64 * 1024,
            max_ingest_bytes: 4 * 1024 * 1024,
            preview_quality: 75,
            idle_timeout_s: 60,
            slow_client_timeout_s: 10,
            max_clients: 2048,
        }
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn yes() -> bool {
    true
}

/// A config problem, located.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or `<string>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Field path (`stages[1].plugin`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A suggestion.
    pub hint: Option<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

/// The syntax a config is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

impl Format {
    /// From a file extension (`.json` is JSON, anything else TOML).
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::Json,
            _ => Self::Toml,
        }
    }
}

/// A config with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The parsed, validated config.
    pub config: Config,
    /// Directory relative paths resolve against.
    pub base_dir: PathBuf,
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            column: None,
            field: None,
            message: format!("cannot read: {e}"),
            hint: None,
        })?;
        let config = Self::parse(&text, Format::of(path), &file)?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(LoadedConfig { config, base_dir })
    }

    /// Parses and validates config text. `file` names it in errors.
    pub fn parse(text: &str, format: Format, file: &str) -> Result<Self, ConfigError> {
        let config = match format {
            Format::Toml => locate::parse_toml(text, file)?,
            Format::Json => locate::parse_json(text, file)?,
        };
        if let Err((path, message, hint)) = config.validate() {
            let (line, column) = locate::position_of(text, format, &path).unzip();
            return Err(ConfigError {
                file: file.into(),
                line,
                column,
                field: Some(path),
                message,
                hint,
            });
        }
        Ok(config)
    }

    /// The JSON Schema of the config file.
    pub fn schema() -> Value {
        crate::params::schema_of::<Config>()
    }

    /// Instance id of stage `i`.
    pub fn stage_id(&self, i: usize) -> &str {
        let s = &self.stages[i];
        s.id.as_deref().unwrap_or(&s.plugin)
    }

    /// The source stage `i` belongs to.
    pub fn stage_source(&self, i: usize) -> &str {
        self.stages[i]
            .source
            .as_deref()
            .unwrap_or_else(|| self.sources.first().map_or("", |s| s.id.as_str()))
    }

    /// Semantic checks: ids, kinds, plugins, params. Returns (field path, message, hint).
    pub fn validate(&self) -> Result<(), (String, String, Option<String>)> {
        let mut ids = HashSet::new();
        let reserved = ["pipeline", "all_cameras"];
        let rt = &self.runtime;
        if !(0.0..=600.0).contains(&rt.clip_pre_s) {
            return Err((
                "runtime.clip_pre_s".into(),
                format!("{} is out of range 0..=600 seconds", rt.clip_pre_s),
                None,
            ));
        }
        if rt.record_queue_frames == 0 {
            return Err((
                "runtime.record_queue_frames".into(),
                "must be at least 1".into(),
                None,
            ));
        }
        if self.sources.is_empty() {
            return Err((
                "sources".into(),
                "at least one source is needed".into(),
                None,
            ));
        }
        for (i, s) in self.sources.iter().enumerate() {
            let at = |f: &str| format!("sources[{i}].{f}");
            if reserved.contains(&s.id.as_str()) || !ids.insert(s.id.clone()) {
                return Err((
                    at("id"),
                    format!("duplicate or reserved id `{}`", s.id),
                    None,
                ));
            }
            let Some(reg) = registry::source(&s.kind) else {
                let hint = did_you_mean(&s.kind, registry::sources().iter().map(|r| r.kind))
                    .map(|k| format!("did you mean `{k}`?"));
                return Err((
                    at("kind"),
                    format!("unknown source kind `{}`", s.kind),
                    hint,
                ));
            };
            if let Err(e) = reg.check_params(&s.params) {
                let path = e
                    .field
                    .as_ref()
                    .map_or(at("params"), |f| format!("{}.{f}", at("params")));
                return Err((path, e.message, None));
            }
            if s.inline && reg.gives != crate::packet::PayloadKind::Samples {
                return Err((
                    at("inline"),
                    format!(
                        "`{}` (`{}`) gives {}: only sample sources are read inline",
                        s.id,
                        s.kind,
                        reg.gives.as_str()
                    ),
                    Some("remove `inline` (frames are read on a capture thread)".into()),
                ));
            }
            if s.snapshot_hz
                .is_some_and(|hz| !(hz > 0.0 && hz.is_finite()))
            {
                return Err((
                    at("snapshot_hz"),
                    "snapshot_hz must be a positive number".into(),
                    None,
                ));
            }
            if s.edge.capacity() == 0 {
                return Err((
                    at("edge.capacity"),
                    "capacity must be at least 1".into(),
                    None,
                ));
            }
        }
        for (i, s) in self.stages.iter().enumerate() {
            let at = |f: &str| format!("stages[{i}].{f}");
            let id = self.stage_id(i);
            if reserved.contains(&id) || !ids.insert(id.to_owned()) {
                let field = if s.id.is_some() { "id" } else { "plugin" };
                return Err((
                    at(field),
                    format!("duplicate id `{id}`"),
                    Some("give each stage a distinct `id`".into()),
                ));
            }
            if s.is_python() {
                // A Python stage: its id and params schema come from the interpreter.
                if s.module.is_none() && s.isolation == Isolation::Process {
                    return Err((
                        at("python"),
                        "a Python stage needs `module` (the module that defines it)".into(),
                        None,
                    ));
                }
                if let Some(src) = &s.source
                    && !self.sources.iter().any(|x| &x.id == src)
                {
                    return Err((at("source"), format!("no source `{src}`"), None));
                }
                continue;
            }
            let Some(reg) = registry::stage(&s.plugin) else {
                let hint = did_you_mean(&s.plugin, registry::stages().iter().map(|r| r.info.id))
                    .map(|k| format!("did you mean `{k}`?"));
                return Err((at("plugin"), format!("unknown plugin `{}`", s.plugin), hint));
            };
            if let Some(src) = &s.source
                && !self.sources.iter().any(|x| &x.id == src)
            {
                return Err((at("source"), format!("no source `{src}`"), None));
            }
            if let Err(e) = reg.check_params(&s.params) {
                let path = e
                    .field
                    .as_ref()
                    .map_or(at("params"), |f| format!("{}.{f}", at("params")));
                return Err((path, e.message, None));
            }
        }
        isolation::validate(self)?;
        self.check_payloads()?;
        crate::fusion::validate::rules(self)
    }

    /// Walks each source's stages in order: every stage must take what the one before gives.
    fn check_payloads(&self) -> Result<(), (String, String, Option<String>)> {
        for src in &self.sources {
            let Some(reg) = registry::source(&src.kind) else {
                continue;
            };
            let mut gives = reg.gives;
            let mut giver = src.id.clone();
            for (i, st) in self.stages.iter().enumerate() {
                if self.stage_source(i) != src.id {
                    continue;
                }
                let Some(sr) = registry::stage(&st.plugin).filter(|_| !st.is_python()) else {
                    continue;
                };
                let id = self.stage_id(i);
                if sr.takes != gives {
                    let field = if st.id.is_some() { "id" } else { "plugin" };
                    return Err((
                        format!("stages[{i}].{field}"),
                        format!(
                            "stage `{id}` takes {} but `{giver}` gives {}",
                            sr.takes.as_str(),
                            gives.as_str()
                        ),
                        Some(format!(
                            "put `{id}` in a pipeline whose source gives {}",
                            sr.takes.as_str()
                        )),
                    ));
                }
                gives = sr.gives;
                giver = id.to_owned();
            }
        }
        Ok(())
    }
}
