//! Type erasure: [`Stage`] and [`Source`] implementations behind object-safe traits, with
//! the generic `set_params`/`get_params` handling.

use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;

use crate::context::{CommandCtx, FrameCtx};
use crate::error::{CommandError, Result};
use crate::frame::Frame;
use crate::packet::{Packet, PayloadKind};
use crate::params::{merge_params, parse_params, schema_of};
use crate::source::{Ingest, Source, SourceControls, SourceInit};
use crate::stage::{Flow, Stage, StageInfo, StageInit};

/// Builds an erased stage from params JSON.
pub(crate) type BuildStage = fn(&Value, &StageInit) -> Result<Box<dyn DynStage>, String>;
/// Builds an erased source from params JSON.
pub(crate) type BuildSource = fn(&Value, &SourceInit) -> Result<Box<dyn DynSource>, String>;

/// A stage with its type erased.
pub(crate) trait DynStage: Send {
    fn info(&self) -> &'static StageInfo;
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow>;
    fn set_params(&mut self, args: &Value, ctx: &mut CommandCtx<'_>)
    -> Result<Value, CommandError>;
    fn params(&self) -> Value;
    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError>;
    fn start(&mut self, ctx: &mut CommandCtx<'_>) -> Result<()>;
    fn stop(&mut self);
    fn reset(&mut self);
    /// Counters of a process-isolated stage's worker.
    fn worker_stats(&self) -> Option<Arc<crate::isolation::process::WorkerStats>> {
        None
    }
}

pub(crate) struct ErasedStage<S: Stage> {
    stage: S,
    params: S::Params,
    schema: Value,
}

impl<S: Stage> ErasedStage<S> {
    pub(crate) fn check(params: &Value) -> Result<(), crate::params::ParamError> {
        parse_params::<S::Params>(&schema_of::<S::Params>(), params).map(|_| ())
    }

    pub(crate) fn build(params: &Value, init: &StageInit) -> Result<Box<dyn DynStage>, String> {
        let schema = schema_of::<S::Params>();
        let params: S::Params = parse_params(&schema, params).map_err(|e| e.to_string())?;
        let stage = S::new(params.clone(), init).map_err(|e| e.to_string())?;
        Ok(Box::new(Self {
            stage,
            params,
            schema,
        }))
    }
}

impl<S: Stage> DynStage for ErasedStage<S> {
    fn info(&self) -> &'static StageInfo {
        &S::INFO
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        self.stage.process(ctx)
    }
    fn set_params(
        &mut self,
        args: &Value,
        ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        let (params, json) = merge_params::<S::Params>(&self.schema, &self.params, args)?;
        self.stage.set_params(params.clone(), ctx).map_err(|e| {
            CommandError::new(framebus_protocol::ErrorCode::StageFailed, e.to_string())
        })?;
        self.params = params;
        Ok(json)
    }
    fn params(&self) -> Value {
        serde_json::to_value(&self.params).unwrap_or(Value::Null)
    }
    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        let reply = self.stage.command(cmd, args, ctx)?;
        if let Some(params) = self.stage.params_from_command() {
            self.params = params;
        }
        Ok(reply)
    }
    fn start(&mut self, ctx: &mut CommandCtx<'_>) -> Result<()> {
        self.stage.start(ctx)
    }
    fn stop(&mut self) {
        self.stage.stop()
    }
    fn reset(&mut self) {
        self.stage.reset()
    }
}

/// A source with its type erased.
pub(crate) trait DynSource: Send {
    fn next_frame(&mut self) -> Result<Option<Frame>>;
    fn next_packet(&mut self) -> Result<Option<Packet>>;
    fn gives(&self) -> PayloadKind;
    fn snapshot_hz(&self) -> Option<f64>;
    fn controls(&self) -> Option<Arc<dyn SourceControls>>;
    fn ingest(&self) -> Option<Arc<dyn Ingest>>;
    fn counters(&self) -> Option<Arc<dyn crate::source::SourceCounters>>;
}

pub(crate) struct ErasedSource<S: Source>(S, PhantomData<S>);

impl<S: Source> ErasedSource<S> {
    pub(crate) fn check(params: &Value) -> Result<(), crate::params::ParamError> {
        parse_params::<S::Params>(&schema_of::<S::Params>(), params).map(|_| ())
    }
    pub(crate) fn build(params: &Value, init: &SourceInit) -> Result<Box<dyn DynSource>, String> {
        let params: S::Params =
            parse_params(&schema_of::<S::Params>(), params).map_err(|e| e.to_string())?;
        let s = S::new(params, init).map_err(|e| e.to_string())?;
        Ok(Box::new(Self(s, PhantomData)))
    }
}

impl<S: Source> DynSource for ErasedSource<S> {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        self.0.next_frame()
    }
    fn next_packet(&mut self) -> Result<Option<Packet>> {
        self.0.next_packet()
    }
    fn gives(&self) -> PayloadKind {
        S::GIVES
    }
    fn snapshot_hz(&self) -> Option<f64> {
        self.0.snapshot_hz()
    }
    fn controls(&self) -> Option<Arc<dyn SourceControls>> {
        self.0.controls()
    }
    fn ingest(&self) -> Option<Arc<dyn Ingest>> {
        self.0.ingest()
    }
    fn counters(&self) -> Option<Arc<dyn crate::source::SourceCounters>> {
        self.0.counters()
    }
}
