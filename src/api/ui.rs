//! The MLflow web UI: `/` (index.html) and `/static-files/*` from the UI folder, and the endpoints only
//! the UI calls (§12–§13.2): assistant, telemetry and gateway stubs, users/current (404 without auth),
//! trace metrics (empty) and the dataset summaries of the runs table.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::extract::Body;
use super::{blocking, json, State};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::types::requests::SearchDatasets;

/// `/`: the UI's index.html (never cached, so a new UI build is picked up), or a short explanation.
pub async fn index(st: State) -> HttpResponse {
    match st.config.ui_dir.as_deref().map(|d| std::path::Path::new(d).join("index.html")) {
        Some(p) => match std::fs::read(&p) {
            Ok(body) => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .body(body),
            Err(e) => HttpResponse::InternalServerError().body(format!("cannot read {}: {e}", p.display())),
        },
        None => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(
            "Harvester is running. No MLflow UI is available: install the mlflow Python package \
             (pip install mlflow==3.17.2) or pass --ui-dir <mlflow>/server/js/build.\n",
        ),
    }
}

/// `/static-files/<path>`: hashed UI assets, cached for 28 days as the stock server does.
pub async fn static_file(
    st: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let dir = st.config.ui_dir.as_deref().ok_or_else(|| {
        ApiError::new(ErrorCode::ENDPOINT_NOT_FOUND, "No MLflow UI is configured")
    })?;
    let p = crate::storage::path::safe_path(&path, false)?;
    let full = std::path::Path::new(dir).join(p.as_str());
    let file = actix_files::NamedFile::open(&full).map_err(|_| {
        ApiError::new(
            ErrorCode::ENDPOINT_NOT_FOUND,
            format!("No UI file '{}'", p.as_str()),
        )
    })?;
    let mut resp = file
        .use_etag(true)
        .use_last_modified(true)
        .into_response(&req);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=2419200"),
    );
    Ok(resp)
}

/// Without authentication there is no current user: 404, which the UI expects.
pub async fn current_user() -> ApiResult<HttpResponse> {
    Err(ApiError::new(
        ErrorCode::ENDPOINT_NOT_FOUND,
        "Authentication is not enabled",
    ))
}

pub async fn assistant_config() -> ApiResult<HttpResponse> {
    json(&json!({"providers": {}, "projects": {}, "remote_access_allowed": false}))
}

pub async fn assistant_providers() -> ApiResult<HttpResponse> {
    json(&json!({"providers": []}))
}

/// UI telemetry is off: the configuration says so and records are accepted and dropped.
pub async fn telemetry_config() -> ApiResult<HttpResponse> {
    json(
        &json!({"disable_ui_events": [], "disable_ui_telemetry": true, "ui_rollout_percentage": 0}),
    )
}

pub async fn telemetry_records() -> ApiResult<HttpResponse> {
    json(&json!({"status": "success"}))
}

/// No AI gateway: no endpoints.
pub async fn gateway_proxy() -> ApiResult<HttpResponse> {
    json(&json!({"endpoints": []}))
}

/// Trace metrics: Harvester stores no traces yet, so every aggregation is empty.
pub async fn trace_metrics() -> ApiResult<HttpResponse> {
    json(&json!({}))
}

/// `experiments/search-datasets`: the distinct (name, digest, context) datasets logged in the experiments.
pub async fn search_datasets(
    st: State,
    Body(req): Body<SearchDatasets>,
) -> ApiResult<HttpResponse> {
    let summaries = blocking(st, move |s| {
        crate::service::run_io::dataset_summaries(s, &req.experiment_ids)
    })
    .await?;
    if summaries.is_empty() {
        return json(&json!({}));
    }
    json(&json!({"dataset_summaries": summaries}))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(super::graphql::routes)
        .route("/", web::get().to(index))
        .route("/static-files/{path:.*}", web::get().to(static_file))
        .route(
            "/ajax-api/2.0/mlflow/users/current",
            web::get().to(current_user),
        )
        .route(
            "/ajax-api/3.0/mlflow/assistant/config",
            web::get().to(assistant_config),
        )
        .route(
            "/ajax-api/3.0/mlflow/assistant/providers",
            web::get().to(assistant_providers),
        )
        .route(
            "/ajax-api/3.0/mlflow/ui-telemetry",
            web::get().to(telemetry_config),
        )
        .route(
            "/ajax-api/3.0/mlflow/ui-telemetry",
            web::post().to(telemetry_records),
        )
        .route(
            "/ajax-api/2.0/mlflow/gateway-proxy",
            web::get().to(gateway_proxy),
        )
        .route(
            "/ajax-api/3.0/mlflow/traces/metrics",
            web::post().to(trace_metrics),
        )
        .route(
            "/ajax-api/2.0/mlflow/experiments/search-datasets",
            web::post().to(search_datasets),
        );
}
