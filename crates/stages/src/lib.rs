//! framebus-stages: the built-in stages, one file each, grouped by domain. Each stage
//! registers itself with one `register_stage!` line, so a binary that links this crate can
//! build any of them from a config by plugin id.
//!
//! # Layout
//! - [`vision`]: image stages, the BikeFit set of seed 000:
//!   - [`vision::blob_detection`]: bright (or dark) spots by connected components.
//!   - [`vision::camera_control`]: camera exposure/gain/auto-exposure, shown and forwarded.
//!   - [`vision::marker_manager`]: named markers, placed by hand, that can follow blobs.
//!   - [`vision::geometry_manager`]: angle/distance tools over named points, with a time
//!     window of min/max/mean.
//! - [`billiards`]: the billiards trainer of seed 002:
//!   - [`billiards::table_detection`], [`billiards::ball_detection`],
//!     [`billiards::cue_detection`], [`billiards::ball_tracking`], [`billiards::game_state`]:
//!     table, balls, cue, tracks and game events from a camera.
//!   - [`billiards::trajectory`]: predicted shot paths, collisions and pockets from the
//!     tracked balls and the cue, and the `simulate` what-if command.
//!
//! - [`pose`]: body keypoints with MediaPipe BlazePose on ONNX Runtime:
//!   - [`pose::blazepose`]: the `pose` stage (results under `vision`).
//!   - [`pose::hands`]: the `hands` stage (results under `hands`).
//! - [`signal`]: sample stages (seed 001): `to_voltage`, `gain`, `filter`, `downsample`,
//!   `fft`, `stats`.
//!
//! # Linking
//! Registrations live in `inventory` statics that the linker drops when nothing in the
//! binary refers to this crate. Binaries call [`link`] once (e.g. at the top of `main`) so
//! the stages stay in the registry.

pub mod billiards;
pub mod pose;
pub mod signal;
pub mod vision;

pub use billiards::trajectory::{Prediction, Trajectory, TrajectoryParams};
pub use pose::blazepose::{Keypoint, Pose, PoseParams, PoseStage, WorldPoint};
pub use pose::hands::{Hand, HandPoint, Hands, HandsParams, HandsStage};
pub use vision::blob_detection::{BBox, Blob, BlobDetection, BlobParams, Blobs};
pub use vision::camera_control::{CameraControl, CameraControlParams, CameraState};
pub use vision::geometry_manager::{
    Geometry, GeometryManager, GeometryParams, Reference, ToolKind, ToolReading, ToolSpec,
};
pub use vision::marker_manager::{Marker, MarkerManager, MarkerParams, MarkerSpec, Markers};

/// Keeps this crate's stage registrations in the final binary. It does nothing at run
/// time; it refers to every module that registers a stage, so the linker keeps them all.
#[inline(never)]
pub fn link() {
    std::hint::black_box([
        vision::blob_detection::keep as fn(),
        vision::camera_control::keep as fn(),
        vision::marker_manager::keep as fn(),
        vision::geometry_manager::keep as fn(),
        billiards::table_detection::keep as fn(),
        billiards::ball_detection::keep as fn(),
        billiards::cue_detection::keep as fn(),
        billiards::ball_tracking::keep as fn(),
        billiards::game_state::keep as fn(),
        billiards::trajectory::keep as fn(),
        pose::blazepose::keep as fn(),
        pose::hands::keep as fn(),
        signal::to_voltage::keep as fn(),
        signal::gain::keep as fn(),
        signal::filter::keep as fn(),
        signal::downsample::keep as fn(),
        signal::fft::keep as fn(),
        signal::stats::keep as fn(),
    ]);
}
