//! Geometry helpers for `geometry_manager`: angles and distances between points, and the
//! fixed-capacity time window that tracks min/max/mean of a tool's value.

/// Interior angle at `b` of the triangle `a`-`b`-`c`, in degrees (0..=180); `None` when a
/// side has zero length.
pub(super) fn angle_at(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> Option<f64> {
    let (ux, uy) = (a.0 - b.0, a.1 - b.1);
    let (vx, vy) = (c.0 - b.0, c.1 - b.1);
    let (nu, nv) = (ux.hypot(uy), vx.hypot(vy));
    if nu == 0.0 || nv == 0.0 {
        return None;
    }
    // atan2 of cross and dot is accurate near 0 and 180 degrees, unlike acos.
    let cross = ux * vy - uy * vx;
    let dot = ux * vx + uy * vy;
    Some(cross.abs().atan2(dot).to_degrees())
}

/// Distance between two points, in pixels.
pub(super) fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (b.0 - a.0).hypot(b.1 - a.1)
}

/// Folds an angle in degrees into (-90, 90]: a line has no direction.
fn fold(mut deg: f64) -> f64 {
    while deg > 90.0 {
        deg -= 180.0;
    }
    while deg <= -90.0 {
        deg += 180.0;
    }
    deg
}

/// Angle of the line `a`–`b` in degrees, in (-90, 90], against the horizontal (positive
/// when the line rises to the right on screen, where y grows downwards) or against the
/// vertical (positive when its top leans to the right). `None` when `a == b`.
pub(super) fn line_angle(a: (f64, f64), b: (f64, f64), vertical: bool) -> Option<f64> {
    let (dx, up) = (b.0 - a.0, a.1 - b.1);
    if dx == 0.0 && up == 0.0 {
        return None;
    }
    let deg = if vertical { dx.atan2(up) } else { up.atan2(dx) }.to_degrees();
    Some(fold(deg))
}

/// The highest frame rate a window is sized for; faster streams shorten the window.
pub(super) const MAX_FPS: f64 = 240.0;

/// Samples `(t_ns, value)` of the last `span` nanoseconds in a ring allocated once.
#[derive(Debug, Clone)]
pub(super) struct Window {
    buf: Vec<(u64, f64)>,
    head: usize,
    len: usize,
    span_ns: u64,
}

impl Window {
    /// A window of `seconds`, with room for [`MAX_FPS`] samples per second.
    pub(super) fn new(seconds: f64) -> Self {
        let cap = (seconds * MAX_FPS).ceil() as usize + 1;
        Self {
            buf: vec![(0, 0.0); cap],
            head: 0,
            len: 0,
            span_ns: (seconds * 1e9) as u64,
        }
    }

    /// Forgets every sample.
    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    fn at(&self, i: usize) -> (u64, f64) {
        self.buf[(self.head + i) % self.buf.len()]
    }

    /// Drops samples older than `span` before `t_ns`; a clock that went back clears all.
    pub(super) fn evict(&mut self, t_ns: u64) {
        if self.len > 0 && self.at(self.len - 1).0 > t_ns {
            self.clear();
        }
        while self.len > 0 && t_ns - self.at(0).0 > self.span_ns {
            self.head = (self.head + 1) % self.buf.len();
            self.len -= 1;
        }
    }

    /// Adds a sample at `t_ns` (after evicting old ones; the oldest goes when full).
    pub(super) fn push(&mut self, t_ns: u64, value: f64) {
        self.evict(t_ns);
        let cap = self.buf.len();
        if self.len == cap {
            self.head = (self.head + 1) % cap;
            self.len -= 1;
        }
        self.buf[(self.head + self.len) % cap] = (t_ns, value);
        self.len += 1;
    }

    /// Min, max and mean of the samples, if any.
    pub(super) fn stats(&self) -> Option<(f64, f64, f64)> {
        if self.len == 0 {
            return None;
        }
        let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for i in 0..self.len {
            let v = self.at(i).1;
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v;
        }
        Some((lo, hi, sum / self.len as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles() {
        assert!((angle_at((10.0, 0.0), (0.0, 0.0), (0.0, 10.0)).unwrap() - 90.0).abs() < 1e-12);
        assert!((angle_at((1.0, 0.0), (0.0, 0.0), (-1.0, 0.0)).unwrap() - 180.0).abs() < 1e-12);
        assert!(angle_at((1.0, 0.0), (0.0, 0.0), (2.0, 0.0)).unwrap().abs() < 1e-12);
        assert!(
            (angle_at((1.0, 0.0), (0.0, 0.0), (1.0, 3f64.sqrt())).unwrap() - 60.0).abs() < 1e-9
        );
        assert_eq!(angle_at((0.0, 0.0), (0.0, 0.0), (1.0, 1.0)), None);
        assert_eq!(distance((0.0, 0.0), (3.0, 4.0)), 5.0);
    }

    #[test]
    fn line_angles_fold_to_plus_minus_90() {
        let h = |a, b| line_angle(a, b, false).unwrap();
        let v = |a, b| line_angle(a, b, true).unwrap();
        assert_eq!(h((0.0, 0.0), (10.0, 0.0)), 0.0);
        assert_eq!(h((10.0, 0.0), (0.0, 0.0)), 0.0);
        assert!((h((0.0, 10.0), (10.0, 0.0)) - 45.0).abs() < 1e-12); // rises to the right
        assert!((h((10.0, 0.0), (0.0, 10.0)) - 45.0).abs() < 1e-12); // same line, reversed
        assert!((h((0.0, 0.0), (10.0, 10.0)) + 45.0).abs() < 1e-12);
        assert_eq!(h((0.0, 0.0), (0.0, 10.0)), 90.0);
        assert_eq!(v((0.0, 0.0), (0.0, 10.0)), 0.0);
        assert!((v((0.0, 10.0), (10.0, 0.0)) - 45.0).abs() < 1e-12); // top leans right
        assert!((v((0.0, 0.0), (10.0, 10.0)) + 45.0).abs() < 1e-12);
        assert_eq!(line_angle((1.0, 1.0), (1.0, 1.0), false), None);
    }

    #[test]
    fn window_keeps_the_last_span() {
        let mut w = Window::new(1.0);
        assert_eq!(w.stats(), None);
        for i in 0..=30u64 {
            w.push(i * 100_000_000, i as f64); // 10 Hz for 3 s
        }
        // Samples at 2.0 s ..= 3.0 s remain.
        assert_eq!(w.stats(), Some((20.0, 30.0, 25.0)));
        w.evict(3_500_000_000);
        assert_eq!(w.stats(), Some((25.0, 30.0, 27.5)));
        w.push(1, 7.0); // the clock went back
        assert_eq!(w.stats(), Some((7.0, 7.0, 7.0)));
        // Faster than MAX_FPS: the oldest samples go first.
        let mut w = Window::new(0.1);
        for i in 0..100u64 {
            w.push(i * 100_000, i as f64);
        }
        let (lo, hi, _) = w.stats().unwrap();
        assert_eq!((lo, hi), (100.0 - (0.1 * MAX_FPS).ceil() - 1.0, 99.0));
    }
}
