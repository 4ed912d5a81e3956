//! Starting worker processes. Every spawn happens on one long-lived thread: Linux delivers
//! `PR_SET_PDEATHSIG` when the *thread* that forked the child exits, so spawning from a
//! pipeline or restart thread would kill workers when that thread ends.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};

use crossbeam_channel::{Sender, bounded, unbounded};

type Job = (Command, OwnedFd, Sender<io::Result<Child>>);

fn spawner() -> &'static Mutex<Sender<Job>> {
    static SPAWNER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = unbounded::<Job>();
        std::thread::Builder::new()
            .name("worker-spawner".into())
            .spawn(move || {
                for (mut cmd, fd, reply) in rx {
                    let r = spawn_here(&mut cmd, &fd);
                    drop(fd);
                    let _ = reply.send(r);
                }
            })
            .expect("start the worker spawner thread");
        Mutex::new(tx)
    })
}

/// Starts `cmd` with `child_end` as its fd 3 (`FRAMEBUS_WORKER_FD=3`) and
/// `PR_SET_PDEATHSIG = SIGKILL`, from the long-lived spawner thread.
pub(super) fn spawn(mut cmd: Command, child_end: OwnedFd) -> io::Result<Child> {
    cmd.env("FRAMEBUS_WORKER_FD", "3");
    let (tx, rx) = bounded(1);
    spawner()
        .lock()
        .map_err(|_| io::Error::other("worker spawner poisoned"))?
        .send((cmd, child_end, tx))
        .map_err(|_| io::Error::other("worker spawner gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("worker spawner gone"))?
}

#[allow(unsafe_code)]
fn spawn_here(cmd: &mut Command, fd: &OwnedFd) -> io::Result<Child> {
    let raw = fd.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (dup2, fcntl, prctl, getppid, raise); it allocates nothing
    // and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            if raw == 3 {
                // Already fd 3: clear close-on-exec so it survives exec.
                if libc::fcntl(3, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(raw, 3) == -1 {
                // dup2 leaves the new fd without close-on-exec.
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            // framebus died between fork and prctl: follow it now.
            if libc::getppid() == 1 {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
    cmd.spawn()
}
