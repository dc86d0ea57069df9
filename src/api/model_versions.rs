//! Model-version handlers (`/model-versions/*`): create, get, update, delete, stages, tags, search, the
//! download URI and the UI's `get-artifact`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, searching, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::model_versions as svc;
use crate::service::registry_read::parse_version;
use crate::types::registry_requests::*;
use crate::types::requests::required;

/// `name` and `version` of a request, both required.
fn key(name: &Option<String>, version: &Option<String>) -> ApiResult<(String, i64)> {
    Ok((
        required(name, "name")?.to_string(),
        parse_version(version.as_deref())?,
    ))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/model-versions/create", tag = "registry", request_body = CreateModelVersion,
    responses((status = 200, body = ModelVersionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(st: State, Body(req): Body<CreateModelVersion>) -> ApiResult<HttpResponse> {
    let model_version = blocking(st, move |s| svc::create(s, &req)).await?;
    json(&ModelVersionResponse { model_version })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/model-versions/get", tag = "registry", params(VersionReq),
    responses((status = 200, body = ModelVersionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(st: State, Query(req): Query<VersionReq>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    let model_version = blocking(st, move |s| svc::get(s, &name, version)).await?;
    json(&ModelVersionResponse { model_version })
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/model-versions/update", tag = "registry", request_body = UpdateModelVersion,
    responses((status = 200, body = ModelVersionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(st: State, Body(req): Body<UpdateModelVersion>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    let model_version = blocking(st, move |s| {
        svc::update(s, &name, version, req.description.as_deref())
    })
    .await?;
    json(&ModelVersionResponse { model_version })
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/model-versions/delete", tag = "registry", request_body = VersionReq,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete(st: State, Body(req): Body<VersionReq>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    blocking(st, move |s| svc::delete(s, &name, version)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/model-versions/transition-stage", tag = "registry", request_body = TransitionStage,
    responses((status = 200, body = ModelVersionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn transition(st: State, Body(req): Body<TransitionStage>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    let model_version = blocking(st, move |s| {
        let stage = required(&req.stage, "stage")?;
        svc::transition(
            s,
            &name,
            version,
            stage,
            req.archive_existing_versions.unwrap_or(false),
        )
    })
    .await?;
    json(&ModelVersionResponse { model_version })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/model-versions/set-tag", tag = "registry", request_body = ModelVersionTag,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tag(st: State, Body(req): Body<ModelVersionTag>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    blocking(st, move |s| {
        svc::set_tag(s, &name, version, &req.key, &req.value)
    })
    .await?;
    empty()
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/model-versions/delete-tag", tag = "registry", request_body = ModelVersionTag,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(st: State, Body(req): Body<ModelVersionTag>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    blocking(st, move |s| {
        svc::delete_tag(s, &name, version, required(&req.key, "key")?)
    })
    .await?;
    empty()
}

#[utoipa::path(get, path = "/api/2.0/mlflow/model-versions/get-download-uri", tag = "registry", params(VersionReq),
    responses((status = 200, body = DownloadUriResponse), (status = 404, body = ErrorBody)))]
pub async fn download_uri(st: State, Query(req): Query<VersionReq>) -> ApiResult<HttpResponse> {
    let (name, version) = key(&req.name, &req.version)?;
    let artifact_uri = blocking(st, move |s| svc::download_uri(s, &name, version)).await?;
    json(&DownloadUriResponse { artifact_uri })
}

async fn search(st: State, http: HttpRequest, req: SearchRegistry) -> ApiResult<HttpResponse> {
    let who = super::viewer(&http);
    let (model_versions, next_page_token) = searching(st, move |s| {
        svc::search(
            s,
            &req,
            &super::visible(s, who.as_ref(), "registered_model")?,
        )
    })
    .await?;
    json(&ModelVersionsPage {
        model_versions,
        next_page_token,
    })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/model-versions/search", tag = "registry", params(SearchRegistry),
    responses((status = 200, body = ModelVersionsPage), (status = 400, body = ErrorBody)))]
pub async fn search_get(
    st: State,
    http: HttpRequest,
    Query(req): Query<SearchRegistry>,
) -> ApiResult<HttpResponse> {
    search(st, http, req).await
}

pub async fn search_post(
    st: State,
    http: HttpRequest,
    Body(req): Body<SearchRegistry>,
) -> ApiResult<HttpResponse> {
    search(st, http, req).await
}

/// `GET /model-versions/get-artifact?name=&version=&path=`: one file of the version (UI).
pub async fn get_artifact(
    st: State,
    http: HttpRequest,
    Query(q): Query<VersionArtifactReq>,
) -> ApiResult<HttpResponse> {
    let (name, version) = key(&q.name, &q.version)?;
    let rel = crate::storage::path::safe_path(q.path.as_deref().unwrap_or(""), false)?;
    let uri = blocking(st.clone(), move |s| svc::artifact_root(s, &name, version)).await?;
    let root = crate::service::artifacts::resolve_root(&st, &uri)?;
    super::artifacts::send_from(&http, &root, &rel).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/model-versions/create").route(web::post().to(create)))
        .service(web::resource("/model-versions/get").route(web::get().to(get)))
        .service(web::resource("/model-versions/update").route(web::patch().to(update)))
        .service(web::resource("/model-versions/delete").route(web::delete().to(delete)))
        .service(
            web::resource("/model-versions/transition-stage").route(web::post().to(transition)),
        )
        .service(web::resource("/model-versions/set-tag").route(web::post().to(set_tag)))
        .service(web::resource("/model-versions/delete-tag").route(web::delete().to(delete_tag)))
        .service(
            web::resource("/model-versions/get-download-uri").route(web::get().to(download_uri)),
        )
        .service(
            web::resource("/model-versions/search")
                .route(web::get().to(search_get))
                .route(web::post().to(search_post)),
        );
}
