//! Highlights end to end: a stage publishes a scripted `knee_angle`, a `[[rules]]` entry
//! fires on it, and its `save_clip` action cuts clips from the source's ring. With the frame
//! id drawn in the pixels, each clip is decoded back: overlapping triggers make one clip
//! that covers both, a later trigger its own, each from at most one GOP before `t − pre` to
//! exactly `t + post`. Two runs give the same triggers at the same frames.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use framebus_core::config::{Config, Format};
use framebus_core::observer::Observer;
use framebus_core::prelude::*;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_media::Recorder;
use framebus_protocol::ServerMessage;
use framebus_testkit::mp4::decode;

/// Publishes `knee_angle`: 70° on frames [60, 66), [75, 81) and [200, 206), else 120°.
struct Knee;

impl Stage for Knee {
    type Params = Value;
    const INFO: StageInfo = StageInfo {
        id: "test_knee",
        version: "0.1.0",
        description: "scripted knee angle (tests)",
        namespace: None,
        commands: &[],
    };
    fn new(_: Value, _: &StageInit) -> Result<Self> {
        Ok(Self)
    }
    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let id = ctx.frame().frame_id;
        let deep = [60..66, 75..81, 200..206].iter().any(|r| r.contains(&id));
        ctx.signal("knee_angle", if deep { 70.0 } else { 120.0 });
        Ok(Flow::Continue)
    }
}

framebus_core::register_stage!(Knee);

#[derive(Default)]
struct Events(Mutex<Vec<ServerMessage>>);

impl Observer for Events {
    fn event(&self, msg: &ServerMessage) {
        self.0.lock().unwrap().push(msg.clone());
    }
}

fn config(dir: &Path) -> Config {
    let text = format!(
        r#"
[runtime]
recordings_dir = "{}"
clip_pre_s = 5
record_queue_frames = 1000

[[sources]]
id = "camera_0"
kind = "test_counter"
edge = {{ policy = "block", capacity = 4 }}
clips = true
params = {{ frames = 300 }}

[[stages]]
plugin = "test_knee"

[[rules]]
id = "deep_knee"
source = "camera_0"
when = {{ signal = "knee_angle", below = 80.0 }}
for = "0.1s"
cooldown = "0.3s"
actions = [
  {{ save_clip = {{ pre_s = 1.0, post_s = 1.0 }} }},
  {{ notify = {{ level = "info", title = "Deep knee", message = "knee {{knee_angle}}°" }} }},
]
"#,
        dir.display()
    );
    Config::parse(&text, Format::Toml, "highlights.toml").unwrap()
}

fn run(dir: &Path) -> Vec<ServerMessage> {
    let config = config(dir);
    let events = Arc::new(Events::default());
    let recorder = Arc::new(Recorder::new(&config, vec![events.clone()]).unwrap());
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![events.clone(), recorder.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    while !rt.finished() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    rt.shutdown();
    recorder.close();
    std::mem::take(&mut *events.0.lock().unwrap())
}

#[test]
fn triggers_cut_merged_exact_clips_and_replay_identically() {
    let dir = tempfile::tempdir().unwrap();
    let events = run(dir.path());
    let triggers: Vec<(u64, Option<String>)> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::Trigger(r) => Some((r.trigger.frame_id, r.trigger.clip_label.clone())),
            _ => None,
        })
        .collect();
    // 0.1 s is a hair more than 3 periods of 33.33 ms: each fires on its 5th deep frame.
    let first = "deep_knee@camera_0:64".to_owned();
    let last = "deep_knee@camera_0:204".to_owned();
    assert_eq!(
        triggers,
        vec![
            (64, Some(first.clone())),
            (79, Some(first.clone())),
            (204, Some(last.clone()))
        ]
    );
    let mut clips: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::ClipSaved(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    clips.sort_by_key(|c| c.label.len());
    assert_eq!(
        clips.len(),
        2,
        "the overlapping triggers make one clip: {clips:?}"
    );
    // Clip 1: from 1 s before frame 64 (frame 34) to 1 s after frame 79 (frame 109).
    // Clip 2: frames 174..=234.
    for (clip, (label, from, to)) in clips
        .iter()
        .zip([(&first, 34u32, 109u32), (&last, 174, 234)])
    {
        assert_eq!(&clip.label, label);
        let d = decode(&dir.path().join(&clip.path)).unwrap();
        let start = d.counters[0];
        assert!(
            start <= from && start + 30 >= from,
            "{label}: starts at {start}"
        );
        assert_eq!(*d.counters.last().unwrap(), to, "{label}");
        assert!(d.counters.windows(2).all(|w| w[1] == w[0] + 1), "{label}");
        assert_eq!(clip.frames, d.samples as u64);
    }
    // A second run: the same triggers at the same frames.
    let again = tempfile::tempdir().unwrap();
    let events2 = run(again.path());
    let t2: Vec<u64> = events2
        .iter()
        .filter_map(|e| match e {
            ServerMessage::Trigger(r) => Some(r.trigger.frame_id),
            _ => None,
        })
        .collect();
    assert_eq!(t2, vec![64, 79, 204]);
}
