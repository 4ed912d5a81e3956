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
//! - [`reuse_list`]: a result list that keeps its elements' buffers (no per-frame allocation).

pub mod assign;
pub mod ball_detection;
pub mod ball_tracking;
pub mod cue_detection;
pub mod game_state;
pub mod geometry;
pub mod reuse_list;
pub mod table_detection;
pub mod trajectory;
