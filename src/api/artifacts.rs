//! Artifact handlers: the mlflow-artifacts proxy (`/mlflow-artifacts/artifacts/<path>`, listing, multipart),
//! the tracking `artifacts/list` and `/get-artifact`. Bodies stream both ways; paths are checked by
//! [`crate::storage::path::safe_path`] before anything touches the store.

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::extract::Query;
use super::{blocking, empty, json, State};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::artifacts as svc;
use crate::storage::path::safe_path;
use crate::types::requests::{ListArtifactsReq, ProxyListReq, RunArtifactReq};
use crate::types::responses::{ListArtifactsResponse, ProxyListResponse};

enum Msg {
    Chunk(web::Bytes),
    End,
}

#[utoipa::path(put, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 503, description = "artifact serving disabled")))]
pub async fn upload(
    st: State,
    path: web::Path<String>,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    svc::serving(&st)?;
    let p = safe_path(&path, false)?;
    // The body goes to a blocking writer through a small channel: memory stays bounded (8 chunks), and
    // the file only gets its name after an explicit end, so a dropped or failed upload leaves nothing.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(8);
    let writer = blocking(st, move |s| {
        let mut up = svc::store(s)?.begin(&p)?;
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Chunk(c) => up.write(&c)?,
                Msg::End => return up.finish().map(|_| ()),
            }
        }
        Err(ApiError::invalid("Upload interrupted"))
    });
    let feed = async move {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::invalid(format!("Upload interrupted: {e}")))?;
            if tx.send(Msg::Chunk(chunk)).await.is_err() {
                return Ok(()); // the writer failed; its error is the answer
            }
        }
        let _ = tx.send(Msg::End).await;
        Ok::<(), ApiError>(())
    };
    let (written, fed) = tokio::join!(writer, feed);
    fed?;
    written?;
    empty()
}

#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")),
    responses((status = 200, description = "file bytes"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    st: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    svc::serving(&st)?;
    let p = safe_path(&path, false)?;
    let (file, real) = blocking(st, move |s| svc::open_proxied(s, &p)).await?;
    send_file(&req, file, &real)
}

/// Stream a file with MLflow's headers: guessed type, attachment, nosniff; ranges are honoured.
pub fn send_file(
    req: &HttpRequest,
    file: std::fs::File,
    real: &std::path::Path,
) -> ApiResult<HttpResponse> {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let named = NamedFile::from_file(file, real)
        .map_err(|e| ApiError::internal(format!("cannot open artifact: {e}")))?
        .use_etag(true)
        .use_last_modified(true)
        .set_content_disposition(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        });
    let mut resp = named.into_response(req);
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/artifacts", tag = "artifacts", params(ProxyListReq),
    responses((status = 200, body = ProxyListResponse), (status = 400, body = ErrorBody)))]
pub async fn list(st: State, Query(req): Query<ProxyListReq>) -> ApiResult<HttpResponse> {
    svc::serving(&st)?;
    let p = safe_path(req.path.as_deref().unwrap_or(""), true)?;
    let files = blocking(st, move |s| svc::store(s)?.list(&p)).await?;
    json(&ProxyListResponse { files })
}

#[utoipa::path(delete, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "artifacts",
    params(("path" = String, Path, description = "artifact path")),
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody)))]
pub async fn delete(st: State, path: web::Path<String>) -> ApiResult<HttpResponse> {
    svc::serving(&st)?;
    let p = safe_path(&path, false)?;
    blocking(st, move |s| svc::store(s)?.delete(&p)).await?;
    empty()
}

/// `mpu/create|complete|abort`: local storage has no multipart uploads (the client falls back to PUT).
pub async fn multipart(st: State, path: web::Path<String>) -> ApiResult<HttpResponse> {
    svc::serving(&st)?;
    safe_path(&path, false)?;
    Err(ApiError::new(
        crate::error::ErrorCode::NOT_IMPLEMENTED,
        "Multipart upload is not supported for the current artifact repository",
    ))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/artifacts/list", tag = "artifacts", params(ListArtifactsReq),
    responses((status = 200, body = ListArtifactsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_run_artifacts(
    st: State,
    Query(req): Query<ListArtifactsReq>,
) -> ApiResult<HttpResponse> {
    let (root_uri, files) = blocking(st, move |s| svc::list_run(s, &req)).await?;
    json(&ListArtifactsResponse { root_uri, files })
}

/// `GET /get-artifact?path=&run_uuid=`: one run artifact as an attachment (UI downloads and previews).
pub async fn get_run_artifact(
    st: State,
    req: HttpRequest,
    Query(q): Query<RunArtifactReq>,
) -> ApiResult<HttpResponse> {
    let (file, real) = blocking(st, move |s| svc::open_run_file(s, &q)).await?;
    send_file(&req, file, &real)
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
        .service(web::resource("/mpu/create/{path:.*}").route(web::post().to(multipart)))
        .service(web::resource("/mpu/complete/{path:.*}").route(web::post().to(multipart)))
        .service(web::resource("/mpu/abort/{path:.*}").route(web::post().to(multipart)));
}
