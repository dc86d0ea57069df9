//! Artifact rules: whether the proxy serves, which store it uses, and resolving a run's artifact URI
//! onto that store for the tracking `artifacts/list` and `/get-artifact` routes.

use std::fs::File;
use std::path::PathBuf;

use super::AppState;
use crate::db_read;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::run_data::RunReader;
use crate::storage::path::{safe_path, SafePath};
use crate::storage::{proxied_path, FileInfo, Store};
use crate::types::requests::{run_id_of, ListArtifactsReq, RunArtifactReq};

/// The proxy answers only with `--serve-artifacts` (the default). MLflow sends a plain-text 503 here;
/// Harvester answers 404 `ENDPOINT_NOT_FOUND` so that clients do not retry a deterministic refusal.
pub fn serving(st: &AppState) -> ApiResult<()> {
    if st.artifacts.is_some() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::ENDPOINT_NOT_FOUND,
        "Artifact serving is disabled: this server runs with --no-serve-artifacts",
    ))
}

pub fn store(st: &AppState) -> ApiResult<&Store> {
    serving(st)?;
    st.artifacts
        .as_deref()
        .ok_or_else(|| ApiError::internal("no artifact store"))
}

/// Open an existing file of the proxied store: 404 when missing, 400 for a directory.
pub fn open_proxied(st: &AppState, p: &SafePath) -> ApiResult<(File, PathBuf)> {
    store(st)?.open_file(p)
}

/// A run's artifact root on the proxied store, and its URI (only the run row is read).
fn run_root(st: &AppState, run_id: &str) -> ApiResult<(String, SafePath)> {
    let uri = db_read!(st.db, |conn| conn.run_row(run_id))?.artifact_uri;
    let root = proxied_path(&uri)?;
    Ok((uri, root))
}

/// `artifacts/list`: entries under `path` of the run's artifacts, with paths relative to the run root.
pub fn list_run(st: &AppState, req: &ListArtifactsReq) -> ApiResult<(String, Vec<FileInfo>)> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let rel = safe_path(req.path.as_deref().unwrap_or(""), true)?;
    let (uri, root) = run_root(st, run_id)?;
    let mut files = store(st)?.list(&root.join(&rel))?;
    for f in &mut files {
        f.path = if rel.is_root() {
            f.path.clone()
        } else {
            format!("{}/{}", rel.as_str(), f.path)
        };
    }
    Ok((uri, files))
}

/// `/get-artifact`: one file of a run's artifacts.
pub fn open_run_file(st: &AppState, q: &RunArtifactReq) -> ApiResult<(File, PathBuf)> {
    let run_id = run_id_of(&q.run_id, &q.run_uuid)?;
    let rel = safe_path(q.path.as_deref().unwrap_or(""), false)?;
    let (_, root) = run_root(st, run_id)?;
    open_proxied(st, &root.join(&rel))
}
