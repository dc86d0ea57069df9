//! Workspace handlers (`/api/3.0/mlflow/workspaces`), with `--enable-workspaces`: list (a user sees those
//! where it holds a role), create (admins; seeds the `admin` and `user` roles as stock does), get,
//! update and delete (admins).

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, json, State};
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::service::AppState;
use crate::types::requests::required;
use crate::types::workspaces::*;
use crate::workspace::store::{self, Deletion, WorkspaceRow};

fn enabled(s: &AppState) -> ApiResult<()> {
    if s.config.enable_workspaces {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::FEATURE_DISABLED,
        "Workspace APIs are disabled because the server is running without workspaces support. \
         To enable workspaces, run the server with --enable-workspaces",
    ))
}

#[utoipa::path(get, path = "/api/3.0/mlflow/workspaces", tag = "workspaces",
    responses((status = 200, body = ListWorkspacesResponse), (status = 501, body = ErrorBody)))]
pub async fn list(st: State, http: HttpRequest) -> ApiResult<HttpResponse> {
    let who = super::viewer(&http);
    let workspaces = blocking(st, move |s| {
        enabled(s)?;
        let all = store::list(&s.db)?;
        let seen: Option<Vec<String>> = match (&who, &s.auth) {
            (Some(v), Some(a)) if !v.is_admin => {
                let mut names = crate::auth::roles::workspaces_of(&s.db, v.id)?.0;
                if a.config.grant_default_workspace_access {
                    names.push(crate::workspace::DEFAULT.into());
                }
                Some(names)
            }
            _ => None,
        };
        Ok(all
            .into_iter()
            .filter(|w| seen.as_ref().is_none_or(|n| n.contains(&w.name)))
            .map(Workspace::from)
            .collect())
    })
    .await?;
    json(&ListWorkspacesResponse { workspaces })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/workspaces", tag = "workspaces", request_body = CreateWorkspace,
    responses((status = 201, body = WorkspaceResponse), (status = 400, body = ErrorBody)))]
pub async fn create(st: State, Body(req): Body<CreateWorkspace>) -> ApiResult<HttpResponse> {
    let workspace = blocking(st, move |s| {
        enabled(s)?;
        let row = store::create(
            &s.db,
            &WorkspaceRow {
                name: required(&req.name, "name")?.to_string(),
                description: req.description.clone(),
                default_artifact_root: req.default_artifact_root.clone(),
            },
        )?;
        if s.auth.is_some() && seed_default_roles() {
            crate::auth::roles::seed_workspace(&s.db, &row.name);
        }
        Ok(Workspace::from(row))
    })
    .await?;
    Ok(HttpResponse::Created().json(WorkspaceResponse { workspace }))
}

/// `MLFLOW_RBAC_SEED_DEFAULT_ROLES` (default true), read per creation as stock reads it.
fn seed_default_roles() -> bool {
    !matches!(
        std::env::var("MLFLOW_RBAC_SEED_DEFAULT_ROLES")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str(),
        "false" | "0" | "no" | "off"
    )
}

fn checked(name: &str) -> ApiResult<()> {
    if name == crate::workspace::DEFAULT {
        Ok(())
    } else {
        store::validate_name(name)
    }
}

#[utoipa::path(get, path = "/api/3.0/mlflow/workspaces/{workspace_name}", tag = "workspaces",
    params(("workspace_name" = String, Path)),
    responses((status = 200, body = WorkspaceResponse), (status = 404, body = ErrorBody)))]
pub async fn get(st: State, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let workspace = blocking(st, move |s| {
        enabled(s)?;
        checked(&name)?;
        Ok(Workspace::from(store::get(&s.db, &name)?))
    })
    .await?;
    json(&WorkspaceResponse { workspace })
}

#[utoipa::path(patch, path = "/api/3.0/mlflow/workspaces/{workspace_name}", tag = "workspaces",
    params(("workspace_name" = String, Path)), request_body = UpdateWorkspace,
    responses((status = 200, body = WorkspaceResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    st: State,
    name: web::Path<String>,
    Body(req): Body<UpdateWorkspace>,
) -> ApiResult<HttpResponse> {
    let workspace = blocking(st, move |s| {
        enabled(s)?;
        checked(&name)?;
        if req.description.is_none() && req.default_artifact_root.is_none() {
            return Err(ApiError::invalid(
                "Workspace update must have at least one key",
            ));
        }
        Ok(Workspace::from(store::update(
            &s.db,
            &name,
            req.description.as_deref(),
            req.default_artifact_root.as_deref(),
        )?))
    })
    .await?;
    json(&WorkspaceResponse { workspace })
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/workspaces/{workspace_name}", tag = "workspaces",
    params(("workspace_name" = String, Path), DeleteWorkspace),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    st: State,
    name: web::Path<String>,
    Query(q): Query<DeleteWorkspace>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        enabled(s)?;
        store::delete(&s.db, &name, Deletion::parse(q.mode.as_deref())?)?;
        s.workspaces.forget(&name);
        if s.auth.is_some() {
            crate::auth::roles::drop_workspace(&s.db, &name)?;
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/workspaces")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/workspaces/{workspace_name}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}
