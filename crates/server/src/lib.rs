//! framebus-server: the axum app (WebSocket stream, REST API, metrics, embedded UI).

pub mod ui;
