//! Resolving a run's, logged model's or model version's artifact URI onto something the read routes
//! (`artifacts/list`, `/get-artifact`, the logged-model and model-version file routes) can serve: a
//! folder of the proxied store (`mlflow-artifacts:` URIs, and `http(s)://…/mlflow-artifacts/artifacts/…`
//! URIs that name this server's own proxy), or a local directory (`file://` URIs and absolute paths,
//! read in place, as `mlflow server` reads them).

use std::sync::Arc;

use super::local::LocalStore;
use super::path::{safe_path, SafePath};
use super::{local_path, FileInfo, Object, Store};
use crate::error::{ApiError, ApiResult};

/// An artifact root that can be read.
pub enum Root {
    /// A folder of the proxied store.
    Proxied(Arc<Store>, SafePath),
    /// A local directory, read in place.
    Local(Store),
}

impl Root {
    /// Entries under `rel`, with paths relative to the root (as MLflow lists them).
    pub async fn list(&self, rel: &SafePath) -> ApiResult<Vec<FileInfo>> {
        let mut files = match self {
            Root::Proxied(store, base) => store.list(&base.join(rel)).await?,
            Root::Local(store) => store.list(rel).await?,
        };
        if !rel.is_root() {
            for f in &mut files {
                f.path = format!("{}/{}", rel.as_str(), f.path);
            }
        }
        Ok(files)
    }

    /// The store and the path of `rel` in it, for a download.
    pub fn locate(&self, rel: &SafePath) -> (&Store, SafePath) {
        match self {
            Root::Proxied(store, base) => (store, base.join(rel)),
            Root::Local(store) => (store, rel.clone()),
        }
    }

    /// Store `data` under `rel` (the UI's small uploads).
    pub async fn put(&self, rel: &SafePath, data: bytes::Bytes) -> ApiResult<u64> {
        if let Root::Local(Store::Local(l)) = self {
            let l = l.clone();
            tokio::task::spawn_blocking(move || l.ensure_writable())
                .await
                .map_err(|e| ApiError::internal(format!("storage worker failed: {e}")))??;
        }
        let (store, p) = self.locate(rel);
        let body = futures_util::stream::iter([Ok::<_, ApiError>(data)]);
        store.put(&p, body).await
    }

    pub async fn get(&self, rel: &SafePath, range: Option<String>) -> ApiResult<Object> {
        let (store, p) = self.locate(rel);
        store.get(&p, range).await
    }
}

/// The path inside the proxy that an `http(s)://host/<prefix>/api/2.0/mlflow-artifacts/artifacts/<path>`
/// URI names (the `--default-artifact-root` form that sends clients through the proxy by URL).
fn proxy_url_path(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))?;
    let (_, path) = rest.split_once('/')?;
    [
        "api/2.0/mlflow-artifacts/artifacts",
        "ajax-api/2.0/mlflow-artifacts/artifacts",
    ]
    .iter()
    .find_map(|marker| {
        let i = path.find(marker)?;
        let after = &path[i + marker.len()..];
        (after.is_empty() || after.starts_with('/')).then(|| after.trim_start_matches('/'))
    })
}

fn not_proxied(uri: &str) -> ApiError {
    ApiError::invalid(format!(
        "Artifacts at '{uri}' are not served by this server's artifact proxy"
    ))
}

/// Resolve `uri` (`proxy`: the proxied store, when the server serves artifacts).
pub fn resolve(uri: &str, proxy: Option<&Arc<Store>>) -> ApiResult<Root> {
    let proxied = |rest: &str| -> ApiResult<Root> {
        let store = proxy.ok_or_else(|| {
            ApiError::invalid(format!(
                "Artifacts at '{uri}' live in the artifact proxy, which this server does not serve (--no-serve-artifacts)"
            ))
        })?;
        Ok(Root::Proxied(store.clone(), safe_path(rest, true)?))
    };
    if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
        let rest = match rest.strip_prefix("//") {
            Some(netloc_and_path) => netloc_and_path.split_once('/').map_or("", |(_, p)| p),
            None => rest.trim_start_matches('/'),
        };
        return proxied(rest);
    }
    if let Some(rest) = proxy_url_path(uri) {
        return proxied(rest);
    }
    match local_path(uri) {
        Some(p) if p.starts_with('/') => Ok(Root::Local(Store::Local(LocalStore::view(&p)))),
        _ => Err(not_proxied(uri)),
    }
}

#[cfg(test)]
mod tests {
    use super::proxy_url_path;

    #[test]
    fn proxy_urls() {
        assert_eq!(
            proxy_url_path(
                "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
            ),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            proxy_url_path("https://h/prefix/ajax-api/2.0/mlflow-artifacts/artifacts"),
            Some("")
        );
        assert_eq!(
            proxy_url_path("http://h/api/2.0/mlflow-artifacts/artifactsX/1"),
            None
        );
        assert_eq!(
            proxy_url_path("s3://b/api/2.0/mlflow-artifacts/artifacts/1"),
            None
        );
    }
}
