//! The `v4l2` source on an injected device (these machines have no camera): YUYV frames with
//! a padded stride, MJPEG decoding, controls, and loss with reconnect and backoff counted on
//! a manual clock.

use std::sync::{Arc, Mutex};

use framebus_core::clock::{Clock, ManualClock};
use framebus_protocol::ErrorCode;
use serde_json::json;

use super::*;
use crate::test_util::init_with;

/// What the injected camera did, shared with the test.
#[derive(Debug, Default)]
struct Log {
    opens: u32,
    closes: u32,
    controls: Vec<(Control, i32)>,
}

/// A 32×4 YUYV camera (stride 80) whose frame `n` carries `n` in its first byte. It fails
/// the read after `fail_after` frames, then fails `fail_opens` opens, then works again.
struct Scripted {
    log: Arc<Mutex<Log>>,
    controls: ControlSet,
    frames: u8,
    fail_after: Option<u8>,
    fail_opens: u32,
    format: CaptureFormat,
    jpeg: Vec<u8>,
}

impl Scripted {
    fn new(log: &Arc<Mutex<Log>>) -> Self {
        Self {
            log: log.clone(),
            controls: ControlSet::default()
                .with(Control::Exposure)
                .with(Control::AutoExposure),
            frames: 0,
            fail_after: None,
            fail_opens: 0,
            format: CaptureFormat::Yuyv,
            jpeg: Vec::new(),
        }
    }
}

impl CameraDevice for Scripted {
    fn open(&mut self) -> std::result::Result<StreamInfo, String> {
        let mut log = self.log.lock().unwrap();
        log.opens += 1;
        if log.opens > 1 && self.fail_opens > 0 {
            self.fail_opens -= 1;
            return Err("No such device (os error 19)".into());
        }
        Ok(StreamInfo {
            width: 32,
            height: 4,
            stride: 80,
            format: self.format,
            controls: self.controls,
        })
    }

    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> std::result::Result<(), String> {
        if self.fail_after == Some(self.frames) {
            self.fail_after = None;
            return Err("read failed: No such device (os error 19)".into());
        }
        self.frames += 1;
        if self.format == CaptureFormat::Mjpeg {
            sink(&self.jpeg);
            return Ok(());
        }
        let mut buf = vec![0xEEu8; 80 * 4];
        for y in 0..4 {
            buf[y * 80..y * 80 + 64].fill(y as u8 + 10);
        }
        buf[0] = self.frames;
        sink(&buf);
        Ok(())
    }

    fn close(&mut self) {
        self.log.lock().unwrap().closes += 1;
    }

    fn set_control(&mut self, control: Control, value: i32) -> std::result::Result<(), String> {
        self.log.lock().unwrap().controls.push((control, value));
        Ok(())
    }
}

fn source(device: Scripted, clock: &Arc<ManualClock>) -> V4l2Source {
    V4l2Source::with_device(
        "/dev/video9".into(),
        Box::new(device),
        &init_with(clock.clone(), 4),
    )
    .unwrap()
}

#[test]
fn yuyv_rows_are_copied_without_the_stride_padding() {
    let log = Arc::new(Mutex::new(Log::default()));
    let clock = Arc::new(ManualClock::new());
    let mut s = source(Scripted::new(&log), &clock);
    let f = s.next_frame().unwrap().unwrap();
    assert_eq!(
        (f.frame_id, f.width, f.height, f.format),
        (1, 32, 4, PixelFormat::Yuyv)
    );
    assert_eq!(f.data.len(), 64 * 4);
    assert_eq!(f.data[0], 1);
    for y in 0..4 {
        assert!(
            f.data[y * 64 + 1..(y + 1) * 64]
                .iter()
                .all(|&b| b == y as u8 + 10)
        );
    }
    clock.advance(5);
    let g = s.next_frame().unwrap().unwrap();
    assert_eq!((g.frame_id, g.data[0], g.t_ns), (2, 2, 5));
}

#[test]
fn mjpeg_frames_are_decoded_to_rgb_and_a_corrupt_one_is_an_error() {
    let log = Arc::new(Mutex::new(Log::default()));
    let clock = Arc::new(ManualClock::new());
    let mut dev = Scripted::new(&log);
    dev.format = CaptureFormat::Mjpeg;
    dev.jpeg = crate::decode::tests::jpeg(24, 8, [200, 20, 20]);
    let mut s = source(dev, &clock);
    let f = s.next_frame().unwrap().unwrap();
    assert_eq!((f.width, f.height, f.format), (24, 8, PixelFormat::Rgb8));
    assert!(f.data[0] > 150 && f.data[1] < 80, "{:?}", &f.data[..3]);

    let mut dev = Scripted::new(&log);
    dev.format = CaptureFormat::Mjpeg;
    dev.jpeg = b"\xff\xd8 not really".to_vec();
    let mut s = source(dev, &clock);
    let e = s.next_frame().unwrap_err().to_string();
    assert!(e.contains("/dev/video9") && e.contains("frame 1"), "{e}");
}

#[test]
fn controls_reach_the_device_before_the_next_frame_and_missing_ones_are_bad_args() {
    let log = Arc::new(Mutex::new(Log::default()));
    let clock = Arc::new(ManualClock::new());
    let mut s = source(Scripted::new(&log), &clock);
    let c = s.controls().unwrap();
    let set = c
        .apply(&json!({"exposure": 250, "auto_exposure": false}))
        .unwrap();
    assert_eq!((set.exposure, set.auto_exposure), (250.0, false));
    assert!(
        log.lock().unwrap().controls.is_empty(),
        "applied on the capture thread"
    );
    s.next_frame().unwrap().unwrap();
    assert_eq!(
        log.lock().unwrap().controls,
        [(Control::Exposure, 250), (Control::AutoExposure, 1)]
    );
    // The scripted camera has no gain control: refused, naming it, and nothing changes.
    let e = c.apply(&json!({"gain": 6, "exposure": 10})).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    assert!(
        e.message.contains("gain") && e.message.contains("/dev/video9"),
        "{}",
        e.message
    );
    for bad in [
        json!({"exposure": 0}),
        json!({"iso": 1}),
        json!({"auto_exposure": 3}),
    ] {
        assert_eq!(c.apply(&bad).unwrap_err().code, ErrorCode::BadArgs, "{bad}");
    }
    assert_eq!(c.settings().exposure, 250.0);
    s.next_frame().unwrap().unwrap();
    assert_eq!(log.lock().unwrap().controls.len(), 2, "nothing new written");
}

#[test]
fn a_lost_camera_is_retried_with_backoff_and_frames_resume_with_its_settings() {
    let log = Arc::new(Mutex::new(Log::default()));
    let clock = Arc::new(ManualClock::new());
    let mut dev = Scripted::new(&log);
    dev.fail_after = Some(3);
    dev.fail_opens = 4;
    let mut s = source(dev, &clock);
    s.controls()
        .unwrap()
        .apply(&json!({"exposure": 300}))
        .unwrap();
    let ids: Vec<u64> = (0..3)
        .map(|_| s.next_frame().unwrap().unwrap().frame_id)
        .collect();
    assert_eq!(ids, [1, 2, 3]);

    let lost_at = clock.now_ns();
    let e = s.next_frame().unwrap_err().to_string();
    assert!(
        e.contains("camera lost") && e.contains("/dev/video9"),
        "{e}"
    );
    assert_eq!(log.lock().unwrap().closes, 1);
    // Four failed reopen attempts, each reported, each after a doubled delay.
    for attempt in 1..=4u32 {
        let e = s.next_frame().unwrap_err().to_string();
        assert!(
            e.contains(&format!("reconnect attempt {attempt} failed")),
            "{e}"
        );
    }
    assert_eq!(
        clock.now_ns() - lost_at,
        (100 + 200 + 400 + 800) * 1_000_000
    );
    // The fifth attempt (after 1.6 s more) opens it: frames resume with increasing ids.
    let f = s.next_frame().unwrap().unwrap();
    assert_eq!(
        clock.now_ns() - lost_at,
        (100 + 200 + 400 + 800 + 1600) * 1_000_000
    );
    assert_eq!(f.frame_id, 4);
    assert_eq!(log.lock().unwrap().opens, 1 + 5);
    // The exposure the command chose was written again to the reopened device.
    let writes = log.lock().unwrap().controls.clone();
    assert_eq!(writes, [(Control::Exposure, 300), (Control::Exposure, 300)]);
    // A second loss starts the backoff from the first delay again.
    assert_eq!(backoff_ns(1), 100_000_000);
}

#[test]
fn backoff_doubles_up_to_five_seconds() {
    let d: Vec<u64> = (1..=9).map(|a| backoff_ns(a) / 1_000_000).collect();
    assert_eq!(d, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    assert_eq!(backoff_ns(u32::MAX), BACKOFF_MAX_NS);
}

#[test]
fn shutdown_interrupts_a_backoff_wait() {
    let log = Arc::new(Mutex::new(Log::default()));
    let clock = Arc::new(ManualClock::new());
    let mut dev = Scripted::new(&log);
    dev.fail_after = Some(0);
    let mut s = source(dev, &clock);
    assert!(s.next_frame().is_err());
    s.stop.stop();
    assert!(s.next_frame().unwrap().is_none());
    assert_eq!(log.lock().unwrap().opens, 1, "no reopen after stop");
    let _ = clock.now_ns();
}

#[test]
fn a_missing_device_is_refused_at_open_naming_it() {
    let clock = Arc::new(ManualClock::new());
    let params = V4l2Params {
        device: "/dev/video-framebus-absent".into(),
        ..Default::default()
    };
    let e = V4l2Source::new(params, &init_with(clock, 4))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("/dev/video-framebus-absent") && e.contains("cannot open"),
        "{e}"
    );
}
