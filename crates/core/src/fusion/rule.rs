//! A compiled rule and its state machine, stepped once per observation on observation time
//! (`t_ns`): sustain (`for`), hysteresis (`clear_when`, `clear_after`), cooldown and edges.

use framebus_protocol::TriggerEdge;

use crate::fusion::cond::{Cond, FrameView, compile};
use crate::fusion::config::{ActionConfig, EdgeKind, RuleConfig, parse_duration};

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule id.
    pub id: String,
    /// Source it watches (`None`: every source, each on its own).
    pub source: Option<String>,
    when: Cond,
    clear: Option<Cond>,
    sustain_ns: u64,
    clear_after_ns: u64,
    cooldown_ns: u64,
    update_ns: u64,
    /// Edge kind.
    pub edge: EdgeKind,
    /// Actions to run when it fires.
    pub actions: Vec<ActionConfig>,
}

/// Where a rule stands (for traces and the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for its condition.
    Armed,
    /// Its condition holds; waiting out `for` (or a cooldown).
    Pending,
    /// Active.
    Active,
}

impl Phase {
    /// Its name in traces.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Armed => "armed",
            Phase::Pending => "pending",
            Phase::Active => "active",
        }
    }
}

/// A rule's state on one source.
#[derive(Debug, Clone, Default)]
pub struct RuleState {
    active: bool,
    since: Option<u64>,
    clearing: Option<u64>,
    last_fire: Option<u64>,
    last_update: u64,
}

impl RuleState {
    /// The phase.
    pub fn phase(&self) -> Phase {
        if self.active {
            Phase::Active
        } else if self.since.is_some() {
            Phase::Pending
        } else {
            Phase::Armed
        }
    }
}

/// A firing: the edge and the score of the condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fire {
    /// Which edge.
    pub edge: TriggerEdge,
    /// Score 0..1.
    pub score: f64,
}

impl Rule {
    /// The `(source, signal)` pairs its cross-source conditions read, added to `out`.
    pub fn remote_signals(&self, out: &mut Vec<(String, String)>) {
        self.when.remote_signals(out);
        if let Some(c) = &self.clear {
            c.remote_signals(out);
        }
    }

    /// Compiles a rule config; errors are (field path inside the rule, message).
    pub fn compile(c: &RuleConfig) -> Result<Self, (String, String)> {
        if c.id.is_empty() {
            return Err(("id".into(), "empty rule id".into()));
        }
        let when = compile(&c.when).map_err(|(p, m)| (join("when", &p), m))?;
        let clear = match &c.clear_when {
            Some(cw) => Some(compile(cw).map_err(|(p, m)| (join("clear_when", &p), m))?),
            None => None,
        };
        let dur = |v: &Option<String>, key: &str, default: u64| match v {
            Some(s) => parse_duration(s).map_err(|m| (key.to_owned(), m)),
            None => Ok(default),
        };
        Ok(Self {
            id: c.id.clone(),
            source: c.source.clone(),
            when,
            clear,
            sustain_ns: dur(&c.sustain, "for", 0)?,
            clear_after_ns: dur(&c.clear_after, "clear_after", 0)?,
            cooldown_ns: dur(&c.cooldown, "cooldown", 0)?,
            update_ns: dur(&c.update_every, "update_every", 1_000_000_000)?,
            edge: c.edge,
            actions: c.actions.clone(),
        })
    }

    /// The `when` condition.
    pub fn when(&self) -> &Cond {
        &self.when
    }

    /// True while a firing at some earlier time still holds new firings back (`cooldown`).
    pub fn cooling(&self, st: &RuleState, t: u64) -> bool {
        self.cooldown_ns > 0 && st.last_fire.is_some() && !self.cooled(st, t)
    }

    fn cooled(&self, st: &RuleState, t: u64) -> bool {
        st.last_fire
            .is_none_or(|l| t.saturating_sub(l) >= self.cooldown_ns)
    }

    /// Steps the state on an observation at `t_ns`; returns a firing, if any.
    pub fn step(&self, st: &mut RuleState, f: &FrameView<'_>, t_ns: u64) -> Option<Fire> {
        let (on, score) = self.when.eval(f);
        if !st.active {
            if !on {
                st.since = None;
                return None;
            }
            let since = *st.since.get_or_insert(t_ns);
            if t_ns.saturating_sub(since) < self.sustain_ns {
                return None;
            }
            let edge = match self.edge {
                EdgeKind::OnRise => TriggerEdge::Rise,
                EdgeKind::WhileActive => TriggerEdge::Begin,
                EdgeKind::OnFall => {
                    st.active = true;
                    st.clearing = None;
                    return None;
                }
            };
            if !self.cooled(st, t_ns) {
                return None;
            }
            st.active = true;
            st.clearing = None;
            st.last_fire = Some(t_ns);
            st.last_update = t_ns;
            return Some(Fire { edge, score });
        }
        let off = match &self.clear {
            Some(c) => c.eval(f).0,
            None => !on,
        };
        if !off {
            st.clearing = None;
            if self.edge == EdgeKind::WhileActive
                && t_ns.saturating_sub(st.last_update) >= self.update_ns
            {
                st.last_update = t_ns;
                return Some(Fire {
                    edge: TriggerEdge::Update,
                    score,
                });
            }
            return None;
        }
        let clearing = *st.clearing.get_or_insert(t_ns);
        if t_ns.saturating_sub(clearing) < self.clear_after_ns {
            return None;
        }
        st.active = false;
        st.since = None;
        st.clearing = None;
        match self.edge {
            EdgeKind::OnRise => None,
            EdgeKind::WhileActive => Some(Fire {
                edge: TriggerEdge::End,
                score,
            }),
            EdgeKind::OnFall => {
                if !self.cooled(st, t_ns) {
                    return None;
                }
                st.last_fire = Some(t_ns);
                Some(Fire {
                    edge: TriggerEdge::Fall,
                    score,
                })
            }
        }
    }
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_owned()
    } else {
        format!("{a}.{b}")
    }
}
