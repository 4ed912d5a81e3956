//! Decode of a 1280×720 H.264 file: the `video_file` source (OpenH264, one thread, frames
//! converted to RGB into pooled buffers) as fast as it goes, beside `ffmpeg -threads 1 … -f
//! null -` and GStreamer's `filesrc ! qtdemux ! h264parse ! avdec_h264 max-threads=1 !
//! fakesink` on the same file, when those are installed.
//!
//! The file is made in the run: `synthetic_rider` frames at 1280×720 encoded by ffmpeg
//! (libx264 High, yuv420p, 30 fps). Without ffmpeg the benchmark is skipped with a note.
//! The peers decode to YUV only; framebus also converts every frame to RGB, so the ratio is
//! not in its favour.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit};
use framebus_media::{SyntheticRider, SyntheticRiderParams, VideoFile, VideoFileParams};

use super::{Row, Scale};

const W: u32 = 1280;
const H: u32 = 720;

fn init(dir: &Path) -> SourceInit {
    SourceInit {
        base_dir: dir.to_path_buf(),
        ..SourceInit::standalone("camera_0", Arc::new(ManualClock::new()))
    }
}

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Encodes `frames` synthetic-rider frames at 1280×720 into `path`.
fn make_video(dir: &Path, path: &Path, frames: u64) -> anyhow::Result<()> {
    let params = SyntheticRiderParams {
        width: W,
        height: H,
        fps: 0.0,
        ..Default::default()
    };
    let mut rider = SyntheticRider::new(params, &init(dir))?;
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"])
        .args(["-pix_fmt", "rgb24", "-s", "1280x720", "-r", "30", "-i", "-"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .context("cannot start ffmpeg")?;
    let mut stdin = child.stdin.take().context("ffmpeg stdin")?;
    for _ in 0..frames {
        let f = rider.next_frame()?.context("rider ended")?;
        stdin.write_all(&f.data)?;
    }
    drop(stdin);
    if !child.wait()?.success() {
        bail!("ffmpeg could not encode the benchmark video");
    }
    Ok(())
}

/// Frames per second of a command that decodes the whole file.
fn time_command(cmd: &mut Command, frames: u64) -> anyhow::Result<f64> {
    let t = Instant::now();
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(frames as f64 / t.elapsed().as_secs_f64())
}

/// Runs the benchmark.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    if !have("ffmpeg", "-version") {
        eprintln!("bench: decode skipped (ffmpeg is needed to make the H.264 file)");
        return Ok(Vec::new());
    }
    let frames = scale.pick(90, 600);
    let dir = std::env::temp_dir().join(format!("framebus-bench-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("rider_720p.mp4");
    let result = (|| {
        make_video(&dir, &path, frames)?;
        let params = VideoFileParams {
            path: path.display().to_string(),
            realtime: false,
            looping: false,
            ..Default::default()
        };
        // Best of three passes (the machine is shared).
        let mut best = 0f64;
        for _ in 0..3 {
            let mut source = VideoFile::new(params.clone(), &init(&dir))?;
            let t = Instant::now();
            let mut n = 0u64;
            while let Some(f) = source.next_frame()? {
                std::hint::black_box(&f.data);
                n += 1;
            }
            anyhow::ensure!(n == frames, "decoded {n} of {frames} frames");
            best = best.max(n as f64 / t.elapsed().as_secs_f64());
        }
        let metric = "decode 1280×720 H.264 → RGB, 1 thread";
        let mut rows = Vec::new();
        let mut ffmpeg = 0f64;
        for _ in 0..3 {
            ffmpeg = ffmpeg.max(time_command(
                Command::new("ffmpeg")
                    .args(["-hide_banner", "-threads", "1", "-i"])
                    .arg(&path)
                    .args(["-f", "null", "-"]),
                frames,
            )?);
        }
        rows.push(Row::new("decode", metric, best, "fps").vs("ffmpeg -threads 1 -f null", ffmpeg));
        let gst_ok = have("gst-inspect-1.0", "avdec_h264") && have("gst-launch-1.0", "--version");
        if gst_ok {
            let mut gst = 0f64;
            for _ in 0..3 {
                gst = gst.max(time_command(
                    Command::new("gst-launch-1.0").args([
                        "-q",
                        "filesrc",
                        &format!("location={}", path.display()),
                        "!",
                        "qtdemux",
                        "!",
                        "h264parse",
                        "!",
                        "avdec_h264",
                        "max-threads=1",
                        "!",
                        "fakesink",
                    ]),
                    frames,
                )?);
            }
            rows.push(
                Row::new("decode", metric, best, "fps")
                    .vs("GStreamer avdec_h264 max-threads=1", gst),
            );
        } else {
            eprintln!(
                "bench: decode: GStreamer with avdec_h264 (gstreamer1.0-libav) not installed; skipped"
            );
        }
        Ok(rows)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
