//! The GStreamer sources (feature `gstreamer`) on real pipelines: `videotestsrc` frames in
//! order with their size, colour and timestamps; an H.264 MP4 made by ffmpeg with a frame
//! counter in the pixels read back through `uri`; bad pipelines, missing and undecodable
//! files as clear errors (located config errors in a runtime); end of stream in a runtime;
//! and `rtsp` against a real RTSP server (Debian's GStreamer RTSP server through python3-gi)
//! that the test kills and restarts on the same port: frames resume.

#![cfg(feature = "gstreamer")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use framebus_core::clock::{Clock, ManualClock, MonotonicClock};
use framebus_core::config::{Config, Format};
use framebus_core::frame::{Frame, PixelFormat};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::protocol::ServerMessage;
use framebus_core::runtime::{Runtime, RuntimeOptions};
use framebus_core::source::{Source, SourceInit};
use framebus_media::{DecodeFormat, GstreamerParams, GstreamerSource, RtspParams, RtspSource};
use framebus_testkit::counter;
use framebus_testkit::video::{VideoSpec, encode_colour_video, encode_counter_video};

fn init(dir: &Path, clock: Arc<dyn Clock>) -> SourceInit {
    SourceInit {
        base_dir: dir.to_path_buf(),
        ..SourceInit::standalone("camera_0", clock)
    }
}

fn pipeline(description: &str) -> GstreamerParams {
    GstreamerParams {
        pipeline: Some(description.into()),
        ..Default::default()
    }
}

fn open(dir: &Path, params: GstreamerParams) -> Result<GstreamerSource, String> {
    GstreamerSource::new(params, &init(dir, Arc::new(ManualClock::new())))
        .map_err(|e| e.to_string())
}

/// Plays to the end, mapping each frame as it comes (the pool holds only a few frames).
fn play_all<T>(s: &mut GstreamerSource, mut seen: impl FnMut(&Frame) -> T) -> Vec<T> {
    std::iter::from_fn(|| s.next_frame().unwrap())
        .map(|f| seen(&f))
        .collect()
}

#[test]
fn a_videotestsrc_pipeline_gives_every_frame_in_order_with_size_colour_and_times() {
    let dir = tempfile::tempdir().unwrap();
    // 162 pixels: GStreamer pads RGB rows to 488 bytes, the frame's rows are 486.
    let mut s = open(
        dir.path(),
        pipeline(
            "videotestsrc num-buffers=30 pattern=red ! video/x-raw,width=162,height=40,framerate=25/1 ! videoconvert ! appsink name=sink sync=false",
        ),
    )
    .unwrap();
    let mut i = 0;
    let frames = play_all(&mut s, |f| {
        assert_eq!(f.frame_id, i as u64 + 1);
        assert_eq!(f.t_ns, i as u64 * 40_000_000, "frame {}", f.frame_id);
        assert_eq!((f.width, f.height, f.format), (162, 40, PixelFormat::Rgb8));
        for y in 0..40 {
            let row = &f.data[y * f.stride..y * f.stride + 162 * 3];
            assert!(
                row.chunks_exact(3).all(|p| p == [255, 0, 0]),
                "frame {} row {y}",
                f.frame_id
            );
        }
        i += 1;
    });
    assert_eq!(frames.len(), 30);
    assert!(s.next_frame().unwrap().is_none(), "ended stays ended");
}

const W: u32 = 320;
const H: u32 = 96;
const FPS: u32 = 25;
const N: u32 = 50;
const BFRAMES: &[&str] = &[
    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2", "-g", "12",
];

/// `counter.mp4` in `dir` (B-frames, the frame number in the pixels) and what every source
/// should give for it: (frame id, counter, t_ns) per frame.
fn counter_video(dir: &Path) -> (PathBuf, Vec<(u64, u32, u64)>) {
    let spec = VideoSpec {
        width: W,
        height: H,
        fps: FPS,
        frames: N,
        args: BFRAMES,
    };
    let path = encode_counter_video(dir, "counter.mp4", &spec);
    let expected = (1..=u64::from(N))
        .map(|id| (id, id as u32, (id - 1) * 1_000_000_000 / u64::from(FPS)))
        .collect();
    (path, expected)
}

#[test]
fn a_uri_on_an_mp4_gives_every_frame_with_the_counter_in_its_pixels_and_file_times() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = counter_video(dir.path());
    let file_uri = format!("file://{}", path.display());
    // A path relative to the config's directory, and a file:// URI.
    for uri in ["counter.mp4", file_uri.as_str()] {
        let mut s = open(
            dir.path(),
            GstreamerParams {
                uri: Some(uri.into()),
                realtime: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
        let seen = play_all(&mut s, |f| {
            assert_eq!((f.width, f.height, f.format), (W, H, PixelFormat::Rgb8));
            (f.frame_id, counter::read(&f.data, f.stride, 3), f.t_ns)
        });
        assert_eq!(seen, expected, "{uri}");
    }
}

/// `format = "nv12"` / `"gray8"`: the decoder's YUV reaches the frame without an RGB
/// conversion; the same frames, counters (read from the luma plane) and times, packed layouts.
#[test]
fn nv12_and_gray8_frames_from_a_pipeline_carry_the_counter_in_luma() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = counter_video(dir.path());
    for (format, pixel, len) in [
        (DecodeFormat::Nv12, PixelFormat::Nv12, W * H * 3 / 2),
        (DecodeFormat::Gray8, PixelFormat::Gray8, W * H),
    ] {
        let mut s = open(
            dir.path(),
            GstreamerParams {
                pipeline: Some(format!(
                    "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! appsink name=sink",
                    path.display()
                )),
                realtime: Some(false),
                format,
                ..Default::default()
            },
        )
        .unwrap();
        let seen = play_all(&mut s, |f| {
            assert_eq!((f.width, f.height, f.format), (W, H, pixel));
            assert_eq!((f.stride, f.data.len()), (W as usize, len as usize));
            if pixel == PixelFormat::Nv12 {
                let uv = &f.data[(W * H) as usize..][..16];
                assert!(uv.iter().all(|&c| c.abs_diff(128) <= 3), "{uv:?}");
            }
            (f.frame_id, counter::read(&f.data, f.stride, 1), f.t_ns)
        });
        assert_eq!(seen, expected, "{format:?}");
    }
}

/// The decoder's I420 straight into the frame: NV12 and gray8 frames from `avdec_h264 !
/// appsink` (no `videoconvert`, so the appsink must take I420 and the copy convert it) are
/// byte for byte what GStreamer's own `videoconvert` makes of the same pictures as NV12, on a
/// colour video (U and V differ, so a swap or a wrong chroma row shows) whose width (330:
/// 165 chroma columns) GStreamer pads in its I420 rows.
#[test]
fn i420_from_the_decoder_becomes_nv12_and_gray8_exactly_as_videoconvert_makes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h, n) = (330u32, 96u32, 20u32);
    let path = encode_colour_video(dir.path(), "colour.mp4", w, h, n);
    let frames = |tail: &str, format: DecodeFormat| {
        let mut s = open(
            dir.path(),
            GstreamerParams {
                pipeline: Some(format!(
                    "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! {tail}appsink name=sink",
                    path.display()
                )),
                realtime: Some(false),
                format,
                ..Default::default()
            },
        )
        .unwrap();
        play_all(&mut s, |f| {
            assert_eq!((f.width, f.height), (w, h));
            f.data.to_vec()
        })
    };
    let reference = frames(
        "videoconvert ! video/x-raw,format=NV12 ! ",
        DecodeFormat::Nv12,
    );
    assert_eq!(reference.len(), n as usize);
    let luma = (w * h) as usize;
    let chroma = &reference[0][luma..];
    assert_eq!(chroma.len(), luma / 2);
    let swapped = chroma
        .chunks_exact(2)
        .filter(|p| p[0].abs_diff(p[1]) > 64)
        .count();
    assert!(
        swapped > chroma.len() / 20,
        "the video has colour: {swapped}"
    );
    let nv12 = frames("", DecodeFormat::Nv12);
    assert_eq!(nv12.len(), reference.len());
    for (i, (ours, theirs)) in nv12.iter().zip(&reference).enumerate() {
        if let Some(at) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
            panic!("frame {i}: first difference at byte {at} (luma is {luma} bytes)");
        }
    }
    let gray = frames("", DecodeFormat::Gray8);
    assert_eq!(gray.len(), reference.len());
    for (i, (ours, theirs)) in gray.iter().zip(&reference).enumerate() {
        assert!(ours[..] == theirs[..luma], "gray frame {i}");
    }
}

#[test]
fn bad_pipelines_and_files_are_clear_errors_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(
        dir.path(),
        pipeline("videotestsrc ! nosuchelement ! appsink name=sink"),
    )
    .err()
    .unwrap();
    assert!(
        e.contains("bad pipeline") && e.contains("nosuchelement"),
        "{e}"
    );
    let e = open(dir.path(), pipeline("videotestsrc ! fakesink"))
        .err()
        .unwrap();
    assert!(e.contains("appsink name=sink"), "{e}");
    let e = open(dir.path(), pipeline("videotestsrc ! fakesink name=sink"))
        .err()
        .unwrap();
    assert!(e.contains("`fakesink`, not an `appsink`"), "{e}");
    let e = open(dir.path(), GstreamerParams::default()).err().unwrap();
    assert!(e.contains("`pipeline`") && e.contains("`uri`"), "{e}");
    let e = open(
        dir.path(),
        GstreamerParams {
            pipeline: Some("videotestsrc ! appsink name=sink".into()),
            uri: Some("x.mp4".into()),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.contains("not both"), "{e}");

    // A missing file, by path and by URI.
    let e = open(
        dir.path(),
        GstreamerParams {
            uri: Some("absent.mp4".into()),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.contains("absent.mp4") && e.contains("cannot open"), "{e}");
    let missing = format!("file://{}/gone.mp4", dir.path().display());
    let e = open(
        dir.path(),
        GstreamerParams {
            uri: Some(missing),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.contains("gone.mp4") && e.contains("cannot open"), "{e}");
    // A file no demuxer recognises: GStreamer's error, naming the element.
    std::fs::write(
        dir.path().join("noise.mp4"),
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let e = open(
        dir.path(),
        GstreamerParams {
            uri: Some("noise.mp4".into()),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.contains("element /GstPipeline"), "{e}");
    eprintln!("an undecodable file: {e}");
}

/// Records snapshots (source, frame id) and events.
#[derive(Default)]
struct Seen {
    frames: Mutex<Vec<u64>>,
    events: Mutex<Vec<ServerMessage>>,
}

impl Observer for Seen {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        let v: serde_json::Value = serde_json::from_slice(s.json).unwrap();
        self.frames
            .lock()
            .unwrap()
            .push(v["frame_id"].as_u64().unwrap());
    }
    fn event(&self, msg: &ServerMessage) {
        self.events.lock().unwrap().push(msg.clone());
    }
}

fn start(toml: &str, dir: &Path, seen: Arc<Seen>) -> Result<Runtime, String> {
    framebus_media::link();
    let config = Config::parse(toml, Format::Toml, "test.toml").unwrap();
    Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![seen],
            base_dir: dir.to_path_buf(),
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn in_a_runtime_the_stream_ends_with_end_of_stream_and_a_bad_pipeline_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Seen::default());
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "gstreamer"
        edge = { policy = "block", capacity = 2 }
        params = { pipeline = "videotestsrc num-buffers=12 ! video/x-raw,width=64,height=48 ! videoconvert ! appsink name=sink", realtime = false }
        "#,
        dir.path(),
        seen.clone(),
    )
    .unwrap();
    rt.wait();
    assert_eq!(*seen.frames.lock().unwrap(), (1..=12).collect::<Vec<u64>>());
    let ends: Vec<_> = seen
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ServerMessage::EndOfStream(e) => Some((e.source.clone(), e.frames)),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [("camera_0".to_string(), 12)]);

    let e = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "gstreamer"
        params = { pipeline = "videotestsrc ! nosuchelement ! appsink name=sink" }
        "#,
        dir.path(),
        Arc::new(Seen::default()),
    )
    .err()
    .unwrap();
    assert!(
        e.contains("sources[0]") && e.contains("camera_0") && e.contains("nosuchelement"),
        "{e}"
    );
}

/// Debian's interpreter, which has python3-gi (not a pyenv or venv python first on PATH).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// A running RTSP server (`tests/gst/rtsp_server.py`), killed on drop.
struct RtspServer {
    child: Child,
    port: u16,
}

impl RtspServer {
    /// Starts the server on `port` (0: a free one) and waits for its `port N` line.
    fn start(port: u16) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gst/rtsp_server.py");
        let mut child = Command::new(SYSTEM_PYTHON)
            .arg(script)
            .args([port.to_string(), W.to_string(), "240".into(), "30".into()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("/usr/bin/python3 runs (scripts/test.sh installs python3-gi)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("port ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the RTSP server did not start: {line:?}"));
        Self { child, port }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the test saw of a frame.
#[derive(Debug, Clone, Copy)]
struct Got {
    id: u64,
    t_ns: u64,
    size: (u32, u32),
}

/// Calls `next_frame` until `enough` says stop (given the frames and errors so far), with a
/// generous overall deadline as a guard (not as synchronisation).
fn pump(
    s: &mut RtspSource,
    frames: &mut Vec<Got>,
    errors: &mut Vec<String>,
    mut enough: impl FnMut(&[Got], &[String]) -> bool,
) {
    let guard = Instant::now() + Duration::from_secs(120);
    while !enough(frames, errors) {
        assert!(
            Instant::now() < guard,
            "gave up: {} frames, errors {errors:?}",
            frames.len()
        );
        match s.next_frame() {
            Ok(Some(f)) => frames.push(Got {
                id: f.frame_id,
                t_ns: f.t_ns,
                size: (f.width, f.height),
            }),
            Ok(None) => panic!("the rtsp source ended"),
            Err(e) => errors.push(e.to_string()),
        }
    }
}

#[test]
fn rtsp_frames_resume_after_the_server_is_killed_and_restarted_on_the_same_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = RtspServer::start(0);
    let port = server.port;
    let mut s = RtspSource::new(
        RtspParams {
            url: format!("rtsp://127.0.0.1:{port}/stream"),
            latency_ms: 50,
            stall_ms: 3000,
        },
        &init(dir.path(), Arc::new(MonotonicClock::new())),
    )
    .unwrap();
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    pump(&mut s, &mut frames, &mut errors, |f, _| f.len() >= 20);
    assert!(errors.is_empty(), "{errors:?}");
    let before = frames.len();

    server.kill();
    // Frames already on their way may still come; then the loss is reported.
    pump(&mut s, &mut frames, &mut errors, |_, e| !e.is_empty());
    assert!(errors[0].contains("stream lost"), "{errors:?}");
    let at_loss = frames.len();

    let server = RtspServer::start(port);
    assert_eq!(server.port, port);
    pump(&mut s, &mut frames, &mut errors, |f, _| {
        f.len() >= at_loss + 20
    });
    // Any further errors are reconnect attempts that failed before the server was back.
    assert!(
        errors[1..].iter().all(|e| e.contains("reconnect attempt")),
        "{errors:?}"
    );
    drop(server);
    eprintln!(
        "rtsp: {before} frames, killed, {} more, restarted, {} more; errors: {errors:#?}",
        at_loss - before,
        frames.len() - at_loss
    );

    assert!(before >= 20 && frames.len() >= at_loss + 20);
    for (k, g) in frames.iter().enumerate() {
        assert_eq!(g.id, k as u64 + 1, "ids count on across the reconnect");
        assert_eq!(g.size, (W, 240));
        if k > 0 {
            assert!(g.t_ns > frames[k - 1].t_ns, "times increase: {g:?}");
        }
    }
}

/// `examples/rtsp_bikefit.toml`'s source params (its URL pointed at the test's server, a short
/// `stall_ms`) stream; a server that stops sending but keeps its connection (SIGSTOP) is a
/// stall: reported, and frames resume once it sends again (SIGCONT), ids counting on.
#[test]
fn the_example_streams_and_a_stalled_stream_is_reported_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let server = RtspServer::start(0);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rtsp_bikefit.toml");
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    let source = &config["sources"][0];
    assert_eq!(source["kind"].as_str(), Some("rtsp"));
    let mut params = source["params"].clone();
    let t = params.as_table_mut().unwrap();
    t.insert(
        "url".into(),
        format!("rtsp://127.0.0.1:{}/stream", server.port).into(),
    );
    t.insert("stall_ms".into(), 1000.into());
    let params: RtspParams = params.try_into().unwrap();
    let mut s =
        RtspSource::new(params, &init(dir.path(), Arc::new(MonotonicClock::new()))).unwrap();
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    pump(&mut s, &mut frames, &mut errors, |f, _| f.len() >= 10);
    assert!(errors.is_empty(), "{errors:?}");

    let pid = rustix::process::Pid::from_raw(server.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    pump(&mut s, &mut frames, &mut errors, |_, e| !e.is_empty());
    assert!(errors[0].contains("no frame for"), "{errors:?}");
    let at_stall = frames.len();
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    pump(&mut s, &mut frames, &mut errors, |f, _| {
        f.len() >= at_stall + 10
    });
    eprintln!(
        "rtsp stall: {at_stall} frames, stalled, {} more; errors: {errors:#?}",
        frames.len() - at_stall
    );
    for (k, g) in frames.iter().enumerate() {
        assert_eq!(g.id, k as u64 + 1, "ids count on across the stall");
    }
    drop(server);
}
