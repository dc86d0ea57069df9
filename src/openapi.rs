//! The OpenAPI document generated from the handlers' `#[utoipa::path]` annotations
//! (committed as `api-spec/openapi.json`; a test fails when they drift apart).

use utoipa::OpenApi;

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "Harvester", description = "MLflow 3.17-compatible tracking server. Every /api/2.0/mlflow route is also served under /ajax-api/2.0/mlflow."),
    paths(
        api::health::health, api::health::version, api::health::server_info,
        api::experiments::create_experiment, api::experiments::get_experiment, api::experiments::get_experiment_by_name,
        api::experiments::search_experiments, api::experiments::search_experiments_get, api::experiments::update_experiment,
        api::experiments::delete_experiment, api::experiments::restore_experiment, api::experiments::set_experiment_tag,
        api::experiments::delete_experiment_tag,
        api::runs::create_run, api::runs::get_run, api::runs::update_run, api::runs::delete_run, api::runs::restore_run,
        api::runs::log_metric, api::runs::log_param, api::runs::set_tag, api::runs::delete_tag, api::runs::log_batch,
        api::runs::log_inputs, api::runs::log_outputs, api::runs::search_runs,
        api::metrics::get_metric_history, api::metrics::get_history_bulk_interval, api::metrics::get_history_bulk,
        api::artifacts::upload, api::artifacts::download, api::artifacts::list, api::artifacts::delete,
        api::artifacts::list_run_artifacts, api::artifacts::mpu_create, api::artifacts::mpu_complete,
        api::artifacts::mpu_abort, api::artifacts::presigned,
    ),
    tags((name = "experiments"), (name = "runs"), (name = "metrics"), (name = "artifacts"), (name = "server"))
)]
pub struct ApiDoc;

/// The document as committed: pretty JSON with a trailing newline.
pub fn spec_json() -> String {
    let mut s = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
