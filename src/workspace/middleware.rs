//! The workspace of a request: from `X-MLflow-Workspace` (else `default`), checked to exist, and kept for
//! the rest of the request ([`super::scope`]). Workspaces off: a request that names one is refused, as
//! stock refuses it, rather than silently served from `default`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::{scope, store, DEFAULT, HEADER};
use crate::error::{ApiError, ErrorCode};
use crate::service::AppState;

/// How long a replica trusts that a workspace exists (another replica may delete it).
const TRUST: Duration = Duration::from_secs(5);

/// Workspaces recently seen to exist, so that a request does not read the table.
#[derive(Default)]
pub struct Known(Mutex<HashMap<String, Instant>>);

impl Known {
    fn fresh(&self, name: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).is_some_and(|t| t.elapsed() < TRUST)
    }
    fn remember(&self, name: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(name.to_string(), Instant::now());
    }
    pub fn forget(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }
}

fn disabled() -> ApiError {
    ApiError::new(
        ErrorCode::FEATURE_DISABLED,
        "Workspace APIs are not available: workspaces are not enabled on this server",
    )
}

/// The workspace a request names, if it names one.
fn named(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(HEADER)?.to_str().ok()?.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Resolve the request's workspace; an error is the request's answer.
async fn resolve(st: &web::Data<AppState>, name: Option<String>) -> Result<Arc<str>, ApiError> {
    let name = name.unwrap_or_else(|| DEFAULT.to_string());
    if name == DEFAULT || st.workspaces.fresh(&name) {
        return Ok(Arc::from(name));
    }
    store::validate_name(&name)?;
    let st2 = st.clone();
    let n2 = name.clone();
    let found = web::block(move || store::find(&st2.db, &n2))
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))??;
    if found.is_none() {
        return Err(ApiError::not_found(format!("Workspace '{name}' not found")));
    }
    st.workspaces.remember(&name);
    Ok(Arc::from(name))
}

/// The middleware (`actix_web::middleware::from_fn`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(st) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    // server-info stays reachable whatever the header says (stock skips resolution for it too).
    if req
        .path()
        .trim_end_matches('/')
        .ends_with("/mlflow/server-info")
    {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let name = named(&req);
    if !st.config.enable_workspaces {
        if name.is_some() {
            return Ok(req.into_response(disabled().error_response()));
        }
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    match resolve(&st, name).await {
        Ok(ws) => scope(Some(ws), next.call(req))
            .await
            .map(|r| r.map_into_boxed_body()),
        Err(e) => Ok(req.into_response(e.error_response())),
    }
}
