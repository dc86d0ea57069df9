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
        api::logged_models::create, api::logged_models::get, api::logged_models::finalize, api::logged_models::delete,
        api::logged_models::set_tags, api::logged_models::delete_tag, api::logged_models::log_params,
        api::logged_models::search, api::logged_models::list_artifacts,
        api::registered_models::create, api::registered_models::get, api::registered_models::rename,
        api::registered_models::update, api::registered_models::delete, api::registered_models::search_get,
        api::registered_models::latest_post, api::registered_models::set_tag, api::registered_models::delete_tag,
        api::registered_models::set_alias, api::registered_models::delete_alias, api::registered_models::get_alias,
        api::model_versions::create, api::model_versions::get, api::model_versions::update, api::model_versions::delete,
        api::model_versions::transition, api::model_versions::set_tag, api::model_versions::delete_tag,
        api::model_versions::download_uri, api::model_versions::search_get,
        api::webhooks::create, api::webhooks::list, api::webhooks::get, api::webhooks::update, api::webhooks::delete,
        api::webhooks::test,
        api::scorers::register, api::scorers::get, api::scorers::versions, api::scorers::list, api::scorers::delete,
        api::scorers::online_configs,
        api::gateway::create_secret, api::gateway::get_secret, api::gateway::update_secret,
        api::gateway::delete_secret, api::gateway::list_secrets, api::gateway::secrets_config,
        api::gateway::create_model_definition, api::gateway::get_model_definition,
        api::gateway::update_model_definition, api::gateway::delete_model_definition,
        api::gateway::list_model_definitions,
        api::gateway_endpoints::create, api::gateway_endpoints::get, api::gateway_endpoints::update,
        api::gateway_endpoints::delete, api::gateway_endpoints::list, api::gateway_endpoints::set_tag,
        api::gateway_endpoints::delete_tag, api::gateway_endpoints::attach,
        api::gateway_endpoints::detach, api::gateway_endpoints::bind, api::gateway_endpoints::unbind,
        api::gateway_endpoints::bindings, api::gateway_endpoints::create_budget,
        api::gateway_endpoints::get_budget, api::gateway_endpoints::update_budget,
        api::gateway_endpoints::delete_budget, api::gateway_endpoints::list_budgets,
        api::workspaces::list, api::workspaces::create, api::workspaces::get,
        api::workspaces::update, api::workspaces::delete,
        api::evalai::slack, api::evalai::webhook, api::evalai::submissions,
        api::scans::get, api::scans::rescan, api::scans::override_scan, api::tokens::issue,
        api::serving::invocations, api::serving::ping, api::serving::document, api::serving::index,
        api::serving::workers, api::serving::page, api::serving::swagger,
    ),
    tags((name = "experiments"), (name = "runs"), (name = "metrics"), (name = "artifacts"), (name = "server"), (name = "evalai"), (name = "scans"), (name = "serving"), (name = "scorers"), (name = "gateway"), (name = "workspaces"))
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
