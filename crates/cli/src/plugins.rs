//! `framebus plugins`: list every registered stage and source; with `--config`, also the
//! process stages that config names which this binary does not register (Python stages),
//! described by starting their workers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use framebus_core::config::Config;
use framebus_core::registry::{self, StageManifest};
use framebus_core::stage::StageInit;

/// Arguments of `framebus plugins`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print stage manifests as JSON (id, version, description, params schema, commands,
    /// result namespace).
    #[arg(long)]
    json: bool,
    /// Also list the Python stages this config names (their workers are started once to
    /// describe themselves).
    #[arg(long, value_name = "CONFIG")]
    config: Option<PathBuf>,
}

/// Manifests of the worker stages `config` names that are not registered here.
fn worker_stages(path: &std::path::Path) -> anyhow::Result<Vec<StageManifest>> {
    let loaded = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let c = &loaded.config;
    let mut out: Vec<StageManifest> = Vec::new();
    for (i, st) in c.stages.iter().enumerate() {
        if st.module.is_none() || out.iter().any(|m| m.id == st.plugin) {
            continue;
        }
        let init = StageInit {
            id: c.stage_id(i).to_owned(),
            source: c.stage_source(i).to_owned(),
        };
        let m = framebus_core::isolation::process::describe_worker(st, &init, &loaded.base_dir)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("stages[{i}] (`{}`)", st.plugin))?;
        out.push(m);
    }
    Ok(out)
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let mut stages: Vec<_> = registry::stages().iter().map(|r| r.manifest()).collect();
    if let Some(path) = &args.config {
        stages.extend(worker_stages(path)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stages)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("stages:");
    for m in &stages {
        let ns = m.namespace.as_deref().unwrap_or("<instance id>");
        println!(
            "  {:<20} {:<8} results: {:<16} {}",
            m.id, m.version, ns, m.description
        );
        let cmds: Vec<&str> = m.commands.iter().map(|c| c.name.as_str()).collect();
        println!("  {:<20} commands: {}", "", cmds.join(", "));
    }
    println!("sources:");
    for s in registry::sources() {
        println!("  {:<20} {}", s.kind, s.description);
    }
    Ok(ExitCode::SUCCESS)
}
