//! Artifact rules: whether the proxy serves, which store it uses, direct (multipart and presigned)
//! transfers, and resolving a run's artifact URI onto the store for `artifacts/list` and `/get-artifact`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::AppState;
use crate::db_read;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::run_data::RunReader;
use crate::storage::path::{safe_path, SafePath};
use crate::storage::roots::Root;
use crate::storage::s3::{Presigned, S3Store};
use crate::storage::Store;
use crate::types::requests::{MpuAbortReq, MpuCompleteReq, MpuCreateReq};
use crate::types::responses::{MpuCreateResponse, MpuCredential, PresignedResponse};

/// The proxy answers only with `--serve-artifacts` (the default). MLflow sends a plain-text 503 here;
/// Harvester answers 404 `ENDPOINT_NOT_FOUND` so that clients do not retry a deterministic refusal.
pub fn store(st: &AppState) -> ApiResult<&Store> {
    st.artifacts.as_deref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::ENDPOINT_NOT_FOUND,
            "Artifact serving is disabled: this server runs with --no-serve-artifacts",
        )
    })
}

/// Whether clients are told to upload in parts and download from presigned URLs (server-info): on S3,
/// unless `--s3-direct-transfers false`. (The routes themselves answer either way, as MLflow's do.)
pub fn direct_transfers(st: &AppState) -> bool {
    st.config.s3_direct_transfers && st.artifacts.as_deref().and_then(Store::as_s3).is_some()
}

fn s3_store<'a>(st: &'a AppState, what: &str) -> ApiResult<&'a S3Store> {
    store(st)?.as_s3().ok_or_else(|| {
        ApiError::new(
            ErrorCode::NOT_IMPLEMENTED,
            format!("{what} is not supported for the current artifact repository"),
        )
    })
}

/// The object a multipart request names: the directory in the URL plus the base name of the client's
/// local file (`path` in the body), as MLflow's S3 repository builds it.
fn mpu_target(dir: &str, local_file: &Option<String>) -> ApiResult<SafePath> {
    let dir = safe_path(dir, true)?;
    let local = local_file
        .as_deref()
        .ok_or_else(|| ApiError::missing("path"))?;
    let base = local.rsplit(['/', '\\']).next().unwrap_or("");
    Ok(dir.join(&safe_path(base, false)?))
}

fn header_map(h: Vec<(String, String)>) -> BTreeMap<String, String> {
    h.into_iter().collect()
}

/// `mpu/create`: an upload id and one presigned part URL per part.
pub async fn mpu_create(
    st: &AppState,
    dir: &str,
    req: MpuCreateReq,
) -> ApiResult<MpuCreateResponse> {
    let s3 = s3_store(st, "Multipart upload")?;
    let target = mpu_target(dir, &req.path)?;
    let n = req.num_parts.unwrap_or(1);
    let n = i32::try_from(n).map_err(|_| ApiError::invalid(format!("Invalid num_parts: {n}")))?;
    let (upload_id, urls) = s3.mpu_create(&target, n).await?;
    let credentials = urls
        .into_iter()
        .zip(1..)
        .map(|(Presigned { url, headers }, part_number)| MpuCredential {
            url,
            part_number,
            headers: header_map(headers),
        })
        .collect();
    Ok(MpuCreateResponse {
        upload_id,
        credentials,
    })
}

/// The store, object and upload id an `mpu/complete` or `mpu/abort` request names.
fn open_upload<'a>(
    st: &'a AppState,
    dir: &str,
    local_file: &Option<String>,
    upload_id: Option<String>,
) -> ApiResult<(&'a S3Store, SafePath, String)> {
    let s3 = s3_store(st, "Multipart upload")?;
    let target = mpu_target(dir, local_file)?;
    let upload_id = upload_id
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::missing("upload_id"))?;
    Ok((s3, target, upload_id))
}

pub async fn mpu_complete(st: &AppState, dir: &str, req: MpuCompleteReq) -> ApiResult<()> {
    let (s3, target, upload_id) = open_upload(st, dir, &req.path, req.upload_id)?;
    if req.parts.is_empty() {
        return Err(ApiError::missing("parts"));
    }
    let parts = req
        .parts
        .into_iter()
        .map(
            |p| match (p.part_number.and_then(|n| i32::try_from(n).ok()), p.etag) {
                (Some(n), Some(etag)) => Ok((n, etag)),
                _ => Err(ApiError::invalid(
                    "Every part needs a part_number and an etag",
                )),
            },
        )
        .collect::<ApiResult<Vec<_>>>()?;
    s3.mpu_complete(&target, &upload_id, parts).await
}

pub async fn mpu_abort(st: &AppState, dir: &str, req: MpuAbortReq) -> ApiResult<()> {
    let (s3, target, upload_id) = open_upload(st, dir, &req.path, req.upload_id)?;
    s3.mpu_abort(&target, &upload_id).await
}

/// `presigned/<path>`: a direct download URL, valid for `MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS`
/// (300 s by default, as in MLflow).
pub async fn presigned_download(st: &AppState, path: &str) -> ApiResult<PresignedResponse> {
    let s3 = s3_store(st, "Multipart download")?;
    let p = safe_path(path, false)?;
    let ttl = std::env::var("MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let (Presigned { url, headers }, file_size) =
        s3.presign_get(&p, Duration::from_secs(ttl)).await?;
    Ok(PresignedResponse {
        url,
        headers: header_map(headers),
        file_size,
    })
}

/// A run's artifact root, resolved for reading, and its URI (only the run row is read; blocking).
pub fn run_root(st: &AppState, run_id: &str) -> ApiResult<(String, Root)> {
    let uri = db_read!(st.db, |conn| conn.run_row(run_id))?.artifact_uri;
    let root = resolve_root(st, &uri)?;
    Ok((uri, root))
}

/// Any artifact URI (a logged model's location, a model version's source), resolved for reading.
pub fn resolve_root(st: &AppState, uri: &str) -> ApiResult<Root> {
    crate::storage::roots::resolve(uri, st.artifacts.as_ref())
}
