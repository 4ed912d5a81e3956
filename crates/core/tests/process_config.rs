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
    let e = parse("plugin = \"test_probe\"\nisolation = \"process\"\nworker = { slot_bytes = 8 }")
        .unwrap_err();
    assert!(
        e.contains("stages[0].worker.slot_bytes") && e.contains("slots of 8 bytes"),
        "{e}"
    );
    let c = parse("plugin = \"test_probe\"\nisolation = \"process\"\nworker = { slot_bytes = 0 }");
    assert_eq!(c.unwrap().stages[0].worker.slot_bytes, 0);
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

fn python() -> String {
    std::env::var("FRAMEBUS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Starts a config whose one stage is the Python module `module` (written to a temp dir with
/// `code`); returns the error `Runtime::start` gives.
fn start_error(module: &str, code: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{module}.py")), code).unwrap();
    let c = parse(&format!(
        "plugin = \"py_cam\"\nisolation = \"process\"\nmodule = \"{module}\"\npython = \"{}\"",
        python()
    ))
    .unwrap();
    let options = RuntimeOptions {
        base_dir: dir.path().to_owned(),
        ..Default::default()
    };
    Runtime::start(&c, options)
        .err()
        .expect("refused")
        .to_string()
}

#[test]
fn a_python_module_that_raises_at_import_is_reported_with_its_traceback_tail() {
    let e = start_error(
        "cam_stage",
        "import sys\n\
         for i in range(3000):\n    print(f'noise line {i}', file=sys.stderr)\n\
         def load_calibration():\n    raise FileNotFoundError('calibration.json: no such file')\n\
         load_calibration()\n",
    );
    // Located, names the stage, and says why.
    assert!(
        e.contains("stages[0]") && e.contains("worker for py_cam"),
        "{e}"
    );
    assert!(e.contains("cannot import module `cam_stage`"), "{e}");
    // The traceback's last lines, from the worker's stderr: the function and the line.
    assert!(e.contains("its last output:"), "{e}");
    assert!(e.contains("in load_calibration"), "{e}");
    assert!(
        e.trim_end()
            .ends_with("FileNotFoundError: calibration.json: no such file"),
        "{e}"
    );
    // Bounded: the 3000 lines before it are not all quoted.
    assert!(
        !e.contains("noise line 0\n") && e.len() < 2500,
        "{} bytes: {e}",
        e.len()
    );
}

#[test]
fn a_worker_that_exits_while_starting_is_reported_with_its_exit_and_output() {
    let e = start_error(
        "exits",
        "import os, sys\nsys.stderr.write('no GPU found, giving up\\n')\nsys.stderr.flush()\nos._exit(3)\n",
    );
    assert!(
        e.contains("stages[0]") && e.contains("worker for py_cam"),
        "{e}"
    );
    assert!(e.contains("died while starting: exit code 3"), "{e}");
    assert!(e.contains("no GPU found, giving up"), "{e}");
}
