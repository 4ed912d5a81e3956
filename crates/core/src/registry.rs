//! Static registration of stages and sources with `inventory`: one line per type
//! ([`register_stage!`](crate::register_stage), [`register_source!`](crate::register_source)),
//! lookup by id with "did you mean" hints, and manifests for `framebus plugins`.

use serde::Serialize;
use serde_json::Value;

use crate::erased::{BuildSource, BuildStage, ErasedSource, ErasedStage};
use crate::packet::PayloadKind;
use crate::source::Source;
use crate::stage::{Stage, StageInfo};

/// A registered stage type.
pub struct StageRegistration {
    /// Static facts.
    pub info: StageInfo,
    /// JSON Schema of its params.
    pub params_schema: fn() -> Value,
    /// The payload it takes.
    pub takes: PayloadKind,
    /// The payload later stages see.
    pub gives: PayloadKind,
    pub(crate) build: BuildStage,
    pub(crate) check: fn(&Value) -> Result<(), crate::params::ParamError>,
    /// Its default params as JSON (a process worker's `describe`).
    pub(crate) defaults: fn() -> Value,
}

fn defaults_of<P: crate::params::Params>() -> Value {
    serde_json::to_value(P::default()).unwrap_or(Value::Null)
}

impl StageRegistration {
    /// The registration of `S` (used by [`register_stage!`](crate::register_stage)).
    pub const fn of<S: Stage>() -> Self {
        Self {
            info: S::INFO,
            params_schema: crate::params::schema_of::<S::Params>,
            takes: S::TAKES,
            gives: match S::GIVES {
                Some(g) => g,
                None => S::TAKES,
            },
            build: ErasedStage::<S>::build,
            check: ErasedStage::<S>::check,
            defaults: defaults_of::<S::Params>,
        }
    }

    /// Validates a params object without building the stage.
    pub fn check_params(&self, params: &Value) -> Result<(), crate::params::ParamError> {
        (self.check)(params)
    }
}

/// A registered source type.
pub struct SourceRegistration {
    /// Kind used in configs.
    pub kind: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// JSON Schema of its params.
    pub params_schema: fn() -> Value,
    /// The payload it gives.
    pub gives: PayloadKind,
    pub(crate) build: BuildSource,
    pub(crate) check: fn(&Value) -> Result<(), crate::params::ParamError>,
}

impl SourceRegistration {
    /// The registration of `S` (used by [`register_source!`](crate::register_source)).
    pub const fn of<S: Source>() -> Self {
        Self {
            kind: S::KIND,
            description: S::DESCRIPTION,
            params_schema: crate::params::schema_of::<S::Params>,
            gives: S::GIVES,
            build: ErasedSource::<S>::build,
            check: ErasedSource::<S>::check,
        }
    }

    /// Validates a params object without opening the source.
    pub fn check_params(&self, params: &Value) -> Result<(), crate::params::ParamError> {
        (self.check)(params)
    }
}

inventory::collect!(StageRegistration);
inventory::collect!(SourceRegistration);

/// Registers a [`Stage`] type: `framebus_core::register_stage!(BlobDetection);`
#[macro_export]
macro_rules! register_stage {
    ($t:ty) => {
        $crate::inventory::submit! { $crate::registry::StageRegistration::of::<$t>() }
    };
}

/// Registers a [`Source`] type: `framebus_core::register_source!(SyntheticRider);`
#[macro_export]
macro_rules! register_source {
    ($t:ty) => {
        $crate::inventory::submit! { $crate::registry::SourceRegistration::of::<$t>() }
    };
}

/// Every registered stage, sorted by id.
pub fn stages() -> Vec<&'static StageRegistration> {
    let mut v: Vec<_> = inventory::iter::<StageRegistration>.into_iter().collect();
    v.sort_by_key(|r| r.info.id);
    v
}

/// Every registered source kind, sorted.
pub fn sources() -> Vec<&'static SourceRegistration> {
    let mut v: Vec<_> = inventory::iter::<SourceRegistration>.into_iter().collect();
    v.sort_by_key(|r| r.kind);
    v
}

/// The stage registered as `id`.
pub fn stage(id: &str) -> Option<&'static StageRegistration> {
    inventory::iter::<StageRegistration>
        .into_iter()
        .find(|r| r.info.id == id)
}

/// The source registered as `kind`.
pub fn source(kind: &str) -> Option<&'static SourceRegistration> {
    inventory::iter::<SourceRegistration>
        .into_iter()
        .find(|r| r.kind == kind)
}

/// The closest candidate to `wrong` by edit distance, if close enough to be a typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(wrong, c), c))
        .filter(|(d, c)| *d <= (c.len().max(wrong.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A command in a manifest.
#[derive(Debug, Clone, Serialize)]
pub struct CommandManifest {
    /// Name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of the args.
    pub args_schema: Value,
    /// Refused while recording.
    pub locked_while_recording: bool,
}

/// What `framebus plugins --json` and `/api/v1/plugins` list for a stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageManifest {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Results namespace (`null`: the instance id).
    pub namespace: Option<String>,
    /// JSON Schema of the params.
    pub params_schema: Value,
    /// Commands, generic ones first.
    pub commands: Vec<CommandManifest>,
}

/// The generic commands every stage takes (`set_params` with the stage's params schema,
/// `get_params`, `reset`), as manifest entries.
pub fn generic_commands(params_schema: &Value) -> Vec<CommandManifest> {
    let generic = [
        (
            "set_params",
            "Validates and applies params between frames (refused while recording)",
            true,
        ),
        ("get_params", "Returns the params in force", false),
        ("reset", "Clears the stage's accumulated state", false),
    ];
    generic
        .iter()
        .map(|(n, d, locked)| CommandManifest {
            name: (*n).into(),
            description: (*d).into(),
            args_schema: if *n == "set_params" {
                params_schema.clone()
            } else {
                serde_json::json!({"type":"object"})
            },
            locked_while_recording: *locked,
        })
        .collect()
}

impl StageRegistration {
    /// The manifest of this stage.
    pub fn manifest(&self) -> StageManifest {
        let mut commands = generic_commands(&(self.params_schema)());
        commands.extend(self.info.commands.iter().map(|c| CommandManifest {
            name: c.name.into(),
            description: c.description.into(),
            args_schema: (c.args_schema)(),
            locked_while_recording: c.locked_while_recording,
        }));
        StageManifest {
            id: self.info.id.into(),
            version: self.info.version.into(),
            description: self.info.description.into(),
            namespace: self.info.namespace.map(Into::into),
            params_schema: (self.params_schema)(),
            commands,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_typos() {
        let c = ["blob_detection", "marker_manager", "geometry_manager"];
        assert_eq!(did_you_mean("blob_detecton", c), Some("blob_detection"));
        assert_eq!(did_you_mean("zzz", c), None);
    }
}
