//! Billiards trainer stages (seed 002). The physics they use is the `framebus-billiards`
//! crate.
//!
//! A pipeline runs `table_detection` (playing area and homography) → `ball_detection`
//! (balls and their identities) → `cue_detection` (the cue's line) → `ball_tracking`
//! (Kalman tracks in table metres with stable ids) → `trajectory` → `game_state` (events).
//!
//! - [`table_detection`], [`ball_detection`], [`cue_detection`], [`ball_tracking`],
//!   [`game_state`]: the camera side, checked against the synthetic table's ground truth.
//! - [`trajectory`]: predicts the aimed shot and answers `simulate` what-if commands.
//! - [`geometry`]: table model, labels, homographies; [`assign`]: the Hungarian solver.
//! - `ball_edges`: the pixel-level parts of `ball_detection` (edge rays, circle fit,
//!   chamfer distance).
//! - `pocket_jaws`: where in the image a ball can rest in a pocket's mouth (for
//!   `ball_detection`).
//! - [`reuse_list`]: a result list that keeps its elements' buffers (no per-frame allocation).
//! - [`vision_harness`]: the camera side in process (what the tracking test and bench score).

pub mod assign;
pub mod ball_detection;
mod ball_edges;
pub mod ball_tracking;
pub mod cue_detection;
pub mod game_state;
pub mod geometry;
mod pocket_jaws;
pub mod reuse_list;
pub mod table_detection;
pub mod trajectory;

use framebus_core::harness::Harness;
use serde_json::json;

/// The camera side — `table_detection` → `ball_detection` → `cue_detection` →
/// `ball_tracking` → `game_state`, default params — in a [`Harness`] (in process, frame by
/// frame): what the `billiards_tracking` test and `framebus bench --only billiards_live`
/// score against the synthetic table's truth.
pub fn vision_harness() -> Result<Harness, String> {
    Harness::builder()
        .stage::<table_detection::TableDetection>("table_detection", json!({}))
        .stage::<ball_detection::BallDetection>("ball_detection", json!({}))
        .stage::<cue_detection::CueDetectionStage>("cue_detection", json!({}))
        .stage::<ball_tracking::BallTracking>("ball_tracking", json!({}))
        .stage::<game_state::GameStateStage>("game_state", json!({}))
        .build()
}
