//! Reference shots used by benchmarks, tests and `bench/pooltool_compare.py` (which builds
//! the same ones): a cue ball driven around the table, and a 9-ball break.

use crate::params::Params;
use crate::resolve::Cue;
use crate::sim::Ball;
use crate::table::Table;

/// The cue ball alone, struck with a little top and side so it travels around the table and
/// hits five rails (the "3-cushion shot" of the speed goal).
pub fn three_cushion(p: &Params) -> (Vec<Ball>, Cue) {
    let balls = vec![Ball::at_rest("cue", 0.3, 0.4, p)];
    let cue = Cue {
        ball: 0,
        v0: 2.5,
        phi: 63.0,
        theta: 0.0,
        a: 0.1,
        b: 0.1,
    };
    (balls, cue)
}

/// A 9-ball diamond on the foot spot (rows 1-2-3-2-1, 0.1 mm gaps), broken at 6 m/s cue
/// speed from the head string, slightly off centre.
pub fn nine_ball_break(t: &Table, p: &Params) -> (Vec<Ball>, Cue) {
    let (w, l) = (t.w, t.l);
    let mut balls = vec![Ball::at_rest("cue", w / 2.0 + 0.05, l / 4.0, p)];
    let d = 2.0 * p.r + 1e-4;
    let mut k = 1;
    for (i, n) in [1usize, 2, 3, 2, 1].into_iter().enumerate() {
        for j in 0..n {
            let x = w / 2.0 + (j as f64 - (n as f64 - 1.0) / 2.0) * d;
            let y = 3.0 * l / 4.0 + i as f64 * d * 3f64.sqrt() / 2.0;
            balls.push(Ball::at_rest(&k.to_string(), x, y, p));
            k += 1;
        }
    }
    let phi = (3.0 * l / 4.0 - l / 4.0)
        .atan2(w / 2.0 - balls[0].state.r.x)
        .to_degrees();
    let cue = Cue {
        ball: 0,
        v0: 6.0,
        phi,
        theta: 0.0,
        a: 0.0,
        b: 0.1,
    };
    (balls, cue)
}
