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
pub async fn get_metric_history(
    st: State,
    Query(req): Query<GetMetricHistory>,
) -> ApiResult<HttpResponse> {
    if req.max_results.is_none() && req.page_token.as_deref().unwrap_or("").is_empty() {
        return stream_whole_history(st, req).await;
    }
    let (metrics, next_page_token) = blocking(st, move |s| svc::history(s, &req)).await?;
    json(&MetricsResponse {
        metrics,
        next_page_token,
    })
}

/// The unpaged history, streamed chunk by chunk through a bounded channel (memory stays flat).
async fn stream_whole_history(st: State, req: GetMetricHistory) -> ApiResult<HttpResponse> {
    let (run_id, key) = blocking(st.clone(), move |s| svc::history_precheck(s, &req)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let state = st.into_inner();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = svc::stream_history(&state, &run_id, &key, |chunk| {
            tx.blocking_send(chunk).is_ok()
        }) {
            tracing::error!(run.id = %run_id, error = %e.message, "metric history stream aborted");
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| {
            (
                Ok::<_, std::convert::Infallible>(actix_web::web::Bytes::from(chunk)),
                rx,
            )
        })
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/metrics/get-history-bulk-interval", tag = "metrics",
    params(GetHistoryBulkInterval), responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody)))]
pub async fn get_history_bulk_interval(
    st: State,
    Query(req): Query<GetHistoryBulkInterval>,
) -> ApiResult<HttpResponse> {
    let metrics = blocking(st, move |s| svc::bulk_interval(s, &req)).await?;
    json(&MetricsResponse {
        metrics,
        next_page_token: None,
    })
}

#[utoipa::path(get, path = "/ajax-api/2.0/mlflow/metrics/get-history-bulk", tag = "metrics", params(GetHistoryBulk),
    responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody)))]
pub async fn get_history_bulk(
    st: State,
    Query(req): Query<GetHistoryBulk>,
) -> ApiResult<HttpResponse> {
    let metrics = blocking(st, move |s| svc::bulk(s, &req)).await?;
    json(&MetricsResponse {
        metrics,
        next_page_token: None,
    })
}
