//! The four stages are registered, and their params schemas carry what the UI renders.

use framebus_core::registry;
use serde_json::Value;

#[test]
fn stages_are_registered_with_documented_params() {
    framebus_stages::link();
    for (id, namespace) in [
        ("blob_detection", None),
        ("camera_control", Some("camera_control")),
        ("marker_manager", Some("marker_manager")),
        ("geometry_manager", Some("geometry")),
        ("trajectory", Some("trajectory")),
        ("table_detection", Some("table_detection")),
        ("ball_detection", Some("ball_detection")),
        ("cue_detection", Some("cue_detection")),
        ("ball_tracking", Some("ball_tracking")),
        ("game_state", Some("game_state")),
    ] {
        let reg = registry::stage(id).unwrap_or_else(|| panic!("{id} is not registered"));
        let m = reg.manifest();
        assert_eq!(
            (m.version.as_str(), m.namespace.as_deref()),
            ("0.1.0", namespace)
        );
        let schema = &m.params_schema;
        let props = schema["properties"].as_object().unwrap();
        for (name, p) in props {
            assert!(
                p.get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| !d.is_empty()),
                "{id}.{name} has no description"
            );
            if matches!(
                p.get("type").and_then(Value::as_str),
                Some("number" | "integer")
            ) {
                assert!(
                    p.get("minimum").is_some() && p.get("maximum").is_some(),
                    "{id}.{name} has no range"
                );
            }
        }
        // Defaults are valid params.
        reg.check_params(&serde_json::json!({})).unwrap();
        assert!(reg.check_params(&serde_json::json!({"nope": 1})).is_err());
    }
    let blob = registry::stage("blob_detection").unwrap().manifest();
    assert_eq!(
        blob.params_schema["properties"]["threshold"]["maximum"],
        255.0
    );
    let geo = registry::stage("geometry_manager").unwrap().manifest();
    let names: Vec<&str> = geo.commands.iter().map(|c| c.name.as_str()).collect();
    for c in [
        "cmd_add_tool",
        "cmd_remove_tool",
        "cmd_update_tool",
        "clear_window",
    ] {
        assert!(names.contains(&c), "{names:?}");
    }
}
