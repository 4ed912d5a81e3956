//! Config of process-isolated stages: what is refused before anything starts, and a worker
//! program that cannot be started is a located error, not a crash.

mod common;

use framebus_core::config::{Config, Format, Isolation};
use framebus_core::runtime::{Runtime, RuntimeOptions};

const SOURCE: &str = r#"
[[sources]]
id = "camera_0"
kind = "test_counter"
params = { frames = 10 }
"#;

fn parse(stage: &str) -> Result<Config, String> {
    Config::parse(
        &format!("{SOURCE}\n[[stages]]\n{stage}"),
        Format::Toml,
        "x.toml",
    )
    .map_err(|e| e.to_string())
}

#[test]
fn isolation_parses_and_defaults_to_inline() {
    let c = parse(r#"plugin = "test_probe""#).unwrap();
    assert_eq!(c.stages[0].isolation, Isolation::Inline);
    let c = parse("plugin = \"test_probe\"\nisolation = \"process\"\ndeadline_ms = 50").unwrap();
    assert_eq!(c.stages[0].isolation, Isolation::Process);
    assert_eq!(c.stages[0].deadline_ms, Some(50));
}

#[test]
fn bad_isolation_config_is_refused_with_its_location() {
    let e = parse("plugin = \"test_probe\"\nisolation = \"vm\"").unwrap_err();
    assert!(e.contains("x.toml:") && e.contains("vm"), "{e}");
    let e = parse("plugin = \"py_x\"\nmodule = \"m\"").unwrap_err();
    assert!(
        e.contains("stages[0].module") && e.contains("isolation = \"process\""),
        "{e}"
    );
    let e = parse("plugin = \"py_x\"\nisolation = \"process\"\npython = \"python3\"").unwrap_err();
    assert!(e.contains("needs `module`"), "{e}");
    let e = parse("plugin = \"test_probe\"\nisolation = \"process\"\ndeadline_ms = 0").unwrap_err();
    assert!(e.contains("deadline_ms"), "{e}");
    let e = parse("plugin = \"test_probe\"\nworker = { backof_ms = 1 }").unwrap_err();
    assert!(e.contains("backof_ms"), "{e}");
}

#[test]
fn a_worker_that_cannot_start_is_a_located_error() {
    let c = parse(
        "plugin = \"py_x\"\nisolation = \"process\"\nmodule = \"m\"\npython = \"/nonexistent/python\"",
    )
    .unwrap();
    let e = Runtime::start(&c, RuntimeOptions::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("stages[0]") && e.contains("/nonexistent/python"),
        "{e}"
    );
}
