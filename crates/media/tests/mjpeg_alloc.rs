//! The v4l2 source's MJPEG path on real JPEG bytes (a webcam-like 4:2:2 MJPEG stream made by
//! ffmpeg) decodes straight into pooled frames: once warmed up, a frame allocates no
//! image-sized buffer, and the same small number of allocations every frame (zune-jpeg's
//! per-image row and table buffers, which its API cannot reuse), so nothing grows. Measured
//! here at 640×480: 17 allocations, about 120 kB a frame; before, through `image` (a fresh
//! RGB image, then a copy into the frame), 21 allocations and 1.07 MB a frame.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::frame::PixelFormat;
use framebus_core::source::{Source, SourceInit};
use framebus_media::V4l2Source;
use framebus_media::v4l2::{CameraDevice, CaptureFormat, ControlSet, StreamInfo};
use framebus_testkit::alloc::{ThreadCounting, thread_allocated_bytes, thread_allocations};

#[global_allocator]
static GLOBAL: ThreadCounting = ThreadCounting;

const W: u32 = 640;
const H: u32 = 480;
const JPEGS: usize = 12;
const FRAMES: usize = 60;
const WARMUP: usize = 12;

/// `JPEGS` distinct JPEG frames (ffmpeg's `testsrc2`, yuvj422p like most webcams).
fn real_jpegs(dir: &Path) -> Vec<Vec<u8>> {
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc2=size={W}x{H}:rate=30"))
        .args(["-frames:v", &JPEGS.to_string()])
        .args(["-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "4"])
        .arg(dir.join("f%02d.jpg"))
        .status()
        .expect("ffmpeg (Debian package ffmpeg) is needed to make the JPEG frames");
    assert!(status.success());
    (1..=JPEGS)
        .map(|i| std::fs::read(dir.join(format!("f{i:02}.jpg"))).unwrap())
        .collect()
}

/// A camera that hands out the JPEG frames in turn, as a V4L2 MJPEG device does.
struct MjpegCamera {
    jpegs: Vec<Vec<u8>>,
    next: usize,
}

impl CameraDevice for MjpegCamera {
    fn open(&mut self) -> Result<StreamInfo, String> {
        Ok(StreamInfo {
            width: W,
            height: H,
            stride: 0,
            format: CaptureFormat::Mjpeg,
            controls: ControlSet::default(),
        })
    }

    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), String> {
        let i = self.next % self.jpegs.len();
        self.next += 1;
        sink(&self.jpegs[i]);
        Ok(())
    }

    fn close(&mut self) {}

    fn set_control(&mut self, _: framebus_media::v4l2::Control, _: i32) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn mjpeg_frames_decode_into_pooled_frames_without_image_sized_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let jpegs = real_jpegs(dir.path());
    let init = SourceInit::standalone("camera_0", Arc::new(ManualClock::new()));
    let camera = Box::new(MjpegCamera { jpegs, next: 0 });
    let mut source = V4l2Source::with_device("mjpeg".into(), camera, &init).unwrap();
    // (allocations, bytes) of each frame; frames are dropped at once, so the pool reuses them.
    let mut per_frame = Vec::with_capacity(FRAMES);
    let mut checksum = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let (a, b) = (thread_allocations(), thread_allocated_bytes());
        let f = source.next_frame().unwrap().unwrap();
        per_frame.push((thread_allocations() - a, thread_allocated_bytes() - b));
        assert_eq!((f.format, f.width, f.height), (PixelFormat::Rgb8, W, H));
        checksum.push(f.data.iter().map(|&v| u64::from(v)).sum::<u64>());
    }
    let frame_bytes = u64::from(W * H * 3);
    let warm = &per_frame[WARMUP..];
    // The decode is real: the frames differ (testsrc2 moves) and repeat with the camera.
    assert_ne!(checksum[0], checksum[1]);
    assert_eq!(checksum[0], checksum[JPEGS]);
    let max_bytes = warm.iter().map(|&(_, b)| b).max().unwrap();
    assert!(
        max_bytes < frame_bytes / 4,
        "a warmed-up frame allocated {max_bytes} bytes (an image is {frame_bytes}): {per_frame:?}"
    );
    let counts: Vec<u64> = warm.iter().map(|&(n, _)| n).collect();
    assert!(
        counts.iter().all(|&n| n == counts[0]),
        "allocations per frame vary (something grows): {counts:?}"
    );
    eprintln!(
        "MJPEG {W}x{H}: {} allocations, at most {max_bytes} bytes per warmed-up frame (image {frame_bytes})",
        counts[0]
    );
}
