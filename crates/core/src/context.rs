//! What a stage sees: [`FrameCtx`] while processing a frame, [`CommandCtx`] while handling a
//! command between frames.

use std::any::Any;

use framebus_protocol::{Command, NotificationLevel, RunState, Widget};

use crate::command::CommandBus;
use crate::frame::FrameData;
use crate::packet::{Packet, PacketData};
use crate::results::{NamedPoint, ResultStore};
use crate::source::SourceControls;
use crate::stage::StageInit;
use crate::views::{GrayView, RgbView, Views};

/// The frame context: the frame, cached views, and the results of this and earlier stages.
pub struct FrameCtx<'a> {
    pub(crate) frame: &'a FrameData,
    pub(crate) packet: &'a mut Option<Packet>,
    pub(crate) views: &'a mut Views,
    /// Views computed by the pipeline thread before a thread group fanned out (read-only).
    pub(crate) shared: Option<&'a Views>,
    /// Which views the stage asked for ([`crate::views::USED_GRAY`], `USED_RGB`).
    pub(crate) used: u8,
    pub(crate) store: &'a mut ResultStore,
    pub(crate) slot: usize,
    pub(crate) stage_id: &'a str,
    pub(crate) camera: Option<&'a dyn SourceControls>,
    pub(crate) state: RunState,
    pub(crate) bus: Option<&'a CommandBus>,
}

impl<'a> FrameCtx<'a> {
    /// The frame being processed.
    pub fn frame(&self) -> &FrameData {
        self.frame
    }

    /// The sample packet being processed (sample pipelines only).
    pub fn packet(&self) -> Option<&PacketData<f32>> {
        self.packet.as_deref()
    }

    /// The sample packet, writable in place (stages that keep the shape). `None` in frame
    /// pipelines, or if someone else holds a handle to it.
    pub fn packet_mut(&mut self) -> Option<&mut PacketData<f32>> {
        self.packet.as_mut().and_then(|p| p.get_mut())
    }

    /// Makes `packet` the payload later stages see (stages that change the shape take it from
    /// a pool of the new shape); the previous one returns to its pool.
    pub fn replace_packet(&mut self, packet: Packet) {
        *self.packet = Some(packet);
    }

    /// The gray view (converted at most once per frame for all stages).
    pub fn gray(&mut self) -> GrayView<'_> {
        self.used |= crate::views::USED_GRAY;
        if let Some(v) = self.shared.and_then(|s| s.cached_gray(self.frame)) {
            return v;
        }
        self.views.gray(self.frame)
    }

    /// The RGB view (converted at most once per frame for all stages).
    pub fn rgb(&mut self) -> RgbView<'_> {
        self.used |= crate::views::USED_RGB;
        if let Some(v) = self.shared.and_then(|s| s.cached_rgb(self.frame)) {
            return v;
        }
        self.views.rgb(self.frame)
    }

    /// This stage's result for the frame, reused from the previous frame (clear it first).
    pub fn output<T: Any + Send + serde::Serialize + Default>(&mut self) -> &mut T {
        self.store.output(self.slot)
    }

    /// Another stage's latest result by namespace, typed (`ctx.get::<Blobs>("blob_detection")`).
    pub fn get<T: Any>(&self, namespace: &str) -> Option<&T> {
        self.store.get(namespace)
    }

    /// Named points published so far this frame.
    pub fn points(&self) -> &[NamedPoint] {
        self.store.points.as_slice()
    }

    /// The point called `name`, if published this frame.
    pub fn point(&self, name: &str) -> Option<&NamedPoint> {
        self.store
            .points
            .as_slice()
            .iter()
            .rev()
            .find(|p| p.name == name)
    }

    /// Publishes a named point for later stages.
    pub fn publish_point(&mut self, name: &str, x: f64, y: f64, score: f64) {
        let p = self.store.points.push();
        p.name.clear();
        p.name.push_str(name);
        p.x = x;
        p.y = y;
        p.score = score;
    }

    /// Publishes a scalar signal (`knee_angle`).
    pub fn signal(&mut self, name: &str, value: f64) {
        let s = self.store.signals.push();
        s.name.clear();
        s.name.push_str(name);
        s.value = value;
        s.stage = self.slot;
    }

    /// Publishes a dashboard widget for this frame. `id` is prefixed with the stage id.
    pub fn widget(
        &mut self,
        id: &str,
        label: &str,
        value: Option<f64>,
        unit: &str,
        range: Option<(f64, f64)>,
    ) {
        let stage = self.stage_id;
        let w = self
            .store
            .widgets
            .push()
            .0
            .get_or_insert_with(Widget::default);
        w.id.clear();
        w.id.push_str(stage);
        w.id.push('.');
        w.id.push_str(id);
        w.label.clear();
        w.label.push_str(label);
        w.unit.clear();
        w.unit.push_str(unit);
        w.value = value;
        w.min = range.map(|r| r.0);
        w.max = range.map(|r| r.1);
    }

    /// Raises a toast (seed 000 `ui.notify`).
    pub fn notify(&mut self, level: NotificationLevel, title: &str, message: impl Into<String>) {
        self.store.notify(level, self.stage_id, title, message);
    }

    /// The controls of this pipeline's camera, if it has any.
    pub fn camera(&self) -> Option<&dyn SourceControls> {
        self.camera
    }

    /// The run state.
    pub fn state(&self) -> RunState {
        self.state
    }

    /// This stage's instance id.
    pub fn stage_id(&self) -> &str {
        self.stage_id
    }

    /// Sends a command to another target; it is applied before the next frame.
    pub fn send_command(&self, cmd: Command) {
        if let Some(bus) = self.bus {
            bus.send_and_forget(cmd);
        }
    }
}

/// The command context: what a stage may touch while handling a command.
pub struct CommandCtx<'a> {
    pub(crate) init: &'a StageInit,
    pub(crate) camera: Option<&'a dyn SourceControls>,
    pub(crate) state: RunState,
}

impl<'a> CommandCtx<'a> {
    /// A context (used by the runtime and the harness).
    pub fn new(
        init: &'a StageInit,
        camera: Option<&'a dyn SourceControls>,
        state: RunState,
    ) -> Self {
        Self {
            init,
            camera,
            state,
        }
    }

    /// The stage's init info (id, source).
    pub fn init(&self) -> &StageInit {
        self.init
    }

    /// The pipeline's camera controls, if any.
    pub fn camera(&self) -> Option<&dyn SourceControls> {
        self.camera
    }

    /// The run state.
    pub fn state(&self) -> RunState {
        self.state
    }
}
