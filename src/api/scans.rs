//! The scans of model versions under `/api/harvester/v1/scans`: the report of a version's scan, a
//! rescan and an admin's override (recorded with a reason).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{blocking, json, State};
use crate::error::{ApiError, ApiResult};
use crate::service::scans::{self, ScanRow};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/scans/{model}/{version}").route(web::get().to(get)))
        .service(web::resource("/scans/{model}/{version}/rescan").route(web::post().to(rescan)))
        .service(
            web::resource("/scans/{model}/{version}/override").route(web::post().to(override_scan)),
        );
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub high: i32,
    pub medium: i32,
    pub low: i32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Override {
    /// `passed` or `failed`.
    pub status: String,
    pub reason: String,
    pub at: Option<i64>,
}

/// A model version's scan.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Scan {
    pub name: String,
    pub version: String,
    /// What serving goes by: the override's status when there is one, else the scan's.
    pub status: String,
    /// The scan's own verdict: `pending`, `passed`, `failed` or `error`.
    pub scan_status: String,
    pub counts: Counts,
    pub scanned_at: Option<i64>,
    /// Why the scan could not run (status `error`).
    pub error: Option<String>,
    #[serde(rename = "override")]
    pub override_: Option<Override>,
    /// Every scan, rescan and override, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub history: serde_json::Value,
    /// The full report: verdict, policy, counts and every finding (rule, severity, file, line, snippet).
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
}

impl From<ScanRow> for Scan {
    fn from(r: ScanRow) -> Scan {
        let status = r.effective_status().to_string();
        let override_ = match (r.override_status, r.override_reason) {
            (Some(status), Some(reason)) => Some(Override {
                status,
                reason,
                at: r.override_at,
            }),
            _ => None,
        };
        Scan {
            name: r.name,
            version: r.version.to_string(),
            status,
            scan_status: r.status,
            counts: Counts {
                high: r.high,
                medium: r.medium,
                low: r.low,
            },
            scanned_at: r.scanned_at,
            error: r.error,
            override_,
            history: serde_json::from_str(&r.history).unwrap_or_default(),
            report: r.report.and_then(|t| serde_json::from_str(&t).ok()),
        }
    }
}

fn version(raw: &str) -> ApiResult<i64> {
    crate::service::registry_read::parse_version(Some(raw))
}

/// Who asked, for the history (the peer address until auth names a user).
fn actor(req: &HttpRequest) -> String {
    req.connection_info()
        .realip_remote_addr()
        .unwrap_or("unknown")
        .to_string()
}

/// The scan of one model version, with its full report.
#[utoipa::path(get, path = "/api/harvester/v1/scans/{model}/{version}", tag = "scans",
    params(("model" = String, Path, description = "registered model name"), ("version" = String, Path, description = "version number")),
    responses((status = 200, body = Scan), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(st: State, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (name, v) = path.into_inner();
    let v = version(&v)?;
    let row = blocking(st, move |s| scans::get(s, &name, v)).await?;
    json(&Scan::from(row))
}

/// Scan the version again (for example after the advisory database was updated).
#[utoipa::path(post, path = "/api/harvester/v1/scans/{model}/{version}/rescan", tag = "scans",
    params(("model" = String, Path, description = "registered model name"), ("version" = String, Path, description = "version number")),
    responses((status = 200, body = Scan), (status = 404, body = crate::error::ErrorBody)))]
pub async fn rescan(
    st: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, v) = path.into_inner();
    let v = version(&v)?;
    let by = actor(&req);
    let row = blocking(st, move |s| scans::rescan(s, &name, v, &by)).await?;
    json(&Scan::from(row))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OverrideRequest {
    /// `passed` (serve it anyway) or `failed` (never serve it).
    pub status: Option<String>,
    /// Why; required, and kept in the history.
    pub reason: Option<String>,
}

/// An admin's decision over the scan's verdict, with a reason; it stands until the next scan.
#[utoipa::path(post, path = "/api/harvester/v1/scans/{model}/{version}/override", tag = "scans",
    params(("model" = String, Path, description = "registered model name"), ("version" = String, Path, description = "version number")),
    request_body = OverrideRequest,
    responses((status = 200, body = Scan), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn override_scan(
    st: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (name, v) = path.into_inner();
    let v = version(&v)?;
    let r: OverrideRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed JSON body: {e}")))?;
    let status = crate::types::requests::required(&r.status, "status")?.to_string();
    let reason = crate::types::requests::required(&r.reason, "reason")?.to_string();
    let by = actor(&req);
    let row = blocking(st, move |s| {
        scans::override_status(s, &name, v, &status, &reason, &by)
    })
    .await?;
    json(&Scan::from(row))
}
