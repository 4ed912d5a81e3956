//! Image stages: the BikeFit set of seed 000.
//!
//! A typical BikeFit pipeline runs `blob_detection` (reflective markers on the rider) →
//! `marker_manager` (named points hip/knee/ankle that follow the blobs) →
//! `geometry_manager` (knee angle over a pedal stroke), with `camera_control` showing and
//! setting the camera's exposure.

pub mod blob_detection;
pub mod camera_control;
mod components;
pub mod geometry_manager;
mod geometry_math;
pub mod marker_manager;
