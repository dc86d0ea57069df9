//! `/health`, `/version` and `server-info`.

use actix_web::HttpResponse;

use super::{json, State};
use crate::error::ApiResult;

/// The MLflow version Harvester speaks; the client parses `/version` to pick its tracing path.
pub const MLFLOW_COMPAT_VERSION: &str = "3.17.2";

#[utoipa::path(get, path = "/health", tag = "server", responses((status = 200, description = "OK", body = String)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("OK")
}

#[utoipa::path(get, path = "/version", tag = "server", responses((status = 200, description = "MLflow version served", body = String)))]
pub async fn version() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(MLFLOW_COMPAT_VERSION)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServerInfo {
    pub store_type: String,
    pub workspaces_enabled: bool,
    pub trace_archival_enabled: bool,
    /// Clients upload files of 500 MB and more in parts straight to the object store (S3 only).
    pub multipart_uploads_enabled: bool,
    /// Clients download from presigned object-store URLs (S3 only).
    pub multipart_downloads_enabled: bool,
    /// Stock's presigned single-part upload contract (`create_presigned_upload_url`), which Harvester does
    /// not offer: false, so clients keep to the proxy and multipart routes.
    pub presigned_upload_run_id_supported: bool,
    pub presigned_upload_model_id_supported: bool,
    /// Optional server features; the AI gateway is not built, so `{"gateway": false}`.
    #[schema(value_type = Object)]
    pub features_enabled: serde_json::Value,
    pub harvester_version: String,
}

#[utoipa::path(get, path = "/api/3.0/mlflow/server-info", tag = "server", responses((status = 200, body = ServerInfo)))]
pub async fn server_info(st: State) -> ApiResult<HttpResponse> {
    let direct = crate::service::artifacts::direct_transfers(&st);
    json(&ServerInfo {
        store_type: "SqlStore".into(),
        workspaces_enabled: st.config.enable_workspaces,
        trace_archival_enabled: false,
        multipart_uploads_enabled: direct,
        multipart_downloads_enabled: direct,
        presigned_upload_run_id_supported: false,
        presigned_upload_model_id_supported: false,
        features_enabled: serde_json::json!({"gateway": false}),
        harvester_version: env!("CARGO_PKG_VERSION").into(),
    })
}
