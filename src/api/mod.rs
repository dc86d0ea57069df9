//! HTTP handlers (thin: parse, call `service`, serialise) and the route table for both prefixes.

pub mod artifacts;
pub mod auth;
pub mod auth_legacy;
pub mod auth_roles;
pub mod auth_signup;
pub mod evalai;
pub mod experiments;
pub mod extract;
pub mod fallback;
pub mod gateway;
pub mod gateway_endpoints;
pub mod graphql;
pub mod health;
pub mod logged_models;
pub mod metrics;
pub mod model_versions;
pub mod registered_models;
pub mod runs;
pub mod scans;
pub mod scorers;
pub mod serving;
pub mod tokens;
pub mod ui;
pub mod webhooks;
pub mod workspaces;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::service::AppState;

pub type State = web::Data<AppState>;

/// Run blocking service code (diesel) on the blocking pool.
pub async fn blocking<T, F>(st: State, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
{
    crate::workspace::block(move || f(&st))
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// Run a search on the blocking pool once one of the search permits is free ([`AppState::searches`]).
/// Waiting holds no thread. The permit goes with the work; if the request is dropped first (its client
/// went away), the search's PostgreSQL query is cancelled ([`crate::db::cancel`]), so it gives its
/// connection and permit back at once rather than at the statement timeout.
pub async fn searching<T, F>(st: State, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
{
    use crate::db::cancel::{with_slot, CancelSlot};
    struct CancelOnDrop(Option<(std::sync::Arc<CancelSlot>, crate::db::Db)>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some((slot, db)) = self.0.take() {
                tokio::task::spawn_blocking(move || slot.cancel(&db));
            }
        }
    }
    let permit = st
        .searches
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal(format!("search gate closed: {e}")))?;
    let slot = std::sync::Arc::new(CancelSlot::default());
    let mut guard = CancelOnDrop(Some((slot.clone(), st.db.clone())));
    let out = blocking(st, move |s| {
        let _permit = permit;
        with_slot(slot, || f(s))
    })
    .await;
    guard.0 = None;
    out
}

pub fn json<T: Serialize>(body: &T) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(body))
}

/// The request's authenticated user (auth on), for searches that show only what it may read.
pub fn viewer(req: &actix_web::HttpRequest) -> Option<crate::auth::Viewer> {
    actix_web::HttpMessage::extensions(req)
        .get::<crate::auth::Viewer>()
        .cloned()
}

/// What `who` may see of `resource_type` in a search.
pub fn visible(
    s: &AppState,
    who: Option<&crate::auth::Viewer>,
    resource_type: &str,
) -> ApiResult<crate::auth::visible::Visible> {
    crate::auth::visible::Visible::of(s, who, resource_type)
}

pub fn empty() -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body("{}"))
}

/// The MLflow tracking routes, mounted under `/api/2.0/mlflow` and `/ajax-api/2.0/mlflow`.
pub fn mlflow_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(auth::routes);
    use experiments as e;
    use metrics as m;
    use runs as r;
    cfg.service(web::resource("/experiments/create").route(web::post().to(e::create_experiment)))
        .service(web::resource("/experiments/get").route(web::get().to(e::get_experiment)))
        .service(
            web::resource("/experiments/get-by-name")
                .route(web::get().to(e::get_experiment_by_name)),
        )
        .service(
            web::resource("/experiments/search")
                .route(web::get().to(e::search_experiments_get))
                .route(web::post().to(e::search_experiments)),
        )
        .service(web::resource("/experiments/update").route(web::post().to(e::update_experiment)))
        .service(web::resource("/experiments/delete").route(web::post().to(e::delete_experiment)))
        .service(web::resource("/experiments/restore").route(web::post().to(e::restore_experiment)))
        .service(
            web::resource("/experiments/set-experiment-tag")
                .route(web::post().to(e::set_experiment_tag)),
        )
        .service(
            web::resource("/experiments/delete-experiment-tag")
                .route(web::post().to(e::delete_experiment_tag)),
        )
        .service(web::resource("/runs/create").route(web::post().to(r::create_run)))
        .service(web::resource("/runs/get").route(web::get().to(r::get_run)))
        .service(web::resource("/runs/update").route(web::post().to(r::update_run)))
        .service(web::resource("/runs/delete").route(web::post().to(r::delete_run)))
        .service(web::resource("/runs/restore").route(web::post().to(r::restore_run)))
        .service(web::resource("/runs/log-metric").route(web::post().to(r::log_metric)))
        .service(web::resource("/runs/log-parameter").route(web::post().to(r::log_param)))
        .service(web::resource("/runs/set-tag").route(web::post().to(r::set_tag)))
        .service(web::resource("/runs/delete-tag").route(web::post().to(r::delete_tag)))
        .service(web::resource("/runs/log-batch").route(web::post().to(r::log_batch)))
        .service(web::resource("/runs/log-inputs").route(web::post().to(r::log_inputs)))
        .service(web::resource("/runs/outputs").route(web::post().to(r::log_outputs)))
        .service(web::resource("/runs/search").route(web::post().to(r::search_runs)))
        .service(web::resource("/metrics/get-history").route(web::get().to(m::get_metric_history)))
        .service(
            web::resource("/artifacts/list").route(web::get().to(artifacts::list_run_artifacts)),
        )
        .service(
            web::resource("/metrics/get-history-bulk-interval")
                .route(web::get().to(m::get_history_bulk_interval)),
        )
        .configure(logged_models::routes)
        .configure(registered_models::routes)
        .configure(model_versions::routes)
        .configure(webhooks::routes);
}

/// The MLflow 3 routes, mounted under `/api/3.0/mlflow` and `/ajax-api/3.0/mlflow`.
pub fn mlflow_v3_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(auth::routes_v3)
        .configure(scorers::routes)
        .configure(gateway::routes)
        .configure(gateway_endpoints::routes)
        .configure(workspaces::routes);
}

/// Routes that exist only under `/ajax-api/2.0/mlflow`.
pub fn ajax_only_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/metrics/get-history-bulk").route(web::get().to(metrics::get_history_bulk)),
    )
    .service(
        web::resource("/upload-artifact").route(web::post().to(artifacts::upload_run_artifact)),
    )
    .service(
        web::resource("/runs/create-promptlab-run")
            .route(web::post().to(runs::create_promptlab_run)),
    );
}
