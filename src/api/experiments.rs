//! Experiment handlers (`/experiments/*`).

use actix_web::{HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, searching, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::experiments as svc;
use crate::types::requests::*;
use crate::types::responses::*;

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/create", tag = "experiments", request_body = CreateExperiment,
    responses((status = 200, body = CreateExperimentResponse), (status = 400, body = ErrorBody)))]
pub async fn create_experiment(
    st: State,
    Body(req): Body<CreateExperiment>,
) -> ApiResult<HttpResponse> {
    let experiment_id = blocking(st, move |s| svc::create(s, &req)).await?;
    json(&CreateExperimentResponse { experiment_id })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/experiments/get", tag = "experiments", params(ExperimentIdReq),
    responses((status = 200, body = ExperimentResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_experiment(
    st: State,
    Query(req): Query<ExperimentIdReq>,
) -> ApiResult<HttpResponse> {
    let experiment = blocking(st, move |s| {
        svc::get(s, required(&req.experiment_id, "experiment_id")?)
    })
    .await?;
    json(&ExperimentResponse { experiment })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/experiments/get-by-name", tag = "experiments", params(GetExperimentByName),
    responses((status = 200, body = ExperimentResponse), (status = 404, body = ErrorBody)))]
pub async fn get_experiment_by_name(
    st: State,
    Query(req): Query<GetExperimentByName>,
) -> ApiResult<HttpResponse> {
    let experiment = blocking(st, move |s| {
        svc::get_by_name(s, required(&req.experiment_name, "experiment_name")?)
    })
    .await?;
    json(&ExperimentResponse { experiment })
}

async fn search(st: State, http: HttpRequest, req: SearchExperiments) -> ApiResult<HttpResponse> {
    let who = super::viewer(&http);
    let (experiments, next_page_token) = searching(st, move |s| {
        svc::search(s, &req, &super::visible(s, who.as_ref(), "experiment")?)
    })
    .await?;
    json(&SearchExperimentsResponse {
        experiments,
        next_page_token,
    })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/search", tag = "experiments", request_body = SearchExperiments,
    responses((status = 200, body = SearchExperimentsResponse), (status = 400, body = ErrorBody)))]
pub async fn search_experiments(
    st: State,
    http: HttpRequest,
    Body(req): Body<SearchExperiments>,
) -> ApiResult<HttpResponse> {
    search(st, http, req).await
}

#[utoipa::path(get, path = "/api/2.0/mlflow/experiments/search", tag = "experiments", params(SearchExperiments),
    operation_id = "search_experiments_get",
    responses((status = 200, body = SearchExperimentsResponse), (status = 400, body = ErrorBody)))]
pub async fn search_experiments_get(
    st: State,
    http: HttpRequest,
    Query(req): Query<SearchExperiments>,
) -> ApiResult<HttpResponse> {
    search(st, http, req).await
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/update", tag = "experiments", request_body = UpdateExperiment,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_experiment(
    st: State,
    Body(req): Body<UpdateExperiment>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::rename(
            s,
            required(&req.experiment_id, "experiment_id")?,
            required(&req.new_name, "new_name")?,
        )
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/delete", tag = "experiments", request_body = ExperimentIdReq,
    responses((status = 200, body = Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_experiment(
    st: State,
    Body(req): Body<ExperimentIdReq>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::set_deleted(s, required(&req.experiment_id, "experiment_id")?, true)
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/restore", tag = "experiments", request_body = ExperimentIdReq,
    responses((status = 200, body = Empty), (status = 404, body = ErrorBody)))]
pub async fn restore_experiment(
    st: State,
    Body(req): Body<ExperimentIdReq>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::set_deleted(s, required(&req.experiment_id, "experiment_id")?, false)
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/set-experiment-tag", tag = "experiments",
    request_body = ExperimentTagReq, responses((status = 200, body = Empty), (status = 400, body = ErrorBody)))]
pub async fn set_experiment_tag(
    st: State,
    Body(req): Body<ExperimentTagReq>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        let id = required(&req.experiment_id, "experiment_id")?;
        svc::set_tag(
            s,
            id,
            required(&req.key, "key")?,
            req.value.as_deref().unwrap_or(""),
        )
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/delete-experiment-tag", tag = "experiments",
    request_body = ExperimentTagReq, responses((status = 200, body = Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_experiment_tag(
    st: State,
    Body(req): Body<ExperimentTagReq>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::delete_tag(
            s,
            required(&req.experiment_id, "experiment_id")?,
            required(&req.key, "key")?,
        )
    })
    .await?;
    empty()
}
