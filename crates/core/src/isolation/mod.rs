//! Stage isolation (seed 004): where a stage runs. `inline` and `thread` stages are built
//! from the registry; `process` stages run in a child process behind a proxy
//! ([`process`]). The runtime builds a configured stage in `runtime::build`.

pub mod process;
