//! The encoder thread of one source: converts and encodes the frames the pipeline thread
//! copied for it, writes the session's video and JSON lines, keeps the clip ring and cuts
//! clips. Nothing here runs on the pipeline thread.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::Receiver;
use crossbeam_queue::ArrayQueue;
use framebus_core::frame::FrameData;
use framebus_protocol::{ClipSaved, Notification, NotificationLevel, ServerMessage};
use serde_json::{Value, json};

use super::clip::{ClipRequest, PendingClip, Ring, Step};
use super::session::Session;
use super::{Shared, SourceStats};
use crate::encode::{H264Encoder, Mp4Writer};

/// A frame copied off the pipeline thread, with its snapshot when it is recorded.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) frame: FrameData,
    pub(crate) snapshot: Vec<u8>,
    pub(crate) recording: bool,
    pub(crate) generation: u64,
}

/// Messages to an encoder thread.
pub(crate) enum Msg {
    Frame(Box<Slot>),
    Command { generation: u64, line: Value },
    Clip(ClipRequest),
    End(u64),
    Finish,
}

struct Recording {
    session: Arc<Session>,
    writer: Option<Mp4Writer>,
    pending: Vec<Value>,
    failed: bool,
}

pub(crate) struct Worker {
    pub(crate) source: String,
    pub(crate) clips: bool,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) free: Arc<ArrayQueue<Box<Slot>>>,
    pub(crate) stats: Arc<SourceStats>,
    pub(crate) shared: Arc<Shared>,
    encoder: H264Encoder,
    ring: Ring,
    rec: Option<Recording>,
    closed_generation: u64,
    pending_clips: Vec<PendingClip>,
    /// Command lines of a session whose first frame has not reached this worker yet; they
    /// get the frame id of that frame (or are written as they are when the session ends).
    early: Vec<(Arc<Session>, Value)>,
    alerted_drops: u64,
    alerted_error: bool,
}

impl Worker {
    pub(crate) fn new(
        source: String,
        clips: bool,
        rx: Receiver<Msg>,
        free: Arc<ArrayQueue<Box<Slot>>>,
        stats: Arc<SourceStats>,
        shared: Arc<Shared>,
    ) -> Self {
        let keep_ns = (shared.settings.clip_pre_s * 1e9) as u64;
        Self {
            encoder: H264Encoder::new(shared.settings.encoder),
            ring: Ring::new(keep_ns),
            source,
            clips,
            rx,
            free,
            stats,
            shared,
            rec: None,
            closed_generation: 0,
            pending_clips: Vec::new(),
            early: Vec::new(),
            alerted_drops: 0,
            alerted_error: false,
        }
    }

    pub(crate) fn run(mut self) {
        while let Ok(msg) = self.rx.recv() {
            match msg {
                Msg::Frame(slot) => {
                    self.frame(&slot);
                    let _ = self.free.push(slot);
                }
                Msg::Command { generation, line } => match &mut self.rec {
                    Some(r) if r.session.generation == generation => r.pending.push(line),
                    _ => {
                        if let Some(s) = self.shared.session(generation) {
                            self.early.push((s, line));
                        }
                    }
                },
                Msg::Clip(req) => self.start_clip(req),
                Msg::End(g) => {
                    self.closed_generation = self.closed_generation.max(g);
                    self.flush_early(g);
                    if self.rec.as_ref().is_some_and(|r| r.session.generation <= g) {
                        self.close_recording();
                    }
                    self.shared.release(g);
                }
                Msg::Finish => break,
            }
        }
        self.close_recording();
        self.flush_early(u64::MAX);
        for clip in std::mem::take(&mut self.pending_clips) {
            self.finish_clip(clip);
        }
    }

    fn alert(&self, level: NotificationLevel, title: &str, message: String) {
        self.shared.emit(&ServerMessage::Alert(Notification {
            level,
            source: self.source.clone(),
            title: title.into(),
            message,
        }));
    }

    fn frame(&mut self, slot: &Slot) {
        if slot.recording && slot.generation <= self.closed_generation {
            // Processed while recording, but handed over after its session was closed (the
            // pipeline was inside the observer call when recording stopped): missing from
            // the video, so counted, never silent.
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        let records = slot.recording && slot.generation > self.closed_generation;
        let current = self.rec.as_ref().map(|r| r.session.generation);
        if !records || current != Some(slot.generation) {
            self.close_recording();
        }
        if records && self.rec.is_none() {
            if let Some(session) = self.shared.session(slot.generation) {
                let g = session.generation;
                let (mine, rest) = std::mem::take(&mut self.early)
                    .into_iter()
                    .partition(|(s, _)| s.generation == g);
                self.early = rest;
                self.rec = Some(Recording {
                    session,
                    writer: None,
                    pending: mine.into_iter().map(|(_, line)| line).collect(),
                    failed: false,
                });
                self.encoder.force_keyframe();
            } else {
                // That session already ended: nothing to record into.
                self.closed_generation = self.closed_generation.max(slot.generation);
            }
        }
        if self.rec.is_none() && !self.clips {
            return;
        }
        let f = &slot.frame;
        let key = match self.encoder.encode(f, f.t_ns) {
            Ok(e) => e.keyframe,
            Err(e) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                if !self.alerted_error {
                    self.alerted_error = true;
                    self.alert(NotificationLevel::Error, "encoding failed", e.to_string());
                }
                return;
            }
        };
        self.stats.encoded.fetch_add(1, Ordering::Relaxed);
        let (w, h) = (
            self.encoder.picture().width() as u32,
            self.encoder.picture().height() as u32,
        );
        if let Some(mut rec) = self.rec.take() {
            let problem = self.write_recording(&mut rec, slot, key, w, h);
            self.rec = Some(rec);
            if let Some((level, title, msg)) = problem {
                self.alert(level, title, msg);
            }
        }
        self.after_encode(f.frame_id, f.t_ns, key, w, h);
    }

    /// Writes the frame just encoded into the session; returns an alert to raise, if any.
    fn write_recording(
        &mut self,
        rec: &mut Recording,
        slot: &Slot,
        key: bool,
        w: u32,
        h: u32,
    ) -> Option<(NotificationLevel, &'static str, String)> {
        if rec.failed {
            return None;
        }
        let f = &slot.frame;
        let session = rec.session.clone();
        if rec.writer.is_none() {
            let name = format!("{}.mp4", super::names::file_safe(&self.source));
            let fps = f64::from(self.shared.settings.encoder.fps);
            match Mp4Writer::create(&session.dir.join(name), w, h, fps) {
                Ok(wr) => rec.writer = Some(wr),
                Err(e) => {
                    rec.failed = true;
                    return Some((NotificationLevel::Error, "recording failed", e.to_string()));
                }
            }
        }
        let writer = rec.writer.as_mut().expect("created above");
        let index = writer.frames();
        let data = self.encoder.last_output();
        if let Err(e) = writer.write(f.t_ns, data, key) {
            rec.failed = true;
            return Some((NotificationLevel::Error, "recording failed", e.to_string()));
        }
        session.frames.fetch_add(1, Ordering::Relaxed);
        session
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        for mut line in rec.pending.drain(..) {
            if let Some(m) = line.as_object_mut() {
                m.insert("frame_id".into(), json!(f.frame_id));
                m.insert("index".into(), json!(index));
            }
            session.write_command(&line);
        }
        session.write_snapshot(&slot.snapshot);
        let dropped = session.dropped();
        if dropped > 0 && self.alerted_drops == 0 {
            self.alerted_drops = dropped;
            return Some((
                NotificationLevel::Warning,
                "recording dropped frames",
                format!(
                    "the encoder could not keep up: {dropped} frame(s) missing from `{}` so far",
                    session.name
                ),
            ));
        }
        None
    }

    fn after_encode(&mut self, frame_id: u64, t_ns: u64, key: bool, w: u32, h: u32) {
        if !self.clips && self.pending_clips.is_empty() {
            return;
        }
        let data = self.encoder.last_output();
        if self.clips {
            self.ring.push(frame_id, t_ns, key, data);
        }
        let half = self.ring.period_ns() / 2;
        let mut finished = Vec::new();
        let mut i = 0;
        while i < self.pending_clips.len() {
            let clip = &mut self.pending_clips[i];
            let step = clip.step(t_ns, key, half);
            let mut done = step == Step::Done;
            if matches!(step, Step::Write | Step::WriteLast) {
                write_clip_frame(clip, frame_id, t_ns, key, data, w, h);
                done |= step == Step::WriteLast;
            }
            if done {
                finished.push(self.pending_clips.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for clip in finished {
            self.finish_clip(clip);
        }
    }

    fn start_clip(&mut self, req: ClipRequest) {
        let mut clip = PendingClip {
            req,
            writer: None,
            first_frame_id: None,
            last_frame_id: None,
            last_t_ns: None,
        };
        let half = self.ring.period_ns() / 2;
        let (w, h) = (
            self.encoder.picture().width() as u32,
            self.encoder.picture().height() as u32,
        );
        let start_ns = clip.req.t_ns.saturating_sub(clip.req.pre_ns);
        let mut done = false;
        if let Some(start) = self.ring.start_index(start_ns) {
            for e in self.ring.entries().range(start..) {
                match clip.step(e.t_ns, e.key, half) {
                    Step::Skip => {}
                    Step::Write => {
                        write_clip_frame(&mut clip, e.frame_id, e.t_ns, e.key, &e.data, w, h)
                    }
                    Step::WriteLast => {
                        write_clip_frame(&mut clip, e.frame_id, e.t_ns, e.key, &e.data, w, h);
                        done = true;
                        break;
                    }
                    Step::Done => {
                        done = true;
                        break;
                    }
                }
            }
        } else {
            // Nothing to start from yet: the next frame starts the clip.
            self.encoder.force_keyframe();
        }
        if done {
            self.finish_clip(clip);
        } else {
            self.pending_clips.push(clip);
        }
    }

    fn finish_clip(&mut self, clip: PendingClip) {
        let id = clip.req.id.clone();
        let Some(writer) = clip.writer else {
            self.alert(
                NotificationLevel::Warning,
                "clip empty",
                format!("clip `{id}` has no frames (the source stopped first)"),
            );
            return;
        };
        match writer.finish() {
            Ok(summary) => {
                let sidecar = json!({
                    "id": id,
                    "source": self.source,
                    "label": clip.req.label,
                    "frame_id": clip.req.frame_id,
                    "t_ns": clip.req.t_ns,
                    "pre_s": clip.req.pre_ns as f64 / 1e9,
                    "post_s": clip.req.post_ns as f64 / 1e9,
                    "first_frame_id": clip.first_frame_id,
                    "last_frame_id": clip.last_frame_id,
                    "frames": summary.frames,
                    "duration_s": summary.duration_s,
                    "bytes": summary.bytes,
                    "created_utc": super::names::utc_stamp(super::names::now_secs()),
                });
                let side = clip.req.path.with_extension("json");
                if let Err(e) = std::fs::write(&side, sidecar.to_string()) {
                    tracing::warn!("cannot write {}: {e}", side.display());
                }
                self.stats.clips.fetch_add(1, Ordering::Relaxed);
                self.shared.emit(&ServerMessage::ClipSaved(ClipSaved {
                    id: id.clone(),
                    source: self.source.clone(),
                    label: clip.req.label.clone(),
                    path: format!("clips/{id}.mp4"),
                    duration_s: summary.duration_s,
                    frames: summary.frames,
                }));
            }
            Err(e) => self.alert(NotificationLevel::Error, "clip failed", e.to_string()),
        }
    }

    /// Writes the early command lines of sessions up to `g` as they are (no frame followed).
    fn flush_early(&mut self, g: u64) {
        let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.early)
            .into_iter()
            .partition(|(s, _)| s.generation <= g);
        self.early = rest;
        for (s, line) in done {
            s.write_command(&line);
        }
    }

    fn close_recording(&mut self) {
        let Some(mut rec) = self.rec.take() else {
            return;
        };
        if let Some(w) = rec.writer.take() {
            match w.finish() {
                Ok(summary) => rec.session.add_file(&self.source, summary),
                Err(e) => self.alert(NotificationLevel::Error, "recording failed", e.to_string()),
            }
        }
        for line in rec.pending.drain(..) {
            rec.session.write_command(&line);
        }
        self.alerted_drops = 0;
    }
}

fn write_clip_frame(
    clip: &mut PendingClip,
    frame_id: u64,
    t_ns: u64,
    key: bool,
    data: &[u8],
    w: u32,
    h: u32,
) {
    if clip.last_t_ns.is_some_and(|t| t_ns <= t) {
        return;
    }
    if clip.writer.is_none() {
        if !key {
            return;
        }
        if let Some(dir) = clip.req.path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!("cannot create {}: {e}", dir.display());
            return;
        }
        match Mp4Writer::create(&clip.req.path, w, h, 30.0) {
            Ok(wr) => clip.writer = Some(wr),
            Err(e) => {
                tracing::warn!("clip {}: {e}", clip.req.id);
                return;
            }
        }
    }
    if let Some(wr) = clip.writer.as_mut()
        && wr.write(t_ns, data, key).is_ok()
    {
        clip.first_frame_id.get_or_insert(frame_id);
        clip.last_frame_id = Some(frame_id);
        clip.last_t_ns = Some(t_ns);
    }
}
