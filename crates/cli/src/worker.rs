//! `framebus worker --stage ID`: runs a registered stage in this process for a framebus host
//! that started it (`isolation = "process"`), speaking the worker protocol on the socket in
//! `FRAMEBUS_WORKER_FD` (see `docs/worker_protocol.md`). Not meant to be run by hand.

use std::process::ExitCode;

/// Arguments of `framebus worker`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The registered stage (plugin id) to serve.
    #[arg(long)]
    stage: String,
}

pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    let code = framebus_core::isolation::process::worker::serve(&args.stage);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
