//! Conditions compiled from [`CondConfig`] and evaluated on one observation (a frame's
//! signals, points and results, and for cross-source conditions the other sources' latest
//! signals on the [`SignalBoard`]). Signal and point tests read the reused tables, and
//! `field` and `count` tests walk the named result with a probe serializer
//! ([`super::probe`]); none allocates (only `equals` with an array or object compares JSON).

use std::fmt::Write as _;

use serde_json::Value;

use crate::fusion::board::SignalBoard;
use crate::fusion::config::{CondConfig, parse_duration};
use crate::fusion::probe::{Leaf, probe};
use crate::results::{NamedPoint, ResultStore, Signal};

/// How far another source's observation may be from the evaluated one by default.
const DEFAULT_MAX_AGE_NS: u64 = 1_000_000_000;

/// What one frame offers to the rules.
pub struct FrameView<'a> {
    /// Signals published this frame.
    pub signals: &'a [Signal],
    /// Named points published this frame.
    pub points: &'a [NamedPoint],
    /// Stage results (for `field` and `count`).
    pub store: Option<&'a ResultStore>,
    /// The observation's time (cross-source values are judged by their distance to it).
    pub t_ns: u64,
    /// Other sources' latest signals, when a rule reads them.
    pub board: Option<&'a SignalBoard>,
}

impl FrameView<'_> {
    /// The latest value of signal `name`.
    pub fn signal(&self, name: &str) -> Option<f64> {
        self.signals
            .iter()
            .rev()
            .find(|s| s.name == name)
            .map(|s| s.value)
    }

    /// Signal `name` of source `source` from the board, if its observation is within
    /// `max_age_ns` of this one.
    pub fn remote(&self, source: &str, name: &str, max_age_ns: u64) -> Option<f64> {
        let (v, t) = self.board?.get(source, name)?;
        (t.abs_diff(self.t_ns) <= max_age_ns).then_some(v)
    }

    fn point(&self, name: &str) -> Option<&NamedPoint> {
        self.points.iter().rev().find(|p| p.name == name)
    }

    /// What result `ns` holds at `path`, without building its JSON.
    fn result_leaf(&self, ns: &str, path: &[String], want_str: Option<&str>) -> Leaf {
        match self.store.and_then(|s| s.value(ns)) {
            Some(v) => probe(v, path, want_str),
            None => Leaf::Missing,
        }
    }

    fn result_value(&self, ns: &str, path: &[String]) -> Option<Value> {
        let mut v = self.store?.to_json(ns)?;
        for seg in path {
            v = match v {
                Value::Object(mut m) => m.remove(seg)?,
                Value::Array(mut a) => {
                    let i: usize = seg.parse().ok()?;
                    if i < a.len() {
                        a.swap_remove(i)
                    } else {
                        return None;
                    }
                }
                _ => return None,
            };
        }
        Some(v)
    }
}

#[derive(Debug, Clone)]
enum Test {
    Above(f64),
    Below(f64),
    Between(f64, f64),
    Equals(Value),
}

impl Test {
    fn holds(&self, v: &Value) -> bool {
        let n = v.as_f64();
        match self {
            Test::Above(t) => n.is_some_and(|n| n > *t),
            Test::Below(t) => n.is_some_and(|n| n < *t),
            Test::Between(lo, hi) => n.is_some_and(|n| n >= *lo && n <= *hi),
            Test::Equals(e) => match (e.as_f64(), n) {
                (Some(a), Some(b)) => a == b,
                _ => e == v,
            },
        }
    }
    /// On a probed leaf; `None` when the test needs the JSON (`equals` an array or object).
    fn holds_leaf(&self, leaf: Leaf) -> Option<bool> {
        Some(match (self, leaf) {
            (Test::Equals(e), _) if e.is_array() || e.is_object() => return None,
            (Test::Equals(e), Leaf::Str(eq)) => e.is_string() && eq,
            (Test::Equals(e), Leaf::Bool(b)) => e.as_bool() == Some(b),
            (Test::Equals(e), Leaf::Null) => e.is_null(),
            (_, Leaf::Num(n)) => self.holds_num(n),
            _ => false,
        })
    }
    fn holds_num(&self, n: f64) -> bool {
        match self {
            Test::Above(t) => n > *t,
            Test::Below(t) => n < *t,
            Test::Between(lo, hi) => n >= *lo && n <= *hi,
            Test::Equals(e) => e.as_f64() == Some(n),
        }
    }
    fn describe(&self, out: &mut String) {
        let _ = match self {
            Test::Above(t) => write!(out, " > {t}"),
            Test::Below(t) => write!(out, " < {t}"),
            Test::Between(lo, hi) => write!(out, " in [{lo}, {hi}]"),
            Test::Equals(e) => write!(out, " == {e}"),
        };
    }
}

#[derive(Debug, Clone)]
enum Subject {
    Signal(String),
    /// A signal of another source: (source, signal, max age in ns).
    Remote(String, String, u64),
    Field(String, Vec<String>),
    Count(String, Vec<String>),
}

#[derive(Debug, Clone)]
enum PointTest {
    Present,
    Inside(Vec<[f64; 2]>),
    Higher(String),
    Lower(String),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Cond {
    /// A subject and its tests.
    Value(SubjectTests),
    /// A named point test.
    Point(PointCond),
    /// Every one.
    All(Vec<Cond>),
    /// At least one.
    Any(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
}

/// A subject (signal, field, count) with its tests.
#[derive(Debug, Clone)]
pub struct SubjectTests {
    subject: Subject,
    tests: Vec<Test>,
}

/// A point with its test.
#[derive(Debug, Clone)]
pub struct PointCond {
    name: String,
    test: PointTest,
}

fn split_path(s: &str) -> Result<(String, Vec<String>), String> {
    let mut it = s.split('.');
    let ns = it.next().unwrap_or_default();
    if ns.is_empty() {
        return Err(format!("`{s}` needs the form `namespace.path`"));
    }
    let path: Vec<String> = it.map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!("`{s}` has an empty path segment"));
    }
    Ok((ns.to_owned(), path))
}

/// Compiles a condition; errors are (field path relative to the condition, message).
pub fn compile(c: &CondConfig) -> Result<Cond, (String, String)> {
    let subjects = [
        c.signal.is_some(),
        c.field.is_some(),
        c.count.is_some(),
        c.point.is_some(),
        c.all.is_some(),
        c.any.is_some(),
        c.not.is_some(),
    ];
    let n = subjects.iter().filter(|b| **b).count();
    if n != 1 {
        return Err((
            String::new(),
            format!(
                "a condition needs exactly one of `signal`, `field`, `count`, `point`, `all`, \
                 `any`, `not` (found {n})"
            ),
        ));
    }
    let list = |v: &Vec<CondConfig>, key: &str| -> Result<Vec<Cond>, (String, String)> {
        if v.is_empty() {
            return Err((key.to_owned(), format!("`{key}` is empty")));
        }
        v.iter()
            .enumerate()
            .map(|(i, c)| compile(c).map_err(|(p, m)| (join(&format!("{key}[{i}]"), &p), m)))
            .collect()
    };
    if let Some(v) = &c.all {
        return list(v, "all").map(Cond::All);
    }
    if let Some(v) = &c.any {
        return list(v, "any").map(Cond::Any);
    }
    if let Some(v) = &c.not {
        return compile(v)
            .map(|c| Cond::Not(Box::new(c)))
            .map_err(|(p, m)| (join("not", &p), m));
    }
    let mut tests = Vec::new();
    if let Some(t) = c.above {
        tests.push(Test::Above(t));
    }
    if let Some(t) = c.below {
        tests.push(Test::Below(t));
    }
    if let Some([lo, hi]) = c.between {
        if lo > hi {
            return Err(("between".into(), format!("[{lo}, {hi}] is empty (lo > hi)")));
        }
        tests.push(Test::Between(lo, hi));
    }
    if let Some(e) = &c.equals {
        tests.push(Test::Equals(e.clone()));
    }
    if c.source.is_some() && c.signal.is_none() {
        return Err((
            "source".into(),
            "`source` applies to a `signal` (another source's latest value)".into(),
        ));
    }
    if c.max_age.is_some() && c.source.is_none() {
        return Err(("max_age".into(), "`max_age` needs a `source`".into()));
    }
    if let Some(name) = &c.point {
        if !tests.is_empty() {
            return Err((
                "point".into(),
                "a point takes `inside`, `higher_than` or `lower_than`, not a number test".into(),
            ));
        }
        let kinds = [
            c.inside.is_some(),
            c.higher_than.is_some(),
            c.lower_than.is_some(),
        ];
        if kinds.iter().filter(|b| **b).count() > 1 {
            return Err(("point".into(), "give one point test".into()));
        }
        let test = if let Some(z) = &c.inside {
            if z.len() < 3 {
                return Err(("inside".into(), "a zone needs at least 3 vertices".into()));
            }
            PointTest::Inside(z.clone())
        } else if let Some(o) = &c.higher_than {
            PointTest::Higher(o.clone())
        } else if let Some(o) = &c.lower_than {
            PointTest::Lower(o.clone())
        } else {
            PointTest::Present
        };
        return Ok(Cond::Point(PointCond {
            name: name.clone(),
            test,
        }));
    }
    if c.inside.is_some() || c.higher_than.is_some() || c.lower_than.is_some() {
        return Err((
            String::new(),
            "`inside`, `higher_than` and `lower_than` apply to a `point`".into(),
        ));
    }
    if tests.is_empty() {
        return Err((
            String::new(),
            "give a test: `above`, `below`, `between` or `equals`".into(),
        ));
    }
    let subject = if let Some(s) = &c.signal {
        if s.is_empty() {
            return Err(("signal".into(), "empty signal name".into()));
        }
        match &c.source {
            Some(src) if src.is_empty() => {
                return Err(("source".into(), "empty source id".into()));
            }
            Some(src) => {
                let age = match &c.max_age {
                    Some(a) => parse_duration(a).map_err(|m| ("max_age".to_owned(), m))?,
                    None => DEFAULT_MAX_AGE_NS,
                };
                Subject::Remote(src.clone(), s.clone(), age)
            }
            None => Subject::Signal(s.clone()),
        }
    } else if let Some(f) = &c.field {
        let (ns, p) = split_path(f).map_err(|m| ("field".to_owned(), m))?;
        Subject::Field(ns, p)
    } else {
        let f = c.count.as_deref().unwrap_or_default();
        let (ns, p) = split_path(f).map_err(|m| ("count".to_owned(), m))?;
        Subject::Count(ns, p)
    };
    Ok(Cond::Value(SubjectTests { subject, tests }))
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_owned()
    } else {
        format!("{a}.{b}")
    }
}

fn inside(p: (f64, f64), zone: &[[f64; 2]]) -> bool {
    let mut c = false;
    let mut j = zone.len() - 1;
    for i in 0..zone.len() {
        let (xi, yi) = (zone[i][0], zone[i][1]);
        let (xj, yj) = (zone[j][0], zone[j][1]);
        if (yi > p.1) != (yj > p.1) && p.0 < (xj - xi) * (p.1 - yi) / (yj - yi) + xi {
            c = !c;
        }
        j = i;
    }
    c
}

impl Cond {
    /// The `(source, signal)` pairs of its cross-source conditions, added to `out`.
    pub fn remote_signals(&self, out: &mut Vec<(String, String)>) {
        match self {
            Cond::Value(SubjectTests {
                subject: Subject::Remote(src, name, _),
                ..
            }) => {
                if !out.iter().any(|(s, n)| s == src && n == name) {
                    out.push((src.clone(), name.clone()));
                }
            }
            Cond::Value(_) | Cond::Point(_) => {}
            Cond::All(v) | Cond::Any(v) => v.iter().for_each(|c| c.remote_signals(out)),
            Cond::Not(c) => c.remote_signals(out),
        }
    }

    /// Whether it holds, and a score 0..1 (share of its parts that hold).
    pub fn eval(&self, f: &FrameView<'_>) -> (bool, f64) {
        match self {
            Cond::Value(st) => {
                let ok = match &st.subject {
                    Subject::Signal(name) => f
                        .signal(name)
                        .is_some_and(|v| st.tests.iter().all(|t| t.holds_num(v))),
                    Subject::Remote(src, name, age) => f
                        .remote(src, name, *age)
                        .is_some_and(|v| st.tests.iter().all(|t| t.holds_num(v))),
                    Subject::Field(ns, p) => {
                        let want = st.tests.iter().find_map(|t| match t {
                            Test::Equals(Value::String(w)) => Some(w.as_str()),
                            _ => None,
                        });
                        let leaf = f.result_leaf(ns, p, want);
                        leaf != Leaf::Missing
                            && st.tests.iter().all(|t| {
                                t.holds_leaf(leaf).unwrap_or_else(|| {
                                    f.result_value(ns, p).is_some_and(|v| t.holds(&v))
                                })
                            })
                    }
                    Subject::Count(ns, p) => match f.result_leaf(ns, p, None) {
                        Leaf::Missing => false,
                        leaf => {
                            let n = match leaf {
                                Leaf::Len(n) => n as f64,
                                _ => 0.0,
                            };
                            st.tests.iter().all(|t| t.holds_num(n))
                        }
                    },
                };
                (ok, if ok { 1.0 } else { 0.0 })
            }
            Cond::Point(pc) => {
                let ok = f.point(&pc.name).is_some_and(|p| match &pc.test {
                    PointTest::Present => true,
                    PointTest::Inside(z) => inside((p.x, p.y), z),
                    PointTest::Higher(o) => f.point(o).is_some_and(|q| p.y < q.y),
                    PointTest::Lower(o) => f.point(o).is_some_and(|q| p.y > q.y),
                });
                (ok, if ok { 1.0 } else { 0.0 })
            }
            Cond::All(v) => {
                let mut all = true;
                let mut sum = 0.0;
                for c in v {
                    let (ok, s) = c.eval(f);
                    all &= ok;
                    sum += s;
                }
                (all, sum / v.len() as f64)
            }
            Cond::Any(v) => {
                let mut any = false;
                let mut best: f64 = 0.0;
                for c in v {
                    let (ok, s) = c.eval(f);
                    any |= ok;
                    best = best.max(s);
                }
                (any, best)
            }
            Cond::Not(c) => {
                let (ok, s) = c.eval(f);
                (!ok, 1.0 - s)
            }
        }
    }

    /// A description with the current values (`knee_angle=72.5 < 80`), for reasons.
    pub fn describe(&self, f: &FrameView<'_>, out: &mut String) {
        match self {
            Cond::Value(st) => {
                match &st.subject {
                    Subject::Signal(n) => {
                        let _ = match f.signal(n) {
                            Some(v) => write!(out, "{n}={v:.3}"),
                            None => write!(out, "{n}=none"),
                        };
                    }
                    Subject::Remote(src, n, age) => {
                        let _ = match f.remote(src, n, *age) {
                            Some(v) => write!(out, "{src}:{n}={v:.3}"),
                            None => write!(out, "{src}:{n}=none"),
                        };
                    }
                    Subject::Field(ns, p) | Subject::Count(ns, p) => {
                        let count = matches!(st.subject, Subject::Count(..));
                        let v = f.result_value(ns, p);
                        let shown = match (count, v) {
                            (true, Some(v)) => v.as_array().map_or(0, Vec::len).to_string(),
                            (false, Some(v)) => v.to_string(),
                            (_, None) => "none".into(),
                        };
                        let what = if count { "count " } else { "" };
                        let _ = write!(out, "{what}{ns}.{}={shown}", p.join("."));
                    }
                }
                for t in &st.tests {
                    t.describe(out);
                }
            }
            Cond::Point(pc) => {
                let _ = match f.point(&pc.name) {
                    Some(p) => write!(out, "{}=({:.1},{:.1})", pc.name, p.x, p.y),
                    None => write!(out, "{}=none", pc.name),
                };
                let _ = match &pc.test {
                    PointTest::Present => Ok(()),
                    PointTest::Inside(_) => write!(out, " inside zone"),
                    PointTest::Higher(o) => write!(out, " above {o}"),
                    PointTest::Lower(o) => write!(out, " below {o}"),
                };
            }
            Cond::All(v) | Cond::Any(v) => {
                let sep = if matches!(self, Cond::All(_)) {
                    " and "
                } else {
                    " or "
                };
                out.push('(');
                for (i, c) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    c.describe(f, out);
                }
                out.push(')');
            }
            Cond::Not(c) => {
                out.push_str("not ");
                c.describe(f, out);
            }
        }
    }
}
