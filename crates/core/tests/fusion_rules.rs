//! Rule semantics on scripted observations with injected times: each predicate, `for`
//! (with a one-frame dip), hysteresis, cooldown (a firing exactly at its end), edges, nesting
//! and zones.

use framebus_core::fusion::cond::FrameView;
use framebus_core::fusion::config::RuleConfig;
use framebus_core::fusion::rule::{Phase, Rule, RuleState};
use framebus_core::protocol::TriggerEdge;
use framebus_core::results::{NamedPoint, Signal};

const MS: u64 = 1_000_000;

fn rule(toml_text: &str) -> Rule {
    let c: RuleConfig = toml::from_str(toml_text).unwrap();
    Rule::compile(&c).unwrap()
}

fn sig(name: &str, value: f64) -> Signal {
    Signal {
        name: name.into(),
        value,
        stage: 0,
    }
}

fn pt(name: &str, x: f64, y: f64) -> NamedPoint {
    NamedPoint {
        name: name.into(),
        x,
        y,
        score: 1.0,
    }
}

/// Steps `r` over frames every `dt` ms with one signal `name` taking `values`; returns
/// (frame index, edge) of each firing.
fn run_signal(r: &Rule, name: &str, values: &[f64], dt: u64) -> Vec<(usize, TriggerEdge)> {
    let mut st = RuleState::default();
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let s = [sig(name, *v)];
        let f = FrameView {
            signals: &s,
            points: &[],
            store: None,
            t_ns: 0,
            board: None,
        };
        if let Some(fire) = r.step(&mut st, &f, i as u64 * dt * MS) {
            out.push((i, fire.edge));
        }
    }
    out
}

#[test]
fn each_comparison_holds_where_it_should() {
    let cases = [
        (
            r#"signal = "x", below = 80.0"#,
            [79.0, 80.0, 81.0],
            [true, false, false],
        ),
        (
            r#"signal = "x", above = 80.0"#,
            [79.0, 80.0, 81.0],
            [false, false, true],
        ),
        (
            r#"signal = "x", ">" = 80.0"#,
            [79.0, 80.0, 81.0],
            [false, false, true],
        ),
        (
            r#"signal = "x", "<" = 80.0"#,
            [79.0, 80.0, 81.0],
            [true, false, false],
        ),
        (
            r#"signal = "x", between = [79.5, 80.0]"#,
            [79.0, 80.0, 81.0],
            [false, true, false],
        ),
        (
            r#"signal = "x", equals = 81"#,
            [79.0, 80.0, 81.0],
            [false, false, true],
        ),
        (
            r#"signal = "x", "==" = 79"#,
            [79.0, 80.0, 81.0],
            [true, false, false],
        ),
    ];
    for (when, values, expect) in cases {
        let r = rule(&format!("id = \"r\"\nwhen = {{ {when} }}"));
        for (v, e) in values.iter().zip(expect) {
            let s = [sig("x", *v)];
            let f = FrameView {
                signals: &s,
                points: &[],
                store: None,
                t_ns: 0,
                board: None,
            };
            assert_eq!(r.when().eval(&f).0, e, "{when} at {v}");
        }
    }
    // A missing signal never holds.
    let r = rule("id = \"r\"\nwhen = { signal = \"x\", below = 80.0 }");
    let f = FrameView {
        signals: &[],
        points: &[],
        store: None,
        t_ns: 0,
        board: None,
    };
    assert!(!r.when().eval(&f).0);
}

#[test]
fn sustain_restarts_after_a_one_frame_dip() {
    // 100 ms frames, for = 0.3 s: needs 4 frames in a row (t, t+0.1, t+0.2, t+0.3).
    let r = rule("id = \"r\"\nwhen = { signal = \"k\", below = 80.0 }\nfor = \"0.3s\"");
    let v = [70.0, 70.0, 70.0, 90.0, 70.0, 70.0, 70.0, 70.0, 70.0];
    assert_eq!(run_signal(&r, "k", &v, 100), vec![(7, TriggerEdge::Rise)]);
    // Without the dip it fires at frame 3, once.
    let v = [70.0; 9];
    assert_eq!(run_signal(&r, "k", &v, 100), vec![(3, TriggerEdge::Rise)]);
}

#[test]
fn hysteresis_uses_separate_thresholds_and_clear_after() {
    let r = rule(
        r#"
        id = "r"
        when = { signal = "k", below = 80.0 }
        clear_when = { signal = "k", above = 90.0 }
        clear_after = "0.2s"
        edge = "while_active"
        update_every = "10s"
        "#,
    );
    // 85 is between the thresholds: stays active. 95 for 2 frames (0.1 s) is not enough;
    // 95 for 3 frames (0.2 s) ends it.
    let v = [
        75.0, 85.0, 85.0, 95.0, 95.0, 85.0, 95.0, 95.0, 95.0, 85.0, 75.0,
    ];
    assert_eq!(
        run_signal(&r, "k", &v, 100),
        vec![
            (0, TriggerEdge::Begin),
            (8, TriggerEdge::End),
            (10, TriggerEdge::Begin)
        ]
    );
}

#[test]
fn cooldown_suppresses_until_its_exact_end() {
    let r = rule("id = \"r\"\nwhen = { signal = \"k\", below = 80.0 }\ncooldown = \"0.5s\"");
    // Rise at 0; falls at 1; rises at 2 (0.2 s: cooling, waits while it holds); fires at
    // exactly 0.5 s (frame 5).
    let v = [70.0, 90.0, 70.0, 70.0, 70.0, 70.0, 70.0];
    assert_eq!(
        run_signal(&r, "k", &v, 100),
        vec![(0, TriggerEdge::Rise), (5, TriggerEdge::Rise)]
    );
    // A rise during the cooldown that is gone by its end does not fire.
    let v = [70.0, 90.0, 70.0, 90.0, 90.0, 90.0, 90.0];
    assert_eq!(run_signal(&r, "k", &v, 100), vec![(0, TriggerEdge::Rise)]);
}

#[test]
fn edges_rise_fall_and_while_active() {
    let v = [90.0, 70.0, 70.0, 70.0, 90.0, 90.0];
    let on_fall = rule("id = \"r\"\nwhen = { signal = \"k\", below = 80.0 }\nedge = \"on_fall\"");
    assert_eq!(
        run_signal(&on_fall, "k", &v, 100),
        vec![(4, TriggerEdge::Fall)]
    );
    let on_rise = rule("id = \"r\"\nwhen = { signal = \"k\", below = 80.0 }");
    assert_eq!(
        run_signal(&on_rise, "k", &v, 100),
        vec![(1, TriggerEdge::Rise)]
    );
    let wa = rule(
        "id = \"r\"\nwhen = { signal = \"k\", below = 80.0 }\nedge = \"while_active\"\n\
         update_every = \"0.1s\"",
    );
    assert_eq!(
        run_signal(&wa, "k", &v, 100),
        vec![
            (1, TriggerEdge::Begin),
            (2, TriggerEdge::Update),
            (3, TriggerEdge::Update),
            (4, TriggerEdge::End)
        ]
    );
}

#[test]
fn nested_all_any_not() {
    let r = rule(
        r#"
        id = "r"
        when = { all = [
            { signal = "a", above = 0.0 },
            { any = [ { signal = "b", above = 0.0 }, { not = { signal = "c", above = 0.0 } } ] },
        ] }
        "#,
    );
    let eval = |a: f64, b: f64, c: f64| {
        let s = [sig("a", a), sig("b", b), sig("c", c)];
        r.when()
            .eval(&FrameView {
                signals: &s,
                points: &[],
                store: None,
                t_ns: 0,
                board: None,
            })
            .0
    };
    assert!(eval(1.0, 1.0, 1.0));
    assert!(eval(1.0, -1.0, -1.0));
    assert!(!eval(1.0, -1.0, 1.0));
    assert!(!eval(-1.0, 1.0, -1.0));
}

#[test]
fn points_in_zones_and_above_other_points() {
    let r = rule(
        r#"
        id = "r"
        when = { all = [
            { point = "ball", inside = [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]] },
            { point = "left_wrist", higher_than = "nose" },
        ] }
        "#,
    );
    let eval = |ball: (f64, f64), wrist_y: f64| {
        let p = [
            pt("ball", ball.0, ball.1),
            pt("nose", 50.0, 100.0),
            pt("left_wrist", 40.0, wrist_y),
        ];
        r.when()
            .eval(&FrameView {
                signals: &[],
                points: &p,
                store: None,
                t_ns: 0,
                board: None,
            })
            .0
    };
    assert!(eval((50.0, 50.0), 80.0));
    assert!(!eval((150.0, 50.0), 80.0));
    assert!(!eval((50.0, 50.0), 120.0));
    // A concave zone (an L): the notch is outside.
    let l = rule(
        r#"
        id = "l"
        when = { point = "p", inside = [[0,0],[100,0],[100,40],[40,40],[40,100],[0,100]] }
        "#,
    );
    let at = |x: f64, y: f64| {
        let p = [pt("p", x, y)];
        l.when()
            .eval(&FrameView {
                signals: &[],
                points: &p,
                store: None,
                t_ns: 0,
                board: None,
            })
            .0
    };
    assert!(at(20.0, 80.0));
    assert!(at(80.0, 20.0));
    assert!(!at(80.0, 80.0));
}

#[test]
fn phases_follow_the_condition() {
    let r = rule("id = \"r\"\nwhen = { signal = \"k\", below = 80.0 }\nfor = \"0.2s\"");
    let mut st = RuleState::default();
    let mut phases = Vec::new();
    for (i, v) in [90.0, 70.0, 70.0, 70.0, 90.0].iter().enumerate() {
        let s = [sig("k", *v)];
        let f = FrameView {
            signals: &s,
            points: &[],
            store: None,
            t_ns: 0,
            board: None,
        };
        r.step(&mut st, &f, i as u64 * 100 * MS);
        phases.push(st.phase());
    }
    use Phase::*;
    assert_eq!(phases, vec![Armed, Pending, Pending, Active, Armed]);
}
