//! `/metrics`: Prometheus text exposition (format 0.0.4) of the runtime, the hub, the
//! WebSocket clients and browser ingest, written from the same counters REST shows.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use framebus_protocol::RunState;

use crate::{AppState, security};

/// The `/metrics` route (behind the token check).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::require_token,
        ))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
}

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.head(name, kind, help);
        let _ = writeln!(self.0, "{name} {value}");
    }
    fn line(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
    }
}

/// The whole exposition.
pub(crate) fn render(state: &AppState) -> String {
    let s = &state.inner;
    let status = s.runtime.status();
    let mut o = Out(String::with_capacity(8192));
    o.one("framebus_up", "gauge", "1 while the server runs", 1);
    o.one(
        "framebus_uptime_seconds",
        "gauge",
        "Seconds since the server started",
        s.started.elapsed().as_secs_f64(),
    );
    o.head("framebus_run_state", "gauge", "1 for the current run state");
    for st in [RunState::Paused, RunState::Running, RunState::Recording] {
        o.line(
            "framebus_run_state",
            &format!("state=\"{}\"", st.as_str()),
            u8::from(st == status.state),
        );
    }
    o.one(
        "framebus_snapshots_total",
        "counter",
        "Snapshots built by the runtime",
        status.sequence,
    );

    type SourceField = fn(&framebus_core::runtime::SourceStatus) -> f64;
    let per_source: [(&str, &str, &str, SourceField); 6] = [
        (
            "framebus_source_frames_sent_total",
            "counter",
            "Frames handed to the source's edge",
            |x| x.sent as f64,
        ),
        (
            "framebus_source_frames_dropped_total",
            "counter",
            "Frames dropped by the source's edge",
            |x| x.dropped as f64,
        ),
        (
            "framebus_source_frames_processed_total",
            "counter",
            "Frames processed by the pipeline",
            |x| x.processed as f64,
        ),
        (
            "framebus_source_queue_depth",
            "gauge",
            "Frames waiting in the edge",
            |x| x.queue_depth as f64,
        ),
        (
            "framebus_source_fps",
            "gauge",
            "Processed frames per second (smoothed)",
            |x| x.fps,
        ),
        (
            "framebus_source_capturing",
            "gauge",
            "1 while the capture thread runs",
            |x| f64::from(u8::from(x.capturing)),
        ),
    ];
    for (name, kind, help, f) in per_source {
        o.head(name, kind, help);
        for src in &status.sources {
            o.line(name, &format!("source=\"{}\"", label(&src.id)), f(src));
        }
    }

    type StageField = fn(&framebus_core::runtime::StageStatus) -> f64;
    let per_stage: [(&str, &str, &str, StageField); 5] = [
        (
            "framebus_stage_frames_total",
            "counter",
            "Frames processed by the stage",
            |x| x.frames as f64,
        ),
        (
            "framebus_stage_failures_total",
            "counter",
            "Frames on which the stage failed or panicked",
            |x| x.failures as f64,
        ),
        (
            "framebus_stage_deadline_misses_total",
            "counter",
            "Frames a thread stage missed its deadline_ms on (result absent)",
            |x| x.deadline_misses as f64,
        ),
        (
            "framebus_stage_skipped_total",
            "counter",
            "Frames not given to a thread stage still busy with an earlier frame",
            |x| x.skipped as f64,
        ),
        (
            "framebus_stage_enabled",
            "gauge",
            "1 while the stage is enabled",
            |x| f64::from(u8::from(x.enabled)),
        ),
    ];
    for (name, kind, help, f) in per_stage {
        o.head(name, kind, help);
        for src in &status.sources {
            for st in &src.stages {
                let l = format!("source=\"{}\",stage=\"{}\"", label(&src.id), label(&st.id));
                o.line(name, &l, f(st));
            }
        }
    }
    o.head(
        "framebus_stage_duration_seconds",
        "histogram",
        "Time per frame in the stage",
    );
    for src in &status.sources {
        for st in &src.stages {
            let base = format!("source=\"{}\",stage=\"{}\"", label(&src.id), label(&st.id));
            let mut cumulative = 0u64;
            let last = st.histogram_us_log2.len().saturating_sub(1);
            for (i, c) in st.histogram_us_log2.iter().enumerate() {
                cumulative += c;
                if i < last {
                    let le = (1u64 << i) as f64 / 1e6;
                    o.line(
                        "framebus_stage_duration_seconds_bucket",
                        &format!("{base},le=\"{le}\""),
                        cumulative,
                    );
                }
            }
            o.line(
                "framebus_stage_duration_seconds_bucket",
                &format!("{base},le=\"+Inf\""),
                cumulative,
            );
            o.line(
                "framebus_stage_duration_seconds_sum",
                &base,
                st.mean_ms * st.frames as f64 / 1e3,
            );
            o.line("framebus_stage_duration_seconds_count", &base, st.frames);
        }
    }

    let t = s.clients.totals();
    o.one(
        "framebus_ws_clients",
        "gauge",
        "WebSocket clients connected",
        t.connected,
    );
    o.one(
        "framebus_ws_clients_accepted_total",
        "counter",
        "WebSocket clients accepted",
        t.accepted,
    );
    o.one(
        "framebus_ws_clients_refused_total",
        "counter",
        "WebSocket upgrades refused (token, Origin, limit)",
        t.refused,
    );
    o.one(
        "framebus_ws_clients_closed_slow_total",
        "counter",
        "Clients closed for being too slow",
        t.closed_slow,
    );
    o.one(
        "framebus_ws_clients_closed_idle_total",
        "counter",
        "Clients closed for being idle",
        t.closed_idle,
    );
    let c = &t.stats;
    let counters: [(&str, &str, u64); 13] = [
        (
            "framebus_ws_bytes_sent_total",
            "Payload bytes sent to WebSocket clients",
            c.bytes_sent,
        ),
        (
            "framebus_ws_messages_sent_total",
            "Messages sent to WebSocket clients",
            c.messages_sent,
        ),
        (
            "framebus_ws_snapshots_sent_total",
            "Snapshots sent",
            c.snapshots_sent,
        ),
        (
            "framebus_ws_snapshots_direct_total",
            "Snapshots written by the publishing thread itself (no writer task woken)",
            c.snapshots_direct,
        ),
        (
            "framebus_ws_video_frames_sent_total",
            "Video preview frames sent",
            c.video_sent,
        ),
        (
            "framebus_ws_events_sent_total",
            "Events and alerts sent",
            c.events_sent,
        ),
        (
            "framebus_ws_snapshots_dropped_total",
            "Snapshots skipped because a client was busy (latest wins)",
            c.dropped,
        ),
        (
            "framebus_ws_snapshots_capped_total",
            "Snapshots held back by client fps caps",
            c.capped,
        ),
        (
            "framebus_ws_video_frames_dropped_total",
            "Video frames skipped for busy or capped clients",
            c.video_dropped,
        ),
        (
            "framebus_ws_events_dropped_total",
            "Events lost by clients that fell behind",
            c.events_dropped,
        ),
        (
            "framebus_ws_compressed_total",
            "Messages sent compressed",
            c.compressed,
        ),
        (
            "framebus_ws_failed_sends_total",
            "Sends that failed or timed out",
            c.failed_sends,
        ),
        (
            "framebus_ws_commands_total",
            "Commands received over WebSocket",
            c.commands,
        ),
    ];
    for (name, help, v) in counters {
        o.one(name, "counter", help, v);
    }
    o.head(
        "framebus_ws_send_lag_seconds",
        "summary",
        "Time from publish to written to a client socket",
    );
    o.line(
        "framebus_ws_send_lag_seconds",
        "quantile=\"0.5\"",
        c.lag_p50_ms / 1e3,
    );
    o.line(
        "framebus_ws_send_lag_seconds",
        "quantile=\"0.99\"",
        c.lag_p99_ms / 1e3,
    );

    let v = &s.hub.inner.video;
    o.one(
        "framebus_video_watchers",
        "gauge",
        "Clients subscribed to video",
        v.watchers(),
    );
    o.one(
        "framebus_video_frames_encoded_total",
        "counter",
        "Preview frames encoded (once each)",
        v.encoded(),
    );
    o.one(
        "framebus_video_encode_failures_total",
        "counter",
        "Preview frames that failed to encode",
        v.failed(),
    );
    let i = &s.ingest;
    o.one(
        "framebus_ingest_frames_received_total",
        "counter",
        "Browser frames received",
        i.received.load(Ordering::Relaxed),
    );
    o.one(
        "framebus_ingest_frames_accepted_total",
        "counter",
        "Browser frames accepted",
        i.accepted.load(Ordering::Relaxed),
    );
    o.one(
        "framebus_ingest_frames_refused_total",
        "counter",
        "Browser frames refused",
        i.refused.load(Ordering::Relaxed),
    );
    o.one(
        "framebus_ingest_bytes_total",
        "counter",
        "Browser frame bytes received",
        i.bytes.load(Ordering::Relaxed),
    );
    o.0
}
