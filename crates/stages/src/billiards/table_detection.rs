//! `table_detection`: finds the playing area of a pool table seen from above — the felt, the
//! cushion noses, the four playing-area corners and the six pockets — and the homography
//! between pixels and table metres. A `calibrate` command with four clicked corners
//! overrides detection and is kept in the stage's params (`corners`), so a config can pin it.
//!
//! # How it works
//! The felt colour is the per-channel median of a grid of samples in the middle of the
//! frame. A pixel is felt when its chromaticity is within `felt_tolerance` of the felt's and
//! its brightness is 0.76–1.35 × the felt's (the darker cushion tops fail the brightness
//! test, balls and wood the colour test). Scan lines go out from the centre: across the rows
//! of the middle of the table for the left and right cushions, down the columns away from the
//! pockets for the top and bottom ones; each stops where a run of non-felt pixels longer than
//! a ball begins, and places the edge at the sub-pixel point where brightness crosses half
//! way between felt and cushion. A line is fitted to each side's points (twice, dropping
//! points more than 1.5 px off: balls and pocket mouths), and the corners are the four line
//! intersections. The camera should look roughly down the table with its long side across the
//! image (or along it: a tall quadrilateral is turned); for anything else, calibrate.
//!
//! Corners are ordered from the table origin along the long side: top-left, top-right,
//! bottom-right, bottom-left as seen in a landscape view. Table metres: `x` along the long
//! side (0…1.9812), `y` along the short side (0…0.9906).
//!
//! Result (namespace `table_detection`): [`TableGeometry`]. A pinned calibration that is not
//! a convex quadrilateral fails every frame with the reason (the runtime reports it and goes
//! on); `calibrate` refuses one with `bad_args`.

use framebus_core::prelude::*;

use super::geometry::{
    Homography, RadialLens, TABLE_LENGTH, TABLE_WIDTH, ball_radius, pockets, quad_problem,
};

/// Params of [`TableDetection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TableDetectionParams {
    /// Pinned playing-area corners in pixels (from the origin corner along the long side,
    /// then around); overrides detection. Set by `calibrate`.
    pub corners: Option<[[f64; 2]; 4]>,
    /// Detect again every this many frames (the table does not move; 0 = only until found).
    #[schemars(range(min = 0, max = 100000))]
    pub redetect_every: u32,
    /// Largest chromaticity distance (L1) from the felt colour still counted as felt.
    #[schemars(range(min = 0.01, max = 0.5))]
    pub felt_tolerance: f64,
    /// The camera's radial lens distortion, second order (radii in half image diagonals
    /// from the image centre; negative: barrel). Edge points, corners and ball centres are
    /// undistorted before the homography.
    #[schemars(range(min = -0.5, max = 0.5))]
    pub k1: f64,
    /// Fourth-order radial distortion coefficient.
    #[schemars(range(min = -0.5, max = 0.5))]
    pub k2: f64,
}

impl Default for TableDetectionParams {
    fn default() -> Self {
        Self {
            corners: None,
            redetect_every: 300,
            felt_tolerance: 0.08,
            k1: 0.0,
            k2: 0.0,
        }
    }
}

/// Args of the `calibrate` command.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalibrateArgs {
    /// Four playing-area corners in pixels, in order around the table starting at the
    /// origin corner and going along the long side; `null` returns to detection.
    pub corners: Option<Vec<[f64; 2]>>,
}

/// Where the table is: the result of [`TableDetection`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableGeometry {
    /// A table is known (detected or calibrated).
    pub found: bool,
    /// "calibrated", "detected" or "none".
    pub source: &'static str,
    /// Playing-area corners in pixels.
    pub corners: [[f64; 2]; 4],
    /// Pocket centres in pixels (top-left, top-middle, top-right, bottom-left, bottom-middle,
    /// bottom-right in table metres).
    pub pockets: [[f64; 2]; 6],
    /// Undistorted pixels → table metres ([`TableGeometry::to_metres`] maps image pixels).
    pub to_table: Homography,
    /// Table metres → undistorted pixels ([`TableGeometry::to_pixels`] maps to the image).
    pub to_image: Homography,
    /// The camera's lens distortion (ideal when `k1` = `k2` = 0).
    pub lens: RadialLens,
    /// Bounding box of the playing area in the image, `[x0, y0, x1, y1]` pixels (its rails
    /// bow under distortion, so this is wider than the corners' box).
    pub bounds: [f64; 4],
    /// Felt colour (RGB) sampled in the middle of the frame.
    pub felt: [f64; 3],
    /// Mean pixels per metre along the rails.
    pub px_per_m: f64,
    /// Ball radius in pixels at that scale.
    pub ball_radius_px: f64,
    /// Playing area size, metres.
    pub size_m: [f64; 2],
}

impl TableGeometry {
    /// Table metres of an image pixel (undistorted, then the homography).
    pub fn to_metres(&self, px: [f64; 2]) -> [f64; 2] {
        self.to_table.apply(self.lens.undistort(px))
    }

    /// Image pixel of a point in table metres.
    pub fn to_pixels(&self, m: [f64; 2]) -> [f64; 2] {
        self.lens.distort(self.to_image.apply(m))
    }

    /// Distance of an image pixel inside the playing area from its nearest rail line, in
    /// pixels at the table's scale (negative outside).
    pub fn inside_by_px(&self, px: [f64; 2]) -> f64 {
        let m = self.to_metres(px);
        let d = m[0]
            .min(m[1])
            .min(TABLE_LENGTH - m[0])
            .min(TABLE_WIDTH - m[1]);
        d * self.px_per_m
    }
}

/// Finds the table, or uses a calibration. See the [module docs](self).
pub struct TableDetection {
    params: TableDetectionParams,
    table: TableGeometry,
    frames: u64,
    changed_params: bool,
    /// Edge points per side: (along, across).
    pts: Vec<[f64; 2]>,
}

fn chroma(p: [f64; 3]) -> ([f64; 3], f64) {
    let s = (p[0] + p[1] + p[2]).max(1.0);
    ([p[0] / s, p[1] / s, p[2] / s], s)
}

struct Scanner<'a> {
    rgb: &'a [u8],
    w: usize,
    h: usize,
    felt_c: [f64; 3],
    felt_s: f64,
    tol: f64,
}

impl Scanner<'_> {
    fn px(&self, x: usize, y: usize) -> [f64; 3] {
        let i = 3 * (y * self.w + x);
        [
            f64::from(self.rgb[i]),
            f64::from(self.rgb[i + 1]),
            f64::from(self.rgb[i + 2]),
        ]
    }

    fn felt(&self, x: usize, y: usize) -> bool {
        let (c, s) = chroma(self.px(x, y));
        let d = (c[0] - self.felt_c[0]).abs()
            + (c[1] - self.felt_c[1]).abs()
            + (c[2] - self.felt_c[2]).abs();
        let q = s / self.felt_s;
        d < self.tol && (0.76..=1.35).contains(&q)
    }

    fn bright(&self, x: usize, y: usize) -> f64 {
        let p = self.px(x, y);
        p[0] + p[1] + p[2]
    }

    /// Walks from `(x, y)` by `(dx, dy)`; returns the sub-pixel edge coordinate along the
    /// walk axis where the felt ends (a non-felt run of `run` pixels begins).
    fn scan(&self, x: usize, y: usize, dx: isize, dy: isize, run: usize) -> Option<f64> {
        let (mut cx, mut cy) = (x as isize, y as isize);
        let mut last_felt = None;
        let mut gap = 0;
        let inb =
            |x: isize, y: isize| x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h;
        while inb(cx, cy) {
            if self.felt(cx as usize, cy as usize) {
                last_felt = Some((cx, cy));
                gap = 0;
            } else {
                gap += 1;
                if gap >= run && last_felt.is_some() {
                    break;
                }
            }
            cx += dx;
            cy += dy;
        }
        let (ex, ey) = last_felt?;
        let at = |k: isize| -> Option<f64> {
            let (x, y) = (ex + k * dx, ey + k * dy);
            inb(x, y).then(|| self.bright(x as usize, y as usize))
        };
        let b_in = (at(-5)? + at(-4)? + at(-3)?) / 3.0;
        let b_out = (at(4)? + at(5)? + at(6)?) / 3.0;
        if (b_in - b_out).abs() < 20.0 {
            return None;
        }
        let mid = 0.5 * (b_in + b_out);
        let mut prev = at(-3)?;
        for k in -2..=4 {
            let v = at(k)?;
            if (prev - mid) * (v - mid) <= 0.0 && prev != v {
                let frac = (prev - mid) / (prev - v);
                let along = if dx != 0 { ex as f64 } else { ey as f64 };
                let step = if dx != 0 { dx } else { dy } as f64;
                return Some(along + step * (k as f64 - 1.0 + frac));
            }
            prev = v;
        }
        None
    }
}

/// Fits `across = a·along + b` to `pts`: starts from the median (the sides are nearly
/// aligned with the scan), keeps points within 3 px of it, then fits twice, dropping points
/// more than 1.5 px off.
fn fit_line(pts: &mut Vec<[f64; 2]>) -> Option<(f64, f64)> {
    if pts.len() < 8 {
        return None;
    }
    pts.sort_unstable_by(|a, b| a[1].total_cmp(&b[1]));
    let med = pts[pts.len() / 2][1];
    pts.retain(|p| (p[1] - med).abs() < 3.0);
    let mut line = None;
    for _ in 0..3 {
        if pts.len() < 8 {
            return None;
        }
        let n = pts.len() as f64;
        let (sx, sy) = pts
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p[0], b + p[1]));
        let (mx, my) = (sx / n, sy / n);
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for p in pts.iter() {
            sxx += (p[0] - mx) * (p[0] - mx);
            sxy += (p[0] - mx) * (p[1] - my);
        }
        if sxx <= 0.0 {
            return None;
        }
        let a = sxy / sxx;
        let b = my - a * mx;
        pts.retain(|p| (p[1] - (a * p[0] + b)).abs() < 1.5);
        line = Some((a, b));
    }
    line
}

impl TableDetection {
    /// Sets the table from its corners in the ideal (undistorted) image.
    fn set_corners(
        &mut self,
        corners: [[f64; 2]; 4],
        source: &'static str,
        felt: [f64; 3],
    ) -> bool {
        let m = [
            [0.0, 0.0],
            [TABLE_LENGTH, 0.0],
            [TABLE_LENGTH, TABLE_WIDTH],
            [0.0, TABLE_WIDTH],
        ];
        let (Some(to_table), Some(to_image)) = (
            Homography::from_points(&corners, &m),
            Homography::from_points(&m, &corners),
        ) else {
            return false;
        };
        let d = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
        let px_per_m =
            (d(corners[0], corners[1]) + d(corners[3], corners[2])) / (2.0 * TABLE_LENGTH);
        let t = &mut self.table;
        let lens = t.lens;
        t.found = true;
        t.source = source;
        t.corners = corners.map(|c| lens.distort(c));
        for (o, (c, _)) in t.pockets.iter_mut().zip(pockets()) {
            *o = lens.distort(to_image.apply(c));
        }
        t.to_table = to_table;
        t.to_image = to_image;
        // The rails sampled in the image: under distortion they bow between the corners.
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for k in 0..=32 {
            let f = f64::from(k) / 32.0;
            for m in [
                [f * TABLE_LENGTH, 0.0],
                [f * TABLE_LENGTH, TABLE_WIDTH],
                [0.0, f * TABLE_WIDTH],
                [TABLE_LENGTH, f * TABLE_WIDTH],
            ] {
                let p = lens.distort(to_image.apply(m));
                b = [
                    b[0].min(p[0]),
                    b[1].min(p[1]),
                    b[2].max(p[0]),
                    b[3].max(p[1]),
                ];
            }
        }
        t.bounds = b;
        t.felt = felt;
        t.px_per_m = px_per_m;
        t.ball_radius_px = ball_radius() * px_per_m;
        t.size_m = [TABLE_LENGTH, TABLE_WIDTH];
        true
    }

    fn felt_colour(rgb: &[u8], w: usize, h: usize) -> [f64; 3] {
        let mut samples = [[0u8; 441]; 3];
        let mut n = 0;
        for j in 0..21 {
            for i in 0..21 {
                let x = w * 3 / 10 + i * (w * 4 / 10) / 20;
                let y = h * 3 / 10 + j * (h * 4 / 10) / 20;
                let k = 3 * (y.min(h - 1) * w + x.min(w - 1));
                for c in 0..3 {
                    samples[c][n] = rgb[k + c];
                }
                n += 1;
            }
        }
        let mut out = [0.0; 3];
        for c in 0..3 {
            samples[c].sort_unstable();
            out[c] = f64::from(samples[c][220]);
        }
        out
    }

    /// Detects the table in an RGB frame; true if found.
    fn detect(&mut self, rgb: &[u8], w: usize, h: usize) -> bool {
        let felt = Self::felt_colour(rgb, w, h);
        let (felt_c, felt_s) = chroma(felt);
        if felt_s < 30.0 {
            return false;
        }
        let sc = Scanner {
            rgb,
            w,
            h,
            felt_c,
            felt_s,
            tol: self.params.felt_tolerance,
        };
        let run = (w.max(h) / 30).max(6);
        let (cx, cy) = (w / 2, h / 2);
        // Rough extent along the centre row and column.
        let (Some(l), Some(r), Some(t), Some(b)) = (
            sc.scan(cx, cy, -1, 0, run),
            sc.scan(cx, cy, 1, 0, run),
            sc.scan(cx, cy, 0, -1, run),
            sc.scan(cx, cy, 0, 1, run),
        ) else {
            return false;
        };
        if r - l < w as f64 * 0.2 || b - t < h as f64 * 0.2 {
            return false;
        }
        let mut lines = [(0.0, 0.0); 4];
        // Left and right: rows in the middle 60 % of the height.
        for (k, dx) in [(0usize, -1isize), (1, 1)] {
            self.pts.clear();
            let (y0, y1) = ((t + 0.2 * (b - t)) as usize, (b - 0.2 * (b - t)) as usize);
            for y in (y0..=y1).step_by(2) {
                if let Some(x) = sc.scan(cx, y, dx, 0, run) {
                    let [ux, uy] = self.table.lens.undistort([x, y as f64]);
                    self.pts.push([uy, ux]);
                }
            }
            let Some(line) = fit_line(&mut self.pts) else {
                return false;
            };
            lines[k] = line;
        }
        // Top and bottom: columns away from the corner and side pockets.
        for (k, dy) in [(2usize, -1isize), (3, 1)] {
            self.pts.clear();
            let span = r - l;
            for (f0, f1) in [(0.12, 0.4), (0.6, 0.88)] {
                let (x0, x1) = ((l + f0 * span) as usize, (l + f1 * span) as usize);
                for x in (x0..=x1).step_by(2) {
                    if let Some(y) = sc.scan(x, cy, 0, dy, run) {
                        self.pts.push(self.table.lens.undistort([x as f64, y]));
                    }
                }
            }
            let Some(line) = fit_line(&mut self.pts) else {
                return false;
            };
            lines[k] = line;
        }
        // x = a·y + b (left/right); y = a·x + b (top/bottom).
        let meet = |v: (f64, f64), hz: (f64, f64)| {
            let x = (v.0 * hz.1 + v.1) / (1.0 - v.0 * hz.0);
            [x, hz.0 * x + hz.1]
        };
        let (left, right, top, bottom) = (lines[0], lines[1], lines[2], lines[3]);
        let mut corners = [
            meet(left, top),
            meet(right, top),
            meet(right, bottom),
            meet(left, bottom),
        ];
        if quad_problem(&corners).is_some() {
            return false;
        }
        if (r - l) < (b - t) {
            // Long side along the image's y axis: start at the top-right, go down.
            corners = [corners[1], corners[2], corners[3], corners[0]];
        }
        self.set_corners(corners, "detected", felt)
    }
}

impl Stage for TableDetection {
    type Params = TableDetectionParams;

    const INFO: StageInfo = StageInfo {
        id: "table_detection",
        version: "0.1.0",
        description: "Pool table playing area, pockets and the pixel ↔ table-metre homography (detected, or calibrated from four corners)",
        namespace: Some("table_detection"),
        commands: &[CommandSpec::new::<CalibrateArgs>(
            "calibrate",
            "Pins the four playing-area corners (pixels, from the origin corner along the long side); null returns to detection",
        )
        .locked()],
    };

    fn new(params: TableDetectionParams, _init: &StageInit) -> Result<Self> {
        if let Some(problem) = RadialLens::problem(params.k1, params.k2) {
            return Err(Error::stage(format!("table_detection: {problem}")));
        }
        Ok(Self {
            params,
            table: TableGeometry {
                source: "none",
                ..Default::default()
            },
            frames: 0,
            changed_params: false,
            pts: Vec::with_capacity(4096),
        })
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        self.frames += 1;
        let (k1, k2) = (self.params.k1, self.params.k2);
        if let Some(problem) = RadialLens::problem(k1, k2) {
            ctx.output::<TableGeometry>().found = false;
            return Err(Error::stage(format!("lens distortion: {problem}")));
        }
        let (w, h) = (ctx.frame().width, ctx.frame().height);
        let lens = RadialLens::new(k1, k2, w, h);
        if lens != self.table.lens {
            // A new lens (or frame size): everything derived from the old one is stale.
            self.table.lens = lens;
            self.table.found = false;
            self.table.source = "none";
        }
        if let Some(c) = self.params.corners {
            if let Some(problem) = quad_problem(&c) {
                let out = ctx.output::<TableGeometry>();
                out.found = false;
                out.source = "none";
                return Err(Error::stage(format!("calibration corners: {problem}")));
            }
            if self.table.source != "calibrated" || self.table.corners != c {
                let felt = {
                    let v = ctx.rgb();
                    Self::felt_colour(v.data, v.width as usize, v.height as usize)
                };
                let lens = self.table.lens;
                self.set_corners(c.map(|p| lens.undistort(p)), "calibrated", felt);
                // As given (what the comparison above checks).
                self.table.corners = c;
            }
        } else {
            let due = !self.table.found
                || (self.params.redetect_every > 0
                    && self
                        .frames
                        .is_multiple_of(u64::from(self.params.redetect_every)));
            if due {
                let v = ctx.rgb();
                let (data, w, h) = (v.data, v.width as usize, v.height as usize);
                if !self.detect(data, w, h) && self.table.source != "detected" {
                    self.table.found = false;
                }
            }
        }
        ctx.output::<TableGeometry>().clone_from(&self.table);
        if self.table.found {
            ctx.signal("table_px_per_m", self.table.px_per_m);
        }
        Ok(Flow::Continue)
    }

    fn set_params(
        &mut self,
        params: TableDetectionParams,
        _ctx: &mut CommandCtx<'_>,
    ) -> Result<()> {
        if let Some(problem) = RadialLens::problem(params.k1, params.k2) {
            return Err(Error::stage(format!("table_detection: {problem}")));
        }
        if params.corners != self.params.corners && params.corners.is_none() {
            self.table.found = false;
            self.table.source = "none";
        }
        self.params = params;
        Ok(())
    }

    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        _ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        if cmd != "calibrate" {
            return Err(CommandError::unknown_command(Self::INFO.id, cmd));
        }
        let a: CalibrateArgs = parse_args(args)?;
        let corners = match a.corners {
            None => None,
            Some(v) => {
                let c: [[f64; 2]; 4] = v.as_slice().try_into().map_err(|_| {
                    CommandError::bad_args(format!(
                        "`corners` needs exactly 4 points [x, y], got {}",
                        v.len()
                    ))
                })?;
                if let Some(problem) = quad_problem(&c) {
                    return Err(CommandError::bad_args(format!("`corners`: {problem}")));
                }
                Some(c)
            }
        };
        if corners.is_none() {
            self.table.found = false;
            self.table.source = "none";
        }
        self.params.corners = corners;
        self.changed_params = true;
        Ok(serde_json::to_value(&self.params).unwrap_or(Value::Null))
    }

    fn params_from_command(&self) -> Option<TableDetectionParams> {
        self.changed_params.then(|| self.params.clone())
    }
}

framebus_core::register_stage!(TableDetection);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
