//! Domain rules: MLflow semantics on top of `db`, called by the thin handlers in `api`.

/// The experiment row `$id`, or 404 (any lifecycle stage).
macro_rules! fetch_experiment {
    ($conn:expr, $id:expr) => {{
        let row: Option<$crate::db::models::ExperimentRow> = $crate::db::schema::experiments::table
            .find($id)
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
pub mod registered_models;
pub mod registry_read;
pub mod registry_search;
pub mod run_data;
pub mod run_io;
pub mod run_writes;
pub mod runs;
pub mod ui_files;
pub mod validation;
pub mod version_sources;
pub mod webhook_delivery;
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
}

impl AppState {
    pub fn new(
        db: Db,
        config: ServerConfig,
        artifacts: Option<Store>,
        hooks: webhooks::Hooks,
    ) -> AppState {
        let artifact_root: Arc<str> = config.artifact_root().into();
        AppState {
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
