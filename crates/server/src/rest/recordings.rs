//! REST recordings and clips: listings of what the recorder wrote under the recordings
//! directory, and downloads of each file with its content type and HTTP range requests
//! (browsers seek in MP4 with them). A name that could leave its folder (`..`, a separator,
//! an absolute path, a hidden file) is refused before the file system is touched.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use framebus_media::encode::probe;
use framebus_media::record::ActiveRecording;
use framebus_media::record::names::is_plain_name;
use serde::Serialize;
use serde_json::Value;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::AppState;
use crate::error::ApiError;

/// One file of a session or a clip.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FileEntry {
    /// File name.
    name: String,
    /// Size in bytes.
    bytes: u64,
    /// Content type it is served with.
    content_type: &'static str,
    /// Download URL.
    url: String,
    /// Video frames (MP4 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<u64>,
    /// Duration in seconds (MP4 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_s: Option<f64>,
}

/// One recording session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SessionEntry {
    /// Session name (its folder).
    name: String,
    /// Total size in bytes.
    bytes: u64,
    /// Longest video duration in seconds.
    duration_s: f64,
    /// True while it is being recorded (its videos appear when it closes).
    active: bool,
    /// Its files.
    files: Vec<FileEntry>,
}

/// `GET /api/v1/recordings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RecordingsBody {
    /// The recordings directory.
    recordings_dir: String,
    /// The session being recorded: elapsed time, frames, encoded bytes, dropped frames.
    #[schema(value_type = Option<Object>)]
    active: Option<ActiveRecording>,
    /// Sessions, newest first.
    sessions: Vec<SessionEntry>,
}

/// One clip.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClipEntry {
    /// Clip id.
    id: String,
    /// Its MP4.
    file: FileEntry,
    /// What `save_clip` recorded about it (source, label, frame ids, times).
    #[schema(value_type = Object)]
    meta: Value,
}

/// `GET /api/v1/clips`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClipsBody {
    /// Clips, newest first.
    clips: Vec<ClipEntry>,
}

fn root(state: &AppState) -> PathBuf {
    state.runtime().config().runtime.recordings_dir.clone()
}

/// The content type a recording file is served with.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("json") => "application/json",
        Some("jsonl") => "application/x-ndjson",
        Some("toml") => "application/toml",
        _ => "application/octet-stream",
    }
}

fn entry(path: &Path, url: String) -> Option<FileEntry> {
    let name = path.file_name()?.to_str()?.to_owned();
    if !is_plain_name(&name) || name.ends_with(".part") {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let info = name.ends_with(".mp4").then(|| probe(path).ok()).flatten();
    Some(FileEntry {
        content_type: content_type(&name),
        bytes: meta.len(),
        frames: info.as_ref().map(|i| i.frames),
        duration_s: info.map(|i| i.duration_s),
        url,
        name,
    })
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v.reverse();
    v
}

/// Sessions and their files (sizes, durations), and the recording in progress.
#[utoipa::path(get, path = "/recordings", tag = "recordings",
    responses((status = 200, description = "Recording sessions", body = RecordingsBody)))]
pub(crate) async fn recordings(State(state): State<AppState>) -> Json<RecordingsBody> {
    let dir = root(&state);
    let active = state
        .inner
        .recorder
        .as_ref()
        .and_then(|r| r.status().active);
    let active_name = active.as_ref().map(|a| a.session.clone());
    let sessions = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            sorted_dir(&dir)
                .into_iter()
                .filter(|p| p.is_dir())
                .filter_map(|p| {
                    let name = p.file_name()?.to_str()?.to_owned();
                    if name == "clips" || !is_plain_name(&name) {
                        return None;
                    }
                    let mut files: Vec<FileEntry> = sorted_dir(&p)
                        .iter()
                        .filter_map(|f| {
                            let file = f.file_name()?.to_str()?;
                            entry(f, format!("/api/v1/recordings/{name}/{file}"))
                        })
                        .collect();
                    files.reverse();
                    Some(SessionEntry {
                        bytes: files.iter().map(|f| f.bytes).sum(),
                        duration_s: files
                            .iter()
                            .filter_map(|f| f.duration_s)
                            .fold(0.0, f64::max),
                        active: active_name.as_deref() == Some(name.as_str()),
                        files,
                        name,
                    })
                })
                .collect()
        }
    })
    .await
    .unwrap_or_default();
    Json(RecordingsBody {
        recordings_dir: dir.display().to_string(),
        active,
        sessions,
    })
}

/// Saved clips with their metadata.
#[utoipa::path(get, path = "/clips", tag = "recordings",
    responses((status = 200, description = "Clips", body = ClipsBody)))]
pub(crate) async fn clips(State(state): State<AppState>) -> Json<ClipsBody> {
    let dir = root(&state).join("clips");
    let clips = tokio::task::spawn_blocking(move || {
        sorted_dir(&dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .filter_map(|p| {
                let file_name = p.file_name()?.to_str()?.to_owned();
                let file = entry(&p, format!("/api/v1/clips/{file_name}"))?;
                let meta = std::fs::read_to_string(p.with_extension("json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or(Value::Null);
                Some(ClipEntry {
                    id: file_name.trim_end_matches(".mp4").to_owned(),
                    file,
                    meta,
                })
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    Json(ClipsBody { clips })
}

/// `dir/name…` when every name is plain and the file exists inside `dir`.
fn resolve(dir: &Path, names: &[&str]) -> Result<PathBuf, ApiError> {
    if let Some(bad) = names.iter().find(|n| !is_plain_name(n)) {
        return Err(ApiError::bad_message(format!(
            "`{bad}` is not a plain file name"
        )));
    }
    let path = names.iter().fold(dir.to_path_buf(), |p, n| p.join(n));
    let not_found = || ApiError::not_found(format!("no file `{}`", names.join("/")));
    let (Ok(real), Ok(root)) = (path.canonicalize(), dir.canonicalize()) else {
        return Err(not_found());
    };
    if !real.starts_with(&root) || !real.is_file() {
        return Err(not_found());
    }
    Ok(real)
}

async fn serve(path: PathBuf, req: Request) -> Response {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    match ServeFile::new(&path).oneshot(req).await {
        Ok(mut res) => {
            if res.status().is_success() {
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&name)),
                );
            }
            res.into_response()
        }
        Err(e) => ApiError::not_found(format!("cannot read `{name}`: {e}")).into_response(),
    }
}

/// A file of a session (`video/mp4`, JSON lines, JSON); supports `Range`.
#[utoipa::path(get, path = "/recordings/{session}/{file}", tag = "recordings",
    params(("session" = String, Path, description = "Session name"),
           ("file" = String, Path, description = "File name")),
    responses((status = 200, description = "The file"), (status = 206, description = "A range of it"),
              (status = 400, description = "Not a plain name"), (status = 404, description = "No such file")))]
pub(crate) async fn recording_file(
    State(state): State<AppState>,
    UrlPath((session, file)): UrlPath<(String, String)>,
    req: Request,
) -> Response {
    match resolve(&root(&state), &[&session, &file]) {
        Ok(path) => serve(path, req).await,
        Err(e) => e.into_response(),
    }
}

/// A clip's MP4 (or its JSON metadata); supports `Range`.
#[utoipa::path(get, path = "/clips/{file}", tag = "recordings",
    params(("file" = String, Path, description = "File name (`<id>.mp4`)")),
    responses((status = 200, description = "The file"), (status = 206, description = "A range of it"),
              (status = 400, description = "Not a plain name"), (status = 404, description = "No such file")))]
pub(crate) async fn clip_file(
    State(state): State<AppState>,
    UrlPath(file): UrlPath<String>,
    req: Request,
) -> Response {
    match resolve(&root(&state).join("clips"), &[&file]) {
        Ok(path) => serve(path, req).await,
        Err(e) => e.into_response(),
    }
}
