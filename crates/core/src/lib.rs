//! framebus-core: the runtime at the heart of framebus. Frames and pooled buffers, the
//! [`Stage`](stage::Stage) trait and its registry, typed params with JSON Schema, pipeline
//! config, edges between threads, the command bus, run states and the snapshot. It depends on
//! no async runtime, HTTP stack or codec: servers, media and stages build on it.
//!
//! # Layout
//! - [`pool`]: lock-free object pools whose items return on the last drop.
//! - [`frame`]: [`Frame`](frame::Frame), pixel formats, frame pools.
//! - [`packet`]: sample [`Packet`](packet::Packet)s and their pools; payload kinds.
//! - [`views`]: gray/RGB views computed once per frame and cached for every stage.
//! - [`params`]: the params bound, schema, range checks, generic `set_params` merging.
//! - [`stage`], [`context`], [`results`]: what a stage implements and what it sees.
//! - [`source`]: what a frame source implements; camera controls; push ingest.
//! - [`registry`]: `inventory` registration, lookup with hints, manifests.
//! - [`config`]: TOML/JSON config with located errors.
//! - [`edge`]: `latest` / `drop_oldest` / `block` edges with drop counters.
//! - [`command`]: the command bus (central dispatch) and replies.
//! - [`state`], [`clock`], [`observer`]: run state, injectable clocks, output observers.
//! - [`fusion`]: observations, `[[rules]]`, triggers, actions and traces (seed 004).
//! - [`runtime`]: threads, pipelines, snapshot writer, status counters.
//! - [`isolation`]: stages in child processes (shared-memory frames, the worker protocol).
//! - [`harness`]: drive stages by hand in tests.

pub mod clock;
pub mod command;
pub mod config;
pub mod context;
pub mod edge;
mod erased;
pub mod error;
pub mod frame;
mod framebuf;
pub mod fusion;
pub mod harness;
pub mod isolation;
pub mod observer;
pub mod packet;
pub mod params;
pub mod pool;
pub mod registry;
pub mod results;
pub mod runtime;
pub mod source;
pub mod stage;
pub mod state;
pub mod views;

pub use error::{CommandError, Error, Result};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}
pub use framebus_protocol as protocol;
#[doc(hidden)]
pub use inventory;

/// The names a stage file usually needs.
pub mod prelude {
    pub use crate::context::{CommandCtx, FrameCtx};
    pub use crate::error::{CommandError, Error, Result, parse_args};
    pub use crate::frame::{Frame, FrameData, PixelFormat};
    pub use crate::packet::{Packet, PacketData, PacketHeader, PacketPool, PayloadKind};
    pub use crate::register_stage;
    pub use crate::stage::{CommandSpec, Flow, Stage, StageInfo, StageInit};
    pub use framebus_protocol::NotificationLevel;
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}
