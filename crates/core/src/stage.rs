//! The [`Stage`] trait: what a plugin stage implements, and its static description.

use serde_json::Value;

use crate::context::{CommandCtx, FrameCtx};
use crate::error::{CommandError, Result};
use crate::packet::PayloadKind;
use crate::params::Params;

/// What the pipeline does after a stage returns normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Run the next stage.
    Continue,
    /// Skip the remaining stages for this frame (the snapshot is still sent).
    Skip,
}

/// A custom command a stage accepts, for manifests and the UI.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Command name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// JSON Schema of its args.
    pub args_schema: fn() -> Value,
    /// Refused with `busy` while recording.
    pub locked_while_recording: bool,
}

impl CommandSpec {
    /// A command whose args deserialize into `A`.
    pub const fn new<A: schemars::JsonSchema>(
        name: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            description,
            args_schema: crate::params::schema_of::<A>,
            locked_while_recording: false,
        }
    }

    /// The same command, refused while recording.
    pub const fn locked(mut self) -> Self {
        self.locked_while_recording = true;
        self
    }
}

/// Static facts about a stage type.
#[derive(Debug, Clone, Copy)]
pub struct StageInfo {
    /// Plugin id used in configs (`blob_detection`).
    pub id: &'static str,
    /// Semantic version.
    pub version: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// Results namespace; `None` means the stage instance id.
    pub namespace: Option<&'static str>,
    /// Custom commands besides the generic `set_params`/`get_params`/`reset`.
    pub commands: &'static [CommandSpec],
}

/// What a stage knows when it is built.
#[derive(Debug, Clone)]
pub struct StageInit {
    /// This instance's id in the config.
    pub id: String,
    /// The source this stage's pipeline reads.
    pub source: String,
}

/// A pipeline stage. Implement `new` and `process`; every other hook has a default.
///
/// The runtime calls `process` once per frame on the pipeline thread, and `set_params` /
/// `command` between frames on the same thread, so a stage needs no locks.
pub trait Stage: Send + Sized + 'static {
    /// Typed parameters (see [`Params`]).
    type Params: Params;

    /// Id, version, description, namespace, commands.
    const INFO: StageInfo;

    /// The payload this stage takes: pixel frames (the default) or sample packets.
    const TAKES: PayloadKind = PayloadKind::Frames;

    /// The payload later stages see; `None` (the default) means the same as it takes.
    const GIVES: Option<PayloadKind> = None;

    /// Builds the stage from its params. Allocate everything the stage will reuse here.
    fn new(params: Self::Params, init: &StageInit) -> Result<Self>;

    /// Processes one frame. Must not allocate in steady state.
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow>;

    /// Applies validated params between frames. The default rebuilds the stage with `new`,
    /// which drops its state; stages with state worth keeping override it.
    fn set_params(&mut self, params: Self::Params, ctx: &mut CommandCtx<'_>) -> Result<()> {
        *self = Self::new(params, ctx.init())?;
        Ok(())
    }

    /// Handles a custom command (see [`StageInfo::commands`]).
    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        let _ = (args, ctx);
        Err(CommandError::unknown_command(Self::INFO.id, cmd))
    }

    /// Params the stage changed itself in its last custom command (e.g. a `calibrate` that
    /// pins four corners). The runtime keeps them as the params in force, so `get_params`
    /// and saved configs show them. The default: none.
    fn params_from_command(&self) -> Option<Self::Params> {
        None
    }

    /// Called once before the first frame.
    fn start(&mut self, ctx: &mut CommandCtx<'_>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called once after the last frame.
    fn stop(&mut self) {}

    /// Clears accumulated state (the `reset` command and re-enabling after failures).
    fn reset(&mut self) {}
}
