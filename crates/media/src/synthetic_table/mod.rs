//! `synthetic_table`: a top-down camera over a 7-ft pool table with sixteen balls and a cue
//! stick, drawn procedurally — the billiards scene of seed 002 without a camera, with ground
//! truth for every frame.
//!
//! # How it works
//! A [`scene`] racks the balls, then plays shots from a script (or random ones): the cue
//! stick aims (sweeping onto its line), withdraws, strikes and withdraws out of view; the
//! balls then move by the [`motion`] model (rolling friction, ball–ball and cushion
//! collisions, pockets) until they rest, and the next shot starts after a pause. Pocketed
//! balls stay down; a pocketed cue ball is re-spotted; an empty table is re-racked.
//!
//! Each frame is exposed over `shutter / fps` seconds: the scene is sampled at
//! `blur_subframes` instants and the balls drawn at each are averaged (motion blur). The
//! [`render`]er copies a static background (floor, rails with diamonds, cushions, pockets,
//! felt texture and vignette, made once), shades the balls (Lambert light plus a specular
//! highlight; stripes and number spots turn with the ball's integrated orientation), draws
//! the cue stick and adds sensor noise from a precomputed table. Steady state allocates
//! nothing. The image depends only on the params and the frame id: a seed reproduces it.
//!
//! [`SyntheticTable::truth`] is the ground truth of the last frame (ball centres in pixels
//! and metres averaged over the exposure, velocities, pocketed flags, the cue line), and
//! [`SyntheticTable::events`] what happened and when (shot started, collisions, cushions,
//! pockets, scratches, balls at rest).
//!
//! # Parameters
//! See [`SyntheticTableParams`].

pub mod lens;
mod motion;
mod render;
mod scene;
pub mod score;
pub mod table;
#[cfg(test)]
mod tests;
pub mod truth;

use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use lens::Distortion;
pub use scene::ShotSpec;
pub use score::{TrackingReport, TrackingScore};
pub use table::View;
pub use truth::{BallTruth, CueTruth, EventKind, EventLog, TableTruth, TruthEvent};

use render::{Renderer, SubBall};
use scene::{Scene, Timing};
use table::BALLS;

/// Most sub-frames averaged per frame.
pub const MAX_SUBFRAMES: u32 = 16;

/// Parameters of [`SyntheticTable`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticTableParams {
    /// Frame width in pixels; the table scales to fit.
    #[schemars(range(min = 160, max = 7680))]
    pub width: u32,
    /// Frame height in pixels; the table scales to fit.
    #[schemars(range(min = 90, max = 4320))]
    pub height: u32,
    /// Frames per second; 0 = unpaced (as fast as possible, scene timed as 60 fps).
    #[schemars(range(min = 0, max = 1000))]
    pub fps: f64,
    /// Seed of the rack, the random shots and the noise; the same seed gives the same bytes.
    pub seed: u64,
    /// Frames to produce before the end of stream; 0 = endless.
    pub frames: u64,
    /// Scripted shots, played in a loop; empty = random shots at random object balls.
    pub shots: Vec<ShotSpec>,
    /// Sensor noise, standard deviation in gray levels.
    #[schemars(range(min = 0, max = 50))]
    pub noise: f64,
    /// Instants averaged per frame for motion blur (1 = none).
    #[schemars(range(min = 1, max = 16))]
    pub blur_subframes: u32,
    /// Exposure time as a fraction of the frame period.
    #[schemars(range(min = 0, max = 1))]
    pub shutter: f64,
    /// Draw the cue stick.
    pub cue: bool,
    /// Seconds the cue aims before its backswing.
    #[schemars(range(min = 0.1, max = 10))]
    pub aim_s: f64,
    /// Seconds between balls at rest and the next aim.
    #[schemars(range(min = 0, max = 10))]
    pub pause_s: f64,
    /// Radial lens distortion (`{ k1, k2 }`, radii in half image diagonals; `k1 < 0` is
    /// barrel). Zero: an ideal lens. The truth's pixel positions are the distorted ones.
    pub distortion: Distortion,
}

impl Default for SyntheticTableParams {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 60.0,
            seed: 1,
            frames: 0,
            shots: Vec::new(),
            noise: 2.0,
            blur_subframes: 4,
            shutter: 0.5,
            cue: true,
            aim_s: 0.8,
            pause_s: 0.4,
            distortion: Distortion::default(),
        }
    }
}

impl SyntheticTableParams {
    /// The scene the tracker is scored on (`billiards_tracking` test, `framebus bench --only
    /// billiards_live`): random shots from seed 11 at 960×540, 60 fps, short aim and pause.
    pub fn scored_scene() -> Self {
        Self {
            width: 960,
            height: 540,
            fps: 60.0,
            seed: 11,
            aim_s: 0.4,
            pause_s: 0.3,
            ..Default::default()
        }
    }
}

/// The synthetic pool-table camera (kind `synthetic_table`). See the [module docs](self).
pub struct SyntheticTable {
    params: SyntheticTableParams,
    renderer: Renderer,
    lens: Option<framebus_billiards::RadialLens>,
    scene: Scene,
    subs: Vec<[SubBall; BALLS]>,
    truth: TableTruth,
    pool: FramePool,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
    next_id: u64,
    start_ns: Option<u64>,
    last_t_ns: Option<u64>,
}

impl SyntheticTable {
    /// The scored scene ([`SyntheticTableParams::scored_scene`]) as source `camera_0` on
    /// `clock` (a manual clock plays it as fast as it renders, with exact frame times).
    pub fn scored_scene(clock: Arc<dyn Clock>) -> Result<Self> {
        let init = SourceInit::standalone("camera_0", clock);
        Self::new(SyntheticTableParams::scored_scene(), &init)
    }

    /// Ground truth of the last frame produced.
    pub fn truth(&self) -> &TableTruth {
        &self.truth
    }

    /// Everything that happened so far (bounded to the last [`EventLog::CAPACITY`]).
    pub fn events(&self) -> &EventLog {
        &self.scene.log
    }

    /// The pixel ↔ metre mapping of this camera's ideal (undistorted) image.
    pub fn view(&self) -> &View {
        self.renderer.view()
    }

    /// The lens distortion, if the `distortion` param sets one.
    pub fn lens(&self) -> Option<&framebus_billiards::RadialLens> {
        self.lens.as_ref()
    }

    /// Where a point in table metres appears in the image (through the lens, if any).
    pub fn to_image(&self, m: [f64; 2]) -> [f64; 2] {
        let p = self.view().to_px(m);
        self.lens.map_or(p, |l| l.distort(p))
    }

    /// Plays the scene on without drawing until the next frame produced is frame `id` (the
    /// truth and events advance as if the frames had been drawn; nothing happens if that
    /// frame is already past). Tests use it to start a tracker just before a moment of a long
    /// scene.
    pub fn skip_to(&mut self, id: u64) {
        while self.next_id < id {
            self.expose(self.next_id);
            self.next_id += 1;
        }
    }

    /// Scene frame rate (the `fps` param, or 60 when unpaced).
    pub fn scene_fps(&self) -> f64 {
        if self.params.fps > 0.0 {
            self.params.fps
        } else {
            60.0
        }
    }

    /// Advances the scene over the exposure of frame `id`, filling the sub-frames and truth.
    fn expose(&mut self, id: u64) {
        let fps = self.scene_fps();
        let t_mid = (id - 1) as f64 / fps;
        let k = self.subs.len();
        let span = self.params.shutter / fps;
        let view = *self.renderer.view();
        let mut sum_px = [[0.0f64; 2]; BALLS];
        let mut sum_m = [[0.0f64; 2]; BALLS];
        let mut sum_v = [[0.0f64; 2]; BALLS];
        let mut seen = [0u32; BALLS];
        for s in 0..k {
            let t = t_mid + span * ((s as f64 + 0.5) / k as f64 - 0.5);
            self.scene.advance_to(t);
            for (i, b) in self.scene.motion.balls.iter().enumerate() {
                let sb = SubBall::of(b, &view);
                self.subs[s][i] = sb;
                if sb.visible {
                    seen[i] += 1;
                    let px = self.lens.map_or(sb.px, |l| l.distort(sb.px));
                    for c in 0..2 {
                        sum_px[i][c] += px[c];
                        sum_m[i][c] += b.pos[c];
                        sum_v[i][c] += b.vel[c];
                    }
                }
            }
        }
        let truth = &mut self.truth;
        truth.frame_id = id;
        truth.t = t_mid;
        truth.shots = self.scene.shots;
        truth.ball_radius_px = view.ball_radius_px();
        for i in 0..BALLS {
            let b = &mut truth.balls[i];
            b.number = i as u8;
            let n = f64::from(seen[i].max(1));
            b.px = [sum_px[i][0] / n, sum_px[i][1] / n];
            b.m = [sum_m[i][0] / n, sum_m[i][1] / n];
            b.vel = [sum_v[i][0] / n, sum_v[i][1] / n];
            b.pocketed = !self.subs[k - 1][i].visible;
        }
        truth.cue = match self.scene.cue_at(t_mid).filter(|_| self.params.cue) {
            Some(pose) => {
                let tip = view.to_px(pose.tip);
                let (s, c) = pose.angle_deg.to_radians().sin_cos();
                let len = scene::CUE_LENGTH * view.scale;
                let butt = [tip[0] - c * len, tip[1] - s * len];
                let through = |p: [f64; 2]| self.lens.map_or(p, |l| l.distort(p));
                CueTruth {
                    visible: true,
                    tip_px: through(tip),
                    butt_px: through(butt),
                    angle_deg: pose.angle_deg,
                }
            }
            None => CueTruth::default(),
        };
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

impl Source for SyntheticTable {
    type Params = SyntheticTableParams;
    const KIND: &'static str = "synthetic_table";
    const DESCRIPTION: &'static str = "A top-down camera over a 7-ft pool table with 16 balls and a cue stick playing shots, drawn procedurally with ground truth (billiards test scene)";

    fn new(params: SyntheticTableParams, init: &SourceInit) -> Result<Self> {
        if params.width < 160 || params.height < 90 {
            return Err(Error::source(format!(
                "synthetic_table: {}x{} is too small (at least 160x90)",
                params.width, params.height
            )));
        }
        if !(1..=MAX_SUBFRAMES).contains(&params.blur_subframes) {
            return Err(Error::source(format!(
                "synthetic_table: blur_subframes = {} is outside 1..={MAX_SUBFRAMES}",
                params.blur_subframes
            )));
        }
        if let Some(bad) = params.shots.iter().find(|s| {
            !(0.1..=6.0).contains(&s.v0)
                || s.a * s.a + s.b * s.b > 0.25
                || !(0.0..=80.0).contains(&s.theta)
        }) {
            return Err(Error::source(format!(
                "synthetic_table: shot {bad:?} is out of range (V0 0.1..=6 m/s, a² + b² ≤ 0.25, theta 0..=80°)"
            )));
        }
        if let Some(problem) = params.distortion.problem() {
            return Err(Error::source(format!("synthetic_table: {problem}")));
        }
        let lens = (!params.distortion.is_none())
            .then(|| params.distortion.lens(params.width, params.height));
        let renderer = Renderer::new(params.width, params.height, params.seed, lens.as_ref());
        let scene = Scene::new(
            params.seed,
            params.shots.clone(),
            Timing {
                aim_s: params.aim_s.max(0.1),
                pause_s: params.pause_s.max(0.0),
            },
        );
        let pool = init.frame_pool();
        pool.prefill(params.width, params.height, PixelFormat::Rgb8);
        Ok(Self {
            renderer,
            lens,
            scene,
            subs: vec![[SubBall::default(); BALLS]; params.blur_subframes as usize],
            truth: TableTruth::default(),
            pool,
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
        self.expose(id);
        let cue = self
            .truth
            .cue
            .visible
            .then_some((self.truth.cue.tip_px, self.truth.cue.angle_deg));
        let data = frame.get_mut().expect("a freshly acquired frame is unique");
        data.frame_id = id;
        let noise_offset = render_noise_offset(self.params.seed, id);
        self.renderer.draw(
            &mut data.data,
            &self.subs,
            cue,
            self.params.noise,
            noise_offset,
        );
        // Stamped when the frame is complete, as a camera driver stamps the end of a frame's
        // readout: the pipeline's latency counts from when the pixels exist.
        data.t_ns = self.timestamp();
        self.next_id += 1;
        Ok(Some(frame))
    }
}

fn render_noise_offset(seed: u64, id: u64) -> u64 {
    let mut r = scene::Rng::new(seed ^ id.wrapping_mul(0x9E37_79B9));
    r.next_u64()
}

framebus_core::register_source!(SyntheticTable);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}
