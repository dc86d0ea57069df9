//! Logged-model handlers (`/logged-models/*`, MLflow 3), including their artifact listing and files.

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, searching, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::logged_models as svc;
use crate::storage::path::safe_path;
use crate::types::registry_requests::*;
use crate::types::responses::ListArtifactsResponse;

#[utoipa::path(post, path = "/api/2.0/mlflow/logged-models", tag = "logged-models", request_body = CreateLoggedModel,
    responses((status = 200, body = LoggedModelResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(st: State, Body(req): Body<CreateLoggedModel>) -> ApiResult<HttpResponse> {
    let model = blocking(st, move |s| svc::create(s, &req)).await?;
    json(&LoggedModelResponse { model })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/logged-models/{model_id}", tag = "logged-models", params(("model_id" = String, Path), GetLoggedModel),
    responses((status = 200, body = LoggedModelResponse), (status = 404, body = ErrorBody)))]
pub async fn get(
    st: State,
    id: web::Path<String>,
    Query(q): Query<GetLoggedModel>,
) -> ApiResult<HttpResponse> {
    let model = blocking(st, move |s| {
        svc::get(s, &id, q.allow_deleted.unwrap_or(false))
    })
    .await?;
    json(&LoggedModelResponse { model })
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/logged-models/{model_id}", tag = "logged-models", params(("model_id" = String, Path)),
    request_body = FinalizeLoggedModel, responses((status = 200, body = LoggedModelResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn finalize(
    st: State,
    id: web::Path<String>,
    Body(req): Body<FinalizeLoggedModel>,
) -> ApiResult<HttpResponse> {
    let model = blocking(st, move |s| svc::finalize(s, &id, req.status.as_deref())).await?;
    json(&LoggedModelResponse { model })
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/logged-models/{model_id}", tag = "logged-models", params(("model_id" = String, Path)),
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete(st: State, id: web::Path<String>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::delete(s, &id)).await?;
    empty()
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/logged-models/{model_id}/tags", tag = "logged-models", params(("model_id" = String, Path)),
    request_body = LoggedModelTags, responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tags(
    st: State,
    id: web::Path<String>,
    Body(req): Body<LoggedModelTags>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::set_tags(s, &id, &req.tags)).await?;
    empty()
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}", tag = "logged-models",
    params(("model_id" = String, Path), ("tag_key" = String, Path)),
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(st: State, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (id, key) = path.into_inner();
    blocking(st, move |s| svc::delete_tag(s, &id, &key)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/logged-models/{model_id}/params", tag = "logged-models", params(("model_id" = String, Path)),
    request_body = LoggedModelParams, responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_params(
    st: State,
    id: web::Path<String>,
    Body(req): Body<LoggedModelParams>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::log_params(s, &id, &req.params)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/logged-models/search", tag = "logged-models", request_body = SearchLoggedModels,
    responses((status = 200, body = LoggedModelsPage), (status = 400, body = ErrorBody)))]
pub async fn search(
    st: State,
    http: HttpRequest,
    Body(req): Body<SearchLoggedModels>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&http);
    let (models, next_page_token) = searching(st, move |s| {
        svc::search(s, &req, &super::visible(s, who.as_ref(), "experiment")?)
    })
    .await?;
    json(&LoggedModelsPage {
        models,
        next_page_token,
    })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories", tag = "logged-models",
    params(("model_id" = String, Path), LoggedModelDirReq),
    responses((status = 200, body = ListArtifactsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_artifacts(
    st: State,
    id: web::Path<String>,
    Query(q): Query<LoggedModelDirReq>,
) -> ApiResult<HttpResponse> {
    let rel = safe_path(q.artifact_directory_path.as_deref().unwrap_or(""), true)?;
    let root_uri = blocking(st.clone(), move |s| svc::artifact_location(s, &id)).await?;
    let files = crate::service::artifacts::resolve_root(&st, &root_uri)?
        .list(&rel)
        .await?;
    json(&ListArtifactsResponse { root_uri, files })
}

/// `GET /ajax-api/2.0/mlflow/logged-models/{id}/artifacts/files?artifact_file_path=` (UI previews).
pub async fn get_artifact(
    st: State,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<LoggedModelFileReq>,
) -> ApiResult<HttpResponse> {
    let rel = safe_path(q.artifact_file_path.as_deref().unwrap_or(""), false)?;
    let root_uri = blocking(st.clone(), move |s| svc::artifact_location(s, &id)).await?;
    let root = crate::service::artifacts::resolve_root(&st, &root_uri)?;
    super::artifacts::send_from(&req, &root, &rel).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/logged-models").route(web::post().to(create)))
        .service(web::resource("/logged-models/search").route(web::post().to(search)))
        .service(
            web::resource("/logged-models/{model_id}")
                .route(web::get().to(get))
                .route(web::patch().to(finalize))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/logged-models/{model_id}/tags").route(web::patch().to(set_tags)))
        .service(
            web::resource("/logged-models/{model_id}/tags/{tag_key}")
                .route(web::delete().to(delete_tag)),
        )
        .service(
            web::resource("/logged-models/{model_id}/params").route(web::post().to(log_params)),
        )
        .service(
            web::resource("/logged-models/{model_id}/artifacts/directories")
                .route(web::get().to(list_artifacts)),
        )
        .service(
            web::resource("/logged-models/{model_id}/artifacts/files")
                .route(web::get().to(get_artifact)),
        );
}
