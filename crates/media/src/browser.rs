//! `browser`: webcam frames pushed by a browser over WebSocket (seed 003).
//!
//! # How it works
//! The server hands each received image to [`BrowserIngest::push`] (the
//! [`Ingest`] returned by [`Source::ingest`]), on whatever thread it likes. The push checks
//! the size, decodes the JPEG or PNG completely on the caller's thread, stamps it with a
//! strictly increasing monotonic time of arrival and puts it in a single **latest-wins**
//! slot: a newer image replaces one the pipeline has not taken yet, and the replaced one is
//! counted in [`Ingest::dropped`]. Refused images (too big, corrupt) are counted in
//! [`Ingest::rejected`] and answered with `bad_args`. The capture thread's
//! [`Source::next_frame`] waits for the slot (waking every 100 ms to notice the stop flag)
//! and copies the image into a pooled RGB frame with the next frame id.
//!
//! # Parameters
//! See [`BrowserParams`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Ingest, Source, SourceInit, StopFlag};
use framebus_core::{CommandError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decode::{DecodedImage, decode_rgb};
use crate::error::MediaError;

/// How long `next_frame` waits before looking at the stop flag again.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Parameters of [`BrowserSource`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserParams {
    /// Largest encoded image accepted, in bytes.
    #[schemars(range(min = 1024, max = 67108864))]
    pub max_bytes: usize,
    /// Widest image accepted, in pixels.
    #[schemars(range(min = 1, max = 8192))]
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    #[schemars(range(min = 1, max = 8192))]
    pub max_height: u32,
}

impl Default for BrowserParams {
    fn default() -> Self {
        Self {
            max_bytes: 4 << 20,
            max_width: 1920,
            max_height: 1080,
        }
    }
}

/// A decoded image waiting in the slot.
struct Pending {
    image: DecodedImage,
    t_ns: u64,
}

#[derive(Default)]
struct Slot {
    pending: Option<Pending>,
    last_t_ns: Option<u64>,
}

/// The push side of a browser camera: decodes, stamps and fills the latest-wins slot.
pub struct BrowserIngest {
    params: BrowserParams,
    clock: Arc<dyn Clock>,
    slot: Mutex<Slot>,
    ready: Condvar,
    accepted: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
}

impl BrowserIngest {
    fn new(params: BrowserParams, clock: Arc<dyn Clock>) -> Self {
        Self {
            params,
            clock,
            slot: Mutex::new(Slot::default()),
            ready: Condvar::new(),
            accepted: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// Images accepted so far (taken or still waiting, including dropped ones).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reject(&self, message: String) -> CommandError {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        CommandError::bad_args(message)
    }

    /// Waits for an image until one arrives or `stop` is raised (`None`).
    fn take(&self, stop: &StopFlag) -> Option<Pending> {
        let mut slot = self.lock();
        loop {
            if stop.is_stopped() {
                return None;
            }
            if let Some(p) = slot.pending.take() {
                return Some(p);
            }
            slot = self
                .ready
                .wait_timeout(slot, STOP_POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Ingest for BrowserIngest {
    fn push(&self, bytes: &[u8]) -> Result<(), CommandError> {
        let max = self.params.max_bytes;
        if bytes.len() > max {
            return Err(self.reject(format!(
                "image of {} bytes exceeds max_bytes {max}",
                bytes.len()
            )));
        }
        if bytes.is_empty() {
            return Err(self.reject("empty image".into()));
        }
        let limits = (self.params.max_width, self.params.max_height);
        let image = decode_rgb(bytes, Some(limits)).map_err(|e| {
            self.reject(match e {
                MediaError::Corrupt(_) | MediaError::TooLarge { .. } => e.to_string(),
                other => format!("corrupt image: {other}"),
            })
        })?;
        let now = self.clock.now_ns();
        let mut slot = self.lock();
        let t_ns = slot.last_t_ns.map_or(now, |prev| now.max(prev + 1));
        slot.last_t_ns = Some(t_ns);
        if slot.pending.replace(Pending { image, t_ns }).is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        drop(slot);
        self.ready.notify_one();
        Ok(())
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

/// A camera in a browser tab (kind `browser`): frames arrive through [`BrowserIngest`].
pub struct BrowserSource {
    ingest: Arc<BrowserIngest>,
    pool: FramePool,
    stop: StopFlag,
    next_id: u64,
}

impl BrowserSource {
    /// The concrete ingest handle (the same object [`Source::ingest`] returns).
    pub fn browser_ingest(&self) -> &Arc<BrowserIngest> {
        &self.ingest
    }
}

impl Source for BrowserSource {
    type Params = BrowserParams;
    const KIND: &'static str = "browser";
    const DESCRIPTION: &'static str =
        "Webcam frames pushed by a browser (JPEG/PNG over WebSocket) into a latest-wins slot";

    fn new(params: BrowserParams, init: &SourceInit) -> Result<Self> {
        Ok(Self {
            ingest: Arc::new(BrowserIngest::new(params, init.clock.clone())),
            pool: init.frame_pool(),
            stop: init.stop.clone(),
            next_id: 1,
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let Some(p) = self.ingest.take(&self.stop) else {
            return Ok(None);
        };
        let stop = &self.stop;
        let (w, h) = (p.image.width, p.image.height);
        let Some(mut frame) = self
            .pool
            .acquire_or(w, h, PixelFormat::Rgb8, || stop.is_stopped())
        else {
            return Ok(None);
        };
        let data = frame.get_mut().expect("a freshly acquired frame is unique");
        data.frame_id = self.next_id;
        data.t_ns = p.t_ns;
        data.data.copy_from_slice(&p.image.rgb);
        self.next_id += 1;
        Ok(Some(frame))
    }

    fn ingest(&self) -> Option<Arc<dyn Ingest>> {
        Some(self.ingest.clone())
    }
}

framebus_core::register_source!(BrowserSource);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::{jpeg, png};
    use crate::test_util::init_with;
    use framebus_core::clock::ManualClock;
    use framebus_protocol::ErrorCode;

    fn open(
        params: BrowserParams,
    ) -> (BrowserSource, Arc<dyn Ingest>, Arc<ManualClock>, SourceInit) {
        let clock = Arc::new(ManualClock::new());
        let init = init_with(clock.clone(), 2);
        let s = BrowserSource::new(params, &init).unwrap();
        let ingest = s.ingest().unwrap();
        (s, ingest, clock, init)
    }

    #[test]
    fn pushed_jpeg_becomes_a_frame() {
        let (mut s, ingest, clock, _) = open(BrowserParams::default());
        clock.advance(5_000);
        ingest.push(&jpeg(32, 24, [20, 30, 220])).unwrap();
        let f = s.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.frame_id, f.width, f.height, f.t_ns, f.format),
            (1, 32, 24, 5_000, PixelFormat::Rgb8)
        );
        let px = &f.data[3 * 50..3 * 51];
        assert!(px[2] > 190 && px[0] < 50, "blue decoded as {px:?}");
        ingest.push(&png(10, 10)).unwrap();
        let f = s.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.frame_id, f.width, f.t_ns),
            (2, 10, 5_001),
            "time strictly increases"
        );
        assert_eq!((ingest.dropped(), ingest.rejected()), (0, 0));
    }

    #[test]
    fn garbage_and_oversize_are_refused_and_counted() {
        let (_s, ingest, _, _) = open(BrowserParams {
            max_bytes: 2048,
            max_width: 64,
            max_height: 64,
        });
        let bad: [&[u8]; 4] = [
            b"not an image",
            b"",
            b"\xFF\xD8\xFF\xE0garbage",
            &[0u8; 4096],
        ];
        for b in bad {
            let e = ingest.push(b).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadArgs);
        }
        let e = ingest.push(&png(100, 10)).unwrap_err();
        assert!(e.message.contains("exceeds"), "{}", e.message);
        let e = ingest.push(b"junk").unwrap_err();
        assert!(e.message.starts_with("corrupt image"), "{}", e.message);
        assert_eq!(ingest.rejected(), 6);
        assert!(ingest.push(&png(64, 64)).is_ok());
    }

    #[test]
    fn latest_wins_and_counts_drops() {
        let (mut s, ingest, clock, _) = open(BrowserParams::default());
        for (i, w) in [8, 16, 24].into_iter().enumerate() {
            clock.advance(1_000);
            ingest.push(&png(w, 4)).unwrap();
            assert_eq!(ingest.dropped(), i as u64);
        }
        let f = s.next_frame().unwrap().unwrap();
        assert_eq!((f.frame_id, f.width, f.t_ns), (1, 24, 3_000));
        assert_eq!(ingest.dropped(), 2);
    }

    #[test]
    fn waits_for_a_push_from_another_thread() {
        let (mut s, ingest, _, _) = open(BrowserParams::default());
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            ingest.push(&png(6, 6)).unwrap();
        });
        assert_eq!(s.next_frame().unwrap().unwrap().width, 6);
        t.join().unwrap();
    }

    #[test]
    fn stop_ends_a_waiting_next_frame() {
        let (mut s, _ingest, _, init) = open(BrowserParams::default());
        let stop = init.stop.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            stop.stop();
        });
        assert!(s.next_frame().unwrap().is_none());
        t.join().unwrap();
    }
}
