//! The per-resource permission routes MLflow 3.17 dropped (`experiments/permissions/*`,
//! `registered-models/permissions/*`), mapped onto per-user grants so that clients of earlier MLflow
//! versions keep working. Managing them needs MANAGE on the resource (the gate's table), as before 3.17.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::{params, required, viewer};
use super::{blocking, empty, json, State};
use crate::auth::{grants, users, Permission};
use crate::error::{ApiError, ApiResult};

pub fn routes(cfg: &mut web::ServiceConfig) {
    for (prefix, kind) in [
        ("/experiments/permissions", Kind::Experiment),
        ("/registered-models/permissions", Kind::Model),
    ] {
        cfg.service(
            web::resource(format!("{prefix}/create"))
                .route(web::post().to(move |st, req, body| set(st, req, body, kind, false))),
        )
        .service(
            web::resource(format!("{prefix}/get"))
                .route(web::get().to(move |st, req| get(st, req, kind))),
        )
        .service(
            web::resource(format!("{prefix}/update"))
                .route(web::patch().to(move |st, req, body| set(st, req, body, kind, true))),
        )
        .service(
            web::resource(format!("{prefix}/delete"))
                .route(web::delete().to(move |st, req, body| delete(st, req, body, kind))),
        );
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Experiment,
    Model,
}

impl Kind {
    fn resource_type(self) -> &'static str {
        match self {
            Kind::Experiment => "experiment",
            Kind::Model => "registered_model",
        }
    }
    fn id_param(self) -> &'static str {
        match self {
            Kind::Experiment => "experiment_id",
            Kind::Model => "name",
        }
    }
    fn wire(self, id: &str, user_id: i32, permission: &str) -> serde_json::Value {
        match self {
            Kind::Experiment => json!({"experiment_permission":
                {"experiment_id": id, "user_id": user_id, "permission": permission}}),
            Kind::Model => json!({"registered_model_permission":
                {"name": id, "user_id": user_id, "permission": permission, "workspace": &*crate::workspace::effective()}}),
        }
    }
}

/// Earlier versions also granted `NO_PERMISSIONS` explicitly; it is kept as such (it is not lifted to the default).
fn legacy_permission(p: &str) -> ApiResult<Permission> {
    Permission::parse(p).filter(|p| *p != Permission::Deny).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid permission '{p}'. Valid permissions are: ('READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')"
        ))
    })
}

async fn set(
    st: State,
    req: HttpRequest,
    body: web::Bytes,
    kind: Kind,
    replace: bool,
) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let (id, username) = (required(&p, kind.id_param())?, required(&p, "username")?);
    let perm = legacy_permission(&required(&p, "permission")?)?;
    let out = blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        if replace
            && grants::fold_for(
                &grants::of_user(&s.db, u.id, &[kind.resource_type()])?,
                kind.resource_type(),
                &id,
            )
            .is_none()
        {
            return Err(not_found(kind, &id, &username));
        }
        grants::grant_user(
            &s.db,
            u.id,
            &u.username,
            kind.resource_type(),
            &id,
            perm,
            replace,
        )?;
        Ok(kind.wire(&id, u.id, perm.name()))
    })
    .await?;
    if replace {
        return empty();
    }
    json(&out)
}

fn not_found(kind: Kind, id: &str, username: &str) -> ApiError {
    ApiError::not_found(format!(
        "{} permission with {}={id} and username={username} not found",
        match kind {
            Kind::Experiment => "Experiment",
            Kind::Model => "Registered model",
        },
        kind.id_param()
    ))
}

async fn get(st: State, req: HttpRequest, kind: Kind) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, b"");
    let (id, username) = (required(&p, kind.id_param())?, required(&p, "username")?);
    let out = blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        let g = grants::of_user(&s.db, u.id, &[kind.resource_type()])?;
        let exact: Vec<_> = g.into_iter().filter(|x| x.resource_pattern == id).collect();
        match grants::fold_for(&exact, kind.resource_type(), &id) {
            Some(perm) => Ok(kind.wire(&id, u.id, perm.name())),
            None => Err(not_found(kind, &id, &username)),
        }
    })
    .await?;
    json(&out)
}

async fn delete(
    st: State,
    req: HttpRequest,
    body: web::Bytes,
    kind: Kind,
) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let p = params(&req, &body);
    let (id, username) = (required(&p, kind.id_param())?, required(&p, "username")?);
    blocking(st, move |s| {
        let u = users::get(&s.db, &username)?;
        grants::revoke_user(&s.db, u.id, &u.username, kind.resource_type(), &id)
    })
    .await?;
    empty()
}
