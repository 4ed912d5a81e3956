//! `framebus bench`: the benchmarks of the issue "Benchmarks side by side with GStreamer and
//! OpenCV". Each benchmark prints its figures beside a baseline measured in the same run and
//! the ratio between them. Numbers are printed, never asserted.
//!
//! # Layout
//! - [`overhead`]: 10 no-op stages over pooled frames vs a hand-written loop (the floor).
//! - [`edge_hop`]: edge hop latency p50/p99 between threads, and the per-frame hop cost.
//! - [`throughput`]: 640×480 RGB, source → 3 stages → sink with 2 thread hops.
//! - [`blob`]: the `blob_detection` stage on 640×480 and 1280×720 frames.
//! - [`command_latency`]: command → applied → visible in the next snapshot.
//! - [`freshness`]: a 30 fps source into a 50 ms stage, `latest` vs a FIFO edge.
//! - [`billiards`]: the pool physics on a 3-cushion shot and a 9-ball break, and a
//!   prediction per frame (pooltool's side: `bench/pooltool_compare.sh`).
//! - [`billiards_live`]: the billiards trainer on its synthetic camera: tracking scored
//!   against ground truth over 100 shots, and camera → predicted lines at 1080p60.
//! - [`pose`]: the `pose` stage (BlazePose on ONNX Runtime), tracking and with the detector.
//! - [`sensor`]: the sensor chain (seed 001) in input samples/s, the FIR, the FFT, the
//!   per-packet overhead (GNU Radio's side: `bench/compare.sh --only sensor`).
//! - [`decode`]: the `video_file` source decoding 1280×720 H.264 vs ffmpeg and GStreamer.
//! - [`encode`]: the recorder's H.264 encoder on 1280×720 frames (frames/s, share of a core).
//! - [`highlights`]: 20 fusion rules per observation, trigger and clip latency.
//! - [`isolation`]: thread groups' parallel join speedup, and the hop to a stage's thread and
//!   back (p50/p99 per frame size) beside an inline call.
//! - [`process_hop`]: a frame to a worker process and its result back, beside a thread hop.
//! - [`fixtures`]: the bench source and stages (registered as `bench_*`).
//! - [`alloc`]: the counting allocator behind the `bench-alloc` feature.
//!
//! `--compare` runs `bench/compare.sh`, which runs GStreamer, OpenCV and GNU Radio on the same
//! machine (`--only sensor --compare`: the sensor benchmark and GNU Radio only).

mod alloc;
mod billiards;
mod billiards_live;
mod blob;
mod command_latency;
mod cpu_time;
mod decode;
mod edge_hop;
mod encode;
mod fixtures;
mod freshness;
mod highlights;
mod isolation;
mod overhead;
mod pose;
mod process_hop;
mod sensor;
mod sensor_ws;
mod served;
mod throughput;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde::Serialize;

/// Arguments of `framebus bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Run only these benchmarks (comma-separated): overhead, edge_hop, throughput, blob,
    /// command_latency, freshness, billiards, billiards_live, pose, decode, encode, highlights, isolation,
    /// sensor, process_hop; `sensor_latency` runs only the sensor → WebSocket latency.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    only: Vec<String>,
    /// Shorter runs (all benchmarks in well under a minute).
    #[arg(long)]
    quick: bool,
    /// Print the rows as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Run `bench/compare.sh`: framebus beside GStreamer, OpenCV and GNU Radio, one table.
    #[arg(long)]
    compare: bool,
    /// Write the blob benchmark's frames as raw `.gray` files here (for the OpenCV peer).
    #[arg(long, value_name = "DIR")]
    frames_dir: Option<PathBuf>,
}

/// One measured figure beside its baseline.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// Benchmark name (`overhead`).
    pub(crate) bench: &'static str,
    /// What was measured (`per stage per frame`).
    pub(crate) metric: String,
    /// framebus's figure.
    pub(crate) value: f64,
    /// Unit of `value` and `baseline` (`ns`, `ms`, `fps`, `allocs/frame`, `MiB`).
    pub(crate) unit: &'static str,
    /// What the baseline is, when there is one.
    pub(crate) baseline_name: Option<String>,
    /// The baseline's figure, same unit.
    pub(crate) baseline: Option<f64>,
    /// `value / baseline`.
    pub(crate) ratio: Option<f64>,
}

impl Row {
    /// A figure without a baseline.
    pub(crate) fn new(
        bench: &'static str,
        metric: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Self {
        Self {
            bench,
            metric: metric.into(),
            value,
            unit,
            baseline_name: None,
            baseline: None,
            ratio: None,
        }
    }

    /// The same figure beside a baseline.
    pub(crate) fn vs(mut self, name: impl Into<String>, baseline: f64) -> Self {
        self.baseline_name = Some(name.into());
        self.baseline = Some(baseline);
        self.ratio = (baseline != 0.0).then(|| self.value / baseline);
        self
    }
}

/// How long each benchmark runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// `--quick` was given.
    pub(crate) quick: bool,
}

impl Scale {
    /// `quick` in quick mode, else `full`.
    pub(crate) fn pick<T>(self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

const ALL: [&str; 15] = [
    "overhead",
    "edge_hop",
    "throughput",
    "blob",
    "command_latency",
    "freshness",
    "billiards",
    "billiards_live",
    "pose",
    "decode",
    "encode",
    "highlights",
    "isolation",
    "sensor",
    "process_hop",
];

/// Runs the selected benchmarks and prints the table (or JSON).
pub(crate) fn main(args: Args) -> anyhow::Result<ExitCode> {
    if args.compare {
        let sensor_only = args.only.len() == 1 && args.only[0] == "sensor";
        return compare(args.quick, sensor_only);
    }
    for name in &args.only {
        if !ALL.contains(&name.as_str()) && name != "sensor_latency" {
            bail!("unknown benchmark `{name}` (known: {})", ALL.join(", "));
        }
    }
    let scale = Scale { quick: args.quick };
    let mut rows = Vec::new();
    if args.only.iter().any(|o| o == "sensor_latency") {
        eprintln!("bench: sensor_latency…");
        rows.extend(sensor_ws::run(scale.pick(3.0, 10.0))?);
    }
    for name in ALL {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        eprintln!("bench: {name}…");
        let got = match name {
            "overhead" => overhead::run(scale),
            "edge_hop" => edge_hop::run(scale),
            "throughput" => throughput::run(scale),
            "blob" => blob::run(scale, args.frames_dir.as_deref()),
            "command_latency" => command_latency::run(scale),
            "billiards" => billiards::run(scale),
            "billiards_live" => billiards_live::run(scale),
            "pose" => pose::run(scale),
            "decode" => decode::run(scale),
            "encode" => encode::run(scale),
            "highlights" => highlights::run(scale),
            "isolation" => isolation::run(scale),
            "sensor" => sensor::run(scale),
            "process_hop" => process_hop::run(scale),
            _ => freshness::run(scale),
        };
        rows.extend(got.with_context(|| format!("benchmark `{name}`"))?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// Formats a figure with a precision that suits its size.
fn fmt(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The rows as a Markdown table.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| bench | metric | framebus | baseline | baseline value | ratio |\n");
    out.push_str("|---|---|---:|---|---:|---:|\n");
    for r in rows {
        let base = r
            .baseline
            .map(|b| format!("{} {}", fmt(b), r.unit))
            .unwrap_or_default();
        let ratio = r.ratio.map(|x| format!("{x:.2}×")).unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} {} | {} | {} | {} |\n",
            r.bench,
            r.metric,
            fmt(r.value),
            r.unit,
            r.baseline_name.as_deref().unwrap_or(""),
            base,
            ratio
        ));
    }
    out
}

/// The `q`-quantile (0..=1) of `v`, sorting it in place.
pub(crate) fn quantile(v: &mut [u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Runs `bench/compare.sh` (found from the current directory or the source tree).
fn compare(quick: bool, sensor_only: bool) -> anyhow::Result<ExitCode> {
    let candidates = [
        PathBuf::from("bench/compare.sh"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/compare.sh"),
    ];
    let Some(script) = candidates.iter().find(|p| p.is_file()) else {
        bail!("bench/compare.sh not found: run from the framebus repository root");
    };
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script);
    if quick {
        cmd.arg("--quick");
    }
    if sensor_only {
        cmd.args(["--only", "sensor"]);
    }
    let status = cmd.status().context("running bench/compare.sh")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_ratios() {
        let mut v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&mut v, 0.5), 51);
        assert_eq!(quantile(&mut v, 0.99), 99);
        let r = Row::new("x", "m", 10.0, "ns").vs("floor", 4.0);
        assert_eq!(r.ratio, Some(2.5));
        assert!(table(&[r]).contains("2.50×"));
    }
}
