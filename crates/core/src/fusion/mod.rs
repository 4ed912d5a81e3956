//! Observations, fusion rules, triggers and actions (seed 004).
//!
//! After a pipeline's stages ran on a frame, the frame's observation (source, frame id,
//! `t_ns`, the signals, named points and results the stages published, and their timings)
//! is offered to the `[[rules]]` that watch the source. Rules step on observation time only,
//! so a replay fires at the same frames. A firing emits seed 004's `FusionResult` as a
//! `trigger` event and runs the rule's actions: `save_clip` (overlapping requests merged
//! into one clip, cut from the source's clip ring), `notify`, `webhook` (a worker thread,
//! see [`webhook`]) and `command` (the command bus).
//!
//! # Layout
//! - [`config`]: the `[[rules]]` and `[trace]` config types, durations.
//! - [`board`]: other sources' latest signals, for cross-source conditions.
//! - [`cond`]: compiled conditions and the frame view they read.
//! - [`rule`]: a rule's state machine (sustain, hysteresis, cooldown, edges).
//! - [`webhook`]: the webhook worker (retries, backoff, circuit breaker).
//! - [`trace`]: trace levels and sinks.

pub mod board;
pub mod cond;
pub mod config;
pub(crate) mod probe;
pub mod rule;
pub mod trace;
pub(crate) mod validate;
pub mod webhook;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use framebus_protocol::{
    Command, CommandPayload, FusionResult, Notification, NotificationLevel, RulePhase,
    ServerMessage, Trigger, TriggerEdge,
};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::json;

use crate::command::CommandBus;
use crate::config::Config;
use crate::fusion::board::SignalBoard;
use crate::fusion::cond::FrameView;
use crate::fusion::config::{ActionConfig, TraceLevel, WebhookAction};
use crate::fusion::rule::{Phase, Rule, RuleState};
use crate::fusion::trace::Tracer;
use crate::fusion::webhook::WebhookWorker;
use crate::observer::Observers;
use crate::results::{ResultStore, Signal};

/// What the runtime shares between the pipelines: compiled rules, the tracer, the webhook
/// worker.
pub struct FusionPlan {
    rules: Vec<Arc<Rule>>,
    hooks: Vec<Vec<Option<Arc<WebhookAction>>>>,
    tracer: Option<Arc<Tracer>>,
    webhooks: Option<Arc<WebhookWorker>>,
    max_pre_ns: u64,
    board: Option<Arc<SignalBoard>>,
}

impl FusionPlan {
    /// From a validated config; `None` when there are no rules and tracing is off.
    pub fn new(config: &Config, base_dir: &Path) -> Option<Self> {
        let tracer = Tracer::new(&config.trace, base_dir).map(Arc::new);
        if config.rules.is_empty() && tracer.is_none() {
            return None;
        }
        let rules: Vec<Arc<Rule>> = config
            .rules
            .iter()
            .filter_map(|r| Rule::compile(r).ok().map(Arc::new))
            .collect();
        let hooks: Vec<Vec<Option<Arc<WebhookAction>>>> = rules
            .iter()
            .map(|r| {
                r.actions
                    .iter()
                    .map(|a| match a {
                        ActionConfig::Webhook(w) => Some(Arc::new(w.clone())),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let any_hook = hooks.iter().flatten().any(Option::is_some);
        let mut pairs = Vec::new();
        for r in &rules {
            r.remote_signals(&mut pairs);
        }
        let board = (!pairs.is_empty()).then(|| Arc::new(SignalBoard::new(&pairs)));
        Some(Self {
            board,
            rules,
            hooks,
            tracer,
            webhooks: any_hook.then(|| Arc::new(WebhookWorker::start())),
            max_pre_ns: (config.runtime.clip_pre_s * 1e9) as u64,
        })
    }

    /// The webhook worker, when a rule has a webhook.
    pub fn webhooks(&self) -> Option<&Arc<WebhookWorker>> {
        self.webhooks.as_ref()
    }

    /// The fusion of one source's pipeline.
    pub fn for_source(&self, source: &str) -> Fusion {
        let picked: Vec<usize> = (0..self.rules.len())
            .filter(|&i| self.rules[i].source.as_deref().is_none_or(|s| s == source))
            .collect();
        Fusion {
            source: source.to_owned(),
            rules: picked
                .iter()
                .map(|&i| Armed {
                    rule: self.rules[i].clone(),
                    hooks: self.hooks[i].clone(),
                    state: RuleState::default(),
                    phase: Phase::Armed,
                    fired: 0,
                    last_frame_id: None,
                })
                .collect(),
            windows: Vec::new(),
            fires: Vec::with_capacity(8),
            tracer: self.tracer.clone(),
            webhooks: self.webhooks.clone(),
            max_pre_ns: self.max_pre_ns,
            publishes: self.board.as_ref().is_some_and(|b| b.reads(source)),
            board: self.board.clone(),
            triggers: 0,
            last_t: None,
            half_period: 0,
        }
    }
}

struct Armed {
    rule: Arc<Rule>,
    hooks: Vec<Option<Arc<WebhookAction>>>,
    state: RuleState,
    phase: Phase,
    fired: u64,
    last_frame_id: Option<u64>,
}

struct ClipWindow {
    source: String,
    start: u64,
    end: u64,
    label: String,
}

impl ClipWindow {
    /// Asks the source at `t_ns` for this clip: the pre-roll since its start (at most
    /// `max_pre_ns`, the ring's length), the post-roll still to come.
    fn send(&self, fx: &Effects<'_>, t_ns: u64, max_pre_ns: u64) {
        let pre = t_ns.saturating_sub(self.start).min(max_pre_ns) as f64 / 1e9;
        let post = self.end.saturating_sub(t_ns) as f64 / 1e9;
        send_clip(fx, &self.source, pre, post, &self.label);
    }
}

/// One source's rules and their state; stepped by its pipeline once per frame.
pub struct Fusion {
    source: String,
    rules: Vec<Armed>,
    windows: Vec<ClipWindow>,
    fires: Vec<(usize, rule::Fire)>,
    tracer: Option<Arc<Tracer>>,
    webhooks: Option<Arc<WebhookWorker>>,
    max_pre_ns: u64,
    /// Other sources' signals (cross-source conditions), and whether this source writes some.
    board: Option<Arc<SignalBoard>>,
    publishes: bool,
    triggers: u64,
    last_t: Option<u64>,
    half_period: u64,
}

/// A rule's status, borrowed from the fusion state (serialized into snapshots without
/// allocating; the same fields as the protocol's `RuleStatus`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleStatusRef<'a> {
    /// Rule id.
    pub id: &'a str,
    /// Phase.
    pub phase: RulePhase,
    /// Times it fired on this source (rise, fall or begin; not updates and ends).
    pub fired: u64,
    /// Frame of the last firing.
    pub last_frame_id: Option<u64>,
}

/// A stage's share of an observation: its id and time spent on the frame.
pub struct StageTiming<'a> {
    /// Stage id.
    pub stage: &'a str,
    /// Milliseconds spent in `process`.
    pub ms: f64,
}

/// Where a fusion step's effects go.
pub struct Effects<'a> {
    /// The command bus (clips, commands).
    pub bus: Option<&'a CommandBus>,
    /// Observers (trigger events).
    pub observers: &'a Observers,
}

/// Clips closer than this to the ring's length are cut at once instead of waiting to merge.
const CLIP_MARGIN_NS: u64 = 250_000_000;

struct Sigs<'a>(&'a [Signal]);

impl Serialize for Sigs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for sig in self.0 {
            m.serialize_entry(&sig.name, &sig.value)?;
        }
        m.end()
    }
}

struct Phases<'a>(&'a [Armed]);

impl Serialize for Phases<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for a in self.0 {
            m.serialize_entry(&a.rule.id, a.phase.name())?;
        }
        m.end()
    }
}

struct Timings<'a>(&'a [StageTiming<'a>]);

impl Serialize for Timings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for t in self.0 {
            m.serialize_entry(t.stage, &t.ms)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct FrameRecord<'a> {
    kind: &'static str,
    source: &'a str,
    frame_id: u64,
    t_ns: u64,
    rules: Phases<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signals: Option<Sigs<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timing_ms: Option<Timings<'a>>,
}

#[derive(Serialize)]
struct StateRecord<'a> {
    kind: &'static str,
    source: &'a str,
    rule: &'a str,
    frame_id: u64,
    t_ns: u64,
    from: &'static str,
    to: &'static str,
}

#[derive(Serialize)]
struct TriggerRecord<'a> {
    kind: &'static str,
    #[serde(flatten)]
    result: &'a FusionResult,
}

fn fill(template: &str, signals: &[Signal]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j) => {
                let name = &after[..j];
                match signals.iter().rev().find(|s| s.name == name) {
                    Some(s) => {
                        let _ = write!(out, "{:.1}", s.value);
                    }
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

impl Fusion {
    /// True when traces want stage timings (`verbose`).
    pub fn wants_timings(&self) -> bool {
        self.tracer
            .as_ref()
            .is_some_and(|t| t.wants(TraceLevel::Verbose))
    }

    /// Triggers fired so far.
    pub fn triggers(&self) -> u64 {
        self.triggers
    }

    /// Each rule's phase (`armed`, `pending`, `active`).
    pub fn phases(&self) -> impl Iterator<Item = (&str, Phase)> {
        self.rules.iter().map(|a| (a.rule.id.as_str(), a.phase))
    }

    /// Each rule's status as the snapshot shows it: its phase at the last observation
    /// (`cooling_down` when armed but held back by its cooldown), times fired, last frame.
    pub fn statuses(&self) -> impl Iterator<Item = RuleStatusRef<'_>> {
        let t = self.last_t.unwrap_or(0);
        self.rules.iter().map(move |a| RuleStatusRef {
            id: &a.rule.id,
            phase: match a.phase {
                Phase::Active => RulePhase::Active,
                _ if a.rule.cooling(&a.state, t) => RulePhase::CoolingDown,
                Phase::Pending => RulePhase::Pending,
                Phase::Armed => RulePhase::Armed,
            },
            fired: a.fired,
            last_frame_id: a.last_frame_id,
        })
    }

    /// Steps every rule on one observation and runs what fires. Notifications go into
    /// `store` (so into this frame's snapshot).
    pub fn observe(
        &mut self,
        frame_id: u64,
        t_ns: u64,
        store: &mut ResultStore,
        timings: &[StageTiming<'_>],
        fx: &Effects<'_>,
    ) {
        if let Some(tr) = &self.tracer
            && tr.has_failures()
        {
            for msg in tr.take_failures() {
                let n = Notification {
                    level: NotificationLevel::Error,
                    source: "trace".into(),
                    title: "trace sink failed".into(),
                    message: msg,
                };
                fx.observers.event(&ServerMessage::Alert(n.clone()));
                store.notifications.push(n);
            }
        }
        if let Some(prev) = self.last_t
            && t_ns > prev
        {
            self.half_period = (t_ns - prev) / 2;
        }
        self.last_t = Some(t_ns);
        self.fires.clear();
        if self.publishes
            && let Some(b) = &self.board
        {
            b.publish(&self.source, store.signals.as_slice(), t_ns);
        }
        let mut notes: Vec<Notification> = Vec::new();
        // A clone of the board's handle: the view borrows it while `run` borrows `self`.
        let board = self.board.clone();
        {
            let view = FrameView {
                signals: store.signals.as_slice(),
                points: store.points.as_slice(),
                store: Some(&*store),
                t_ns,
                board: board.as_deref(),
            };
            for (i, a) in self.rules.iter_mut().enumerate() {
                let fire = a.rule.step(&mut a.state, &view, t_ns);
                let phase = a.state.phase();
                if phase != a.phase {
                    if let Some(tr) = &self.tracer
                        && tr.wants(TraceLevel::Normal)
                    {
                        tr.write(&StateRecord {
                            kind: "rule_state",
                            source: &self.source,
                            rule: &a.rule.id,
                            frame_id,
                            t_ns,
                            from: a.phase.name(),
                            to: phase.name(),
                        });
                    }
                    a.phase = phase;
                }
                if let Some(f) = fire {
                    self.fires.push((i, f));
                }
            }
            if let Some(tr) = &self.tracer
                && tr.wants(TraceLevel::Normal)
            {
                let verbose = tr.wants(TraceLevel::Verbose);
                tr.write(&FrameRecord {
                    kind: "frame",
                    source: &self.source,
                    frame_id,
                    t_ns,
                    rules: Phases(&self.rules),
                    signals: verbose.then_some(Sigs(view.signals)),
                    timing_ms: verbose.then_some(Timings(timings)),
                });
            }
            let fires = std::mem::take(&mut self.fires);
            for &(i, fire) in &fires {
                self.run(i, fire, frame_id, t_ns, &view, fx, &mut notes);
            }
            self.fires = fires;
        }
        store.notifications.append(&mut notes);
        self.flush_clips(t_ns, fx);
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        i: usize,
        fire: rule::Fire,
        frame_id: u64,
        t_ns: u64,
        view: &FrameView<'_>,
        fx: &Effects<'_>,
        notes: &mut Vec<Notification>,
    ) {
        self.triggers += 1;
        if matches!(
            fire.edge,
            TriggerEdge::Rise | TriggerEdge::Fall | TriggerEdge::Begin
        ) {
            self.rules[i].fired += 1;
            self.rules[i].last_frame_id = Some(frame_id);
        }
        let rule = self.rules[i].rule.clone();
        let mut reason = String::with_capacity(64);
        reason.push_str(&rule.id);
        reason.push_str(": ");
        rule.when().describe(view, &mut reason);
        let acts = matches!(
            fire.edge,
            TriggerEdge::Rise | TriggerEdge::Fall | TriggerEdge::Begin
        );
        let mut clip_label = None;
        if acts {
            for (k, action) in rule.actions.iter().enumerate() {
                match action {
                    ActionConfig::SaveClip(c) => {
                        let target = c.source.clone().unwrap_or_else(|| self.source.clone());
                        let label = format!("{}@{}:{frame_id}", rule.id, self.source);
                        clip_label =
                            Some(self.want_clip(target, t_ns, c.pre_s, c.post_s, label, fx));
                    }
                    ActionConfig::Notify(n) => notes.push(Notification {
                        level: n.level,
                        source: format!("rule:{}", rule.id),
                        title: fill(&n.title, view.signals),
                        message: fill(&n.message, view.signals),
                    }),
                    ActionConfig::Webhook(_) => {}
                    ActionConfig::Command(c) => {
                        if let Some(bus) = fx.bus {
                            bus.send_and_forget(Command {
                                id: None,
                                target: c.target.clone(),
                                payload: CommandPayload {
                                    cmd: c.cmd.clone(),
                                    args: c.args.clone(),
                                },
                            });
                        }
                    }
                }
                let _ = k;
            }
        }
        let result = FusionResult {
            should_trigger: acts,
            trigger: Trigger {
                rule: rule.id.clone(),
                source: self.source.clone(),
                frame_id,
                t_ns,
                edge: fire.edge,
                clip_label,
            },
            score: fire.score,
            reason,
        };
        if acts {
            let hooks = &self.rules[i].hooks;
            if let Some(w) = &self.webhooks {
                let mut body = None;
                for h in hooks.iter().flatten() {
                    let b = body.get_or_insert_with(|| {
                        serde_json::to_string(&json!({"type": "trigger", "trigger": &result}))
                            .unwrap_or_default()
                    });
                    w.post(h, b.clone());
                }
            }
        }
        if let Some(tr) = &self.tracer {
            tr.write(&TriggerRecord {
                kind: "trigger",
                result: &result,
            });
        }
        fx.observers.event(&ServerMessage::Trigger(result));
    }

    /// Adds a clip request; one overlapping a waiting request on the same source extends
    /// it. Returns the label the clip will carry.
    fn want_clip(
        &mut self,
        target: String,
        t_ns: u64,
        pre_s: f64,
        post_s: f64,
        label: String,
        fx: &Effects<'_>,
    ) -> String {
        let start = t_ns.saturating_sub((pre_s * 1e9) as u64);
        let end = t_ns + (post_s * 1e9) as u64;
        if target != self.source {
            // Another source's frames run on their own clock: cut at once.
            send_clip(fx, &target, pre_s, post_s, &label);
            return label;
        }
        if let Some(w) = self
            .windows
            .iter_mut()
            .find(|w| w.source == target && start <= w.end)
        {
            w.end = w.end.max(end);
            w.start = w.start.min(start);
            return w.label.clone();
        }
        self.windows.push(ClipWindow {
            source: target,
            start,
            end,
            label: label.clone(),
        });
        label
    }

    /// At the end of the stream (end of file, shutdown): asks now for every clip still
    /// waiting out its post-roll, with the post-roll left, so the recorder writes it as far
    /// as the frames go instead of the clip being lost.
    pub fn finish(&mut self, fx: &Effects<'_>) {
        let t_ns = self.last_t.unwrap_or(0);
        let max_pre = self.max_pre_ns;
        for w in self.windows.drain(..) {
            w.send(fx, t_ns, max_pre);
        }
    }

    fn flush_clips(&mut self, t_ns: u64, fx: &Effects<'_>) {
        if self.windows.is_empty() {
            return;
        }
        let max_pre = self.max_pre_ns;
        let mut i = 0;
        while i < self.windows.len() {
            let w = &self.windows[i];
            let span = t_ns.saturating_sub(w.start);
            // The frame nearest the end closes it (as the recorder counts its last frame).
            if t_ns + self.half_period >= w.end || span + CLIP_MARGIN_NS >= max_pre {
                w.send(fx, t_ns, max_pre);
                self.windows.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
}

fn send_clip(fx: &Effects<'_>, source: &str, pre_s: f64, post_s: f64, label: &str) {
    if let Some(bus) = fx.bus {
        bus.send_and_forget(Command {
            id: None,
            target: source.to_owned(),
            payload: CommandPayload {
                cmd: "save_clip".into(),
                args: json!({"pre_s": pre_s, "post_s": post_s, "label": label}),
            },
        });
    }
}
