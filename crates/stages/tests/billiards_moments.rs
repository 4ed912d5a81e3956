//! Moments of the 100-shot scored scene (`SyntheticTable::scored_scene`, the one
//! `framebus bench --only billiards_live` plays) where the tracker once failed, each played
//! from a little before it (the scene run on without drawing, `SyntheticTable::skip_to`)
//! through the vision stages and scored against the truth: no identity switch, and every
//! `shot_started`, `pocketed` and `balls_at_rest` within tolerance.
//!
//! `FRAMEBUS_BILLIARDS_FROM` / `FRAMEBUS_BILLIARDS_TO` (seconds) play any other stretch in
//! the ignored test `stretch`, describing the frames before each switch;
//! `FRAMEBUS_BILLIARDS_BALL=n` also prints ball `n`'s truth every frame, with the detections
//! and tracks near it (and the pocketed tracks); `FRAMEBUS_BILLIARDS_EVENTS=s` prints the
//! true events since `s` seconds.

use std::sync::Arc;

use framebus_billiards::TrackedBalls;
use framebus_core::clock::ManualClock;
use framebus_core::source::Source;
use framebus_media::synthetic_table::{SyntheticTable, TrackingReport, TrackingScore};
use framebus_stages::billiards::ball_detection::DetectedBalls;
use framebus_stages::billiards::game_state::GameState;
use framebus_stages::billiards::vision_harness;

/// Plays the scored scene from `from` to `to` seconds and scores it (tracing switches).
fn play(from: f64, to: f64) -> TrackingReport {
    let mut cam = SyntheticTable::scored_scene(Arc::new(ManualClock::new())).unwrap();
    let fps = cam.scene_fps();
    cam.skip_to((from * fps).round() as u64 + 1);
    let mut h = vision_harness().unwrap();
    let mut score = TrackingScore::new(fps).trace(true);
    let last = (to * fps).round() as u64 + 1;
    while cam.truth().frame_id < last {
        let f = cam.next_frame().unwrap().unwrap();
        h.process_raw(&f);
        if let Some(n) = std::env::var("FRAMEBUS_BILLIARDS_BALL")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        {
            let b = &cam.truth().balls[n % 16];
            println!(
                "truth f{} ball {n}: {:?} v {:?} pocketed {}",
                cam.truth().frame_id,
                b.m,
                b.vel,
                b.pocketed
            );
        }
        drop(f);
        if let Some(n) = std::env::var("FRAMEBUS_BILLIARDS_BALL")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        {
            // What the stages saw within three radii of the ball.
            let at = cam.truth().balls[n % 16].m;
            let near = |m: [f64; 2]| (m[0] - at[0]).hypot(m[1] - at[1]) < 0.09;
            if let Some(d) = h.result::<DetectedBalls>("ball_detection") {
                for b in d.balls.iter().filter(|b| near(b.m)) {
                    println!("  detected {} {:?} conf {:.2}", b.label, b.m, b.confidence);
                }
            }
            for t in &h.result::<TrackedBalls>("ball_tracking").unwrap().balls {
                if near([t.x, t.y]) || t.pocketed {
                    println!(
                        "  tracked {} [{:.4}, {:.4}] v [{:.3}, {:.3}] rest {} pocketed {}",
                        t.id, t.x, t.y, t.vx, t.vy, t.at_rest, t.pocketed
                    );
                }
            }
        }
        if let Some(d) = h.result::<DetectedBalls>("ball_detection")
            && std::env::var_os("FRAMEBUS_BILLIARDS_OFF_TABLE").is_some()
        {
            // Detections past the cushion noses (in a pocket's jaws or over its hole).
            for b in d
                .balls
                .iter()
                .filter(|b| !(0.0..=1.9812).contains(&b.m[0]) || !(0.0..=0.9906).contains(&b.m[1]))
            {
                println!(
                    "  f{} past the nose: {} {:?} r {:.2} px conf {:.2} support {:.2}",
                    cam.truth().frame_id,
                    b.label,
                    b.m,
                    b.r,
                    b.confidence,
                    b.edge_support
                );
            }
        }
        if let Some(d) = h.result::<DetectedBalls>("ball_detection") {
            score.detections(d.balls.iter().map(|b| (b.number, b.m, b.confidence)));
        }
        score.tracked(
            cam.truth(),
            h.result::<TrackedBalls>("ball_tracking").unwrap(),
        );
        for e in &h.result::<GameState>("game_state").unwrap().events {
            score.event(e.kind, e.frame_id, e.balls[0]);
        }
    }
    let r = score.report(cam.events());
    if let Some(since) = std::env::var("FRAMEBUS_BILLIARDS_EVENTS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        for e in cam.events().iter().filter(|e| e.t >= since) {
            println!("  truth event {:.3} s {:?} {} {}", e.t, e.kind, e.a, e.b);
        }
    }
    println!("{from}..{to} s: {r}");
    for (i, s) in r.switch_log.iter().enumerate() {
        let detail = r.switch_detail.get(i).map_or("", String::as_str);
        println!("  switch: {s}{detail}");
    }
    for m in &r.missed {
        println!("  missed: {m}");
    }
    for s in &r.spurious_log {
        println!("  spurious: {s}");
    }
    r
}

#[test]
#[ignore = "exploration: FRAMEBUS_BILLIARDS_FROM / _TO seconds"]
fn stretch() {
    let secs = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<f64>().ok());
    let from = secs("FRAMEBUS_BILLIARDS_FROM").unwrap_or(0.0);
    let to = secs("FRAMEBUS_BILLIARDS_TO").unwrap_or(from + 5.0);
    play(from, to);
}

/// Every pot in the window reported within its tolerance: none missed, none spurious.
fn assert_pots_on_time(r: &TrackingReport) {
    assert!(
        !r.missed.iter().any(|m| m.starts_with("pocketed")),
        "{:?}",
        r.missed
    );
    assert_eq!(r.spurious[1], 0, "{:?}", r.spurious_log);
}

/// The cue ball scratched is re-spotted on the head spot on the frame the balls come to
/// rest (that frame's exposure shows it half drawn). Once named "?" for that frame, then
/// "cue"; twice named after another ball (its old track, still waiting at the pocket, held
/// the name "cue" with more votes). Its scratch must be reported too.
fn re_spotted_cue_ball(from: f64, to: f64) -> TrackingReport {
    let r = play(from, to);
    assert_eq!(r.switches_by_ball[0], 0, "{:?}", r.switch_log);
    assert_eq!(r.id_errors_by_ball[0], 0, "{r}");
    assert_pots_on_time(&r);
    r
}

#[test]
fn re_spotted_cue_ball_is_not_named_unknown_first() {
    // Re-spotted at 199.28 s.
    let r = re_spotted_cue_ball(198.0, 200.0);
    assert!(r.checks > 0, "{r}");
}

#[test]
fn cue_ball_dropped_after_a_jaw_keeps_its_name_when_re_spotted() {
    // Lost in a side pocket's jaws at 435.72 s (it bounces off the point and drops at
    // 435.75 s: its run-on misses the pocket), re-spotted at 435.76 s: named 4 before.
    let r = re_spotted_cue_ball(434.5, 436.5);
    assert_eq!(r.counts[1], 1, "the scratch is in the window: {r}");
}

#[test]
fn cue_ball_pocketed_and_re_spotted_keeps_its_name() {
    // Drops in a side pocket at 472.88 s, re-spotted the same frame: named 9 before.
    let r = re_spotted_cue_ball(471.5, 473.5);
    assert_eq!(r.counts[1], 1, "the scratch is in the window: {r}");
}

/// A ball knocked into a side pocket hits the jaw and drops: its straight run-on misses the
/// pocket circle. Once never reported (the track was dropped 30 frames later); now called
/// pocketed after 3 frames unseen in the mouth, heading in.
fn jaw_drop(from: f64, to: f64, ball: &str) {
    let r = play(from, to);
    assert!(r.counts[1] >= 1, "a pot in the window: {r}");
    assert_pots_on_time(&r);
    assert!(
        r.switch_log
            .iter()
            .all(|s| !s.contains(&format!("ball {ball} "))),
        "{:?}",
        r.switch_log
    );
}

#[test]
fn ball_dropped_off_a_side_pocket_jaw_is_reported_in_time() {
    // Ball 6 at 480.63 s, lost at 0.9 m/s beside the side pocket's point.
    jaw_drop(479.5, 481.5, "6");
}

#[test]
fn ball_knocked_in_after_a_collision_is_reported_in_time() {
    // Ball 1 at 411.63 s.
    jaw_drop(410.5, 412.5, "1");
}

/// Nothing missed and nothing spurious in the window: every shot start, pot and rest on
/// time.
fn assert_all_on_time(r: &TrackingReport) {
    assert!(r.missed.is_empty(), "{r}: {:?}", r.missed);
    assert_eq!(r.spurious, [0, 0, 0], "{:?}", r.spurious_log);
}

#[test]
fn slow_ball_stopping_on_a_pocket_rim_stays_on_the_table() {
    // Ball 11 at 31.30 s stops in a corner pocket's jaws, its centre past the cushion nose on
    // the pocket circle's rim. It stays there (the synthetic table once logged it pocketed
    // while drawing it on; the tracker called it pocketed: `ball_detection` looked for
    // centres inside the playing area only), and the balls come to rest.
    let r = play(29.0, 32.5);
    assert_eq!(r.counts, [1, 0, 1], "{r}");
    assert_all_on_time(&r);
}

#[test]
fn ball_on_a_pocket_rim_knocked_in_is_seen_until_it_drops() {
    // Ball 11, on the rim since 31.3 s, is knocked at 185.3 s and rolls on round inside the
    // circle, over the hole and half behind the rail, until it drops at 186.22 s (the
    // physics finds a pocket only as a centre enters a circle). Once never reported (not
    // detected in the jaws), then called pocketed as soon as it was lost over the hole.
    let r = play(184.0, 188.0);
    assert_eq!(r.counts, [1, 1, 1], "{r}");
    assert_all_on_time(&r);
    assert_eq!(r.switches_by_ball[11], 0, "{:?}", r.switch_log);
}

#[test]
fn ball_knocked_in_from_beside_a_pocket_is_reported_in_time() {
    // Ball 14 at 458.54 s rests on a corner pocket's rim and is knocked in by the cue ball;
    // its filter, pulled by the hit, points out of the mouth. Once reported 8 frames late
    // (by the rule for a ball lost in the mouth heading out); now as soon as it vanishes
    // where it was last seen, at the circle. The cue ball stops on that pocket's rim past
    // the nose (458.78 s): seen there, not pocketed.
    let r = play(457.5, 459.5);
    assert_eq!(r.counts[1], 1, "{r}");
    assert_all_on_time(&r);
    assert_eq!(r.switches_by_ball[14], 0, "{:?}", r.switch_log);
}

#[test]
fn cue_ball_played_from_a_pocket_rim_starts_a_shot_and_comes_to_rest() {
    // The cue ball, on a corner pocket's rim past the cushion nose since 458.78 s, is played
    // at 459.92 s: once neither the shot nor the rest after it (465.09 s) was seen.
    let r = play(459.0, 466.0);
    assert_eq!(r.counts, [1, 0, 1], "{r}");
    assert_all_on_time(&r);
    assert_eq!(r.switches_by_ball[0], 0, "{:?}", r.switch_log);
}
