//! The tty itself, through `rustix` (no system library): opened non-blocking without
//! becoming the controlling terminal, set raw (8N1, no echo, no flow control, no CR/LF
//! mapping) at the requested baud rate, read after `poll` with a timeout so the capture
//! thread can notice shutdown.

use std::os::fd::OwnedFd;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::{Mode, OFlags, open};
use rustix::io::Errno;
use rustix::termios::{
    ControlModes, OptionalActions, QueueSelector, SpecialCodeIndex, tcflush, tcgetattr, tcsetattr,
};

/// An open serial port.
pub(crate) struct Port {
    fd: OwnedFd,
}

/// What a read gave.
pub(crate) enum Read {
    /// Bytes were read into the buffer.
    Bytes(usize),
    /// Nothing arrived before the timeout.
    Idle,
}

impl Port {
    /// Opens `device` raw at `baud`, discarding bytes that were waiting.
    pub(crate) fn open(device: &str, baud: u32) -> Result<Self, String> {
        let fd = open(
            device,
            OFlags::RDWR | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("cannot open `{device}`: {e}"))?;
        let mut t = tcgetattr(&fd).map_err(|e| match e {
            Errno::NOTTY => format!("`{device}` is not a serial port (not a terminal device)"),
            e => format!("`{device}`: cannot read its terminal settings: {e}"),
        })?;
        t.make_raw();
        t.control_modes |= ControlModes::CLOCAL | ControlModes::CREAD;
        t.control_modes -= ControlModes::CSTOPB | ControlModes::PARENB;
        t.special_codes[SpecialCodeIndex::VMIN] = 0;
        t.special_codes[SpecialCodeIndex::VTIME] = 0;
        t.set_speed(baud)
            .map_err(|e| format!("`{device}`: baud {baud} refused: {e}"))?;
        tcsetattr(&fd, OptionalActions::Now, &t)
            .map_err(|e| format!("`{device}`: cannot set raw mode at {baud} baud: {e}"))?;
        // Best effort: a device that cannot flush still works.
        let _ = tcflush(&fd, QueueSelector::IFlush);
        Ok(Self { fd })
    }

    /// Waits up to `timeout_ms` for bytes and reads what is there. An error means the device
    /// is gone (hang-up, unplugged, I/O error).
    pub(crate) fn read(&self, buf: &mut [u8], timeout_ms: u64) -> Result<Read, String> {
        let ts = Timespec {
            tv_sec: (timeout_ms / 1000) as _,
            tv_nsec: ((timeout_ms % 1000) * 1_000_000) as _,
        };
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) | Err(Errno::INTR) => return Ok(Read::Idle),
            Ok(_) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        let ev = fds[0].revents();
        match rustix::io::read(&self.fd, buf) {
            Ok(0) => Err("end of file (hang-up)".into()),
            Ok(n) => Ok(Read::Bytes(n)),
            Err(Errno::AGAIN | Errno::INTR) if !ev.intersects(PollFlags::HUP | PollFlags::ERR) => {
                Ok(Read::Idle)
            }
            Err(Errno::AGAIN | Errno::INTR) => Err("hang-up".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
