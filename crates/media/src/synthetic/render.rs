//! Drawing the scene into RGB buffers: anti-aliased capsules, discs and rings for the bike
//! and body, hard-edged white discs for the markers (so a threshold finds exactly their
//! pixels and the centroid lands on the true centre), and the exposure/gain/noise pass.
//! Nothing here allocates: it writes into buffers it is given.

use super::kinematics::{BOTTOM_BRACKET, HIP, Layout, Pt, Skeleton, WRIST, add};

/// A colour at nominal exposure (every non-marker colour has gray level ≤ 150).
pub(crate) type Rgb = [u8; 3];

const WALL_TOP: Rgb = [30, 32, 38];
const WALL_BOTTOM: Rgb = [46, 48, 54];
const FLOOR: Rgb = [62, 56, 50];
const TYRE: Rgb = [24, 24, 26];
const RIM: Rgb = [92, 92, 98];
const SPOKE: Rgb = [70, 70, 76];
const TRAINER: Rgb = [78, 80, 86];
const FRAME: Rgb = [150, 34, 38];
const CHAINRING: Rgb = [110, 110, 116];
const SADDLE: Rgb = [20, 20, 22];
const JERSEY: Rgb = [36, 70, 140];
const SHORTS: Rgb = [26, 26, 30];
const SKIN: Rgb = [150, 112, 92];
const SHOE: Rgb = [44, 44, 50];
const HELMET: Rgb = [130, 130, 40];
/// Marker colour: the only bright thing in the scene.
pub(crate) const MARKER: Rgb = [255, 255, 255];

const REAR_AXLE: Pt = (195.0, 355.0);
const FRONT_AXLE: Pt = (470.0, 355.0);
const WHEEL_R: f64 = 85.0;
const FLOOR_Y: f64 = 440.0;
const HEAD_TUBE_TOP: Pt = (432.0, 228.0);
const HEAD_TUBE_BOTTOM: Pt = (446.0, 268.0);
const SEAT_TOP: Pt = (258.0, 212.0);

/// A mutable packed-RGB image.
pub(crate) struct Canvas<'a> {
    px: &'a mut [u8],
    w: usize,
    h: usize,
}

impl<'a> Canvas<'a> {
    pub(crate) fn new(px: &'a mut [u8], w: u32, h: u32) -> Self {
        let (w, h) = (w as usize, h as usize);
        debug_assert_eq!(px.len(), w * h * 3);
        Self { px, w, h }
    }

    /// The inclusive pixel bounds of the box `(x0, y0)–(x1, y1)`, clipped to the image.
    fn bounds(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> (usize, usize, usize, usize) {
        let clip = |v: f64, n: usize| v.clamp(0.0, n as f64 - 1.0) as usize;
        (
            clip(x0.floor(), self.w),
            clip(y0.floor(), self.h),
            clip(x1.ceil(), self.w),
            clip(y1.ceil(), self.h),
        )
    }

    fn blend(&mut self, x: usize, y: usize, c: Rgb, alpha: f64) {
        if alpha <= 0.0 {
            return;
        }
        let i = (y * self.w + x) * 3;
        let p = &mut self.px[i..i + 3];
        if alpha >= 1.0 {
            p.copy_from_slice(&c);
            return;
        }
        for (d, s) in p.iter_mut().zip(c) {
            *d = (f64::from(*d) + (f64::from(s) - f64::from(*d)) * alpha + 0.5) as u8;
        }
    }

    /// Fills rows `y0..y1` with a vertical gradient from `top` to `bottom`.
    pub(crate) fn gradient(&mut self, y0: usize, y1: usize, top: Rgb, bottom: Rgb) {
        let (y0, y1) = (y0.min(self.h), y1.min(self.h));
        for y in y0..y1 {
            let t = (y - y0) as f64 / (y1 - y0).max(1) as f64;
            let mut c = [0u8; 3];
            for k in 0..3 {
                c[k] = (f64::from(top[k]) + (f64::from(bottom[k]) - f64::from(top[k])) * t) as u8;
            }
            for px in self.px[y * self.w * 3..(y + 1) * self.w * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
        }
    }

    /// A segment `a → b` of half-width `r` with round caps, anti-aliased.
    pub(crate) fn capsule(&mut self, a: Pt, b: Pt, r: f64, c: Rgb) {
        let (x0, y0, x1, y1) = self.bounds(
            a.0.min(b.0) - r - 1.0,
            a.1.min(b.1) - r - 1.0,
            a.0.max(b.0) + r + 1.0,
            a.1.max(b.1) + r + 1.0,
        );
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (px, py) = (x as f64 - a.0, y as f64 - a.1);
                let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
                let d = (px - t * dx).hypot(py - t * dy);
                self.blend(x, y, c, r + 0.5 - d);
            }
        }
    }

    /// An annulus between radii `r0 < r1` around `c`, anti-aliased (a disc when `r0 ≤ 0`).
    pub(crate) fn ring(&mut self, o: Pt, r0: f64, r1: f64, c: Rgb) {
        let (x0, y0, x1, y1) = self.bounds(
            o.0 - r1 - 1.0,
            o.1 - r1 - 1.0,
            o.0 + r1 + 1.0,
            o.1 + r1 + 1.0,
        );
        for y in y0..=y1 {
            for x in x0..=x1 {
                let d = (x as f64 - o.0).hypot(y as f64 - o.1);
                let alpha = (r1 + 0.5 - d).min(if r0 > 0.0 { d - r0 + 0.5 } else { 1.0 });
                self.blend(x, y, c, alpha);
            }
        }
    }

    /// A hard-edged disc: exactly the pixels whose centre lies within `r` of `o`.
    pub(crate) fn marker(&mut self, o: Pt, r: f64) {
        let (x0, y0, x1, y1) = self.bounds(o.0 - r, o.1 - r, o.0 + r, o.1 + r);
        for y in y0..=y1 {
            for x in x0..=x1 {
                if (x as f64 - o.0).powi(2) + (y as f64 - o.1).powi(2) <= r * r {
                    self.blend(x, y, MARKER, 1.0);
                }
            }
        }
    }
}

/// Draws what never moves: wall, floor, trainer and wheels.
pub(crate) fn background(canvas: &mut Canvas<'_>, l: &Layout) {
    let floor = l.map((0.0, FLOOR_Y)).1.max(0.0) as usize;
    canvas.gradient(0, floor, WALL_TOP, WALL_BOTTOM);
    canvas.gradient(floor, usize::MAX, FLOOR, [40, 36, 32]);
    let m = |p: Pt| l.map(p);
    // Trainer: an A-frame under the rear axle.
    canvas.capsule(m(REAR_AXLE), m((150.0, FLOOR_Y - 3.0)), l.len(4.0), TRAINER);
    canvas.capsule(m(REAR_AXLE), m((245.0, FLOOR_Y - 3.0)), l.len(4.0), TRAINER);
    canvas.capsule(
        m((135.0, FLOOR_Y - 3.0)),
        m((260.0, FLOOR_Y - 3.0)),
        l.len(3.0),
        TRAINER,
    );
    // Front riser block.
    canvas.capsule(
        m((445.0, FLOOR_Y - 3.0)),
        m((495.0, FLOOR_Y - 3.0)),
        l.len(4.0),
        TRAINER,
    );
    for axle in [REAR_AXLE, FRONT_AXLE] {
        for k in 0..12 {
            let a = f64::from(k) * std::f64::consts::TAU / 12.0 + 0.13;
            let rim = (
                axle.0 + (WHEEL_R - 8.0) * a.cos(),
                axle.1 + (WHEEL_R - 8.0) * a.sin(),
            );
            canvas.capsule(m(axle), m(rim), l.len(0.6), SPOKE);
        }
        canvas.ring(m(axle), l.len(WHEEL_R - 10.0), l.len(WHEEL_R - 6.0), RIM);
        canvas.ring(m(axle), l.len(WHEEL_R - 6.0), l.len(WHEEL_R), TYRE);
        canvas.ring(m(axle), 0.0, l.len(5.0), RIM);
    }
}

/// Draws the bike frame, the rider and the markers for one pose.
pub(crate) fn rider(canvas: &mut Canvas<'_>, l: &Layout, s: &Skeleton) {
    let m = |p: Pt| l.map(p);
    let r = |v: f64| l.len(v);
    let dim = |c: Rgb| [c[0] / 2, c[1] / 2, c[2] / 2];
    // Far leg and crank, behind the frame.
    canvas.capsule(m(BOTTOM_BRACKET), m(s.far_pedal), r(3.0), dim(CHAINRING));
    canvas.capsule(m(HIP), m(s.far_knee), r(12.0), dim(SHORTS));
    canvas.capsule(m(s.far_knee), m(s.far_ankle), r(9.0), dim(SKIN));
    canvas.capsule(
        m(add(s.far_ankle, (-4.0, 4.0))),
        m(add(s.far_pedal, (20.0, 0.0))),
        r(5.0),
        dim(SHOE),
    );
    // Frame.
    let bb = BOTTOM_BRACKET;
    for (a, b) in [
        (bb, SEAT_TOP),
        (bb, HEAD_TUBE_BOTTOM),
        (SEAT_TOP, HEAD_TUBE_TOP),
        (HEAD_TUBE_TOP, HEAD_TUBE_BOTTOM),
        (bb, REAR_AXLE),
        (REAR_AXLE, (SEAT_TOP.0 - 4.0, SEAT_TOP.1 + 30.0)),
        (HEAD_TUBE_BOTTOM, FRONT_AXLE),
    ] {
        canvas.capsule(m(a), m(b), r(4.0), FRAME);
    }
    // Stem, bars, saddle, chainring.
    canvas.capsule(
        m(HEAD_TUBE_TOP),
        m((WRIST.0, WRIST.1 + 2.0)),
        r(3.0),
        CHAINRING,
    );
    canvas.capsule(
        m((WRIST.0, WRIST.1 + 2.0)),
        m((WRIST.0 + 8.0, WRIST.1 + 26.0)),
        r(3.0),
        CHAINRING,
    );
    canvas.capsule(
        m(SEAT_TOP),
        m((SEAT_TOP.0, SEAT_TOP.1 - 8.0)),
        r(3.0),
        CHAINRING,
    );
    canvas.capsule(
        m((HIP.0 - 24.0, HIP.1 + 12.0)),
        m((HIP.0 + 26.0, HIP.1 + 11.0)),
        r(4.0),
        SADDLE,
    );
    canvas.ring(m(bb), r(15.0), r(19.0), CHAINRING);
    // Torso, head, arm.
    canvas.capsule(m(HIP), m(s.shoulder), r(17.0), JERSEY);
    let head = add(s.shoulder, (40.0, -30.0));
    canvas.capsule(m(s.shoulder), m(head), r(8.0), SKIN);
    canvas.ring(m(head), 0.0, r(18.0), SKIN);
    canvas.capsule(
        m(add(head, (-18.0, -8.0))),
        m(add(head, (16.0, -14.0))),
        r(9.0),
        HELMET,
    );
    canvas.capsule(m(s.shoulder), m(s.elbow), r(8.0), JERSEY);
    canvas.capsule(m(s.elbow), m(s.wrist), r(6.5), SKIN);
    // Near leg and crank, in front.
    canvas.capsule(m(HIP), m(s.knee), r(12.0), SHORTS);
    canvas.capsule(m(s.knee), m(s.ankle), r(9.0), SKIN);
    canvas.capsule(
        m(add(s.ankle, (-4.0, 4.0))),
        m(add(s.pedal, (20.0, 0.0))),
        r(5.0),
        SHOE,
    );
    canvas.capsule(m(bb), m(s.pedal), r(3.0), CHAINRING);
    canvas.ring(m(bb), 0.0, r(4.0), FRAME);
    // Markers last, on top of everything.
    let mr = l.marker_radius();
    for p in [s.shoulder, s.elbow, s.wrist, s.hip, s.knee, s.ankle] {
        canvas.marker(m(p), mr);
    }
}

/// A tiny xorshift64* generator for per-frame sensor noise (no allocation, seedable).
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        // SplitMix64 scramble so nearby seeds give unrelated streams; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Applies exposure and gain (`scale` = exposure/157 · 10^(gain/20)) and noise of amplitude
/// `noise` levels seeded by `seed`, in place.
pub(crate) fn expose(px: &mut [u8], scale: f64, noise: f64, seed: u64) {
    if (scale - 1.0).abs() < 1e-9 && noise <= 0.0 {
        return;
    }
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = (v as f64 * scale + 0.5).min(255.0) as u8;
    }
    if noise <= 0.0 {
        px.iter_mut().for_each(|p| *p = lut[*p as usize]);
        return;
    }
    let mut rng = XorShift::new(seed);
    let amp = noise.ceil().min(127.0) as i32;
    let span = (2 * amp + 1) as u64;
    for p in px.chunks_exact_mut(3) {
        // One luma-like noise value per pixel.
        let n = (rng.next_u64() >> 32) % span;
        let n = n as i32 - amp;
        for c in p {
            *c = (i32::from(lut[*c as usize]) + n).clamp(0, 255) as u8;
        }
    }
}
