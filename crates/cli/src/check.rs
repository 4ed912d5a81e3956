//! `framebus check CONFIG`: validate a config without running it.

use std::path::PathBuf;
use std::process::ExitCode;

use framebus_core::config::Config;

/// Arguments of `framebus check`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file (.toml or .json).
    config: PathBuf,
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    match Config::load(&args.config) {
        Ok(loaded) => {
            let c = &loaded.config;
            println!(
                "ok: {} — {} source(s), {} stage(s){}",
                args.config.display(),
                c.sources.len(),
                c.stages.len(),
                if c.server.is_some() { ", server" } else { "" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}
