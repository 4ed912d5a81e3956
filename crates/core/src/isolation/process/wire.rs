//! One end of a worker socket (`AF_UNIX`, `SOCK_SEQPACKET`): JSON messages as datagrams, an
//! optional fd as `SCM_RIGHTS`, receive with a timeout. Both the host and `framebus worker`
//! use it; the buffers are made once per channel, so steady traffic does not allocate here.
//!
//! With a [`Bell`] installed (the `spin` feature of protocol 2) a side about to wait for a
//! datagram busy-polls the peer's counter for up to `spin_us` before sleeping in the kernel,
//! and [`Channel::expect`] lets a side that knows when the next datagram is due (a worker fed
//! by a steady camera) sleep until shortly before that and spin around it.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use framebus_protocol::worker::MAX_DATAGRAM;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType, recvmsg,
    sendmsg, socketpair,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::bell::{Bell, WAKE};

/// Why a receive or send failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The other end closed the socket (or died).
    #[error("socket closed")]
    Eof,
    /// Nothing arrived in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A datagram over the 4 MiB limit.
    #[error("a message over {MAX_DATAGRAM} bytes")]
    TooBig,
    /// Not a message of the expected kind.
    #[error("unparsable message: {0}")]
    Parse(String),
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// A socket pair for one worker: (host end, worker end), both close-on-exec.
pub fn pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

/// One end of a worker socket.
pub struct Channel {
    fd: OwnedFd,
    out: Vec<u8>,
    inp: Vec<u8>,
    /// Bytes of the last datagram received (for error messages).
    last_len: usize,
    /// The spin doorbell, once negotiated.
    bell: Option<Bell>,
    /// When the next datagram is due (see [`Channel::expect`]).
    due: Option<Instant>,
    /// The fd that came with the last datagram received.
    passed: Option<OwnedFd>,
}

impl Channel {
    /// Wraps a socket end.
    pub fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            out: Vec::with_capacity(4096),
            inp: vec![0; MAX_DATAGRAM + 1],
            last_len: 0,
            bell: None,
            due: None,
            passed: None,
        }
    }

    /// Installs the spin doorbell: from now on every datagram sent rings it, and every wait
    /// spins on the peer's ring first. Both sides install it between the same two datagrams:
    /// after the `spin` request and its `ok` (the worker once it sent `ok`, the host once it
    /// received it), so both count the same datagrams from there on.
    pub fn ring(&mut self, bell: Bell) {
        self.bell = Some(bell);
    }

    /// Whether a doorbell is installed.
    pub fn spins(&self) -> bool {
        self.bell.as_ref().is_some_and(|b| !b.spin().is_zero())
    }

    /// Says when the next datagram is due (for the next receive only): if that is further
    /// away than the spin time, the receive sleeps until one spin time before it and then
    /// spins up to one spin time past it, instead of spinning right away.
    pub fn expect(&mut self, at: Instant) {
        self.due = Some(at);
    }

    /// The socket.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Sends one message, with `fd` attached as `SCM_RIGHTS` if given.
    pub fn send<T: Serialize>(
        &mut self,
        msg: &T,
        fd: Option<BorrowedFd<'_>>,
    ) -> Result<(), WireError> {
        self.out.clear();
        serde_json::to_writer(&mut self.out, msg).map_err(|e| WireError::Parse(e.to_string()))?;
        self.send_raw_with(fd)
    }

    /// Sends raw bytes as one datagram (tests send garbage with it).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        self.out.clear();
        self.out.extend_from_slice(bytes);
        self.send_raw_with(None)
    }

    fn send_raw_with(&mut self, fd: Option<BorrowedFd<'_>>) -> Result<(), WireError> {
        if self.out.len() > MAX_DATAGRAM {
            return Err(WireError::TooBig);
        }
        if fd.is_none()
            && let Some(b) = &mut self.bell
            && let Some(asleep) = b.put(&self.out)
        {
            // In the slot; a peer asleep in the kernel needs a datagram to wake it.
            if asleep {
                self.sendmsg(WAKE, None)?;
            }
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        let sent = self.sendmsg(&out, fd);
        self.out = out;
        sent?;
        if let Some(b) = &mut self.bell {
            b.rang();
        }
        Ok(())
    }

    fn sendmsg(&self, bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<(), WireError> {
        let iov = [IoSlice::new(bytes)];
        let fds;
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if let Some(fd) = fd {
            fds = [fd];
            control.push(SendAncillaryMessage::ScmRights(&fds));
        }
        loop {
            match sendmsg(&self.fd, &iov, &mut control, SendFlags::NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::PIPE | rustix::io::Errno::CONNRESET) => {
                    return Err(WireError::Eof);
                }
                Err(e) => return Err(WireError::Io(e.into())),
            }
        }
    }

    /// Waits up to `timeout` (`None`: forever) for one message; returns its bytes and the
    /// fd that came with it, if any.
    pub fn recv_raw(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<(&[u8], Option<OwnedFd>), WireError> {
        let start = Instant::now();
        let deadline = timeout.map(|t| start + t);
        let due = self.due.take();
        let len = match self.bell.as_ref().is_some_and(|b| !b.spin().is_zero()) {
            true => self.recv_rung(timeout, start, deadline, due)?,
            false => {
                if let Some(t) = timeout
                    && !self.readable(t)?
                {
                    return Err(WireError::Timeout(t));
                }
                self.recvmsg()?
            }
        };
        let passed = self.passed.take();
        Ok((&self.inp[..len], passed))
    }

    /// One datagram into `inp` (its fd, if any, into `passed`); blocks. A receive with a
    /// doorbell counts it unless it is a [`WAKE`].
    fn recvmsg(&mut self) -> Result<usize, WireError> {
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let got = loop {
            let mut iov = [IoSliceMut::new(&mut self.inp)];
            match recvmsg(&self.fd, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC) {
                Ok(m) => break m,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::CONNRESET) => return Err(WireError::Eof),
                Err(e) => return Err(WireError::Io(e.into())),
            }
        };
        self.passed = None;
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = msg {
                for fd in fds {
                    // Keep the first; extra fds are closed when dropped.
                    if self.passed.is_none() {
                        self.passed = Some(fd);
                    }
                }
            }
        }
        if got.bytes == 0 {
            return Err(WireError::Eof);
        }
        if let Some(b) = &mut self.bell
            && &self.inp[..got.bytes] != WAKE
        {
            b.took();
        }
        if got.flags.contains(ReturnFlags::TRUNC) || got.bytes > MAX_DATAGRAM {
            return Err(WireError::TooBig);
        }
        self.last_len = got.bytes;
        Ok(got.bytes)
    }

    /// A receive with the doorbell installed: the next message from the slot or the socket,
    /// whichever holds it; spins on the peer's counter first, and sleeps on the socket (with
    /// the asleep flag set, so a sender into the slot wakes us) after that or until shortly
    /// before the message is `due`.
    fn recv_rung(
        &mut self,
        timeout: Option<Duration>,
        start: Instant,
        deadline: Option<Instant>,
        due: Option<Instant>,
    ) -> Result<usize, WireError> {
        let spin = self.bell.as_ref().map_or(Duration::ZERO, Bell::spin);
        let cap = |t: Instant| deadline.map_or(t, |d| t.min(d));
        let left = |now: Instant| deadline.map(|d| d.saturating_duration_since(now));
        // The phases: sleep until one spin time before `due` (if it is further), spin, then
        // sleep until the deadline.
        let nap = due.filter(|&at| at > start + spin).map(|at| cap(at - spin));
        let mut spin_until = Some(cap(due.map_or(start, |at| at.max(start)) + spin));
        loop {
            let bell = self.bell.as_mut().expect("recv_rung has a bell");
            if bell.pending() {
                match bell.take(&mut self.inp) {
                    Ok(Some(len)) => {
                        self.passed = None;
                        self.last_len = len;
                        return Ok(len);
                    }
                    Ok(None) => {}
                    Err(len) => {
                        return Err(WireError::Parse(format!(
                            "a slot message of {len} bytes, longer than its slot"
                        )));
                    }
                }
                // On the socket (sent before it was counted): skip wakes until it comes.
                loop {
                    if let Some(t) = left(Instant::now())
                        && !self.readable(t)?
                    {
                        return Err(WireError::Timeout(timeout.unwrap_or_default()));
                    }
                    let len = self.recvmsg()?;
                    if &self.inp[..len] != WAKE {
                        return Ok(len);
                    }
                }
            }
            let now = Instant::now();
            let sleep_for = match nap {
                // (A stale wake may end a nap early: it goes on.)
                Some(until) if now < until => Some(until - now),
                _ => {
                    if let Some(until) = spin_until.take() {
                        bell.wait(until);
                        continue;
                    }
                    match left(now) {
                        Some(t) if t.is_zero() => {
                            return Err(WireError::Timeout(timeout.unwrap_or_default()));
                        }
                        t => t,
                    }
                }
            };
            bell.sleep(true);
            if bell.pending() {
                bell.sleep(false);
                continue;
            }
            let readable = match sleep_for {
                Some(t) => self.readable(t),
                None => self.readable_forever(),
            };
            if let Some(b) = &self.bell {
                b.sleep(false);
            }
            if !readable? {
                continue;
            }
            if self.bell.as_ref().is_some_and(Bell::pending) {
                continue;
            }
            // Not announced yet: the next message itself (or a wake for one already taken).
            let len = self.recvmsg()?;
            if &self.inp[..len] != WAKE {
                return Ok(len);
            }
        }
    }

    /// Waits up to `wait` for the socket to be readable; `false` on timeout.
    fn readable(&self, wait: Duration) -> Result<bool, WireError> {
        let ts = Timespec {
            tv_sec: wait.as_secs() as _,
            tv_nsec: wait.subsec_nanos() as _,
        };
        self.poll(Some(&ts))
    }

    /// Waits for the socket to be readable.
    fn readable_forever(&self) -> Result<bool, WireError> {
        self.poll(None)
    }

    fn poll(&self, ts: Option<&Timespec>) -> Result<bool, WireError> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        loop {
            match poll(&mut fds, ts) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(WireError::Io(e.into())),
            }
        }
    }

    /// Like [`Channel::recv_raw`], parsed as a `T`.
    pub fn recv<T: DeserializeOwned>(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<(T, Option<OwnedFd>), WireError> {
        let (bytes, fd) = self.recv_raw(timeout)?;
        match serde_json::from_slice(bytes) {
            Ok(m) => Ok((m, fd)),
            Err(e) => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
                Err(WireError::Parse(format!("{e} in {head:?}")))
            }
        }
    }

    /// Like [`Channel::recv`], trying the per-frame struct `F` first (no buffering, so no
    /// allocation for an answer without strings) and then the general message `T`:
    /// `Ok(Ok(f))` or `Ok(Err(t))`.
    pub fn recv_either<F: DeserializeOwned, T: DeserializeOwned>(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<(Result<F, T>, Option<OwnedFd>), WireError> {
        let (bytes, fd) = self.recv_raw(timeout)?;
        if let Ok(f) = serde_json::from_slice::<F>(bytes) {
            return Ok((Ok(f), fd));
        }
        match serde_json::from_slice(bytes) {
            Ok(m) => Ok((Err(m), fd)),
            Err(e) => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
                Err(WireError::Parse(format!("{e} in {head:?}")))
            }
        }
    }
}

/// The worker's socket from `FRAMEBUS_WORKER_FD` (normally 3), once per process.
#[allow(unsafe_code)]
pub fn worker_socket() -> Result<OwnedFd, String> {
    use std::os::fd::{FromRawFd, RawFd};
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let raw: RawFd = std::env::var("FRAMEBUS_WORKER_FD")
        .map_err(|_| {
            "FRAMEBUS_WORKER_FD is not set: `framebus worker` is started by framebus".to_owned()
        })?
        .parse()
        .map_err(|_| "FRAMEBUS_WORKER_FD is not a number".to_owned())?;
    if raw < 3 {
        return Err(format!("FRAMEBUS_WORKER_FD={raw} names a standard stream"));
    }
    // Refuse an fd that is not an open socket before taking ownership of it.
    let kind = std::fs::read_link(format!("/proc/self/fd/{raw}"))
        .map_err(|e| format!("FRAMEBUS_WORKER_FD={raw} is not open: {e}"))?;
    if !kind.to_string_lossy().starts_with("socket:") {
        return Err(format!(
            "FRAMEBUS_WORKER_FD={raw} is not a socket ({})",
            kind.display()
        ));
    }
    if TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err("the worker socket was already taken".into());
    }
    // SAFETY: the fd is open and a socket (checked above); the host passed it to this process
    // for the worker alone and nothing else here owns it (the flag makes this happen once),
    // so taking ownership cannot double-close.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use framebus_protocol::worker::HostMessage;

    #[test]
    fn messages_and_fds_cross_a_socket_pair() {
        let (a, b) = pair().unwrap();
        let (mut a, mut b) = (Channel::new(a), Channel::new(b));
        let region = super::super::shm::ShmRegion::new(64).unwrap();
        a.send(
            &HostMessage::Buffer { buffer: 7, len: 64 },
            Some(region.fd()),
        )
        .unwrap();
        let (m, fd): (HostMessage, _) = b.recv(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(m, HostMessage::Buffer { buffer: 7, len: 64 });
        assert!(fd.is_some());
        assert!(matches!(
            b.recv::<HostMessage>(Some(Duration::from_millis(1))),
            Err(WireError::Timeout(_))
        ));
        a.send_raw(b"not json").unwrap();
        assert!(matches!(
            b.recv::<HostMessage>(None),
            Err(WireError::Parse(_))
        ));
        drop(a);
        assert!(matches!(b.recv::<HostMessage>(None), Err(WireError::Eof)));
        assert!(matches!(
            b.send(&HostMessage::Reset, None),
            Err(WireError::Eof)
        ));
    }

    #[test]
    fn with_doorbells_every_message_still_crosses_in_order() {
        let (mut host, mut worker) = slotted(Duration::from_micros(200), 0);
        assert!(host.spins() && worker.spins());
        let echo = std::thread::spawn(move || {
            let mut n = 0;
            // Expect each next message 1 ms after the last: sleep, then spin around it.
            while let Ok((HostMessage::Heartbeat { n: m }, _)) = worker.recv::<HostMessage>(None) {
                worker.expect(std::time::Instant::now() + Duration::from_millis(1));
                worker
                    .send(&HostMessage::Heartbeat { n: m + 1 }, None)
                    .unwrap();
                n += 1;
            }
            n
        });
        for i in 0..200u64 {
            if i % 50 == 0 {
                // Some requests come late: the worker's guess is wrong, the socket still wakes it.
                std::thread::sleep(Duration::from_millis(3));
            }
            host.send(&HostMessage::Heartbeat { n: i }, None).unwrap();
            let (m, _) = host
                .recv::<HostMessage>(Some(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(m, HostMessage::Heartbeat { n: i + 1 });
        }
        drop(host);
        assert_eq!(echo.join().unwrap(), 200);
    }

    #[test]
    fn a_peer_that_never_rings_is_still_heard_and_times_out_as_usual() {
        use super::super::bell::Bell;
        let (a, b) = pair().unwrap();
        let (mut host, mut worker) = (Channel::new(a), Channel::new(b));
        host.ring(Bell::create(Duration::from_micros(100), 4096).unwrap());
        worker.send(&HostMessage::Reset, None).unwrap();
        let (m, _) = host
            .recv::<HostMessage>(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(m, HostMessage::Reset);
        assert!(matches!(
            host.recv::<HostMessage>(Some(Duration::from_millis(2))),
            Err(WireError::Timeout(_))
        ));
        // A due time further than the deadline: the timeout still holds.
        host.expect(std::time::Instant::now() + Duration::from_secs(60));
        assert!(matches!(
            host.recv::<HostMessage>(Some(Duration::from_millis(2))),
            Err(WireError::Timeout(_))
        ));
    }

    /// A host and worker channel sharing a doorbell with slots of `slot` bytes.
    fn slotted(spin: Duration, slot: u64) -> (Channel, Channel) {
        use super::super::bell::Bell;
        let (a, b) = pair().unwrap();
        let (mut host, mut worker) = (Channel::new(a), Channel::new(b));
        let bell = Bell::create(spin, slot).unwrap();
        let fd = bell.fd().try_clone_to_owned().unwrap();
        host.ring(bell);
        worker.ring(Bell::join(fd, spin, slot).unwrap());
        (host, worker)
    }

    /// The host's doorbell block mapped again as a (non-spinning) worker would map it, to
    /// play a worker that misbehaves in it.
    fn worker_view(host: &Channel, slot: u64) -> super::super::bell::Bell {
        let fd = host
            .bell
            .as_ref()
            .unwrap()
            .fd()
            .try_clone_to_owned()
            .unwrap();
        super::super::bell::Bell::join(fd, Duration::ZERO, slot).unwrap()
    }

    #[test]
    fn through_slots_small_big_and_fd_carrying_messages_arrive_in_order() {
        // A 1 ms spin: most small messages cross in the slots, the rest on the socket.
        let (mut host, mut worker) = slotted(Duration::from_millis(1), 256);
        let region = super::super::shm::ShmRegion::new(64).unwrap();
        let echo = std::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                match worker.recv::<HostMessage>(None) {
                    Ok((HostMessage::Shutdown, _)) | Err(_) => break,
                    Ok((m, fd)) => {
                        // Answer each heartbeat with a result bigger than a slot.
                        if let HostMessage::Heartbeat { n } = m {
                            let big = HostMessage::Command {
                                name: "x".repeat(1000),
                                args: serde_json::json!(n),
                            };
                            worker.send(&big, None).unwrap();
                        }
                        got.push((m, fd.is_some()));
                    }
                }
            }
            got
        });
        let mut want = Vec::new();
        for i in 0..300u64 {
            if i % 7 == 0 {
                // Sent back to back: the second cannot use the busy slot.
                host.send(&HostMessage::DropBuffer { buffer: i }, None)
                    .unwrap();
                want.push((HostMessage::DropBuffer { buffer: i }, false));
            }
            if i % 50 == 0 {
                let m = HostMessage::Buffer { buffer: i, len: 64 };
                host.send(&m, Some(region.fd())).unwrap();
                want.push((m, true));
            }
            if i % 60 == 0 {
                // The worker sleeps on the socket meanwhile: the slot's message wakes it.
                std::thread::sleep(Duration::from_millis(3));
            }
            host.send(&HostMessage::Heartbeat { n: i }, None).unwrap();
            want.push((HostMessage::Heartbeat { n: i }, false));
            let (m, _) = host
                .recv::<HostMessage>(Some(Duration::from_secs(5)))
                .unwrap();
            let HostMessage::Command { name, args } = m else {
                panic!("expected the big answer, got {m:?}");
            };
            assert_eq!((name.len(), args), (1000, serde_json::json!(i)));
        }
        host.send(&HostMessage::Shutdown, None).unwrap();
        assert_eq!(echo.join().unwrap(), want);
        let bell = host.bell.as_ref().unwrap();
        assert!(!bell.pending());
    }

    #[test]
    fn a_peer_that_dies_while_writing_its_slot_is_a_closed_socket() {
        let (mut host, worker) = slotted(Duration::from_micros(200), 256);
        // The worker's side of the block, mapped again, as a worker that wrote half a
        // message into its slot and was killed before announcing it.
        let mut half = worker_view(&host, 256);
        half.scribble(br#"{"type":"result","seq":1,"#);
        drop(worker);
        assert!(matches!(
            host.recv::<HostMessage>(Some(Duration::from_secs(5))),
            Err(WireError::Eof)
        ));
        // Also when a message was announced on the socket but never sent.
        let (mut host, worker) = slotted(Duration::from_micros(200), 256);
        let mut liar = worker_view(&host, 256);
        liar.rang();
        drop(worker);
        assert!(matches!(
            host.recv::<HostMessage>(Some(Duration::from_secs(5))),
            Err(WireError::Eof)
        ));
    }

    #[test]
    fn a_slot_message_that_is_garbage_is_a_parse_error_and_a_wake_alone_times_out() {
        let (mut host, mut worker) = slotted(Duration::from_micros(100), 256);
        worker.send_raw(b"not json").unwrap();
        assert!(matches!(
            host.recv::<HostMessage>(Some(Duration::from_secs(5))),
            Err(WireError::Parse(_))
        ));
        // A stray wake datagram is skipped, not taken for a message.
        worker.sendmsg(WAKE, None).unwrap();
        assert!(matches!(
            host.recv::<HostMessage>(Some(Duration::from_millis(5))),
            Err(WireError::Timeout(_))
        ));
    }
}
