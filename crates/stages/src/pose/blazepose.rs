//! `pose`: 33 body keypoints with MediaPipe BlazePose, run with ONNX Runtime.
//!
//! # How it works
//! - **Detect** (only when not tracking): the frame is letterboxed to 224×224 (RGB in
//!   [-1, 1], sampled as MediaPipe does, see [`super::warp`]); the detector scores 2254 SSD anchors; detections above `min_detection_score`
//!   are merged by weighted non-max suppression and the best one kept. Its keypoint 0 (hip
//!   centre) and 1 (body scale) give the region: a square centred on the hips, turned so the
//!   body is upright, side `2·|kp1 − kp0|·1.25`.
//! - **Landmarks**: that region is cropped to 256×256 (bilinear, RGB in [0, 1]) and the
//!   landmark model gives 39 points in crop pixels (33 BlazePose keypoints + 6 auxiliary),
//!   visibility and presence logits, a person score and world coordinates in metres (origin
//!   between the hips), which are turned by the region's rotation as MediaPipe does. Each
//!   point is then refined from its heatmap (a 7×7 window, as MediaPipe's
//!   `RefineLandmarksFromHeatmapCalculator`).
//! - **Track**: the next frame's region comes from this frame's auxiliary points 33 and 34
//!   (the same alignment as the detector's). When the person score falls below
//!   `min_tracking_score` the region is dropped and the detector runs on the same frame.
//! - **Smooth**: image and world coordinates go through the chosen filter (`none`, `ema`,
//!   `one_euro`), timed by the frame timestamps; the angles come from smoothed world points.
//!
//! Result (namespace `vision` by default): `{"keypoints":[{"id":"nose","x","y","z","score",
//! "visibility"}…], "world":[{"id","x","y","z","visibility"}…], "angles":{"left_knee":…},
//! "valid", "score", "detected", "detector_runs", "timings":{"preprocess","detect",
//! "landmark","smooth","ort"}}`, x/y/z in image pixels (z relative to the hips, same scale as
//! x), world in metres, angles in degrees (3D, from world points), timings in ms (`ort` is the
//! part of `detect` + `landmark` spent inside ONNX Runtime). Every keypoint is published as a
//! named point (`left_knee`, score = visibility) and every angle as a signal
//! (`left_knee_angle`). No person: `valid: false` and empty lists, not an error.
//!
//! # Parameters
//! - `model`: `"lite"` (default) or `"full"` landmark model.
//! - `min_detection_score` (0.5), `min_tracking_score` (0.5).
//! - `detector_tiles` (true): when the letterboxed frame shows nobody and the frame is not
//!   square, the detector also reads square crops of the short side along the long side
//!   ([`square_tiles`]: 3 for 4:3 or 16:9), centre first, until one finds a person. The
//!   detector is BlazeFace-like (its box is the face): a profile face that is only 30 px in
//!   the letterbox can score 0.13 where the same face 40 px big scores 0.63 (`camera.png`
//!   letterboxed to 640×480; MediaPipe 0.10.14 finds nobody there either). Costs up to 3
//!   more detector runs on a frame where nobody is found; `detected` frames count once in
//!   `detector_runs`.
//! - `smoothing`: `"none"`, `"ema"` (default, `alpha` 0.7 = weight of the new value) or
//!   `"one_euro"` (`min_cutoff` Hz, `beta` per px/s, `d_cutoff` Hz).
//! - `threads` (1): ONNX Runtime intra-op threads.
//! - `models_dir`: folder with the `.onnx` files (default: `models/` beside the binary or the
//!   source tree; `FRAMEBUS_MODELS_DIR` overrides).

use std::time::Instant;

use framebus_core::prelude::*;

use super::anchors::ssd_anchors;
use super::angles::{JOINTS, SIGNALS, angle_deg};
use super::detect::{Detection, decode, weighted_nms};
use super::heatmap::refine;
use super::roi::Roi;
use super::runtime::{Model, models_dir};
use super::smoothing::{FilterBank, Smoother};
use super::warp::{Affine, Border, warp_rgb};

/// BlazePose keypoint names, in model order.
pub const KEYPOINT_NAMES: [&str; 33] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

const DET_N: usize = 224;
const LM_N: usize = 256;
const N_LM: usize = 39;
const N_KP: usize = 33;
const ROI_SCALE: f64 = 1.25;
const NMS_IOU: f32 = 0.3;
/// Heatmap side of the landmark model.
const HM: usize = 64;

/// Which landmark model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoseModel {
    /// `pose_landmark_lite.onnx`.
    #[default]
    Lite,
    /// `pose_landmark_full.onnx`.
    Full,
}

/// Which temporal filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmoothingKind {
    /// No filtering.
    None,
    /// Exponential moving average with `alpha`.
    #[default]
    Ema,
    /// One-Euro filter with `min_cutoff`, `beta`, `d_cutoff`.
    OneEuro,
}

/// Params of [`PoseStage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PoseParams {
    /// Landmark model variant.
    pub model: PoseModel,
    /// Smallest detector score that starts tracking.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_detection_score: f64,
    /// Smallest landmark person score that keeps tracking.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_tracking_score: f64,
    /// Temporal filter.
    pub smoothing: SmoothingKind,
    /// EMA weight of the new value.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub alpha: f64,
    /// One-Euro cutoff at rest, Hz.
    #[schemars(range(min = 0.0001, max = 1000.0))]
    pub min_cutoff: f64,
    /// One-Euro speed coefficient.
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub beta: f64,
    /// One-Euro derivative cutoff, Hz.
    #[schemars(range(min = 0.0001, max = 1000.0))]
    pub d_cutoff: f64,
    /// When the letterboxed frame shows nobody, search square crops of it too.
    pub detector_tiles: bool,
    /// ONNX Runtime intra-op threads.
    #[schemars(range(min = 1, max = 64))]
    pub threads: u32,
    /// Folder with the model files (default: found beside the binary or in the source tree).
    pub models_dir: Option<String>,
}

impl Default for PoseParams {
    fn default() -> Self {
        Self {
            model: PoseModel::Lite,
            min_detection_score: 0.5,
            min_tracking_score: 0.5,
            smoothing: SmoothingKind::Ema,
            alpha: 0.7,
            min_cutoff: 1.0,
            beta: 0.05,
            d_cutoff: 1.0,
            detector_tiles: true,
            threads: 1,
            models_dir: None,
        }
    }
}

impl PoseParams {
    fn smoother(&self) -> Smoother {
        match self.smoothing {
            SmoothingKind::None => Smoother::None,
            SmoothingKind::Ema => Smoother::Ema { alpha: self.alpha },
            SmoothingKind::OneEuro => Smoother::OneEuro {
                min_cutoff: self.min_cutoff,
                beta: self.beta,
                d_cutoff: self.d_cutoff,
            },
        }
    }
}

/// A keypoint in image pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Keypoint {
    /// Name (`left_knee`).
    pub id: &'static str,
    /// x in pixels.
    pub x: f64,
    /// y in pixels.
    pub y: f64,
    /// Depth relative to the hips, in pixels (smaller is nearer the camera).
    pub z: f64,
    /// Presence probability.
    pub score: f64,
    /// Visibility probability.
    pub visibility: f64,
}

/// A keypoint in metres, origin between the hips.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WorldPoint {
    /// Name.
    pub id: &'static str,
    /// x in metres.
    pub x: f64,
    /// y in metres (down).
    pub y: f64,
    /// z in metres (towards the camera is negative).
    pub z: f64,
    /// Visibility probability.
    pub visibility: f64,
}

/// The eight joint angles in degrees (3D).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Angles {
    /// Hip–knee–ankle.
    pub left_knee: Option<f64>,
    /// Hip–knee–ankle.
    pub right_knee: Option<f64>,
    /// Shoulder–elbow–wrist.
    pub left_elbow: Option<f64>,
    /// Shoulder–elbow–wrist.
    pub right_elbow: Option<f64>,
    /// Shoulder–hip–knee.
    pub left_hip: Option<f64>,
    /// Shoulder–hip–knee.
    pub right_hip: Option<f64>,
    /// Elbow–shoulder–hip.
    pub left_shoulder: Option<f64>,
    /// Elbow–shoulder–hip.
    pub right_shoulder: Option<f64>,
}

impl Angles {
    /// The angles in [`JOINTS`] order.
    pub fn as_array(&self) -> [Option<f64>; 8] {
        [
            self.left_knee,
            self.right_knee,
            self.left_elbow,
            self.right_elbow,
            self.left_hip,
            self.right_hip,
            self.left_shoulder,
            self.right_shoulder,
        ]
    }

    fn set(&mut self, v: [Option<f64>; 8]) {
        [
            self.left_knee,
            self.right_knee,
            self.left_elbow,
            self.right_elbow,
            self.left_hip,
            self.right_hip,
            self.left_shoulder,
            self.right_shoulder,
        ] = v;
    }
}

/// Per-frame timings in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PoseTimings {
    /// Crops and tensor fills.
    pub preprocess: f64,
    /// Detector run and decoding (0 while tracking).
    pub detect: f64,
    /// Landmark run and decoding.
    pub landmark: f64,
    /// Smoothing and angles.
    pub smooth: f64,
    /// Time inside ONNX Runtime (part of `detect` + `landmark`).
    pub ort: f64,
}

/// The result of [`PoseStage`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pose {
    /// 33 keypoints in image pixels (empty when no person).
    pub keypoints: Vec<Keypoint>,
    /// 33 keypoints in metres (empty when no person).
    pub world: Vec<WorldPoint>,
    /// Joint angles from the world points.
    pub angles: Angles,
    /// A person was found.
    pub valid: bool,
    /// The landmark model's person score.
    pub score: f64,
    /// The detector ran on this frame.
    pub detected: bool,
    /// Detector runs since the stage started.
    pub detector_runs: u64,
    /// Per-step timings of this frame.
    pub timings: PoseTimings,
}

/// The BlazePose stage. See the [module docs](self).
pub struct PoseStage {
    params: PoseParams,
    detector: Model,
    landmark: Model,
    anchors: Vec<[f32; 2]>,
    cands: Vec<Detection>,
    kept: Vec<Detection>,
    used: Vec<bool>,
    roi: Option<Roi>,
    filter: FilterBank,
    result: Pose,
    detector_runs: u64,
}

impl PoseStage {
    /// Builds the stage from params (loads ONNX Runtime and both models).
    pub fn build(params: PoseParams) -> Result<Self, String> {
        let dir = models_dir(params.models_dir.as_deref());
        let threads = params.threads as usize;
        let detector = Model::load(
            &dir.join("pose_detection.onnx"),
            threads,
            [1, DET_N, DET_N, 3],
            &[2254 * 12, 2254],
        )?;
        let lm_file = match params.model {
            PoseModel::Lite => "pose_landmark_lite.onnx",
            PoseModel::Full => "pose_landmark_full.onnx",
        };
        let landmark = Model::load(
            &dir.join(lm_file),
            threads,
            [1, LM_N, LM_N, 3],
            &[N_LM * 5, 1, N_LM * 3, HM * HM * N_LM],
        )?;
        let anchors = ssd_anchors(DET_N, &[8, 16, 32, 32, 32]);
        let mut result = Pose::default();
        result.keypoints.reserve(N_KP);
        result.world.reserve(N_KP);
        Ok(Self {
            filter: FilterBank::new(params.smoother(), N_KP * 6),
            params,
            detector,
            landmark,
            cands: Vec::with_capacity(anchors.len()),
            kept: Vec::with_capacity(1),
            used: Vec::with_capacity(anchors.len()),
            anchors,
            roi: None,
            result,
            detector_runs: 0,
        })
    }

    /// Searches `rgb` for a person: the whole frame letterboxed, then (if nobody is found,
    /// the frame is not square and `detector_tiles` is on) square crops of the short side
    /// along the long one, centre first; the region of the best person of the first pass
    /// that finds one.
    fn detect(&mut self, rgb: &[u8], w: u32, h: u32, t: &mut PoseTimings) -> Result<Option<Roi>> {
        self.detector_runs += 1;
        let m = Affine::letterbox(w, h, DET_N);
        if let Some(roi) = self.detect_in(rgb, w, h, &m, t)? {
            return Ok(Some(roi));
        }
        if !self.params.detector_tiles || w == h {
            return Ok(None);
        }
        let n = square_tiles(w, h);
        let (side, long) = (f64::from(w.min(h)), f64::from(w.max(h)));
        let mid = n / 2;
        for i in std::iter::once(mid).chain((0..n).filter(|&i| i != mid)) {
            let off = (long - side) * i as f64 / (n - 1) as f64;
            let (x0, y0) = if w > h { (off, 0.0) } else { (0.0, off) };
            let m = Affine::letterbox_rect(x0, y0, side, side, DET_N);
            if let Some(roi) = self.detect_in(rgb, w, h, &m, t)? {
                return Ok(Some(roi));
            }
        }
        Ok(None)
    }

    /// One detector pass on the part of `rgb` that `m` maps onto the 224×224 input.
    fn detect_in(
        &mut self,
        rgb: &[u8],
        w: u32,
        h: u32,
        m: &Affine,
        t: &mut PoseTimings,
    ) -> Result<Option<Roi>> {
        let t0 = Instant::now();
        warp_rgb(
            rgb,
            w as usize,
            h as usize,
            m,
            &mut self.detector.input,
            DET_N,
            1.0 / 127.5,
            -1.0,
            Border::Zero,
        );
        let t1 = Instant::now();
        self.detector.run().map_err(Error::stage)?;
        let t2 = Instant::now();
        decode(
            self.detector.out(0),
            self.detector.out(1),
            &self.anchors,
            12,
            4,
            DET_N as f32,
            self.params.min_detection_score as f32,
            &mut self.cands,
        );
        weighted_nms(&mut self.cands, NMS_IOU, 1, &mut self.used, &mut self.kept);
        let roi = self.kept.first().map(|d| {
            let n = DET_N as f64;
            let p0 = m.apply(f64::from(d.kps[0][0]) * n, f64::from(d.kps[0][1]) * n);
            let p1 = m.apply(f64::from(d.kps[1][0]) * n, f64::from(d.kps[1][1]) * n);
            Roi::from_alignment(p0, p1, ROI_SCALE)
        });
        let t3 = Instant::now();
        t.preprocess += ms(t1 - t0);
        t.ort += ms(t2 - t1);
        t.detect += ms(t3 - t1);
        Ok(roi)
    }

    /// Runs the landmark model on `roi`; the person score.
    fn landmarks(
        &mut self,
        rgb: &[u8],
        w: u32,
        h: u32,
        roi: &Roi,
        t: &mut PoseTimings,
    ) -> Result<f64> {
        let t0 = Instant::now();
        let m = roi.affine(LM_N);
        warp_rgb(
            rgb,
            w as usize,
            h as usize,
            &m,
            &mut self.landmark.input,
            LM_N,
            1.0 / 255.0,
            0.0,
            Border::Replicate,
        );
        let t1 = Instant::now();
        self.landmark.run().map_err(Error::stage)?;
        let t2 = Instant::now();
        t.preprocess += ms(t1 - t0);
        t.ort += ms(t2 - t1);
        t.landmark += ms(t2 - t1);
        Ok(f64::from(self.landmark.out(1)[0]))
    }

    /// Fills the result from the landmark outputs for `roi`; returns the next region.
    fn decode_landmarks(&mut self, roi: &Roi) -> Roi {
        let m = roi.affine(LM_N);
        let (lm, hm) = self.landmark.out_pair(0, 3);
        refine(lm, N_LM, 5, LM_N as f32, hm, HM, 7, 0.5);
        let lm = self.landmark.out(0);
        let world = self.landmark.out(2);
        let zk = roi.size / LM_N as f64;
        let (s, c) = roi.rot.sin_cos();
        let out = &mut self.result;
        out.keypoints.clear();
        out.world.clear();
        for (i, &id) in KEYPOINT_NAMES.iter().enumerate() {
            let p = &lm[i * 5..i * 5 + 5];
            let (x, y) = m.apply(f64::from(p[0]), f64::from(p[1]));
            let visibility = f64::from(sigmoid(p[3]));
            out.keypoints.push(Keypoint {
                id,
                x,
                y,
                z: f64::from(p[2]) * zk,
                score: f64::from(sigmoid(p[4])),
                visibility,
            });
            let q = &world[i * 3..i * 3 + 3];
            let (wx, wy) = (f64::from(q[0]), f64::from(q[1]));
            out.world.push(WorldPoint {
                id,
                x: c * wx - s * wy,
                y: s * wx + c * wy,
                z: f64::from(q[2]),
                visibility,
            });
        }
        let aux = |i: usize| m.apply(f64::from(lm[i * 5]), f64::from(lm[i * 5 + 1]));
        Roi::from_alignment(aux(33), aux(34), ROI_SCALE)
    }

    /// Smooths the keypoints and computes the angles.
    fn smooth(&mut self, t_s: f64) {
        let f = &mut self.filter;
        f.begin(t_s);
        for (i, (k, wp)) in self
            .result
            .keypoints
            .iter_mut()
            .zip(self.result.world.iter_mut())
            .enumerate()
        {
            let b = i * 6;
            k.x = f.apply(b, k.x);
            k.y = f.apply(b + 1, k.y);
            k.z = f.apply(b + 2, k.z);
            wp.x = f.apply(b + 3, wp.x);
            wp.y = f.apply(b + 4, wp.y);
            wp.z = f.apply(b + 5, wp.z);
        }
        let w = &self.result.world;
        let mut a = [None; 8];
        for (v, (_, [i, j, k])) in a.iter_mut().zip(JOINTS) {
            let p = |n: usize| [w[n].x, w[n].y, w[n].z];
            *v = angle_deg(p(i), p(j), p(k));
        }
        self.result.angles.set(a);
    }
}

impl Stage for PoseStage {
    type Params = PoseParams;

    const INFO: StageInfo = StageInfo {
        id: "pose",
        version: "0.1.0",
        description: "33 body keypoints, world coordinates and joint angles (MediaPipe BlazePose on ONNX Runtime)",
        namespace: Some("vision"),
        commands: &[],
    };

    fn new(params: PoseParams, _init: &StageInit) -> Result<Self> {
        Self::build(params).map_err(Error::stage)
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let t_s = ctx.frame().t_ns as f64 / 1e9;
        let mut t = PoseTimings::default();
        let rgb = ctx.rgb();
        let (w, h) = (rgb.width, rgb.height);
        let data = rgb.data;
        let mut detected = false;
        let mut valid = false;
        let mut score = 0.0;
        // At most two passes: the tracked region, then (if lost) the detector's.
        for _ in 0..2 {
            let roi = match self.roi {
                Some(r) => r,
                None => {
                    if detected {
                        break;
                    }
                    detected = true;
                    match self.detect(data, w, h, &mut t)? {
                        Some(r) => r,
                        None => break,
                    }
                }
            };
            score = self.landmarks(data, w, h, &roi, &mut t)?;
            if score >= self.params.min_tracking_score && roi.size > 1.0 {
                let t0 = Instant::now();
                self.roi = Some(self.decode_landmarks(&roi));
                t.landmark += ms(t0.elapsed());
                valid = true;
                break;
            }
            self.roi = None;
        }
        let t0 = Instant::now();
        if valid {
            self.smooth(t_s);
        } else {
            self.filter.reset();
            self.result.keypoints.clear();
            self.result.world.clear();
            self.result.angles = Angles::default();
        }
        t.smooth = ms(t0.elapsed());

        self.result.valid = valid;
        self.result.score = score;
        self.result.detected = detected;
        self.result.detector_runs = self.detector_runs;
        self.result.timings = t;
        for k in &self.result.keypoints {
            ctx.publish_point(k.id, k.x, k.y, k.visibility);
        }
        for (v, name) in self.result.angles.as_array().into_iter().zip(SIGNALS) {
            if let Some(v) = v {
                ctx.signal(name, v);
            }
        }
        // Field by field: a derived `clone_from` would allocate new vectors.
        let out = ctx.output::<Pose>();
        let r = &self.result;
        out.keypoints.clone_from(&r.keypoints);
        out.world.clone_from(&r.world);
        out.angles = r.angles;
        out.valid = r.valid;
        out.score = r.score;
        out.detected = r.detected;
        out.detector_runs = r.detector_runs;
        out.timings = r.timings;
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, params: PoseParams, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        let reload = params.model != self.params.model
            || params.threads != self.params.threads
            || params.models_dir != self.params.models_dir;
        if reload {
            *self = Self::build(params).map_err(Error::stage)?;
        } else {
            self.filter = FilterBank::new(params.smoother(), N_KP * 6);
            self.params = params;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.roi = None;
        self.filter.reset();
    }
}

/// How many square crops of the short side cover a `w`×`h` frame along its long side, each
/// overlapping the next by at least half: `2·⌈long/short⌉ − 1` (3 for 4:3 and 16:9).
pub fn square_tiles(w: u32, h: u32) -> usize {
    let (s, l) = (w.min(h).max(1), w.max(h));
    2 * l.div_ceil(s) as usize - 1
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn sigmoid(x: f32) -> f32 {
    super::detect::sigmoid(x)
}

framebus_core::register_stage!(PoseStage);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
