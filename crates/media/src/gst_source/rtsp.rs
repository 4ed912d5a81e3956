//! `rtsp`: an RTSP camera or server (`rtspsrc` over TCP, `decodebin`, RGB), reconnected with
//! the v4l2 source's backoff when the stream goes away.

use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use gstreamer::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::player::{Player, Pulled, SinkMode};
use super::stamp::Stamper;
use crate::v4l2::backoff_ns;

/// Parameters of [`RtspSource`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RtspParams {
    /// The stream, `rtsp://host:port/path`.
    pub url: String,
    /// Jitter buffer latency in milliseconds (`rtspsrc latency`).
    #[schemars(range(min = 0, max = 10000))]
    pub latency_ms: u32,
    /// A connected stream that gives no frame for this long is treated as lost.
    #[schemars(range(min = 100, max = 600000))]
    pub stall_ms: u32,
}

impl Default for RtspParams {
    fn default() -> Self {
        Self {
            url: "rtsp://127.0.0.1:8554/stream".into(),
            latency_ms: 200,
            stall_ms: 5000,
        }
    }
}

/// How long one pull waits before it checks the stop flag and the stall timer again.
const PULL_NS: u64 = 100_000_000;

/// Frames from an RTSP stream (kind `rtsp`).
pub struct RtspSource {
    params: RtspParams,
    label: String,
    /// The pipeline while connected (or connecting).
    player: Option<Player>,
    /// Failed attempts since the stream was lost (0 while it works).
    failures: u32,
    /// Whether the running session has given a frame.
    got_frame: bool,
    /// Clock time of the last frame (or of the session's start).
    last_progress_ns: u64,
    start_ns: u64,
    stamper: Stamper,
    next_id: u64,
    pool: FramePool,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
}

impl RtspSource {
    /// Builds and starts a pipeline for the stream (it connects in the background).
    fn connect(&mut self) -> std::result::Result<(), String> {
        let description = format!(
            "rtspsrc name=src protocols=tcp latency={} ! decodebin ! videoconvert ! appsink name=sink",
            self.params.latency_ms
        );
        let mode = SinkMode {
            sync: Some(false),
            drop: true,
            format: PixelFormat::Rgb8,
        };
        let url = self.params.url.clone();
        let player = Player::parse(&description, mode, |p| {
            p.by_name("src")
                .ok_or("no rtspsrc")?
                .set_property("location", &url);
            Ok(())
        })?;
        player.start(None)?;
        let now = self.clock.now_ns();
        self.stamper.new_session(now.saturating_sub(self.start_ns));
        self.last_progress_ns = now;
        self.got_frame = false;
        self.player = Some(player);
        Ok(())
    }

    /// Waits until `until_ns` on the clock in slices, waking early on shutdown.
    fn wait_until(&self, until_ns: u64) {
        const SLICE_NS: u64 = 50_000_000;
        loop {
            let now = self.clock.now_ns();
            if now >= until_ns || self.stop.is_stopped() {
                return;
            }
            self.clock.sleep_until(until_ns.min(now + SLICE_NS));
        }
    }

    /// The stream failed (`why`): close it and report; the next call reconnects.
    fn lost(&mut self, why: &str) -> Error {
        self.player = None;
        self.failures = if self.got_frame { 1 } else { self.failures + 1 };
        let next = backoff_ns(self.failures) / 1_000_000;
        if self.failures == 1 {
            Error::source(format!(
                "{}: stream lost ({why}); reconnecting in {next} ms",
                self.label
            ))
        } else {
            Error::source(format!(
                "{}: stream lost; reconnect attempt {} failed: {why}; next in {next} ms",
                self.label,
                self.failures - 1
            ))
        }
    }
}

impl Source for RtspSource {
    type Params = RtspParams;
    const KIND: &'static str = "rtsp";
    const DESCRIPTION: &'static str =
        "An RTSP stream (rtspsrc over TCP) with reconnect and backoff (feature `gstreamer`)";

    fn new(params: RtspParams, init: &SourceInit) -> Result<Self> {
        let label = format!("rtsp {}", params.url);
        let lower = params.url.to_ascii_lowercase();
        if !(lower.starts_with("rtsp://")
            || lower.starts_with("rtsps://")
            || lower.starts_with("rtspt://"))
        {
            return Err(Error::source(format!(
                "{label}: the url must start with rtsp://, rtsps:// or rtspt://"
            )));
        }
        super::player::init().map_err(|e| Error::source(format!("{label}: {e}")))?;
        let now = init.clock.now_ns();
        let mut source = Self {
            params,
            label,
            player: None,
            failures: 0,
            got_frame: false,
            last_progress_ns: now,
            start_ns: now,
            stamper: Stamper::default(),
            next_id: 1,
            pool: init.frame_pool(),
            clock: init.clock.clone(),
            stop: init.stop.clone(),
        };
        // A server that is not up yet is retried like a lost one; a pipeline that cannot be
        // built (missing plugins) is an error now.
        source
            .connect()
            .map_err(|e| Error::source(format!("{}: {e}", source.label)))?;
        Ok(source)
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            let Some(player) = self.player.as_mut() else {
                self.wait_until(self.clock.now_ns() + backoff_ns(self.failures));
                if self.stop.is_stopped() {
                    return Ok(None);
                }
                if let Err(e) = self.connect() {
                    return Err(self.lost(&e));
                }
                continue;
            };
            match player.pull(&self.pool, &self.stop, PULL_NS) {
                Pulled::Frame(mut frame, pts) => {
                    let now = self.clock.now_ns();
                    if self.failures > 0 {
                        tracing::info!(url = %self.params.url, attempts = self.failures, "stream is back");
                        self.failures = 0;
                    }
                    self.got_frame = true;
                    self.last_progress_ns = now;
                    let d = frame.get_mut().expect("a freshly pulled frame is unique");
                    d.frame_id = self.next_id;
                    d.t_ns = self.stamper.stamp(pts, now.saturating_sub(self.start_ns));
                    self.next_id += 1;
                    return Ok(Some(frame));
                }
                Pulled::Nothing => {
                    let quiet = self.clock.now_ns().saturating_sub(self.last_progress_ns);
                    if quiet > u64::from(self.params.stall_ms) * 1_000_000 {
                        let why = format!("no frame for {} ms", quiet / 1_000_000);
                        return Err(self.lost(&why));
                    }
                }
                Pulled::Eos => return Err(self.lost("the server ended the stream")),
                Pulled::Failed(e) => return Err(self.lost(&e)),
                Pulled::Stopped => return Ok(None),
            }
        }
    }
}

framebus_core::register_source!(RtspSource);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}
