//! The one app factory shared by `main` and the tests, and the server runner.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpServer};

use crate::api;
use crate::config::ServerConfig;
use crate::db::Db;
use crate::service::AppState;
use crate::storage::Store;

/// Open the database and build the shared state (migrations run here).
pub async fn build_state(mut config: ServerConfig) -> Result<AppState, String> {
    config.validate()?;
    config.ui_dir =
        crate::service::ui_files::find(config.ui_dir.as_deref())?.map(|d| d.display().to_string());
    let db = Db::connect(
        &config.backend_store_uri,
        config.db_pool_size,
        std::time::Duration::from_secs(config.db_statement_timeout_secs),
    )?;
    let artifacts = if config.serves_artifacts() {
        Some(
            Store::open(
                &config.artifacts_destination,
                config.s3_public_endpoint_url.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };
    let bridge = match &config.evalai_config {
        Some(path) => Some(crate::bridge::config::load(path, &|k| {
            std::env::var(k).ok()
        })?),
        None => None,
    };
    let scan = config.scan.options()?;
    let hooks = crate::service::webhooks::Hooks::default();
    let mut state = AppState::new(db, config, artifacts, hooks);
    state.bridge = bridge.map(|b| std::sync::Arc::new(crate::bridge::Bridge::new(b)));
    state.scan = std::sync::Arc::new(scan);
    let serving = std::sync::Arc::new(crate::serving::Serving::new(state.config.serving.clone())?);
    serving.start_reaper();
    state.serving = Some(serving);
    if let Some(dir) = state.config.expose_prometheus.as_deref() {
        // Stock's exporter keeps its files there; Harvester only makes sure it exists, as stock does.
        std::fs::create_dir_all(dir).map_err(|e| format!("--expose-prometheus {dir}: {e}"))?;
    }
    if state.config.metrics || state.config.expose_prometheus.is_some() {
        crate::monitoring::enable();
    }
    if state.config.auth.enabled()? {
        let auth = crate::auth::AuthConfig::load(&|k| std::env::var(k).ok())?;
        crate::auth::users::bootstrap_admin(
            &state.db,
            auth.admin_username.as_deref(),
            auth.admin_password.as_deref(),
        )?;
        let jwt = crate::auth::jwt::Jwt::from_flags(&state.config.auth)?;
        state.auth = Some(std::sync::Arc::new(crate::auth::Auth::new(auth, jwt)));
    }
    crate::service::experiments::init_default(&state).map_err(|e| e.message)?;
    start_jobs(&state)?;
    Ok(state)
}

/// The job workers, with a handler for every background task this process runs, and the bridge's polls.
fn start_jobs(state: &AppState) -> Result<(), String> {
    let mut handlers = crate::jobs::worker::Handlers::default();
    crate::service::webhook_jobs::register(&mut handlers, std::sync::Arc::new(state.clone()));
    crate::service::scan_jobs::register(&mut handlers, std::sync::Arc::new(state.clone()));
    let queued = crate::service::scans::backfill(state).map_err(|e| e.message)?;
    if queued > 0 {
        tracing::info!("queued scans of {queued} model versions that had none");
    }
    if state.bridge.is_some() {
        crate::bridge::register(&mut handlers, std::sync::Arc::new(state.clone()));
        crate::bridge::start_polls(state).map_err(|e| e.message)?;
    }
    if !handlers.is_empty() {
        crate::jobs::worker::start(
            state.jobs.clone(),
            handlers,
            state.config.job_workers,
            std::time::Duration::from_millis(state.config.job_poll_ms.max(10)),
        );
    }
    Ok(())
}

fn routes(cfg: &mut web::ServiceConfig, artifacts_only: bool) {
    cfg.service(web::resource("/health").route(web::get().to(api::health::health)))
        .service(web::resource("/metrics").route(web::get().to(crate::monitoring::http::metrics)))
        .service(web::resource("/version").route(web::get().to(api::health::version)))
        .service(web::scope("/api/2.0/mlflow-artifacts").configure(api::artifacts::proxy_routes))
        .service(
            web::scope("/ajax-api/2.0/mlflow-artifacts").configure(api::artifacts::proxy_routes),
        );
    if artifacts_only {
        // MLflow answers a plain-text 503 here; a deterministic refusal should not be retried.
        for prefix in ["/api", "/ajax-api", "/get-artifact", "/model-versions"] {
            cfg.service(web::scope(prefix).default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(crate::error::ApiError::new(
                    crate::error::ErrorCode::ENDPOINT_NOT_FOUND,
                    "Endpoint disabled: this server runs in --artifacts-only mode",
                ))
            })));
        }
        return;
    }
    cfg.configure(api::serving::routes)
        .configure(api::ui::routes)
        .service(web::resource("/signup").route(web::get().to(api::auth_signup::signup)))
        .service(
            web::resource("/api/3.0/mlflow/server-info")
                .route(web::get().to(api::health::server_info)),
        )
        .service(
            web::resource("/ajax-api/3.0/mlflow/server-info")
                .route(web::get().to(api::health::server_info)),
        )
        .service(
            web::resource("/get-artifact").route(web::get().to(api::artifacts::get_run_artifact)),
        )
        .service(
            web::resource("/model-versions/get-artifact")
                .route(web::get().to(api::model_versions::get_artifact)),
        )
        .service(
            web::scope("/api/harvester/v1")
                .configure(api::evalai::routes)
                .configure(api::scans::routes)
                .configure(api::tokens::routes),
        )
        .service(web::scope("/api/3.0/mlflow").configure(api::mlflow_v3_routes))
        .service(web::scope("/ajax-api/3.0/mlflow").configure(api::mlflow_v3_routes))
        .service(web::scope("/api/2.0/mlflow").configure(api::mlflow_routes))
        .service(
            web::scope("/ajax-api/2.0/mlflow")
                .configure(api::ajax_only_routes)
                .configure(api::mlflow_routes),
        );
}

/// Build the actix `App` with every route, under `--static-prefix` when one is set.
pub fn create_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.max_body_bytes;
    let prefix = state.config.static_prefix.clone().unwrap_or_default();
    let artifacts_only = state.config.artifacts_only;
    App::new()
        // `//model-versions/get-artifact` reaches its route, as it does on Werkzeug (merge_slashes).
        .wrap(actix_web::middleware::from_fn(
            crate::auth::middleware::gate,
        ))
        .wrap(actix_web::middleware::from_fn(
            crate::workspace::middleware::middleware,
        ))
        .wrap(actix_web::middleware::NormalizePath::new(
            actix_web::middleware::TrailingSlash::MergeOnly,
        ))
        .wrap(actix_web::middleware::from_fn(crate::security::middleware))
        .wrap(actix_web::middleware::from_fn(api::fallback::edges))
        .wrap(actix_web::middleware::from_fn(
            crate::monitoring::http::record,
        ))
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(limit))
        .service(web::scope(&prefix).configure(|c| routes(c, artifacts_only)))
        .default_service(web::to(api::fallback::not_found))
}

/// Run the HTTP server until it is stopped.
pub async fn run(state: AppState) -> std::io::Result<()> {
    let cfg = state.config.clone();
    tracing::info!(
        store = %state.db.describe(),
        artifact_root = %state.artifact_root,
        artifacts = %state.artifacts.as_ref().map_or("not served (--no-serve-artifacts)".into(), |s| s.describe()),
        ui = %cfg.ui_dir.as_deref().unwrap_or("none: install the mlflow Python package or pass --ui-dir"),
        "Harvester listening on http://{}:{}",
        cfg.host,
        cfg.port
    );
    let grace = std::time::Duration::from_secs(cfg.shutdown_grace_secs);
    let jobs = state.jobs.clone();
    // On SIGTERM or SIGINT the job workers stop taking jobs at once; the HTTP server (which hears the
    // same signal) stops accepting and lets the requests in flight finish.
    let (q, heard) = (
        jobs.clone(),
        std::sync::Arc::new(std::sync::OnceLock::new()),
    );
    let heard2 = heard.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = heard2.set(std::time::Instant::now());
        tracing::info!("shutting down: no new requests or jobs; finishing those in flight");
        q.stop();
    });
    let served = HttpServer::new(move || create_app(state.clone()))
        .workers(cfg.workers.max(1))
        .shutdown_timeout(grace.as_secs())
        // A client that closes its side has gone: its in-flight request is dropped (and an abandoned
        // search cancelled) instead of running on for nobody.
        .h1_allow_half_closed(false)
        .bind((cfg.host.as_str(), cfg.port))?
        .run()
        .await;
    // One grace period in all, counted from the signal.
    let left = heard.get().map_or(grace, |t: &std::time::Instant| {
        grace.saturating_sub(t.elapsed())
    });
    if !jobs.drain(left).await {
        tracing::warn!(
            "jobs still running after {} s: left to their leases (another process takes them up)",
            grace.as_secs()
        );
    }
    served
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
