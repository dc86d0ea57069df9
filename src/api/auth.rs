//! The basic-auth app's user routes (`users/*`) and per-user grants (`users/permissions/*`), wire-compatible
//! with MLflow 3.17.2's `mlflow.server.auth` (its `AuthServiceClient` and the UI's admin pages).

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::json;

use super::{blocking, empty, json, State};
use crate::auth::params::Params;
use crate::auth::{check, grants, users, Permission, Viewer};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Routes under `/api/2.0/mlflow` and `/ajax-api/2.0/mlflow` (and the 3.0 prefixes of the newer ones).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/create").route(web::post().to(create_user)))
        .service(web::resource("/users/get").route(web::get().to(get_user)))
        .service(web::resource("/users/current").route(web::get().to(current_user)))
        .service(web::resource("/users/list").route(web::get().to(list_users)))
        .service(web::resource("/users/update-password").route(web::patch().to(update_password)))
        .service(web::resource("/users/update-admin").route(web::patch().to(update_admin)))
        .service(web::resource("/users/delete").route(web::delete().to(delete_user)))
        .configure(super::auth_signup::routes)
        .configure(super::auth_legacy::routes);
}

/// The 3.0-prefixed routes.
pub fn routes_v3(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/current/permissions").route(web::get().to(current_permissions)),
    )
    .service(web::resource("/users/permissions/list").route(web::get().to(user_permissions)))
    .service(web::resource("/users/permissions/grant").route(web::post().to(grant)))
    .service(web::resource("/users/permissions/revoke").route(web::post().to(revoke)))
    .service(web::resource("/users/permissions/get").route(web::get().to(get_permission)))
    .configure(super::auth_roles::routes);
}

fn auth_off() -> ApiError {
    ApiError::new(
        ErrorCode::ENDPOINT_NOT_FOUND,
        "The basic-auth app is off: start the server with --app-name basic-auth",
    )
}

/// The request's user (the gate put it there); with auth off these routes do not exist.
pub fn viewer(st: &State, req: &HttpRequest) -> ApiResult<Viewer> {
    if st.auth.is_none() {
        return Err(auth_off());
    }
    req.extensions()
        .get::<Viewer>()
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorCode::UNAUTHENTICATED, "You are not authenticated."))
}

/// Stock's `_get_request_param`: the query for GET, the JSON object body otherwise.
pub fn params(req: &HttpRequest, body: &[u8]) -> Params {
    match req.method().as_str() {
        "GET" => Params::parse(req.query_string(), b""),
        _ => Params::parse(
            if body.is_empty() {
                req.query_string()
            } else {
                ""
            },
            body,
        ),
    }
}

pub fn required(p: &Params, key: &str) -> ApiResult<String> {
    p.get(key).ok_or_else(|| {
        ApiError::invalid(format!(
            "Missing value for required parameter '{key}'. See the API docs for more information about \
             request parameters."
        ))
    })
}

fn user_json(u: &users::UserRow) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "is_admin": u.is_admin})
}

async fn create_user(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    if !req.content_type().contains("json") {
        return Ok(
            HttpResponse::BadRequest().body("Invalid content type. Must be application/json")
        );
    }
    let p = params(&req, &body);
    let (username, password) = (required(&p, "username")?, required(&p, "password")?);
    if username.is_empty() || password.is_empty() {
        return Ok(HttpResponse::BadRequest().body("Username and password cannot be empty."));
    }
    let u = blocking(st, move |s| {
        users::create(&s.db, &username, &password, false)
    })
    .await?;
    json(&json!({"user": user_json(&u)}))
}

async fn get_user(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let username = required(&params(&req, b""), "username")?;
    let u = blocking(st, move |s| users::get(&s.db, &username)).await?;
    json(&json!({"user": user_json(&u)}))
}

async fn current_user(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let v = viewer(&st, &req)?;
    let basic = st.auth.as_ref().is_some_and(|a| a.config.is_basic_auth());
    json(&json!({
        "user": {"id": v.id, "username": v.username, "is_admin": v.is_admin},
        "is_basic_auth": basic,
    }))
}

async fn list_users(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let list = blocking(st, |s| {
        let mut roles = crate::auth::roles::json_by_user(&s.db)?;
        Ok(users::list(&s.db)?
            .iter()
            .map(|u| {
                let r = roles.remove(&u.id).unwrap_or_default();
                json!({"id": u.id, "username": u.username, "is_admin": u.is_admin, "roles": r})
            })
            .collect::<Vec<_>>())
    })
    .await?;
    json(&json!({ "users": list }))
}

async fn update_password(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let v = viewer(&st, &req)?;
    let p = params(&req, &body);
    let (username, password) = (required(&p, "username")?, required(&p, "password")?);
    let current = p.get("current_password");
    blocking(st, move |s| {
        if v.username == username {
            // Self-service re-asserts the current password; an admin changing another's does not.
            let current = current.filter(|c| !c.is_empty()).ok_or_else(|| {
                ApiError::invalid("Current password is required when changing your own password.")
            })?;
            let row = users::get(&s.db, &username)?;
            if !crate::auth::password::verify(&current, &row.password_hash) {
                return Err(ApiError::invalid("Current password does not match."));
            }
            if current == password {
                return Err(ApiError::invalid(
                    "New password must differ from the current password.",
                ));
            }
        }
        users::set_password(&s.db, &username, &password)?;
        if let Some(a) = &s.auth {
            a.verified.forget(&username);
        }
        Ok(())
    })
    .await?;
    empty()
}

async fn update_admin(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let username = required(&p, "username")?;
    let is_admin = match required(&p, "is_admin")?.to_ascii_lowercase().as_str() {
        "true" | "1" => true,
        "false" | "0" => false,
        other => {
            return Err(ApiError::invalid(format!(
                "Invalid value for 'is_admin': '{other}' (true or false)"
            )))
        }
    };
    blocking(st, move |s| users::set_admin(&s.db, &username, is_admin)).await?;
    empty()
}

async fn delete_user(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let v = viewer(&st, &req)?;
    let username = required(&params(&req, &body), "username")?;
    if username == v.username {
        return Err(ApiError::new(
            ErrorCode::BAD_REQUEST,
            "Users cannot delete their own account. Ask another admin to delete this user instead.",
        ));
    }
    blocking(st, move |s| {
        users::delete(&s.db, &username)?;
        if let Some(a) = &s.auth {
            a.verified.forget(&username);
        }
        Ok(())
    })
    .await?;
    empty()
}

/// Every grant of `username` through its roles, as stock lists them.
fn permission_rows(s: &crate::service::AppState, username: &str) -> ApiResult<serde_json::Value> {
    let u = users::get(&s.db, username)?;
    let rows = grants::listing(&s.db, u.id)?;
    Ok(json!({"is_admin": u.is_admin, "permissions": rows}))
}

async fn current_permissions(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let v = viewer(&st, &req)?;
    let out = blocking(st, move |s| permission_rows(s, &v.username)).await?;
    json(&out)
}

async fn user_permissions(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let username = required(&params(&req, b""), "username")?;
    let out = blocking(st, move |s| permission_rows(s, &username)).await?;
    json(&out)
}

/// The (user, resource type, id) a grant route names, validated.
fn grant_target(p: &Params) -> ApiResult<(String, String, String)> {
    let t = required(p, "resource_type")?;
    let id = required(p, "resource_id")?;
    if t == "workspace" {
        return Err(ApiError::invalid(
            "resource_type='workspace' is not grantable per user; use a role's permissions",
        ));
    }
    grants::validate_pattern(&id, &t)?;
    Ok((required(p, "username")?, t, id))
}

async fn grant(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let (username, t, id) = grant_target(&p)?;
    let perm = grants::validate_permission(&required(&p, "permission")?, &t)?;
    blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        grants::grant_user(&s.db, u.id, &u.username, &t, &id, perm, false)
    })
    .await?;
    empty()
}

async fn revoke(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let (username, t, id) = grant_target(&params(&req, &body))?;
    blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        grants::revoke_user(&s.db, u.id, &u.username, &t, &id)
    })
    .await?;
    empty()
}

async fn get_permission(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let (username, t, id) = grant_target(&params(&req, b""))?;
    let out = blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        let default = s
            .auth
            .as_ref()
            .map_or(Permission::Read, |a| a.config.default_permission);
        let p = if u.is_admin {
            Permission::Manage
        } else {
            check::permission(&Viewer::read(&s.db, u)?, default, &t, &id)
        };
        Ok(json!({"allowed": p.allows(crate::auth::Action::Use), "permission": p.name()}))
    })
    .await?;
    json(&out)
}
