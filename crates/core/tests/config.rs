//! Config errors name the file, line, column and field.

mod common;

use framebus_core::config::{Config, Format};

fn err(text: &str, format: Format) -> String {
    Config::parse(text, format, "rig.toml")
        .unwrap_err()
        .to_string()
}

const GOOD: &str = r#"
[[sources]]
id = "camera_0"
kind = "test_counter"

[[stages]]
plugin = "test_probe"
params = { level = 3 }
"#;

#[test]
fn a_good_config_parses_in_toml_and_json() {
    let c = Config::parse(GOOD, Format::Toml, "rig.toml").unwrap();
    assert_eq!(c.stage_id(0), "test_probe");
    let json = serde_json::to_string_pretty(&c).unwrap();
    let back = Config::parse(&json, Format::Json, "rig.json").unwrap();
    assert_eq!(back, c);
}

#[test]
fn unknown_plugin_has_line_field_and_hint() {
    let text = GOOD.replace("plugin = \"test_probe\"", "plugin = \"test_prob\"");
    let e = err(&text, Format::Toml);
    assert!(e.starts_with("rig.toml:7:"), "{e}");
    assert!(e.contains("field `stages[0].plugin`"), "{e}");
    assert!(e.contains("unknown plugin `test_prob`"), "{e}");
    assert!(e.contains("did you mean `test_probe`?"), "{e}");
}

#[test]
fn wrong_type_and_out_of_range_params_name_the_field() {
    let e = err(&GOOD.replace("level = 3", "level = \"high\""), Format::Toml);
    assert!(e.starts_with("rig.toml:8:"), "{e}");
    assert!(e.contains("stages[0].params.level"), "{e}");
    let e = err(&GOOD.replace("level = 3", "level = 999"), Format::Toml);
    assert!(e.starts_with("rig.toml:8:"), "{e}");
    assert!(
        e.contains("stages[0].params.level") && e.contains("maximum 255"),
        "{e}"
    );
    let e = err(&GOOD.replace("level = 3", "levle = 3"), Format::Toml);
    assert!(
        e.contains("stages[0].params.levle") && e.contains("unknown field"),
        "{e}"
    );
}

#[test]
fn duplicate_ids_unknown_fields_and_syntax_errors() {
    let dup = format!("{GOOD}\n[[stages]]\nplugin = \"test_probe\"\n");
    let e = err(&dup, Format::Toml);
    assert!(e.starts_with("rig.toml:11:"), "{e}");
    assert!(
        e.contains("stages[1].plugin") && e.contains("duplicate id `test_probe`"),
        "{e}"
    );

    let e = err(
        &GOOD.replace(
            "kind = \"test_counter\"",
            "kind = \"test_counter\"\nfps = 3",
        ),
        Format::Toml,
    );
    assert!(e.starts_with("rig.toml:5:"), "{e}");
    assert!(e.contains("unknown field `fps`"), "{e}");

    let e = err("[[sources]\nid = 1", Format::Toml);
    assert!(e.starts_with("rig.toml:1:"), "{e}");

    let e = err(
        &GOOD.replace("kind = \"test_counter\"", "kind = \"test_countr\""),
        Format::Toml,
    );
    assert!(
        e.contains("sources[0].kind") && e.contains("did you mean `test_counter`?"),
        "{e}"
    );

    let e = err(&GOOD.replace("id = \"camera_0\"", "id = 5"), Format::Toml);
    assert!(
        e.starts_with("rig.toml:3:") && e.contains("sources[0].id"),
        "{e}"
    );
}

#[test]
fn json_errors_are_located_too() {
    let text = r#"{
  "sources": [{"id": "camera_0", "kind": "test_counter"}],
  "stages": [
    {"plugin": "test_probe"},
    {"plugin": "tset_probe", "id": "b"}
  ]
}"#;
    let e = Config::parse(text, Format::Json, "rig.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("rig.json:5:"), "{e}");
    assert!(
        e.contains("stages[1].plugin") && e.contains("did you mean `test_probe`?"),
        "{e}"
    );
    let e = Config::parse(&text.replace("\"b\"", "7"), Format::Json, "rig.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("rig.json:5:") && e.contains("stages[1].id"),
        "{e}"
    );
}
