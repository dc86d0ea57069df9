//! Artifact storage behind one interface: the store that `--artifacts-destination` names (local disk,
//! the embedded default, or S3, the production backend), plus resolving run artifact URIs onto it.

pub mod copy;
pub mod local;
pub mod mime;
pub mod path;
pub mod roots;
pub mod s3;
pub mod uri;

use bytes::Bytes;
use futures_util::Stream;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use local::LocalStore;
use path::SafePath;
use s3::S3Store;

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
    S3(S3Store),
}

/// An artifact opened for download.
pub enum Object {
    /// A local file (served with ranges, ETag and Last-Modified by `actix-files`).
    File(std::fs::File, std::path::PathBuf),
    /// An object streamed from S3; ranges are answered by S3 itself.
    Remote(s3::Remote),
}

/// Run a blocking local-disk call on the blocking pool.
async fn on_disk<T, F>(l: &LocalStore, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&LocalStore) -> ApiResult<T> + Send + 'static,
{
    let l = l.clone();
    tokio::task::spawn_blocking(move || f(&l))
        .await
        .map_err(|e| ApiError::internal(format!("storage worker failed: {e}")))?
}

impl Store {
    /// Open the store for `--artifacts-destination`: a local path, a `file://` URI or `s3://bucket/prefix`
    /// (`public_endpoint`: the S3 endpoint clients reach, for presigned URLs).
    pub async fn open(destination: &str, public_endpoint: Option<&str>) -> Result<Store, String> {
        if destination.starts_with("s3://") {
            let s = S3Store::open(destination, public_endpoint).await?;
            if let Err(e) = s.check().await {
                tracing::warn!("artifact bucket not reachable yet: {e}");
            }
            return Ok(Store::S3(s));
        }
        match local_path(destination) {
            Some(p) => Ok(Store::Local(LocalStore::open(&p)?)),
            None => Err(format!(
                "Unsupported --artifacts-destination '{destination}': expected a local path or s3://bucket/prefix"
            )),
        }
    }

    /// Store a streamed body under `p`, atomically (see each backend).
    pub async fn put<S>(&self, p: &SafePath, body: S) -> ApiResult<u64>
    where
        S: Stream<Item = ApiResult<Bytes>> + Unpin,
    {
        match self {
            Store::Local(l) => l.put(p, body).await,
            Store::S3(s) => s.put(p, body).await,
        }
    }

    /// Entries directly under `p`, sorted (a missing path or a file lists as empty).
    pub async fn list(&self, p: &SafePath) -> ApiResult<Vec<FileInfo>> {
        match self {
            Store::Local(l) => {
                let p = p.clone();
                on_disk(l, move |l| l.list(&p)).await
            }
            Store::S3(s) => s.list(p).await,
        }
    }

    /// Open an existing file: 404 when missing (400 for a local directory). `range` is the request's
    /// `Range` header, used by S3 (actix-files reads it itself for local files).
    pub async fn get(&self, p: &SafePath, range: Option<String>) -> ApiResult<Object> {
        match self {
            Store::Local(l) => {
                let p = p.clone();
                let (f, real) = on_disk(l, move |l| l.open_file(&p)).await?;
                Ok(Object::File(f, real))
            }
            Store::S3(s) => Ok(Object::Remote(s.get(p, range).await?)),
        }
    }

    /// Remove a file or a tree; missing is fine.
    pub async fn delete(&self, p: &SafePath) -> ApiResult<()> {
        match self {
            Store::Local(l) => {
                let p = p.clone();
                on_disk(l, move |l| l.delete(&p)).await
            }
            Store::S3(s) => s.delete(p).await,
        }
    }

    /// The S3 store, which also supports multipart uploads and presigned downloads (local disk does not).
    pub fn as_s3(&self) -> Option<&S3Store> {
        match self {
            Store::S3(s) => Some(s),
            Store::Local(_) => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Local(l) => l.root().display().to_string(),
            Store::S3(s) => s.describe(),
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
