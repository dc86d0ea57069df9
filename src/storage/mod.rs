//! Artifact storage behind one interface: the store that `--artifacts-destination` names (local disk,
//! the embedded default; S3 is the production backend), plus resolving run artifact URIs onto it.

pub mod local;
pub mod path;

use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use local::LocalStore;
use path::{safe_path, SafePath};

/// One listing entry, as MLflow's `FileInfo`.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FileInfo {
    pub path: String,
    pub is_dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
}

/// The proxied artifact store (`--artifacts-destination`).
pub enum Store {
    Local(LocalStore),
}

impl Store {
    /// Open the store for `--artifacts-destination` (a local path or `file://` URI).
    pub fn open(destination: &str) -> Result<Store, String> {
        match local_path(destination) {
            Some(p) => Ok(Store::Local(LocalStore::open(&p)?)),
            None => Err(format!(
                "Unsupported --artifacts-destination '{destination}': expected a local path"
            )),
        }
    }

    /// Start an upload; it takes the name `p` only when finished.
    pub fn begin(&self, p: &SafePath) -> ApiResult<local::Upload> {
        match self {
            Store::Local(l) => l.begin(p),
        }
    }

    /// Basenames under `p`, sorted (a missing path or a file lists as empty).
    pub fn list(&self, p: &SafePath) -> ApiResult<Vec<FileInfo>> {
        match self {
            Store::Local(l) => l.list(p),
        }
    }

    /// Open an existing file: 404 when missing, 400 for a directory.
    pub fn open_file(&self, p: &SafePath) -> ApiResult<(std::fs::File, std::path::PathBuf)> {
        match self {
            Store::Local(l) => l.open_file(p),
        }
    }

    /// Remove a file or a tree; missing is fine.
    pub fn delete(&self, p: &SafePath) -> ApiResult<()> {
        match self {
            Store::Local(l) => l.delete(p),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Local(l) => l.root().display().to_string(),
        }
    }
}

/// `file:///x` → `/x`; a plain path stays as it is; other schemes are not local.
pub fn local_path(uri: &str) -> Option<String> {
    if let Some(rest) = uri.strip_prefix("file://") {
        return Some(rest.to_string());
    }
    if uri.contains("://") || (uri.contains(":/") && !uri.starts_with('/')) {
        return None;
    }
    Some(uri.to_string())
}

/// Where a run's (or logged model's) artifacts live, relative to the proxied store, for an
/// `mlflow-artifacts:` URI (`mlflow-artifacts:/1/<run>/artifacts`, or with a `//host:port` netloc).
pub fn proxied_path(artifact_uri: &str) -> ApiResult<SafePath> {
    let rest = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Artifacts at '{artifact_uri}' are not served by this server's artifact proxy"
            ))
        })?;
    let rest = match rest.strip_prefix("//") {
        Some(netloc_and_path) => netloc_and_path.split_once('/').map_or("", |(_, p)| p),
        None => rest.trim_start_matches('/'),
    };
    safe_path(rest, true)
}
