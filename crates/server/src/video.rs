//! Video preview: one encoder thread turns the latest frame of each source into a binary
//! message (`VideoHeader` + JPEG) **once**, whatever the number of watching clients, and
//! only while at least one client subscribes to `video`.
//!
//! Pipeline threads only park a clone of the frame (a pooled, shared buffer: no copy) in a
//! per-source slot with `try_lock`, and wake the encoder; if the encoder is still busy with
//! an older frame, the newer one replaces it (latest wins).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use framebus_core::frame::{Frame, FrameData};
use framebus_protocol::VideoHeader;

use crate::latest::{Latest, Numbered};

/// Video preview settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewSettings {
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// Frames wider than this are downscaled before encoding (0: never).
    pub max_width: u32,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        Self {
            quality: 75,
            max_width: 960,
        }
    }
}

/// One encoded preview frame.
#[derive(Debug)]
pub(crate) struct VideoMsg {
    /// Header + JPEG, the whole binary WebSocket message.
    pub(crate) data: Bytes,
    /// Per-source publish number.
    pub(crate) number: u64,
}

impl Numbered for VideoMsg {
    fn number(&self) -> u64 {
        self.number
    }
}

/// Shared between pipeline threads (offer), the encoder thread and clients (read).
pub(crate) struct VideoShared {
    watchers: AtomicUsize,
    pending: Box<[Mutex<Option<Frame>>]>,
    wake: Sender<()>,
    /// Latest encoded frame per source.
    pub(crate) latest: Latest<VideoMsg>,
    encoded: AtomicU64,
    failed: AtomicU64,
    encode_ns: AtomicU64,
}

/// Counts a client as watching while alive.
pub(crate) struct WatchGuard(Arc<VideoShared>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl VideoShared {
    /// Creates the shared state and starts the encoder thread (it ends when this is dropped).
    pub(crate) fn start(sources: usize, settings: PreviewSettings) -> Arc<Self> {
        let (wake, rx) = crossbeam_channel::bounded(1);
        let shared = Arc::new(Self {
            watchers: AtomicUsize::new(0),
            pending: (0..sources).map(|_| Mutex::new(None)).collect(),
            wake,
            latest: Latest::new(sources),
            encoded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            encode_ns: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&shared);
        let spawned = std::thread::Builder::new()
            .name("video-preview".into())
            .spawn(move || encoder_loop(weak, rx, settings));
        if let Err(e) = spawned {
            tracing::error!("cannot start the video preview encoder: {e}");
        }
        shared
    }

    /// Registers a watching client until the guard drops.
    pub(crate) fn watch(self: &Arc<Self>) -> WatchGuard {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        // Encode the newest frame for the newcomer at the next offer.
        WatchGuard(self.clone())
    }

    /// Clients watching now.
    pub(crate) fn watchers(&self) -> usize {
        self.watchers.load(Ordering::Relaxed)
    }

    /// Called on pipeline threads with each processed frame: never blocks.
    pub(crate) fn offer(&self, slot: usize, frame: &Frame) {
        if self.watchers.load(Ordering::Relaxed) == 0 {
            return;
        }
        let Some(p) = self.pending.get(slot) else {
            return;
        };
        if let Ok(mut p) = p.try_lock() {
            *p = Some(frame.clone());
        }
        let _ = self.wake.try_send(());
    }

    /// Frames encoded so far.
    pub(crate) fn encoded(&self) -> u64 {
        self.encoded.load(Ordering::Relaxed)
    }

    /// Frames that failed to encode.
    pub(crate) fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Mean encode time, milliseconds.
    pub(crate) fn mean_encode_ms(&self) -> f64 {
        let n = self.encoded();
        if n == 0 {
            0.0
        } else {
            self.encode_ns.load(Ordering::Relaxed) as f64 / n as f64 / 1e6
        }
    }
}

fn encoder_loop(weak: Weak<VideoShared>, wake: Receiver<()>, settings: PreviewSettings) {
    let mut encoder = framebus_media::JpegEncoder::new();
    let mut jpeg = Vec::new();
    loop {
        match wake.recv_timeout(Duration::from_millis(500)) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => {
                if weak.strong_count() == 0 {
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(shared) = weak.upgrade() else { return };
        for slot in 0..shared.pending.len() {
            let frame = shared.pending[slot].lock().ok().and_then(|mut p| p.take());
            let Some(frame) = frame else { continue };
            let started = Instant::now();
            match encode(&mut encoder, &frame, settings, &mut jpeg) {
                Ok(msg) => {
                    let number = shared.latest.next_number(slot);
                    shared
                        .latest
                        .publish(slot, Arc::new(VideoMsg { data: msg, number }));
                    shared.encoded.fetch_add(1, Ordering::Relaxed);
                    shared
                        .encode_ns
                        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    if shared.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        tracing::warn!("video preview: cannot encode frame: {e}");
                    }
                }
            }
        }
    }
}

/// Encodes `frame` into a whole binary message: header then JPEG.
fn encode(
    encoder: &mut framebus_media::JpegEncoder,
    frame: &FrameData,
    settings: PreviewSettings,
    scratch: &mut Vec<u8>,
) -> Result<Bytes, String> {
    let max_width = (settings.max_width > 0).then_some(settings.max_width);
    let (width, height) = encoder
        .encode(frame, settings.quality, max_width, scratch)
        .map_err(|e| e.to_string())?;
    let mut msg = Vec::with_capacity(framebus_protocol::video::VIDEO_HEADER_LEN + scratch.len());
    VideoHeader {
        frame_id: frame.frame_id,
        camera_id: frame.source_index,
        width,
        height,
    }
    .write(&mut msg);
    msg.extend_from_slice(scratch);
    Ok(Bytes::from(msg))
}
