//! Cross-source conditions: a rule on one source reading another source's latest signal
//! through the signal board, within `max_age` of observation time; stale, missing or
//! never-published values do not hold. Stepped on observations with chosen times (no
//! threads, no clock).

mod common;

use std::sync::{Arc, Mutex};

use framebus_core::config::{Config, Format};
use framebus_core::fusion::{Effects, Fusion, FusionPlan};
use framebus_core::observer::{Observer, Observers};
use framebus_core::protocol::ServerMessage;
use framebus_core::results::ResultStore;

const CONFIG: &str = r#"
[[sources]]
id = "door"
kind = "test_counter"
[[sources]]
id = "hall"
kind = "test_counter"

[[rules]]
id = "both"
source = "hall"
when = { all = [ { signal = "people", above = 0.0 }, { source = "door", signal = "open", equals = 1.0, max_age = "0.5s" } ] }
"#;

#[derive(Default)]
struct Events(Mutex<Vec<(String, u64, String)>>);

impl Observer for Events {
    fn event(&self, msg: &ServerMessage) {
        if let ServerMessage::Trigger(r) = msg {
            self.0.lock().unwrap().push((
                r.trigger.rule.clone(),
                r.trigger.frame_id,
                r.reason.clone(),
            ));
        }
    }
}

/// Offers one observation with these signals to `fusion`.
fn observe(
    fusion: &mut Fusion,
    obs: &Observers,
    frame_id: u64,
    t_ms: u64,
    signals: &[(&str, f64)],
) {
    let mut store = ResultStore::new(Vec::<String>::new());
    for (name, value) in signals {
        let s = store.signals.push();
        s.name = (*name).to_owned();
        s.value = *value;
    }
    let fx = Effects {
        bus: None,
        observers: obs,
    };
    fusion.observe(frame_id, t_ms * 1_000_000, &mut store, &[], &fx);
}

#[test]
fn a_rule_reads_another_sources_latest_signal_within_max_age() {
    let config = Config::parse(CONFIG, Format::Toml, "rig.toml").unwrap();
    let plan = FusionPlan::new(&config, std::path::Path::new(".")).unwrap();
    let (mut door, mut hall) = (plan.for_source("door"), plan.for_source("hall"));
    let events = Arc::new(Events::default());
    let obs = Observers::new(vec![events.clone()]);
    let fired = |events: &Events| events.0.lock().unwrap().len();

    // The door never published: people in the hall alone do not fire.
    observe(&mut hall, &obs, 1, 0, &[("people", 2.0)]);
    assert_eq!(fired(&events), 0);
    // The door opens at 100 ms; the hall sees people at 300 ms: within 0.5 s, it fires.
    observe(&mut door, &obs, 1, 100, &[("open", 1.0)]);
    observe(&mut hall, &obs, 2, 300, &[("people", 0.0)]);
    observe(&mut hall, &obs, 3, 350, &[("people", 1.0)]);
    assert_eq!(fired(&events), 1);
    let (rule, frame, reason) = events.0.lock().unwrap()[0].clone();
    assert_eq!((rule.as_str(), frame), ("both", 3));
    assert!(reason.contains("door:open=1.000"), "{reason}");
    // The door's value goes stale (its last observation 700 ms before): the rule clears…
    observe(&mut hall, &obs, 4, 800, &[("people", 1.0)]);
    // …and a fresh `open` from the door lets it fire again on the hall's next observation.
    observe(&mut door, &obs, 2, 900, &[("open", 1.0)]);
    observe(&mut hall, &obs, 5, 950, &[("people", 1.0)]);
    assert_eq!(fired(&events), 2);
    // The door closes: its observation without `open = 1` keeps the rule from firing.
    observe(&mut hall, &obs, 6, 1000, &[("people", 0.0)]);
    observe(&mut door, &obs, 3, 1010, &[("open", 0.0)]);
    observe(&mut hall, &obs, 7, 1020, &[("people", 3.0)]);
    assert_eq!(fired(&events), 2);
    // The door's rules (none watch it) are untouched: its fusion has none.
    assert_eq!(door.phases().count(), 0);
}

#[test]
fn bad_cross_source_conditions_are_refused_with_located_errors() {
    let cases = [
        (
            "when = { all = [ { signal = \"k\", below = 1.0 }, { source = \"dor\", signal = \"open\", above = 0.5 } ] }",
            "rules[0].when.all[1].source",
            "no source `dor`",
        ),
        (
            "when = { field = \"a.b\", source = \"door\", above = 1.0 }",
            "rules[0].when",
            "`source` applies to a `signal`",
        ),
        (
            "when = { signal = \"k\", below = 1.0, max_age = \"1s\" }",
            "rules[0].when",
            "`max_age` needs a `source`",
        ),
        (
            "when = { signal = \"k\", source = \"door\", below = 1.0, max_age = \"soon\" }",
            "rules[0].when.max_age",
            "not a duration",
        ),
    ];
    for (body, field, msg) in cases {
        let text = format!(
            "[[sources]]\nid = \"door\"\nkind = \"test_counter\"\n[[rules]]\nid = \"r\"\n{body}\n"
        );
        let e = Config::parse(&text, Format::Toml, "rig.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{field}: {e}");
        assert!(e.contains(msg), "{msg}: {e}");
        assert!(
            e.contains("did you mean `door`") || !msg.contains("dor`"),
            "{e}"
        );
    }
}
