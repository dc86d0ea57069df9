//! The basic-auth app's role routes (`roles/*`, `users/roles/list`), MLflow 3.17.2's RBAC under the 3.0
//! prefixes. Who may call them is the gate's business (`auth::rules`); these parse, call `auth::roles`
//! and answer in stock's shapes.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::{params, required, viewer};
use super::{blocking, empty, json, State};
use crate::auth::params::Params;
use crate::auth::{roles, users};
use crate::error::{ApiError, ApiResult};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/roles/create").route(web::post().to(create)))
        .service(web::resource("/roles/get").route(web::get().to(get)))
        .service(web::resource("/roles/list").route(web::get().to(list)))
        .service(web::resource("/roles/update").route(web::patch().to(update)))
        .service(web::resource("/roles/delete").route(web::delete().to(delete)))
        .service(web::resource("/roles/permissions/add").route(web::post().to(add_permission)))
        .service(
            web::resource("/roles/permissions/remove").route(web::delete().to(remove_permission)),
        )
        .service(web::resource("/roles/permissions/list").route(web::get().to(list_permissions)))
        .service(
            web::resource("/roles/permissions/update").route(web::patch().to(update_permission)),
        )
        .service(web::resource("/roles/assign").route(web::post().to(assign)))
        .service(web::resource("/roles/unassign").route(web::delete().to(unassign)))
        .service(web::resource("/roles/users/list").route(web::get().to(role_users)))
        .service(web::resource("/users/roles/list").route(web::get().to(user_roles)));
}

fn int(p: &Params, key: &str) -> ApiResult<i32> {
    let v = required(p, key)?;
    v.parse()
        .map_err(|_| ApiError::invalid(format!("Parameter '{key}' must be an integer. Got: '{v}'")))
}

/// A non-empty string field of the body (`None` when absent; an error when present and not a string).
fn text(p: &Params, key: &str, what: &str) -> ApiResult<Option<String>> {
    match p.body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(format!("{what} must be a string."))),
    }
}

fn one_role(s: &crate::service::AppState, r: roles::RoleRow) -> ApiResult<Value> {
    Ok(json!({"role": roles::to_json(&s.db, vec![r])?.pop()}))
}

async fn create(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let name = p.get("name").unwrap_or_default();
    let workspace = p.get("workspace").unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::invalid("Role name cannot be empty."));
    }
    if workspace.trim().is_empty() {
        return Err(ApiError::invalid("Workspace cannot be empty."));
    }
    let description = text(&p, "description", "Role description")?;
    let out = blocking(st, move |s| {
        let r = roles::create(&s.db, &name, &workspace, description.as_deref())?;
        one_role(s, r)
    })
    .await?;
    json(&out)
}

async fn get(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let id = int(&params(&req, b""), "role_id")?;
    let out = blocking(st, move |s| one_role(s, roles::get(&s.db, id)?)).await?;
    json(&out)
}

async fn list(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let ws = params(&req, b"").all("workspace");
    if ws.iter().any(|w| w.trim().is_empty()) {
        return Err(ApiError::invalid(
            "Parameter 'workspace' must be a non-empty string when provided.",
        ));
    }
    let out = blocking(st, move |s| {
        let rows = roles::list(&s.db, &ws)?;
        Ok(json!({"roles": roles::to_json(&s.db, rows)?}))
    })
    .await?;
    json(&out)
}

async fn update(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let id = int(&p, "role_id")?;
    let name = text(&p, "name", "Role name")?;
    let description = text(&p, "description", "Role description")?;
    if name.is_none() && description.is_none() {
        return Err(ApiError::invalid(
            "At least one of 'name' or 'description' must be provided to update a role.",
        ));
    }
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::invalid("Role name cannot be empty."));
    }
    let out = blocking(st, move |s| {
        let r = roles::update(&s.db, id, name.as_deref(), description.as_deref())?;
        one_role(s, r)
    })
    .await?;
    json(&out)
}

async fn delete(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let id = int(&params(&req, &body), "role_id")?;
    blocking(st, move |s| roles::delete(&s.db, id)).await?;
    empty()
}

async fn add_permission(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let id = int(&p, "role_id")?;
    let (t, pat, perm) = (
        required(&p, "resource_type")?,
        required(&p, "resource_pattern")?,
        required(&p, "permission")?,
    );
    let rp = blocking(st, move |s| {
        roles::add_permission(&s.db, id, &t, &pat, &perm)
    })
    .await?;
    json(&json!({"role_permission": roles::permission_json(&rp)}))
}

async fn remove_permission(
    st: State,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let id = int(&params(&req, &body), "role_permission_id")?;
    blocking(st, move |s| roles::remove_permission(&s.db, id)).await?;
    empty()
}

async fn list_permissions(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let id = int(&params(&req, b""), "role_id")?;
    let rows = blocking(st, move |s| roles::permissions_of(&s.db, id)).await?;
    let list: Vec<Value> = rows.iter().map(roles::permission_json).collect();
    json(&json!({ "role_permissions": list }))
}

async fn update_permission(
    st: State,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let id = int(&p, "role_permission_id")?;
    let perm = required(&p, "permission")?;
    let rp = blocking(st, move |s| roles::update_permission(&s.db, id, &perm)).await?;
    json(&json!({"role_permission": roles::permission_json(&rp)}))
}

async fn assign(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let (username, id) = (required(&p, "username")?, int(&p, "role_id")?);
    let a = blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        roles::assign(&s.db, u.id, id)
    })
    .await?;
    json(&json!({ "assignment": a }))
}

async fn unassign(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let (username, id) = (required(&p, "username")?, int(&p, "role_id")?);
    blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        roles::unassign(&s.db, u.id, id)
    })
    .await?;
    empty()
}

async fn role_users(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let id = int(&params(&req, b""), "role_id")?;
    let list = blocking(st, move |s| roles::users_of(&s.db, id)).await?;
    json(&json!({ "assignments": list }))
}

/// A user's roles; a workspace admin (not the user, not an admin) sees those of its own workspaces only.
async fn user_roles(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let v = viewer(&st, &req)?;
    let username = required(&params(&req, b""), "username")?;
    let out = blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        let mut rows = roles::of_user(&s.db, u.id)?;
        if !v.is_admin && v.username != username {
            let (_, admin) = roles::workspaces_of(&s.db, v.id)?;
            rows.retain(|r| admin.contains(&r.workspace));
        }
        Ok(json!({"roles": roles::to_json(&s.db, rows)?}))
    })
    .await?;
    json(&out)
}
