//! Scheduling `thread` (and `process`) stages from the pipeline thread: thread groups joined
//! before the next stage, deadlines, `latest` stages that the pipeline never waits for, and
//! commands held for a stage that is busy.
//!
//! - **Groups.** Consecutive `join` stages with `isolation = "thread"` form a group; a stage
//!   whose `after` names a stage of the group in progress starts a new group. The pipeline
//!   computes the views the group's stages asked for on their previous frame (gray, RGB),
//!   hands every stage a job with the frame and those views, waits for all of them (each
//!   until its own `deadline_ms`), then merges their results into the frame's store in config
//!   order, so the snapshot is the one an inline run gives. A thread stage reads the frame and
//!   its views; it does not see other stages' results (`ctx.get`, `ctx.points()` see only its
//!   own): a stage that reads another's results runs inline, or in a later group.
//! - **Deadlines.** A stage past its deadline is reported (an entry in `errors`, a
//!   notification on the first miss in a row, `deadline_misses` in its stats) and its result
//!   is absent from that frame; its thread finishes in the background and that result is
//!   dropped. Until it is back it is not given new frames: each frame it misses is counted in
//!   `skipped` and reported in `errors`.
//! - **Latest.** A `latest` stage gets the frame in hand whenever it is idle and the pipeline
//!   goes on at once. When a result comes back it is merged at the stage's place in the next
//!   frame and carried (result, signals, points, widgets) into every snapshot until the next
//!   one, with its own `frame_id` and `age_ms` in `active_plugins`.
//! - **Commands** to a stage whose job is away wait in order and are applied as soon as it is
//!   back (between frames); commands to other targets are not held up.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use framebus_protocol::{Command, ErrorCode, NotificationLevel, RunState, StageError};

use crate::command::{Callback, reply_for};
use crate::config::StageMode;
use crate::error::CommandError;
use crate::frame::{Frame, FrameData};
use crate::runtime::pipeline::{Pipeline, StageSlot, settle};
use crate::runtime::worker::{self, Carry, Job};
use crate::stage::Flow;

/// How long [`Pipeline::stop`] waits for stages still running before leaving them.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The pipeline's side of its thread stages.
#[derive(Default)]
pub(crate) struct IsoState {
    /// Workers are running.
    pub(crate) active: bool,
    /// Jobs come back here from every worker of the pipeline.
    pub(crate) done: Option<Receiver<Box<Job>>>,
    /// Commands waiting for a busy stage: (stage index, command, reply).
    deferred: VecDeque<(usize, Command, Callback)>,
    /// Jobs away on workers.
    away: usize,
}

/// The pipeline's side of one `thread` stage.
pub(crate) struct Worker {
    tx: Option<Sender<Box<Job>>>,
    /// The job, when it is home.
    job: Option<Box<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Deadline of the job in flight (join mode).
    due: Option<Instant>,
    /// Dispatched by the group in progress and not yet merged or late.
    in_group: bool,
    /// Back from the group in progress.
    arrived: bool,
    /// Missed its deadline in the group in progress (reported at merge).
    missed: bool,
    /// Missed its deadline; the result on its way back is dropped.
    late: bool,
    /// Frame the job in flight was given.
    busy_frame: u64,
    /// (`latest`) back with a result not merged yet.
    fresh: bool,
    carry: Carry,
    /// (`latest`) frame id and capture time of the carried result.
    result: Option<(u64, u64)>,
    /// Views the stage asked for on its last frame.
    used: u8,
    misses_in_row: u32,
}

/// Sets `group_end` for every stage: one past the last stage of the thread group that would
/// start at it (itself + 1 for stages that are not `join` thread stages).
pub(crate) fn plan_groups(slots: &mut [StageSlot]) {
    let joinable = |s: &StageSlot| s.threaded() && s.sched.mode == StageMode::Join;
    for i in 0..slots.len() {
        let mut end = i + 1;
        if joinable(&slots[i]) {
            while end < slots.len()
                && joinable(&slots[end])
                && !slots[end]
                    .sched
                    .after
                    .iter()
                    .any(|a| slots[i..end].iter().any(|s| s.init.id == *a))
            {
                end += 1;
            }
        }
        slots[i].group_end = end;
    }
}

impl Pipeline {
    /// Starts one persistent thread per `thread` stage (on the pipeline thread, once).
    pub(crate) fn start_workers(&mut self) {
        let count = self.stages.iter().filter(|s| s.threaded()).count();
        if self.iso.active || count == 0 {
            return;
        }
        let (done_tx, done_rx) = crossbeam_channel::bounded::<Box<Job>>(count);
        for i in 0..self.stages.len() {
            if !self.stages[i].threaded() {
                continue;
            }
            let (tx, rx) = crossbeam_channel::bounded::<Box<Job>>(1);
            let slot = &mut self.stages[i];
            let job = Job::new(
                i,
                slot.init.id.clone(),
                self.store.slots[i].namespace.clone(),
                self.camera.clone(),
                self.bus.clone(),
                slot.stats.clone(),
            );
            match worker::spawn(format!("stage-{}", slot.init.id), rx, done_tx.clone()) {
                Ok(thread) => {
                    slot.worker = Some(Box::new(Worker {
                        tx: Some(tx),
                        job: Some(Box::new(job)),
                        thread: Some(thread),
                        due: None,
                        in_group: false,
                        arrived: false,
                        missed: false,
                        late: false,
                        busy_frame: 0,
                        fresh: false,
                        carry: Carry::default(),
                        result: None,
                        used: 0,
                        misses_in_row: 0,
                    }));
                }
                Err(e) => {
                    // No thread: the stage runs inline (reported, never silently).
                    slot.sched.isolation = crate::config::Isolation::Inline;
                    self.store.notify(
                        NotificationLevel::Error,
                        &slot.init.id,
                        "no stage thread",
                        format!("cannot start its thread ({e}); it runs inline"),
                    );
                }
            }
        }
        crate::runtime::isolated::plan_groups(&mut self.stages);
        self.iso.done = Some(done_rx);
        self.iso.active = true;
    }

    /// Waits (briefly) for stages still running, answers held commands, stops the threads.
    pub(crate) fn stop_workers(&mut self) {
        if !self.iso.active {
            return;
        }
        let until = Instant::now() + STOP_WAIT;
        while self.iso.away > 0 {
            let Some(done) = self.iso.done.clone() else {
                break;
            };
            match done.recv_deadline(until) {
                Ok(job) => self.returned(job),
                Err(_) => break,
            }
        }
        self.apply_deferred();
        for (i, cmd, reply) in self.iso.deferred.drain(..) {
            let id = &self.stages[i].init.id;
            reply(reply_for(
                &cmd,
                Err(CommandError::new(
                    ErrorCode::Unavailable,
                    format!("`{id}` was still busy when the pipeline stopped"),
                )),
            ));
        }
        for slot in &mut self.stages {
            if let Some(w) = slot.worker.as_mut() {
                w.tx = None;
                // A stage still running is left to finish on its own; the others are joined.
                if w.job.is_some()
                    && let Some(t) = w.thread.take()
                {
                    let _ = t.join();
                }
            }
        }
        self.iso.active = false;
    }

    /// The channel returned jobs arrive on (`never` without thread stages).
    pub(crate) fn done_channel(&self) -> Receiver<Box<Job>> {
        self.iso
            .done
            .clone()
            .unwrap_or_else(crossbeam_channel::never)
    }

    /// Takes a job back from a worker: the stage is home again.
    pub(crate) fn returned(&mut self, mut job: Box<Job>) {
        self.iso.away = self.iso.away.saturating_sub(1);
        let slot = &mut self.stages[job.slot];
        slot.stage = job.stage.take();
        let Some(w) = slot.worker.as_mut() else {
            return;
        };
        w.due = None;
        if w.late {
            // Its frame was reported without it; the result is dropped.
            w.late = false;
            w.used = job.used;
        } else if slot.sched.mode == StageMode::Latest {
            w.fresh = true;
        } else {
            w.arrived = true;
        }
        w.job = Some(job);
    }

    /// Takes back every job that has returned, then applies commands that were waiting for
    /// those stages (called between frames).
    pub(crate) fn collect_returned(&mut self) {
        if let Some(done) = self.iso.done.clone() {
            while let Ok(job) = done.try_recv() {
                self.returned(job);
            }
        }
        if !self.iso.deferred.is_empty() {
            self.apply_deferred();
        }
    }

    /// Applies a command now, or holds it (in order) while its stage's job is away.
    pub(crate) fn submit(&mut self, cmd: Command, reply: Callback) {
        if let Some(i) = self.busy_target(&cmd) {
            self.iso.deferred.push_back((i, cmd, reply));
            return;
        }
        let r = self.apply(&cmd);
        reply(r);
    }

    fn busy_target(&self, cmd: &Command) -> Option<usize> {
        if !self.iso.active {
            return None;
        }
        let id = if cmd.target == "pipeline" {
            cmd.payload.args.get("stage")?.as_str()?
        } else {
            cmd.target.as_str()
        };
        let i = self.stages.iter().position(|s| s.init.id == id)?;
        let held = self.iso.deferred.iter().any(|d| d.0 == i);
        (self.stages[i].stage.is_none() || held).then_some(i)
    }

    /// Applies held commands whose stage is home, in the order they came.
    fn apply_deferred(&mut self) {
        let mut k = 0;
        while k < self.iso.deferred.len() {
            let i = self.iso.deferred[k].0;
            if self.stages[i].stage.is_none() {
                k += 1;
                continue;
            }
            if let Some((_, cmd, reply)) = self.iso.deferred.remove(k) {
                let r = self.apply(&cmd);
                reply(r);
            }
        }
    }

    /// Runs the thread group `start..end` on `frame` and merges its results; true when a
    /// stage asked to skip the rest of the pipeline.
    pub(crate) fn run_group(
        &mut self,
        start: usize,
        end: usize,
        data: &FrameData,
        frame: &Frame,
        state: RunState,
        skip: bool,
    ) -> bool {
        // Views the group's stages used last time are computed once, here, for all of them.
        let used = self.stages[start..end]
            .iter()
            .filter(|s| s.enabled && s.stage.is_some())
            .filter_map(|s| s.worker.as_ref().map(|w| w.used))
            .fold(0, |a, b| a | b);
        if used != 0
            && !skip
            && let Some(v) = Arc::get_mut(&mut self.views)
        {
            v.prepare(data, used);
        }
        let now = Instant::now();
        let mut waiting = 0usize;
        for i in start..end {
            let slot = &mut self.stages[i];
            slot.absent = false;
            slot.carried = None;
            if !slot.enabled || skip {
                slot.perf_ms = 0.0;
                continue;
            }
            let Some(w) = slot.worker.as_mut() else {
                continue;
            };
            let Some(stage) = slot.stage.take() else {
                // Still running an earlier frame past its deadline: not given this one.
                slot.absent = true;
                slot.perf_ms = 0.0;
                slot.stats.skipped.fetch_add(1, Ordering::Relaxed);
                self.errors.push(StageError {
                    stage: slot.init.id.clone(),
                    message: format!(
                        "still running frame {} past its deadline; frame skipped",
                        w.busy_frame
                    ),
                    consecutive: slot.consecutive,
                    disabled: false,
                });
                continue;
            };
            let Some(mut job) = w.job.take() else {
                slot.stage = Some(stage);
                continue;
            };
            job.stage = Some(stage);
            job.frame = Some(frame.clone());
            job.shared = Some(self.views.clone());
            job.state = state;
            w.due = slot.sched.deadline.map(|d| now + d);
            w.in_group = true;
            w.arrived = false;
            w.busy_frame = data.frame_id;
            if let Some(tx) = &w.tx
                && let Err(e) = tx.send(job)
            {
                let mut job = e.into_inner();
                slot.stage = job.stage.take();
                job.frame = None;
                job.shared = None;
                w.job = Some(job);
                w.in_group = false;
                continue;
            }
            self.iso.away += 1;
            waiting += 1;
        }
        self.await_group(start, end, &mut waiting);
        self.merge_group(start, end, data)
    }

    /// Waits until every stage of the group is back or past its deadline.
    fn await_group(&mut self, start: usize, end: usize, waiting: &mut usize) {
        let Some(done) = self.iso.done.clone() else {
            return;
        };
        let pending = |p: &Pipeline, i: usize| {
            p.stages[i]
                .worker
                .as_ref()
                .is_some_and(|w| w.in_group && !w.arrived && !w.missed)
        };
        while *waiting > 0 {
            let due = (start..end)
                .filter(|&i| pending(self, i))
                .filter_map(|i| self.stages[i].worker.as_ref().and_then(|w| w.due))
                .min();
            let got = match due {
                Some(d) => done.recv_deadline(d),
                None => done.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match got {
                Ok(job) => {
                    let i = job.slot;
                    let member = (start..end).contains(&i) && pending(self, i);
                    self.returned(job);
                    if member {
                        *waiting -= 1;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    for i in start..end {
                        if !pending(self, i) {
                            continue;
                        }
                        if let Some(w) = self.stages[i].worker.as_mut()
                            && w.due.is_some_and(|d| d <= now)
                        {
                            w.missed = true;
                            w.late = true;
                            *waiting -= 1;
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// Merges the group's results in config order; reports missed deadlines.
    fn merge_group(&mut self, start: usize, end: usize, data: &FrameData) -> bool {
        let mut skip = false;
        for i in start..end {
            let slot = &mut self.stages[i];
            let Some(w) = slot.worker.as_mut() else {
                continue;
            };
            if !w.in_group {
                continue;
            }
            w.in_group = false;
            if w.missed {
                w.missed = false;
                w.misses_in_row += 1;
                slot.absent = true;
                let ms = slot.sched.deadline.map_or(0, |d| d.as_millis());
                slot.perf_ms = ms as f64;
                slot.stats.deadline_misses.fetch_add(1, Ordering::Relaxed);
                let message = format!("missed its deadline of {ms} ms on frame {}", data.frame_id);
                if w.misses_in_row == 1 {
                    self.store.notify(
                        NotificationLevel::Error,
                        &slot.init.id,
                        "deadline missed",
                        message.clone(),
                    );
                }
                if let Ok(mut e) = slot.stats.last_error.lock() {
                    *e = Some(message.clone());
                }
                self.errors.push(StageError {
                    stage: slot.init.id.clone(),
                    message,
                    consecutive: slot.consecutive,
                    disabled: false,
                });
                continue;
            }
            if !w.arrived {
                continue;
            }
            w.arrived = false;
            w.misses_in_row = 0;
            let Some(job) = w.job.as_mut() else {
                continue;
            };
            w.used = job.used;
            slot.perf_ms = job.ns as f64 / 1e6;
            merge_result(&mut job.store, &mut self.store, i, true);
            let outcome = std::mem::replace(&mut job.outcome, Ok(Flow::Continue));
            skip |= settle(
                slot,
                &mut self.store,
                &mut self.errors,
                self.max_failures,
                outcome,
            );
        }
        skip
    }

    /// A `latest` stage at its place in the frame: merges a result that came back, gives the
    /// stage this frame if it is idle, and carries its last result into the snapshot.
    pub(crate) fn run_latest(
        &mut self,
        i: usize,
        data: &FrameData,
        frame: &Frame,
        state: RunState,
        skip: bool,
    ) {
        let slot = &mut self.stages[i];
        slot.absent = false;
        // Out of the slot while both are borrowed; put back below (a move, no allocation).
        let Some(mut w) = slot.worker.take() else {
            return;
        };
        if w.fresh
            && let Some(job) = w.job.as_mut()
        {
            w.fresh = false;
            w.used = job.used;
            slot.perf_ms = job.ns as f64 / 1e6;
            merge_result(&mut job.store, &mut self.store, i, false);
            w.carry.take_from(&job.store);
            w.result = Some((job.frame_id, job.t_ns));
            let outcome = std::mem::replace(&mut job.outcome, Ok(Flow::Continue));
            // `Flow::Skip` from a latest stage does not hold up frames it was not given.
            let _ = settle(
                slot,
                &mut self.store,
                &mut self.errors,
                self.max_failures,
                outcome,
            );
        } else {
            slot.perf_ms = 0.0;
        }
        if !slot.enabled {
            slot.carried = None;
            slot.worker = Some(w);
            return;
        }
        if !skip
            && slot.stage.is_some()
            && let Some(mut job) = w.job.take()
        {
            job.stage = slot.stage.take();
            job.frame = Some(frame.clone());
            job.shared = None;
            job.state = state;
            w.busy_frame = data.frame_id;
            match w.tx.as_ref().map(|tx| tx.send(job)) {
                Some(Ok(())) => self.iso.away += 1,
                Some(Err(e)) => {
                    let mut job = e.into_inner();
                    slot.stage = job.stage.take();
                    job.frame = None;
                    w.job = Some(job);
                }
                None => {}
            }
        }
        match w.result {
            Some((frame_id, t_ns)) => {
                w.carry.append_to(&mut self.store, i);
                slot.carried = Some((frame_id, data.t_ns.saturating_sub(t_ns) as f64 / 1e6));
            }
            None => {
                slot.absent = true;
                slot.carried = None;
            }
        }
        slot.worker = Some(w);
    }
}

/// Moves a thread stage's result for the frame into the pipeline's store at slot `i`:
/// the result (swapped, so both boxes are reused), notifications, and with `tables` its
/// signals, points and widgets (a `latest` stage's are carried separately).
fn merge_result(
    from: &mut crate::results::ResultStore,
    to: &mut crate::results::ResultStore,
    i: usize,
    tables: bool,
) {
    if from.slots[0].written {
        std::mem::swap(&mut from.slots[0].value, &mut to.slots[i].value);
        from.slots[0].written = false;
    }
    if tables {
        worker::append_tables(from, to, i);
    }
    to.notifications.append(&mut from.notifications);
}
