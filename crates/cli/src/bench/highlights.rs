//! Highlights (seed 004): what fusion rules cost and how fast their effects arrive.
//!
//! - Rule evaluation: 20 rules (signal thresholds, `between`, a point in a polygon zone,
//!   nested `all`/`any`/`not`, `for`, `cooldown`, `while_active`) stepped on one observation
//!   of 10 signals and 5 points whose values sweep so the rules change phase; the baseline is
//!   the same 20 conditions written by hand in Rust (no sustain, no cooldown): the price of
//!   the rule language over code.
//! - Trigger latency: the synthetic rider at 30 fps (real time) with the knee-angle rule,
//!   served by the real server on 127.0.0.1; capture of the frame that fires → the `trigger`
//!   event reaching a real WebSocket client on `/ws/stream` (both on the runtime's clock).
//!   The baseline is the frame interval; goal ≤ 20 ms p95.
//! - Clip latency: the end of a clip's post-roll (trigger time + `post_s`, in capture time)
//!   → its `clip_saved` event at the same client (the MP4 is written and closed). Goal
//!   ≤ 500 ms p95.

use std::sync::Arc;
use std::time::Instant;

use framebus_core::clock::MonotonicClock;
use framebus_core::fusion::{Effects, FusionPlan};
use framebus_core::observer::Observers;
use framebus_core::protocol::ServerMessage;
use framebus_core::results::ResultStore;

use super::fixtures::config;
use super::served::Served;
use super::{Row, Scale, quantile};

/// The 20 rules of the evaluation figure.
fn rules_toml() -> String {
    let mut t = String::from(
        "[[sources]]\nid = \"camera_0\"\nkind = \"bench_frames\"\n[[stages]]\nplugin = \"bench_noop\"\n",
    );
    for i in 0..20 {
        let s = i % 10;
        let p = i % 5;
        let when = match i % 4 {
            0 => format!("{{ signal = \"s{s}\", below = 20.0 }}"),
            1 => format!("{{ signal = \"s{s}\", between = [40.0, 60.0] }}"),
            2 => format!(
                "{{ all = [ {{ signal = \"s{s}\", above = 50.0 }}, {{ not = {{ point = \"p{p}\", inside = [[0,0],[50,0],[50,50],[0,50]] }} }} ] }}"
            ),
            _ => format!(
                "{{ any = [ {{ signal = \"s{s}\", above = 90.0 }}, {{ point = \"p{p}\", inside = [[60,60],[100,60],[100,100]] }} ] }}"
            ),
        };
        let extra = match i % 3 {
            0 => "for = \"0.2s\"\ncooldown = \"1s\"",
            1 => "edge = \"while_active\"\nclear_after = \"0.1s\"",
            _ => "cooldown = \"0.5s\"",
        };
        t.push_str(&format!(
            "[[rules]]\nid = \"r{i}\"\nwhen = {when}\n{extra}\n"
        ));
    }
    t
}

/// Sets 10 signals and 5 points for observation `n` (values sweep 0..100).
fn fill(store: &mut ResultStore, n: u64, names: &[String; 10], points: &[String; 5]) {
    store.signals.clear();
    store.points.clear();
    for (k, name) in names.iter().enumerate() {
        let s = store.signals.push();
        s.name.clear();
        s.name.push_str(name);
        s.value = ((n * 7 + k as u64 * 13) % 100) as f64;
    }
    for (k, name) in points.iter().enumerate() {
        let p = store.points.push();
        p.name.clear();
        p.name.push_str(name);
        p.x = ((n * 3 + k as u64 * 17) % 100) as f64;
        p.y = ((n * 5 + k as u64 * 11) % 100) as f64;
        p.score = 1.0;
    }
}

/// The same conditions by hand: how many hold (kept so the work is not optimized away).
fn by_hand(store: &ResultStore) -> usize {
    let sig = |k: usize| store.signals.as_slice()[k].value;
    let pt = |k: usize| {
        let p = &store.points.as_slice()[k];
        (p.x, p.y)
    };
    let in_square = |(x, y): (f64, f64)| (0.0..=50.0).contains(&x) && (0.0..=50.0).contains(&y);
    let in_tri = |(x, y): (f64, f64)| (60.0..=100.0).contains(&x) && y >= 60.0 && y <= x;
    (0..20)
        .filter(|&i| {
            let (s, p) = (i % 10, i % 5);
            match i % 4 {
                0 => sig(s) < 20.0,
                1 => (40.0..=60.0).contains(&sig(s)),
                2 => sig(s) > 50.0 && !in_square(pt(p)),
                _ => sig(s) > 90.0 || in_tri(pt(p)),
            }
        })
        .count()
}

fn rule_eval(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let cfg = config(&rules_toml())?;
    let plan = FusionPlan::new(&cfg, &std::env::temp_dir())
        .ok_or_else(|| anyhow::anyhow!("the bench config has rules"))?;
    let mut fusion = plan.for_source("camera_0");
    let names: [String; 10] = std::array::from_fn(|k| format!("s{k}"));
    let points: [String; 5] = std::array::from_fn(|k| format!("p{k}"));
    let mut store = ResultStore::new(Vec::<String>::new());
    let observers = Observers::new(Vec::new());
    let fx = Effects {
        bus: None,
        observers: &observers,
    };
    let n = scale.pick(50_000u64, 500_000);
    // 30 fps observation time.
    let dt = 33_333_333u64;
    for i in 0..1000 {
        fill(&mut store, i, &names, &points);
        fusion.observe(i, i * dt, &mut store, &[], &fx);
    }
    let t = Instant::now();
    for i in 1000..1000 + n {
        fill(&mut store, i, &names, &points);
        fusion.observe(i, i * dt, &mut store, &[], &fx);
        store.notifications.clear();
    }
    let rules_ns = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    let mut held = 0usize;
    for i in 1000..1000 + n {
        fill(&mut store, i, &names, &points);
        held += std::hint::black_box(by_hand(&store));
    }
    let hand_ns = t.elapsed().as_nanos() as f64 / n as f64;
    std::hint::black_box(held);
    Ok(vec![
        Row::new(
            "highlights",
            "rule evaluation, 20 rules, per observation",
            rules_ns / 1000.0,
            "µs",
        )
        .vs("goal", 5.0),
        Row::new(
            "highlights",
            "rule evaluation vs the same 20 conditions by hand",
            rules_ns / 1000.0,
            "µs",
        )
        .vs("hand-written Rust", hand_ns / 1000.0),
        Row::new("highlights", "triggers fired", fusion.triggers() as f64, ""),
    ])
}

/// Trigger and clip times, on the runtime's clock.
#[derive(Default)]
struct Times {
    /// Capture time of each triggering frame and when its event arrived.
    triggers: Vec<(u64, u64)>,
    /// Clip label → trigger capture time.
    labels: Vec<(String, u64)>,
    /// Clip latencies: `clip_saved` arrival − (trigger time + post).
    clips: Vec<u64>,
}

impl Times {
    /// Books a `trigger` or `clip_saved` message that arrived at `now`; clips end their
    /// post-roll `post_ns` after their trigger.
    fn record(&mut self, msg: &ServerMessage, now: u64, post_ns: u64) {
        match msg {
            ServerMessage::Trigger(r) => {
                self.triggers.push((r.trigger.t_ns, now));
                if let Some(l) = &r.trigger.clip_label {
                    self.labels.push((l.clone(), r.trigger.t_ns));
                }
            }
            ServerMessage::ClipSaved(c) => {
                if let Some(&(_, at)) = self.labels.iter().find(|(l, _)| *l == c.label) {
                    self.clips.push(now.saturating_sub(at + post_ns));
                }
            }
            _ => {}
        }
    }
}

fn trigger_and_clip(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let dir =
        std::env::temp_dir().join(format!("framebus-bench-highlights-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = trigger_and_clip_in(scale, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn trigger_and_clip_in(scale: Scale, dir: &std::path::Path) -> anyhow::Result<Vec<Row>> {
    let post_s = 0.5;
    let text = format!(
        r#"
[runtime]
recordings_dir = "{rec}"
clip_pre_s = 1.0

[[sources]]
id = "camera_0"
kind = "synthetic_rider"
clips = true
params = {{ width = 640, height = 480, fps = 30, cadence_rpm = 90, seed = 1 }}

[[stages]]
plugin = "blob_detection"
params = {{ threshold = 200, min_area = 10, max_area = 5000 }}

[[stages]]
plugin = "marker_manager"
params.attach_radius = 40
params.markers = [
    {{ id = "hip", x = 248, y = 192, attach = true }},
    {{ id = "knee", x = 357, y = 219, attach = true }},
    {{ id = "ankle", x = 299, y = 312, attach = true }},
]

[[stages]]
plugin = "geometry_manager"
params.tools = [ {{ id = "knee_angle", type = "angle", points = ["hip", "knee", "ankle"] }} ]

[[rules]]
id = "deep_knee"
when = {{ signal = "knee_angle", below = 80.0 }}
cooldown = "1.2s"
actions = [ {{ save_clip = {{ pre_s = 0.5, post_s = {post_s} }} }} ]
"#,
        rec = dir.join("recordings").display()
    );
    let cfg = config(&text)?;
    let clock = Arc::new(MonotonicClock::new());
    let served = Served::start(cfg, clock.clone(), dir.to_owned(), Vec::new())?;
    let post_ns = (post_s * 1e9) as u64;
    let secs = scale.pick(8, 30);
    let mut t = Times::default();
    let got = served.receive(&*clock, secs as f64, |text, now| {
        // Snapshots are most of the traffic; only events are parsed.
        if !text.contains("\"type\":\"snapshot\"")
            && let Ok(m) = serde_json::from_str::<ServerMessage>(text)
        {
            t.record(&m, now, post_ns);
        }
        Ok(())
    });
    served.stop();
    got?;
    let mut trig: Vec<u64> = t
        .triggers
        .iter()
        .map(|&(c, at)| at.saturating_sub(c))
        .collect();
    let mut clips = t.clips.clone();
    let n_trig = trig.len();
    let n_clips = clips.len();
    let ms = |v: u64| v as f64 / 1e6;
    let frame_ms = 1000.0 / 30.0;
    Ok(vec![
        Row::new(
            "highlights",
            format!("frame capture → trigger event at a WebSocket client p50 ({n_trig} triggers)"),
            ms(quantile(&mut trig, 0.5)),
            "ms",
        )
        .vs("frame interval", frame_ms),
        Row::new(
            "highlights",
            "frame capture → trigger event at a WebSocket client p95",
            ms(quantile(&mut trig, 0.95)),
            "ms",
        )
        .vs("goal", 20.0),
        Row::new(
            "highlights",
            format!("end of post-roll → clip_saved p50 ({n_clips} clips)"),
            ms(quantile(&mut clips, 0.5)),
            "ms",
        ),
        Row::new(
            "highlights",
            "end of post-roll → clip_saved p95",
            ms(quantile(&mut clips, 0.95)),
            "ms",
        )
        .vs("goal", 500.0),
    ])
}

/// Runs the highlights figures.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let mut rows = rule_eval(scale)?;
    rows.extend(trigger_and_clip(scale)?);
    Ok(rows)
}
