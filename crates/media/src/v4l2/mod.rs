//! `v4l2`: a Linux camera (V4L2, memory-mapped streaming) in the default build, through the
//! pure-Rust `linuxvideo` crate (no bindgen, no libclang, no system library).
//!
//! # How it works
//! The device is opened when the source is built (a missing device is an error then, naming
//! it). YUYV frames are copied into pooled `Yuyv` frames; MJPEG frames are decoded to RGB
//! straight into pooled frames (zune-jpeg).
//! `exposure`, `gain` and `auto_exposure` commands (targets `camera_0`, `all_cameras`) map
//! onto `V4L2_CID_EXPOSURE_ABSOLUTE`, `V4L2_CID_GAIN` and `V4L2_CID_EXPOSURE_AUTO`; a control
//! the device lacks is refused with `bad_args` naming it ([`V4l2Controls`]).
//!
//! A camera that fails (unplugged, driver error) is closed and reopened with exponential
//! backoff on the injected clock ([`backoff_ns`]: 100 ms doubling to 5 s); every failed
//! attempt is returned as an error, which the runtime reports as an alert. When it opens
//! again, frames resume (ids keep increasing) and the settings commands chose are re-applied.
//! The device sits behind [`CameraDevice`], so tests inject one that fails and recovers.
//!
//! # Parameters
//! See [`V4l2Params`].

mod controls;
mod device;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Source, SourceControls, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use controls::V4l2Controls;
pub use device::{
    CameraDevice, CaptureFormat, Control, ControlSet, DeviceRequest, LinuxVideoDevice, StreamInfo,
};

/// Parameters of [`V4l2Source`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct V4l2Params {
    /// Device node.
    pub device: String,
    /// Wanted width in pixels (the driver may choose the nearest size it has).
    #[schemars(range(min = 16, max = 8192))]
    pub width: u32,
    /// Wanted height in pixels.
    #[schemars(range(min = 16, max = 8192))]
    pub height: u32,
    /// Wanted frames per second (0 = the device's default).
    #[schemars(range(min = 0, max = 1000))]
    pub fps: u32,
    /// Pixel format to capture: `yuyv` or `mjpeg`.
    pub format: CaptureFormat,
}

impl Default for V4l2Params {
    fn default() -> Self {
        Self {
            device: "/dev/video0".into(),
            width: 640,
            height: 480,
            fps: 30,
            format: CaptureFormat::Yuyv,
        }
    }
}

/// First reconnect delay.
pub const BACKOFF_FIRST_NS: u64 = 100_000_000;
/// Longest reconnect delay.
pub const BACKOFF_MAX_NS: u64 = 5_000_000_000;

/// Delay before reconnect attempt `attempt` (1-based): 100 ms, 200 ms, 400 ms, … up to 5 s.
pub fn backoff_ns(attempt: u32) -> u64 {
    let shift = attempt.saturating_sub(1).min(16);
    (BACKOFF_FIRST_NS << shift).min(BACKOFF_MAX_NS)
}

/// Frames from a V4L2 camera (kind `v4l2`).
pub struct V4l2Source {
    name: String,
    device: Box<dyn CameraDevice>,
    /// The stream while the device is open.
    info: Option<StreamInfo>,
    /// Failed attempts since the camera was lost (0 while it works).
    failures: u32,
    controls: Arc<V4l2Controls>,
    next_id: u64,
    last_t_ns: Option<u64>,
    pool: FramePool,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
}

impl V4l2Source {
    /// A source on `device` (a real camera or one a test injects), opened now.
    pub fn with_device(
        name: String,
        mut device: Box<dyn CameraDevice>,
        init: &SourceInit,
    ) -> Result<Self> {
        let info = device
            .open()
            .map_err(|e| Error::source(format!("v4l2 {name}: {e}")))?;
        let controls = Arc::new(V4l2Controls::new(name.clone()));
        controls.opened(info.controls);
        Ok(Self {
            name,
            device,
            info: Some(info),
            failures: 0,
            controls,
            next_id: 1,
            last_t_ns: None,
            pool: init.frame_pool(),
            clock: init.clock.clone(),
            stop: init.stop.clone(),
        })
    }

    /// Waits until `until_ns` on the clock in slices, waking early on shutdown.
    fn wait_until(&self, until_ns: u64) {
        const SLICE_NS: u64 = 50_000_000;
        loop {
            let now = self.clock.now_ns();
            if now >= until_ns || self.stop.is_stopped() {
                return;
            }
            self.clock.sleep_until(until_ns.min(now + SLICE_NS));
        }
    }

    /// Tries to reopen a lost camera after its backoff delay.
    fn reconnect(&mut self) -> Result<()> {
        let delay = backoff_ns(self.failures);
        self.wait_until(self.clock.now_ns() + delay);
        if self.stop.is_stopped() {
            return Ok(());
        }
        match self.device.open() {
            Ok(info) => {
                tracing::info!(device = %self.name, attempts = self.failures, "camera is back");
                self.controls.opened(info.controls);
                self.info = Some(info);
                self.failures = 0;
                Ok(())
            }
            Err(e) => {
                self.failures += 1;
                Err(Error::source(format!(
                    "v4l2 {}: camera lost; reconnect attempt {} failed: {e}; next in {} ms",
                    self.name,
                    self.failures - 1,
                    backoff_ns(self.failures) / 1_000_000
                )))
            }
        }
    }
}

impl Source for V4l2Source {
    type Params = V4l2Params;
    const KIND: &'static str = "v4l2";
    const DESCRIPTION: &'static str =
        "A V4L2 camera (YUYV or MJPEG) with exposure/gain controls and reconnect with backoff";

    fn new(params: V4l2Params, init: &SourceInit) -> Result<Self> {
        let request = DeviceRequest {
            path: params.device.clone().into(),
            width: params.width,
            height: params.height,
            fps: params.fps,
            format: params.format,
        };
        Self::with_device(
            params.device,
            Box::new(LinuxVideoDevice::new(request)),
            init,
        )
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            let Some(info) = self.info else {
                self.reconnect()?;
                continue;
            };
            for (control, value) in self.controls.take_dirty() {
                if let Err(e) = self.device.set_control(control, value) {
                    tracing::warn!(device = %self.name, "{e}");
                }
            }
            let mut frame = None;
            let mut bad = None;
            let (pool, stop, clock) = (&self.pool, &self.stop, &self.clock);
            let (id, last) = (self.next_id, self.last_t_ns);
            let read = self
                .device
                .read(&mut |bytes| match fill(pool, stop, &info, bytes) {
                    Ok(Some(mut f)) => {
                        let now = clock.now_ns();
                        let d = f.get_mut().expect("a freshly acquired frame is unique");
                        d.frame_id = id;
                        d.t_ns = last.map_or(now, |p| now.max(p + 1));
                        frame = Some(f);
                    }
                    Ok(None) => {}
                    Err(e) => bad = Some(e),
                });
            if let Err(e) = read {
                self.device.close();
                self.info = None;
                self.failures = 1;
                return Err(Error::source(format!(
                    "v4l2 {}: camera lost ({e}); reconnecting in {} ms",
                    self.name,
                    backoff_ns(1) / 1_000_000
                )));
            }
            if let Some(e) = bad {
                return Err(Error::source(format!(
                    "v4l2 {}: frame {}: {e}",
                    self.name, self.next_id
                )));
            }
            if let Some(f) = frame {
                self.last_t_ns = Some(f.t_ns);
                self.next_id += 1;
                return Ok(Some(f));
            }
        }
    }

    fn controls(&self) -> Option<Arc<dyn SourceControls>> {
        Some(self.controls.clone())
    }
}

/// Copies (YUYV) or decodes (MJPEG) one captured buffer into a pooled frame.
fn fill(
    pool: &FramePool,
    stop: &StopFlag,
    info: &StreamInfo,
    bytes: &[u8],
) -> std::result::Result<Option<Frame>, String> {
    match info.format {
        CaptureFormat::Yuyv => {
            let row = info.width as usize * 2;
            let stride = info.stride.max(row);
            let need = stride * (info.height as usize - 1) + row;
            if bytes.len() < need {
                return Err(format!(
                    "short YUYV buffer: {} bytes, {need} needed",
                    bytes.len()
                ));
            }
            let Some(mut f) = pool.acquire_or(info.width, info.height, PixelFormat::Yuyv, || {
                stop.is_stopped()
            }) else {
                return Ok(None);
            };
            let d = f.get_mut().expect("a freshly acquired frame is unique");
            for (y, out) in d.data.chunks_exact_mut(row).enumerate() {
                out.copy_from_slice(&bytes[y * stride..y * stride + row]);
            }
            Ok(Some(f))
        }
        CaptureFormat::Mjpeg => {
            // Decoded straight into the pooled frame: no image-sized buffer per frame.
            let jpeg = crate::decode::JpegRgb::new(bytes).map_err(|e| e.to_string())?;
            let (w, h) = jpeg.dimensions();
            let Some(mut f) = pool.acquire_or(w, h, PixelFormat::Rgb8, || stop.is_stopped()) else {
                return Ok(None);
            };
            let d = f.get_mut().expect("a freshly acquired frame is unique");
            jpeg.decode_into(&mut d.data).map_err(|e| e.to_string())?;
            Ok(Some(f))
        }
    }
}

framebus_core::register_source!(V4l2Source);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}
