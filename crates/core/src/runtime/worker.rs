//! The thread side of stage isolation: one persistent thread per `thread` stage, and the
//! [`Job`] that travels between it and the pipeline thread.
//!
//! A job owns everything the stage needs for one frame: the stage itself, a handle to the
//! frame (an `Arc`, never a copy), the views the pipeline computed before fanning out, the
//! stage's own view cache and a private [`ResultStore`] with its one result slot. The
//! pipeline sends the boxed job over a bounded channel, the thread runs the stage and sends
//! the job back on the pipeline's `done` channel. While the job is away the pipeline holds
//! no reference into it, so a stage that misses its deadline can finish whenever it likes
//! (its result is then discarded). Jobs and their buffers are made once and reused: nothing
//! is allocated per frame in steady state.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use framebus_protocol::{RunState, Widget};

use crate::command::CommandBus;
use crate::context::FrameCtx;
use crate::erased::DynStage;
use crate::frame::Frame;
use crate::results::{ResultStore, ReuseTable};
use crate::runtime::pipeline::guarded;
use crate::runtime::stats::StageStats;
use crate::source::SourceControls;
use crate::stage::Flow;
use crate::views::Views;

/// One frame's work for a thread stage, and its outcome on the way back.
pub(crate) struct Job {
    /// Index of the stage in its pipeline.
    pub(crate) slot: usize,
    /// The stage, away from the pipeline while the job is.
    pub(crate) stage: Option<Box<dyn DynStage>>,
    /// The frame to process (dropped by the worker as soon as the stage is done with it).
    pub(crate) frame: Option<Frame>,
    /// Frame id and capture time of the frame processed.
    pub(crate) frame_id: u64,
    pub(crate) t_ns: u64,
    /// Views the pipeline computed before fan-out (released by the worker when done).
    pub(crate) shared: Option<Arc<Views>>,
    /// The stage's own cache for views the pipeline did not compute.
    pub(crate) views: Views,
    /// The stage's results for the frame: one slot, plus signals, points, widgets, toasts.
    pub(crate) store: ResultStore,
    pub(crate) id: String,
    pub(crate) camera: Option<Arc<dyn SourceControls>>,
    pub(crate) bus: Option<CommandBus>,
    pub(crate) state: RunState,
    /// `process`'s outcome (a panic or an error as a message).
    pub(crate) outcome: Result<Flow, String>,
    /// Time in `process`, nanoseconds.
    pub(crate) ns: u64,
    /// Views the stage asked for (`USED_*` bits), to compute them before the next fan-out.
    pub(crate) used: u8,
    pub(crate) stats: Arc<StageStats>,
}

impl Job {
    /// A job for stage `slot`, with a result store for its namespace.
    pub(crate) fn new(
        slot: usize,
        id: String,
        namespace: String,
        camera: Option<Arc<dyn SourceControls>>,
        bus: Option<CommandBus>,
        stats: Arc<StageStats>,
    ) -> Self {
        Self {
            slot,
            stage: None,
            frame: None,
            frame_id: 0,
            t_ns: 0,
            shared: None,
            views: Views::default(),
            store: ResultStore::new([namespace]),
            id,
            camera,
            bus,
            state: RunState::Running,
            outcome: Ok(Flow::Continue),
            ns: 0,
            used: 0,
            stats,
        }
    }

    /// Runs the stage on the job's frame (on the worker thread).
    fn run(&mut self) {
        let (Some(frame), Some(stage)) = (self.frame.take(), self.stage.as_mut()) else {
            self.outcome = Err("no frame or stage in the job".into());
            return;
        };
        self.frame_id = frame.frame_id;
        self.t_ns = frame.t_ns;
        self.store.begin_frame();
        self.store.slots[0].written = false;
        let mut packet = None;
        let mut ctx = FrameCtx {
            frame: &frame,
            packet: &mut packet,
            views: &mut self.views,
            shared: self.shared.as_deref(),
            used: 0,
            store: &mut self.store,
            slot: 0,
            stage_id: &self.id,
            camera: self.camera.as_deref(),
            state: self.state,
            bus: self.bus.as_ref(),
        };
        let t0 = Instant::now();
        let outcome = guarded(|| stage.process(&mut ctx));
        self.ns = t0.elapsed().as_nanos() as u64;
        self.used = ctx.used;
        self.outcome = match outcome {
            Ok(Ok(flow)) => Ok(flow),
            Ok(Err(e)) => Err(e.to_string()),
            Err(panic) => Err(panic),
        };
        self.stats.record(self.ns);
        self.shared = None;
        drop(frame);
    }
}

/// Starts the persistent thread of one stage: it takes jobs from `jobs`, runs them and sends
/// them back on `done` until either channel closes.
pub(crate) fn spawn(
    name: String,
    jobs: Receiver<Box<Job>>,
    done: Sender<Box<Job>>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(move || {
        while let Ok(mut job) = jobs.recv() {
            job.run();
            if done.send(job).is_err() {
                break;
            }
        }
    })
}

/// Copies signals, points and widgets from `from` to the end of `to`, reusing `to`'s
/// entries (no allocation once they have grown).
/// The signals are booked to pipeline stage `stage`.
pub(crate) fn append_tables(from: &ResultStore, to: &mut ResultStore, stage: usize) {
    let first = to.signals.len();
    copy_tables(from, &mut to.signals, &mut to.points, &mut to.widgets);
    for s in &mut to.signals.as_mut_slice()[first..] {
        s.stage = stage;
    }
}

/// What a `latest` stage published with its last result, re-published in every snapshot
/// until its next result.
#[derive(Default)]
pub(crate) struct Carry {
    pub(crate) signals: ReuseTable<crate::results::Signal>,
    pub(crate) points: ReuseTable<crate::results::NamedPoint>,
    pub(crate) widgets: ReuseTable<crate::results::WidgetEntry>,
}

impl Carry {
    /// Replaces the carried tables with `from`'s.
    pub(crate) fn take_from(&mut self, from: &ResultStore) {
        self.signals.clear();
        self.points.clear();
        self.widgets.clear();
        copy_tables(from, &mut self.signals, &mut self.points, &mut self.widgets);
    }

    /// Appends the carried tables to `to`, the signals booked to pipeline stage `stage`.
    pub(crate) fn append_to(&self, to: &mut ResultStore, stage: usize) {
        for s in self.signals.as_slice() {
            let d = to.signals.push();
            d.name.clear();
            d.name.push_str(&s.name);
            d.value = s.value;
            d.stage = stage;
        }
        for p in self.points.as_slice() {
            copy_point(p, to.points.push());
        }
        for w in self.widgets.as_slice() {
            copy_widget(&w.0, &mut to.widgets.push().0);
        }
    }
}

fn copy_tables(
    from: &ResultStore,
    signals: &mut ReuseTable<crate::results::Signal>,
    points: &mut ReuseTable<crate::results::NamedPoint>,
    widgets: &mut ReuseTable<crate::results::WidgetEntry>,
) {
    for s in from.signals.as_slice() {
        let d = signals.push();
        d.name.clear();
        d.name.push_str(&s.name);
        d.value = s.value;
        d.stage = s.stage;
    }
    for p in from.points.as_slice() {
        copy_point(p, points.push());
    }
    for w in from.widgets.as_slice() {
        copy_widget(&w.0, &mut widgets.push().0);
    }
}

fn copy_point(p: &crate::results::NamedPoint, d: &mut crate::results::NamedPoint) {
    d.name.clear();
    d.name.push_str(&p.name);
    d.x = p.x;
    d.y = p.y;
    d.score = p.score;
}

fn copy_widget(from: &Option<Widget>, to: &mut Option<Widget>) {
    let Some(w) = from else {
        *to = None;
        return;
    };
    let d = to.get_or_insert_with(Widget::default);
    d.id.clear();
    d.id.push_str(&w.id);
    d.label.clear();
    d.label.push_str(&w.label);
    d.unit.clear();
    d.unit.push_str(&w.unit);
    d.value = w.value;
    d.min = w.min;
    d.max = w.max;
}
