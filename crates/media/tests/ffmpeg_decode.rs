//! The `video_file` source with libavcodec (feature `ffmpeg`) beside OpenH264 on real files
//! made by ffmpeg: the two decoders give the same NV12 and gray frames (identical I and P
//! frames; OpenH264 rounds B-frame prediction differently in a few pixels, by one level) and
//! RGB within a small rounding difference, on a colour video with B-frames;
//! frame threads give the same frames; a 4:4:4 stream (which OpenH264 cannot decode) goes
//! through libswscale into every format with the frame counter intact.

#![cfg(feature = "ffmpeg")]

use std::path::Path;
use std::sync::Arc;

use framebus_core::clock::ManualClock;
use framebus_core::frame::PixelFormat;
use framebus_core::source::{Source, SourceInit};
use framebus_media::{DecodeFormat, VideoDecoder, VideoFile, VideoFileParams};
use framebus_testkit::counter;
use framebus_testkit::video::{VideoSpec, encode_colour_video, encode_counter_video};

fn open(
    dir: &Path,
    path: &str,
    decoder: VideoDecoder,
    format: DecodeFormat,
    threads: u32,
) -> VideoFile {
    let init = SourceInit {
        base_dir: dir.to_path_buf(),
        ..SourceInit::standalone("camera_0", Arc::new(ManualClock::new()))
    };
    let params = VideoFileParams {
        path: path.into(),
        realtime: false,
        format,
        decoder,
        threads,
        ..Default::default()
    };
    let s = VideoFile::new(params, &init).unwrap();
    assert_eq!(s.decoder(), decoder);
    s
}

/// Every frame's (id, t_ns, pixels).
fn frames(s: &mut VideoFile) -> Vec<(u64, u64, Vec<u8>)> {
    std::iter::from_fn(|| s.next_frame().unwrap())
        .map(|f| (f.frame_id, f.t_ns, f.data.to_vec()))
        .collect()
}

#[test]
fn libavcodec_and_openh264_give_the_same_frames() {
    // 330 wide: RGB through libswscale's own picture; 320 (a multiple of 16): straight into
    // the frame.
    for w in [330usize, 320] {
        same_frames(w);
    }
}

fn same_frames(w: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (h, n) = (96usize, 30usize);
    encode_colour_video(dir.path(), "colour.mp4", w as u32, h as u32, n as u32);
    for format in [DecodeFormat::Nv12, DecodeFormat::Gray8, DecodeFormat::Rgb8] {
        let ours = |decoder| frames(&mut open(dir.path(), "colour.mp4", decoder, format, 1));
        let av = ours(VideoDecoder::Ffmpeg);
        let oh = ours(VideoDecoder::Openh264);
        assert_eq!(av.len(), n, "{format:?}");
        assert_eq!(oh.len(), n, "{format:?}");
        let mut identical = 0;
        for (i, (a, o)) in av.iter().zip(&oh).enumerate() {
            assert_eq!((a.0, a.1), (o.0, o.1), "{format:?} frame {i}: id and time");
            let worst = a.2.iter().zip(&o.2).map(|(x, y)| x.abs_diff(*y)).max();
            let differ = a.2.iter().zip(&o.2).filter(|(x, y)| x != y).count();
            identical += usize::from(differ == 0);
            if format == DecodeFormat::Rgb8 {
                // Two YUV → RGB converters (libswscale, OpenH264's): rounding differs a little.
                assert!(worst <= Some(3), "{format:?} frame {i}: {worst:?}");
            } else {
                // The same YUV, except OpenH264's B-frame prediction rounding a few pixels
                // differently (by one level): I and P frames are identical.
                assert!(
                    worst <= Some(1) && differ * 500 < a.2.len(),
                    "{format:?} frame {i}: {differ} bytes differ, worst {worst:?}"
                );
            }
        }
        if format != DecodeFormat::Rgb8 {
            assert!(
                identical * 5 >= n * 4,
                "{format:?}: {identical} of {n} identical"
            );
        }
        if format == DecodeFormat::Nv12 {
            // The video has colour: U and V differ a lot somewhere (a swap would show).
            let chroma = &av[0].2[w * h..];
            assert!(chroma.chunks_exact(2).any(|p| p[0].abs_diff(p[1]) > 64));
        }
    }
}

const N: u32 = 40;

fn counter_spec(args: &'static [&'static str]) -> VideoSpec<'static> {
    VideoSpec {
        width: 320,
        height: 96,
        fps: 25,
        frames: N,
        args,
    }
}

/// (frame id, counter, t_ns) of every frame.
fn counters(s: &mut VideoFile, bpp: usize) -> Vec<(u64, u32, u64)> {
    std::iter::from_fn(|| s.next_frame().unwrap())
        .map(|f| (f.frame_id, counter::read(&f.data, f.stride, bpp), f.t_ns))
        .collect()
}

fn expected() -> Vec<(u64, u32, u64)> {
    (1..=u64::from(N))
        .map(|id| (id, id as u32, (id - 1) * 40_000_000))
        .collect()
}

#[test]
fn frame_threads_give_the_same_frames_in_order() {
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(
        dir.path(),
        "v.mp4",
        &counter_spec(&["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2"]),
    );
    for threads in [1, 3] {
        let mut s = open(
            dir.path(),
            "v.mp4",
            VideoDecoder::Ffmpeg,
            DecodeFormat::Gray8,
            threads,
        );
        assert_eq!(counters(&mut s, 1), expected(), "{threads} threads");
    }
}

/// High 4:4:4 (OpenH264 decodes 4:2:0 only): libswscale converts into each format.
#[test]
fn a_4_4_4_stream_is_converted_into_every_format() {
    let dir = tempfile::tempdir().unwrap();
    encode_counter_video(
        dir.path(),
        "444.mp4",
        &counter_spec(&["-c:v", "libx264", "-pix_fmt", "yuv444p"]),
    );
    for (format, pixel, bpp) in [
        (DecodeFormat::Rgb8, PixelFormat::Rgb8, 3),
        (DecodeFormat::Nv12, PixelFormat::Nv12, 1),
        (DecodeFormat::Gray8, PixelFormat::Gray8, 1),
    ] {
        let mut s = open(dir.path(), "444.mp4", VideoDecoder::Ffmpeg, format, 1);
        let check = move |s: &mut VideoFile, seen: &mut Vec<(u64, u32, u64)>, frames: usize| {
            for _ in 0..frames {
                let Some(f) = s.next_frame().unwrap() else {
                    return;
                };
                assert_eq!((f.width, f.height, f.format), (320, 96, pixel));
                assert_eq!(f.data.len(), pixel.buffer_len(f.stride, 96));
                if pixel == PixelFormat::Nv12 {
                    // A gray video: neutral chroma after the conversion.
                    let uv = &f.data[320 * 96..][..64];
                    assert!(uv.iter().all(|&c| c.abs_diff(128) <= 3), "{uv:?}");
                }
                seen.push((f.frame_id, counter::read(&f.data, f.stride, bpp), f.t_ns));
            }
        };
        let mut seen = Vec::new();
        check(&mut s, &mut seen, 5);
        // The source (its libswscale converter made) moves to another thread and goes on,
        // as a runtime moves a source onto its capture thread.
        let seen = std::thread::spawn(move || {
            check(&mut s, &mut seen, usize::MAX);
            seen
        })
        .join()
        .unwrap();
        assert_eq!(seen, expected(), "{format:?}");
    }
}
