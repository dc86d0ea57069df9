//! Registered-model handlers (`/registered-models/*`): the model, its tags and aliases, latest versions.

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, searching, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::registered_models as svc;
use crate::types::registry_requests::*;
use crate::types::requests::required;

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/create", tag = "registry", request_body = CreateRegisteredModel,
    responses((status = 200, body = RegisteredModelResponse), (status = 400, body = ErrorBody)))]
pub async fn create(st: State, Body(req): Body<CreateRegisteredModel>) -> ApiResult<HttpResponse> {
    let registered_model = blocking(st, move |s| svc::create(s, &req)).await?;
    json(&RegisteredModelResponse { registered_model })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/registered-models/get", tag = "registry", params(NameReq),
    responses((status = 200, body = RegisteredModelResponse), (status = 404, body = ErrorBody)))]
pub async fn get(st: State, Query(req): Query<NameReq>) -> ApiResult<HttpResponse> {
    let registered_model = blocking(st, move |s| svc::get(s, required(&req.name, "name")?)).await?;
    json(&RegisteredModelResponse { registered_model })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/rename", tag = "registry", request_body = RenameRegisteredModel,
    responses((status = 200, body = RegisteredModelResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rename(st: State, Body(req): Body<RenameRegisteredModel>) -> ApiResult<HttpResponse> {
    let registered_model = blocking(st, move |s| {
        svc::rename(
            s,
            required(&req.name, "name")?,
            required(&req.new_name, "new_name")?,
        )
    })
    .await?;
    json(&RegisteredModelResponse { registered_model })
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/registered-models/update", tag = "registry", request_body = UpdateRegisteredModel,
    responses((status = 200, body = RegisteredModelResponse), (status = 404, body = ErrorBody)))]
pub async fn update(st: State, Body(req): Body<UpdateRegisteredModel>) -> ApiResult<HttpResponse> {
    let registered_model = blocking(st, move |s| {
        svc::update(s, required(&req.name, "name")?, req.description.as_deref())
    })
    .await?;
    json(&RegisteredModelResponse { registered_model })
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/registered-models/delete", tag = "registry", request_body = NameReq,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete(st: State, Body(req): Body<NameReq>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::delete(s, required(&req.name, "name")?)).await?;
    empty()
}

async fn search(st: State, http: HttpRequest, req: SearchRegistry) -> ApiResult<HttpResponse> {
    let who = super::viewer(&http);
    let (registered_models, next_page_token) = searching(st, move |s| {
        svc::search(
            s,
            &req,
            &super::visible(s, who.as_ref(), "registered_model")?,
        )
    })
    .await?;
    json(&RegisteredModelsPage {
        registered_models,
        next_page_token,
    })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/registered-models/search", tag = "registry", params(SearchRegistry),
    responses((status = 200, body = RegisteredModelsPage), (status = 400, body = ErrorBody)))]
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

async fn latest(st: State, req: GetLatestVersions) -> ApiResult<HttpResponse> {
    let model_versions = blocking(st, move |s| {
        svc::latest_versions(s, required(&req.name, "name")?, &req.stages)
    })
    .await?;
    json(&ModelVersionsPage {
        model_versions,
        next_page_token: None,
    })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/get-latest-versions", tag = "registry", request_body = GetLatestVersions,
    responses((status = 200, body = ModelVersionsPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn latest_post(st: State, Body(req): Body<GetLatestVersions>) -> ApiResult<HttpResponse> {
    latest(st, req).await
}

pub async fn latest_get(
    st: State,
    Query(req): Query<GetLatestVersions>,
) -> ApiResult<HttpResponse> {
    latest(st, req).await
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/set-tag", tag = "registry", request_body = RegisteredModelTag,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tag(st: State, Body(req): Body<RegisteredModelTag>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::set_tag(s, required(&req.name, "name")?, &req.key, &req.value)
    })
    .await?;
    empty()
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/registered-models/delete-tag", tag = "registry", request_body = RegisteredModelTag,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(st: State, Body(req): Body<RegisteredModelTag>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::delete_tag(s, required(&req.name, "name")?, required(&req.key, "key")?)
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/alias", tag = "registry", request_body = AliasReq,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_alias(st: State, Body(req): Body<AliasReq>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::set_alias(
            s,
            required(&req.name, "name")?,
            required(&req.alias, "alias")?,
            req.version.as_deref(),
        )
    })
    .await?;
    empty()
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/registered-models/alias", tag = "registry", request_body = AliasReq,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_alias(st: State, Body(req): Body<AliasReq>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::delete_alias(
            s,
            required(&req.name, "name")?,
            required(&req.alias, "alias")?,
        )
    })
    .await?;
    empty()
}

#[utoipa::path(get, path = "/api/2.0/mlflow/registered-models/alias", tag = "registry", params(AliasReq),
    responses((status = 200, body = ModelVersionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_alias(st: State, Query(req): Query<AliasReq>) -> ApiResult<HttpResponse> {
    let model_version = blocking(st, move |s| {
        svc::get_by_alias(
            s,
            required(&req.name, "name")?,
            required(&req.alias, "alias")?,
        )
    })
    .await?;
    json(&ModelVersionResponse { model_version })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/registered-models/create").route(web::post().to(create)))
        .service(web::resource("/registered-models/get").route(web::get().to(get)))
        .service(web::resource("/registered-models/rename").route(web::post().to(rename)))
        .service(web::resource("/registered-models/update").route(web::patch().to(update)))
        .service(web::resource("/registered-models/delete").route(web::delete().to(delete)))
        .service(
            web::resource("/registered-models/search")
                .route(web::get().to(search_get))
                .route(web::post().to(search_post)),
        )
        .service(
            web::resource("/registered-models/get-latest-versions")
                .route(web::post().to(latest_post))
                .route(web::get().to(latest_get)),
        )
        .service(web::resource("/registered-models/set-tag").route(web::post().to(set_tag)))
        .service(web::resource("/registered-models/delete-tag").route(web::delete().to(delete_tag)))
        .service(
            web::resource("/registered-models/alias")
                .route(web::post().to(set_alias))
                .route(web::delete().to(delete_alias))
                .route(web::get().to(get_alias)),
        );
}
