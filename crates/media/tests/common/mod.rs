//! Test source shared by the recording and highlights tests: frames whose pixels carry
//! their frame id (drawn with `framebus_testkit::counter`), timestamps exactly 1/30 s apart.

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_testkit::counter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Time between frames, ns (30 fps).
pub const PERIOD_NS: u64 = 33_333_333;
/// Frame width.
pub const W: u32 = 256;
/// Frame height.
pub const H: u32 = 64;

/// Params of [`CounterSource`] (kind `test_counter`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CounterParams {
    /// Frames before the end of stream.
    pub frames: u64,
    /// Wait before this frame until `GATES[gate]` opens.
    pub hold_at: Option<u64>,
    /// Which gate.
    pub gate: usize,
}

/// Gates tests open to let a held source go on (one per test that holds).
pub static GATES: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

/// Frames whose pixels carry their frame id; timestamps exactly 1/30 s apart.
pub struct CounterSource {
    frames: u64,
    hold_at: Option<u64>,
    gate: usize,
    next: u64,
    pool: FramePool,
    stop: StopFlag,
}

impl Source for CounterSource {
    type Params = CounterParams;
    const KIND: &'static str = "test_counter";
    const DESCRIPTION: &'static str = "frame ids drawn in the pixels (tests)";

    fn new(params: CounterParams, init: &SourceInit) -> framebus_core::Result<Self> {
        let pool = init.frame_pool();
        pool.prefill(W, H, PixelFormat::Gray8);
        Ok(Self {
            frames: params.frames,
            hold_at: params.hold_at,
            gate: params.gate,
            next: 0,
            pool,
            stop: init.stop.clone(),
        })
    }

    fn next_frame(&mut self) -> framebus_core::Result<Option<Frame>> {
        if self.next >= self.frames {
            return Ok(None);
        }
        if self.hold_at == Some(self.next) {
            while !GATES[self.gate].load(Ordering::SeqCst) && !self.stop.is_stopped() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let stop = self.stop.clone();
        let Some(mut f) = self
            .pool
            .acquire_or(W, H, PixelFormat::Gray8, || stop.is_stopped())
        else {
            return Ok(None);
        };
        let d = f.get_mut().expect("unique");
        d.frame_id = self.next;
        d.t_ns = self.next * PERIOD_NS;
        d.data.fill(90);
        counter::draw(&mut d.data, W, H, W as usize, 1, self.next as u32);
        self.next += 1;
        Ok(Some(f))
    }
}

framebus_core::register_source!(CounterSource);
