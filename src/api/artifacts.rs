//! Artifact handlers: the mlflow-artifacts proxy (`/mlflow-artifacts/artifacts/<path>`, listing, multipart, presigned),
//! the tracking `artifacts/list` and `/get-artifact`. Bodies stream both ways; paths are checked by
//! [`crate::storage::path::safe_path`] before anything touches the store.

use actix_files::NamedFile;
use actix_web::body::SizedStream;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::extract::{Body, Query};
use super::{blocking, empty, json, State};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::artifacts as svc;
use crate::storage::path::{safe_path, SafePath};
use crate::storage::roots::Root;
use crate::storage::{Object, Store};
use crate::types::requests::{
    run_id_of, ListArtifactsReq, MpuAbortReq, MpuCompleteReq, MpuCreateReq, ProxyListReq,
    RunArtifactReq,
};
use crate::types::responses::{
    ListArtifactsResponse, MpuCreateResponse, PresignedResponse, ProxyListResponse,
};

#[utoipa::path(put, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn upload(
    st: State,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let p = safe_path(&crate::workspace::artifact_path(&path)?, false)?;
    let idle = std::time::Duration::from_secs(st.config.body_idle_timeout_secs.max(1));
    svc::store(&st)?
        .put(&p, idle_limited(payload, idle))
        .await?;
    empty()
}

/// An upload body that fails once no byte arrived for `idle` (a stalled client), rather than waiting
/// for it forever.
fn idle_limited(
    payload: web::Payload,
    idle: std::time::Duration,
) -> impl futures_util::Stream<Item = ApiResult<web::Bytes>> + Unpin {
    Box::pin(futures_util::stream::unfold(
        (payload, false),
        move |(mut payload, failed)| async move {
            if failed {
                return None;
            }
            match tokio::time::timeout(idle, payload.next()).await {
                Ok(None) => None,
                Ok(Some(Ok(chunk))) => {
                    crate::monitoring::artifact_bytes("in", chunk.len() as u64);
                    Some((Ok(chunk), (payload, false)))
                }
                Ok(Some(Err(e))) => Some((
                    Err(ApiError::invalid(format!("Upload interrupted: {e}"))),
                    (payload, true),
                )),
                Err(_) => Some((
                    Err(ApiError::invalid(format!(
                        "Upload stalled: no data for {} s",
                        idle.as_secs()
                    ))),
                    (payload, true),
                )),
            }
        },
    ))
}

#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")),
    responses((status = 200, description = "file bytes"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    st: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let p = safe_path(&crate::workspace::artifact_path(&path)?, false)?;
    send(&req, svc::store(&st)?, &p).await
}

/// Stream an artifact with MLflow's headers: type guessed from the name, attachment, nosniff; ranges
/// are honoured (by actix-files for local files, by S3 for objects).
pub(super) async fn send(
    req: &HttpRequest,
    store: &Store,
    p: &SafePath,
) -> ApiResult<HttpResponse> {
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut resp = match store.get(p, range).await? {
        Object::File(file, real) => NamedFile::from_file(file, real)
            .map_err(|e| ApiError::internal(format!("cannot open artifact: {e}")))?
            .use_etag(true)
            .use_last_modified(true)
            .prefer_utf8(false)
            .set_content_type(crate::storage::mime::mime_type(p.file_name()))
            .into_response(req),
        Object::Remote(obj) => {
            let mut b = match &obj.content_range {
                Some(cr) => {
                    let mut b = HttpResponse::PartialContent();
                    b.insert_header((header::CONTENT_RANGE, cr.as_str()));
                    b
                }
                None => HttpResponse::Ok(),
            };
            b.content_type(crate::storage::mime::mime_type(p.file_name()))
                .insert_header((header::ACCEPT_RANGES, "bytes"));
            if let Some(etag) = &obj.etag {
                b.insert_header((header::ETAG, etag.as_str()));
            }
            if let Some(lm) = &obj.last_modified {
                b.insert_header((header::LAST_MODIFIED, lm.as_str()));
            }
            match obj.length {
                Some(len) => b.body(SizedStream::new(len as u64, obj.body)),
                None => b.streaming(obj.body),
            }
        }
    };
    if let actix_web::body::BodySize::Sized(n) = actix_web::body::MessageBody::size(resp.body()) {
        crate::monitoring::artifact_bytes("out", n);
    }
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    // MLflow's exact form (a token name unquoted), over whatever actix-files chose.
    if let Ok(v) =
        header::HeaderValue::from_str(&crate::storage::mime::content_disposition(p.file_name()))
    {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/artifacts", tag = "artifacts", params(ProxyListReq),
    responses((status = 200, body = ProxyListResponse), (status = 400, body = ErrorBody)))]
pub async fn list(st: State, Query(req): Query<ProxyListReq>) -> ApiResult<HttpResponse> {
    let p = safe_path(
        &crate::workspace::artifact_path(req.path.as_deref().unwrap_or(""))?,
        true,
    )?;
    let files = svc::store(&st)?.list(&p).await?;
    json(&ProxyListResponse { files })
}

#[utoipa::path(delete, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")),
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody)))]
pub async fn delete(st: State, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let p = safe_path(&crate::workspace::artifact_path(&path)?, false)?;
    svc::store(&st)?.delete(&p).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow-artifacts/mpu/create/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "directory of the artifact")), request_body = MpuCreateReq,
    responses((status = 200, body = MpuCreateResponse), (status = 400, body = ErrorBody), (status = 501, body = ErrorBody)))]
pub async fn mpu_create(
    st: State,
    path: web::Path<String>,
    Body(req): Body<MpuCreateReq>,
) -> ApiResult<HttpResponse> {
    json(&svc::mpu_create(&st, &crate::workspace::artifact_path(&path)?, req).await?)
}

#[utoipa::path(post, path = "/api/2.0/mlflow-artifacts/mpu/complete/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "directory of the artifact")), request_body = MpuCompleteReq,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 501, body = ErrorBody)))]
pub async fn mpu_complete(
    st: State,
    path: web::Path<String>,
    Body(req): Body<MpuCompleteReq>,
) -> ApiResult<HttpResponse> {
    svc::mpu_complete(&st, &crate::workspace::artifact_path(&path)?, req).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow-artifacts/mpu/abort/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "directory of the artifact")), request_body = MpuAbortReq,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 501, body = ErrorBody)))]
pub async fn mpu_abort(
    st: State,
    path: web::Path<String>,
    Body(req): Body<MpuAbortReq>,
) -> ApiResult<HttpResponse> {
    svc::mpu_abort(&st, &crate::workspace::artifact_path(&path)?, req).await?;
    empty()
}

#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/presigned/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")),
    responses((status = 200, body = PresignedResponse), (status = 404, body = ErrorBody), (status = 501, body = ErrorBody)))]
pub async fn presigned(st: State, path: web::Path<String>) -> ApiResult<HttpResponse> {
    json(&svc::presigned_download(&st, &crate::workspace::artifact_path(&path)?).await?)
}

#[utoipa::path(get, path = "/api/2.0/mlflow/artifacts/list", tag = "artifacts", params(ListArtifactsReq),
    responses((status = 200, body = ListArtifactsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_run_artifacts(
    st: State,
    Query(req): Query<ListArtifactsReq>,
) -> ApiResult<HttpResponse> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let rel = safe_path(req.path.as_deref().unwrap_or(""), true)?;
    let (root_uri, root) = blocking(st.clone(), move |s| svc::run_root(s, &run_id)).await?;
    let files = root.list(&rel).await?;
    json(&ListArtifactsResponse { root_uri, files })
}

/// `GET /get-artifact?path=&run_uuid=`: one run artifact as an attachment (UI downloads and previews).
pub async fn get_run_artifact(
    st: State,
    req: HttpRequest,
    Query(q): Query<RunArtifactReq>,
) -> ApiResult<HttpResponse> {
    let run_id = run_id_of(&q.run_id, &q.run_uuid)?.to_string();
    let rel = safe_path(q.path.as_deref().unwrap_or(""), false)?;
    let (_, root) = blocking(st.clone(), move |s| svc::run_root(s, &run_id)).await?;
    send_from(&req, &root, &rel).await
}

/// `POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=`: the UI's upload of one small file (at
/// most 10 MB, as in MLflow) into a run's artifacts.
pub async fn upload_run_artifact(
    st: State,
    Query(q): Query<RunArtifactReq>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    const MAX: usize = 10 * 1024 * 1024;
    let run_id = q
        .run_uuid
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid("Request must specify run_uuid."))?;
    let path = q
        .path
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("Request must specify path."))?;
    let rel = safe_path(&path, false)?;
    if body.len() > MAX {
        return Err(ApiError::invalid(
            "Artifact size is too large. Max size is 10MB.",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::invalid("Request must specify data."));
    }
    let (_, root) = blocking(st.clone(), move |s| svc::run_root(s, &run_id)).await?;
    root.put(&rel, body).await?;
    empty()
}

/// Send `rel` of a resolved artifact root.
pub(super) async fn send_from(
    req: &HttpRequest,
    root: &Root,
    rel: &SafePath,
) -> ApiResult<HttpResponse> {
    let (store, p) = root.locate(rel);
    send(req, store, &p).await
}

/// The mlflow-artifacts routes, mounted under `/api/2.0/mlflow-artifacts` and `/ajax-api/2.0/mlflow-artifacts`.
pub fn proxy_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/artifacts").route(web::get().to(list)))
        .service(
            web::resource("/artifacts/{path:.*}")
                .route(web::put().to(upload))
                .route(web::get().to(download))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/mpu/create/{path:.*}").route(web::post().to(mpu_create)))
        .service(web::resource("/mpu/complete/{path:.*}").route(web::post().to(mpu_complete)))
        .service(web::resource("/mpu/abort/{path:.*}").route(web::post().to(mpu_abort)))
        .service(web::resource("/presigned/{path:.*}").route(web::get().to(presigned)));
}
