//! `game_state`'s shot start on tracked balls from a fixture: a resting cue ball whose estimate
//! jitters past `start_mm` for a frame is not a shot; one that keeps moving away is, and the
//! event carries the frame it first left; a clear jump starts a shot at once. Pocketing: a
//! ball hidden for a few frames before it is flagged pocketed is still reported (a scratch
//! for the cue ball), once; a ball already down when the game is first seen is not; a cue
//! ball shown pocketed beside itself back on the table (re-spotted at once) is a scratch, once.

mod common;

use common::TrackedFixture;
use framebus_core::frame::PixelFormat;
use framebus_core::harness::Harness;
use framebus_stages::billiards::game_state::{GameState, GameStateStage};
use serde_json::json;

fn balls(cue_x: f64, at_rest: bool) -> serde_json::Value {
    json!({"balls": [
        {"id": "cue", "x": cue_x, "y": 0.5, "vx": 0.0, "vy": 0.0, "at_rest": at_rest},
        {"id": "1", "x": 1.4, "y": 0.55, "vx": 0.0, "vy": 0.0, "at_rest": true}
    ]})
}

/// Publishes the cue ball at `cue_x`, processes a frame, returns (frame id, shot starts seen
/// in this frame's events as their frame ids).
fn step(h: &mut Harness, cue_x: f64, at_rest: bool) -> (u64, Vec<u64>) {
    h.command("ball_tracking", "set_params", balls(cue_x, at_rest))
        .unwrap();
    let f = h.frame(8, 8, PixelFormat::Gray8, |d| d.fill(0));
    let id = f.frame_id;
    h.process_raw(&f);
    let gs = h.result::<GameState>("game_state").unwrap();
    let starts = gs
        .events
        .iter()
        .filter(|e| e.kind == "shot_started")
        .map(|e| e.frame_id)
        .collect();
    (id, starts)
}

fn harness() -> Harness {
    Harness::builder()
        .stage::<TrackedFixture>("ball_tracking", balls(0.5, true))
        .stage::<GameStateStage>("game_state", json!({}))
        .build()
        .unwrap()
}

#[test]
fn a_one_frame_jitter_is_not_a_shot_but_a_ball_moving_away_is() {
    let mut h = harness();
    for _ in 0..3 {
        assert!(step(&mut h, 0.5, true).1.is_empty());
    }
    // 2.1 mm off for one frame (start_mm is 1.5), then back: no shot.
    assert!(step(&mut h, 0.5021, true).1.is_empty());
    assert!(step(&mut h, 0.5, true).1.is_empty());
    assert!(step(&mut h, 0.5, true).1.is_empty());
    assert_eq!(h.result::<GameState>("game_state").unwrap().shots, 0);
    // A strike: 3 mm in the first frame, 15 mm in the next. The shot is published on the
    // second frame and dated to the first.
    let (first, starts) = step(&mut h, 0.503, false);
    assert!(starts.is_empty());
    let (_, starts) = step(&mut h, 0.515, false);
    assert_eq!(starts, vec![first]);
    let gs = h.result::<GameState>("game_state").unwrap();
    assert_eq!((gs.shots, gs.phase), (1, "moving"));
}

#[test]
fn a_clear_jump_starts_a_shot_at_once_and_a_settled_nudge_moves_the_rest_position() {
    let mut h = harness();
    for _ in 0..3 {
        step(&mut h, 0.5, true);
    }
    // Nudged 2 mm and staying there with everything at rest: the rest position moves, no shot.
    for _ in 0..4 {
        assert!(step(&mut h, 0.502, true).1.is_empty());
    }
    assert_eq!(h.result::<GameState>("game_state").unwrap().shots, 0);
    // 12 mm in one frame (more than four times start_mm): a shot on this frame.
    let (id, starts) = step(&mut h, 0.514, false);
    assert_eq!(starts, vec![id]);
}

/// Publishes `balls`, processes a frame, returns this frame's events as (kind, first ball).
fn events(h: &mut Harness, balls: serde_json::Value) -> Vec<(&'static str, &'static str)> {
    h.command("ball_tracking", "set_params", balls).unwrap();
    let f = h.frame(8, 8, PixelFormat::Gray8, |d| d.fill(0));
    h.process_raw(&f);
    let gs = h.result::<GameState>("game_state").unwrap();
    gs.events
        .iter()
        .filter(|e| e.kind != "state_updated")
        .map(|e| (e.kind, e.balls[0]))
        .collect()
}

#[test]
fn a_ball_hidden_before_it_is_flagged_pocketed_is_still_reported_and_the_cue_ball_scratches() {
    let ball = |id: &str, x: f64, pocketed: bool| json!({"id": id, "x": x, "y": 0.5, "vx": 0.0, "vy": 0.0, "at_rest": true, "pocketed": pocketed});
    let mut h = harness();
    // Ball 1 is already down when the game is first seen: never reported.
    let start = json!({"balls": [ball("cue", 0.5, false), ball("1", 1.4, true)]});
    for _ in 0..3 {
        assert!(events(&mut h, start.clone()).is_empty());
    }
    // The cue ball: hidden by the tracker for two frames (lost over the pocket mouth),
    // then flagged pocketed: `pocketed` and `scratch` once.
    let hidden = json!({"balls": [ball("1", 1.4, true)]});
    assert!(events(&mut h, hidden.clone()).is_empty());
    assert!(events(&mut h, hidden).is_empty());
    let down = json!({"balls": [ball("cue", 1.9, true), ball("1", 1.4, true)]});
    assert_eq!(
        events(&mut h, down.clone()),
        vec![("pocketed", "cue"), ("scratch", "cue")]
    );
    assert!(events(&mut h, down).is_empty());
    let gs = h.result::<GameState>("game_state").unwrap();
    assert_eq!(gs.pocketed, vec!["cue"]);
}

#[test]
fn a_cue_ball_pocketed_and_re_spotted_in_the_same_frame_is_a_scratch_once() {
    let ball = |id: &str, x: f64, pocketed: bool| json!({"id": id, "x": x, "y": 0.5, "vx": 0.0, "vy": 0.0, "at_rest": true, "pocketed": pocketed});
    let mut h = harness();
    let start = json!({"balls": [ball("cue", 0.5, false), ball("1", 1.4, false)]});
    for _ in 0..3 {
        assert!(events(&mut h, start.clone()).is_empty());
    }
    // The tracker shows the dropped cue ball pocketed beside the cue ball back on the head
    // spot (the scene re-spots it as soon as the balls rest).
    let both =
        json!({"balls": [ball("cue", 0.5, false), ball("cue", 1.95, true), ball("1", 1.4, false)]});
    let ev = events(&mut h, both);
    assert!(
        ev.contains(&("pocketed", "cue")) && ev.contains(&("scratch", "cue")),
        "{ev:?}"
    );
    // Then only the re-spotted ball: nothing more.
    assert!(events(&mut h, start.clone()).is_empty());
    assert!(events(&mut h, start).is_empty());
    let gs = h.result::<GameState>("game_state").unwrap();
    assert_eq!(gs.pocketed, vec!["cue"]);
}
