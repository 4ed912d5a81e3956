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

use super::bell::Bell;

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
        let iov = [IoSlice::new(&self.out)];
        let fds;
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if let Some(fd) = fd {
            fds = [fd];
            control.push(SendAncillaryMessage::ScmRights(&fds));
        }
        loop {
            match sendmsg(&self.fd, &iov, &mut control, SendFlags::NOSIGNAL) {
                Ok(_) => {
                    if let Some(b) = &mut self.bell {
                        b.rang();
                    }
                    return Ok(());
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::PIPE | rustix::io::Errno::CONNRESET) => {
                    return Err(WireError::Eof);
                }
                Err(e) => return Err(WireError::Io(e.into())),
            }
        }
    }

    /// Waits up to `timeout` (`None`: forever) for one datagram; returns its bytes and the
    /// fd that came with it, if any.
    pub fn recv_raw(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<(&[u8], Option<OwnedFd>), WireError> {
        let start = Instant::now();
        let deadline = timeout.map(|t| start + t);
        let due = self.due.take();
        let rang = self.spin_first(start, deadline, due)?;
        if !rang && let Some(t) = timeout {
            let left = deadline.map_or(t, |d| d.saturating_duration_since(Instant::now()));
            if !self.readable(left)? {
                return Err(WireError::Timeout(t));
            }
        }
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
        let mut passed = None;
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = msg {
                for fd in fds {
                    // Keep the first; extra fds are closed when dropped.
                    if passed.is_none() {
                        passed = Some(fd);
                    }
                }
            }
        }
        if let Some(b) = &mut self.bell {
            b.took();
        }
        if got.bytes == 0 {
            return Err(WireError::Eof);
        }
        if got.flags.contains(ReturnFlags::TRUNC) || got.bytes > MAX_DATAGRAM {
            return Err(WireError::TooBig);
        }
        self.last_len = got.bytes;
        Ok((&self.inp[..got.bytes], passed))
    }

    /// Waits up to `wait` for the socket to be readable; `false` on timeout.
    fn readable(&self, wait: Duration) -> Result<bool, WireError> {
        let ts = Timespec {
            tv_sec: wait.as_secs() as _,
            tv_nsec: wait.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        loop {
            match poll(&mut fds, Some(&ts)) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(WireError::Io(e.into())),
            }
        }
    }

    /// The spin before a receive (doorbell installed): `Ok(true)` when the peer rang or the
    /// socket became readable, so the receive will not block; `Ok(false)` when the caller
    /// must wait on the socket as without a doorbell.
    fn spin_first(
        &self,
        start: Instant,
        deadline: Option<Instant>,
        due: Option<Instant>,
    ) -> Result<bool, WireError> {
        let Some(b) = &self.bell else {
            return Ok(false);
        };
        let spin = b.spin();
        if spin.is_zero() {
            return Ok(false);
        }
        let cap = |t: Instant| deadline.map_or(t, |d| t.min(d));
        match due {
            Some(at) if at > start + spin => {
                // Sleep until one spin time before it is due (a datagram that comes earlier
                // wakes us as usual), then spin around the due time.
                let wake = cap(at - spin);
                if self.readable(wake.saturating_duration_since(start))? {
                    return Ok(true);
                }
                Ok(b.wait(cap(at + spin)))
            }
            _ => Ok(b.wait(cap(start + spin))),
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
        use super::super::bell::Bell;
        let (a, b) = pair().unwrap();
        let (mut host, mut worker) = (Channel::new(a), Channel::new(b));
        let bell = Bell::create(Duration::from_micros(200)).unwrap();
        let fd = bell.fd().try_clone_to_owned().unwrap();
        host.ring(bell);
        worker.ring(Bell::join(fd, Duration::from_micros(200)).unwrap());
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
        host.ring(Bell::create(Duration::from_micros(100)).unwrap());
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
}
