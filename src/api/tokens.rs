//! `POST /api/harvester/v1/tokens`: a short-lived bearer token (JWT) for the authenticated user, for a
//! product team or a service, optionally narrowed to scopes (`read`, `serve:invoke:<model>`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::Body;
use super::{json, State};
use crate::error::{ApiError, ApiResult, ErrorCode};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tokens").route(web::post().to(issue)));
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IssueToken {
    /// Lifetime in seconds (default and cap: `--jwt-ttl`).
    pub expires_in: Option<u64>,
    /// `read` (reads and searches only) and/or `serve:invoke:<model>` (call that served model);
    /// none: everything the user may do.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub token: String,
    pub token_type: &'static str,
    /// Seconds since the epoch.
    pub expires_at: u64,
    pub scopes: Vec<String>,
}

#[utoipa::path(post, path = "/api/harvester/v1/tokens", tag = "auth", request_body = IssueToken,
    responses((status = 200, body = IssuedToken), (status = 400, body = crate::error::ErrorBody),
              (status = 401), (status = 403)))]
pub async fn issue(
    st: State,
    http: HttpRequest,
    Body(req): Body<IssueToken>,
) -> ApiResult<HttpResponse> {
    let (Some(auth), Some(who)) = (st.auth.as_ref(), super::viewer(&http)) else {
        return Err(ApiError::new(
            ErrorCode::ENDPOINT_NOT_FOUND,
            "Tokens need the auth app: start the server with --app-name basic-auth",
        ));
    };
    if who.scopes.is_some() {
        return Err(ApiError::new(
            ErrorCode::PERMISSION_DENIED,
            "A scoped token cannot issue tokens; authenticate with a password",
        ));
    }
    let jwt = auth.jwt.as_ref().filter(|j| j.can_issue()).ok_or_else(|| {
        ApiError::invalid(
            "This server issues no tokens: set HARVESTER_JWT_SECRET (HS256) or --jwt-private-key \
             (RS256/ES256)",
        )
    })?;
    if let Some(bad) = req
        .scopes
        .iter()
        .find(|s| !crate::auth::jwt::valid_scope(s))
    {
        return Err(ApiError::invalid(format!(
            "Unknown scope '{bad}': use 'read' or 'serve:invoke:<model>'"
        )));
    }
    let ttl = req.expires_in.unwrap_or(jwt.max_ttl_secs);
    let (token, expires_at) = jwt
        .issue(&who.username, ttl, &req.scopes)
        .map_err(ApiError::invalid)?;
    json(&IssuedToken {
        token,
        token_type: "Bearer",
        expires_at,
        scopes: req.scopes,
    })
}
