//! A worker's stdout and stderr: one pipe, read by a thread that forwards every byte to
//! framebus's stderr and keeps the last [`TAIL_BYTES`], so a worker that dies (a Python
//! `ImportError` at start, a panic, an abort) is reported with the last lines it wrote.

use std::collections::VecDeque;
use std::io::{PipeReader, Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Bytes of output kept per worker.
pub(super) const TAIL_BYTES: usize = 4096;
/// Bytes of output quoted in an error message (whole lines, the last ones).
pub(super) const QUOTE_BYTES: usize = 1500;

#[derive(Default)]
struct State {
    bytes: VecDeque<u8>,
    eof: bool,
}

/// The last output of one worker.
#[derive(Default)]
pub(super) struct Tail {
    state: Mutex<State>,
    changed: Condvar,
}

impl Tail {
    /// Makes the pipe and starts its reader thread; returns the tail and the write end for
    /// the child's stdout and stderr.
    pub(super) fn start(label: &str) -> std::io::Result<(Arc<Self>, Stdio, Stdio)> {
        let (reader, writer) = std::io::pipe()?;
        let out = Stdio::from(writer.try_clone()?);
        let err = Stdio::from(writer);
        let tail = Arc::new(Self::default());
        let t = tail.clone();
        std::thread::Builder::new()
            .name(format!("out-{label}"))
            .spawn(move || t.forward(reader))?;
        Ok((tail, out, err))
    }

    fn forward(&self, mut reader: PipeReader) {
        let mut buf = [0u8; 4096];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            // The worker's prints still reach framebus's stderr, as before.
            let _ = std::io::stderr().write_all(&buf[..n]);
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.bytes.extend(&buf[..n]);
            let over = s.bytes.len().saturating_sub(TAIL_BYTES);
            s.bytes.drain(..over);
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.eof = true;
        self.changed.notify_all();
    }

    /// The last lines the worker wrote (at most [`QUOTE_BYTES`], starting at a line), after
    /// waiting up to `wait` for the pipe to close (the worker has exited: its last writes are
    /// then all read). Empty when it wrote nothing.
    pub(super) fn quote(&self, wait: Duration) -> String {
        let deadline = Instant::now() + wait;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !s.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = match self.changed.wait_timeout(s, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        let bytes: Vec<u8> = s.bytes.iter().copied().collect();
        drop(s);
        last_lines(&bytes, QUOTE_BYTES)
    }
}

/// The end of `bytes` as text: at most `max` bytes, cut at a line start, trimmed.
fn last_lines(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end();
    if text.len() <= max {
        return text.trim_start_matches('\n').to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    match cut.find('\n') {
        Some(i) if i + 1 < cut.len() => format!("…\n{}", &cut[i + 1..]),
        _ => format!("…{cut}"),
    }
}

/// `message`, followed by the worker's last output when it wrote any.
pub(super) fn with_output(message: String, output: &str) -> String {
    if output.is_empty() {
        message
    } else {
        format!("{message}; its last output:\n{output}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_are_bounded_and_start_at_a_line() {
        assert_eq!(last_lines(b"a\nb\n", 100), "a\nb");
        let mut long = Vec::new();
        for i in 0..1000 {
            long.extend(format!("line {i}\n").as_bytes());
        }
        let q = last_lines(&long, 100);
        assert!(q.len() <= 100 + "…\n".len(), "{q}");
        assert!(q.starts_with("…\nline "), "{q}");
        assert!(q.ends_with("line 999"), "{q}");
        // Not valid UTF-8, and a cut inside a multi-byte character: still text.
        let q = last_lines("ééééé\u{fffd}x".as_bytes(), 5);
        assert!(q.ends_with('x'), "{q}");
    }

    #[test]
    fn a_child_s_output_is_kept_and_read_to_its_end() {
        let (tail, out, err) = Tail::start("test").unwrap();
        let mut child = std::process::Command::new("sh")
            .args(["-c", "echo to-stdout; i=0; while [ $i -lt 300 ]; do echo filler $i >&2; i=$((i+1)); done; echo Traceback: last >&2; exit 3"])
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(3));
        let q = tail.quote(Duration::from_secs(20));
        assert!(q.ends_with("filler 299\nTraceback: last"), "{q}");
        assert!(q.len() <= QUOTE_BYTES + 4, "{}", q.len());
        assert!(!q.contains("to-stdout"), "only the tail is quoted");
    }
}
