//! `geometry_manager`: measuring tools (angles, distances, line angles) over named points,
//! with the min/max/mean of each over a time window.
//!
//! # How it works
//! Each tool names the points it measures (`["hip","knee","ankle"]`); every frame they are
//! looked up among the points earlier stages published (markers, blob centroids, keypoints).
//! When one is missing, or the shape is degenerate, the tool is invalid for the frame
//! (`value: null, valid: false`). Tool types:
//! - `angle` (3 points): the interior angle at the middle point, degrees 0..180.
//! - `distance` (2 points): pixels.
//! - `line_angle` (2 points): the line's angle in degrees, in (-90, 90], against
//!   `reference` = `horizontal` (default; positive when it rises to the right on screen) or
//!   `vertical` (positive when its top leans to the right).
//!
//! Valid values go into a window of the last `window_s` seconds of frame time (`t_ns`, so
//! replays and tests behave the same as live), kept in a ring allocated once per tool (room
//! for 240 samples a second); `min`, `max`, `mean` are over that window: over a pedal stroke,
//! the knee-angle range a bike fitter reads. A tool publishes its value as the signal
//! `<tool id>` when valid, and a widget `<stage id>.<tool id>` with the window's min/max.
//!
//! Result (namespace `geometry`, seed 000), keyed by tool id in insertion order:
//! `{"knee_angle":{"type":"angle","points":["hip","knee","ankle"],"value":145.5,
//! "valid":true,"color":"#fbbf24","min":..,"max":..,"mean":..,"reference":null}}`
//! (`reference` is `"horizontal"`/`"vertical"` for `line_angle` tools, null otherwise).
//!
//! Commands: `cmd_add_tool {id, type, points, color?, reference?}`, `cmd_remove_tool {id}`,
//! `cmd_update_tool {id, points?, color?, reference?}` (new points or reference clear the
//! window), `clear_window {id?}` (one tool, or all). They return the tool they touched.
//! `reset` restores the tools of the params.
//!
//! # Parameters
//! - `window_s` (0.1..60 s, default 2): length of the min/max/mean window.
//! - `tools` (default none): tools at start, `{id, type, points, color?, reference?}`.

use serde::ser::SerializeMap;

use framebus_core::prelude::*;

use super::geometry_math::{Window, angle_at, distance, line_angle};

/// What a tool measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// Interior angle at the middle of 3 points, degrees.
    #[default]
    Angle,
    /// Distance between 2 points, pixels.
    Distance,
    /// Angle of the line through 2 points against a reference direction, degrees.
    LineAngle,
}

impl ToolKind {
    /// How many points the tool takes.
    pub fn points(self) -> usize {
        match self {
            Self::Angle => 3,
            Self::Distance | Self::LineAngle => 2,
        }
    }

    /// Unit of the value.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Angle | Self::LineAngle => "deg",
            Self::Distance => "px",
        }
    }
}

/// The direction a `line_angle` tool measures against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The horizontal.
    #[default]
    Horizontal,
    /// The vertical.
    Vertical,
}

/// A tool definition: in the params, and the args of `cmd_add_tool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// Tool id (key in the result, signal name).
    pub id: String,
    /// `angle`, `distance` or `line_angle`.
    #[serde(rename = "type")]
    pub kind: ToolKind,
    /// Names of the points measured (3 for `angle`, 2 otherwise).
    pub points: Vec<String>,
    /// Display color (CSS), e.g. `#fbbf24`; one of a palette when absent.
    #[serde(default)]
    pub color: Option<String>,
    /// For `line_angle`: `horizontal` (default) or `vertical`.
    #[serde(default)]
    pub reference: Option<Reference>,
}

/// Params of [`GeometryManager`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GeometryParams {
    /// Length of the min/max/mean window, in seconds of frame time.
    #[schemars(range(min = 0.1, max = 60))]
    pub window_s: f64,
    /// Tools that exist from the start.
    pub tools: Vec<ToolSpec>,
}

impl GeometryParams {
    /// Default `window_s`.
    pub const WINDOW_S: f64 = 2.0;
}

impl Default for GeometryParams {
    fn default() -> Self {
        Self {
            window_s: Self::WINDOW_S,
            tools: Vec::new(),
        }
    }
}

/// Args of `cmd_update_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateToolArgs {
    /// Tool id.
    pub id: String,
    /// New point names.
    #[serde(default)]
    pub points: Option<Vec<String>>,
    /// New color.
    #[serde(default)]
    pub color: Option<String>,
    /// New reference (`line_angle` only).
    #[serde(default)]
    pub reference: Option<Reference>,
}

/// Args of `cmd_remove_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolIdArgs {
    /// Tool id.
    pub id: String,
}

/// Args of `clear_window`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClearWindowArgs {
    /// Tool id; every tool when absent.
    pub id: Option<String>,
}

/// One tool's reading this frame.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct ToolReading {
    /// Tool id (the key in the result map).
    #[serde(skip)]
    pub id: String,
    /// What it measures.
    #[serde(rename = "type")]
    pub kind: ToolKind,
    /// Names of its points.
    pub points: Vec<String>,
    /// The value, when valid.
    pub value: Option<f64>,
    /// Every point was found and the shape is not degenerate.
    pub valid: bool,
    /// Display color.
    pub color: String,
    /// Minimum over the window.
    pub min: Option<f64>,
    /// Maximum over the window.
    pub max: Option<f64>,
    /// Mean over the window.
    pub mean: Option<f64>,
    /// For `line_angle`: the reference direction.
    pub reference: Option<Reference>,
}

impl Clone for ToolReading {
    fn clone(&self) -> Self {
        let mut r = Self::default();
        r.clone_from(self);
        r
    }
    /// Reuses the strings' buffers (per-frame copies must not allocate).
    fn clone_from(&mut self, src: &Self) {
        self.id.clone_from(&src.id);
        self.kind = src.kind;
        self.points.clone_from(&src.points);
        self.value = src.value;
        self.valid = src.valid;
        self.color.clone_from(&src.color);
        self.min = src.min;
        self.max = src.max;
        self.mean = src.mean;
        self.reference = src.reference;
    }
}

impl ToolReading {
    fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("id".into(), json!(self.id));
        }
        v
    }
}

/// The result of [`GeometryManager`]; serializes as a map from tool id to reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geometry {
    /// Readings in tool order.
    pub tools: Vec<ToolReading>,
}

impl Geometry {
    /// The reading of tool `id`.
    pub fn get(&self, id: &str) -> Option<&ToolReading> {
        self.tools.iter().find(|t| t.id == id)
    }
}

impl Serialize for Geometry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.tools.len()))?;
        for t in &self.tools {
            map.serialize_entry(&t.id, t)?;
        }
        map.end()
    }
}

/// Colors given to tools without one, in turn.
const PALETTE: [&str; 6] = [
    "#fbbf24", "#34d399", "#60a5fa", "#f472b6", "#a78bfa", "#f87171",
];

/// Measuring tools over named points. See the [module docs](self).
pub struct GeometryManager {
    params: GeometryParams,
    readings: Vec<ToolReading>,
    windows: Vec<Window>,
}

fn no_tool(id: &str) -> CommandError {
    CommandError::bad_args(format!("no tool `{id}`"))
}

fn check_points(kind: ToolKind, points: &[String]) -> Result<(), String> {
    if points.len() != kind.points() {
        return Err(format!(
            "a {} tool takes {} points, not {}",
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            kind.points(),
            points.len()
        ));
    }
    if points.iter().any(String::is_empty) {
        return Err("point names must not be empty".into());
    }
    Ok(())
}

fn check_reference(kind: ToolKind, reference: Option<Reference>) -> Result<(), String> {
    if reference.is_some() && kind != ToolKind::LineAngle {
        return Err("`reference` applies to line_angle tools only".into());
    }
    Ok(())
}

impl GeometryManager {
    /// Validates `spec` and adds the tool.
    fn add(&mut self, spec: ToolSpec) -> Result<usize, String> {
        if spec.id.is_empty() {
            return Err("tool id must not be empty".into());
        }
        if self.readings.iter().any(|t| t.id == spec.id) {
            return Err(format!("tool `{}` exists", spec.id));
        }
        check_points(spec.kind, &spec.points)?;
        check_reference(spec.kind, spec.reference)?;
        let color = spec
            .color
            .unwrap_or_else(|| PALETTE[self.readings.len() % PALETTE.len()].to_owned());
        self.readings.push(ToolReading {
            id: spec.id,
            kind: spec.kind,
            points: spec.points,
            color,
            reference: (spec.kind == ToolKind::LineAngle)
                .then(|| spec.reference.unwrap_or_default()),
            ..ToolReading::default()
        });
        self.windows.push(Window::new(self.params.window_s));
        Ok(self.readings.len() - 1)
    }

    fn load_initial(&mut self) -> Result<()> {
        self.readings.clear();
        self.windows.clear();
        for spec in self.params.tools.clone() {
            let id = spec.id.clone();
            self.add(spec)
                .map_err(|e| Error::stage(format!("tool `{id}`: {e}")))?;
        }
        Ok(())
    }

    fn index(&self, id: &str) -> Result<usize, CommandError> {
        self.readings
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| no_tool(id))
    }
}

/// The value of tool `r` from the points published so far; `None` when invalid.
fn measure(r: &ToolReading, ctx: &FrameCtx<'_>) -> Option<f64> {
    let mut p = [(0.0, 0.0); 3];
    for (slot, name) in p.iter_mut().zip(&r.points) {
        let np = ctx.point(name)?;
        *slot = (np.x, np.y);
    }
    match r.kind {
        ToolKind::Angle => angle_at(p[0], p[1], p[2]),
        ToolKind::Distance => Some(distance(p[0], p[1])),
        ToolKind::LineAngle => line_angle(p[0], p[1], r.reference == Some(Reference::Vertical)),
    }
}

impl Stage for GeometryManager {
    type Params = GeometryParams;

    const INFO: StageInfo = StageInfo {
        id: "geometry_manager",
        version: "0.1.0",
        description: "Angle, distance and line-angle tools over named points, with min/max/mean over a time window",
        namespace: Some("geometry"),
        commands: &[
            CommandSpec::new::<ToolSpec>(
                "cmd_add_tool",
                "Adds a tool {id, type, points, color?, reference?}",
            ),
            CommandSpec::new::<ToolIdArgs>("cmd_remove_tool", "Removes a tool"),
            CommandSpec::new::<UpdateToolArgs>(
                "cmd_update_tool",
                "Changes a tool's points, color or reference",
            ),
            CommandSpec::new::<ClearWindowArgs>(
                "clear_window",
                "Clears the min/max/mean window of one tool or all",
            ),
        ],
    };

    fn new(params: GeometryParams, _init: &StageInit) -> Result<Self> {
        let mut s = Self {
            params,
            readings: Vec::new(),
            windows: Vec::new(),
        };
        s.load_initial()?;
        Ok(s)
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        let t = ctx.frame().t_ns;
        for (r, w) in self.readings.iter_mut().zip(&mut self.windows) {
            r.value = measure(r, ctx).filter(|v| v.is_finite());
            r.valid = r.value.is_some();
            match r.value {
                Some(v) => w.push(t, v),
                None => w.evict(t),
            }
            let stats = w.stats();
            r.min = stats.map(|s| s.0);
            r.max = stats.map(|s| s.1);
            r.mean = stats.map(|s| s.2);
            if let Some(v) = r.value {
                ctx.signal(&r.id, v);
            }
            ctx.widget(
                &r.id,
                &r.id,
                r.value,
                r.kind.unit(),
                stats.map(|s| (s.0, s.1)),
            );
        }
        ctx.output::<Geometry>().tools.clone_from(&self.readings);
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, params: GeometryParams, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        let old = std::mem::replace(&mut self.params, params);
        let result = if self.params.tools != old.tools {
            self.load_initial()
        } else {
            if self.params.window_s != old.window_s {
                for w in &mut self.windows {
                    *w = Window::new(self.params.window_s);
                }
            }
            Ok(())
        };
        if result.is_err() {
            self.params = old;
            self.load_initial()?;
        }
        result
    }

    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        _ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        let i = match cmd {
            "cmd_add_tool" => {
                let spec: ToolSpec = parse_args(args)?;
                self.add(spec).map_err(CommandError::bad_args)?
            }
            "cmd_remove_tool" => {
                let a: ToolIdArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                self.windows.remove(i);
                return Ok(self.readings.remove(i).to_json());
            }
            "cmd_update_tool" => {
                let a: UpdateToolArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                let kind = self.readings[i].kind;
                if let Some(p) = &a.points {
                    check_points(kind, p).map_err(CommandError::bad_args)?;
                }
                check_reference(kind, a.reference).map_err(CommandError::bad_args)?;
                let r = &mut self.readings[i];
                let mut clear = false;
                if let Some(p) = a.points {
                    clear |= p != r.points;
                    r.points = p;
                }
                if let Some(c) = a.color {
                    r.color = c;
                }
                if a.reference.is_some() {
                    clear |= a.reference != r.reference;
                    r.reference = a.reference;
                }
                if clear {
                    self.windows[i].clear();
                }
                i
            }
            "clear_window" => {
                let a: ClearWindowArgs = if args.is_null() {
                    ClearWindowArgs::default()
                } else {
                    parse_args(args)?
                };
                match a.id {
                    Some(id) => {
                        let i = self.index(&id)?;
                        self.windows[i].clear();
                        i
                    }
                    None => {
                        self.windows.iter_mut().for_each(Window::clear);
                        return Ok(json!({ "cleared": self.windows.len() }));
                    }
                }
            }
            _ => return Err(CommandError::unknown_command(Self::INFO.id, cmd)),
        };
        Ok(self.readings[i].to_json())
    }

    fn reset(&mut self) {
        // The params were valid when the stage was built, so this cannot fail.
        let _ = self.load_initial();
    }
}

framebus_core::register_stage!(GeometryManager);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
