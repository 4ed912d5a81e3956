//! Builds one configured stage by its isolation level. `inline` and `thread` stages are built
//! from the registry in this process (a `thread` stage is the same object, run by the
//! pipeline on its own thread); `process` stages are proxies to a worker process.

use std::path::Path;

use crate::config::{Isolation, StageConfig};
use crate::erased::DynStage;
use crate::registry;
use crate::stage::StageInit;

/// Why a stage could not be built.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// The plugin refused its params, failed to construct, or its worker did not start.
    Stage(String),
}

impl BuildError {
    /// The config field to blame for stage `index`.
    pub(crate) fn field(&self, index: usize) -> String {
        match self {
            Self::Stage(_) => format!("stages[{index}]"),
        }
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stage(m) => f.write_str(m),
        }
    }
}

/// Builds the stage `st` (validated config) for a pipeline.
pub(crate) fn stage(
    st: &StageConfig,
    init: &StageInit,
    base_dir: &Path,
) -> Result<Box<dyn DynStage>, BuildError> {
    match st.isolation {
        Isolation::Inline | Isolation::Thread => {
            let reg = registry::stage(&st.plugin)
                .ok_or_else(|| BuildError::Stage(format!("unknown plugin `{}`", st.plugin)))?;
            (reg.build)(&st.params, init).map_err(BuildError::Stage)
        }
        Isolation::Process => process_stage(st, init, base_dir),
    }
}

/// `isolation = "process"`: a proxy that runs the stage in a worker process
/// ([`crate::isolation::process`]); the pipeline schedules it like a `thread` stage (its own
/// thread, `join` or `latest`, `deadline_ms`), and the proxy adds the worker's own per-frame
/// timeout, restarts and circuit breaker.
fn process_stage(
    st: &StageConfig,
    init: &StageInit,
    base_dir: &Path,
) -> Result<Box<dyn DynStage>, BuildError> {
    crate::isolation::process::ProcessStage::start(st, init, base_dir)
        .map(|s| Box::new(s) as Box<dyn DynStage>)
        .map_err(BuildError::Stage)
}
