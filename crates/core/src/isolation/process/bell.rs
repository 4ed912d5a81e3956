//! The spin doorbell of a worker socket: a one-page memfd mapped read-write by the host and
//! its worker, holding two message counters on separate cache lines (host → worker at byte
//! 0, worker → host at byte 128). After each datagram a side sends it bumps its counter; a
//! side about to wait for a datagram first busy-polls the other's counter for a bounded
//! time (`spin_us`) and only then sleeps in the kernel. A waiting process that is still on
//! its CPU when the answer comes skips the wake-up of a sleeping one (tens of µs, more on an
//! idle machine whose CPUs drop into idle states).
//!
//! The counters are hints only: every message still travels on the socket, which stays the
//! truth (a counter that lies, or a peer that never rings, only costs the spin time).
//!
//! Besides the `mmap`, turning the mapped bytes into `&AtomicU64` is the only `unsafe` here.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::{MemfdFlags, memfd_create};

/// Bytes of the control block (one page).
const LEN: usize = 4096;
/// Byte offset of the host → worker counter.
const TO_WORKER: usize = 0;
/// Byte offset of the worker → host counter (two cache lines away: no false sharing, also
/// with the adjacent-line prefetcher).
const TO_HOST: usize = 128;

/// Which end of the socket this doorbell serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// framebus: rings `TO_WORKER`, waits on `TO_HOST`.
    Host,
    /// The worker: rings `TO_HOST`, waits on `TO_WORKER`.
    Worker,
}

/// One side's view of the control block.
pub struct Bell {
    file: File,
    map: MmapRaw,
    out_at: usize,
    in_at: usize,
    /// Datagrams sent since the doorbell was installed.
    sent: u64,
    /// Datagrams received since the doorbell was installed.
    seen: u64,
    spin: Duration,
}

impl Bell {
    /// A new zeroed control block (host side), spinning up to `spin` per wait.
    pub fn create(spin: Duration) -> io::Result<Self> {
        let fd = memfd_create("framebus-bell", MemfdFlags::CLOEXEC)?;
        let file = File::from(fd);
        file.set_len(LEN as u64)?;
        Self::with_file(file, Side::Host, spin)
    }

    /// Maps a control block received from the host (worker side).
    pub fn join(fd: OwnedFd, spin: Duration) -> io::Result<Self> {
        let file = File::from(fd);
        let size = file.metadata()?.len();
        if size < LEN as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("doorbell of {size} bytes, {LEN} needed"),
            ));
        }
        Self::with_file(file, Side::Worker, spin)
    }

    fn with_file(file: File, side: Side, spin: Duration) -> io::Result<Self> {
        // The file is at least LEN bytes (created so, or checked in `join`) and nobody shrinks
        // it; the mapping is only ever read and written through the atomics of `counter`.
        let map = MmapOptions::new().len(LEN).map_raw(&file)?;
        let (out_at, in_at) = match side {
            Side::Host => (TO_WORKER, TO_HOST),
            Side::Worker => (TO_HOST, TO_WORKER),
        };
        Ok(Self {
            file,
            map,
            out_at,
            in_at,
            sent: 0,
            seen: 0,
            spin,
        })
    }

    fn counter(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset + 8 <= LEN && offset.is_multiple_of(8));
        // SAFETY: the mapping is LEN bytes, page-aligned, and lives as long as `self` (the
        // returned reference borrows `self`), so `ptr` is valid and 8-byte aligned for that
        // lifetime (offset is 0 or 128). Every access to these bytes, in this process and in
        // the peer, goes through `AtomicU64` (same size and layout as `u64`); no `&mut` or
        // non-atomic access to them exists, as `AtomicU64::from_ptr` requires.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(offset).cast::<u64>()) }
    }

    /// The memfd (the host passes it to the worker).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// The longest busy-poll per wait.
    pub fn spin(&self) -> Duration {
        self.spin
    }

    /// Records one datagram sent (call after the send succeeded).
    pub fn rang(&mut self) {
        self.sent += 1;
        self.counter(self.out_at)
            .store(self.sent, Ordering::Release);
    }

    /// Records one datagram received.
    pub fn took(&mut self) {
        self.seen += 1;
    }

    /// Whether the peer rang for a datagram not yet received.
    pub fn pending(&self) -> bool {
        self.counter(self.in_at).load(Ordering::Acquire) > self.seen
    }

    /// Polls until the peer rings or `until` passes, yielding the CPU between polls; `true`
    /// if it rang.
    pub fn wait(&self, until: Instant) -> bool {
        let c = self.counter(self.in_at);
        let mut n: u32 = 0;
        loop {
            if c.load(Ordering::Acquire) > self.seen {
                return true;
            }
            // Yield rather than spin hot: the kernel tends to wake the peer on the CPU of the
            // process that woke it (us, when we sent it a message), and a hot spin would keep
            // it from running there until our spin time ends. `sched_yield` returns at once
            // when nothing else waits for this CPU.
            std::thread::yield_now();
            n = n.wrapping_add(1);
            if n.is_multiple_of(8) && Instant::now() >= until {
                return c.load(Ordering::Acquire) > self.seen;
            }
        }
    }
}

impl std::fmt::Debug for Bell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bell")
            .field("sent", &self.sent)
            .field("seen", &self.seen)
            .field("spin", &self.spin)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_sees_the_others_rings_and_not_its_own() {
        let mut host = Bell::create(Duration::from_micros(50)).unwrap();
        let fd = host.fd().try_clone_to_owned().unwrap();
        let mut worker = Bell::join(fd, Duration::from_micros(50)).unwrap();
        assert!(!host.pending() && !worker.pending());
        host.rang();
        assert!(worker.pending());
        assert!(!host.pending(), "a side does not see its own ring");
        assert!(worker.wait(Instant::now()));
        worker.took();
        assert!(!worker.pending());
        // Nothing rang: the wait gives up at its deadline.
        assert!(!worker.wait(Instant::now() + Duration::from_micros(20)));
        worker.rang();
        worker.rang();
        assert!(host.pending());
        host.took();
        assert!(host.pending(), "one more datagram is announced");
        host.took();
        assert!(!host.pending());
    }

    #[test]
    fn rings_cross_threads_through_separate_mappings() {
        let mut host = Bell::create(Duration::from_millis(1)).unwrap();
        let fd = host.fd().try_clone_to_owned().unwrap();
        let mut worker = Bell::join(fd, Duration::from_millis(1)).unwrap();
        let t = std::thread::spawn(move || {
            // Echo each ring back, 1000 times, waiting as long as needed.
            for _ in 0..1000 {
                while !worker.wait(Instant::now() + Duration::from_secs(1)) {}
                worker.took();
                worker.rang();
            }
        });
        for _ in 0..1000 {
            host.rang();
            while !host.wait(Instant::now() + Duration::from_secs(1)) {}
            host.took();
        }
        t.join().unwrap();
        assert!(!host.pending());
    }

    #[test]
    fn a_short_memfd_is_refused() {
        let fd = memfd_create("short", MemfdFlags::CLOEXEC).unwrap();
        let e = Bell::join(fd, Duration::ZERO).expect_err("refused");
        assert!(e.to_string().contains("doorbell of 0 bytes"), "{e}");
    }
}
