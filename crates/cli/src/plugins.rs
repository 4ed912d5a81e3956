//! `framebus plugins`: list every registered stage and source.

use std::process::ExitCode;

use framebus_core::registry;

/// Arguments of `framebus plugins`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print stage manifests as JSON (id, version, description, params schema, commands,
    /// result namespace).
    #[arg(long)]
    json: bool,
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let stages: Vec<_> = registry::stages().iter().map(|r| r.manifest()).collect();
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
