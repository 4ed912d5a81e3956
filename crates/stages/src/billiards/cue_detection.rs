//! `cue_detection`: the cue stick's line, tip and aim angle when it is over the table.
//!
//! # How it works
//! Inside the playing area (every second pixel of every second row), pixels that are not
//! felt, not inside a detected ball (with a margin for blur), not in a pocket mouth and not
//! at the cushion are cue candidates. Their principal axis (second moments) is the stick's
//! line; a second pass keeps the candidates within `max_width` of that line and fits again.
//! The stick is reported when it is long and thin enough. Its ends along the axis are found
//! from the kept pixels: the tip is the end further inside the table (the butt enters over
//! a rail), and the aim is the direction butt → tip, in table metres through the homography.
//!
//! Result (namespace `cue_detection`): [`CueDetection`].

use framebus_core::prelude::*;

use super::ball_detection::DetectedBalls;
use super::table_detection::TableGeometry;

/// Params of [`CueDetection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CueDetectionParams {
    /// Namespace of the table geometry.
    pub table_from: String,
    /// Namespace of the detected balls.
    pub balls_from: String,
    /// Chromaticity distance (L1) from the felt above which a pixel is not felt.
    #[schemars(range(min = 0.02, max = 1))]
    pub chroma_threshold: f64,
    /// Shortest visible stick over the table, metres.
    #[schemars(range(min = 0.01, max = 2))]
    pub min_length_m: f64,
    /// Widest stick, metres (pixels further from the line are not the stick).
    #[schemars(range(min = 0.005, max = 0.1))]
    pub max_width_m: f64,
}

impl Default for CueDetectionParams {
    fn default() -> Self {
        Self {
            table_from: "table_detection".into(),
            balls_from: "ball_detection".into(),
            chroma_threshold: 0.12,
            min_length_m: 0.08,
            max_width_m: 0.035,
        }
    }
}

/// The cue stick in one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CueDetection {
    /// A stick is over the table.
    pub visible: bool,
    /// Tip, pixels.
    pub tip_px: [f64; 2],
    /// Where the visible part ends on the butt side, pixels.
    pub butt_px: [f64; 2],
    /// Aim (butt → tip), degrees, `atan2(dy, dx)` in the table frame.
    pub angle_deg: f64,
    /// Aim in image axes, degrees.
    pub angle_px_deg: f64,
    /// Tip in table metres.
    pub tip_m: [f64; 2],
    /// Visible length over the table, pixels.
    pub length_px: f64,
}

/// Finds the cue stick. See the [module docs](self).
pub struct CueDetectionStage {
    params: CueDetectionParams,
    pts: Vec<[f32; 2]>,
    balls: Vec<[f64; 3]>,
}

#[derive(Default)]
struct Moments {
    n: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
    syy: f64,
}

impl Moments {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.sxy += x * y;
        self.syy += y * y;
    }
    /// (mean, unit axis, major/minor variance ratio).
    fn axis(&self) -> Option<([f64; 2], [f64; 2], f64)> {
        if self.n < 3.0 {
            return None;
        }
        let (mx, my) = (self.sx / self.n, self.sy / self.n);
        let cxx = self.sxx / self.n - mx * mx;
        let cyy = self.syy / self.n - my * my;
        let cxy = self.sxy / self.n - mx * my;
        let tr = cxx + cyy;
        let disc = ((cxx - cyy).powi(2) / 4.0 + cxy * cxy).sqrt();
        let (l1, l2) = (tr / 2.0 + disc, tr / 2.0 - disc);
        let theta = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
        Some(([mx, my], [theta.cos(), theta.sin()], l1 / l2.max(1e-6)))
    }
}

impl Stage for CueDetectionStage {
    type Params = CueDetectionParams;

    const INFO: StageInfo = StageInfo {
        id: "cue_detection",
        version: "0.1.0",
        description: "The cue stick's line, tip and aim angle over a pool table",
        namespace: Some("cue_detection"),
        commands: &[],
    };

    fn new(params: CueDetectionParams, _init: &StageInit) -> Result<Self> {
        Ok(Self {
            params,
            pts: Vec::with_capacity(1 << 16),
            balls: Vec::with_capacity(64),
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let mut out = CueDetection::default();
        let table = match ctx.get::<TableGeometry>(&self.params.table_from) {
            Some(t) if t.found => t.clone(),
            _ => {
                *ctx.output::<CueDetection>() = out;
                return Ok(Flow::Continue);
            }
        };
        self.balls.clear();
        if let Some(b) = ctx.get::<DetectedBalls>(&self.params.balls_from) {
            self.balls.extend(b.balls.iter().map(|b| [b.x, b.y, b.r]));
        }
        let s = table.px_per_m;
        let pocket_r = 0.075 * s;
        let felt = table.felt;
        let fs = (felt[0] + felt[1] + felt[2]).max(1.0);
        let fc = [felt[0] / fs, felt[1] / fs, felt[2] / fs];
        let view = ctx.rgb();
        let (w, h) = (view.width as usize, view.height as usize);
        let [bx0, by0, bx1, by1] = table.bounds;
        let x0 = bx0.max(0.0) as usize;
        let x1 = (bx1.max(0.0) as usize).min(w - 1);
        let y0 = by0.max(0.0) as usize;
        let y1 = (by1.max(0.0) as usize).min(h - 1);
        self.pts.clear();
        let mut mo = Moments::default();
        for y in (y0..=y1).step_by(2) {
            for x in (x0..=x1).step_by(2) {
                let i = 3 * (y * w + x);
                let p = [
                    f64::from(view.data[i]),
                    f64::from(view.data[i + 1]),
                    f64::from(view.data[i + 2]),
                ];
                let ps = (p[0] + p[1] + p[2]).max(1.0);
                let d = (p[0] / ps - fc[0]).abs()
                    + (p[1] / ps - fc[1]).abs()
                    + (p[2] / ps - fc[2]).abs();
                let q = ps / fs;
                if d <= self.params.chroma_threshold && (0.45..=1.6).contains(&q) {
                    continue;
                }
                let (fx, fy) = (x as f64, y as f64);
                if table.inside_by_px([fx, fy]) < 3.0 {
                    continue;
                }
                if self
                    .balls
                    .iter()
                    .any(|b| (b[0] - fx).hypot(b[1] - fy) < b[2] * 1.25 + 2.0)
                {
                    continue;
                }
                if table
                    .pockets
                    .iter()
                    .any(|c| (c[0] - fx).hypot(c[1] - fy) < pocket_r)
                {
                    continue;
                }
                mo.add(fx, fy);
                self.pts.push([x as f32, y as f32]);
            }
        }
        let half_w = 0.5 * self.params.max_width_m * s;
        let min_len = self.params.min_length_m * s;
        if let Some((m, u, _)) = mo.axis() {
            // Keep the pixels near the line, fit again.
            let mut m2 = Moments::default();
            for p in &self.pts {
                let (dx, dy) = (f64::from(p[0]) - m[0], f64::from(p[1]) - m[1]);
                if (dx * u[1] - dy * u[0]).abs() <= half_w {
                    m2.add(f64::from(p[0]), f64::from(p[1]));
                }
            }
            if let Some((m, u, ratio)) = m2.axis() {
                let (mut tmin, mut tmax) = (f64::MAX, f64::MIN);
                for p in &self.pts {
                    let (dx, dy) = (f64::from(p[0]) - m[0], f64::from(p[1]) - m[1]);
                    if (dx * u[1] - dy * u[0]).abs() <= half_w {
                        let t = dx * u[0] + dy * u[1];
                        tmin = tmin.min(t);
                        tmax = tmax.max(t);
                    }
                }
                let len = tmax - tmin;
                if len >= min_len && ratio > 25.0 && m2.n >= 20.0 {
                    let a = [m[0] + u[0] * (tmin - 1.0), m[1] + u[1] * (tmin - 1.0)];
                    let b = [m[0] + u[0] * (tmax + 1.0), m[1] + u[1] * (tmax + 1.0)];
                    let (tip, butt) = if table.inside_by_px(a) > table.inside_by_px(b) {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    let tm = table.to_metres(tip);
                    let bm = table.to_metres(butt);
                    out = CueDetection {
                        visible: true,
                        tip_px: tip,
                        butt_px: butt,
                        angle_deg: (tm[1] - bm[1]).atan2(tm[0] - bm[0]).to_degrees(),
                        angle_px_deg: (tip[1] - butt[1]).atan2(tip[0] - butt[0]).to_degrees(),
                        tip_m: tm,
                        length_px: len,
                    };
                }
            }
        }
        *ctx.output::<CueDetection>() = out;
        if out.visible {
            ctx.signal("cue_angle_deg", out.angle_deg);
        }
        Ok(Flow::Continue)
    }
}

framebus_core::register_stage!(CueDetectionStage);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
