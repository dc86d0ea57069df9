//! Which version a serving URL means, read from the registry on every request (so moving an alias or
//! transitioning a stage re-routes the next request), and the gate: only a version whose scan passed
//! (or that an admin's override passed) is served.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::registry_read::canonical_stage;
use crate::service::{model_versions, registered_models, scans, AppState};
use crate::types::registry::ModelVersion;

/// `ref`: a version number, `@alias`, a stage (`Production`, `Staging`, `Archived`, `None`) or `latest`.
pub fn resolve(st: &AppState, name: &str, r: &str) -> ApiResult<ModelVersion> {
    if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) {
        let v = r
            .parse::<i64>()
            .map_err(|_| ApiError::invalid(format!("Invalid version '{r}'")))?;
        return model_versions::get(st, name, v);
    }
    if let Some(alias) = r.strip_prefix('@') {
        return registered_models::get_by_alias(st, name, alias);
    }
    if r.eq_ignore_ascii_case("latest") {
        return registered_models::get_by_alias(st, name, "latest");
    }
    let stage = canonical_stage(r).map_err(|_| {
        ApiError::invalid(format!(
            "Invalid model reference '{r}': use a version number, @alias, a stage (Production, Staging, Archived, None) or latest"
        ))
    })?;
    registered_models::latest_versions(st, name, &[stage.to_string()])?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Registered model '{name}' has no version in stage '{stage}'"
            ))
        })
}

/// The scan status that decides (an override first), or the 403 that refuses the version.
pub fn gate(st: &AppState, mv: &ModelVersion) -> ApiResult<String> {
    let version: i64 = mv.version.parse().unwrap_or(0);
    let status = match scans::get(st, &mv.name, version) {
        Ok(row) => row.effective_status().to_string(),
        Err(e) if e.code == ErrorCode::RESOURCE_DOES_NOT_EXIST => "missing".into(),
        Err(e) => return Err(e),
    };
    if status == "passed" {
        return Ok(status);
    }
    let report = format!(
        "/api/harvester/v1/scans/{}/{}",
        super::dashboard::seg(&mv.name),
        version
    );
    Err(ApiError::new(
        ErrorCode::PERMISSION_DENIED,
        format!(
            "Model '{}' version {} is not served: its scan status is '{status}' (only versions whose scan passed are served). Report: {report}",
            mv.name, mv.version
        ),
    ))
}
