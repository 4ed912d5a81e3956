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

async fn request(
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

async fn get(server: &TestServer, path: &str) -> (StatusCode, Value) {
    request(reqwest::Method::GET, server, path, Value::Null).await
}

/// Sends `body` and checks it is refused with `bad_args` and a message holding `names`.
async fn assert_bad_args(
    method: reqwest::Method,
    server: &TestServer,
    path: &str,
    body: Value,
    names: &str,
) {
    let (s, e) = request(method, server, path, body.clone()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_args")),
        "{body} → {e}"
    );
    assert!(
        e["message"].as_str().unwrap_or_default().contains(names),
        "{body} → {e}"
    );
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

    let (s, plugins) = get(&server, "/api/v1/plugins").await;
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

    let (s, inst) = get(&server, "/api/v1/plugins/py_aim").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inst["manifest"]["id"], "py_aim", "{inst}");
    assert_eq!(inst["params"]["threshold"], 128);

    // Params and commands go through the worker; bad ones name the field and change nothing.
    let aim_cmd = "/api/v1/plugins/py_aim/commands/aim";
    for (method, path, body, names) in [
        (
            reqwest::Method::PUT,
            "/api/v1/plugins/py_aim/params",
            json!({"threshold": 300}),
            "`threshold`: 300 is above the maximum 255",
        ),
        (
            reqwest::Method::POST,
            aim_cmd,
            json!({"corners": 9}),
            "`corners`: 9 is above the maximum 8",
        ),
        (
            reqwest::Method::POST,
            aim_cmd,
            json!({"mode": "slow"}),
            "`mode`",
        ),
    ] {
        assert_bad_args(method, &server, path, body, names).await;
    }
    let (s, ack) = request(
        reqwest::Method::POST,
        &server,
        aim_cmd,
        json!({"corners": 5, "mode": "fine"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    assert_eq!(ack["result"], json!({"corners": 5, "mode": "fine"}));
    let (_, got) = get(&server, "/api/v1/plugins/py_aim/params").await;
    assert_eq!(
        got["result"]["threshold"], 128,
        "the refused set_params changed nothing"
    );

    server.stop().await;
}
