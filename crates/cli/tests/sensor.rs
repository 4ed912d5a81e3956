//! The sensor example through the real runtime (capture thread, block edge, pipeline
//! thread): every packet processed, at most `snapshot_hz` snapshots per second of packet
//! time published, and a block edge that loses no packet over 10^6 packets. The example
//! reads its generator on the pipeline thread (`inline = true`); the same chain with a
//! capture thread gives the same snapshots.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use framebus_core::clock::ManualClock;
use framebus_core::config::{Config, Format};
use framebus_core::observer::{Observer, SnapshotOut};
use framebus_core::runtime::{Runtime, RuntimeOptions};

#[derive(Default)]
struct Count {
    snapshots: AtomicU64,
    last: std::sync::Mutex<Option<serde_json::Value>>,
}

impl Observer for Count {
    fn snapshot(&self, s: &SnapshotOut<'_>) {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        assert_eq!(s.frame.width, 0, "sample pipelines lend an empty frame");
        if let Ok(mut l) = self.last.lock() {
            *l = serde_json::from_slice(s.json).ok();
        }
    }
}

fn run(text: &str, packets: u64) -> (Arc<Count>, framebus_core::runtime::RuntimeStatus) {
    framebus_media::link();
    framebus_stages::link();
    let config = Config::parse(text, Format::Toml, "sensor.toml").unwrap();
    let obs = Arc::new(Count::default());
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            max_frames: Some(packets),
            observers: vec![obs.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    while !rt.finished() {
        std::thread::yield_now();
    }
    let status = rt.status();
    rt.shutdown();
    (obs, status)
}

fn example() -> String {
    let text = include_str!("../../../examples/sensor.toml");
    let head = text.split("\n[server]").next().unwrap();
    head.replace("params.realtime = true", "params.realtime = false")
}

#[test]
fn inline_reading_gives_what_a_capture_thread_gives() {
    let inline = example();
    assert!(
        inline.contains("\ninline = true\n"),
        "the example reads inline"
    );
    let threaded = inline.replace("\ninline = true\n", "\ninline = false\n");
    let (a, sa) = run(&inline, 200);
    let (b, sb) = run(&threaded, 200);
    for s in [&sa, &sb] {
        let src = &s.sources[0];
        assert_eq!((src.processed, src.sent, src.dropped), (200, 200, 0));
    }
    assert_eq!(
        a.snapshots.load(Ordering::Relaxed),
        b.snapshots.load(Ordering::Relaxed)
    );
    // The generator is deterministic for its seed: the last snapshots carry the same signals.
    let last = |c: &Count| c.last.lock().unwrap().clone().unwrap();
    assert_eq!(last(&a)["signals"], last(&b)["signals"]);
    assert_eq!(last(&a)["sequence"], last(&b)["sequence"]);
}

#[test]
fn an_inline_pipeline_applies_commands_between_packets_and_stops() {
    framebus_media::link();
    framebus_stages::link();
    let config = Config::parse(&example(), Format::Toml, "sensor.toml").unwrap();
    let obs = Arc::new(Count::default());
    let rt = Runtime::start(
        &config,
        RuntimeOptions {
            clock: Arc::new(ManualClock::new()),
            observers: vec![obs.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let msg = framebus_core::protocol::ClientMessage::parse(
        r#"{"stage_id":"gain","cmd":"UpdateParam","key":"gain","value":12.0}"#,
    )
    .unwrap();
    let framebus_core::protocol::ClientMessage::Command(cmd) = msg else {
        panic!("a command")
    };
    let ack = rt
        .bus()
        .request_blocking(cmd, std::time::Duration::from_secs(30))
        .unwrap();
    assert_eq!(ack.result["gain"], 12.0);
    // A bad command is refused and changes nothing.
    let msg = framebus_core::protocol::ClientMessage::parse(
        r#"{"stage_id":"gain","cmd":"UpdateParam","key":"gain","value":"loud"}"#,
    )
    .unwrap();
    let framebus_core::protocol::ClientMessage::Command(cmd) = msg else {
        panic!("a command")
    };
    assert!(
        rt.bus()
            .request_blocking(cmd, std::time::Duration::from_secs(30))
            .is_err()
    );
    // Packets go on after the commands (the status is read between packets: wait for whole
    // ones, not a packet halfway through its stages).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        let status = rt.status();
        if status.sources[0].processed >= 2 {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            status.sources[0]
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    // Shutdown stops the source the pipeline thread reads (it never ends by itself).
    rt.shutdown();
    let src = &status.sources[0];
    assert_eq!(src.dropped, 0);
}

#[test]
fn sensor_example_processes_every_packet_and_limits_snapshots() {
    let (obs, status) = run(&example(), 200);
    let src = &status.sources[0];
    assert_eq!(src.processed, 200);
    assert_eq!(src.dropped, 0);
    // Packets of 16384 samples at 1 MS/s are 16.384 ms apart; at most 30 snapshots a second
    // of packet time lets every third packet through: ceil(200 / 3).
    assert_eq!(obs.snapshots.load(Ordering::Relaxed), 67);
    let last = obs.last.lock().unwrap().clone().unwrap();
    assert_eq!(last["results"]["fft"]["shape"], "spectrum");
    assert_eq!(last["results"]["stats"]["shape"], "time_series");
    let peak = last["signals"]["fft.peak_hz"].as_f64().unwrap();
    assert!((peak - 10_000.0).abs() <= 62_500.0 / 1024.0, "{peak}");
    assert_eq!(
        last["packet"]["batch_size"], 513,
        "the FFT's packet is the payload"
    );
    assert!(
        src.stages.iter().all(|s| s.failures == 0),
        "{:?}",
        src.stages
    );
}

#[test]
fn a_block_edge_loses_no_packet_over_a_million() {
    let text = r#"
[[sources]]
id = "adc"
kind = "signal_generator"
edge = { policy = "block", capacity = 4 }
snapshot_hz = 10
params = { batch_size = 8, realtime = false, noise = 0.0, tones = [] }

[[stages]]
plugin = "gain"
params = { gain = 2.0 }
"#;
    let n = 1_000_000;
    let (_obs, status) = run(text, n);
    let src = &status.sources[0];
    // Every packet the generator made went through the edge and was processed.
    assert_eq!(src.processed, n);
    assert_eq!(src.sent, n);
    assert_eq!(src.dropped, 0);
}
