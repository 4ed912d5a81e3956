//! The MP4 writer's memory does not grow with the recording: samples go to the file as they
//! come, so what the writing thread holds after 600 large frames is about one second's chunk
//! plus the sample tables, not the 600 frames (counted with `framebus_testkit::alloc`).

use framebus_core::frame::{FrameData, PixelFormat};
use framebus_media::encode::{EncoderSettings, H264Encoder, Mp4Writer, probe};
use framebus_testkit::alloc::{ThreadCounting, thread_live_bytes};

#[global_allocator]
static GLOBAL: ThreadCounting = ThreadCounting;

const FRAMES: u64 = 600;
const PERIOD_NS: u64 = 33_333_333;

#[test]
fn a_long_recording_holds_about_a_chunk_not_every_frame() {
    // A keyframe of noise: large (tens of kilobytes), written again and again as every frame.
    let (w, h) = (320u32, 240u32);
    let mut f = FrameData::default();
    f.reshape(w, h, PixelFormat::Gray8);
    let mut x = 0x2545_f491_u32;
    for p in f.data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *p = x as u8;
    }
    let mut enc = H264Encoder::new(EncoderSettings::default());
    let key = enc.encode(&f, 0).unwrap();
    assert!(key.keyframe);
    let au = key.data.to_vec();
    assert!(au.len() > 20_000, "a large frame: {} bytes", au.len());
    drop(enc);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.mp4");
    let mut mp4 = Mp4Writer::create(&path, w, h, 30.0).unwrap();
    let before = thread_live_bytes();
    let mut held_max = 0;
    for i in 0..FRAMES {
        mp4.write(i * PERIOD_NS, &au, true).unwrap();
        held_max = held_max.max(thread_live_bytes() - before);
    }
    let written = au.len() as i64 * FRAMES as i64;
    // One second's chunk (30 frames) buffered by the `mp4` crate, the held frame, and the
    // sample tables: well under a tenth of what was written.
    assert!(
        held_max < 40 * au.len() as i64,
        "held {held_max} bytes at most while writing {written}"
    );
    let summary = mp4.finish().unwrap();
    assert_eq!(summary.frames, FRAMES);
    assert!(
        (summary.duration_s - 20.0).abs() < 1.0 / 90_000.0,
        "{}",
        summary.duration_s
    );
    let info = probe(&path).unwrap();
    assert_eq!((info.frames, info.width, info.height), (FRAMES, w, h));
    assert!(info.faststart, "moov before mdat");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), summary.bytes);
    // Every sample is the frame written, at its place.
    let d = framebus_testkit::mp4::decode(&path).unwrap();
    assert_eq!(u64::from(d.samples), FRAMES);
    assert!((d.duration_s - 20.0).abs() < 1.0 / 30.0, "{}", d.duration_s);
}

#[test]
fn a_first_frame_without_parameter_sets_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.mp4");
    let mut mp4 = Mp4Writer::create(&path, 64, 48, 30.0).unwrap();
    let e = mp4
        .write(0, &[0, 0, 0, 1, 0x41, 0x9a, 0x02], false)
        .unwrap_err();
    assert!(
        e.to_string().contains("keyframe with its SPS and PPS"),
        "{e}"
    );
    drop(mp4);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
