//! Recording and clips end to end: a runtime with a source that draws its frame id into the
//! pixels, the recorder as an observer, and the written MP4s parsed back with the `mp4` crate
//! and decoded with OpenH264 to check which frames they hold, in which order.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{GATES, H, PERIOD_NS, W};
use framebus_core::config::{Config, Format};
use framebus_core::frame::PixelFormat;
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_media::Recorder;
use framebus_media::encode::{EncoderSettings, H264Encoder, Mp4Writer, probe};
use framebus_media::record::RecorderSettings;
use framebus_protocol::{Command, RunState, ServerMessage};
use framebus_testkit::{counter, mp4::decode};
use serde_json::json;

/// Counts snapshots by run state and keeps every event.
#[derive(Default)]
struct Watch {
    seen: AtomicU64,
    recorded: AtomicU64,
    recorded_ids: Mutex<Vec<u64>>,
    events: Mutex<Vec<ServerMessage>>,
}

impl Observer for Watch {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        self.seen.fetch_add(1, Ordering::SeqCst);
        if s.state == RunState::Recording {
            self.recorded.fetch_add(1, Ordering::SeqCst);
            self.recorded_ids.lock().unwrap().push(s.frame.frame_id);
        }
    }
    fn event(&self, msg: &ServerMessage) {
        self.events.lock().unwrap().push(msg.clone());
    }
}

fn config(frames: u64, clips: bool, state: &str, dir: &Path) -> Config {
    config_held(frames, clips, state, dir, "")
}

fn config_held(frames: u64, clips: bool, state: &str, dir: &Path, hold: &str) -> Config {
    let text = format!(
        r#"
[runtime]
initial_state = "{state}"
recordings_dir = "{}"
clip_pre_s = 3
record_queue_frames = 1000

[[sources]]
id = "camera_0"
kind = "test_counter"
edge = {{ policy = "block", capacity = 4 }}
clips = {clips}
params = {{ frames = {frames} {hold} }}
"#,
        dir.display()
    );
    Config::parse(&text, Format::Toml, "test.toml").unwrap()
}

struct Run {
    runtime: Runtime,
    recorder: Arc<Recorder>,
    watch: Arc<Watch>,
}

fn start(config: &Config) -> Run {
    let watch = Arc::new(Watch::default());
    let recorder = Arc::new(Recorder::new(config, vec![watch.clone()]).unwrap());
    let runtime = Runtime::start(
        config,
        RuntimeOptions {
            observers: vec![watch.clone(), recorder.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    Run {
        runtime,
        recorder,
        watch,
    }
}

fn command(target: &str, cmd: &str, args: serde_json::Value) -> Command {
    serde_json::from_value(json!({"target": target, "payload": {"cmd": cmd, "args": args}}))
        .unwrap()
}

fn wait_until(mut f: impl FnMut() -> bool) {
    while !f() {
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn sessions(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().unwrap() != "clips")
        .collect();
    v.sort();
    v
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn encoder_and_writer_round_trip_every_frame_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.mp4");
    let mut enc = H264Encoder::new(EncoderSettings::default());
    let mut w = Mp4Writer::create(&path, W, H, 30.0).unwrap();
    let mut f = framebus_core::frame::FrameData::default();
    for i in 0..75u64 {
        f.reshape(W, H, PixelFormat::Gray8);
        f.data.fill(60);
        counter::draw(&mut f.data, W, H, W as usize, 1, i as u32);
        let e = enc.encode(&f, i * PERIOD_NS).unwrap();
        assert_eq!(e.keyframe, i % 30 == 0, "keyframe once a second, frame {i}");
        w.write(i * PERIOD_NS, e.data, e.keyframe).unwrap();
    }
    assert!(!path.exists(), "the final name appears only when complete");
    let summary = w.finish().unwrap();
    assert_eq!(summary.frames, 75);
    let d = decode(&path).unwrap();
    assert!(d.faststart, "moov before mdat");
    assert_eq!(d.samples, 75);
    assert_eq!(d.keyframes, vec![0, 30, 60]);
    assert_eq!(d.counters, (0..75).collect::<Vec<u32>>());
    assert!((d.duration_s - 2.5).abs() < 1.0 / 30.0, "{}", d.duration_s);
    let info = probe(&path).unwrap();
    assert_eq!((info.frames, info.width, info.height), (75, W, H));
    assert!(info.faststart);
    assert!((info.duration_s - d.duration_s).abs() < 1e-3);
}

#[test]
fn a_recording_from_start_holds_every_processed_frame() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(&config(90, false, "recording", dir.path()));
    wait_until(|| run.runtime.finished());
    run.runtime.shutdown();
    run.recorder.close();
    let s = sessions(dir.path());
    assert_eq!(s.len(), 1, "{s:?}");
    let d = decode(&s[0].join("camera_0.mp4")).unwrap();
    assert_eq!(d.samples, 90);
    assert_eq!(d.counters, (0..90).collect::<Vec<u32>>());
    assert!((d.duration_s - 3.0).abs() <= 1.0 / 30.0, "{}", d.duration_s);
    let snaps = lines(&s[0].join("snapshots.jsonl"));
    assert_eq!(snaps.len(), 90);
    assert!(
        snaps
            .iter()
            .enumerate()
            .all(|(i, v)| v["frame_id"] == i as u64)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s[0].join("session.json")).unwrap()).unwrap();
    assert_eq!(manifest["frames"], 90);
    assert_eq!(manifest["dropped"], 0);
    assert!(s[0].join("config.json").exists());
    let saved = run.watch.events.lock().unwrap().clone();
    assert!(saved.iter().any(
        |e| matches!(e, ServerMessage::RecordingSaved(r) if r.frames == 90 && r.dropped == 0)
    ));
}

#[test]
fn record_then_stop_writes_what_was_processed_while_recording() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(&config(100_000, false, "running", dir.path()));
    let bus = run.runtime.bus().clone();
    wait_until(|| run.watch.seen.load(Ordering::SeqCst) >= 20);
    bus.request_blocking(
        command("pipeline", "record", json!({})),
        Duration::from_secs(5),
    )
    .unwrap();
    wait_until(|| run.watch.recorded.load(Ordering::SeqCst) >= 40);
    // A refused command while recording is logged too (the source has no camera controls).
    let refused = bus.request_blocking(
        command("camera_0", "set_params", json!({"gain": 3})),
        Duration::from_secs(5),
    );
    assert!(refused.is_err());
    // The command was applied before the reply came: a frame recorded after the last one seen
    // now came after the command, so the command has a frame of the video to point at (on a
    // loaded machine the pipeline may otherwise not run again before `stop_recording`).
    let seen_at_reply = *run.watch.recorded_ids.lock().unwrap().last().unwrap();
    wait_until(|| {
        run.watch
            .recorded_ids
            .lock()
            .unwrap()
            .last()
            .is_some_and(|&id| id > seen_at_reply)
    });
    // The source is unpaced and the encoder may fall behind (frames then count as dropped):
    // wait until frames handed over after the command are encoded, past the queue's length.
    let encoded = run.recorder.status().sources[0].encoded;
    wait_until(|| {
        run.watch.recorded.load(Ordering::SeqCst) >= 80
            && run.recorder.status().sources[0].encoded >= encoded + 20
    });
    bus.request_blocking(
        command("pipeline", "stop_recording", json!({})),
        Duration::from_secs(5),
    )
    .unwrap();
    wait_until(|| {
        run.watch.seen.load(Ordering::SeqCst) >= run.watch.recorded.load(Ordering::SeqCst) + 60
    });
    run.runtime.shutdown();
    run.recorder.close();
    let status = run.recorder.status();
    let ids = run.watch.recorded_ids.lock().unwrap().clone();
    let s = sessions(dir.path());
    assert_eq!(s.len(), 1);
    let d = decode(&s[0].join("camera_0.mp4")).unwrap();
    let snaps = lines(&s[0].join("snapshots.jsonl"));
    // Every frame processed while recording is in the video unless counted as dropped.
    assert_eq!(
        d.samples as u64 + status.sources[0].dropped,
        ids.len() as u64,
        "video + dropped = processed while recording"
    );
    assert_eq!(snaps.len(), d.samples as usize);
    let snap_ids: Vec<u32> = snaps
        .iter()
        .map(|v| v["frame_id"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(
        d.counters, snap_ids,
        "pixels and snapshots agree frame by frame"
    );
    assert!(d.counters.windows(2).all(|w| w[0] < w[1]), "in order");
    let first = ids[0];
    assert_eq!(
        u64::from(d.counters[0]),
        first,
        "starts at the first recorded frame"
    );
    let span = (*d.counters.last().unwrap() - d.counters[0] + 1) as f64 / 30.0;
    assert!(
        (d.duration_s - span).abs() <= 1.0 / 30.0,
        "{} vs {span}",
        d.duration_s
    );
    let cmds = lines(&s[0].join("commands.jsonl"));
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert_eq!(cmds[0]["cmd"], "set_params");
    assert_eq!(cmds[0]["ok"], false);
    let at = cmds[0]["frame_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{cmds:?}"));
    assert!(at > first && at <= *ids.last().unwrap());
    assert_eq!(cmds[0]["after_frame_id"].as_u64().unwrap() + 1, at);
}

/// A frame the pipeline processed in the recording state, handed over after `stop_recording`
/// reached the recorder (the pipeline was between reading the state and the observer call),
/// is counted as dropped, never lost silently. Driven through the observer calls directly,
/// in the order the race produces.
#[test]
fn a_frame_handed_over_after_the_stop_counts_as_dropped() {
    use framebus_protocol::StateChanged;
    let dir = tempfile::tempdir().unwrap();
    let config = config(0, false, "running", dir.path());
    let recorder = Recorder::new(&config, vec![]).unwrap();
    let pool = framebus_core::frame::FramePool::new(1, "camera_0".into(), 0);
    let hand_over = |id: u64, state: RunState| {
        let mut f = pool.try_acquire(W, H, PixelFormat::Gray8).unwrap();
        let d = f.get_mut().unwrap();
        d.frame_id = id;
        d.t_ns = id * PERIOD_NS;
        d.data.fill(90);
        framebus_testkit::counter::draw(&mut d.data, W, H, W as usize, 1, id as u32);
        let json = format!("{{\"frame_id\":{id}}}");
        recorder.snapshot(&SnapshotOut {
            json: json.as_bytes(),
            frame: &f,
            source_index: 0,
            sequence: id,
            state,
        });
    };
    let change = |from, to| recorder.event(&ServerMessage::StateChanged(StateChanged { from, to }));
    change(RunState::Running, RunState::Recording);
    for id in 0..10 {
        hand_over(id, RunState::Recording);
    }
    change(RunState::Recording, RunState::Running);
    hand_over(10, RunState::Recording);
    hand_over(11, RunState::Running);
    recorder.close();
    let s = sessions(dir.path());
    let d = decode(&s[0].join("camera_0.mp4")).unwrap();
    assert_eq!(d.counters, (0..10).collect::<Vec<u32>>());
    assert_eq!(
        recorder.status().sources[0].dropped,
        1,
        "frame 10, not frame 11"
    );
}

#[test]
fn a_clip_covers_pre_and_post_around_the_commands_frame() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(&config_held(
        400,
        true,
        "running",
        dir.path(),
        ", hold_at = 200, gate = 1",
    ));
    let bus = run.runtime.bus().clone();
    // Bad arguments change nothing.
    for bad in [
        json!({"pre_s": 9}),
        json!({"post_s": -1}),
        json!({"pre": 1}),
    ] {
        let r = bus.request_blocking(
            command("camera_0", "save_clip", bad),
            Duration::from_secs(5),
        );
        assert_eq!(r.unwrap_err().code, framebus_protocol::ErrorCode::BadArgs);
    }
    // The source holds before frame 200: the command comes right after frame 199.
    wait_until(|| run.watch.seen.load(Ordering::SeqCst) >= 200);
    let ack = bus
        .request_blocking(
            command(
                "camera_0",
                "save_clip",
                json!({"pre_s": 2, "post_s": 1, "label": "knee"}),
            ),
            Duration::from_secs(5),
        )
        .unwrap();
    GATES[1].store(true, Ordering::SeqCst);
    let k = ack.result["frame_id"].as_u64().unwrap() as u32;
    let id = ack.result["clip_id"].as_str().unwrap().to_owned();
    assert_eq!(k, 199);
    wait_until(|| run.runtime.finished());
    run.runtime.shutdown();
    run.recorder.close();
    let path = dir.path().join("clips").join(format!("{id}.mp4"));
    let d = decode(&path).unwrap();
    let first = d.counters[0];
    assert!(
        first <= k - 60,
        "starts at or before k−60: {first} (k = {k})"
    );
    assert!(
        first >= k - 60 - 30,
        "at most one GOP earlier: {first} (k = {k})"
    );
    assert_eq!(*d.counters.last().unwrap(), k + 30, "ends at k+30");
    assert!(
        d.counters.windows(2).all(|w| w[1] == w[0] + 1),
        "every frame, in order"
    );
    assert_eq!(d.keyframes[0], 0);
    let events = run.watch.events.lock().unwrap().clone();
    let saved = events
        .iter()
        .find_map(|e| match e {
            ServerMessage::ClipSaved(c) if c.id == id => Some(c.clone()),
            _ => None,
        })
        .expect("clip_saved");
    assert_eq!(saved.frames, d.samples as u64);
    assert_eq!(saved.label, "knee");
    assert_eq!(saved.path, format!("clips/{id}.mp4"));
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(side["frame_id"], k);
}

#[test]
fn save_clip_on_a_source_without_a_ring_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(&config(100_000, false, "running", dir.path()));
    wait_until(|| run.watch.seen.load(Ordering::SeqCst) >= 2);
    let r = run.runtime.bus().request_blocking(
        command("camera_0", "save_clip", json!({})),
        Duration::from_secs(5),
    );
    let e = r.unwrap_err();
    assert_eq!(e.code, framebus_protocol::ErrorCode::BadArgs);
    assert!(e.message.contains("clips = true"), "{}", e.message);
    run.runtime.shutdown();
    run.recorder.close();
    assert!(!dir.path().join("clips").exists());
}

#[test]
fn settings_come_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let s = RecorderSettings::from_config(&config(1, true, "running", dir.path()));
    assert_eq!(s.clip_pre_s, 3.0);
    assert_eq!(s.queue_frames, 1000);
    assert_eq!(s.recordings_dir, dir.path());
}
