//! Metric-history handlers (`/metrics/*`).

use actix_web::HttpResponse;

use super::extract::Query;
use super::{blocking, json, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::metrics as svc;
use crate::types::requests::*;
use crate::types::responses::*;

#[utoipa::path(get, path = "/api/2.0/mlflow/metrics/get-history", tag = "metrics", params(GetMetricHistory),
    responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_metric_history(st: State, Query(req): Query<GetMetricHistory>) -> ApiResult<HttpResponse> {
    let (metrics, next_page_token) = blocking(st, move |s| svc::history(s, &req)).await?;
    json(&MetricsResponse { metrics, next_page_token })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/metrics/get-history-bulk-interval", tag = "metrics",
    params(GetHistoryBulkInterval), responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody)))]
pub async fn get_history_bulk_interval(st: State, Query(req): Query<GetHistoryBulkInterval>) -> ApiResult<HttpResponse> {
    let metrics = blocking(st, move |s| svc::bulk_interval(s, &req)).await?;
    json(&MetricsResponse { metrics, next_page_token: None })
}

#[utoipa::path(get, path = "/ajax-api/2.0/mlflow/metrics/get-history-bulk", tag = "metrics", params(GetHistoryBulk),
    responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody)))]
pub async fn get_history_bulk(st: State, Query(req): Query<GetHistoryBulk>) -> ApiResult<HttpResponse> {
    let metrics = blocking(st, move |s| svc::bulk(s, &req)).await?;
    json(&MetricsResponse { metrics, next_page_token: None })
}
