//! `gstreamer`: frames from any GStreamer pipeline that ends in `appsink name=sink`, or from
//! a URI through `uridecodebin` (every container and codec the installed plugins have).

use std::path::Path;
use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use gstreamer::glib;
use gstreamer::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::player::{Player, Pulled, SinkMode};
use super::stamp::Stamper;
use crate::decode::DecodeFormat;

/// Parameters of [`GstreamerSource`]: exactly one of `pipeline` and `uri`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GstreamerParams {
    /// A gst-launch pipeline ending in `appsink name=sink`; its caps are set from `format`
    /// (RGB; or I420/NV12 for `nv12` and `gray8`), so end with `videoconvert ! appsink
    /// name=sink` when the stream may be in another layout (it passes the decoder's I420
    /// through untouched).
    pub pipeline: Option<String>,
    /// A URI (`file:///…`, `http://…`) or a file path (relative to the config file), played
    /// through `uridecodebin ! videoconvert ! appsink`.
    pub uri: Option<String>,
    /// Pace by the stream's timestamps (the appsink's `sync`); false = as fast as the
    /// pipeline takes frames, none lost. Unset: `uri` paces, `pipeline` keeps its appsink's
    /// own `sync`.
    pub realtime: Option<bool>,
    /// Pixel format of the frames: `rgb8` (default), `nv12` or `gray8`. For `nv12` and
    /// `gray8` the appsink takes the decoder's I420 (or NV12) as it is and the one copy into
    /// the frame interleaves the chroma (or keeps the luma only): no `videoconvert` work and
    /// no RGB conversion.
    pub format: DecodeFormat,
}

/// How long a file pipeline may take to preroll (open, find its streams) at start.
const PREROLL_NS: u64 = 30_000_000_000;
/// How long one pull waits before it checks the stop flag again.
const PULL_NS: u64 = 100_000_000;

/// Frames from a GStreamer pipeline or URI (kind `gstreamer`).
pub struct GstreamerSource {
    label: String,
    player: Option<Player>,
    stamper: Stamper,
    next_id: u64,
    start_ns: u64,
    pool: FramePool,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
}

impl GstreamerSource {
    /// The pipeline description `params` stand for, with the URI to set on `uridecodebin`.
    fn description(
        params: &GstreamerParams,
        base_dir: &Path,
    ) -> std::result::Result<(String, Option<String>), String> {
        match (&params.pipeline, &params.uri) {
            (Some(p), None) => Ok((p.clone(), None)),
            (None, Some(u)) => {
                let uri = if u.contains("://") {
                    u.clone()
                } else {
                    let path = base_dir.join(u);
                    let path = path
                        .canonicalize()
                        .map_err(|e| format!("uri {}: cannot open: {e}", path.display()))?;
                    glib::filename_to_uri(&path, None)
                        .map_err(|e| format!("uri {}: {e}", path.display()))?
                        .to_string()
                };
                if let Some(path) = uri.strip_prefix("file://") {
                    let path = glib::filename_from_uri(&uri)
                        .map(|(p, _)| p)
                        .unwrap_or_else(|_| path.into());
                    if let Err(e) = std::fs::metadata(&path) {
                        return Err(format!("uri {uri}: cannot open {}: {e}", path.display()));
                    }
                }
                Ok((
                    "uridecodebin name=src ! videoconvert ! appsink name=sink".into(),
                    Some(uri),
                ))
            }
            (Some(_), Some(_)) => Err("give either `pipeline` or `uri`, not both".into()),
            (None, None) => Err(
                "give `pipeline` (ending in `appsink name=sink`) or `uri` (a file or URI)".into(),
            ),
        }
    }
}

impl Source for GstreamerSource {
    type Params = GstreamerParams;
    const KIND: &'static str = "gstreamer";
    const DESCRIPTION: &'static str = "A GStreamer pipeline ending in `appsink name=sink`, or a URI through uridecodebin (feature `gstreamer`)";

    fn new(params: GstreamerParams, init: &SourceInit) -> Result<Self> {
        let label = format!("gstreamer {}", init.id);
        let fail = |e: String| Error::source(format!("{label}: {e}"));
        let (description, uri) = Self::description(&params, &init.base_dir).map_err(fail)?;
        let mode = SinkMode {
            sync: params.realtime.or(uri.as_ref().map(|_| true)),
            drop: false,
            format: params.format.pixel_format(),
        };
        let player = Player::parse(&description, mode, |p| {
            if let (Some(uri), Some(src)) = (&uri, p.by_name("src")) {
                src.set_property("uri", uri);
            }
            Ok(())
        })
        .map_err(fail)?;
        player.start(Some(PREROLL_NS)).map_err(fail)?;
        Ok(Self {
            label,
            player: Some(player),
            stamper: Stamper::default(),
            next_id: 1,
            start_ns: init.clock.now_ns(),
            pool: init.frame_pool(),
            clock: init.clock.clone(),
            stop: init.stop.clone(),
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            let Some(player) = self.player.as_mut() else {
                return Ok(None);
            };
            match player.pull(&self.pool, &self.stop, PULL_NS) {
                Pulled::Frame(mut frame, pts) => {
                    let since = self.clock.now_ns().saturating_sub(self.start_ns);
                    let d = frame.get_mut().expect("a freshly pulled frame is unique");
                    d.frame_id = self.next_id;
                    d.t_ns = self.stamper.stamp(pts, since);
                    self.next_id += 1;
                    return Ok(Some(frame));
                }
                Pulled::Nothing => {}
                Pulled::Eos | Pulled::Stopped => {
                    self.player = None;
                    return Ok(None);
                }
                Pulled::Failed(e) => {
                    // The stream ends after the error; what came before it stays delivered.
                    self.player = None;
                    return Err(Error::source(format!(
                        "{}: {e}; {} frames were delivered before it",
                        self.label,
                        self.next_id - 1
                    )));
                }
            }
        }
    }
}

framebus_core::register_source!(GstreamerSource);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}
