//! Billiards trainer stages (seed 002). The physics they use is the `framebus-billiards`
//! crate.
//!
//! A pipeline runs `table_detection` (playing area and homography) → `ball_detection`
//! (balls and their identities) → `cue_detection` (the cue's line) → `ball_tracking`
//! (Kalman tracks in table metres with stable ids) → `trajectory` → `game_state` (events).

pub mod assign;
pub mod ball_detection;
pub mod geometry;
pub mod table_detection;
