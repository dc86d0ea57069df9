//! The gate every request passes when auth is on: public routes go through; otherwise the request is
//! authenticated (HTTP basic), an admin goes through, anyone else needs what `rules` says. A request that
//! creates an experiment or a registered model grants its creator MANAGE on it; deleting or renaming a
//! model moves its grants with it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use base64::Engine;

use super::after::{self, After};
use super::check;
use super::params::Params;
use super::rules::{self, Rule, Target};
use super::{Auth, Permission, Viewer};
use crate::error::ApiError;
use crate::service::AppState;

const UNAUTHENTICATED: &str = "You are not authenticated. Please see \
    https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.";

/// Stock's 401: plain text with the Basic challenge.
fn challenge() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"mlflow\""))
        .content_type("text/plain; charset=utf-8")
        .body(UNAUTHENTICATED)
}

/// Stock's 403.
fn forbidden() -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/plain; charset=utf-8")
        .body("Permission denied")
}

/// `Authorization: Basic …` → (username, password).
fn basic_credentials(req: &ServiceRequest) -> Option<(String, String)> {
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// A request body the gate read in full (to see what the request touches), in the request's extensions,
/// so that the handler's extractor need not read it again.
#[derive(Clone)]
pub struct ReadBody(pub web::Bytes);

/// Why a request is not authenticated: no or wrong credentials (the Basic challenge).
enum Refused {
    Challenge,
}

/// What a request presents: HTTP basic, or a bearer JWT already verified (its subject and scopes).
enum Credentials {
    Basic(String, String),
    Bearer(String, Option<Vec<String>>),
}

/// The request's credentials; `None`: none, or a bearer token that does not verify.
fn credentials(auth: &Auth, req: &ServiceRequest) -> Option<Credentials> {
    let header = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = header.strip_prefix("Bearer ").map(str::trim) {
        let c = auth.jwt.as_ref()?.verify(token)?;
        let scopes = c
            .scope
            .map(|s| s.split_whitespace().map(str::to_string).collect());
        return Some(Credentials::Bearer(c.sub, scopes));
    }
    let (u, p) = basic_credentials(req)?;
    Some(Credentials::Basic(u, p))
}

/// The viewer from what the gate already knows (no read, no argon2), if it knows enough.
fn known_viewer(auth: &Auth, creds: &Credentials) -> Option<Viewer> {
    match creds {
        Credentials::Basic(u, p) => {
            let k = auth.cache.user(u)?;
            auth.verified
                .cached(u, p, &k.row.password_hash)
                .then(|| Viewer::of(&k, None, &auth.config))
        }
        Credentials::Bearer(sub, scopes) => auth
            .cache
            .user(sub)
            .map(|k| Viewer::of(&k, scopes.clone(), &auth.config)),
    }
}

/// The viewer, read fresh (blocking: a read and, for a credential not seen before, argon2).
fn authenticate(
    st: &AppState,
    auth: &Auth,
    creds: &Credentials,
    addr: &str,
) -> Result<Result<Viewer, Refused>, ApiError> {
    match creds {
        Credentials::Bearer(sub, scopes) => Ok(auth
            .cache
            .load(&st.db, sub)?
            .map(|k| Viewer::of(&k, scopes.clone(), &auth.config))
            .ok_or(Refused::Challenge)),
        Credentials::Basic(username, password) => {
            let known = auth.cache.load(&st.db, username)?;
            let ok = match &known {
                Some(k) => auth
                    .verified
                    .check(&k.row.username, password, &k.row.password_hash),
                None => {
                    // Spend what a verification costs, so that timing does not tell which users exist.
                    let _ = super::password::verify(password, DUMMY_HASH);
                    false
                }
            };
            match known {
                Some(k) if ok => {
                    auth.limiter.succeeded(username, addr);
                    Ok(Ok(Viewer::of(&k, None, &auth.config)))
                }
                _ => {
                    auth.limiter.failed(username, addr);
                    Ok(Err(Refused::Challenge))
                }
            }
        }
    }
}

/// An argon2id hash of a random string, verified against when the username is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8t5Aq0nJb4vJ5qjbq6H3mV1Xb2sBqlx3U0d8vJQ6b1Q";

/// Whether the rule reads the request's parameters (so its body must be read first).
fn needs_params(rule: Rule) -> bool {
    match rule {
        Rule::SelfOrAdmin
        | Rule::ManageRoles
        | Rule::ViewRoles
        | Rule::ListRoles
        | Rule::ViewUserRoles => true,
        Rule::Needs(t, _) => !matches!(t, Target::ModelInPath(_) | Target::LoggedModel),
        _ => false,
    }
}

pub async fn gate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(st) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let Some(auth) = st.auth.clone() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let prefix = st.config.static_prefix.clone().unwrap_or_default();
    let full = req.path().to_string();
    let path = full
        .strip_prefix(prefix.as_str())
        .unwrap_or(&full)
        .to_string();
    let method = req.method().as_str().to_string();
    let rule = rules::rule(&method, &path);
    if rule == Rule::Public {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let Some(creds) = credentials(&auth, &req) else {
        return Ok(req.into_response(challenge()));
    };
    let addr = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if let Credentials::Basic(u, _) = &creds {
        if let Some(secs) = auth.limiter.locked(u, &addr) {
            return Ok(req.into_response(locked(secs)));
        }
    }
    let after = after::after_of(&path);
    let mut params = Params::default();
    if needs_params(rule) || after != After::Nothing {
        let body = if matches!(method.as_str(), "POST" | "PATCH" | "DELETE")
            && !path.contains("/mlflow-artifacts/")
        {
            // The same idle limit the handlers' body extractor has: a client that stalls mid-body is
            // answered, not waited for (the gate reads the body before any handler does).
            let limit = st.config.body_idle_timeout_secs;
            match crate::api::extract::within(limit, req.extract::<web::Bytes>()).await {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => return Ok(req.error_response(e)),
                Err(e) => return Ok(req.error_response(e)),
            }
        } else {
            web::Bytes::new()
        };
        params = Params::parse(req.query_string(), &body);
        if !body.is_empty() {
            // The handler's `Body` extractor takes the bytes from here; any other reader, the payload.
            req.extensions_mut().insert(ReadBody(body.clone()));
            let (_, mut pl) = actix_http::h1::Payload::create(true);
            pl.unread_data(body);
            req.set_payload(Payload::from(pl));
        }
    }
    let default = auth.config.default_permission;
    // Warm: decided from the cache, on this thread. Cold: one trip to the blocking pool for all of it.
    let fast = match known_viewer(&auth, &creds) {
        Some(v) if v.is_admin => Some((v, true)),
        Some(v) => match check::allowed(None, &auth.cache, &v, default, rule, &path, &params) {
            Ok(Some(ok)) => Some((v, ok)),
            Ok(None) => None,
            Err(e) => return Ok(req.error_response(e)),
        },
        None => None,
    };
    let (viewer, ok) = match fast {
        Some(decided) => decided,
        None => {
            let (st2, pa) = (st.clone(), path.clone());
            let decided = crate::workspace::block(move || {
                let r = decide(&st2, &creds, &addr, default, rule, &pa, &params);
                (r, params)
            })
            .await;
            match decided {
                Ok((Ok(Ok(d)), p)) => {
                    params = p;
                    d
                }
                Ok((Ok(Err(Refused::Challenge)), _)) => return Ok(req.into_response(challenge())),
                Ok((Err(e), _)) => return Ok(req.error_response(e)),
                Err(e) => {
                    return Ok(req.error_response(ApiError::internal(format!("worker failed: {e}"))))
                }
            }
        }
    };
    if !ok || !viewer.scope_allows(rule, &method, &path) {
        return Ok(req.into_response(forbidden()));
    }
    req.extensions_mut().insert(viewer.clone());
    let res = next.call(req).await?.map_into_boxed_body();
    if after == After::Nothing || res.status() != StatusCode::OK {
        return Ok(res);
    }
    after::follow(st, viewer, after, params, res).await
}

/// The cold path of the gate, blocking: who the viewer is, and whether it may.
fn decide(
    st: &AppState,
    creds: &Credentials,
    addr: &str,
    default: Permission,
    rule: Rule,
    path: &str,
    params: &Params,
) -> Result<Result<(Viewer, bool), Refused>, ApiError> {
    let Some(auth) = st.auth.as_ref() else {
        return Ok(Err(Refused::Challenge));
    };
    let v = match authenticate(st, auth, creds, addr)? {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let ok = v.is_admin
        || check::allowed(Some(&st.db), &auth.cache, &v, default, rule, path, params)?
            == Some(true);
    Ok(Ok((v, ok)))
}

/// Stock's answer to a locked-out login.
fn locked(secs: u64) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, secs.to_string()))
        .content_type("text/plain; charset=utf-8")
        .body(format!("Too many failed logins; try again in {secs} s"))
}
