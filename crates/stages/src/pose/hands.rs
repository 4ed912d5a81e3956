//! `hands`: up to two hands, 21 keypoints each, with MediaPipe Hands run with ONNX Runtime.
//!
//! # How it works
//! - **Seed**: when a `pose` stage ran before this one on the frame (its result under
//!   `vision`) and fewer hands than `max_hands` are tracked, each wrist the pose sees
//!   (visibility > 0.5) gives a region from wrist, index and pinky, as MediaPipe Holistic does.
//! - **Detect** (only when fewer hands than `max_hands` are tracked after seeding, and, by
//!   default, only on frames where no pose was found: with a pose, hands come from its
//!   wrists alone, as in MediaPipe Holistic; `palm_with_pose = true` runs the palm detector
//!   beside the pose too, as MediaPipe Hands next to Pose does): the frame
//!   is letterboxed to 192×192 (RGB in [0, 1], sampled as MediaPipe does, see
//!   [`super::warp`]); the palm detector scores 2016 SSD anchors, detections above
//!   `min_detection_score` are merged by weighted non-max suppression. Each palm gives a
//!   region: turned so wrist (keypoint 0) → middle-finger base (keypoint 2) points up, moved
//!   by half the box height towards the fingers, square side 2.6 × the box's longer side.
//!   Palms whose region centre falls inside a tracked hand's region are skipped.
//! - **Landmarks**: each region is cropped to 224×224 and the landmark model gives 21 points
//!   in crop pixels, a presence probability, handedness and world coordinates in metres.
//! - **Track**: the next frame's region comes from this frame's points (MediaPipe's
//!   `HandLandmarksToRectCalculator`: rotation from the wrist to the middle of the index,
//!   middle and ring bases; the bounding box of 12 palm and finger-base points in that frame,
//!   scaled 2.0, moved 0.1 of its height towards the fingers). A hand whose presence falls
//!   below `min_tracking_score` is dropped.
//!
//! Result (namespace `hands`): `{"hands":[{"handedness":"left"|"right","handedness_score",
//! "score","keypoints":[{"id":"wrist","x","y","z"}…21],"world":[…21]}…], "detected",
//! "detector_runs","timings":{"preprocess","detect","landmark"}}`. x/y in image pixels, z
//! relative to the wrist in the same scale, world in metres (origin near the hand centre).
//! `handedness` is MediaPipe's label, which assumes a mirrored (selfie) image: on an unmirrored
//! photo "left" is the subject's right hand.
//!
//! # Parameters
//! - `model`: `"lite"` (default) or `"full"` landmark model; `palm`: `"lite"` (default) or
//!   `"full"` palm detector.
//! - `max_hands` (2), `min_detection_score` (0.5), `min_tracking_score` (0.5), `threads` (1),
//!   `models_dir` (as the `pose` stage), `palm_with_pose` (false).

use std::f64::consts::PI;
use std::time::Instant;

use framebus_core::prelude::*;

use super::anchors::ssd_anchors;
use super::blazepose::Pose;
use super::detect::{Detection, decode, weighted_nms};
use super::roi::{Roi, normalize_angle};
use super::runtime::{Model, models_dir};
use super::warp::{Affine, Border, warp_rgb};

/// Hand keypoint names, in model order.
pub const HAND_KEYPOINT_NAMES: [&str; 21] = [
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_finger_mcp",
    "index_finger_pip",
    "index_finger_dip",
    "index_finger_tip",
    "middle_finger_mcp",
    "middle_finger_pip",
    "middle_finger_dip",
    "middle_finger_tip",
    "ring_finger_mcp",
    "ring_finger_pip",
    "ring_finger_dip",
    "ring_finger_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
];

const PALM_N: usize = 192;
const HAND_N: usize = 224;
const N_HAND: usize = 21;
const PALM_ANCHORS: usize = 2016;
const NMS_IOU: f32 = 0.3;
/// Most hands the stage tracks.
const MAX_HANDS: usize = 4;
/// Points MediaPipe uses for the tracked region: wrist, thumb base, finger bases.
const ROI_POINTS: [usize; 12] = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];

/// Which model variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The smaller, faster model.
    #[default]
    Lite,
    /// The larger model.
    Full,
}

/// Params of [`HandsStage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HandsParams {
    /// Landmark model variant.
    pub model: Variant,
    /// Palm detector variant.
    pub palm: Variant,
    /// Most hands tracked at once.
    #[schemars(range(min = 1, max = 4))]
    pub max_hands: u32,
    /// Smallest palm score that starts tracking a hand.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_detection_score: f64,
    /// Smallest hand presence that keeps tracking it.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_tracking_score: f64,
    /// ONNX Runtime intra-op threads.
    #[schemars(range(min = 1, max = 64))]
    pub threads: u32,
    /// Folder with the model files (default: found beside the binary or in the source tree).
    pub models_dir: Option<String>,
    /// Also run the palm detector on frames where a pose was found (false: hands come from
    /// the pose's wrists only, as MediaPipe Holistic; the detector runs without a pose).
    pub palm_with_pose: bool,
}

impl Default for HandsParams {
    fn default() -> Self {
        Self {
            model: Variant::Lite,
            palm: Variant::Lite,
            max_hands: 2,
            min_detection_score: 0.5,
            min_tracking_score: 0.5,
            threads: 1,
            models_dir: None,
            palm_with_pose: false,
        }
    }
}

/// A hand keypoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct HandPoint {
    /// Name (`index_finger_tip`).
    pub id: &'static str,
    /// x (image pixels, or metres in `world`).
    pub x: f64,
    /// y (image pixels, or metres in `world`).
    pub y: f64,
    /// z (relative to the wrist in pixels, or metres in `world`).
    pub z: f64,
}

/// One hand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Hand {
    /// MediaPipe's label, `"left"` or `"right"` (selfie convention, see the module docs).
    pub handedness: &'static str,
    /// Probability of that label.
    pub handedness_score: f64,
    /// Hand presence probability.
    pub score: f64,
    /// 21 keypoints in image pixels.
    pub keypoints: [HandPoint; N_HAND],
    /// 21 keypoints in metres.
    pub world: [HandPoint; N_HAND],
}

/// Per-frame timings in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct HandTimings {
    /// Crops.
    pub preprocess: f64,
    /// Palm detector run and decoding (0 while every hand is tracked).
    pub detect: f64,
    /// Landmark runs and decoding.
    pub landmark: f64,
}

/// The result of [`HandsStage`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hands {
    /// The hands found (at most `max_hands`).
    pub hands: Vec<Hand>,
    /// The palm detector ran on this frame.
    pub detected: bool,
    /// Palm detector runs since the stage started.
    pub detector_runs: u64,
    /// Per-step timings of this frame.
    pub timings: HandTimings,
}

/// The MediaPipe Hands stage. See the [module docs](self).
pub struct HandsStage {
    params: HandsParams,
    palm: Model,
    landmark: Model,
    anchors: Vec<[f32; 2]>,
    cands: Vec<Detection>,
    kept: Vec<Detection>,
    used: Vec<bool>,
    /// Regions to run the landmark model on this frame.
    todo: Vec<Roi>,
    /// Regions tracked into the next frame.
    tracked: Vec<Roi>,
    result: Hands,
    detector_runs: u64,
}

impl HandsStage {
    /// Builds the stage from params (loads ONNX Runtime and both models).
    pub fn build(params: HandsParams) -> Result<Self, String> {
        let dir = models_dir(params.models_dir.as_deref());
        let threads = params.threads as usize;
        let palm_file = match params.palm {
            Variant::Lite => "palm_detection_lite.onnx",
            Variant::Full => "palm_detection.onnx",
        };
        let palm = Model::load(
            &dir.join(palm_file),
            threads,
            [1, PALM_N, PALM_N, 3],
            &[PALM_ANCHORS * 18, PALM_ANCHORS],
        )?;
        let lm_file = match params.model {
            Variant::Lite => "hand_landmark_lite.onnx",
            Variant::Full => "hand_landmark_full.onnx",
        };
        let landmark = Model::load(
            &dir.join(lm_file),
            threads,
            [1, HAND_N, HAND_N, 3],
            &[N_HAND * 3, 1, 1, N_HAND * 3],
        )?;
        let anchors = ssd_anchors(PALM_N, &[8, 16, 16, 16]);
        Ok(Self {
            params,
            palm,
            landmark,
            cands: Vec::with_capacity(anchors.len()),
            kept: Vec::with_capacity(MAX_HANDS),
            used: Vec::with_capacity(anchors.len()),
            anchors,
            todo: Vec::with_capacity(2 * MAX_HANDS + 2),
            tracked: Vec::with_capacity(MAX_HANDS),
            result: Hands {
                hands: Vec::with_capacity(MAX_HANDS),
                ..Hands::default()
            },
            detector_runs: 0,
        })
    }

    fn max_hands(&self) -> usize {
        (self.params.max_hands as usize).clamp(1, MAX_HANDS)
    }

    /// Whether `r`'s centre lies inside a tracked region (seeds and palms near each other are
    /// all run; hands that converge are merged after the landmark model).
    fn covered(&self, r: &Roi) -> bool {
        self.tracked.iter().any(|t| {
            let (s, c) = t.rot.sin_cos();
            let (dx, dy) = (r.cx - t.cx, r.cy - t.cy);
            let (u, v) = (c * dx + s * dy, -s * dx + c * dy);
            u.abs() < t.size / 2.0 && v.abs() < t.size / 2.0
        })
    }

    /// Queues regions around the wrists of a pose found earlier on this frame.
    fn seed_from_pose(&mut self, pose: &Pose) {
        if !pose.valid || pose.keypoints.len() < 23 {
            return;
        }
        // (wrist, pinky, index) of each side.
        for (w, p, i) in [(15, 17, 19), (16, 18, 20)] {
            let k = &pose.keypoints;
            if k[w].visibility < 0.5 {
                continue;
            }
            let (xm, ym) = ((2.0 * k[i].x + k[p].x) / 3.0, (2.0 * k[i].y + k[p].y) / 3.0);
            let (xw, yw) = (k[w].x, k[w].y);
            let roi = rect(
                (xw + xm) / 2.0,
                (yw + ym) / 2.0,
                2.0 * (xm - xw).hypot(ym - yw),
                2.0 * (xm - xw).hypot(ym - yw),
                angle_up((xw, yw), (xm, ym)),
                2.7,
                -0.1,
            );
            if roi.size > 4.0 && !self.covered(&roi) {
                self.todo.push(roi);
            }
        }
    }

    /// Runs the palm detector and queues new hands.
    fn detect(&mut self, rgb: &[u8], w: u32, h: u32, t: &mut HandTimings) -> Result<()> {
        let t0 = Instant::now();
        let m = Affine::letterbox(w, h, PALM_N);
        warp_rgb(
            rgb,
            w as usize,
            h as usize,
            &m,
            &mut self.palm.input,
            PALM_N,
            1.0 / 255.0,
            0.0,
            Border::Zero,
        );
        let t1 = Instant::now();
        self.palm.run().map_err(Error::stage)?;
        decode(
            self.palm.out(0),
            self.palm.out(1),
            &self.anchors,
            18,
            7,
            PALM_N as f32,
            self.params.min_detection_score as f32,
            &mut self.cands,
        );
        weighted_nms(
            &mut self.cands,
            NMS_IOU,
            MAX_HANDS,
            &mut self.used,
            &mut self.kept,
        );
        self.detector_runs += 1;
        let n = PALM_N as f64;
        for k in 0..self.kept.len() {
            let d = self.kept[k];
            let p = |i: usize| m.apply(f64::from(d.kps[i][0]) * n, f64::from(d.kps[i][1]) * n);
            let (cx, cy) = m.apply(f64::from(d.cx) * n, f64::from(d.cy) * n);
            let (bw, bh) = (f64::from(d.w) * n * m.a, f64::from(d.h) * n * m.a);
            let roi = rect(cx, cy, bw, bh, angle_up(p(0), p(2)), 2.6, -0.5);
            if roi.size > 4.0 && !self.covered(&roi) {
                self.todo.push(roi);
            }
        }
        let t2 = Instant::now();
        t.preprocess += ms(t1 - t0);
        t.detect += ms(t2 - t1);
        Ok(())
    }

    /// Runs the landmark model on `roi`; the hand if present, and its next region.
    fn landmarks(
        &mut self,
        rgb: &[u8],
        w: u32,
        h: u32,
        roi: &Roi,
        t: &mut HandTimings,
    ) -> Result<Option<(Hand, Roi)>> {
        let t0 = Instant::now();
        let m = roi.affine(HAND_N);
        warp_rgb(
            rgb,
            w as usize,
            h as usize,
            &m,
            &mut self.landmark.input,
            HAND_N,
            1.0 / 255.0,
            0.0,
            Border::Replicate,
        );
        let t1 = Instant::now();
        self.landmark.run().map_err(Error::stage)?;
        let score = f64::from(self.landmark.out(1)[0]);
        let out = if score >= self.params.min_tracking_score {
            let lm = self.landmark.out(0);
            let world = self.landmark.out(3);
            let p = f64::from(self.landmark.out(2)[0]);
            let zk = roi.size / HAND_N as f64;
            let (s, c) = roi.rot.sin_cos();
            let mut hand = Hand {
                handedness: if p > 0.5 { "left" } else { "right" },
                handedness_score: if p > 0.5 { p } else { 1.0 - p },
                score,
                ..Hand::default()
            };
            for (i, &id) in HAND_KEYPOINT_NAMES.iter().enumerate() {
                let (x, y) = m.apply(f64::from(lm[i * 3]), f64::from(lm[i * 3 + 1]));
                hand.keypoints[i] = HandPoint {
                    id,
                    x,
                    y,
                    z: f64::from(lm[i * 3 + 2]) * zk,
                };
                let (wx, wy) = (f64::from(world[i * 3]), f64::from(world[i * 3 + 1]));
                hand.world[i] = HandPoint {
                    id,
                    x: c * wx - s * wy,
                    y: s * wx + c * wy,
                    z: f64::from(world[i * 3 + 2]),
                };
            }
            Some((hand, next_roi(&hand.keypoints)))
        } else {
            None
        };
        let t2 = Instant::now();
        t.preprocess += ms(t1 - t0);
        t.landmark += ms(t2 - t1);
        Ok(out)
    }
}

/// Rotation that turns `p0 → p1` upright (MediaPipe's target angle 90°).
fn angle_up(p0: (f64, f64), p1: (f64, f64)) -> f64 {
    normalize_angle(PI / 2.0 - (-(p1.1 - p0.1)).atan2(p1.0 - p0.0))
}

/// MediaPipe's `RectTransformationCalculator` on a `w`×`h` rect at `(cx, cy)` turned by `rot`:
/// moved by `shift_y · h` along its own y axis, made square on its longer side, scaled.
fn rect(cx: f64, cy: f64, w: f64, h: f64, rot: f64, scale: f64, shift_y: f64) -> Roi {
    let (s, c) = rot.sin_cos();
    Roi {
        cx: cx - h * shift_y * s,
        cy: cy + h * shift_y * c,
        size: w.max(h) * scale,
        rot,
    }
}

/// The next frame's region from a hand's keypoints (`HandLandmarksToRectCalculator`, then
/// scale 2.0 and shift −0.1 as MediaPipe's hand tracking).
fn next_roi(k: &[HandPoint; N_HAND]) -> Roi {
    let p = |i: usize| (k[i].x, k[i].y);
    let (x0, y0) = p(0);
    let x1 = ((k[5].x + k[13].x) / 2.0 + k[9].x) / 2.0;
    let y1 = ((k[5].y + k[13].y) / 2.0 + k[9].y) / 2.0;
    let rot = angle_up((x0, y0), (x1, y1));
    let (s, c) = rot.sin_cos();
    // Bounding box in the frame turned by −rot.
    let (mut lo, mut hi) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
    for &i in &ROI_POINTS {
        let (x, y) = p(i);
        let (u, v) = (c * x + s * y, -s * x + c * y);
        lo = (lo.0.min(u), lo.1.min(v));
        hi = (hi.0.max(u), hi.1.max(v));
    }
    let (u, v) = ((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0);
    let (cx, cy) = (c * u - s * v, s * u + c * v);
    rect(cx, cy, hi.0 - lo.0, hi.1 - lo.1, rot, 2.0, -0.1)
}

impl Stage for HandsStage {
    type Params = HandsParams;

    const INFO: StageInfo = StageInfo {
        id: "hands",
        version: "0.1.0",
        description: "Up to two hands, 21 keypoints each, handedness and world coordinates (MediaPipe Hands on ONNX Runtime)",
        namespace: Some("hands"),
        commands: &[],
    };

    fn new(params: HandsParams, _init: &StageInit) -> Result<Self> {
        Self::build(params).map_err(Error::stage)
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let mut t = HandTimings::default();
        self.todo.clear();
        self.todo.extend_from_slice(&self.tracked);
        // The seeds' and palms' regions (at most 2 + `MAX_HANDS`) follow the tracked ones.
        let mut posed = false;
        if let Some(pose) = ctx.get::<Pose>("vision") {
            posed = pose.valid;
            if self.todo.len() < self.max_hands() {
                self.seed_from_pose(pose);
            }
        }
        let rgb = ctx.rgb();
        let (w, h) = (rgb.width, rgb.height);
        let data = rgb.data;
        let mut detected = false;
        if self.todo.len() < self.max_hands() && (!posed || self.params.palm_with_pose) {
            detected = true;
            self.detect(data, w, h, &mut t)?;
        }
        self.tracked.clear();
        self.result.hands.clear();
        for k in 0..self.todo.len() {
            if self.result.hands.len() >= self.max_hands() {
                break;
            }
            let roi = self.todo[k];
            if roi.size <= 1.0 {
                continue;
            }
            if let Some((hand, next)) = self.landmarks(data, w, h, &roi, &mut t)? {
                // Two regions that converged on one hand: keep the first.
                let dup = self.result.hands.iter().any(|o| {
                    let (a, b) = (o.keypoints[9], hand.keypoints[9]);
                    (a.x - b.x).hypot(a.y - b.y) < next.size * 0.1
                });
                if !dup {
                    self.result.hands.push(hand);
                    self.tracked.push(next);
                }
            }
        }
        self.result.detected = detected;
        self.result.detector_runs = self.detector_runs;
        self.result.timings = t;
        let out = ctx.output::<Hands>();
        out.hands.clone_from(&self.result.hands);
        out.detected = self.result.detected;
        out.detector_runs = self.result.detector_runs;
        out.timings = self.result.timings;
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, params: HandsParams, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        let reload = params.model != self.params.model
            || params.palm != self.params.palm
            || params.threads != self.params.threads
            || params.models_dir != self.params.models_dir;
        if reload {
            *self = Self::build(params).map_err(Error::stage)?;
        } else {
            self.params = params;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.tracked.clear();
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

framebus_core::register_stage!(HandsStage);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
