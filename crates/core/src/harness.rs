//! A stage test harness (in the spirit of gst's `Harness`): build one or more stages into a
//! real [`Pipeline`] without threads, feed frames, send commands, read results. Every
//! built-in stage is tested with it.
//!
//! ```
//! # use framebus_core::harness::Harness;
//! # use framebus_core::frame::PixelFormat;
//! let mut h = Harness::builder().build().unwrap();
//! let f = h.frame(4, 4, PixelFormat::Gray8, |d| d.fill(7));
//! let snap = h.process(&f);
//! assert_eq!(snap["frame_id"], 1);
//! ```

use std::sync::Arc;

use framebus_protocol::{Command, RunState};
use serde_json::Value;

use crate::command::Reply;
use crate::config::Schedule;
use crate::erased::{DynStage, ErasedStage};
use crate::frame::{Frame, FramePool, PixelFormat};
use crate::packet::{Packet, PacketData, PacketPool};
use crate::registry;
use crate::runtime::Pipeline;
use crate::source::SourceControls;
use crate::stage::{Stage, StageInit};
use crate::state::RunControl;

type Built = (StageInit, Box<dyn DynStage>, Schedule);

/// Builds a [`Harness`].
#[derive(Default)]
pub struct HarnessBuilder {
    stages: Vec<Result<Built, String>>,
    camera: Option<Arc<dyn SourceControls>>,
    max_failures: u32,
    snapshot_hz: Option<f64>,
}

impl HarnessBuilder {
    /// Adds a stage of type `S` with instance id `id` and params as JSON.
    pub fn stage<S: Stage>(mut self, id: &str, params: Value) -> Self {
        let init = init(id);
        self.stages
            .push(ErasedStage::<S>::build(&params, &init).map(|s| (init, s, Schedule::default())));
        self
    }

    /// Schedules the stage added last (`isolation = "thread"`, `mode`, `deadline_ms`,
    /// `after`), as its `[[stages]]` entry would. Thread stages get their threads at
    /// [`HarnessBuilder::build`].
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        if let Some(Ok((_, _, s))) = self.stages.last_mut() {
            *s = schedule;
        }
        self
    }

    /// Adds a registered plugin by id.
    pub fn plugin(mut self, plugin: &str, id: &str, params: Value) -> Self {
        let init = init(id);
        let built = match registry::stage(plugin) {
            Some(reg) => (reg.build)(&params, &init).map(|s| (init, s, Schedule::default())),
            None => Err(format!("no plugin `{plugin}`")),
        };
        self.stages.push(built);
        self
    }

    /// Gives the pipeline camera controls.
    pub fn camera(mut self, controls: Arc<dyn SourceControls>) -> Self {
        self.camera = Some(controls);
        self
    }

    /// Disables a stage after this many consecutive failures (default 5).
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n;
        self
    }

    /// Publishes at most `hz` snapshots a second of packet time (sample pipelines).
    pub fn snapshot_hz(mut self, hz: f64) -> Self {
        self.snapshot_hz = Some(hz);
        self
    }

    /// Builds the pipeline and starts its stages.
    pub fn build(self) -> Result<Harness, String> {
        let stages = self
            .stages
            .into_iter()
            .map(|s| s.map(|(i, st, sched)| (i, st, true, None, sched)))
            .collect::<Result<Vec<_>, _>>()?;
        let run = Arc::new(RunControl::new(RunState::Running));
        let max = if self.max_failures == 0 {
            5
        } else {
            self.max_failures
        };
        let mut pipeline =
            Pipeline::new(Arc::from("camera_0"), stages, self.camera, run.clone(), max);
        pipeline.snapshot_hz = self.snapshot_hz;
        pipeline.keep_last = true;
        pipeline.start();
        Ok(Harness {
            pipeline,
            run,
            pool: FramePool::new(4, Arc::from("camera_0"), 0),
            next_id: 0,
            packets: None,
            next_seq: 0,
            next_sample: 0,
        })
    }
}

fn init(id: &str) -> StageInit {
    StageInit {
        id: id.to_owned(),
        source: "camera_0".to_owned(),
    }
}

/// A pipeline driven by hand.
pub struct Harness {
    pipeline: Pipeline,
    run: Arc<RunControl>,
    pool: FramePool,
    next_id: u64,
    packets: Option<PacketPool>,
    next_seq: u64,
    next_sample: u64,
}

impl Harness {
    /// Starts building.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    /// Makes a frame with the next frame id and `t_ns = id × 33.3 ms`, filled by `fill`.
    pub fn frame(
        &mut self,
        width: u32,
        height: u32,
        format: PixelFormat,
        fill: impl FnOnce(&mut [u8]),
    ) -> Frame {
        self.next_id += 1;
        let mut f = self
            .pool
            .try_acquire(width, height, format)
            .unwrap_or_else(|| {
                FramePool::new(1, Arc::from("camera_0"), 0)
                    .try_acquire(width, height, format)
                    .expect("fresh pool")
            });
        let d = f.get_mut().expect("unique");
        d.frame_id = self.next_id;
        d.t_ns = self.next_id * 33_333_333;
        fill(&mut d.data);
        f
    }

    /// Makes the next sample packet: `samples` interleaved over `channels` at `sample_rate`;
    /// `seq` counts from 1 and `t_ns` is the time of its first sample. Packets come from a
    /// pool of 4 reused while their size stays the same.
    pub fn packet(&mut self, sample_rate: f64, channels: usize, samples: &[f32]) -> Packet {
        let channels = channels.max(1);
        let batch = samples.len() / channels;
        let fits = self
            .packets
            .as_ref()
            .is_some_and(|p| p.batch_size() == batch && p.channels() == channels);
        if !fits {
            self.packets = Some(PacketPool::new(4, batch, channels));
        }
        let pool = self.packets.as_ref().expect("just made");
        let mut p = pool.try_acquire().unwrap_or_else(|| {
            PacketPool::new(1, batch, channels)
                .try_acquire()
                .expect("fresh")
        });
        let d = p.get_mut().expect("unique");
        self.next_seq += 1;
        d.header.seq = self.next_seq;
        d.header.sample_rate = sample_rate;
        d.header.t_ns = (self.next_sample as f64 * 1e9 / sample_rate) as u64;
        self.next_sample += batch as u64;
        d.data.copy_from_slice(&samples[..batch * channels]);
        p
    }

    /// Processes a sample packet; returns the snapshot as JSON when one was published.
    pub fn process_packet(&mut self, packet: Packet) -> Option<Value> {
        self.pipeline
            .process_packet(packet)
            .map(|s| serde_json::from_slice(s).expect("snapshot is valid JSON"))
    }

    /// Processes a sample packet without parsing the snapshot; true when one was published.
    pub fn process_packet_raw(&mut self, packet: Packet) -> bool {
        self.pipeline.process_packet(packet).is_some()
    }

    /// The packet the last stage gave for the last processed packet.
    pub fn last_packet(&self) -> Option<&PacketData<f32>> {
        self.pipeline.last_packet.as_deref()
    }

    /// Processes a frame; returns the snapshot as JSON.
    pub fn process(&mut self, frame: &Frame) -> Value {
        serde_json::from_slice(self.pipeline.process(frame)).expect("snapshot is valid JSON")
    }

    /// Processes a frame; returns the raw snapshot bytes.
    pub fn process_raw(&mut self, frame: &Frame) -> &[u8] {
        self.pipeline.process(frame)
    }

    /// Sends a command, applied at once (as between two frames).
    pub fn command(&mut self, target: &str, cmd: &str, args: Value) -> Reply {
        self.pipeline.dispatch(&Command::new(target, cmd, args))
    }

    /// Sets the run state (e.g. `Recording` to test the recording lock).
    pub fn set_state(&mut self, s: RunState) {
        self.run.set(s);
    }

    /// A typed result by namespace.
    pub fn result<T: std::any::Any>(&self, namespace: &str) -> Option<&T> {
        self.pipeline.results().get(namespace)
    }

    /// A result as JSON by namespace.
    pub fn result_json(&self, namespace: &str) -> Option<Value> {
        self.pipeline.results().to_json(namespace)
    }

    /// The pipeline (views, results).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}
