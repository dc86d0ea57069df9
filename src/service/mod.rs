//! Domain rules: MLflow semantics on top of `db`, called by the thin handlers in `api`.

/// The experiment row `$id`, or 404 (any lifecycle stage).
macro_rules! fetch_experiment {
    ($conn:expr, $id:expr) => {{
        let row: Option<$crate::db::models::ExperimentRow> = $crate::db::schema::experiments::table
            .find($crate::db::columns::Int32::from($id))
            .filter($crate::db::schema::experiments::workspace.eq(&*$crate::workspace::effective()))
            .select($crate::db::models::ExperimentRow::as_select())
            .first($conn)
            .optional()?;
        row.ok_or_else(|| $crate::service::experiments::not_found($id))
    }};
}

/// The experiment row `$id`, which must be active (400 otherwise, as MLflow's `_check_experiment_is_active`).
macro_rules! active_experiment {
    ($conn:expr, $id:expr) => {{
        let row = fetch_experiment!($conn, $id)?;
        if row.lifecycle_stage != "active" {
            Err($crate::error::ApiError::invalid(format!(
                "The experiment {} must be in the 'active' state. Current state is {}.",
                $id, row.lifecycle_stage
            )))
        } else {
            Ok(row)
        }
    }};
}

pub mod artifacts;
pub mod experiments;
pub mod logged_models;
pub mod metrics;
pub mod model_versions;
pub mod names;
pub mod promptlab;
pub mod registered_models;
pub mod registry_read;
pub mod registry_search;
pub mod run_data;
pub mod run_io;
pub mod run_writes;
pub mod runs;
pub mod scan_jobs;
pub mod scans;
pub mod scorers;
pub mod ui_files;
pub mod validation;
pub mod version_sources;
pub mod webhook_delivery;
pub mod webhook_jobs;
pub mod webhook_test;
pub mod webhooks;

use std::sync::Arc;

use crate::config::ServerConfig;
use crate::db::Db;
use crate::storage::Store;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub artifact_root: Arc<str>,
    /// The proxied artifact store; `None` with `--no-serve-artifacts`.
    pub artifacts: Option<Arc<Store>>,
    /// Webhook secrets and event delivery.
    pub hooks: Arc<webhooks::Hooks>,
    /// Host validation, CORS and security headers.
    pub security: Arc<crate::security::Security>,
    /// Searches running at once: at most half the pool, so that slow or abandoned searches can never
    /// hold every connection and ordinary requests always find one.
    pub searches: Arc<tokio::sync::Semaphore>,
    /// The durable job queue (`jobs`), shared by every background task.
    pub jobs: Arc<crate::jobs::Queue>,
    /// The EvalAI bridge, when `--evalai-config` names installations.
    pub bridge: Option<Arc<crate::bridge::Bridge>>,
    /// The scan's policy, advisories and limits (`--scan-fail-on`, `--scan-config`, `--advisory-db`).
    pub scan: Arc<crate::scan::Options>,
    /// Model serving (`/serving/`), when set up.
    pub serving: Option<Arc<crate::serving::Serving>>,
    /// The basic-auth app, with `--app-name basic-auth`.
    pub auth: Option<Arc<crate::auth::Auth>>,
    /// Workspaces recently seen to exist (`--enable-workspaces`).
    pub workspaces: Arc<crate::workspace::middleware::Known>,
}

impl AppState {
    pub fn new(
        db: Db,
        config: ServerConfig,
        artifacts: Option<Store>,
        hooks: webhooks::Hooks,
    ) -> AppState {
        let artifact_root: Arc<str> = config.artifact_root().into();
        let security = crate::security::Security::new(
            config.allowed_hosts.as_deref(),
            config.cors_allowed_origins.as_deref(),
            &config.x_frame_options,
            config.disable_security_middleware,
            config.static_prefix.as_deref(),
        );
        let searches = (db.pool_size() / 2).max(1) as usize;
        let jobs = crate::jobs::Queue::new(
            db.clone(),
            std::time::Duration::from_secs(config.job_lease_secs.max(1)),
        );
        AppState {
            jobs: Arc::new(jobs),
            bridge: None,
            serving: None,
            auth: None,
            workspaces: Default::default(),
            scan: Arc::new(crate::scan::Options {
                advisories: Arc::new(crate::scan::Advisories::snapshot()),
                ..Default::default()
            }),
            searches: Arc::new(tokio::sync::Semaphore::new(searches)),
            security: Arc::new(security),
            db,
            config: Arc::new(config),
            artifact_root,
            artifacts: artifacts.map(Arc::new),
            hooks: Arc::new(hooks),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
