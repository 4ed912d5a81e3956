//! Behaviour of the physics engine: energy, deceleration, collisions, cushions, pockets,
//! event order, layout checks.

use framebus_billiards::motion::evolve;
use framebus_billiards::{
    Agent, Ball, BallState, Cue, EventKind, MotionState, Params, Simulation, Table, V3, simulate,
    validate_layout,
};

/// Deterministic pseudo-random numbers (splitmix64) so the tests need no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

fn random_shot(rng: &mut Rng, p: &Params, t: &Table) -> (Vec<Ball>, Cue) {
    let n = 2 + (rng.next() * 6.0) as usize;
    let mut balls: Vec<Ball> = Vec::new();
    while balls.len() < n {
        let x = rng.range(p.r + 0.01, t.w - p.r - 0.01);
        let y = rng.range(p.r + 0.01, t.l - p.r - 0.01);
        if balls
            .iter()
            .all(|b| (b.state.r - V3::new(x, y, p.r)).norm() > 2.0 * p.r + 0.005)
        {
            let id = if balls.is_empty() {
                "cue".to_owned()
            } else {
                balls.len().to_string()
            };
            balls.push(Ball::at_rest(&id, x, y, p));
        }
    }
    let target = balls[1].state.r - balls[0].state.r;
    let phi = if rng.next() < 0.6 {
        target.angle().to_degrees() + rng.range(-3.0, 3.0)
    } else {
        rng.range(0.0, 360.0)
    };
    let cue = Cue {
        ball: 0,
        v0: rng.range(0.5, 5.0),
        phi,
        theta: if rng.next() < 0.3 {
            rng.range(0.0, 20.0)
        } else {
            0.0
        },
        a: rng.range(-0.3, 0.3),
        b: rng.range(-0.3, 0.3),
    };
    (balls, cue)
}

fn total_energy(sim: &Simulation, t: f64, p: &Params) -> f64 {
    (0..sim.history.len())
        .map(|i| sim.state_at(i, t, p).energy(p))
        .sum()
}

#[test]
fn energy_never_increases_and_events_are_ordered() {
    let p = Params::default();
    let table = Table::default();
    let mut rng = Rng(7);
    let mut ball_ball = 0;
    for shot in 0..300 {
        let (balls, cue) = random_shot(&mut rng, &p, &table);
        let sim = simulate(&balls, Some(&cue), &table, &p);
        assert!(!sim.truncated, "shot {shot} ran out of events");
        let mut last_t = 0.0;
        let mut last_e = f64::INFINITY;
        for (k, e) in sim.events.iter().enumerate() {
            assert!(
                e.t >= last_t,
                "shot {shot}: event {k} at {} before {last_t}",
                e.t
            );
            last_t = e.t;
            // Energy right after the event (the history holds post-event states).
            let after: f64 = sim
                .history
                .iter()
                .map(|h| {
                    let idx = h.partition_point(|(te, _)| *te <= e.t);
                    let (t0, s0) = h[idx - 1];
                    evolve(&s0, &p, e.t - t0).energy(&p)
                })
                .sum();
            assert!(
                after <= last_e * (1.0 + 1e-9) + 1e-12,
                "shot {shot}: energy rose at event {k} ({:?}): {last_e} -> {after}",
                e.kind
            );
            last_e = after;
            if e.kind == EventKind::BallBall {
                ball_ball += 1;
            }
        }
        // And between events, sampled.
        let dur = sim.duration();
        let mut prev = f64::INFINITY;
        for s in 0..=50 {
            let e = total_energy(&sim, dur * s as f64 / 50.0, &p);
            assert!(
                e <= prev * (1.0 + 1e-9) + 1e-12,
                "shot {shot}: energy rose at sample {s}"
            );
            prev = e;
        }
        for st in sim.final_states() {
            assert!(
                matches!(st.s, MotionState::Stationary | MotionState::Pocketed),
                "shot {shot}: a ball ended {:?}",
                st.s
            );
        }
    }
    assert!(ball_ball > 100, "the random shots hit balls ({ball_ball})");
}

fn rolling(x: f64, y: f64, vx: f64, vy: f64, p: &Params) -> BallState {
    BallState {
        r: V3::new(x, y, p.r),
        v: V3::new(vx, vy, 0.0),
        w: V3::new(-vy / p.r, vx / p.r, 0.0),
        s: MotionState::Rolling,
    }
}

#[test]
fn a_rolling_ball_decelerates_at_u_r_g_and_stops_where_kinematics_says() {
    let p = Params::default();
    let v0 = 0.5;
    let balls = [Ball {
        id: "cue".into(),
        state: rolling(0.5, 0.3, 0.0, v0, &p),
    }];
    let sim = simulate(&balls, None, &Table::default(), &p);
    let a = p.u_r * p.g;
    for t in [0.1, 0.5, 1.0, 3.0, 5.0] {
        let s = sim.state_at(0, t, &p);
        assert!((s.v.norm() - (v0 - a * t)).abs() < 1e-12, "speed at {t}");
        assert_eq!(s.s, MotionState::Rolling);
        // Rolling without slipping all along.
        assert!(s.rel_velocity(p.r).norm() < 1e-12);
    }
    let stop = v0 / a;
    assert_eq!(sim.events.len(), 1);
    assert_eq!(sim.events[0].kind, EventKind::RollingStationary);
    assert!((sim.events[0].t - stop).abs() < 1e-12);
    let fin = sim.final_states().next().unwrap();
    assert!((fin.r.y - (0.3 + v0 * v0 / (2.0 * a))).abs() < 1e-9);
}

#[test]
fn a_sliding_ball_starts_rolling_at_five_sevenths_of_its_speed() {
    let p = Params::default();
    let balls = [Ball {
        id: "cue".into(),
        state: BallState {
            r: V3::new(0.5, 0.3, p.r),
            v: V3::new(0.0, 1.4, 0.0),
            w: V3::ZERO,
            s: MotionState::Sliding,
        },
    }];
    let sim = simulate(&balls, None, &Table::default(), &p);
    let e = sim.events[0];
    assert_eq!(e.kind, EventKind::SlidingRolling);
    // Stun ball: slides for 2v/(7 u_s g), then rolls at 5/7 v (Alciatore TP 4.1).
    assert!((e.t - 2.0 * 1.4 / (7.0 * p.u_s * p.g)).abs() < 1e-12);
    let s = sim.state_at(0, e.t, &p);
    assert!((s.v.norm() - 1.0).abs() < 1e-9);
}

#[test]
fn head_on_stun_collision_transfers_the_velocity() {
    let p = Params::default();
    // A sliding ball without spin (a stun shot at impact) into a ball at rest.
    let balls = [
        Ball {
            id: "cue".into(),
            state: BallState {
                r: V3::new(0.5, 0.5, p.r),
                v: V3::new(0.0, 3.0, 0.0),
                w: V3::ZERO,
                s: MotionState::Sliding,
            },
        },
        Ball::at_rest("1", 0.5, 0.5 + 2.0 * p.r + 0.01, &p),
    ];
    let sim = simulate(&balls, None, &Table::default(), &p);
    let hit = sim
        .events
        .iter()
        .find(|e| e.kind == EventKind::BallBall)
        .unwrap();
    assert_eq!((hit.ball, hit.other), (0, Agent::Ball(1)));
    // Just before the hit (1 ns earlier: the ball decelerates by ~2e-9 m/s meanwhile).
    let before = sim.state_at(0, hit.t - 1e-9, &p).v.y;
    let (cue, obj) = (sim.history[0][1].1, sim.history[1][1].1);
    // Normal velocities exchanged up to restitution e_b: v1' = (1-e)/2 v, v2' = (1+e)/2 v.
    assert!(
        (obj.v.y - (1.0 + p.e_b) / 2.0 * before).abs() < 1e-8,
        "{before} {obj:?}"
    );
    assert!(
        (cue.v.y - (1.0 - p.e_b) / 2.0 * before).abs() < 1e-8,
        "{cue:?}"
    );
    assert!(obj.v.x.abs() < 1e-12 && cue.v.x.abs() < 1e-12);
    // Momentum conserved in the collision.
    assert!((obj.v.y + cue.v.y - before).abs() < 1e-8);
}

#[test]
fn a_ball_rebounds_off_a_rail_with_the_normal_component_reversed() {
    let p = Params::default();
    let table = Table::default();
    // Rolling straight into the top rail (y = l): comes straight back, slower.
    let balls = [Ball {
        id: "cue".into(),
        state: rolling(0.5, 1.5, 0.0, 1.5, &p),
    }];
    let sim = simulate(&balls, None, &table, &p);
    let hit = sim.events[0];
    assert_eq!(hit.kind, EventKind::BallLinearCushion);
    let Agent::Linear(k) = hit.other else {
        panic!()
    };
    assert_eq!(table.linear[k].id, "9");
    let before = sim.state_at(0, hit.t - 1e-9, &p);
    let after = sim.history[0][1].1;
    assert!((after.r.y - (table.l - p.r)).abs() < 2e-6, "{after:?}");
    assert!(after.v.y < 0.0 && after.v.x.abs() < 1e-12);
    let ratio = -after.v.y / before.v.y;
    assert!(ratio > 0.5 && ratio < p.e_c, "rebound ratio {ratio}");

    // At 45° without side spin: rebounds away from the rail and keeps its along-rail
    // direction; the rail takes normal speed and friction takes along-rail speed, so it
    // leaves near 45° (Han 2005 gives ≈ 46° for a rolling ball at 1.5 m/s).
    let s = 1.5 / 2f64.sqrt();
    let balls = [Ball {
        id: "cue".into(),
        state: rolling(0.3, 1.6, s, s, &p),
    }];
    let sim = simulate(&balls, None, &table, &p);
    let hit = sim.events[0];
    assert_eq!(hit.kind, EventKind::BallLinearCushion);
    let after = sim.history[0][1].1;
    assert!(after.v.y < 0.0 && after.v.x > 0.0, "{after:?}");
    let out_angle = (-after.v.y).atan2(after.v.x).to_degrees();
    assert!(
        out_angle > 35.0 && out_angle < 55.0,
        "rebound angle {out_angle}"
    );
}

#[test]
fn a_ball_aimed_at_a_corner_pocket_drops_in_it() {
    let p = Params::default();
    let table = Table::default();
    let balls = [Ball::at_rest("cue", 0.4, 0.4, &p)];
    // Towards the pocket "lb" at the origin corner.
    let cue = Cue {
        ball: 0,
        v0: 1.5,
        phi: 225.0,
        theta: 0.0,
        a: 0.0,
        b: 0.0,
    };
    let sim = simulate(&balls, Some(&cue), &table, &p);
    let k = sim.pocket_of(0).expect("pocketed");
    assert_eq!(table.pockets[k].id, "lb");
    let fin = sim.final_states().next().unwrap();
    assert_eq!(fin.s, MotionState::Pocketed);
    // Side pocket, straight across.
    let balls = [Ball::at_rest("cue", 0.6, table.l / 2.0, &p)];
    let cue = Cue { phi: 0.0, ..cue };
    let sim = simulate(&balls, Some(&cue), &table, &p);
    assert_eq!(table.pockets[sim.pocket_of(0).expect("pocketed")].id, "rc");
}

#[test]
fn cue_strike_gives_pooltool_speeds_and_spin() {
    let p = Params::default();
    let table = Table::default();
    let balls = [Ball::at_rest("cue", 0.5, 0.5, &p)];
    let centre = Cue {
        ball: 0,
        v0: 2.0,
        phi: 90.0,
        theta: 0.0,
        a: 0.0,
        b: 0.0,
    };
    let sim = simulate(&balls, Some(&centre), &table, &p);
    let s = sim.history[0][0].1;
    // Centre hit: v = 2 V0 / (1 + m/M) ≈ 1.538 V0, along +y, no spin.
    assert!((s.v.y - 2.0 * 2.0 / (1.0 + p.m / p.cue_mass)).abs() < 1e-12);
    assert!(s.v.x.abs() < 1e-15 && s.w.norm() < 1e-12);
    // Top spin rolls forward (w.x < 0 when moving +y); left english (a > 0) spins the ball
    // clockwise seen from above (w.z < 0).
    let top = Cue { b: 0.3, ..centre };
    let s = simulate(&balls, Some(&top), &table, &p).history[0][0].1;
    assert!(s.w.x < 0.0);
    let left = Cue { a: 0.3, ..centre };
    let s = simulate(&balls, Some(&left), &table, &p).history[0][0].1;
    assert!(s.w.z < 0.0);
    // Squirt sends the ball slightly right of the aim for left english.
    assert!(s.v.x > 0.0);
}

#[test]
fn layouts_with_overlapping_or_off_table_balls_are_refused_with_the_reason() {
    let p = Params::default();
    let t = Table::default();
    let ok = [
        Ball::at_rest("cue", 0.5, 0.5, &p),
        Ball::at_rest("1", 0.5, 0.6, &p),
    ];
    assert!(validate_layout(&ok, &t, &p).is_ok());
    let overlap = [
        Ball::at_rest("cue", 0.5, 0.5, &p),
        Ball::at_rest("1", 0.5, 0.52, &p),
    ];
    let e = validate_layout(&overlap, &t, &p).unwrap_err();
    assert!(
        e.contains("overlap") && e.contains("\"cue\"") && e.contains("\"1\""),
        "{e}"
    );
    let off = [Ball::at_rest("9", 1.2, 0.5, &p)];
    let e = validate_layout(&off, &t, &p).unwrap_err();
    assert!(e.contains("off the table") && e.contains("\"9\""), "{e}");
    let twice = [
        Ball::at_rest("1", 0.2, 0.5, &p),
        Ball::at_rest("1", 0.6, 0.5, &p),
    ];
    assert!(
        validate_layout(&twice, &t, &p)
            .unwrap_err()
            .contains("twice")
    );
    let bad = Cue {
        ball: 0,
        v0: 50.0,
        phi: 0.0,
        theta: 0.0,
        a: 0.0,
        b: 0.0,
    };
    assert!(bad.validate().unwrap_err().contains("V0"));
    assert!(
        Cue {
            v0: 2.0,
            a: 0.6,
            ..bad
        }
        .validate()
        .unwrap_err()
        .contains("english")
    );
}
