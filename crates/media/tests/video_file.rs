//! The `video_file` source on real H.264 files made by ffmpeg with a frame counter drawn in
//! the pixels: every frame in order with the file's timestamps (Baseline, High, High with
//! B-frames), pacing on an injected clock, looping, and bad input (truncated, random bytes,
//! missing, another codec) in a source and in a running pipeline.

use std::path::Path;
use std::sync::{Arc, Mutex};

use framebus_core::clock::{Clock, ManualClock};
use framebus_core::config::{Config, Format};
use framebus_core::frame::{Frame, PixelFormat};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::protocol::ServerMessage;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_core::source::{Source, SourceInit};
use framebus_media::{DecodeFormat, VideoDecoder, VideoFile, VideoFileParams};
use framebus_testkit::counter;
use framebus_testkit::video::{VideoSpec, encode_counter_video, picture_types};

const W: u32 = 320;
const H: u32 = 96;
const FPS: u32 = 25;
const N: u32 = 50;

fn spec(args: &'static [&'static str]) -> VideoSpec<'static> {
    VideoSpec {
        width: W,
        height: H,
        fps: FPS,
        frames: N,
        args,
    }
}

const HIGH: &[&str] = &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "0"];
const BASELINE: &[&str] = &[
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-profile:v",
    "baseline",
];
const BFRAMES: &[&str] = &[
    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2", "-g", "12",
];
const FASTSTART: &[&str] = &[
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-movflags",
    "+faststart",
];

fn init(dir: &Path, clock: Arc<dyn Clock>) -> SourceInit {
    SourceInit {
        base_dir: dir.to_path_buf(),
        ..SourceInit::standalone("camera_0", clock)
    }
}

fn params(path: &str, realtime: bool, looping: bool) -> VideoFileParams {
    VideoFileParams {
        path: path.into(),
        realtime,
        looping,
        speed: 1.0,
        format: DecodeFormat::Rgb8,
        // `auto`: OpenH264, or libavcodec when the tests are built with `--features ffmpeg`
        // (scripts/test.sh runs this file both ways).
        decoder: VideoDecoder::Auto,
        threads: 1,
    }
}

fn open(dir: &Path, path: &str) -> Result<VideoFile, String> {
    VideoFile::new(
        params(path, false, false),
        &init(dir, Arc::new(ManualClock::new())),
    )
    .map_err(|e| e.to_string())
}

/// (frame_id, counter read from the pixels, t_ns) of a frame.
fn seen(f: &Frame) -> (u64, u32, u64) {
    assert_eq!(f.format, PixelFormat::Rgb8);
    assert_eq!((f.width, f.height), (W, H));
    (f.frame_id, counter::read(&f.data, f.stride, 3), f.t_ns)
}

fn expected(range: std::ops::RangeInclusive<u64>) -> Vec<(u64, u32, u64)> {
    range
        .map(|id| (id, id as u32, (id - 1) * 1_000_000_000 / u64::from(FPS)))
        .collect()
}

fn play_all(s: &mut VideoFile) -> Vec<(u64, u32, u64)> {
    std::iter::from_fn(|| s.next_frame().unwrap())
        .map(|f| seen(&f))
        .collect()
}

#[test]
fn every_frame_in_order_with_file_timestamps_high_baseline_and_b_frames() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("high.mp4", HIGH),
        ("baseline.mp4", BASELINE),
        ("bframes.mp4", BFRAMES),
    ] {
        let path = encode_counter_video(dir.path(), name, &spec(args));
        let types = picture_types(&path);
        if name == "bframes.mp4" {
            assert!(types.get(&'B').copied().unwrap_or(0) > 5, "{types:?}");
        } else {
            assert_eq!(types.get(&'B'), None, "{name}: {types:?}");
        }
        let mut s = open(dir.path(), name).unwrap();
        assert_eq!(s.frame_count(), u64::from(N));
        assert_eq!(s.dimensions(), (W, H));
        assert_eq!(play_all(&mut s), expected(1..=u64::from(N)), "{name}");
        assert!(
            s.next_frame().unwrap().is_none(),
            "{name}: ended stays ended"
        );
    }
}

/// `format = "nv12"` and `"gray8"` give the decoded YUV without colour conversion: the same
/// frames, ids, counters (read from the luma plane) and timestamps as RGB, packed NV12 / gray
/// layouts, and the chroma of the counter's neutral grey at 128.
#[test]
fn nv12_and_gray8_frames_carry_the_decoded_yuv_without_conversion() {
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(dir.path(), "v.mp4", &spec(BFRAMES));
    let rgb = play_all(&mut open(dir.path(), "v.mp4").unwrap());
    for format in [DecodeFormat::Nv12, DecodeFormat::Gray8] {
        let mut s = VideoFile::new(
            VideoFileParams {
                format,
                ..params("v.mp4", false, false)
            },
            &init(dir.path(), Arc::new(ManualClock::new())),
        )
        .unwrap();
        let mut got = Vec::new();
        while let Some(f) = s.next_frame().unwrap() {
            let (pixel, len) = match format {
                DecodeFormat::Nv12 => (PixelFormat::Nv12, (W * H * 3 / 2) as usize),
                _ => (PixelFormat::Gray8, (W * H) as usize),
            };
            assert_eq!((f.format, f.width, f.height), (pixel, W, H));
            assert_eq!((f.stride, f.data.len()), (W as usize, len));
            if format == DecodeFormat::Nv12 {
                // The counter is grey, so its chroma (first chroma row, left block) is neutral.
                let uv = &f.data[(W * H) as usize..][..16];
                assert!(uv.iter().all(|&c| c.abs_diff(128) <= 3), "{uv:?}");
            }
            got.push((f.frame_id, counter::read(&f.data, f.stride, 1), f.t_ns));
        }
        assert_eq!(got, rgb, "{format:?}");
    }
}

/// Plays `v.mp4` in realtime at `speed` on a manual clock started at 5 s; returns what was
/// seen and checks that the clock read `start + t_ns / speed` at each frame.
fn play_paced(dir: &Path, speed: f64) -> Vec<(u64, u32, u64)> {
    let clock = Arc::new(ManualClock::new());
    clock.advance(5_000_000_000);
    let mut s = VideoFile::new(
        VideoFileParams {
            speed,
            ..params("v.mp4", true, false)
        },
        &init(dir, clock.clone()),
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(f) = s.next_frame().unwrap() {
        // The manual clock jumps to each deadline, so it reads exactly start + t_ns / speed.
        assert_eq!(
            clock.now_ns(),
            5_000_000_000 + (f.t_ns as f64 / speed) as u64,
            "frame {} at speed {speed}",
            f.frame_id
        );
        out.push(seen(&f));
    }
    out
}

#[test]
fn realtime_paces_on_the_clock_by_file_time_at_any_speed() {
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(dir.path(), "v.mp4", &spec(BFRAMES));
    let normal = play_paced(dir.path(), 1.0);
    assert_eq!(normal, expected(1..=u64::from(N)));
    for speed in [2.5, 0.5] {
        assert_eq!(
            play_paced(dir.path(), speed),
            normal,
            "speed changes the pacing only, never the frames or their t_ns"
        );
    }
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = VideoFile::new(
            VideoFileParams {
                speed: bad,
                ..params("v.mp4", true, false)
            },
            &init(dir.path(), Arc::new(ManualClock::new())),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("`speed` must be a number above 0"), "{err}");
    }
}

#[test]
fn looping_keeps_ids_and_time_increasing() {
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(dir.path(), "v.mp4", &spec(BFRAMES));
    let mut s = VideoFile::new(
        params("v.mp4", false, true),
        &init(dir.path(), Arc::new(ManualClock::new())),
    )
    .unwrap();
    let got: Vec<_> = (0..2 * N + 3)
        .map(|_| seen(&s.next_frame().unwrap().unwrap()))
        .collect();
    let want: Vec<_> = (1..=u64::from(2 * N + 3))
        .map(|id| {
            let counter = ((id - 1) % u64::from(N) + 1) as u32;
            (id, counter, (id - 1) * 1_000_000_000 / u64::from(FPS))
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_truncated_file_names_file_and_frame_and_keeps_what_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = encode_counter_video(dir.path(), "full.mp4", &spec(FASTSTART));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(dir.path().join("cut.mp4"), &bytes[..bytes.len() * 6 / 10]).unwrap();
    let mut s = open(dir.path(), "cut.mp4").unwrap();
    let mut frames = Vec::new();
    let err = loop {
        match s.next_frame() {
            Ok(Some(f)) => frames.push(seen(&f)),
            Ok(None) => panic!("a truncated file must report an error"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(
        err.contains("cut.mp4") && err.contains("frame ") && err.contains("truncated"),
        "{err}"
    );
    // The pictures the decoder still held come out, then the stream ends.
    while let Some(f) = s.next_frame().unwrap() {
        frames.push(seen(&f));
    }
    let k = frames.len() as u64;
    assert!(k > 5 && k < u64::from(N), "{k} frames before the cut");
    assert_eq!(frames, expected(1..=k));
    assert!(s.next_frame().unwrap().is_none());

    // Without faststart the index is at the end: a cut file has none, refused at open.
    let path = encode_counter_video(dir.path(), "tail.mp4", &spec(HIGH));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(dir.path().join("cut2.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    let e = open(dir.path(), "cut2.mp4").err().unwrap();
    assert!(
        e.contains("cut2.mp4") && e.contains("not a readable MP4"),
        "{e}"
    );
}

/// `decoder` picks the H.264 decoder: `openh264` in every build, `auto` = libavcodec when
/// built with `--features ffmpeg`, and `ffmpeg` without the feature is an error naming the
/// file and the feature. `threads` outside 1..=64 is refused.
#[test]
fn the_decoder_param_picks_the_decoder_and_ffmpeg_needs_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(dir.path(), "v.mp4", &spec(BFRAMES));
    let open_with = |decoder, threads| {
        VideoFile::new(
            VideoFileParams {
                decoder,
                threads,
                ..params("v.mp4", false, false)
            },
            &init(dir.path(), Arc::new(ManualClock::new())),
        )
        .map_err(|e| e.to_string())
    };
    let mut s = open_with(VideoDecoder::Openh264, 1).unwrap();
    assert_eq!(s.decoder(), VideoDecoder::Openh264);
    assert_eq!(play_all(&mut s), expected(1..=u64::from(N)));
    let with_ffmpeg = cfg!(feature = "ffmpeg");
    let auto = open_with(VideoDecoder::Auto, 1).unwrap();
    let want = if with_ffmpeg {
        VideoDecoder::Ffmpeg
    } else {
        VideoDecoder::Openh264
    };
    assert_eq!(auto.decoder(), want);
    match open_with(VideoDecoder::Ffmpeg, 1) {
        Ok(mut s) => {
            assert!(with_ffmpeg);
            assert_eq!(play_all(&mut s), expected(1..=u64::from(N)));
        }
        Err(e) => {
            assert!(!with_ffmpeg, "{e}");
            assert!(
                e.contains("v.mp4") && e.contains("--features ffmpeg"),
                "{e}"
            );
        }
    }
    for threads in [0, 65] {
        let e = open_with(VideoDecoder::Auto, threads).err().unwrap();
        assert!(e.contains("`threads` must be 1 to 64"), "{e}");
    }
}

#[test]
fn random_bytes_missing_files_and_other_codecs_are_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = 0x9e37_79b9_u32;
    let noise: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(dir.path().join("noise.mp4"), noise).unwrap();
    let e = open(dir.path(), "noise.mp4").err().unwrap();
    assert!(
        e.contains("noise.mp4") && e.contains("not a readable MP4"),
        "{e}"
    );

    let e = open(dir.path(), "nowhere.mp4").err().unwrap();
    assert!(
        e.contains("nowhere.mp4") && e.contains("cannot open"),
        "{e}"
    );

    encode_counter_video(
        dir.path(),
        "mpeg4.mp4",
        &spec(&["-c:v", "mpeg4", "-pix_fmt", "yuv420p"]),
    );
    let e = open(dir.path(), "mpeg4.mp4").err().unwrap();
    assert!(e.contains("mpeg4.mp4") && e.contains("H.264 only"), "{e}");

    encode_counter_video(
        dir.path(),
        "hevc.mp4",
        &spec(&[
            "-c:v",
            "libx265",
            "-pix_fmt",
            "yuv420p",
            "-x265-params",
            "log-level=error",
        ]),
    );
    let e = open(dir.path(), "hevc.mp4").err().unwrap();
    assert!(e.contains("hevc.mp4") && e.contains("H.265/HEVC"), "{e}");
}

/// Records snapshots (source, frame id) and events.
#[derive(Default)]
struct Seen {
    frames: Mutex<Vec<(String, u64)>>,
    events: Mutex<Vec<ServerMessage>>,
}

impl Observer for Seen {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        let v: serde_json::Value = serde_json::from_slice(s.json).unwrap();
        let camera = v["camera_id"].to_string();
        self.frames
            .lock()
            .unwrap()
            .push((camera, v["frame_id"].as_u64().unwrap()));
    }
    fn event(&self, msg: &ServerMessage) {
        self.events.lock().unwrap().push(msg.clone());
    }
}

#[test]
fn a_bad_file_in_a_running_pipeline_stops_nothing_else_and_both_end() {
    framebus_media::link();
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(dir.path(), "good.mp4", &spec(BFRAMES));
    let full = encode_counter_video(dir.path(), "full.mp4", &spec(FASTSTART));
    let bytes = std::fs::read(full).unwrap();
    std::fs::write(dir.path().join("cut.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    let config = Config::parse(
        r#"
        [[sources]]
        id = "good"
        kind = "video_file"
        edge = { policy = "block", capacity = 2 }
        params = { path = "good.mp4", realtime = false }
        [[sources]]
        id = "cut"
        kind = "video_file"
        edge = { policy = "block", capacity = 2 }
        params = { path = "cut.mp4", realtime = false }
        "#,
        Format::Toml,
        "test.toml",
    )
    .unwrap();
    let seen = Arc::new(Seen::default());
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![seen.clone()],
            base_dir: dir.path().to_path_buf(),
            ..Default::default()
        },
    )
    .unwrap();
    rt.wait();
    let frames = seen.frames.lock().unwrap().clone();
    let ids = |cam: u64| -> Vec<u64> {
        frames
            .iter()
            .filter(|(c, _)| c == &cam.to_string())
            .map(|&(_, id)| id)
            .collect()
    };
    assert_eq!(ids(0), (1..=u64::from(N)).collect::<Vec<_>>());
    let cut = ids(1);
    assert!(!cut.is_empty() && cut.len() < N as usize, "{}", cut.len());
    assert_eq!(cut, (1..=cut.len() as u64).collect::<Vec<_>>());
    let events = seen.events.lock().unwrap();
    let ends: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::EndOfStream(e) => Some((e.source.clone(), e.frames)),
            _ => None,
        })
        .collect();
    assert!(ends.contains(&("good".into(), u64::from(N))), "{ends:?}");
    assert!(ends.contains(&("cut".into(), cut.len() as u64)), "{ends:?}");
    let alert = events
        .iter()
        .find_map(|e| match e {
            ServerMessage::Alert(n) if n.source == "cut" => Some(n.message.clone()),
            _ => None,
        })
        .expect("the cut file raised an alert");
    assert!(
        alert.contains("cut.mp4") && alert.contains("frame "),
        "{alert}"
    );
}

#[test]
fn a_missing_file_is_a_located_config_error_before_anything_starts() {
    framebus_media::link();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "video_file"
        params = { path = "absent.mp4" }
        "#,
        Format::Toml,
        "test.toml",
    )
    .unwrap();
    let e = Runtime::start(
        &config,
        RuntimeOptions {
            base_dir: dir.path().to_path_buf(),
            ..Default::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("absent.mp4") && e.contains("camera_0"), "{e}");
}
