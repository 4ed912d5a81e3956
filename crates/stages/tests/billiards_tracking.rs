//! Tracking and game events over scripted shots at 60 fps on the synthetic table, scored
//! against its ground truth (`TrackingScore`): no identity switches, `shot_started` within 1
//! frame, `pocketed` within 2 frames, `balls_at_rest` within 200 ms, no spurious events — and,
//! in the same run, the vision stages (table, ball and cue detection, tracking, game state)
//! allocate nothing per frame once the first shot has warmed them (counting allocator; one
//! test per binary). The pipeline runs in process on a manual clock (exact frame times). The
//! 100-shot run is `framebus bench --only billiards_live` (a release build); this test plays
//! a few of the same shots (same seed and timing), so a debug build stays under a minute.

use std::alloc::System;
use std::sync::Arc;

use framebus_billiards::TrackedBalls;
use framebus_core::clock::ManualClock;
use framebus_core::harness::Harness;
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_media::synthetic_table::{SyntheticTable, SyntheticTableParams, TrackingScore};
use framebus_stages::billiards::ball_detection::BallDetection;
use framebus_stages::billiards::ball_tracking::BallTracking;
use framebus_stages::billiards::cue_detection::CueDetectionStage;
use framebus_stages::billiards::game_state::{GameState, GameStateStage};
use framebus_stages::billiards::table_detection::TableDetection;
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn scripted_shots_keep_identities_follow_the_truth_and_do_not_allocate() {
    let fps = 60.0;
    let shots = 3;
    // The bench's scene (`billiards_live`): random shots from seed 11 at 960×540.
    let params = SyntheticTableParams {
        width: 960,
        height: 540,
        fps,
        seed: 11,
        aim_s: 0.4,
        pause_s: 0.3,
        ..Default::default()
    };
    let init = SourceInit {
        id: Arc::from("camera_0"),
        index: 0,
        clock: Arc::new(ManualClock::new()),
        stop: StopFlag::new(),
        pool_frames: 4,
        base_dir: std::env::temp_dir(),
        shared_frames: false,
    };
    let mut cam = SyntheticTable::new(params, &init).unwrap();
    let mut h = Harness::builder()
        .stage::<TableDetection>("table_detection", json!({}))
        .stage::<BallDetection>("ball_detection", json!({}))
        .stage::<CueDetectionStage>("cue_detection", json!({}))
        .stage::<BallTracking>("ball_tracking", json!({}))
        .stage::<GameStateStage>("game_state", json!({}))
        .build()
        .unwrap();
    let mut score = TrackingScore::new(fps);
    let (mut counted, mut allocs, mut counted_kinds) = (0u64, 0u64, Vec::new());
    while cam.truth().shots <= shots && cam.truth().frame_id < 60 * 90 {
        let f = cam.next_frame().unwrap().unwrap();
        // Warm after two shots: every stage has seen aiming, motion and rest, and the
        // snapshot's JSON buffer (kept by the runtime, grown by doubling) has reached the
        // size the game's growing recent-events list needs.
        let count = cam.truth().shots >= 3;
        let region = Region::new(GLOBAL);
        h.process_raw(&f);
        let c = region.change();
        drop(f);
        let tracked = h.result::<TrackedBalls>("ball_tracking").unwrap();
        score.frame(
            cam.truth(),
            tracked
                .balls
                .iter()
                .map(|b| (b.id.as_str(), [b.x, b.y], b.pocketed)),
        );
        let gs = h.result::<GameState>("game_state").unwrap();
        for e in &gs.events {
            score.event(e.kind, e.frame_id, e.balls[0]);
            if count {
                counted_kinds.push(e.kind);
            }
        }
        if count {
            counted += 1;
            allocs += (c.allocations + c.reallocations) as u64;
        }
    }
    let r = score.report(cam.events());
    println!(
        "tracking over {shots} shots at {fps} fps 960x540: {r}; {allocs} allocations in {counted} warm frames"
    );
    assert_eq!(r.switches, 0, "{r}");
    assert!(r.missed.is_empty(), "{:?}", r.missed);
    assert_eq!(r.spurious, [0; 3], "{r}");
    assert!(
        r.counts[0] >= shots as usize && r.counts[2] >= shots as usize,
        "{r}"
    );
    // The counted frames really played shots: started, hit balls, came to rest.
    for k in ["shot_started", "ball_collision", "balls_at_rest"] {
        assert!(
            counted_kinds.contains(&k),
            "{k} not among the counted frames' events"
        );
    }
    assert!(counted > 200, "{counted} warm frames");
    assert_eq!(allocs, 0, "allocations in {counted} warm frames");
}
