//! Typed parameters: the bound every stage's and source's params satisfy, their JSON Schema,
//! and the generic merge-validate step behind `set_params`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::CommandError;

/// What a params struct must be: serde both ways, a JSON Schema, defaults, cloneable.
/// Use `#[serde(default, deny_unknown_fields)]` and doc comments on every field; ranges with
/// `#[schemars(range(min = .., max = ..))]` are enforced by [`merge_params`].
pub trait Params:
    Serialize + DeserializeOwned + schemars::JsonSchema + Default + Clone + Send + 'static
{
}

impl<T> Params for T where
    T: Serialize + DeserializeOwned + schemars::JsonSchema + Default + Clone + Send + 'static
{
}

/// The JSON Schema of `P` as a JSON value.
pub fn schema_of<P: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(P)).unwrap_or(Value::Null)
}

/// A params value that does not fit its schema, with the offending field when known.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// Dotted path of the field inside the params (`threshold`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "`{field}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Checks the `minimum`/`maximum`/`enum` constraints of every top-level property of
/// `schema` present in `values`.
pub fn check_ranges(schema: &Value, values: &Map<String, Value>) -> Result<(), ParamError> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    for (key, v) in values {
        let Some(p) = props.get(key) else { continue };
        let err = |message: String| ParamError {
            field: Some(key.clone()),
            message,
        };
        if let Some(x) = v.as_f64() {
            if let Some(min) = p.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                return Err(err(format!("{v} is below the minimum {min}")));
            }
            if let Some(max) = p.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                return Err(err(format!("{v} is above the maximum {max}")));
            }
        }
        if let Some(allowed) = p.get("enum").and_then(Value::as_array)
            && !allowed.contains(v)
        {
            return Err(err(format!(
                "{v} is not one of {}",
                Value::from(allowed.clone())
            )));
        }
    }
    Ok(())
}

/// Deserializes `value` into `T`, reporting the path of the field that failed.
pub fn deserialize_at<T: DeserializeOwned>(value: Value) -> Result<T, ParamError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde names unknown fields in the message; the path then points at the parent.
        let field = unknown_field(&message).or((path != ".").then_some(path));
        ParamError { field, message }
    })
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// Parses a full params object (from config) into `P`, checking ranges. Errors name the field.
pub fn parse_params<P: Params>(schema: &Value, value: &Value) -> Result<P, ParamError> {
    let obj = match value {
        Value::Null => Map::new(),
        Value::Object(o) => o.clone(),
        other => {
            return Err(ParamError {
                field: None,
                message: format!("params must be a table/object, not {other}"),
            });
        }
    };
    check_ranges(schema, &obj)?;
    deserialize_at(Value::Object(obj))
}

/// Merges `args` over `current` (both params objects), validates against `schema` and
/// deserializes the result: the generic `set_params`. Returns the new params and their JSON.
pub fn merge_params<P: Params>(
    schema: &Value,
    current: &P,
    args: &Value,
) -> Result<(P, Value), CommandError> {
    let Value::Object(changes) = args else {
        return Err(CommandError::bad_args(
            "set_params needs an object of params",
        ));
    };
    let props = schema.get("properties").and_then(Value::as_object);
    for key in changes.keys() {
        if props.is_some_and(|p| !p.contains_key(key)) {
            let known: Vec<&str> = props
                .into_iter()
                .flat_map(|p| p.keys())
                .map(String::as_str)
                .collect();
            return Err(CommandError::bad_args(format!(
                "unknown param `{key}` (known: {})",
                known.join(", ")
            )));
        }
    }
    check_ranges(schema, changes).map_err(|e| CommandError::bad_args(e.to_string()))?;
    let mut merged =
        serde_json::to_value(current).map_err(|e| CommandError::bad_args(e.to_string()))?;
    if let Value::Object(m) = &mut merged {
        for (k, v) in changes {
            m.insert(k.clone(), v.clone());
        }
    }
    let parsed: P =
        deserialize_at(merged.clone()).map_err(|e| CommandError::bad_args(e.to_string()))?;
    let json = serde_json::to_value(&parsed).unwrap_or(merged);
    Ok((parsed, json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// Test params.
    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct P {
        /// A threshold.
        #[schemars(range(min = 0, max = 255))]
        threshold: u8,
        /// A flag.
        invert: bool,
    }
    impl Default for P {
        fn default() -> Self {
            Self {
                threshold: 200,
                invert: false,
            }
        }
    }

    #[test]
    fn merge_validates_types_ranges_and_names() {
        let s = schema_of::<P>();
        let (p, j) = merge_params(&s, &P::default(), &json!({"threshold": 120})).unwrap();
        assert_eq!(p.threshold, 120);
        assert_eq!(j, json!({"threshold":120,"invert":false}));
        for bad in [
            json!({"threshold": 300}),
            json!({"threshold": "x"}),
            json!({"nope": 1}),
            json!(5),
            json!({"invert": 1}),
        ] {
            let e = merge_params::<P>(&s, &P::default(), &bad).unwrap_err();
            assert_eq!(e.code, framebus_protocol::ErrorCode::BadArgs, "{bad}");
        }
    }
}
