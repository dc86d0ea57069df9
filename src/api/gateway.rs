//! AI gateway handlers, secrets and model definitions (`/api/3.0/mlflow/gateway/secrets/*`,
//! `/gateway/model-definitions/*`); endpoints and budgets are in `gateway_endpoints`. Listings hold only
//! what the user may read (stock filters them the same way).

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::extract::{Body, Query};
use super::{blocking, empty, json, State};
use crate::auth::rules::{Rule, Target};
use crate::auth::{Action, Viewer};
use crate::error::{ApiResult, ErrorBody};
use crate::gateway::{crypto::Kek, given, models, secrets};
use crate::service::AppState;
use crate::types::gateway::*;
use crate::types::requests::required;

/// Whether the request's user may read the gateway resource `named` names (the gate's own rule).
pub(super) fn may_read(
    s: &AppState,
    who: Option<&Viewer>,
    target: Target,
    named: serde_json::Value,
) -> ApiResult<bool> {
    crate::auth::check::may(s, who, Rule::Needs(target, Action::Read), named)
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/secrets/create", tag = "gateway", request_body = CreateSecret,
    responses((status = 200, body = SecretResponse), (status = 400, body = ErrorBody)))]
pub async fn create_secret(st: State, Body(req): Body<CreateSecret>) -> ApiResult<HttpResponse> {
    let secret = blocking(st, move |s| secrets::create(s, &req)).await?;
    json(&SecretResponse { secret })
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/secrets/get", tag = "gateway", params(SecretRef),
    responses((status = 200, body = SecretResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_secret(st: State, Query(q): Query<SecretRef>) -> ApiResult<HttpResponse> {
    let secret = blocking(st, move |s| {
        secrets::get(s, required(&q.secret_id, "secret_id")?)
    })
    .await?;
    json(&SecretResponse { secret })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/secrets/update", tag = "gateway", request_body = UpdateSecret,
    responses((status = 200, body = SecretResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_secret(st: State, Body(req): Body<UpdateSecret>) -> ApiResult<HttpResponse> {
    let secret = blocking(st, move |s| secrets::update(s, &req)).await?;
    json(&SecretResponse { secret })
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/gateway/secrets/delete", tag = "gateway", request_body = SecretRef,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_secret(st: State, Body(req): Body<SecretRef>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        secrets::delete(s, required(&req.secret_id, "secret_id")?)
    })
    .await?;
    empty()
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/secrets/list", tag = "gateway", params(ListFilter),
    responses((status = 200, body = SecretsResponse), (status = 400, body = ErrorBody)))]
pub async fn list_secrets(
    st: State,
    req: HttpRequest,
    Query(q): Query<ListFilter>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&req);
    let secrets = blocking(st, move |s| {
        let mut out = Vec::new();
        for x in secrets::list(s, given(&q.provider))? {
            if may_read(
                s,
                who.as_ref(),
                Target::GatewaySecret,
                json!({"secret_id": x.secret_id}),
            )? {
                out.push(x);
            }
        }
        Ok(out)
    })
    .await?;
    json(&SecretsResponse { secrets })
}

/// Whether secrets can be stored, and (to admins, or with auth off) whether stock's default
/// passphrase seals them.
#[utoipa::path(get, path = "/ajax-api/3.0/mlflow/gateway/secrets/config", tag = "gateway",
    responses((status = 200, body = SecretsConfig)))]
pub async fn secrets_config(req: HttpRequest) -> ApiResult<HttpResponse> {
    let admin = super::viewer(&req).is_none_or(|v| v.is_admin);
    let mut body = json!({"secrets_available": true});
    if admin {
        body["using_default_passphrase"] = json!(Kek::env_is_default());
    }
    json(&body)
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/model-definitions/create", tag = "gateway", request_body = CreateModelDefinition,
    responses((status = 200, body = ModelDefinitionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_model_definition(
    st: State,
    Body(req): Body<CreateModelDefinition>,
) -> ApiResult<HttpResponse> {
    let model_definition = blocking(st, move |s| models::create(s, &req)).await?;
    json(&ModelDefinitionResponse { model_definition })
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/model-definitions/get", tag = "gateway", params(ModelDefinitionRef),
    responses((status = 200, body = ModelDefinitionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_model_definition(
    st: State,
    Query(q): Query<ModelDefinitionRef>,
) -> ApiResult<HttpResponse> {
    let model_definition = blocking(st, move |s| {
        models::get(s, required(&q.model_definition_id, "model_definition_id")?)
    })
    .await?;
    json(&ModelDefinitionResponse { model_definition })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/model-definitions/update", tag = "gateway", request_body = UpdateModelDefinition,
    responses((status = 200, body = ModelDefinitionResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_model_definition(
    st: State,
    Body(req): Body<UpdateModelDefinition>,
) -> ApiResult<HttpResponse> {
    let model_definition = blocking(st, move |s| models::update(s, &req)).await?;
    json(&ModelDefinitionResponse { model_definition })
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/gateway/model-definitions/delete", tag = "gateway", request_body = ModelDefinitionRef,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_model_definition(
    st: State,
    Body(req): Body<ModelDefinitionRef>,
) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        models::delete(
            s,
            required(&req.model_definition_id, "model_definition_id")?,
        )
    })
    .await?;
    empty()
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/model-definitions/list", tag = "gateway", params(ListFilter),
    responses((status = 200, body = ModelDefinitionsResponse), (status = 400, body = ErrorBody)))]
pub async fn list_model_definitions(
    st: State,
    req: HttpRequest,
    Query(q): Query<ListFilter>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&req);
    let model_definitions = blocking(st, move |s| {
        let mut out = Vec::new();
        for x in models::list(s, given(&q.provider), given(&q.secret_id))? {
            let named = json!({"model_definition_id": x.model_definition_id});
            if may_read(s, who.as_ref(), Target::GatewayModelDefinition, named)? {
                out.push(x);
            }
        }
        Ok(out)
    })
    .await?;
    json(&ModelDefinitionsResponse { model_definitions })
}

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    let g = |p: &str| format!("/gateway/{p}");
    cfg.service(web::resource(g("secrets/create")).route(web::post().to(create_secret)))
        .service(web::resource(g("secrets/get")).route(web::get().to(get_secret)))
        .service(web::resource(g("secrets/update")).route(web::post().to(update_secret)))
        .service(web::resource(g("secrets/delete")).route(web::delete().to(delete_secret)))
        .service(web::resource(g("secrets/list")).route(web::get().to(list_secrets)))
        .service(
            web::resource(g("model-definitions/create"))
                .route(web::post().to(create_model_definition)),
        )
        .service(
            web::resource(g("model-definitions/get")).route(web::get().to(get_model_definition)),
        )
        .service(
            web::resource(g("model-definitions/update"))
                .route(web::post().to(update_model_definition)),
        )
        .service(
            web::resource(g("model-definitions/delete"))
                .route(web::delete().to(delete_model_definition)),
        )
        .service(
            web::resource(g("model-definitions/list")).route(web::get().to(list_model_definitions)),
        );
}
