//! `ball_detection`: pool balls of the known radius in a frame, with sub-pixel centres and
//! their identity by colour (cue, 8, solids 1–7, stripes 9–15) and a confidence.
//!
//! # How it works
//! Inside the playing area found by `table_detection`, a pixel is "not felt" when its
//! chromaticity is far from the felt's or it is much darker or brighter. Beyond it only the
//! pocket mouths and holes are searched (`pocket_jaws`): a ball resting in the jaws has its
//! centre past the cushion nose, and one can be seen over the hole. There the darker bed
//! between the jaws counts as felt, the hole's near-black pixels count as background (so a
//! ball beside it is a blob of its own; an 8 ball over the hole is lost in it), peaks over
//! the hole may be shallower (a ball half behind the rail), and a ball needs its edge on at
//! least 28 % of its rays (the cue stick over a hole fits a circle to a few). A chamfer distance
//! transform of that mask (on every second pixel when the ball radius is 20 px or more)
//! peaks at ball centres (touching balls, a whole rack, still give one
//! peak each); peaks at least 0.6 R deep, at most 1.45 R (pockets are wider), kept greedily
//! at least 1.3 R apart, are the candidates. Each is refined on 48 rays: along a ray the
//! colour goes from the ball's edge colour `B` to whatever lies outside `F`; the coverage of
//! each sample is its projection on `B − F` (exact for the linear mixing of an edge pixel, so
//! neither shading nor the specular highlight, which sit inside the disc, move it), and the
//! edge is where coverage crosses one half. A circle fitted to the edge points (algebraic fit,
//! refitted without points more than a pixel off: a touching ball, the cue) gives the centre
//! and radius. Motion blur turns the disc into a symmetric smear whose half-coverage outline
//! is centred on the mid-exposure position.
//!
//! Identity: pixels within 0.75 r of the centre are counted as white, dark or coloured; the
//! mean chromaticity of the coloured ones is compared with the `palette` of the seven ball
//! colours, the white fraction tells stripes from solids and the cue ball, the dark fraction
//! finds the 8. A rim annulus (0.80–0.93 r) is read too: a stripe whose axis points at the
//! camera shows a white cap like the cue ball, with its colour band only at the rim, so rim
//! colour counts against the cue ball and names such a stripe. Costs of every ball against the 16 identities are assigned one-to-one with
//! the Hungarian algorithm; the confidence is how much better the chosen identity is than the
//! detection's next best.
//!
//! Result (namespace `ball_detection`): [`DetectedBalls`].

use framebus_core::prelude::*;

use super::assign::Hungarian;
use super::ball_edges::{
    Img, chamfer, chroma_of, fit_circle, l1, ray_edge, ray_edge_narrow, solve3,
};
use super::geometry::LABELS;
use super::pocket_jaws::{self, HOLE, JAW, JawRegion, PLAY};
use super::table_detection::TableGeometry;

/// `DetectedBall::number` of a ball whose identity is unknown.
pub const UNKNOWN: u8 = 16;
/// Cost above which a ball is left unnamed (high: only a ball that fits no identity at all;
/// a lower value would also catch stripes showing mostly white while the cue ball is down,
/// but then misses real balls under heavy blur — to be tuned).
const UNKNOWN_COST: f64 = 6.0;

/// Ball radius (px) from which candidates are searched on every second pixel.
const COARSE_RADIUS_PX: f64 = 20.0;

/// Rays per ball for the edge fit.
const RAYS: usize = 64;

/// Least fraction of rays on the fitted rim for a ball past the cushion nose.
const JAW_SUPPORT: f64 = 0.28;

/// Inside a pocket circle, a pixel whose brightest channel is at most this is the hole.
const HOLE_DARK: f64 = 40.0;

/// Params of [`BallDetection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BallDetectionParams {
    /// Namespace of the table geometry.
    pub table_from: String,
    /// Chromaticity distance (L1) from the felt above which a pixel is not felt.
    #[schemars(range(min = 0.02, max = 1))]
    pub chroma_threshold: f64,
    /// Ball colours 1–7 (RGB): yellow, blue, red, purple, orange, green, maroon.
    pub palette: [[u8; 3]; 7],
    /// At most this many balls.
    #[schemars(range(min = 1, max = 64))]
    pub max_balls: u32,
    /// Read the rim annulus for identity: rim colour counts against the cue ball and names a
    /// stripe seen along its axis (white cap, band at the rim only).
    pub rim_identity: bool,
}

impl Default for BallDetectionParams {
    fn default() -> Self {
        Self {
            table_from: "table_detection".into(),
            chroma_threshold: 0.12,
            palette: [
                [240, 195, 25],
                [25, 60, 180],
                [205, 30, 30],
                [95, 40, 140],
                [245, 115, 25],
                [20, 125, 50],
                [125, 28, 38],
            ],
            max_balls: 24,
            rim_identity: true,
        }
    }
}

/// One detected ball.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DetectedBall {
    /// Identity: "cue", "1" … "15", or "?" when no free identity fits.
    pub label: &'static str,
    /// Ball number (0 = cue; [`UNKNOWN`] = unknown).
    pub number: u8,
    /// Centre x, pixels.
    pub x: f64,
    /// Centre y, pixels.
    pub y: f64,
    /// Fitted radius, pixels.
    pub r: f64,
    /// Centre in table metres.
    pub m: [f64; 2],
    /// Confidence of the identity, 0–1.
    pub confidence: f64,
    /// Fraction of the rays that found the edge.
    pub edge_support: f64,
}

/// The result of [`BallDetection`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DetectedBalls {
    /// Balls found this frame.
    pub balls: Vec<DetectedBall>,
    /// `balls.len()`.
    pub count: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Features {
    white: f64,
    dark: f64,
    chroma: [f64; 3],
    coloured: f64,
    /// Mean R+G+B of the coloured pixels.
    bright: f64,
    /// Fraction of the rim annulus (0.80–0.93 r) that is saturated colour far from the felt:
    /// a stripe seen along its axis shows its band only there (its cap is white, like the
    /// cue ball's).
    rim_coloured: f64,
    /// Mean chromaticity of those rim pixels.
    rim_chroma: [f64; 3],
    /// Their mean R+G+B.
    rim_bright: f64,
}

/// Detects balls. See the [module docs](self).
pub struct BallDetection {
    params: BallDetectionParams,
    mask: Vec<u8>,
    dt: Vec<u16>,
    jaws: JawRegion,
    peaks: Vec<(u16, u32, u32)>,
    found: Vec<DetectedBall>,
    feats: Vec<Features>,
    edge: Vec<[f64; 2]>,
    cost: Vec<f64>,
    hungarian: Hungarian,
    assignment: Vec<usize>,
    pal_chroma: [[f64; 3]; 7],
    pal_sum: [f64; 7],
}

impl BallDetection {
    fn not_felt(&self, p: [f64; 3], felt_c: [f64; 3], felt_s: f64) -> bool {
        let (c, s) = chroma_of(p);
        let q = s / felt_s;
        l1(c, felt_c) > self.params.chroma_threshold || !(0.45..=1.6).contains(&q)
    }

    /// [`Self::not_felt`] in a pocket's mouth: the bed between the jaws is darker felt
    /// (shaded by the rails), so only a colour unlike the felt or a near-black pixel counts.
    fn not_felt_in_jaws(&self, p: [f64; 3], felt_c: [f64; 3], felt_s: f64) -> bool {
        let (c, s) = chroma_of(p);
        let q = s / felt_s;
        l1(c, felt_c) > self.params.chroma_threshold || !(0.2..=1.6).contains(&q)
    }

    /// Whether the sample `p` of a region labelled `label` (see [`pocket_jaws`]) may be part
    /// of a ball: not felt; in a pocket hole also not dark (the hole itself; an 8 ball hanging
    /// over the hole is lost in it).
    fn ball_sample(&self, label: u8, p: [f64; 3], felt_c: [f64; 3], felt_s: f64) -> bool {
        match label {
            PLAY => self.not_felt(p, felt_c, felt_s),
            JAW => self.not_felt_in_jaws(p, felt_c, felt_s),
            HOLE => {
                p[0].max(p[1]).max(p[2]) > HOLE_DARK && self.not_felt_in_jaws(p, felt_c, felt_s)
            }
            _ => false,
        }
    }

    /// Refines a candidate centre; returns (x, y, r, support) or `None`. A first pass with
    /// a wide search finds the ball roughly; two narrow passes around the radius found fit
    /// centre and radius to the rays that agree (rays into a touching ball or the cue
    /// disagree and are dropped).
    fn refine(
        &mut self,
        img: &Img<'_>,
        (cx, cy, r): (f64, f64, f64),
        felt: ([f64; 3], f64),
    ) -> Option<(f64, f64, f64, f64)> {
        let (mut x, mut y) = (cx, cy);
        self.edge.clear();
        for k in 0..RAYS {
            let a = k as f64 * std::f64::consts::TAU / RAYS as f64;
            let (dx, dy) = (a.cos(), a.sin());
            if let Some(e) = ray_edge(img, x, y, dx, dy, r) {
                self.edge.push([x + e * dx, y + e * dy]);
            }
        }
        let (fx, fy, fr) = fit_circle(&mut self.edge)?;
        if !(0.7 * r..=1.6 * r).contains(&fr) {
            return None;
        }
        if (fx - cx).hypot(fy - cy) < 0.5 * r {
            x = fx;
            y = fy;
        }
        let mut rho = r;
        let mut support = 0.0;
        for thr in [2.5, 1.0, 0.5, 0.4] {
            // Prefer rays with felt outside (not a touching ball or the cue) when there are
            // enough of them.
            let felt_rays = (0..RAYS)
                .filter(|&k| {
                    let t = k as f64 * std::f64::consts::TAU / RAYS as f64;
                    img.sample(x + (rho + 3.0) * t.cos(), y + (rho + 3.0) * t.sin())
                        .is_some_and(|p| !self.not_felt(p, felt.0, felt.1))
                })
                .count();
            let only_felt = felt_rays >= RAYS / 3;
            // e_i ≈ ρ + δx·cos θ + δy·sin θ for a circle centred at (x + δx, y + δy).
            let mut a = [[0.0f64; 3]; 3];
            let mut b = [0.0f64; 3];
            let mut n = 0usize;
            for k in 0..RAYS {
                let t = k as f64 * std::f64::consts::TAU / RAYS as f64;
                let (dx, dy) = (t.cos(), t.sin());
                if only_felt {
                    let outside = img.sample(x + (rho + 3.0) * dx, y + (rho + 3.0) * dy);
                    if outside.is_none_or(|p| self.not_felt(p, felt.0, felt.1)) {
                        continue;
                    }
                }
                let Some(e) = ray_edge_narrow(img, x, y, dx, dy, rho) else {
                    continue;
                };
                if (e - rho).abs() > thr {
                    continue;
                }
                let row = [1.0, dx, dy];
                for i in 0..3 {
                    for j in 0..3 {
                        a[i][j] += row[i] * row[j];
                    }
                    b[i] += row[i] * e;
                }
                n += 1;
            }
            if n < RAYS / 6 {
                return None;
            }
            let sol = solve3(a, b)?;
            rho = sol[0];
            x += sol[1];
            y += sol[2];
            support = n as f64 / RAYS as f64;
        }
        if !(0.75 * r..=1.4 * r).contains(&rho) {
            return None;
        }
        Some((x, y, rho, support))
    }

    fn features(&self, img: &Img<'_>, x: f64, y: f64, r: f64, felt_c: [f64; 3]) -> Features {
        let rr = 0.75 * r;
        let (rim_in, rim_out) = (0.80 * r, 0.93 * r);
        let (x0, x1) = (
            (x - rim_out).ceil().max(0.0) as usize,
            (x + rim_out).floor().min((img.w - 1) as f64) as usize,
        );
        let (y0, y1) = (
            (y - rim_out).ceil().max(0.0) as usize,
            (y + rim_out).floor().min((img.h - 1) as f64) as usize,
        );
        let (mut n, mut white, mut dark, mut col) = (0.0, 0.0, 0.0, 0.0);
        let mut ch = [0.0; 3];
        let mut bright = 0.0;
        let (mut rim_n, mut rim_col, mut rim_bright) = (0.0, 0.0, 0.0);
        let mut rim_ch = [0.0; 3];
        for py in y0..=y1 {
            for px in x0..=x1 {
                let (dx, dy) = (px as f64 - x, py as f64 - y);
                let d2 = dx * dx + dy * dy;
                if d2 > rr * rr {
                    if d2 >= rim_in * rim_in && d2 <= rim_out * rim_out {
                        rim_n += 1.0;
                        let p = img.at(px, py);
                        let mx = p[0].max(p[1]).max(p[2]);
                        let mn = p[0].min(p[1]).min(p[2]);
                        let (c, sum) = chroma_of(p);
                        // Saturated and unlike the felt (a blur of white into felt is neither).
                        if mx > 45.0 && mx - mn > 0.35 * mx && l1(c, felt_c) > 0.25 {
                            rim_col += 1.0;
                            rim_bright += sum;
                            for k in 0..3 {
                                rim_ch[k] += c[k];
                            }
                        }
                    }
                    continue;
                }
                n += 1.0;
                let p = img.at(px, py);
                let mx = p[0].max(p[1]).max(p[2]);
                let mn = p[0].min(p[1]).min(p[2]);
                if mx < 70.0 {
                    dark += 1.0;
                } else if mx - mn < 0.22 * mx && mx > 110.0 {
                    white += 1.0;
                } else {
                    let (c, sum) = chroma_of(p);
                    bright += sum;
                    for k in 0..3 {
                        ch[k] += c[k];
                    }
                    col += 1.0;
                }
            }
        }
        let n = f64::max(n, 1.0);
        Features {
            white: white / n,
            dark: dark / n,
            chroma: if col > 0.0 {
                [ch[0] / col, ch[1] / col, ch[2] / col]
            } else {
                [1.0 / 3.0; 3]
            },
            coloured: col / n,
            bright: if col > 0.0 { bright / col } else { 0.0 },
            rim_coloured: rim_col / f64::max(rim_n, 1.0),
            rim_chroma: if rim_col > 0.0 {
                [
                    rim_ch[0] / rim_col,
                    rim_ch[1] / rim_col,
                    rim_ch[2] / rim_col,
                ]
            } else {
                [1.0 / 3.0; 3]
            },
            rim_bright: if rim_col > 0.0 {
                rim_bright / rim_col
            } else {
                0.0
            },
        }
    }

    /// Cost of identity `number` for features `f` (lower is better).
    fn cost(&self, f: &Features, number: usize) -> f64 {
        let rim = if self.params.rim_identity {
            f.rim_coloured
        } else {
            0.0
        };
        match number {
            0 => 3.0 * (1.0 - f.white) + 2.0 * f.dark + 6.0 * f.coloured + 8.0 * rim,
            8 => 3.0 * (1.0 - f.dark - 0.5 * f.white.min(0.2)) + f.coloured,
            n => {
                let k = if n > 8 { n - 9 } else { n - 1 };
                let stripe = n > 8;
                // A stripe seen along its axis: white cap, band at the rim only.
                let cap = stripe && f.coloured < 0.1 && rim > 0.15;
                let (chroma, bright) = if cap {
                    (f.rim_chroma, f.rim_bright)
                } else {
                    (f.chroma, f.bright)
                };
                let ratio = (bright / self.pal_sum[k]).max(1e-3) / 0.85;
                let colour =
                    4.0 * l1(chroma, self.pal_chroma[k]) + 2.0 * f.dark + 1.5 * ratio.ln().abs();
                let ty = if cap {
                    0.0
                } else if stripe {
                    4.0 * (0.27 - f.white).max(0.0) + 2.0 * (f.white - 0.85).max(0.0)
                } else {
                    4.0 * (f.white - 0.22).max(0.0)
                };
                colour + ty + if f.coloured < 0.1 && !cap { 2.0 } else { 0.0 }
            }
        }
    }
}

impl Stage for BallDetection {
    type Params = BallDetectionParams;

    const INFO: StageInfo = StageInfo {
        id: "ball_detection",
        version: "0.1.0",
        description: "Pool balls of the known radius: sub-pixel centres from edge fits and identity by colour",
        namespace: Some("ball_detection"),
        commands: &[],
    };

    fn new(params: BallDetectionParams, _init: &StageInit) -> Result<Self> {
        let mut pal_chroma = [[0.0; 3]; 7];
        let mut pal_sum = [0.0; 7];
        for (k, c) in params.palette.iter().enumerate() {
            (pal_chroma[k], pal_sum[k]) =
                chroma_of([f64::from(c[0]), f64::from(c[1]), f64::from(c[2])]);
        }
        Ok(Self {
            params,
            mask: Vec::new(),
            dt: Vec::new(),
            jaws: JawRegion::default(),
            peaks: Vec::with_capacity(4096),
            found: Vec::with_capacity(64),
            feats: Vec::with_capacity(64),
            edge: Vec::with_capacity(RAYS),
            cost: Vec::with_capacity(64 * 16),
            hungarian: Hungarian::default(),
            assignment: Vec::with_capacity(64),
            pal_chroma,
            pal_sum,
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        self.found.clear();
        let table = match ctx.get::<TableGeometry>(&self.params.table_from) {
            Some(t) if t.found => t.clone(),
            _ => {
                let out = ctx.output::<DetectedBalls>();
                out.balls.clear();
                out.count = 0;
                return Ok(Flow::Continue);
            }
        };
        let view = ctx.rgb();
        let img = Img {
            rgb: view.data,
            w: view.width as usize,
            h: view.height as usize,
            lens: table.lens,
        };
        let r = table.ball_radius_px;
        let (felt_c, felt_s) = chroma_of(table.felt);
        // Region of interest: the playing area's bounding box grown to the pocket holes (a
        // ball resting in a pocket's jaws has its centre past the cushion nose; one can be
        // seen over the hole); outside the playing area only the pocket mouths and holes are
        // searched (`pocket_jaws`).
        let reach = pocket_jaws::reach_m();
        let grow = |m: f64| (m * table.px_per_m).ceil() + 2.0;
        let (gx, gy) = (grow(reach[0]), grow(reach[1]));
        let [bx0, by0, bx1, by1] = table.bounds;
        let x0 = (bx0 - gx).floor().max(1.0) as usize;
        let x1 = ((bx1 + gx).ceil().max(0.0) as usize).min(img.w - 2);
        let y0 = (by0 - gy).floor().max(1.0) as usize;
        let y1 = ((by1 + gy).ceil().max(0.0) as usize).min(img.h - 2);
        if x1 <= x0 + 4 || y1 <= y0 + 4 {
            return Ok(Flow::Continue);
        }
        let (rw, rh) = (x1 - x0 + 1, y1 - y0 + 1);
        // Room for the whole image once: a redetected table a pixel larger must not regrow.
        let full = img.w * img.h;
        if self.mask.capacity() < full {
            self.mask.reserve_exact(full - self.mask.len());
        }
        if self.dt.capacity() < full {
            self.dt.reserve_exact(full - self.dt.len());
        }
        // Large balls (1080p: r ≈ 24 px) are found on every second pixel — a quarter of the
        // work; the candidates only seed the full-resolution edge fit.
        let step = if r >= COARSE_RADIUS_PX { 2 } else { 1 };
        let (rw, rh) = (rw.div_ceil(step), rh.div_ceil(step));
        self.mask.resize(rw * rh, 0);
        self.dt.resize(rw * rh, 0);
        self.jaws.update(&table, (x0, y0), (rw, rh), step);
        let mut mask = std::mem::take(&mut self.mask);
        for y in 0..rh {
            let labels = &self.jaws.labels()[y * rw..(y + 1) * rw];
            for (x, (m, &label)) in mask[y * rw..(y + 1) * rw]
                .iter_mut()
                .zip(labels)
                .enumerate()
            {
                let p = img.at(x0 + step * x, y0 + step * y);
                *m = u8::from(self.ball_sample(label, p, felt_c, felt_s));
            }
        }
        self.mask = mask;
        chamfer(&self.mask, &mut self.dt, rw, rh);
        // Peaks of the distance transform (chamfer units: 3 per mask pixel).
        let rm = r / step as f64;
        let (lo, hi) = ((0.6 * rm * 3.0) as u16, (1.45 * rm * 3.0) as u16);
        // Over a pocket hole a ball can be half hidden by the rail beyond it (a ball that
        // stopped on the rim and rolls on round it): shallower peaks there.
        let lo_hole = (0.35 * rm * 3.0) as u16;
        self.peaks.clear();
        for y in 1..rh - 1 {
            for x in 1..rw - 1 {
                let v = self.dt[y * rw + x];
                let lo = if self.jaws.labels()[y * rw + x] == HOLE {
                    lo_hole
                } else {
                    lo
                };
                if v < lo || v > hi {
                    continue;
                }
                let mut is_max = true;
                for (ddx, ddy) in [
                    (-1i32, -1i32),
                    (0, -1),
                    (1, -1),
                    (-1, 0),
                    (1, 0),
                    (-1, 1),
                    (0, 1),
                    (1, 1),
                ] {
                    let n = self.dt[(y as i32 + ddy) as usize * rw + (x as i32 + ddx) as usize];
                    if n > v {
                        is_max = false;
                        break;
                    }
                }
                if is_max {
                    self.peaks
                        .push((v, (x0 + step * x) as u32, (y0 + step * y) as u32));
                }
            }
        }
        self.peaks
            .sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)).then(a.1.cmp(&b.1)));
        let max = self.params.max_balls as usize;
        let peaks = std::mem::take(&mut self.peaks);
        for &(_, px, py) in &peaks {
            if self.found.len() >= max {
                break;
            }
            let (px, py) = (f64::from(px), f64::from(py));
            if self
                .found
                .iter()
                .any(|b| (b.x - px).hypot(b.y - py) < 1.3 * r)
            {
                continue;
            }
            // Refined in the ideal image (a ball is a circle of radius `r` there).
            let [ux, uy] = table.lens.undistort([px, py]);
            let Some((ux, uy, fr, support)) = self.refine(&img, (ux, uy, r), (felt_c, felt_s))
            else {
                continue;
            };
            let ideal = [ux, uy];
            let [x, y] = table.lens.distort(ideal);
            if self
                .found
                .iter()
                .any(|b| (b.x - x).hypot(b.y - y) < 1.3 * r)
            {
                continue;
            }
            let m = table.to_table.apply(ideal);
            // Past the cushion nose: only in a pocket's jaws or over its hole, and with the
            // edge found on a good part of the rim (the cue stick over a hole fits a circle
            // to a few rays only).
            if table.inside_by_px([x, y]) < 0.0
                && (!pocket_jaws::centre_in_jaws(m) || support < JAW_SUPPORT)
            {
                continue;
            }
            self.found.push(DetectedBall {
                label: "",
                number: 0,
                x,
                y,
                r: fr,
                m,
                confidence: 0.0,
                edge_support: support,
            });
        }
        self.peaks = peaks;
        // Identities: one-to-one assignment of detections to the 16 balls.
        self.feats.clear();
        for b in &self.found {
            let f = self.features(&img, b.x, b.y, b.r, felt_c);
            self.feats.push(f);
        }
        let n = self.found.len().min(16);
        if n > 0 {
            // Columns: the 16 identities, then one "unknown" per detection (a ball whose
            // colours fit no free identity, e.g. a stripe showing mostly white while the cue
            // ball is pocketed, stays unnamed rather than taking a wrong name).
            let m = 16 + n;
            let mut cost = std::mem::take(&mut self.cost);
            cost.clear();
            for (i, f) in self.feats[..n].iter().enumerate() {
                for id in 0..16 {
                    cost.push(self.cost(f, id));
                }
                for k in 0..n {
                    cost.push(if k == i { UNKNOWN_COST } else { 1e6 });
                }
            }
            self.hungarian.solve(&cost, n, m, &mut self.assignment);
            self.cost = cost;
            for (i, &id) in self.assignment.iter().enumerate() {
                let f = &self.feats[i];
                let b = &mut self.found[i];
                if id >= 16 {
                    b.number = UNKNOWN;
                    b.label = "?";
                    b.confidence = 0.0;
                    continue;
                }
                let own = self.cost(f, id);
                let next = (0..16)
                    .filter(|&k| k != id)
                    .map(|k| self.cost(f, k))
                    .fold(f64::MAX, f64::min);
                let b = &mut self.found[i];
                b.number = id as u8;
                b.label = LABELS[id];
                b.confidence = ((next - own) / (next + 1e-9)).clamp(0.0, 1.0);
            }
        }
        self.found.truncate(n);
        let out = ctx.output::<DetectedBalls>();
        out.balls.clone_from(&self.found);
        out.count = self.found.len();
        ctx.signal("balls_detected", self.found.len() as f64);
        Ok(Flow::Continue)
    }
}

framebus_core::register_stage!(BallDetection);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
