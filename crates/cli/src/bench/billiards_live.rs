//! The billiards trainer on its synthetic camera (seed 002's goals):
//!
//! - Tracking over scripted shots at 60 fps (100 shots; 20 with `--quick`): the vision
//!   stages run in process on a manual clock, frame by frame, and are scored against the
//!   table's ground truth (`TrackingScore`): identity switches, `shot_started` / `pocketed` /
//!   `balls_at_rest` timing and spurious events. Counts, printed as rows (the test
//!   `billiards_tracking` asserts them on a smaller set).
//! - Camera → lines: `examples/billiards.toml`'s chain (table, ball and cue detection,
//!   tracking, trajectory, game state) in the real runtime at 1920×1080, 60 fps, `latest`
//!   edge. For every snapshot that carries predicted lines (`trajectory.paths` not empty), the
//!   age = the time its JSON is handed to the observers (the server's WebSocket fan-out is
//!   one of them) − the frame's capture time, on the runtime's clock. p50 and p95 beside the
//!   issue's goal (30 ms p95). The WebSocket send itself is the `freshness` hop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use framebus_billiards::TrackedBalls;
use framebus_core::clock::{Clock, ManualClock, MonotonicClock};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_core::source::Source;
use framebus_media::synthetic_table::{SyntheticTable, TrackingScore};
use framebus_stages::billiards::ball_detection::DetectedBalls;
use framebus_stages::billiards::game_state::GameState;
use framebus_stages::billiards::vision_harness;

use super::fixtures::config;
use super::{Row, Scale, quantile};

/// Plays `shots` random shots of the scored scene (seed 11, 60 fps, 960×540) and scores
/// the tracker. With `FRAMEBUS_BILLIARDS_TRACE` set, each identity switch is printed with
/// the frames before it (truth, tracked balls and detections near the ball).
fn tracking(shots: u32) -> anyhow::Result<Vec<Row>> {
    let mut cam = SyntheticTable::scored_scene(Arc::new(ManualClock::new()))?;
    let fps = cam.scene_fps();
    let mut h = vision_harness().map_err(anyhow::Error::msg)?;
    let mut score =
        TrackingScore::new(fps).trace(std::env::var_os("FRAMEBUS_BILLIARDS_TRACE").is_some());
    while cam.truth().shots <= shots {
        let Some(f) = cam.next_frame()? else { break };
        h.process_raw(&f);
        if let Some(d) = h.result::<DetectedBalls>("ball_detection") {
            score.detections(d.balls.iter().map(|b| (b.number, b.m, b.confidence)));
        }
        if let Some(tracked) = h.result::<TrackedBalls>("ball_tracking") {
            score.tracked(cam.truth(), tracked);
        }
        if let Some(gs) = h.result::<GameState>("game_state") {
            for e in &gs.events {
                score.event(e.kind, e.frame_id, e.balls[0]);
            }
        }
    }
    let r = score.report(cam.events());
    eprintln!("billiards tracking, {shots} shots: {r}");
    for m in &r.missed {
        eprintln!("  missed: {m}");
    }
    for (i, s) in r.switch_log.iter().enumerate() {
        let detail = r.switch_detail.get(i).map_or("", String::as_str);
        eprintln!("  switch: {s}{detail}");
    }
    for s in &r.spurious_log {
        eprintln!("  spurious: {s}");
    }
    eprintln!(
        "  id errors per ball (cue, 1..15): {:?}",
        r.id_errors_by_ball
    );
    let metric = |what: &str| format!("{shots} shots at 60 fps 960×540: {what}");
    Ok(vec![
        Row::new(
            "billiards_live",
            metric("identity switches"),
            r.switches as f64,
            "count",
        )
        .vs("goal", 0.0),
        Row::new(
            "billiards_live",
            metric(&format!(
                "shot_started worst offset ({} shots, {} missed, {} spurious)",
                r.counts[0],
                r.missed
                    .iter()
                    .filter(|m| m.starts_with("shot_started"))
                    .count(),
                r.spurious[0]
            )),
            r.worst[0],
            "frames",
        )
        .vs("goal", 1.0),
        Row::new(
            "billiards_live",
            metric(&format!(
                "pocketed worst offset ({} balls, {} missed, {} spurious)",
                r.counts[1],
                r.missed
                    .iter()
                    .filter(|m| m.starts_with("pocketed"))
                    .count(),
                r.spurious[1]
            )),
            r.worst[1],
            "frames",
        )
        .vs("goal", 2.0),
        Row::new(
            "billiards_live",
            metric(&format!(
                "balls_at_rest worst offset ({} shots, {} missed, {} spurious)",
                r.counts[2],
                r.missed
                    .iter()
                    .filter(|m| m.starts_with("balls_at_rest"))
                    .count(),
                r.spurious[2]
            )),
            r.worst[2] * 1e3,
            "ms",
        )
        .vs("goal", 200.0),
    ])
}

/// Ages of snapshots with predicted lines.
struct LineAges {
    clock: Arc<MonotonicClock>,
    seen: AtomicU64,
    ages: Mutex<Vec<u64>>,
    /// Ages of every snapshot (with or without lines).
    all: Mutex<Vec<u64>>,
}

impl Observer for LineAges {
    fn snapshot(&self, snap: &SnapshotOut<'_>) {
        let age = self.clock.now_ns().saturating_sub(snap.frame.t_ns);
        self.seen.fetch_add(1, Ordering::Relaxed);
        let has_lines = snap.json.windows(10).any(|w| w == b"\"paths\":[{");
        if let Ok(mut a) = self.all.lock() {
            a.push(age);
        }
        if has_lines && let Ok(mut a) = self.ages.lock() {
            a.push(age);
        }
    }
}

/// The chain at 1920×1080, 60 fps, in the runtime for `secs`.
fn camera_to_lines(secs: f64) -> anyhow::Result<Vec<Row>> {
    let cfg = config(
        r#"
        [runtime]
        pool_frames = 8
        [[sources]]
        id = "camera_0"
        kind = "synthetic_table"
        edge = { policy = "latest" }
        params = { width = 1920, height = 1080, fps = 60, seed = 1, aim_s = 2.0, pause_s = 0.3 }
        [[stages]]
        plugin = "table_detection"
        [[stages]]
        plugin = "ball_detection"
        [[stages]]
        plugin = "cue_detection"
        [[stages]]
        plugin = "ball_tracking"
        [[stages]]
        plugin = "trajectory"
        [[stages]]
        plugin = "game_state"
        "#,
    )?;
    let clock = Arc::new(MonotonicClock::new());
    let ages = Arc::new(LineAges {
        clock: clock.clone(),
        seen: AtomicU64::new(0),
        ages: Mutex::new(Vec::with_capacity(4096)),
        all: Mutex::new(Vec::with_capacity(4096)),
    });
    let rt = Runtime::start(
        &cfg,
        RuntimeOptions {
            clock,
            observers: vec![ages.clone() as Arc<dyn Observer>],
            ..Default::default()
        },
    )?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    let status = rt.status();
    rt.shutdown();
    let s = &status.sources[0];
    let seen = ages.seen.load(Ordering::Relaxed);
    let mut v = std::mem::take(&mut *ages.ages.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let with_lines = v.len();
    let (p50, p95) = (quantile(&mut v, 0.5), quantile(&mut v, 0.95));
    let mut all = std::mem::take(&mut *ages.all.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let (all50, all95) = (quantile(&mut all, 0.5), quantile(&mut all, 0.95));
    let ms = |ns: u64| ns as f64 / 1e6;
    eprintln!(
        "billiards camera → lines at 1920×1080 60 fps: {seen} snapshots in {secs} s, {with_lines} with lines, {} dropped of {} sent; p50 {:.2} ms p95 {:.2} ms",
        s.dropped,
        s.sent,
        ms(p50),
        ms(p95)
    );
    let per_stage: Vec<String> = s
        .stages
        .iter()
        .map(|st| format!("{} {:.1}", st.id, st.mean_ms))
        .collect();
    eprintln!("  stage means, ms: {}", per_stage.join(", "));
    eprintln!(
        "  every snapshot ({}): p50 {:.2} ms p95 {:.2} ms",
        all.len(),
        ms(all50),
        ms(all95)
    );
    Ok(vec![
        Row::new(
            "billiards_live",
            format!("1920×1080 60 fps camera → snapshot with lines p50 ({with_lines} snapshots)"),
            ms(p50),
            "ms",
        ),
        Row::new(
            "billiards_live",
            "1920×1080 60 fps camera → snapshot with lines p95",
            ms(p95),
            "ms",
        )
        .vs("goal", 30.0),
        Row::new(
            "billiards_live",
            "1920×1080 60 fps camera → every snapshot p95",
            ms(all95),
            "ms",
        )
        .vs("goal", 30.0),
        Row::new(
            "billiards_live",
            "1920×1080 60 fps frames dropped (latest edge)",
            100.0 * s.dropped as f64 / s.sent.max(1) as f64,
            "%",
        ),
        Row::new(
            "billiards_live",
            "1920×1080 snapshots per second",
            seen as f64 / secs,
            "fps",
        )
        .vs("camera", 60.0),
    ])
}

/// Runs the billiards trainer figures.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let mut rows = camera_to_lines(scale.pick(5.0, 20.0))?;
    rows.extend(tracking(scale.pick(20, 100))?);
    Ok(rows)
}
