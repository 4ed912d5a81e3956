//! A Python stage behind the server: `GET /api/v1/plugins` lists it with the params schema and
//! commands (with their args schemas) its worker described, so the UI renders its controls
//! like a Rust stage's; its params and commands go through the worker, and args that fail the
//! declared schema answer `bad_args` naming the arg.
//!
//! The interpreter is `FRAMEBUS_TEST_PYTHON` (set by `scripts/test.sh` to a venv with the SDK
//! installed), else `python3` (which then needs `pip install ./python`).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const STAGE: &str = r#"
import framebus as fb
from dataclasses import dataclass
from typing import Literal


@dataclass
class Params:
    threshold: int = fb.param(128, min=0, max=255, description="bright level")
    invert: bool = False


@dataclass
class AimArgs:
    corners: int = fb.param(4, min=3, max=8, description="corners to find")
    mode: Literal["fast", "fine"] = "fast"


class Aim(fb.Stage):
    """Counts bright pixels; `aim` echoes its args."""

    id = "py_aim"
    Params = Params

    def process(self, frame, ctx):
        ctx.signal("bright", float((frame >= self.params.threshold).mean()))

    @fb.command("aim", description="Aims", args_schema=AimArgs)
    def aim(self, args):
        return {"corners": args.corners, "mode": args.mode}
"#;

fn python() -> String {
    std::env::var("FRAMEBUS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

async fn send(
    method: reqwest::Method,
    server: &TestServer,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .request(method, server.url(path))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_lists_a_python_stage_with_its_schemas_and_commands() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aim_stage.py"), STAGE).unwrap();
    let toml = format!(
        r#"
        [[sources]]
        id = "camera_0"
        kind = "synthetic_rider"
        params = {{ width = 64, height = 48, fps = 30 }}
        [[stages]]
        plugin = "py_aim"
        isolation = "process"
        python = "{}"
        module = "aim_stage"
        "#,
        python()
    );
    let server = start_in(&toml, dir.path()).await;
    let before = framebus_testkit::process::children();
    assert_eq!(before.len(), 1, "one worker: {before:?}");

    let (s, plugins) = send(
        reqwest::Method::GET,
        &server,
        "/api/v1/plugins",
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let stages = plugins["stages"].as_array().unwrap();
    let aim = stages
        .iter()
        .find(|m| m["id"] == "py_aim")
        .expect("the Python stage is listed");
    // Listed once, beside the registered Rust stages.
    assert_eq!(stages.iter().filter(|m| m["id"] == "py_aim").count(), 1);
    assert!(stages.iter().any(|m| m["id"] == "blob_detection"));
    assert_eq!(
        aim["description"],
        "Counts bright pixels; `aim` echoes its args."
    );
    let props = &aim["params_schema"]["properties"];
    assert_eq!(props["threshold"]["type"], "integer");
    assert_eq!(
        (
            props["threshold"]["minimum"].as_u64(),
            props["threshold"]["maximum"].as_u64()
        ),
        (Some(0), Some(255))
    );
    assert_eq!(props["threshold"]["description"], "bright level");
    assert_eq!(props["invert"]["type"], "boolean");
    let names: Vec<&str> = aim["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["set_params", "get_params", "reset", "aim"]);
    let cmd = &aim["commands"][3];
    assert_eq!(cmd["description"], "Aims");
    assert_eq!(cmd["args_schema"]["properties"]["corners"]["maximum"], 8);
    assert_eq!(
        cmd["args_schema"]["properties"]["mode"]["enum"],
        json!(["fast", "fine"])
    );
    // The generic set_params command carries the params schema, as for a Rust stage.
    assert_eq!(
        aim["commands"][0]["args_schema"]["properties"]["threshold"]["maximum"],
        255
    );

    let (s, inst) = send(
        reqwest::Method::GET,
        &server,
        "/api/v1/plugins/py_aim",
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inst["manifest"]["id"], "py_aim", "{inst}");
    assert_eq!(inst["params"]["threshold"], 128);

    // Params and commands go through the worker; bad ones name the field and change nothing.
    let (s, e) = send(
        reqwest::Method::PUT,
        &server,
        "/api/v1/plugins/py_aim/params",
        json!({"threshold": 300}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_args")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("`threshold`: 300 is above the maximum 255"),
        "{e}"
    );
    let (s, e) = send(
        reqwest::Method::POST,
        &server,
        "/api/v1/plugins/py_aim/commands/aim",
        json!({"corners": 9}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_args")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("`corners`: 9 is above the maximum 8"),
        "{e}"
    );
    let (s, e) = send(
        reqwest::Method::POST,
        &server,
        "/api/v1/plugins/py_aim/commands/aim",
        json!({"mode": "slow"}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_args")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("`mode`"), "{e}");
    let (s, ack) = send(
        reqwest::Method::POST,
        &server,
        "/api/v1/plugins/py_aim/commands/aim",
        json!({"corners": 5, "mode": "fine"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    assert_eq!(ack["result"], json!({"corners": 5, "mode": "fine"}));
    let (_, got) = send(
        reqwest::Method::GET,
        &server,
        "/api/v1/plugins/py_aim/params",
        Value::Null,
    )
    .await;
    assert_eq!(
        got["result"]["threshold"], 128,
        "the refused set_params changed nothing"
    );

    server.stop().await;
}
