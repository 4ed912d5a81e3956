//! Real roots of small polynomials on an interval, exactly enough for event times.
//!
//! Event times are the first root of a polynomial of degree ≤ 4 within the time the current
//! motion lasts. Instead of a closed-form quartic (whose cancellation errors need the
//! "is this root real?" tolerances pooltool applies), the roots of the derivative split the
//! interval into monotonic pieces and each sign change is found by safeguarded Newton
//! iteration. Everything lives on the stack.

/// `p[0] + p[1]·t + … + p[4]·t⁴`.
pub(crate) type Poly = [f64; 5];

fn eval(p: &Poly, deg: usize, t: f64) -> f64 {
    let mut acc = 0.0;
    for i in (0..=deg).rev() {
        acc = acc * t + p[i];
    }
    acc
}

fn derivative(p: &Poly, deg: usize) -> Poly {
    let mut d = [0.0; 5];
    for i in 1..=deg {
        d[i - 1] = p[i] * i as f64;
    }
    d
}

/// Effective degree: highest non-negligible coefficient.
fn degree(p: &Poly, deg: usize) -> usize {
    let scale = p.iter().take(deg + 1).fold(0.0f64, |m, c| m.max(c.abs()));
    let mut d = deg;
    while d > 0 && p[d].abs() <= scale * 1e-300 {
        d -= 1;
    }
    d
}

/// Roots of `p` (degree ≤ `deg`) within `[lo, hi]`, ascending, written to `out`; returns the count.
fn roots_in(p: &Poly, deg: usize, lo: f64, hi: f64, out: &mut [f64; 4]) -> usize {
    let deg = degree(p, deg);
    if deg == 0 {
        return 0;
    }
    if deg == 1 {
        let t = -p[0] / p[1];
        if t >= lo && t <= hi {
            out[0] = t;
            return 1;
        }
        return 0;
    }
    let d = derivative(p, deg);
    let mut crit = [0.0; 4];
    let nc = roots_in(&d, deg - 1, lo, hi, &mut crit);
    let mut n = 0;
    let mut a = lo;
    let mut fa = eval(p, deg, a);
    if fa == 0.0 {
        out[n] = a;
        n += 1;
    }
    for &b in crit[..nc].iter().chain(std::iter::once(&hi)) {
        let fb = eval(p, deg, b);
        if fb == 0.0 {
            if n < 4 && (n == 0 || out[n - 1] < b) {
                out[n] = b;
                n += 1;
            }
        } else if fa != 0.0 && (fa < 0.0) != (fb < 0.0) && n < 4 {
            out[n] = refine(p, &d, deg, a, b, fa);
            n += 1;
        }
        a = b;
        fa = fb;
    }
    n
}

/// A root in `[a, b]` where `p` changes sign (monotonic there): Newton with bisection fallback.
fn refine(p: &Poly, d: &Poly, deg: usize, mut a: f64, mut b: f64, fa: f64) -> f64 {
    let neg_at_a = fa < 0.0;
    let mut t = 0.5 * (a + b);
    for _ in 0..100 {
        let f = eval(p, deg, t);
        if f == 0.0 {
            return t;
        }
        if (f < 0.0) == neg_at_a {
            a = t;
        } else {
            b = t;
        }
        let df = eval(d, deg - 1, t);
        let mut next = if df != 0.0 { t - f / df } else { f64::NAN };
        if !(next > a && next < b) {
            next = 0.5 * (a + b);
        }
        if (next - t).abs() <= 1e-15 * t.abs().max(1e-12) || b - a <= 1e-15 * b.abs().max(1e-12) {
            return next;
        }
        t = next;
    }
    t
}

/// The smallest root of `p` within `[lo, hi]` (infinite when there is none).
pub(crate) fn first_root(p: &Poly, lo: f64, hi: f64) -> f64 {
    if hi.is_nan() || lo.is_nan() || hi < lo {
        return f64::INFINITY;
    }
    let mut out = [0.0; 4];
    let n = roots_in(p, 4, lo, hi, &mut out);
    if n == 0 { f64::INFINITY } else { out[0] }
}

/// Smallest `t` in `[0, hi]` where the distance from the moving point `c + b·t + a·t²` to the
/// origin equals `rho` while approaching it (a root of `|c + b t + a t²|² − ρ²`). The caller
/// passes relative quantities (ball minus obstacle).
pub(crate) fn contact_time(a: [f64; 2], b: [f64; 2], c: [f64; 2], rho: f64, hi: f64) -> f64 {
    let [ax, ay] = a;
    let [bx, by] = b;
    let [cx, cy] = c;
    let p: Poly = [
        cx * cx + cy * cy - rho * rho,
        2.0 * (bx * cx + by * cy),
        bx * bx + by * by + 2.0 * (ax * cx + ay * cy),
        2.0 * (ax * bx + ay * by),
        ax * ax + ay * ay,
    ];
    first_root(&p, 0.0, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_of_four_real_roots() {
        // (t-1)(t-2)(t-3)(t-4) = t⁴ -10t³ +35t² -50t +24
        let p = [24.0, -50.0, 35.0, -10.0, 1.0];
        assert!((first_root(&p, 0.0, 10.0) - 1.0).abs() < 1e-12);
        assert!((first_root(&p, 1.5, 10.0) - 2.0).abs() < 1e-12);
        assert!((first_root(&p, 3.5, 10.0) - 4.0).abs() < 1e-12);
        assert!(first_root(&p, 4.5, 10.0).is_infinite());
    }

    #[test]
    fn handles_lower_degrees_and_no_roots() {
        assert!((first_root(&[-2.0, 1.0, 0.0, 0.0, 0.0], 0.0, 5.0) - 2.0).abs() < 1e-15);
        assert!(first_root(&[1.0, 0.0, 1.0, 0.0, 0.0], 0.0, 5.0).is_infinite());
        // ((t-0.3)² + 1e-4)(t+1): a near miss at 0.3 (a minimum just above 0); -1 is out.
        assert!(first_root(&[0.0901, -0.5099, 0.4, 1.0, 0.0], 0.0, 5.0).is_infinite());
        // (t-0.3)²(t+1): an exact graze at 0.3 counts as a touch or a miss, never elsewhere.
        let g = first_root(&[0.09, -0.51, 0.4, 1.0, 0.0], 0.0, 5.0);
        assert!(g.is_infinite() || (g - 0.3).abs() < 1e-6, "{g}");
    }

    #[test]
    fn contact_time_of_a_straight_approach() {
        // Point at x = -1 moving +x at 1 m/s towards a circle of radius 0.5: contact at t = 0.5.
        let t = contact_time([0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], 0.5, 10.0);
        assert!((t - 0.5).abs() < 1e-12);
    }
}
