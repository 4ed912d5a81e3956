//! Drawing the table: a static background made once (floor, wooden rails with diamonds,
//! cushions, pockets, felt with texture and vignette), and per frame the balls as shaded
//! spheres (Lambert + Phong highlight, stripes and number spots that turn with the ball),
//! motion-blurred by averaging sub-frames, the cue stick, and sensor noise.

use super::lens::RemapTable;
use super::motion::BallState;
use super::scene::CUE_LENGTH;
use super::table::{
    BALL_COLORS, BALLS, CORNER_JAW, CUSHION, FELT, POCKET_RADIUS, POCKETS, RAIL, SIDE_JAW,
    TABLE_LENGTH, TABLE_WIDTH, View, is_stripe,
};
use framebus_billiards::RadialLens;

/// Direction towards the lamp (world: x right, y down, z into the table).
const LIGHT: [f64; 3] = [0.146_2, 0.195, -0.969_8];
/// Phong half vector between [`LIGHT`] and the view direction (0, 0, −1).
const HALF: [f64; 3] = [0.074_6, 0.099_5, -0.992_2];

/// Noise table length (a power of two).
const NOISE_LEN: usize = 1 << 20;

/// One ball at one sub-frame: centre in pixels, orientation, visibility.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SubBall {
    pub(crate) px: [f64; 2],
    pub(crate) rot: [[f64; 3]; 3],
    pub(crate) visible: bool,
}

impl SubBall {
    pub(crate) fn of(b: &BallState, view: &View) -> Self {
        Self {
            px: view.to_px(b.pos),
            rot: b.rot,
            visible: b.on_table,
        }
    }
}

/// Everything drawn per frame lives here, allocated once.
pub(crate) struct Renderer {
    width: usize,
    height: usize,
    view: View,
    radius: f64,
    background: Vec<u8>,
    noise: Vec<i8>,
    /// Lens distortion: the remap from the ideal image, and the ideal image's buffer.
    lens: Option<(RemapTable, Vec<u8>)>,
}

fn region_color(view: &View, x: f64, y: f64) -> [f64; 3] {
    let [mx, my] = view.to_m([x, y]);
    let floor = [35.0, 33.0, 38.0];
    let b = CUSHION + RAIL;
    if mx < -b || my < -b || mx > TABLE_LENGTH + b || my > TABLE_WIDTH + b {
        return floor;
    }
    for p in POCKETS {
        if (mx - p[0]).hypot(my - p[1]) < POCKET_RADIUS {
            return [8.0, 8.0, 10.0];
        }
    }
    let felt = [f64::from(FELT[0]), f64::from(FELT[1]), f64::from(FELT[2])];
    let inside = (0.0..=TABLE_LENGTH).contains(&mx) && (0.0..=TABLE_WIDTH).contains(&my);
    if inside {
        return felt;
    }
    let in_cushion =
        mx > -CUSHION && my > -CUSHION && mx < TABLE_LENGTH + CUSHION && my < TABLE_WIDTH + CUSHION;
    if in_cushion {
        // Openings of the pockets: no cushion there, the bed goes on to the hole.
        let near_x = !(CORNER_JAW..=TABLE_LENGTH - CORNER_JAW).contains(&mx);
        let near_y = !(CORNER_JAW..=TABLE_WIDTH - CORNER_JAW).contains(&my);
        let side = (mx - TABLE_LENGTH / 2.0).abs() < SIDE_JAW && !(0.0..=TABLE_WIDTH).contains(&my);
        if (near_x && near_y) || side {
            return [felt[0] * 0.55, felt[1] * 0.55, felt[2] * 0.55];
        }
        return [felt[0] * 0.72, felt[1] * 0.72, felt[2] * 0.72];
    }
    // Rail: wood with grain, and diamonds on its centre line.
    let (cx, cy) = (mx.clamp(0.0, TABLE_LENGTH), my.clamp(0.0, TABLE_WIDTH));
    let mid = CUSHION + RAIL / 2.0;
    for k in 1..8 {
        let dx = k as f64 * TABLE_LENGTH / 8.0;
        for dy in [-mid, TABLE_WIDTH + mid] {
            if (mx - dx).hypot(my - dy) < 0.008 && k != 4 {
                return [225.0, 220.0, 200.0];
            }
        }
    }
    for k in 1..4 {
        let dy = k as f64 * TABLE_WIDTH / 4.0;
        for dx in [-mid, TABLE_LENGTH + mid] {
            if (mx - dx).hypot(my - dy) < 0.008 {
                return [225.0, 220.0, 200.0];
            }
        }
    }
    let along = if (mx - cx).abs() > (my - cy).abs() {
        my
    } else {
        mx
    };
    let grain = 1.0 + 0.08 * (along * 180.0 + (along * 23.0).sin() * 3.0).sin();
    [105.0 * grain, 58.0 * grain, 32.0 * grain]
}

fn hash(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

impl Renderer {
    /// A renderer for a `width` × `height` camera; `lens` distorts the drawn image (the
    /// remap table is made here, once).
    pub(crate) fn new(width: u32, height: u32, seed: u64, lens: Option<&RadialLens>) -> Self {
        let (w, h) = (width as usize, height as usize);
        let view = View::new(width, height);
        let mut background = vec![0u8; w * h * 3];
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let rmax2 = cx * cx + cy * cy;
        for y in 0..h {
            for x in 0..w {
                // 2×2 supersampling for smooth cushion, pocket and diamond edges.
                let mut c = [0.0; 3];
                for (sx, sy) in [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)] {
                    let s = region_color(&view, x as f64 + sx, y as f64 + sy);
                    for k in 0..3 {
                        c[k] += 0.25 * s[k];
                    }
                }
                let (fx, fy) = (x as f64, y as f64);
                let texture = 1.0
                    + 0.025 * (fx * 0.071 + (fy * 0.013).sin() * 4.0).sin()
                    + 0.02 * (fy * 0.053 + (fx * 0.011).cos() * 3.0).sin();
                let r2 = (fx - cx).powi(2) + (fy - cy).powi(2);
                let vignette = 1.0 - 0.22 * r2 / rmax2;
                let grain = ((hash(seed ^ (y * w + x) as u64) % 7) as f64) - 3.0;
                let i = 3 * (y * w + x);
                for k in 0..3 {
                    background[i + k] = (c[k] * texture * vignette + grain)
                        .round()
                        .clamp(0.0, 255.0) as u8;
                }
            }
        }
        let mut noise = vec![0i8; NOISE_LEN];
        for (i, n) in noise.iter_mut().enumerate() {
            // Sum of three uniforms ≈ a Gaussian of σ ≈ 1 (scaled when applied).
            let h = hash(seed.wrapping_add(0x5eed) ^ i as u64);
            let u = |s: u32| ((h >> s) & 0xffff) as f64 / 65535.0 - 0.5;
            *n = ((u(0) + u(16) + u(32)) * 2.0 * 32.0)
                .round()
                .clamp(-127.0, 127.0) as i8;
        }
        Self {
            width: w,
            height: h,
            radius: view.ball_radius_px(),
            view,
            background,
            noise,
            lens: lens.map(|l| (RemapTable::new(l, width, height), vec![0u8; w * h * 3])),
        }
    }

    pub(crate) fn view(&self) -> &View {
        &self.view
    }

    /// Draws a frame: background, balls averaged over `subs` (one row of `BALLS` per
    /// sub-frame), the cue (tip px, angle), all in the ideal image — then through the lens,
    /// if any — and noise of standard deviation `noise_sigma`.
    pub(crate) fn draw(
        &mut self,
        px: &mut [u8],
        subs: &[[SubBall; BALLS]],
        cue: Option<([f64; 2], f64)>,
        noise_sigma: f64,
        noise_offset: u64,
    ) {
        match self.lens.take() {
            Some((remap, mut ideal)) => {
                self.draw_ideal(&mut ideal, subs, cue);
                remap.apply(&ideal, px, [20, 19, 22]);
                self.lens = Some((remap, ideal));
            }
            None => self.draw_ideal(px, subs, cue),
        }
        self.add_noise(px, noise_sigma, noise_offset);
    }

    /// The ideal (undistorted) image: background, balls, cue.
    fn draw_ideal(&self, px: &mut [u8], subs: &[[SubBall; BALLS]], cue: Option<([f64; 2], f64)>) {
        px.copy_from_slice(&self.background);
        let r = self.radius;
        let mut rects = [[0usize; 4]; BALLS];
        let mut any = [false; BALLS];
        for i in 0..BALLS {
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for s in subs.iter().map(|s| &s[i]).filter(|s| s.visible) {
                any[i] = true;
                x0 = x0.min(s.px[0] - r - 2.0);
                y0 = y0.min(s.px[1] - r - 2.0);
                x1 = x1.max(s.px[0] + r + 2.0);
                y1 = y1.max(s.px[1] + r + 2.0);
            }
            if any[i] {
                let cl = |v: f64, n: usize| v.clamp(0.0, n as f64 - 1.0) as usize;
                rects[i] = [
                    cl(x0.floor(), self.width),
                    cl(y0.floor(), self.height),
                    cl(x1.ceil(), self.width),
                    cl(y1.ceil(), self.height),
                ];
            }
        }
        let k = subs.len() as f64;
        for i in (0..BALLS).filter(|&i| any[i]) {
            let ri = rects[i];
            let mut near = [0usize; BALLS];
            let mut n_near = 0;
            for j in (0..BALLS).filter(|&j| any[j]) {
                let rj = rects[j];
                if rj[0] <= ri[2] && ri[0] <= rj[2] && rj[1] <= ri[3] && ri[1] <= rj[3] {
                    near[n_near] = j;
                    n_near += 1;
                }
            }
            for y in ri[1]..=ri[3] {
                for x in ri[0]..=ri[2] {
                    let idx = 3 * (y * self.width + x);
                    let bg = [
                        f64::from(self.background[idx]),
                        f64::from(self.background[idx + 1]),
                        f64::from(self.background[idx + 2]),
                    ];
                    let mut acc = [0.0; 3];
                    for sub in subs {
                        let mut c = bg;
                        for &j in &near[..n_near] {
                            let b = &sub[j];
                            if !b.visible {
                                continue;
                            }
                            if let Some((alpha, col)) = shade(j, b, x as f64, y as f64, r) {
                                for ch in 0..3 {
                                    c[ch] += alpha * (col[ch] - c[ch]);
                                }
                            }
                        }
                        for ch in 0..3 {
                            acc[ch] += c[ch];
                        }
                    }
                    for ch in 0..3 {
                        px[idx + ch] = (acc[ch] / k).round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
        if let Some((tip, angle)) = cue {
            self.draw_cue(px, tip, angle);
        }
    }

    /// Sensor noise of standard deviation `noise_sigma` from the precomputed table.
    fn add_noise(&self, px: &mut [u8], noise_sigma: f64, noise_offset: u64) {
        if noise_sigma > 0.0 {
            // Every table value scaled once (256 of them), then integer adds per byte: the
            // same bytes as rounding (half up) the pixel plus the scaled value.
            let scale = noise_sigma / 32.0;
            let mut lut = [0i16; 256];
            for (k, v) in lut.iter_mut().enumerate() {
                *v = (f64::from(k as u8 as i8) * scale + 0.5).floor() as i16;
            }
            let mask = NOISE_LEN - 1;
            let off = noise_offset as usize;
            for (i, p) in px.iter_mut().enumerate() {
                let n = self.noise[(off.wrapping_add(i.wrapping_mul(7))) & mask];
                *p = (i16::from(*p) + lut[usize::from(n as u8)]).clamp(0, 255) as u8;
            }
        }
    }

    /// Draws the cue stick with its tip at `tip` (px) pointing along `angle_deg`.
    fn draw_cue(&self, px: &mut [u8], tip: [f64; 2], angle_deg: f64) {
        let s = self.view.scale;
        let (sin, cos) = angle_deg.to_radians().sin_cos();
        // Unit vector from the tip towards the butt.
        let d = [-cos, -sin];
        let len = CUE_LENGTH * s;
        let hw_tip = 0.0065 * s;
        let hw_butt = 0.015 * s;
        let butt = [tip[0] + d[0] * len, tip[1] + d[1] * len];
        let y0 = (tip[1].min(butt[1]) - hw_butt - 2.0).floor().max(0.0) as usize;
        let y1 = (tip[1].max(butt[1]) + hw_butt + 2.0)
            .ceil()
            .min(self.height as f64 - 1.0);
        if y1 < 0.0 {
            return;
        }
        let y1 = y1 as usize;
        let h = hw_butt + 1.5;
        for y in y0..=y1 {
            let ry = y as f64 - tip[1];
            let (mut xa, mut xb) = (0.0, self.width as f64 - 1.0);
            if d[1].abs() > 1e-6 {
                let a = tip[0] + (ry * d[0] - h) / d[1];
                let b = tip[0] + (ry * d[0] + h) / d[1];
                xa = f64::max(xa, a.min(b));
                xb = f64::min(xb, a.max(b));
            } else if (ry * d[0]).abs() > h {
                continue;
            }
            if d[0].abs() > 1e-6 {
                let a = tip[0] + (-1.0 - ry * d[1]) / d[0];
                let b = tip[0] + (len + 1.0 - ry * d[1]) / d[0];
                xa = f64::max(xa, a.min(b));
                xb = f64::min(xb, a.max(b));
            }
            if xb < xa {
                continue;
            }
            for x in (xa.floor().max(0.0) as usize)..=(xb.ceil() as usize).min(self.width - 1) {
                let rx = x as f64 - tip[0];
                let t = rx * d[0] + ry * d[1];
                let e = rx * d[1] - ry * d[0];
                let tm = t / s;
                let hw = hw_tip + (hw_butt - hw_tip) * (tm / CUE_LENGTH).clamp(0.0, 1.0);
                let alpha = (hw + 0.5 - e.abs()).clamp(0.0, 1.0)
                    * (t + 0.5).clamp(0.0, 1.0)
                    * (len + 0.5 - t).clamp(0.0, 1.0);
                if alpha <= 0.0 {
                    continue;
                }
                let base = if tm < 0.012 {
                    [70.0, 95.0, 130.0]
                } else if tm < 0.035 {
                    [235.0, 235.0, 225.0]
                } else if tm < 0.95 {
                    [215.0, 180.0, 125.0]
                } else {
                    [70.0, 35.0, 25.0]
                };
                let across = (e / hw).clamp(-1.0, 1.0);
                let light = 0.6 + 0.45 * (1.0 - across * across).sqrt() - 0.1 * across;
                let idx = 3 * (y * self.width + x);
                for ch in 0..3 {
                    let c = f64::from(px[idx + ch]);
                    let v = c + alpha * ((base[ch] * light).min(255.0) - c);
                    px[idx + ch] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

/// Coverage and colour of ball `number` at pixel (`x`, `y`), or `None` outside it.
fn shade(number: usize, b: &SubBall, x: f64, y: f64, r: f64) -> Option<(f64, [f64; 3])> {
    let (dx, dy) = (x - b.px[0], y - b.px[1]);
    let d2 = dx * dx + dy * dy;
    let outer = r + 0.5;
    if d2 >= outer * outer {
        return None;
    }
    let d = d2.sqrt();
    let alpha = (r + 0.5 - d).clamp(0.0, 1.0);
    let k = if d > 0.999 * r { 0.999 * r / d } else { 1.0 };
    let (u, v) = (dx * k / r, dy * k / r);
    let w = -(1.0 - u * u - v * v).max(0.0).sqrt();
    let n = [u, v, w];
    // Body-frame normal: rotᵀ n.
    let m = &b.rot;
    let nb = [
        m[0][0] * n[0] + m[1][0] * n[1] + m[2][0] * n[2],
        m[0][1] * n[0] + m[1][1] * n[1] + m[2][1] * n[2],
        m[0][2] * n[0] + m[1][2] * n[1] + m[2][2] * n[2],
    ];
    let white = [245.0, 244.0, 236.0];
    let colour = {
        let c = BALL_COLORS[number];
        [f64::from(c[0]), f64::from(c[1]), f64::from(c[2])]
    };
    let spot = nb[0].abs() > 0.92;
    let albedo = match number {
        0 => white,
        8 => {
            if nb[0] > 0.92 {
                white
            } else {
                colour
            }
        }
        n if is_stripe(n) => {
            if nb[2].abs() < 0.5 && !spot {
                colour
            } else {
                white
            }
        }
        _ => {
            if spot {
                white
            } else {
                colour
            }
        }
    };
    let diffuse = (n[0] * LIGHT[0] + n[1] * LIGHT[1] + n[2] * LIGHT[2]).max(0.0);
    let nh = (n[0] * HALF[0] + n[1] * HALF[1] + n[2] * HALF[2]).max(0.0);
    let spec = 0.85 * nh.powi(48);
    let light = 0.42 + 0.62 * diffuse;
    let col = [
        albedo[0] * light + 255.0 * spec,
        albedo[1] * light + 255.0 * spec,
        albedo[2] * light + 255.0 * spec,
    ];
    Some((alpha, col))
}
