//! `marker_manager`: named points placed by hand (hip, knee, ankle) that can follow blobs.
//!
//! # How it works
//! Markers are added, moved, labelled and removed by commands, or listed in the params to
//! exist from the start. A marker that is *attached* follows the blobs of a blob-detection
//! stage (`blobs_from`): each frame every attached marker is matched to the nearest blob
//! within `attach_radius` of where it was, greedily over all marker–blob pairs, nearest pair
//! first, so one blob feeds at most one marker. A marker that finds no blob stays where it
//! was, still attached (its `blob` is null) and is picked up again when a blob comes back in
//! range. Moving an attached marker by hand keeps it attached: it then follows whatever blob
//! is nearest to its new place.
//!
//! Every marker is published as a named point under its id, and under its label too when the
//! label differs, so geometry tools can refer to `knee` whatever the marker's id. Score: 1,
//! or 0.5 for an attached marker that lost its blob this frame.
//!
//! Result (namespace `marker_manager`, seed 000 shape; keys in insertion order):
//! `{"markers":{"m1":{"x":..,"y":..,"label":"knee","attached":true,"blob":3}}}`.
//!
//! Commands: `add_marker {id?, x, y, label?, attach?}` (id `m1`, `m2`, … when absent; the
//! label defaults to the id), `move_marker {id, x, y}`, `remove_marker {id}`,
//! `label_marker {id, label}`, `attach_marker {id}`, `detach_marker {id}`,
//! `clear_markers {}`. Each returns the marker it touched (`clear_markers`: `{"removed":n}`).
//! `reset` restores the markers of the params.
//!
//! # Parameters
//! - `blobs_from` (default `blob_detection`): namespace whose [`Blobs`] result to follow.
//! - `attach_radius` (px, default 40): how far an attached marker looks for a blob.
//! - `markers` (default none): markers at start, `{id, x, y, label?, attach?}`.

use serde::ser::{SerializeMap, SerializeStruct};

use framebus_core::prelude::*;

use super::blob_detection::Blobs;

/// A marker to create at start (see [`MarkerParams::markers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkerSpec {
    /// Marker id (also its point name).
    pub id: String,
    /// X in pixels.
    pub x: f64,
    /// Y in pixels.
    pub y: f64,
    /// Label (also published as a point name); defaults to the id.
    #[serde(default)]
    pub label: Option<String>,
    /// Follow the nearest blob.
    #[serde(default)]
    pub attach: bool,
}

/// Params of [`MarkerManager`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MarkerParams {
    /// Namespace of the blob detection whose blobs attached markers follow.
    pub blobs_from: String,
    /// How far (px) an attached marker looks for a blob from where it was.
    #[schemars(range(min = 1, max = 2000))]
    pub attach_radius: f64,
    /// Markers that exist from the start.
    pub markers: Vec<MarkerSpec>,
}

impl MarkerParams {
    /// Default `blobs_from`.
    pub const BLOBS_FROM: &'static str = "blob_detection";
    /// Default `attach_radius`.
    pub const ATTACH_RADIUS: f64 = 40.0;
}

impl Default for MarkerParams {
    fn default() -> Self {
        Self {
            blobs_from: Self::BLOBS_FROM.to_owned(),
            attach_radius: Self::ATTACH_RADIUS,
            markers: Vec::new(),
        }
    }
}

/// One marker.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Marker {
    /// Id (the key in the result map).
    #[serde(skip)]
    pub id: String,
    /// X in pixels.
    pub x: f64,
    /// Y in pixels.
    pub y: f64,
    /// Label.
    pub label: String,
    /// Follows blobs.
    pub attached: bool,
    /// Id of the blob it sits on this frame, if attached and found.
    pub blob: Option<u32>,
}

impl Clone for Marker {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            label: self.label.clone(),
            ..*self
        }
    }
    /// Reuses the strings' buffers (per-frame copies must not allocate).
    fn clone_from(&mut self, src: &Self) {
        self.id.clone_from(&src.id);
        self.label.clone_from(&src.label);
        self.x = src.x;
        self.y = src.y;
        self.attached = src.attached;
        self.blob = src.blob;
    }
}

impl Marker {
    fn to_json(&self) -> Value {
        json!({"id": self.id, "x": self.x, "y": self.y, "label": self.label, "attached": self.attached, "blob": self.blob})
    }
}

/// The result of [`MarkerManager`]; serializes as `{"markers": {"<id>": {..}}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Markers {
    /// Markers in insertion order.
    pub markers: Vec<Marker>,
}

impl Markers {
    /// The marker with `id`.
    pub fn get(&self, id: &str) -> Option<&Marker> {
        self.markers.iter().find(|m| m.id == id)
    }
}

struct AsMap<'a>(&'a [Marker]);

impl Serialize for AsMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for m in self.0 {
            map.serialize_entry(&m.id, m)?;
        }
        map.end()
    }
}

impl Serialize for Markers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Markers", 1)?;
        st.serialize_field("markers", &AsMap(&self.markers))?;
        st.end()
    }
}

/// Args of `add_marker`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMarkerArgs {
    /// Id; `m1`, `m2`, … when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// X in pixels.
    pub x: f64,
    /// Y in pixels.
    pub y: f64,
    /// Label; the id when absent.
    #[serde(default)]
    pub label: Option<String>,
    /// Follow the nearest blob.
    #[serde(default)]
    pub attach: bool,
}

/// Args of `move_marker`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveMarkerArgs {
    /// Marker id.
    pub id: String,
    /// New x in pixels.
    pub x: f64,
    /// New y in pixels.
    pub y: f64,
}

/// Args of commands that name one marker.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkerIdArgs {
    /// Marker id.
    pub id: String,
}

/// Args of `label_marker`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelMarkerArgs {
    /// Marker id.
    pub id: String,
    /// New label.
    pub label: String,
}

/// Args of `clear_markers` (none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Named markers that can follow blobs. See the [module docs](self).
pub struct MarkerManager {
    params: MarkerParams,
    markers: Vec<Marker>,
    next_auto: u32,
    /// Blobs of the last frame: x, y, blob id.
    blob_xy: Vec<(f64, f64, u32)>,
    /// Candidate (distance², marker, blob) pairs; reused.
    pairs: Vec<(f64, u32, u32)>,
    marker_taken: Vec<bool>,
    blob_taken: Vec<bool>,
}

fn from_spec(s: &MarkerSpec) -> Marker {
    Marker {
        id: s.id.clone(),
        x: s.x,
        y: s.y,
        label: s.label.clone().unwrap_or_else(|| s.id.clone()),
        attached: s.attach,
        blob: None,
    }
}

fn no_marker(id: &str) -> CommandError {
    CommandError::bad_args(format!("no marker `{id}`"))
}

impl MarkerManager {
    fn load_initial(&mut self) -> Result<()> {
        self.markers.clear();
        self.next_auto = 1;
        for s in &self.params.markers {
            if self.markers.iter().any(|m| m.id == s.id) {
                return Err(Error::stage(format!("marker `{}` is listed twice", s.id)));
            }
            self.markers.push(from_spec(s));
        }
        self.reserve();
        Ok(())
    }

    /// Room for the per-frame matching, so frames do not allocate.
    fn reserve(&mut self) {
        let n = self.markers.len();
        self.pairs.reserve(n * 16);
        self.marker_taken.reserve(n);
        self.blob_taken.reserve(256);
        self.blob_xy.reserve(256);
    }

    fn index(&self, id: &str) -> Result<usize, CommandError> {
        self.markers
            .iter()
            .position(|m| m.id == id)
            .ok_or_else(|| no_marker(id))
    }

    /// Moves every attached marker to its blob (greedy, nearest pairs first).
    fn track(&mut self) {
        let r2 = self.params.attach_radius * self.params.attach_radius;
        self.pairs.clear();
        for (mi, m) in self.markers.iter().enumerate() {
            if !m.attached {
                continue;
            }
            for (bi, &(bx, by, _)) in self.blob_xy.iter().enumerate() {
                let d2 = (bx - m.x).powi(2) + (by - m.y).powi(2);
                if d2 <= r2 {
                    self.pairs.push((d2, mi as u32, bi as u32));
                }
            }
        }
        self.pairs
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        self.marker_taken.clear();
        self.marker_taken.resize(self.markers.len(), false);
        self.blob_taken.clear();
        self.blob_taken.resize(self.blob_xy.len(), false);
        for m in &mut self.markers {
            m.blob = None;
        }
        for &(_, mi, bi) in &self.pairs {
            let (mi, bi) = (mi as usize, bi as usize);
            if self.marker_taken[mi] || self.blob_taken[bi] {
                continue;
            }
            self.marker_taken[mi] = true;
            self.blob_taken[bi] = true;
            let (x, y, id) = self.blob_xy[bi];
            let m = &mut self.markers[mi];
            m.x = x;
            m.y = y;
            m.blob = Some(id);
        }
    }

    /// Attaches marker `i` and puts it on the nearest blob of the last frame in range.
    fn attach(&mut self, i: usize) {
        let r2 = self.params.attach_radius * self.params.attach_radius;
        let m = &mut self.markers[i];
        m.attached = true;
        m.blob = None;
        let nearest = self
            .blob_xy
            .iter()
            .map(|&(x, y, id)| ((x - m.x).powi(2) + (y - m.y).powi(2), x, y, id))
            .filter(|b| b.0 <= r2)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, x, y, id)) = nearest {
            m.x = x;
            m.y = y;
            m.blob = Some(id);
        }
    }

    fn auto_id(&mut self) -> String {
        loop {
            let id = format!("m{}", self.next_auto);
            self.next_auto += 1;
            if self.markers.iter().all(|m| m.id != id) {
                return id;
            }
        }
    }
}

impl Stage for MarkerManager {
    type Params = MarkerParams;

    const INFO: StageInfo = StageInfo {
        id: "marker_manager",
        version: "0.1.0",
        description: "Named markers placed by hand that can follow the nearest blob",
        namespace: Some("marker_manager"),
        commands: &[
            CommandSpec::new::<AddMarkerArgs>(
                "add_marker",
                "Adds a marker (id m1, m2, … when absent); returns it",
            ),
            CommandSpec::new::<MoveMarkerArgs>("move_marker", "Moves a marker"),
            CommandSpec::new::<MarkerIdArgs>("remove_marker", "Removes a marker"),
            CommandSpec::new::<LabelMarkerArgs>("label_marker", "Sets a marker's label"),
            CommandSpec::new::<MarkerIdArgs>(
                "attach_marker",
                "Makes a marker follow the nearest blob within attach_radius",
            ),
            CommandSpec::new::<MarkerIdArgs>("detach_marker", "Stops a marker following blobs"),
            CommandSpec::new::<NoArgs>("clear_markers", "Removes every marker"),
        ],
    };

    fn new(params: MarkerParams, _init: &StageInit) -> Result<Self> {
        let mut s = Self {
            params,
            markers: Vec::new(),
            next_auto: 1,
            blob_xy: Vec::new(),
            pairs: Vec::new(),
            marker_taken: Vec::new(),
            blob_taken: Vec::new(),
        };
        s.load_initial()?;
        Ok(s)
    }

    fn process(&mut self, ctx: &mut FrameCtx<'_>) -> Result<Flow> {
        self.blob_xy.clear();
        if let Some(b) = ctx.get::<Blobs>(&self.params.blobs_from) {
            self.blob_xy
                .extend(b.blobs.iter().map(|b| (b.x, b.y, b.id)));
        }
        self.track();
        ctx.output::<Markers>().markers.clone_from(&self.markers);
        for m in &self.markers {
            let score = if m.attached && m.blob.is_none() {
                0.5
            } else {
                1.0
            };
            ctx.publish_point(&m.id, m.x, m.y, score);
            if !m.label.is_empty() && m.label != m.id {
                ctx.publish_point(&m.label, m.x, m.y, score);
            }
        }
        Ok(Flow::Continue)
    }

    fn set_params(&mut self, params: MarkerParams, _ctx: &mut CommandCtx<'_>) -> Result<()> {
        // Markers placed by commands survive unless the list of initial markers changed.
        let reload = params.markers != self.params.markers;
        let old = std::mem::replace(&mut self.params, params);
        if reload && let Err(e) = self.load_initial() {
            self.params = old;
            self.load_initial()?;
            return Err(e);
        }
        Ok(())
    }

    fn command(
        &mut self,
        cmd: &str,
        args: &Value,
        _ctx: &mut CommandCtx<'_>,
    ) -> Result<Value, CommandError> {
        let i = match cmd {
            "add_marker" => {
                let a: AddMarkerArgs = parse_args(args)?;
                let id = match a.id {
                    Some(id) if id.is_empty() => {
                        return Err(CommandError::bad_args("marker id must not be empty"));
                    }
                    Some(id) if self.markers.iter().any(|m| m.id == id) => {
                        return Err(CommandError::bad_args(format!("marker `{id}` exists")));
                    }
                    Some(id) => id,
                    None => self.auto_id(),
                };
                let label = a.label.unwrap_or_else(|| id.clone());
                self.markers.push(Marker {
                    id,
                    x: a.x,
                    y: a.y,
                    label,
                    attached: false,
                    blob: None,
                });
                self.reserve();
                let i = self.markers.len() - 1;
                if a.attach {
                    self.attach(i);
                }
                i
            }
            "move_marker" => {
                let a: MoveMarkerArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                let m = &mut self.markers[i];
                m.x = a.x;
                m.y = a.y;
                m.blob = None;
                i
            }
            "remove_marker" => {
                let a: MarkerIdArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                return Ok(self.markers.remove(i).to_json());
            }
            "label_marker" => {
                let a: LabelMarkerArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                self.markers[i].label = a.label;
                i
            }
            "attach_marker" => {
                let a: MarkerIdArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                self.attach(i);
                i
            }
            "detach_marker" => {
                let a: MarkerIdArgs = parse_args(args)?;
                let i = self.index(&a.id)?;
                let m = &mut self.markers[i];
                m.attached = false;
                m.blob = None;
                i
            }
            "clear_markers" => {
                let n = self.markers.len();
                self.markers.clear();
                return Ok(json!({ "removed": n }));
            }
            _ => return Err(CommandError::unknown_command(Self::INFO.id, cmd)),
        };
        Ok(self.markers[i].to_json())
    }

    fn reset(&mut self) {
        // The params were valid when the stage was built, so this cannot fail.
        let _ = self.load_initial();
    }
}

framebus_core::register_stage!(MarkerManager);

/// Referenced by [`crate::link`] so the linker keeps this module and its registration.
pub(crate) fn keep() {}
