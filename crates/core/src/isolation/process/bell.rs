//! The spin doorbell and message slots of a worker socket: a memfd mapped read-write by the
//! host and its worker. Its first page holds, each on its own cache lines, the two sides'
//! message counters (messages sent, host's at byte 0, worker's at 128), their counts of
//! messages taken (256, 384) and their "asleep in the kernel" flags (512, 640). After it come
//! two message slots of `slot_bytes` each (host → worker, then worker → host; none when
//! `slot_bytes` is 0), each a u64 message number, a u64 length and the message's bytes.
//!
//! A side about to wait for a message first busy-polls the other's counter for a bounded time
//! (`spin_us`) and only then sleeps on the socket. A message without an fd that fits the
//! sender's slot, while the peer has taken the slot's last message, is written into the slot
//! and announced by the counter alone: no syscall on either side while the receiver spins. A
//! sender whose peer is asleep follows it with a one-byte wake datagram ([`WAKE`]) on the
//! socket. Every other message travels on the socket as before (and is counted the same), so
//! the receiver takes message `n` from the slot when the slot holds number `n`, else from the
//! socket, in order.
//!
//! The asleep flag and the counter form a Dekker pair (both sequentially consistent): a
//! receiver sets its flag, then re-reads the counter before sleeping; a sender bumps the
//! counter, then reads the flag. At least one of them sees the other, so no message is left
//! in a slot with its receiver asleep (a wake that comes needlessly is skipped).
//!
//! Besides the `mmap`, turning the mapped bytes into atomics and copying message bytes in
//! and out of the slots are the only `unsafe` here.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::{MemfdFlags, memfd_create};

/// Bytes of the control page.
const PAGE: usize = 4096;
/// Byte offset of the host's counter of messages sent (+ 128: the worker's).
const SENT: usize = 0;
/// Byte offset of the host's count of messages taken (+ 128: the worker's).
const TAKEN: usize = 256;
/// Byte offset of the host's asleep flag (+ 128: the worker's).
const ASLEEP: usize = 512;
/// Offset between a side's word and the same word of the other side (two cache lines: no
/// false sharing, also with the adjacent-line prefetcher).
const SIDE: usize = 128;
/// Bytes of a slot's header (message number, length).
const SLOT_HEADER: usize = 16;
/// Smallest and largest slot accepted.
pub const SLOT_RANGE: std::ops::RangeInclusive<u64> = 64..=(4 << 20);
/// A yield longer than this (on average over 4) means the CPU is contended (see
/// [`Bell::wait`]).
const CONTENDED: Duration = Duration::from_micros(50);
/// How long spinning pauses after a contended spin.
const COOL_DOWN: Duration = Duration::from_millis(100);
/// The wake datagram: one byte that is no JSON message (those start with `{`).
pub const WAKE: &[u8] = b"~";

/// Which end of the socket this doorbell serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// framebus: writes the host's words and the first slot.
    Host,
    /// The worker: writes the worker's words and the second slot.
    Worker,
}

/// One side's view of the control block.
pub struct Bell {
    file: File,
    map: MmapRaw,
    /// This side's word offset (0 or `SIDE`) and the peer's.
    me: usize,
    peer: usize,
    /// Byte offsets of the slot this side writes and the one it reads (0: no slots).
    out_slot: usize,
    in_slot: usize,
    slot_bytes: usize,
    /// Messages sent since the doorbell was installed.
    sent: u64,
    /// Messages received since the doorbell was installed.
    seen: u64,
    /// Number of the last message written into the out slot (0: none yet).
    in_flight: u64,
    spin: Duration,
    /// Waits do not spin before this (see [`Bell::wait`]).
    calm_at: Option<Instant>,
}

impl Bell {
    /// A new zeroed control block (host side), spinning up to `spin` per wait, with two
    /// slots of `slot_bytes` (0: none; else within [`SLOT_RANGE`], rounded up to 8 bytes).
    pub fn create(spin: Duration, slot_bytes: u64) -> io::Result<Self> {
        let slot_bytes = checked_slot(slot_bytes)?;
        let fd = memfd_create("framebus-bell", MemfdFlags::CLOEXEC)?;
        let file = File::from(fd);
        file.set_len((PAGE + 2 * slot_bytes) as u64)?;
        Self::with_file(file, Side::Host, spin, slot_bytes)
    }

    /// Maps a control block received from the host (worker side); `slot_bytes` as the host
    /// announced it.
    pub fn join(fd: OwnedFd, spin: Duration, slot_bytes: u64) -> io::Result<Self> {
        let slot_bytes = checked_slot(slot_bytes)?;
        let file = File::from(fd);
        let size = file.metadata()?.len();
        let len = PAGE + 2 * slot_bytes;
        if size < len as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("doorbell of {size} bytes, {len} needed"),
            ));
        }
        Self::with_file(file, Side::Worker, spin, slot_bytes)
    }

    fn with_file(file: File, side: Side, spin: Duration, slot_bytes: usize) -> io::Result<Self> {
        // The file is at least this long (created so, or checked in `join`) and nobody
        // shrinks it; the mapping is only ever accessed through `word` and the slot copies.
        let map = MmapOptions::new()
            .len(PAGE + 2 * slot_bytes)
            .map_raw(&file)?;
        let (me, peer) = match side {
            Side::Host => (0, SIDE),
            Side::Worker => (SIDE, 0),
        };
        let (out_slot, in_slot) = match (slot_bytes, side) {
            (0, _) => (0, 0),
            (_, Side::Host) => (PAGE, PAGE + slot_bytes),
            (_, Side::Worker) => (PAGE + slot_bytes, PAGE),
        };
        Ok(Self {
            file,
            map,
            me,
            peer,
            out_slot,
            in_slot,
            slot_bytes,
            sent: 0,
            seen: 0,
            in_flight: 0,
            spin,
            calm_at: None,
        })
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset + 8 <= self.map.len() && offset.is_multiple_of(8));
        // SAFETY: `offset + 8` is inside the mapping (asserted), which is page-aligned and
        // lives as long as `self` (the returned reference borrows `self`), so the pointer is
        // valid and 8-byte aligned for that lifetime. Every access to a counter, flag or slot
        // header word, in this process and in the peer, goes through `AtomicU64` (same size
        // and layout as `u64`); no `&mut` or non-atomic access to them exists, as
        // `AtomicU64::from_ptr` requires.
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

    /// Bytes of each slot as negotiated (0: no slots).
    pub fn slot_bytes(&self) -> u64 {
        self.slot_bytes as u64
    }

    /// Records one message sent on the socket (call after the send succeeded).
    pub fn rang(&mut self) {
        self.sent += 1;
        self.word(SENT + self.me).store(self.sent, Ordering::SeqCst);
    }

    /// Writes `msg` into this side's slot and announces it, if it fits and the peer took the
    /// slot's last message; `Some(peer asleep)` then (the caller must wake a sleeping peer
    /// with [`WAKE`]), `None` if the message must go on the socket.
    pub fn put(&mut self, msg: &[u8]) -> Option<bool> {
        if self.out_slot == 0
            || msg.len() > self.slot_bytes - SLOT_HEADER
            || self.word(TAKEN + self.peer).load(Ordering::Acquire) < self.in_flight
        {
            return None;
        }
        let n = self.sent + 1;
        let data = self.out_slot + SLOT_HEADER;
        // SAFETY: `data + msg.len()` is within the mapping (the slot lies inside it and the
        // length was checked against the slot's capacity). The peer reads these bytes only
        // after the counter below announces them, and no longer once its `TAKEN` word passed
        // `in_flight` (checked above): no access overlaps this write while both sides follow
        // the protocol. A peer that does not can only garble its own copy of the message.
        unsafe {
            std::ptr::copy_nonoverlapping(msg.as_ptr(), self.map.as_mut_ptr().add(data), msg.len());
        }
        self.word(self.out_slot + 8)
            .store(msg.len() as u64, Ordering::Relaxed);
        self.word(self.out_slot).store(n, Ordering::Relaxed);
        self.in_flight = n;
        // SeqCst: the bytes and header are released with the counter, and the flag read
        // below cannot move before it (the Dekker pair with `sleep`).
        self.rang();
        Some(self.word(ASLEEP + self.peer).load(Ordering::SeqCst) != 0)
    }

    /// Writes `bytes` into this side's slot without announcing them (tests: a side killed
    /// in the middle of a message).
    #[cfg(test)]
    pub(crate) fn scribble(&mut self, bytes: &[u8]) {
        assert!(bytes.len() <= self.slot_bytes - SLOT_HEADER);
        // SAFETY: within this side's slot (asserted); the peer does not read it unannounced.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(self.out_slot + SLOT_HEADER),
                bytes.len(),
            );
        }
        self.word(self.out_slot + 8)
            .store(bytes.len() as u64, Ordering::Relaxed);
    }

    /// If the peer's next message is in the slot, copies it to the front of `into` and
    /// returns its length (`Err` for a length the slot or `into` cannot hold: a broken
    /// peer). Call only when [`Bell::pending`].
    pub fn take(&mut self, into: &mut [u8]) -> Result<Option<usize>, usize> {
        if self.in_slot == 0 || self.word(self.in_slot).load(Ordering::Acquire) != self.seen + 1 {
            return Ok(None);
        }
        let len = self.word(self.in_slot + 8).load(Ordering::Relaxed) as usize;
        if len > self.slot_bytes - SLOT_HEADER || len > into.len() {
            return Err(len);
        }
        let data = self.in_slot + SLOT_HEADER;
        // SAFETY: `data + len` is within the mapping (len was checked against the slot's
        // capacity) and within `into`. The peer wrote these bytes before it announced the
        // message (acquired through the counter in `pending` and the header above) and does
        // not write them again until our `TAKEN` word (stored in `took`, after this copy)
        // passes this message's number.
        unsafe {
            std::ptr::copy_nonoverlapping(self.map.as_ptr().add(data), into.as_mut_ptr(), len);
        }
        self.took();
        Ok(Some(len))
    }

    /// Records one message received (and lets the peer reuse its slot).
    pub fn took(&mut self) {
        self.seen += 1;
        self.word(TAKEN + self.me)
            .store(self.seen, Ordering::Release);
    }

    /// Whether the peer sent a message not yet received.
    pub fn pending(&self) -> bool {
        self.word(SENT + self.peer).load(Ordering::SeqCst) > self.seen
    }

    /// Says whether this side sleeps in the kernel (set before sleeping, then check
    /// [`Bell::pending`] once more; cleared on waking).
    pub fn sleep(&self, asleep: bool) {
        self.word(ASLEEP + self.me)
            .store(u64::from(asleep), Ordering::SeqCst);
    }

    /// Polls until the peer sends or `until` passes, yielding the CPU between polls; `true`
    /// if it sent.
    ///
    /// A yield that took longer than [`CONTENDED`] means other processes wanted this CPU: a
    /// spinner then only sees a message when its turn comes again (milliseconds on a loaded
    /// machine), while a sleeper is woken at once. So the spin ends there, and the waits of
    /// the next [`COOL_DOWN`] do not spin (they sleep, and a message wakes them).
    pub fn wait(&mut self, until: Instant) -> bool {
        let mut last = Instant::now();
        if self.calm_at.is_some_and(|t| last < t) {
            return self.pending();
        }
        let mut n: u32 = 0;
        loop {
            if self.pending() {
                return true;
            }
            // Yield rather than spin hot: the kernel tends to wake the peer on the CPU of the
            // process that woke it (us, when we sent it a message), and a hot spin would keep
            // it from running there until our spin time ends. `sched_yield` returns at once
            // when nothing else waits for this CPU.
            std::thread::yield_now();
            n = n.wrapping_add(1);
            if n.is_multiple_of(4) {
                let now = Instant::now();
                if now - last > CONTENDED * 4 {
                    self.calm_at = Some(now + COOL_DOWN);
                    return self.pending();
                }
                if now >= until {
                    return self.pending();
                }
                last = now;
            }
        }
    }

    /// Whether the last spin ended because the CPU was contended and spinning is paused.
    pub fn cooling(&self) -> bool {
        self.calm_at.is_some_and(|t| Instant::now() < t)
    }
}

/// `slot_bytes` rounded up to 8 bytes, if 0 or within [`SLOT_RANGE`].
fn checked_slot(slot_bytes: u64) -> io::Result<usize> {
    if slot_bytes != 0 && !SLOT_RANGE.contains(&slot_bytes) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "slots of {slot_bytes} bytes (0, or {} to {} bytes)",
                SLOT_RANGE.start(),
                SLOT_RANGE.end()
            ),
        ));
    }
    Ok(slot_bytes.div_ceil(8) as usize * 8)
}

impl std::fmt::Debug for Bell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bell")
            .field("sent", &self.sent)
            .field("seen", &self.seen)
            .field("slot_bytes", &self.slot_bytes)
            .field("spin", &self.spin)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(slot: u64) -> (Bell, Bell) {
        let host = Bell::create(Duration::from_micros(50), slot).unwrap();
        let fd = host.fd().try_clone_to_owned().unwrap();
        let worker = Bell::join(fd, Duration::from_micros(50), slot).unwrap();
        (host, worker)
    }

    #[test]
    fn each_side_sees_the_others_messages_and_not_its_own() {
        let (mut host, mut worker) = pair(0);
        assert!(!host.pending() && !worker.pending());
        assert!(!host.cooling());
        host.rang();
        assert!(worker.pending());
        assert!(!host.pending(), "a side does not see its own message");
        assert!(worker.wait(Instant::now()));
        worker.took();
        assert!(!worker.pending());
        // Nothing sent: the wait gives up at its deadline.
        assert!(!worker.wait(Instant::now() + Duration::from_micros(20)));
        worker.rang();
        worker.rang();
        assert!(host.pending());
        host.took();
        assert!(host.pending(), "one more message is announced");
        host.took();
        assert!(!host.pending());
        // Without slots every message goes on the socket.
        assert_eq!(host.put(b"{}"), None);
    }

    #[test]
    fn a_message_crosses_in_the_slot_and_the_slot_is_reused_once_taken() {
        let (mut host, mut worker) = pair(64);
        let mut buf = [0u8; 100];
        assert_eq!(host.put(br#"{"type":"reset"}"#), Some(false));
        // The slot is busy until the worker took the message: the next goes on the socket.
        assert_eq!(host.put(b"{}"), None);
        assert!(worker.pending());
        assert_eq!(worker.take(&mut buf), Ok(Some(16)));
        assert_eq!(&buf[..16], br#"{"type":"reset"}"#);
        assert!(!worker.pending());
        // Too big for a 64-byte slot (48 bytes of payload): the socket.
        assert_eq!(host.put(&[b' '; 49]), None);
        assert_eq!(host.put(&[b' '; 48]), Some(false));
        assert_eq!(worker.take(&mut buf), Ok(Some(48)));
        // A message sent on the socket is announced but not in the slot.
        host.rang();
        assert!(worker.pending());
        assert_eq!(worker.take(&mut buf), Ok(None));
        worker.took();
        // A sleeping worker is reported to the sender (which then sends a wake).
        worker.sleep(true);
        assert_eq!(host.put(b"{}"), Some(true));
        worker.sleep(false);
        assert_eq!(worker.take(&mut buf), Ok(Some(2)));
        // The other direction uses the other slot.
        assert_eq!(worker.put(b"{\"a\":1}"), Some(false));
        assert_eq!(host.take(&mut buf), Ok(Some(7)));
        assert_eq!(&buf[..7], b"{\"a\":1}");
    }

    #[test]
    fn a_slot_length_past_the_slot_is_refused_not_read() {
        let (mut host, mut worker) = pair(64);
        assert_eq!(host.put(b"{}"), Some(false));
        // A broken host writes a length larger than the slot.
        host.word(PAGE + 8).store(1 << 40, Ordering::Relaxed);
        let mut buf = [0u8; 100];
        assert_eq!(worker.take(&mut buf), Err(1 << 40));
    }

    #[test]
    fn messages_cross_threads_through_slots_of_separate_mappings() {
        let (mut host, mut worker) = pair(256);
        let t = std::thread::spawn(move || {
            // Echo each message back, 1000 times, waiting as long as needed.
            let mut buf = [0u8; 256];
            for _ in 0..1000 {
                while !worker.wait(Instant::now() + Duration::from_secs(1)) {}
                let n = worker.take(&mut buf).unwrap().unwrap();
                assert!(worker.put(&buf[..n]).is_some());
            }
        });
        let mut buf = [0u8; 256];
        for i in 0..1000u32 {
            let msg = format!("{{\"n\":{i}}}");
            assert!(host.put(msg.as_bytes()).is_some());
            while !host.wait(Instant::now() + Duration::from_secs(1)) {}
            let n = host.take(&mut buf).unwrap().unwrap();
            assert_eq!(&buf[..n], msg.as_bytes());
        }
        t.join().unwrap();
        assert!(!host.pending());
    }

    #[test]
    fn a_short_memfd_or_a_bad_slot_size_is_refused() {
        let fd = memfd_create("short", MemfdFlags::CLOEXEC).unwrap();
        let e = Bell::join(fd, Duration::ZERO, 0).expect_err("refused");
        assert!(e.to_string().contains("doorbell of 0 bytes"), "{e}");
        let host = Bell::create(Duration::ZERO, 0).unwrap();
        let fd = host.fd().try_clone_to_owned().unwrap();
        let e = Bell::join(fd, Duration::ZERO, 4096).expect_err("refused");
        assert!(e.to_string().contains("12288 needed"), "{e}");
        let e = Bell::create(Duration::ZERO, 8).expect_err("refused");
        assert!(e.to_string().contains("slots of 8 bytes"), "{e}");
    }
}
