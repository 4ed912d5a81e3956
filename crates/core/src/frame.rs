//! Frames: pixels in a pooled buffer with their metadata, shared without copying.

use std::sync::Arc;

use crate::pool::{Pool, Pooled};

pub use crate::framebuf::FrameBuf;

/// Pixel layouts a frame can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelFormat {
    /// 8-bit luma.
    Gray8,
    /// 8-bit R, G, B.
    Rgb8,
    /// 8-bit B, G, R.
    Bgr8,
    /// Packed 4:2:2, Y0 U Y1 V.
    Yuyv,
    /// Planar Y then interleaved UV at half resolution (4:2:0).
    Nv12,
}

impl PixelFormat {
    /// Bytes per row without padding.
    pub fn min_stride(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            Self::Gray8 | Self::Nv12 => w,
            Self::Rgb8 | Self::Bgr8 => w * 3,
            Self::Yuyv => w * 2,
        }
    }

    /// Bytes for a whole image with the given stride.
    pub fn buffer_len(self, stride: usize, height: u32) -> usize {
        let h = height as usize;
        match self {
            Self::Nv12 => stride * h + stride * h.div_ceil(2),
            _ => stride * h,
        }
    }
}

/// The contents of a frame: metadata and the pixel buffer.
#[derive(Debug, Clone)]
pub struct FrameData {
    /// Per-source frame number, strictly increasing.
    pub frame_id: u64,
    /// Source id (`camera_0`); an `Arc` so setting it per frame does not allocate.
    pub source: Arc<str>,
    /// Index of the source in the config.
    pub source_index: u32,
    /// Monotonic capture time, nanoseconds.
    pub t_ns: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per row.
    pub stride: usize,
    /// Pixel layout.
    pub format: PixelFormat,
    /// Pixels; `len() == format.buffer_len(stride, height)`. On the heap, or in shared
    /// memory when the pipeline has a process-isolated stage.
    pub data: FrameBuf,
}

impl Default for FrameData {
    fn default() -> Self {
        Self {
            frame_id: 0,
            source: Arc::from(""),
            source_index: 0,
            t_ns: 0,
            width: 0,
            height: 0,
            stride: 0,
            format: PixelFormat::Gray8,
            data: FrameBuf::new(),
        }
    }
}

impl FrameData {
    /// Sets geometry and resizes the buffer (no allocation once the buffer is big enough).
    pub fn reshape(&mut self, width: u32, height: u32, format: PixelFormat) {
        self.width = width;
        self.height = height;
        self.format = format;
        self.stride = format.min_stride(width);
        let len = format.buffer_len(self.stride, height);
        self.data.resize(len, 0);
    }

    /// One row of pixels (without padding).
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.format.min_stride(self.width)]
    }
}

/// A shared, pooled frame. Clone to share; the buffer returns to its pool on the last drop.
pub type Frame = Pooled<FrameData>;

/// A pool of frames for one source.
#[derive(Clone)]
pub struct FramePool {
    pool: Pool<FrameData>,
    source: Arc<str>,
    source_index: u32,
}

impl FramePool {
    /// A pool of at most `capacity` frames for `source`, on the heap.
    pub fn new(capacity: usize, source: Arc<str>, source_index: u32) -> Self {
        Self::with_memory(capacity, source, source_index, false)
    }

    /// A pool whose frames live in shared memory (memfds) when `shared`, so process-isolated
    /// stages read them without a copy; on the heap otherwise. Sources call this through
    /// [`crate::source::SourceInit::frame_pool`].
    pub fn with_memory(capacity: usize, source: Arc<str>, source_index: u32, shared: bool) -> Self {
        let make = if shared {
            || FrameData {
                data: FrameBuf::shared(),
                ..FrameData::default()
            }
        } else {
            FrameData::default
        };
        Self {
            pool: Pool::new(capacity, make),
            source,
            source_index,
        }
    }

    /// A writable frame shaped `width × height × format`, or `None` while all are in use.
    pub fn try_acquire(&self, width: u32, height: u32, format: PixelFormat) -> Option<Frame> {
        let mut f = self.pool.try_acquire()?;
        let d = f.get_mut().expect("a freshly acquired frame is unique");
        d.reshape(width, height, format);
        if !Arc::ptr_eq(&d.source, &self.source) {
            d.source = self.source.clone();
        }
        d.source_index = self.source_index;
        Some(f)
    }

    /// Like [`FramePool::try_acquire`], waiting for a free frame until `give_up` says so.
    pub fn acquire_or(
        &self,
        width: u32,
        height: u32,
        format: PixelFormat,
        mut give_up: impl FnMut() -> bool,
    ) -> Option<Frame> {
        loop {
            if let Some(f) = self.try_acquire(width, height, format) {
                return Some(f);
            }
            // Wait for a frame to come back.
            let got = self.pool.acquire_or(&mut give_up)?;
            drop(got);
        }
    }

    /// Makes every frame the pool may hold, shaped `width × height × format`, so that a
    /// fixed-size source never allocates after it starts (a pool that grows on demand would
    /// allocate whenever a slow moment first needs one more frame in flight).
    pub fn prefill(&self, width: u32, height: u32, format: PixelFormat) {
        let frames: Vec<Frame> = (0..self.pool.capacity())
            .map_while(|_| self.try_acquire(width, height, format))
            .collect();
        drop(frames);
    }

    /// The underlying pool (for counters).
    pub fn pool(&self) -> &Pool<FrameData> {
        &self.pool
    }
}
