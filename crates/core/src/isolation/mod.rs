//! Stage isolation (seed 004): where a stage runs. `inline` and `thread` stages are built
//! from the registry; `process` stages run in a child process behind a proxy
//! ([`process`]). [`build_stage`] is the one place the runtime builds a configured stage.

pub mod process;

use crate::config::{Isolation, StageConfig};
use crate::erased::DynStage;
use crate::registry;
use crate::stage::StageInit;

/// Builds the stage `st` for `init`: from the registry, or as a worker process when
/// `isolation = "process"` (`base_dir`: the config file's directory, for Python stages).
pub(crate) fn build_stage(
    st: &StageConfig,
    init: &StageInit,
    base_dir: &std::path::Path,
) -> Result<Box<dyn DynStage>, String> {
    if st.isolation == Isolation::Process {
        return process::ProcessStage::start(st, init, base_dir)
            .map(|s| Box::new(s) as Box<dyn DynStage>);
    }
    let reg =
        registry::stage(&st.plugin).ok_or_else(|| format!("unknown plugin `{}`", st.plugin))?;
    (reg.build)(&st.params, init)
}
