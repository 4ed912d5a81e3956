//! Runtime behaviour: edges, commands, recording lock, failures, ordering.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use framebus_core::prelude::*;
use framebus_core::protocol::ErrorCode;
use framebus_core::runtime::Runtime;

#[test]
fn block_edge_loses_no_frame_over_10000() {
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "block", capacity = 4 }
        params = { frames = 10000 }
        [[stages]]
        plugin = "test_probe"
        "#,
        &c,
    );
    let status = || rt.status();
    assert!(wait_until(|| rt.finished()));
    let s = status();
    assert_eq!(s.sources[0].processed, 10_000);
    assert_eq!(s.sources[0].dropped, 0);
    let snaps = c.take();
    let ids: Vec<u64> = snaps
        .iter()
        .map(|s| s["frame_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=10_000).collect::<Vec<_>>());
    assert_eq!(
        snaps.last().unwrap()["results"]["test_probe"]["frames"],
        10_000
    );
    rt.shutdown();
}

/// A stage that blocks on its first frame until released, to make a slow consumer.
mod gate {
    use super::*;
    use std::sync::{Condvar, Mutex};

    pub(crate) static OPEN: Mutex<bool> = Mutex::new(false);
    pub(crate) static CV: Condvar = Condvar::new();
    pub(crate) static ENTERED: AtomicBool = AtomicBool::new(false);

    #[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
    #[serde(default, deny_unknown_fields)]
    pub(crate) struct GateParams {}

    pub(crate) struct Gate;
    impl Stage for Gate {
        type Params = GateParams;
        const INFO: StageInfo = StageInfo {
            id: "test_gate",
            version: "0.1.0",
            description: "blocks until opened",
            namespace: None,
            commands: &[],
        };
        fn new(_: GateParams, _: &StageInit) -> Result<Self> {
            Ok(Self)
        }
        fn process(&mut self, _: &mut FrameCtx<'_>) -> Result<Flow> {
            ENTERED.store(true, Ordering::SeqCst);
            let mut open = OPEN.lock().unwrap();
            while !*open {
                open = CV.wait(open).unwrap();
            }
            Ok(Flow::Continue)
        }
    }
    framebus_core::register_stage!(Gate);
}

#[test]
fn latest_edge_drops_and_counts_under_a_slow_stage() {
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "latest" }
        params = { frames = 100 }
        [[stages]]
        plugin = "test_gate"
        "#,
        &c,
    );
    // Frame 1 is held inside the stage while the source produces the other 99.
    assert!(wait_until(|| gate::ENTERED.load(Ordering::SeqCst)));
    assert!(wait_until(|| !rt.status().sources[0].capturing));
    *gate::OPEN.lock().unwrap() = true;
    gate::CV.notify_all();
    assert!(wait_until(|| rt.finished()));
    let s = rt.status();
    // 1 in the stage, 98 overwritten in the slot, the newest processed after.
    // The stage holds one frame while the source produces the rest: every other frame but
    // the newest is overwritten in the slot and counted. (Whether frame 1 reaches the stage
    // before frame 2 arrives depends on thread start-up, so both outcomes are accepted.)
    assert_eq!(s.sources[0].sent, 100);
    assert_eq!(s.sources[0].dropped + s.sources[0].processed, 100);
    assert!(s.sources[0].dropped >= 98, "{s:?}");
    let snaps = c.take();
    let ids: Vec<u64> = snaps
        .iter()
        .map(|s| s["frame_id"].as_u64().unwrap())
        .collect();
    assert_eq!(*ids.last().unwrap(), 100, "the newest frame wins");
    assert_eq!(
        snaps.last().unwrap()["dropped"]["camera_0"],
        s.sources[0].dropped
    );
    rt.shutdown();
}

const PAUSED_PROBE: &str = r#"
    [runtime]
    initial_state = "paused"
    [[sources]]
    id = "camera_0"
    kind = "test_counter"
    edge = { policy = "block", capacity = 2 }
    params = { frames = 1000000 }
    [[stages]]
    plugin = "test_probe"
    "#;

#[test]
fn recording_lock_unknown_target_and_bad_args_change_nothing() {
    let c = Collect::new();
    let rt = start(PAUSED_PROBE, &c);
    let get = |rt: &Runtime| {
        request(rt, "test_probe", "get_params", json!({}))
            .unwrap()
            .result
    };
    let before = get(&rt);

    let e = request(&rt, "test_prob", "set_params", json!({"level": 1})).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownTarget);
    assert_eq!(e.id, Some(json!(1)));
    assert!(
        e.message.contains("did you mean `test_probe`"),
        "{}",
        e.message
    );

    for bad in [
        json!({"level": "x"}),
        json!({"level": 300}),
        json!({"nope": 1}),
        json!([1]),
    ] {
        let e = request(&rt, "test_probe", "set_params", bad.clone()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgs, "{bad}");
    }
    let e = request(&rt, "test_probe", "frobnicate", json!({})).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownCommand);
    let e = request(&rt, "pipeline", "frobnicate", json!({})).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownCommand);
    assert_eq!(get(&rt), before);

    request(&rt, "pipeline", "record", json!({})).unwrap();
    assert_eq!(rt.state(), framebus_core::protocol::RunState::Recording);
    let e = request(&rt, "test_probe", "set_params", json!({"level": 1})).unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy);
    let e = request(&rt, "test_probe", "poke_locked", json!({})).unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy);
    assert_eq!(
        request(&rt, "test_probe", "poke", json!({}))
            .unwrap()
            .result,
        json!(42)
    );
    assert_eq!(get(&rt), before);

    request(&rt, "pipeline", "stop_recording", json!({})).unwrap();
    let ack = request(&rt, "test_probe", "set_params", json!({"level": 99})).unwrap();
    assert_eq!(ack.result["level"], 99);
    assert_eq!(ack.id, Some(json!(1)));
    assert_eq!(get(&rt)["level"], 99);
    rt.shutdown();
}

#[test]
fn seed_001_update_param_alias_goes_through_the_same_path() {
    let c = Collect::new();
    let rt = start(PAUSED_PROBE, &c);
    let msg = framebus_core::protocol::ClientMessage::parse(
        r#"{"stage_id":"test_probe","cmd":"UpdateParam","key":"level","value":33}"#,
    )
    .unwrap();
    let framebus_core::protocol::ClientMessage::Command(cmd) = msg else {
        panic!()
    };
    let ack = rt.bus().request_blocking(cmd, T).unwrap();
    assert_eq!(ack.result["level"], 33);
    rt.shutdown();
}

#[test]
fn a_command_sent_during_a_frame_applies_from_the_next_frame() {
    let c = Collect::new();
    let rt = start(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "block", capacity = 2 }
        params = { frames = 10 }
        [[stages]]
        plugin = "test_sender"
        params = { at_frame = 5, target = "test_probe", to_level = 77 }
        [[stages]]
        plugin = "test_probe"
        "#,
        &c,
    );
    assert!(wait_until(|| rt.finished()));
    let levels: Vec<u64> = c
        .take()
        .iter()
        .map(|s| s["results"]["test_probe"]["level"].as_u64().unwrap())
        .collect();
    // Sent while frame 5 was in flight (before the probe ran): frame 5 keeps the old value.
    assert_eq!(levels, vec![10, 10, 10, 10, 10, 77, 77, 77, 77, 77]);
    rt.shutdown();
}

#[test]
fn a_panicking_stage_is_disabled_and_the_others_go_on() {
    let c = Collect::new();
    let rt = start(
        r#"
        [runtime]
        max_consecutive_failures = 3
        [[sources]]
        id = "camera_0"
        kind = "test_counter"
        edge = { policy = "block", capacity = 2 }
        params = { frames = 8 }
        [[stages]]
        id = "bomb"
        plugin = "test_probe"
        params = { panic = true }
        [[stages]]
        id = "steady"
        plugin = "test_probe"
        "#,
        &c,
    );
    assert!(wait_until(|| rt.finished()));
    let snaps = c.take();
    assert_eq!(snaps.len(), 8);
    for (i, s) in snaps.iter().enumerate() {
        let frame = i as u64 + 1;
        assert_eq!(
            s["results"]["steady"]["frames"], frame,
            "the other stage keeps producing"
        );
        let err = &s["errors"][0];
        assert_eq!(err["stage"], "bomb");
        assert!(err["message"].as_str().unwrap().contains("probe exploded"));
        assert_eq!(err["disabled"], frame >= 3);
        let bomb = &s["active_plugins"][0];
        assert_eq!(bomb["enabled"], frame < 3);
    }
    let notes: Vec<&str> = snaps
        .iter()
        .flat_map(|s| s["notifications"].as_array().unwrap())
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(notes, vec!["stage failed", "stage disabled"]);
    let st = rt.status();
    assert_eq!(st.sources[0].stages[0].failures, 3);
    assert!(!st.sources[0].stages[0].enabled);
    rt.shutdown();
}

#[test]
fn pipeline_commands_reenable_and_pause() {
    let c = Collect::new();
    let rt = start(PAUSED_PROBE, &c);
    let r = request(
        &rt,
        "pipeline",
        "disable_stage",
        json!({"stage": "test_probe"}),
    )
    .unwrap();
    assert_eq!(r.result["enabled"], false);
    let r = request(
        &rt,
        "pipeline",
        "enable_stage",
        json!({"stage": "test_probe"}),
    )
    .unwrap();
    assert_eq!(r.result["enabled"], true);
    let e = request(&rt, "pipeline", "enable_stage", json!({"stage": "ghost"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    let e = request(&rt, "pipeline", "set_state", json!({"state": "flying"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgs);
    // Paused: nothing processed; running: frames flow.
    assert_eq!(c.count.load(Ordering::SeqCst), 0);
    request(&rt, "pipeline", "run", json!({})).unwrap();
    assert!(wait_until(|| c.count.load(Ordering::SeqCst) >= 5));
    rt.shutdown();
}
