//! `serial` over a real pseudo-terminal pair: the source opens the pty's device node as it
//! would `/dev/ttyACM0`, the test writes text lines or binary frames with garbage into the
//! master side and checks every valid sample arrives, in order, in packets, with the
//! malformed input counted. Losing the device (master closed) and getting it back through
//! the same path (a symlink, like `/dev/serial/by-id/…`) is checked too.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use framebus_core::clock::{Clock, ManualClock};
use framebus_core::source::{Source, SourceInit};
use framebus_media::signal::{
    Checksum, RawFormat, SerialCounters, SerialFormat, SerialParams, SerialSource,
};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

/// A pty pair: the master (written by the test) and the slave's path (opened by the source).
fn pty() -> (File, PathBuf) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    (File::from(master), PathBuf::from(name.to_str().unwrap()))
}

fn init(clock: Arc<dyn Clock>) -> SourceInit {
    SourceInit {
        base_dir: ".".into(),
        ..SourceInit::standalone("adc_0", clock)
    }
}

fn open(device: &Path, p: SerialParams) -> (SerialSource, Arc<SerialCounters>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let s = SerialSource::new(
        SerialParams {
            device: device.to_str().unwrap().into(),
            ..p
        },
        &init(clock.clone()),
    )
    .expect("open the pty as a serial port");
    let c = s.counters();
    (s, c, clock)
}

/// Writes `bytes` from another thread (a pty holds only a few KiB until read).
fn write_all(mut master: File, bytes: Vec<u8>) -> std::thread::JoinHandle<File> {
    std::thread::spawn(move || {
        for chunk in bytes.chunks(97) {
            master.write_all(chunk).unwrap();
        }
        master.flush().unwrap();
        master
    })
}

/// Reads packets until `n` samples per channel arrived; checks seq and shape.
fn collect(s: &mut SerialSource, rows: usize, channels: usize, batch: usize) -> Vec<f32> {
    let mut out = Vec::new();
    let mut seq = 0;
    while out.len() < rows * channels {
        let p = s.next_packet().unwrap().expect("a packet");
        seq += 1;
        assert_eq!(p.header.seq, seq);
        assert_eq!(p.header.channels, channels);
        assert_eq!(
            p.header.batch_size, batch,
            "full packets only (flush_ms = 0)"
        );
        assert_eq!(p.header.sample_rate, 250.0);
        out.extend_from_slice(&p.data);
    }
    out
}

fn lines_params() -> SerialParams {
    SerialParams {
        channels: 2,
        batch_size: 8,
        flush_ms: 0,
        sample_rate: 250.0,
        max_line: 64,
        ..Default::default()
    }
}

#[test]
fn lines_with_garbage_are_parsed_exactly() {
    let (master, slave) = pty();
    let (mut s, c, _) = open(&slave, lines_params());
    let mut text = String::from("12,-3\n"); // the first line: skipped (maybe cut off)
    let mut want = Vec::new();
    let long = "9".repeat(200) + "\n";
    let garbage = [
        "hello\n", "1,2,3\n", "7,\n", "4;x\n", "inf 1\n", &long, "\n",
    ];
    for i in 0..64 {
        let (a, b) = (i as f32 * 0.5, -(i as f32) * 3.0);
        want.extend([a, b]);
        text += &match i % 4 {
            0 => format!("{a},{b}\r\n"),
            1 => format!("{a} {b}\n"),
            2 => format!("x:{a}\ty:{b}\n"),
            _ => format!("{a};{b}\n\n"),
        };
        if i % 8 == 3 {
            text += garbage[i / 8 % garbage.len()];
        }
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe,1\n");
    let writer = write_all(master, bytes);
    let got = collect(&mut s, 64, 2, 8);
    assert_eq!(got, want);
    writer.join().unwrap();
    assert_eq!(c.frames.load(Relaxed), 64);
    // 8 garbage insertions, one of them a blank line (ignored, not malformed); the final
    // non-UTF-8 line is parsed only when more samples are asked for.
    assert_eq!(c.malformed.load(Relaxed), 7);
}

/// Frames of `sync A5 5A`, 2 samples × 3 channels of i16, XOR checksum.
fn frame_i16(vals: &[i16]) -> Vec<u8> {
    let body: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut f = vec![0xA5, 0x5A];
    f.extend(&body);
    f.push(body.iter().fold(0, |a, b| a ^ b));
    f
}

#[test]
fn binary_frames_resync_after_garbage() {
    let (master, slave) = pty();
    let p = SerialParams {
        format: SerialFormat::Binary,
        channels: 3,
        frame_samples: 2,
        batch_size: 4,
        flush_ms: 0,
        sample_rate: 250.0,
        sync: "A55A".into(),
        sample_type: RawFormat::I16,
        checksum: Checksum::Xor8,
        ..Default::default()
    };
    let (mut s, c, _) = open(&slave, p);
    let mut bytes = vec![0x00, 0x5A, 0xA5]; // noise before the first frame
    let mut want = Vec::new();
    let mut bad = 0;
    for k in 0..100i16 {
        let vals: Vec<i16> = (0..6).map(|j| k * 100 - j * 7 - 3000 * (k % 3)).collect();
        want.extend(vals.iter().map(|&v| v as f32));
        bytes.extend(frame_i16(&vals));
        match k % 10 {
            2 => bytes.extend([0x13, 0x37, 0xA5]), // garbage ending in half a sync
            5 => {
                // a frame with a flipped bit: refused by its checksum
                let mut f = frame_i16(&[1, 2, 3, 4, 5, 6]);
                f[4] ^= 0x10;
                bytes.extend(f);
                bad += 1;
            }
            7 => {
                bytes.extend([0xA5, 0x5A, 0x01]); // a sync followed by a truncated frame
                bad += 1;
            }
            _ => {}
        }
    }
    let total = bytes.len() as u64;
    let writer = write_all(master, bytes);
    let got = collect(&mut s, 200, 3, 4);
    assert_eq!(got, want);
    writer.join().unwrap();
    assert_eq!(c.frames.load(Relaxed), 100);
    assert_eq!(c.malformed.load(Relaxed), bad);
    assert_eq!(c.skipped.load(Relaxed), total - 100 * 15);
}

#[test]
fn f32_frames_without_sync_and_non_finite_values() {
    let (master, slave) = pty();
    let p = SerialParams {
        format: SerialFormat::Binary,
        channels: 2,
        batch_size: 5,
        flush_ms: 0,
        sample_rate: 250.0,
        sample_type: RawFormat::F32,
        checksum: Checksum::Sum8,
        ..Default::default()
    };
    let (mut s, c, _) = open(&slave, p);
    let frame = |a: f32, b: f32| {
        let body: Vec<u8> = [a, b].iter().flat_map(|v| v.to_le_bytes()).collect();
        let sum = body.iter().fold(0u8, |x, y| x.wrapping_add(*y));
        let mut f = body;
        f.push(sum);
        f
    };
    let mut bytes = Vec::new();
    let mut want = Vec::new();
    for i in 0..20 {
        let (a, b) = (i as f32 / 3.0, 1e6 - i as f32);
        bytes.extend(frame(a, b));
        want.extend([a, b]);
        if i == 9 {
            bytes.extend(frame(f32::NAN, 1.0));
        }
    }
    let writer = write_all(master, bytes);
    let got = collect(&mut s, 20, 2, 5);
    assert_eq!(got, want);
    writer.join().unwrap();
    assert_eq!(c.malformed.load(Relaxed), 1);
}

#[test]
fn a_partial_packet_is_flushed_after_flush_ms() {
    let (master, slave) = pty();
    let (mut s, c, clock) = open(
        &slave,
        SerialParams {
            flush_ms: 100,
            skip_first_line: false,
            ..lines_params()
        },
    );
    let counters = c.clone();
    let mut m = master;
    let t = std::thread::spawn(move || {
        m.write_all(b"1,2\n3,4\n5,6\n").unwrap();
        // Advance the clock only once the source has taken all three samples.
        while counters.frames.load(Relaxed) < 3 {
            std::thread::yield_now();
        }
        clock.advance(150_000_000);
        m
    });
    let p = s.next_packet().unwrap().unwrap();
    assert_eq!(p.header.batch_size, 3);
    assert_eq!(p.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    drop(t.join().unwrap());
}

#[test]
fn lost_device_is_reported_and_reopened_through_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyACM-link");
    let (master, slave) = pty();
    std::os::unix::fs::symlink(&slave, &link).unwrap();
    let (mut s, c, _) = open(
        &link,
        SerialParams {
            flush_ms: 0,
            ..lines_params()
        },
    );
    // Two samples of a packet of 8 arrive, then the device goes away (unplugged: its
    // node and link disappear): the partial packet is delivered, then the loss reported.
    let mut m = master;
    m.write_all(b"0,0\n1,1\n2,2\n").unwrap();
    let reader = std::thread::spawn(move || {
        let p = s
            .next_packet()
            .unwrap()
            .expect("what arrived before the loss");
        (p.data.clone(), s)
    });
    while c.frames.load(Relaxed) < 2 {
        std::thread::yield_now();
    }
    drop(m);
    std::fs::remove_file(&link).unwrap();
    let (data, mut s) = reader.join().unwrap();
    assert_eq!(data, vec![1.0, 1.0, 2.0, 2.0]);
    let e = s.next_packet().unwrap_err().to_string();
    assert!(e.contains("device lost"), "{e}");
    assert_eq!(c.disconnects.load(Relaxed), 1);
    // The device is gone: reopening fails, naming it, and keeps failing while absent.
    for _ in 0..2 {
        let e = s.next_packet().unwrap_err().to_string();
        assert!(
            e.contains("ttyACM-link") && e.contains("reopening failed"),
            "{e}"
        );
    }
    // The device comes back under the same name.
    let (master2, slave2) = pty();
    std::os::unix::fs::symlink(&slave2, &link).unwrap();
    let s_thread = std::thread::spawn(move || {
        let p = s.next_packet().unwrap().expect("a packet after reopening");
        (p.data.clone(), s)
    });
    // Written once the source has reopened (counted), so the skipped first line is ours.
    while c.reconnects.load(Relaxed) == 0 {
        std::thread::yield_now();
    }
    let mut m2 = master2;
    let mut text = String::from("junk\n");
    for i in 10..18 {
        text += &format!("{i},{}\n", -i);
    }
    m2.write_all(text.as_bytes()).unwrap();
    let (data, _s) = s_thread.join().unwrap();
    let want: Vec<f32> = (10..18).flat_map(|i| [i as f32, -i as f32]).collect();
    assert_eq!(data, want);
    assert_eq!(
        c.malformed.load(Relaxed),
        0,
        "the first line after reopening is skipped"
    );
}

#[test]
fn bad_devices_and_params_are_refused() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new());
    let missing = SerialSource::new(
        SerialParams {
            device: "/dev/does-not-exist-ttyACM9".into(),
            ..Default::default()
        },
        &init(clock.clone()),
    );
    let e = missing.err().unwrap().to_string();
    assert!(e.contains("/dev/does-not-exist-ttyACM9"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "1\n2\n").unwrap();
    let e = SerialSource::new(
        SerialParams {
            device: file.to_str().unwrap().into(),
            ..Default::default()
        },
        &init(clock.clone()),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("not a serial port"), "{e}");
    let (_master, slave) = pty();
    for bad in [
        SerialParams {
            channels: 0,
            ..Default::default()
        },
        SerialParams {
            sample_rate: 0.0,
            ..Default::default()
        },
        SerialParams {
            format: SerialFormat::Binary,
            sync: "A5Z".into(),
            ..Default::default()
        },
    ] {
        let p = SerialParams {
            device: slave.to_str().unwrap().into(),
            ..bad
        };
        assert!(SerialSource::new(p, &init(clock.clone())).is_err());
    }
}

/// Through the runtime: the source's counters show in the runtime's status (what
/// `GET /api/v1/status` serves) while it runs.
#[test]
fn counters_show_in_the_runtime_status() {
    use framebus_core::config::{Config, Format};
    use framebus_core::observer::Observer;
    use framebus_core::runtime::{Runtime, RuntimeOptions};
    use framebus_testkit::process::{Tap, next_where};

    framebus_media::link();
    let (master, slave) = pty();
    let toml = format!(
        "[[sources]]\nid = \"adc_0\"\nkind = \"serial\"\nsnapshot_hz = 100000\n\
         params = {{ device = \"{}\", channels = 2, batch_size = 8, flush_ms = 0, sample_rate = 250.0 }}\n",
        slave.display()
    );
    let config = Config::parse(&toml, Format::Toml, "serial.toml").unwrap();
    let (tap, rx) = Tap::new();
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            observers: vec![tap as Arc<dyn Observer>],
            ..Default::default()
        },
    )
    .unwrap();
    let mut text = String::from("0,0\n"); // the first line is skipped
    for i in 0..16 {
        text += &format!("{i},{}\n", -i);
        if i % 5 == 1 {
            text += "not,a,row\n";
        }
    }
    let writer = write_all(master, text.into_bytes());
    let snap = next_where(&rx, std::time::Duration::from_secs(30), |s| {
        s["frame_id"].as_u64() == Some(2)
    });
    assert!(snap.is_some(), "two packets of 8 rows");
    let status = rt.status();
    let counters = &status.sources[0].counters;
    assert_eq!(counters.get("frames"), Some(&16), "{counters:?}");
    assert_eq!(counters.get("malformed"), Some(&3), "{counters:?}");
    assert_eq!(counters.get("disconnects"), Some(&0), "{counters:?}");
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["sources"][0]["counters"]["malformed"], 3);
    rt.shutdown();
    drop(writer.join().unwrap());
}
