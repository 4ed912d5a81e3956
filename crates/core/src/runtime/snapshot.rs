//! Writes the snapshot JSON into the pipeline's reused buffer, without building a value tree:
//! `{type, frame_id, camera_id, source, t_ns, sequence, fps, state, results, signals,
//! widgets, notifications, active_plugins, observations, errors, dropped, rules}`.
//!
//! `observations` are seed 004's `Observation{source, frame_id, t_ns, signals, data,
//! timing}`, one per stage that ran: `source` is the stage id, `signals` what it published,
//! `data` the namespace of its result in `results` (or null), `timing.process_ms` its time.
//! A `latest` stage's observation carries the frame id and time of the frame it last
//! finished.

use std::sync::atomic::Ordering;

use framebus_protocol::RunState;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::frame::FrameData;
use crate::runtime::pipeline::Pipeline;

struct Results<'a>(&'a Pipeline);
struct Signals<'a>(&'a Pipeline);
struct Widgets<'a>(&'a Pipeline);
struct Active<'a>(&'a Pipeline);
struct Dropped<'a>(&'a Pipeline);
struct Rules<'a>(&'a Pipeline);
struct Observations<'a>(&'a Pipeline, &'a FrameData);
struct StageSignals<'a>(&'a Pipeline, usize);

impl serde::Serialize for StageSignals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for sig in self.0.store.signals.as_slice() {
            if sig.stage == self.1 {
                m.serialize_entry(&sig.name, &sig.value)?;
            }
        }
        m.end()
    }
}

impl serde::Serialize for Observations<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Timing {
            process_ms: f64,
        }
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            source: &'a str,
            frame_id: u64,
            t_ns: u64,
            signals: StageSignals<'a>,
            data: Option<&'a str>,
            timing: Timing,
        }
        let (p, frame) = (self.0, self.1);
        let mut q = s.serialize_seq(None)?;
        for (i, (slot, out)) in p.stages.iter().zip(&p.store.slots).enumerate() {
            if !slot.enabled || slot.absent {
                continue;
            }
            let (frame_id, t_ns) = match slot.carried {
                Some((id, age_ms)) => (id, frame.t_ns.saturating_sub((age_ms * 1e6) as u64)),
                None => (frame.frame_id, frame.t_ns),
            };
            q.serialize_element(&Entry {
                source: &slot.init.id,
                frame_id,
                t_ns,
                signals: StageSignals(p, i),
                data: (out.visible && out.value.is_some()).then_some(out.namespace.as_str()),
                timing: Timing {
                    process_ms: slot.perf_ms,
                },
            })?;
        }
        q.end()
    }
}

impl serde::Serialize for Rules<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        if let Some(f) = self.0.fusion() {
            for st in f.statuses() {
                q.serialize_element(&st)?;
            }
        }
        q.end()
    }
}

impl serde::Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for slot in &self.0.store.slots {
            if let (true, Some(v)) = (slot.visible, slot.value.as_deref()) {
                m.serialize_entry(&slot.namespace, v as &dyn erased_serde::Serialize)?;
            }
        }
        m.end()
    }
}

impl serde::Serialize for Signals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for sig in self.0.store.signals.as_slice() {
            m.serialize_entry(&sig.name, &sig.value)?;
        }
        m.end()
    }
}

impl serde::Serialize for Widgets<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for w in self.0.store.widgets.as_slice() {
            if let Some(w) = &w.0 {
                q.serialize_element(w)?;
            }
        }
        q.end()
    }
}

impl serde::Serialize for Active<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            id: &'a str,
            performance_ms: f64,
            enabled: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            frame_id: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            age_ms: Option<f64>,
        }
        let mut q = s.serialize_seq(Some(self.0.stages.len()))?;
        for slot in &self.0.stages {
            q.serialize_element(&Entry {
                id: &slot.init.id,
                performance_ms: slot.perf_ms,
                enabled: slot.enabled,
                frame_id: slot.carried.map(|c| c.0),
                age_ms: slot.carried.map(|c| c.1),
            })?;
        }
        q.end()
    }
}

impl serde::Serialize for Dropped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.edges.len()))?;
        for (name, stats) in &self.0.edges {
            m.serialize_entry(name, &stats.dropped.load(Ordering::Relaxed))?;
        }
        m.end()
    }
}

pub(crate) fn write_snapshot(p: &mut Pipeline, frame: &FrameData, state: RunState) {
    let mut buf = std::mem::take(&mut p.snapshot);
    buf.clear();
    let mut ser = serde_json::Serializer::new(&mut buf);
    let r = (|| {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("type", "snapshot")?;
        m.serialize_entry("frame_id", &frame.frame_id)?;
        m.serialize_entry("camera_id", &frame.source_index)?;
        m.serialize_entry("source", &*frame.source)?;
        m.serialize_entry("width", &frame.width)?;
        m.serialize_entry("height", &frame.height)?;
        m.serialize_entry("t_ns", &frame.t_ns)?;
        if let Some(h) = &p.packet_header {
            m.serialize_entry("packet", h)?;
        }
        m.serialize_entry("sequence", &p.last_sequence)?;
        m.serialize_entry("fps", &((p.fps * 100.0).round() / 100.0))?;
        m.serialize_entry("state", state.as_str())?;
        m.serialize_entry("results", &Results(p))?;
        m.serialize_entry("signals", &Signals(p))?;
        m.serialize_entry("widgets", &Widgets(p))?;
        m.serialize_entry("notifications", &p.store.notifications)?;
        m.serialize_entry("active_plugins", &Active(p))?;
        m.serialize_entry("observations", &Observations(p, frame))?;
        m.serialize_entry("errors", &p.errors)?;
        m.serialize_entry("dropped", &Dropped(p))?;
        m.serialize_entry("rules", &Rules(p))?;
        SerializeMap::end(m)
    })();
    if let Err(e) = r {
        buf.clear();
        let msg = serde_json::json!({"type":"snapshot_error","frame_id":frame.frame_id,"message":e.to_string()});
        let _ = serde_json::to_writer(&mut buf, &msg);
    }
    p.snapshot = buf;
}
