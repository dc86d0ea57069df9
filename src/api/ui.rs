//! The MLflow web UI: `/` (index.html) and `/static-files/*` from the UI folder, and the endpoints only
//! the UI calls (§12–§13.2): assistant, telemetry and gateway stubs, (users/current is the auth app's, 404 without it),
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
/// `gateway-proxy`: without `MLFLOW_DEPLOYMENTS_TARGET` an empty gateway; with it, the path is checked as
/// MLflow checks it (GET only `api/2.0/endpoints`, POST only `gateway/<name>/invocations`) and the call is
/// forwarded to the operator's deployments server.
pub async fn gateway_proxy(req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let Some(target) = std::env::var("MLFLOW_DEPLOYMENTS_TARGET")
        .ok()
        .filter(|t| !t.is_empty())
    else {
        return json(&json!({"endpoints": []}));
    };
    let get = req.method() == actix_web::http::Method::GET;
    let args: serde_json::Value = if get {
        let q =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .map_err(|e| ApiError::invalid(format!("Malformed query string: {e}")))?;
        json!(q.into_inner())
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| json!({}))
    };
    let path = args["gateway_path"].as_str().unwrap_or("");
    let method = if get { "GET" } else { "POST" };
    let trimmed = path.trim_matches('/');
    let valid = if get {
        trimmed == "api/2.0/endpoints"
    } else {
        let parts: Vec<&str> = trimmed.split('/').collect();
        parts.len() == 3
            && parts[0] == "gateway"
            && !parts[1].is_empty()
            && parts[2] == "invocations"
    };
    if path.is_empty() {
        return Err(ApiError::invalid(
            "Deployments proxy request must specify a gateway_path.",
        ));
    }
    if !valid {
        return Err(ApiError::invalid(format!(
            "Invalid gateway_path: {path} for method: {method}"
        )));
    }
    let url = format!("{}/{}", target.trim_end_matches('/'), trimmed);
    // One client for the process: building one loads the TLS roots, which should not happen per call.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(reqwest::Client::new);
    let call = if get {
        client.get(&url)
    } else {
        client.post(&url)
    };
    let call = match args.get("json_data") {
        Some(data) if !data.is_null() => call.json(data),
        _ => call,
    };
    let resp = call.send().await.map_err(|e| {
        ApiError::new(
            ErrorCode::TEMPORARILY_UNAVAILABLE,
            format!("Deployments server unreachable: {e}"),
        )
    })?;
    let status = actix_web::http::StatusCode::from_u16(resp.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let bytes = resp.bytes().await.map_err(|e| {
        ApiError::new(
            ErrorCode::TEMPORARILY_UNAVAILABLE,
            format!("Deployments server: {e}"),
        )
    })?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(bytes))
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
    // One resource a path, so that another method gets 405 rather than falling through to 404.
    cfg.configure(super::graphql::routes)
        .service(web::resource("/").route(web::get().to(index)))
        .service(web::resource("/static-files/{path:.*}").route(web::get().to(static_file)))
        .service(
            web::resource("/ajax-api/3.0/mlflow/assistant/config")
                .route(web::get().to(assistant_config)),
        )
        .service(
            web::resource("/ajax-api/3.0/mlflow/assistant/providers")
                .route(web::get().to(assistant_providers)),
        )
        .service(
            web::resource("/ajax-api/3.0/mlflow/gateway/secrets/config")
                .route(web::get().to(super::gateway::secrets_config)),
        )
        .service(
            web::resource("/ajax-api/3.0/mlflow/ui-telemetry")
                .route(web::get().to(telemetry_config))
                .route(web::post().to(telemetry_records)),
        )
        .service(
            web::resource("/ajax-api/2.0/mlflow/gateway-proxy")
                .route(web::get().to(gateway_proxy))
                .route(web::post().to(gateway_proxy)),
        )
        .service(
            web::resource("/ajax-api/3.0/mlflow/traces/metrics")
                .route(web::post().to(trace_metrics)),
        )
        .service(
            web::resource("/ajax-api/2.0/mlflow/experiments/search-datasets")
                .route(web::post().to(search_datasets)),
        );
}
