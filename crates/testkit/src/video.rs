//! Test videos made by Debian's `ffmpeg` with a frame counter in the pixels.
//!
//! [`encode_counter_video`] pipes raw gray frames into `ffmpeg` (libx264 unless the caller's
//! arguments choose another codec) and returns the file. Frame `i` (0-based) carries the
//! number `i + 1` (the `frame_id` a source gives it) drawn with [`crate::counter::draw`],
//! above a diagonal pattern that moves every frame so the encoder has real motion to code
//! (and uses B-frames when allowed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What video to make.
#[derive(Debug, Clone)]
pub struct VideoSpec<'a> {
    /// Width in pixels (at least [`crate::counter::MIN_WIDTH`]).
    pub width: u32,
    /// Height in pixels (at least [`crate::counter::BLOCK`]).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Number of frames.
    pub frames: u32,
    /// Output arguments for ffmpeg after the input (codec, profile, B-frames, movflags),
    /// e.g. `["-c:v", "libx264", "-bf", "2"]`.
    pub args: &'a [&'a str],
}

/// Gray frame `i` of `spec`: the counter `i + 1` over a moving diagonal pattern.
pub fn counter_frame(spec: &VideoSpec<'_>, i: u32, out: &mut Vec<u8>) {
    let (w, h) = (spec.width as usize, spec.height as usize);
    out.clear();
    out.extend((0..w * h).map(|p| {
        let (x, y) = (p % w, p / w);
        (64 + ((x + y * 2 + i as usize * 5) % 128)) as u8
    }));
    crate::counter::draw(out, spec.width, spec.height, w, 1, i + 1);
}

/// Encodes `spec` into `dir/name` with ffmpeg and returns the path.
///
/// # Panics
/// When ffmpeg is missing or fails (its stderr is in the message).
pub fn encode_counter_video(dir: &Path, name: &str, spec: &VideoSpec<'_>) -> PathBuf {
    let path = dir.join(name);
    let size = format!("{}x{}", spec.width, spec.height);
    let fps = spec.fps.to_string();
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f", "rawvideo", "-pix_fmt", "gray", "-s", &size, "-r", &fps,
        ])
        .args(["-i", "-"])
        .args(spec.args)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg is needed for video tests (scripts/test.sh installs it)");
    {
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut frame = Vec::new();
        for i in 0..spec.frames {
            counter_frame(spec, i, &mut frame);
            stdin.write_all(&frame).expect("ffmpeg took the frames");
        }
    }
    let out = child.wait_with_output().expect("ffmpeg ran");
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// Counts the frames of each picture type (`I`, `P`, `B`) in a video with `ffprobe`.
///
/// # Panics
/// When ffprobe is missing or fails.
pub fn picture_types(path: &Path) -> std::collections::BTreeMap<char, usize> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=pict_type", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe failed");
    let mut counts = std::collections::BTreeMap::new();
    for c in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().chars().next())
    {
        *counts.entry(c).or_insert(0) += 1;
    }
    counts
}

/// Encodes `frames` frames of ffmpeg's `testsrc2` pattern (colour bars, a gradient and a
/// moving square: chroma that differs between U and V everywhere) at `width`×`height`, 25 fps,
/// with libx264 (yuv420p) into `dir/name` and returns the path. For tests that check the
/// chroma planes of decoded frames, which the gray [`encode_counter_video`] leaves neutral.
///
/// # Panics
/// When ffmpeg is missing or fails (its stderr is in the message).
pub fn encode_colour_video(
    dir: &Path,
    name: &str,
    width: u32,
    height: u32,
    frames: u32,
) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .arg("-i")
        .arg(format!("testsrc2=size={width}x{height}:rate=25"))
        .args(["-frames:v", &frames.to_string()])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2"])
        .arg(&path)
        .output()
        .expect("ffmpeg is needed for video tests (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}
