//! Sample packets (seed 001): a batch of samples with a header, in a pooled buffer that
//! returns to its pool on drop, and the payload kinds a source gives and a stage takes.
//!
//! A sample source fills a [`Packet`] from a [`PacketPool`]; stages that keep the shape
//! (gain, filter) change it in place through [`crate::context::FrameCtx::packet_mut`];
//! stages that change it (downsample, FFT) take a packet from a pool of the new shape and make
//! it the payload later stages see ([`crate::context::FrameCtx::replace_packet`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::pool::{Pool, Pooled};

/// What a source gives or a stage takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    /// Pixel frames ([`crate::frame::Frame`]).
    Frames,
    /// Sample packets ([`Packet`]).
    Samples,
}

impl PayloadKind {
    /// `frames` / `samples`, as config errors say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Frames => "frames",
            Self::Samples => "samples",
        }
    }
}

/// The header every packet carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PacketHeader {
    /// Per-source packet number, strictly increasing from 1.
    pub seq: u64,
    /// Time of the first sample, nanoseconds (the source's clock or sample count).
    pub t_ns: u64,
    /// Samples per second per channel after any decimation (for a spectrum packet: the rate
    /// of the signal it describes, so bin k is at `k · sample_rate / fft_size`).
    pub sample_rate: f64,
    /// Samples per channel in this packet.
    pub batch_size: usize,
    /// Interleaved channels.
    pub channels: usize,
}

/// A packet's contents: header and interleaved samples.
#[derive(Debug, Clone, Default)]
pub struct PacketData<T> {
    /// Header.
    pub header: PacketHeader,
    /// `batch_size × channels` interleaved samples.
    pub data: Vec<T>,
}

impl<T: Copy + Default> PacketData<T> {
    /// Sets the shape and resizes the buffer (no allocation once it is big enough).
    pub fn reshape(&mut self, batch_size: usize, channels: usize) {
        self.header.batch_size = batch_size;
        self.header.channels = channels.max(1);
        self.data
            .resize(batch_size * self.header.channels, T::default());
    }
}

/// A pooled packet; the buffer returns to its pool when the last handle drops.
pub type Packet<T = f32> = Pooled<PacketData<T>>;

/// A pool of packets of one shape, counting acquisitions refused because it was empty.
pub struct PacketPool<T = f32> {
    pool: Pool<PacketData<T>>,
    batch_size: usize,
    channels: usize,
    dropped: Arc<AtomicU64>,
}

impl<T> Clone for PacketPool<T> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            batch_size: self.batch_size,
            channels: self.channels,
            dropped: self.dropped.clone(),
        }
    }
}

impl<T: Copy + Default + Send + Sync + 'static> PacketPool<T> {
    /// A pool of at most `capacity` packets of `batch_size × channels`, all made now so that
    /// taking one never allocates.
    pub fn new(capacity: usize, batch_size: usize, channels: usize) -> Self {
        let channels = channels.max(1);
        let pool = Pool::new(capacity, move || PacketData {
            header: PacketHeader {
                batch_size,
                channels,
                ..PacketHeader::default()
            },
            data: vec![T::default(); batch_size * channels],
        });
        let all: Vec<_> = (0..pool.capacity())
            .map_while(|_| pool.try_acquire())
            .collect();
        drop(all);
        Self {
            pool,
            batch_size,
            channels,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A free packet shaped for this pool, or `None` (counted as a drop) when every packet is
    /// in use. Never blocks: the pipeline thread uses this.
    pub fn try_acquire(&self) -> Option<Packet<T>> {
        match self.pool.try_acquire() {
            Some(mut p) => {
                if let Some(d) = p.get_mut() {
                    d.reshape(self.batch_size, self.channels);
                }
                Some(p)
            }
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Waits for a free packet until `give_up` says so (sources on their own thread).
    pub fn acquire(&self, mut give_up: impl FnMut() -> bool) -> Option<Packet<T>> {
        let mut p = self.pool.acquire_or(&mut give_up)?;
        if let Some(d) = p.get_mut() {
            d.reshape(self.batch_size, self.channels);
        }
        Some(p)
    }

    /// Acquisitions refused by [`PacketPool::try_acquire`] because the pool was empty.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Packets currently free.
    pub fn free(&self) -> usize {
        self.pool.free()
    }

    /// Samples per channel of each packet.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Channels of each packet.
    pub fn channels(&self) -> usize {
        self.channels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_gives_none_and_counts_a_drop_then_recovers() {
        let pool = PacketPool::<f32>::new(2, 64, 1);
        let a = pool.try_acquire().unwrap();
        let b = pool.try_acquire().unwrap();
        assert_eq!(a.data.len(), 64);
        assert!(pool.try_acquire().is_none(), "never blocks: None");
        assert!(pool.try_acquire().is_none());
        assert_eq!(pool.dropped(), 2);
        drop(a);
        let c = pool.try_acquire().expect("returned on drop");
        assert_eq!(c.header.batch_size, 64);
        drop((b, c));
        assert_eq!(pool.free(), 2);
    }

    #[test]
    fn acquire_waits_until_give_up() {
        let pool = PacketPool::<i32>::new(1, 8, 2);
        let held = pool.try_acquire().unwrap();
        assert_eq!(held.data.len(), 16);
        let mut tries = 0;
        assert!(
            pool.acquire(|| {
                tries += 1;
                tries > 3
            })
            .is_none()
        );
        drop(held);
        assert!(pool.acquire(|| true).is_some());
    }
}
