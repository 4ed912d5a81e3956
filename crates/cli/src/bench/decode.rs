//! Decode of a 1280×720 H.264 file: the `video_file` source (OpenH264, one thread) as fast as
//! it goes, frames written to RGB (the default) and to NV12 (the decoder's own YUV, no colour
//! conversion), beside `ffmpeg -threads 1 … -f null -` and GStreamer's `filesrc ! qtdemux !
//! h264parse ! avdec_h264 max-threads=1 ! fakesink` on the same file, when those are
//! installed. With the `ffmpeg` feature, `video_file` with `decoder = "ffmpeg"` (libavcodec,
//! one thread) into RGB, NV12 and gray8 are rows too; with the `gstreamer` feature,
//! framebus's `gstreamer` source decoding the same file through `avdec_h264 max-threads=1`
//! (RGB through `videoconvert`; NV12 and gray8 from the decoder's I420 in the copy).
//!
//! The file is made in the run: `synthetic_rider` frames at 1280×720 encoded by ffmpeg
//! (libx264 High, yuv420p, 30 fps). Without ffmpeg the benchmark is skipped with a note.
//! Each figure is over three passes: the best one in wall time, and all three in CPU time
//! (this process's for framebus, the children's for the peers, from `/proc/self/stat`): on a
//! shared machine the CPU-time ratio is the steadier one. The peers decode to YUV and discard it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use framebus_core::clock::ManualClock;
use framebus_core::source::{Source, SourceInit};
use framebus_media::{
    DecodeFormat, SyntheticRider, SyntheticRiderParams, VideoDecoder, VideoFile, VideoFileParams,
};

use super::cpu_time::ProcessCpu;
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

/// Frames/s over three passes: the best pass by wall time, and all three by CPU time (the
/// children's CPU time comes in 10 ms ticks; summed over the passes it is read to about 1 %).
#[derive(Debug, Clone, Copy, Default)]
struct Fps {
    wall: f64,
    cpu: f64,
}

impl Fps {
    /// Runs `pass` three times; it returns the frames it decoded. CPU time is this process's
    /// (`children = false`) or its children's.
    fn best_of_three(
        children: bool,
        mut pass: impl FnMut() -> anyhow::Result<u64>,
    ) -> anyhow::Result<Self> {
        let mut best = Self::default();
        let (mut frames, mut cpu) = (0.0, std::time::Duration::ZERO);
        for _ in 0..3 {
            let c0 = ProcessCpu::now();
            let t = Instant::now();
            let n = pass()? as f64;
            let wall = t.elapsed().as_secs_f64();
            best.wall = best.wall.max(n / wall);
            if let (Some(c0), Some(c1)) = (c0, ProcessCpu::now()) {
                cpu += if children {
                    c1.children.saturating_sub(c0.children)
                } else {
                    c1.own.saturating_sub(c0.own)
                };
                frames += n;
            }
        }
        best.cpu = frames / cpu.as_secs_f64().max(0.01);
        Ok(best)
    }
}

/// Runs a command that decodes the whole file; returns `frames`.
fn run_command(cmd: &mut Command, frames: u64) -> anyhow::Result<u64> {
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(frames)
}

/// Decodes the file with the `video_file` source and `decoder` writing `format`; returns the
/// frames.
fn run_video_file(
    dir: &Path,
    path: &Path,
    decoder: VideoDecoder,
    format: DecodeFormat,
) -> anyhow::Result<u64> {
    let params = VideoFileParams {
        path: path.display().to_string(),
        realtime: false,
        looping: false,
        format,
        decoder,
        threads: 1,
        ..Default::default()
    };
    let mut source = VideoFile::new(params, &init(dir))?;
    let mut n = 0u64;
    while let Some(f) = source.next_frame()? {
        std::hint::black_box(&f.data);
        n += 1;
    }
    Ok(n)
}

/// Decodes the file with the `gstreamer` source (`avdec_h264 max-threads=1`, frames in
/// `format`: RGB through `videoconvert`, NV12 and gray8 from the decoder's I420 as it is).
#[cfg(feature = "gstreamer")]
fn run_gst_source(dir: &Path, path: &Path, format: DecodeFormat) -> anyhow::Result<u64> {
    use framebus_media::{GstreamerParams, GstreamerSource};
    let convert = match format {
        DecodeFormat::Rgb8 => "videoconvert n-threads=1 ! ",
        _ => "",
    };
    let params = GstreamerParams {
        pipeline: Some(format!(
            "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 max-threads=1 ! \
             {convert}appsink name=sink",
            path.display()
        )),
        uri: None,
        realtime: Some(false),
        format,
    };
    let mut source = GstreamerSource::new(params, &init(dir))?;
    let mut n = 0u64;
    while let Some(f) = source.next_frame()? {
        std::hint::black_box(&f.data);
        n += 1;
    }
    Ok(n)
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
        let ours = |format| {
            Fps::best_of_three(false, || {
                let n = run_video_file(&dir, &path, VideoDecoder::Openh264, format)?;
                anyhow::ensure!(n == frames, "decoded {n} of {frames} frames");
                Ok(n)
            })
        };
        let rgb = ours(DecodeFormat::Rgb8)?;
        let nv12 = ours(DecodeFormat::Nv12)?;
        let ffmpeg = Fps::best_of_three(true, || {
            run_command(
                Command::new("ffmpeg")
                    .args(["-hide_banner", "-threads", "1", "-i"])
                    .arg(&path)
                    .args(["-f", "null", "-"]),
                frames,
            )
        })?;
        let gst_ok = have("gst-inspect-1.0", "avdec_h264") && have("gst-launch-1.0", "--version");
        let gst = if gst_ok {
            Some(Fps::best_of_three(true, || {
                run_command(
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
                )
            })?)
        } else {
            eprintln!(
                "bench: decode: GStreamer with avdec_h264 (gstreamer1.0-libav) not installed; skipped"
            );
            None
        };
        let ffmpeg_name = "ffmpeg -threads 1 -f null";
        let gst_name = "GStreamer avdec_h264 max-threads=1";
        let mut rows = Vec::new();
        let mut beside = |metric: &str, ours: f64, peer: fn(&Fps) -> f64| {
            rows.push(Row::new("decode", metric, ours, "fps").vs(ffmpeg_name, peer(&ffmpeg)));
            if let Some(g) = &gst {
                rows.push(Row::new("decode", metric, ours, "fps").vs(gst_name, peer(g)));
            }
        };
        beside(
            "video_file decoder=openh264, 720p H.264 → RGB, 1 thread, wall",
            rgb.wall,
            |f| f.wall,
        );
        beside(
            "video_file decoder=openh264, 720p H.264 → RGB, 1 thread, CPU",
            rgb.cpu,
            |f| f.cpu,
        );
        beside(
            "video_file decoder=openh264, 720p H.264 → NV12, 1 thread, CPU",
            nv12.cpu,
            |f| f.cpu,
        );
        beside_ffmpeg_decoder(&dir, &path, frames, &mut beside)?;
        beside_gst_source(&dir, &path, frames, &mut beside)?;
        Ok(rows)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The `gstreamer` source's row (feature `gstreamer`), or a note saying why it is absent.
#[cfg(feature = "gstreamer")]
fn beside_gst_source(
    dir: &Path,
    path: &Path,
    frames: u64,
    beside: &mut impl FnMut(&str, f64, fn(&Fps) -> f64),
) -> anyhow::Result<()> {
    if !have("gst-inspect-1.0", "avdec_h264") {
        eprintln!("bench: decode: the gstreamer source row needs avdec_h264 (gstreamer1.0-libav)");
        return Ok(());
    }
    let rows = [
        (
            DecodeFormat::Rgb8,
            "gstreamer source (avdec_h264 max-threads=1) → RGB, CPU",
        ),
        (
            DecodeFormat::Nv12,
            "gstreamer source (avdec_h264 max-threads=1, I420 in the copy) → NV12, CPU",
        ),
        (
            DecodeFormat::Gray8,
            "gstreamer source (avdec_h264 max-threads=1, I420 in the copy) → gray8, CPU",
        ),
    ];
    cpu_rows(
        &rows,
        frames,
        |format| run_gst_source(dir, path, format),
        beside,
    )
}

/// Without the `gstreamer` feature the `gstreamer` source's row is absent; says so.
#[cfg(not(feature = "gstreamer"))]
fn beside_gst_source(
    _dir: &Path,
    _path: &Path,
    _frames: u64,
    _beside: &mut impl FnMut(&str, f64, fn(&Fps) -> f64),
) -> anyhow::Result<()> {
    eprintln!(
        "bench: decode: no `gstreamer` source row (build with `--features gstreamer` for it)"
    );
    Ok(())
}

/// The `video_file` rows with libavcodec (feature `ffmpeg`), one per frame format.
#[cfg(feature = "ffmpeg")]
fn beside_ffmpeg_decoder(
    dir: &Path,
    path: &Path,
    frames: u64,
    beside: &mut impl FnMut(&str, f64, fn(&Fps) -> f64),
) -> anyhow::Result<()> {
    let rows = [
        (
            DecodeFormat::Rgb8,
            "video_file decoder=ffmpeg (libavcodec, 1 thread) → RGB, CPU",
        ),
        (
            DecodeFormat::Nv12,
            "video_file decoder=ffmpeg (libavcodec, 1 thread) → NV12, CPU",
        ),
        (
            DecodeFormat::Gray8,
            "video_file decoder=ffmpeg (libavcodec, 1 thread) → gray8, CPU",
        ),
    ];
    cpu_rows(
        &rows,
        frames,
        |format| run_video_file(dir, path, VideoDecoder::Ffmpeg, format),
        beside,
    )
}

/// One CPU-time row per `(format, metric)`: `decode` decodes the file into frames of that
/// format (best of three passes) and must give all `frames`.
#[cfg(any(feature = "gstreamer", feature = "ffmpeg"))]
fn cpu_rows(
    rows: &[(DecodeFormat, &str)],
    frames: u64,
    mut decode: impl FnMut(DecodeFormat) -> anyhow::Result<u64>,
    beside: &mut impl FnMut(&str, f64, fn(&Fps) -> f64),
) -> anyhow::Result<()> {
    for &(format, metric) in rows {
        let fps = Fps::best_of_three(false, || {
            let n = decode(format)?;
            anyhow::ensure!(n == frames, "{metric}: decoded {n} of {frames} frames");
            Ok(n)
        })?;
        beside(metric, fps.cpu, |f| f.cpu);
    }
    Ok(())
}

/// Without the `ffmpeg` feature the libavcodec rows are absent; says so.
#[cfg(not(feature = "ffmpeg"))]
fn beside_ffmpeg_decoder(
    _dir: &Path,
    _path: &Path,
    _frames: u64,
    _beside: &mut impl FnMut(&str, f64, fn(&Fps) -> f64),
) -> anyhow::Result<()> {
    eprintln!(
        "bench: decode: no `video_file` libavcodec rows (build with `--features ffmpeg` for them)"
    );
    Ok(())
}
