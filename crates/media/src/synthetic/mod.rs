//! `synthetic_rider`: a side view of a cyclist pedalling on a trainer with six bright
//! reflective markers, drawn procedurally — the BikeFit scene of seed 000 without a camera.
//!
//! # How it works
//! The static background (wall, floor, trainer, wheels) is drawn once when the source opens.
//! Each frame copies it into a pooled RGB frame, draws the bike frame, the rider at the pose
//! of that frame ([`rider_pose`]) and the markers, then applies exposure, gain and noise from
//! the live [`RiderControls`]. The image depends only on the params, the controls and the
//! frame id, so a seed reproduces it byte for byte. Steady state allocates nothing.
//!
//! At exposure 157 and gain 0 the markers are the only pixels with gray level ≥ 200 (all
//! else ≤ 150), and each marker is exactly the set of pixels whose centre lies within its
//! radius, so thresholding at 200 and taking centroids recovers the ground truth.
//!
//! # Parameters
//! See [`SyntheticRiderParams`].

mod controls;
mod kinematics;
mod render;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{CameraSettings, Source, SourceControls, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use controls::{EXPOSURE_RANGE, GAIN_RANGE, RiderControls};
pub use kinematics::{MARKER_NAMES, RiderPose, rider_pose};

use kinematics::{Layout, Skeleton};
use render::Canvas;

/// Exposure at which the scene has its nominal brightness.
pub const NOMINAL_EXPOSURE: f64 = 157.0;
/// Mean gray level the auto-exposure loop aims for.
pub const AUTO_EXPOSURE_TARGET: f64 = 64.0;

/// Parameters of [`SyntheticRider`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticRiderParams {
    /// Frame width in pixels; the scene scales to fit.
    #[schemars(range(min = 64, max = 7680))]
    pub width: u32,
    /// Frame height in pixels; the scene scales to fit.
    #[schemars(range(min = 48, max = 4320))]
    pub height: u32,
    /// Frames per second; 0 = unpaced (as fast as possible, timed as 30 fps for the pose).
    #[schemars(range(min = 0, max = 1000))]
    pub fps: f64,
    /// Pedalling cadence in revolutions per minute.
    #[schemars(range(min = 0, max = 300))]
    pub cadence_rpm: f64,
    /// Seed of the sensor noise; the same seed gives the same bytes.
    pub seed: u64,
    /// Initial exposure (1..1000; 157 = nominal brightness, higher = brighter).
    #[schemars(range(min = 1, max = 1000))]
    pub exposure: f64,
    /// Initial analog gain in dB; brightens by 10^(gain/20) and adds noise.
    #[schemars(range(min = 0, max = 24))]
    pub gain: f64,
    /// Start with automatic exposure (drives the mean brightness towards a target).
    pub auto_exposure: bool,
    /// Frames to produce before the end of stream; 0 = endless.
    pub frames: u64,
}

impl Default for SyntheticRiderParams {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 30.0,
            cadence_rpm: 90.0,
            seed: 1,
            exposure: NOMINAL_EXPOSURE,
            gain: 0.0,
            auto_exposure: false,
            frames: 0,
        }
    }
}

/// The synthetic BikeFit camera (kind `synthetic_rider`).
pub struct SyntheticRider {
    params: SyntheticRiderParams,
    layout: Layout,
    background: Vec<u8>,
    pool: FramePool,
    controls: Arc<RiderControls>,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
    next_id: u64,
    start_ns: Option<u64>,
    last_t_ns: Option<u64>,
}

impl SyntheticRider {
    /// The live camera controls (also returned by [`Source::controls`]).
    pub fn rider_controls(&self) -> &Arc<RiderControls> {
        &self.controls
    }

    /// Draws frame `frame_id` into `px` (packed RGB of the configured size).
    fn render(&self, px: &mut [u8], frame_id: u64, settings: CameraSettings) {
        px.copy_from_slice(&self.background);
        let mut canvas = Canvas::new(px, self.params.width, self.params.height);
        render::rider(
            &mut canvas,
            &self.layout,
            &Skeleton::at(&self.params, frame_id),
        );
        let scale = settings.exposure / NOMINAL_EXPOSURE * 10f64.powf(settings.gain / 20.0);
        let noise = settings.gain * 0.75;
        render::expose(px, scale, noise, self.params.seed.wrapping_add(frame_id));
    }

    /// One proportional auto-exposure step from the mean brightness of `px`.
    fn auto_expose(&self, px: &[u8], settings: CameraSettings) {
        // Green channel of every 7th pixel: close enough to luma, cheap.
        let (sum, n) = px
            .chunks_exact(3)
            .step_by(7)
            .fold((0u64, 0u64), |(s, n), p| (s + u64::from(p[1]), n + 1));
        let mean = (sum as f64 / n.max(1) as f64).max(1.0);
        let step = (1.0 + 0.5 * (AUTO_EXPOSURE_TARGET / mean - 1.0)).clamp(0.5, 2.0);
        self.controls.set_exposure(settings.exposure * step);
    }

    fn timestamp(&mut self) -> u64 {
        let now = self.clock.now_ns();
        let t = match self.last_t_ns {
            Some(prev) => now.max(prev + 1),
            None => now,
        };
        self.last_t_ns = Some(t);
        t
    }
}

impl Source for SyntheticRider {
    type Params = SyntheticRiderParams;
    const KIND: &'static str = "synthetic_rider";
    const DESCRIPTION: &'static str = "A cyclist pedalling on a trainer with six reflective markers, drawn procedurally (BikeFit test scene)";

    fn new(params: SyntheticRiderParams, init: &SourceInit) -> Result<Self> {
        if params.width < 64 || params.height < 48 {
            return Err(Error::source(format!(
                "synthetic_rider: {}x{} is too small (at least 64x48)",
                params.width, params.height
            )));
        }
        let layout = Layout::new(params.width, params.height);
        let mut background = vec![0u8; params.width as usize * params.height as usize * 3];
        render::background(
            &mut Canvas::new(&mut background, params.width, params.height),
            &layout,
        );
        let controls = Arc::new(RiderControls::new(CameraSettings {
            exposure: params.exposure.clamp(EXPOSURE_RANGE.0, EXPOSURE_RANGE.1),
            gain: params.gain.clamp(GAIN_RANGE.0, GAIN_RANGE.1),
            auto_exposure: params.auto_exposure,
        }));
        let pool = init.frame_pool();
        pool.prefill(params.width, params.height, PixelFormat::Rgb8);
        Ok(Self {
            layout,
            background,
            pool,
            controls,
            clock: init.clock.clone(),
            stop: init.stop.clone(),
            next_id: 1,
            start_ns: None,
            last_t_ns: None,
            params,
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let id = self.next_id;
        if self.stop.is_stopped() || (self.params.frames > 0 && id > self.params.frames) {
            return Ok(None);
        }
        if self.params.fps > 0.0 {
            let start = *self.start_ns.get_or_insert_with(|| self.clock.now_ns());
            let offset = ((id - 1) as f64 * 1e9 / self.params.fps).round() as u64;
            self.clock.sleep_until(start + offset);
        }
        let (w, h) = (self.params.width, self.params.height);
        let stop = &self.stop;
        let Some(mut frame) = self
            .pool
            .acquire_or(w, h, PixelFormat::Rgb8, || stop.is_stopped())
        else {
            return Ok(None);
        };
        let t_ns = self.timestamp();
        let settings = self.controls.settings();
        let data = frame.get_mut().expect("a freshly acquired frame is unique");
        data.frame_id = id;
        data.t_ns = t_ns;
        self.render(&mut data.data, id, settings);
        if settings.auto_exposure {
            self.auto_expose(&data.data, settings);
        }
        self.next_id += 1;
        Ok(Some(frame))
    }

    fn controls(&self) -> Option<Arc<dyn SourceControls>> {
        Some(self.controls.clone())
    }
}

framebus_core::register_source!(SyntheticRider);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}
