//! Run handlers (`/runs/*`).

use actix_web::{HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, searching, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::runs as svc;
use crate::types::requests::*;
use crate::types::responses::*;

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/create", tag = "runs", request_body = CreateRun,
    responses((status = 200, body = RunResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_run(st: State, Body(req): Body<CreateRun>) -> ApiResult<HttpResponse> {
    let run = blocking(st, move |s| svc::create(s, &req)).await?;
    json(&RunResponse { run })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/runs/get", tag = "runs", params(RunIdReq),
    responses((status = 200, body = RunResponse), (status = 404, body = ErrorBody)))]
pub async fn get_run(st: State, Query(req): Query<RunIdReq>) -> ApiResult<HttpResponse> {
    let run = blocking(st, move |s| {
        svc::get(s, run_id_of(&req.run_id, &req.run_uuid)?)
    })
    .await?;
    json(&RunResponse { run })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/update", tag = "runs", request_body = UpdateRun,
    responses((status = 200, body = UpdateRunResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_run(st: State, Body(req): Body<UpdateRun>) -> ApiResult<HttpResponse> {
    let run_info = blocking(st, move |s| svc::update(s, &req)).await?;
    json(&UpdateRunResponse { run_info })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/delete", tag = "runs", request_body = RunIdReq,
    responses((status = 200, body = Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_run(st: State, Body(req): Body<RunIdReq>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::set_deleted(s, run_id_of(&req.run_id, &req.run_uuid)?, true)
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/restore", tag = "runs", request_body = RunIdReq,
    responses((status = 200, body = Empty), (status = 404, body = ErrorBody)))]
pub async fn restore_run(st: State, Body(req): Body<RunIdReq>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        svc::set_deleted(s, run_id_of(&req.run_id, &req.run_uuid)?, false)
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-metric", tag = "runs", request_body = LogMetric,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_metric(st: State, Body(req): Body<LogMetric>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::log_metric(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-parameter", tag = "runs", request_body = RunKeyValue,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_param(st: State, Body(req): Body<RunKeyValue>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::log_param(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/set-tag", tag = "runs", request_body = RunKeyValue,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tag(st: State, Body(req): Body<RunKeyValue>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::set_tag(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/delete-tag", tag = "runs", request_body = RunKeyValue,
    responses((status = 200, body = Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(st: State, Body(req): Body<RunKeyValue>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::delete_tag(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-batch", tag = "runs", request_body = LogBatch,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_batch(st: State, Body(req): Body<LogBatch>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::log_batch(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-inputs", tag = "runs", request_body = LogInputs,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_inputs(st: State, Body(req): Body<LogInputs>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::log_inputs(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/outputs", tag = "runs", request_body = LogOutputs,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_outputs(st: State, Body(req): Body<LogOutputs>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::log_outputs(s, &req)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/search", tag = "runs", request_body = SearchRuns,
    responses((status = 200, body = SearchRunsResponse), (status = 400, body = ErrorBody)))]
pub async fn search_runs(
    st: State,
    http: HttpRequest,
    Body(req): Body<SearchRuns>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&http);
    let (runs, next_page_token) = searching(st, move |s| {
        svc::search(s, &req, &super::visible(s, who.as_ref(), "experiment")?)
    })
    .await?;
    json(&SearchRunsResponse {
        runs,
        next_page_token,
    })
}

/// `POST /ajax-api/2.0/mlflow/runs/create-promptlab-run`: the UI's prompt-engineering run.
pub async fn create_promptlab_run(
    st: State,
    Body(req): Body<crate::types::requests::CreatePromptlabRun>,
) -> ApiResult<HttpResponse> {
    let (run, table) = blocking(st.clone(), move |s| {
        crate::service::promptlab::create(s, &req)
    })
    .await?;
    let root = crate::service::artifacts::resolve_root(&st, &run.info.artifact_uri)?;
    let file = crate::storage::path::safe_path("eval_results_table.json", false)?;
    root.put(&file, table.to_string().into()).await?;
    json(&RunResponse { run })
}
