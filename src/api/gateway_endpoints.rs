//! AI gateway handlers, endpoints and budget policies (`/api/3.0/mlflow/gateway/endpoints/*`,
//! `/gateway/budgets/*`). Budget policies are written by admins only and read by anyone signed in.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::extract::{Body, Query};
use super::gateway::may_read;
use super::{blocking, empty, json, State};
use crate::auth::rules::Target;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::gateway::endpoint_config as cfg;
use crate::gateway::endpoints::{self as ep, Changes, NewEndpoint};
use crate::gateway::{budgets, given, links};
use crate::types::gateway::*;
use crate::types::requests::required;

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/endpoints/create", tag = "gateway", request_body = CreateEndpoint,
    responses((status = 200, body = EndpointResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(st: State, Body(req): Body<CreateEndpoint>) -> ApiResult<HttpResponse> {
    let endpoint = blocking(st, move |s| {
        let name = required(&req.name, "name")?;
        cfg::check_name(name)?;
        let configs = req
            .model_configs
            .as_deref()
            .ok_or_else(|| ApiError::missing("model_configs"))?;
        let configs = cfg::configs(configs)?;
        cfg::check_routing(given(&req.routing_strategy), req.fallback_config.as_ref())?;
        let experiment_id = given(&req.experiment_id)
            .map(cfg::parse_experiment)
            .transpose()?;
        ep::create(
            s,
            NewEndpoint {
                name,
                configs,
                routing_strategy: given(&req.routing_strategy),
                fallback: req.fallback_config.as_ref(),
                experiment_id,
                usage_tracking: req.usage_tracking.unwrap_or(true),
                created_by: given(&req.created_by),
            },
        )
    })
    .await?;
    json(&EndpointResponse { endpoint })
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/endpoints/get", tag = "gateway", params(EndpointRef),
    responses((status = 200, body = EndpointResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(st: State, Query(q): Query<EndpointRef>) -> ApiResult<HttpResponse> {
    let endpoint = blocking(st, move |s| {
        ep::get_by(s, given(&q.endpoint_id), given(&q.name))
    })
    .await?;
    json(&EndpointResponse { endpoint })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/endpoints/update", tag = "gateway", request_body = UpdateEndpoint,
    responses((status = 200, body = EndpointResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(st: State, Body(req): Body<UpdateEndpoint>) -> ApiResult<HttpResponse> {
    let endpoint = blocking(st, move |s| {
        let id = required(&req.endpoint_id, "endpoint_id")?;
        if let Some(name) = given(&req.name) {
            cfg::check_name(name)?;
        }
        let configs = match req.model_configs.as_deref() {
            Some(c) if !c.is_empty() => Some(cfg::configs(c)?),
            _ => None,
        };
        cfg::check_routing(given(&req.routing_strategy), req.fallback_config.as_ref())?;
        let experiment_id = given(&req.experiment_id)
            .map(cfg::parse_experiment)
            .transpose()?;
        ep::update(
            s,
            id,
            Changes {
                name: given(&req.name),
                configs,
                routing_strategy: given(&req.routing_strategy),
                fallback: req.fallback_config.as_ref(),
                experiment_id,
                usage_tracking: req.usage_tracking,
                updated_by: given(&req.updated_by),
            },
        )
    })
    .await?;
    json(&EndpointResponse { endpoint })
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/gateway/endpoints/delete", tag = "gateway", request_body = EndpointRef,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete(st: State, Body(req): Body<EndpointRef>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        ep::delete(s, required(&req.endpoint_id, "endpoint_id")?)
    })
    .await?;
    empty()
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/endpoints/list", tag = "gateway", params(ListFilter),
    responses((status = 200, body = EndpointsResponse), (status = 400, body = ErrorBody)))]
pub async fn list(
    st: State,
    req: HttpRequest,
    Query(q): Query<ListFilter>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&req);
    let endpoints = blocking(st, move |s| {
        let mut out = Vec::new();
        for x in ep::list(s, given(&q.provider), given(&q.secret_id))? {
            let named = json!({"endpoint_id": x.endpoint_id});
            if may_read(s, who.as_ref(), Target::GatewayEndpoint, named)? {
                out.push(x);
            }
        }
        Ok(out)
    })
    .await?;
    json(&EndpointsResponse { endpoints })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/endpoints/set-tag", tag = "gateway", request_body = EndpointTag,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tag(st: State, Body(req): Body<EndpointTag>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        let id = required(&req.endpoint_id, "endpoint_id")?;
        let key = required(&req.key, "key")?;
        ep::set_tag(s, id, key, req.value.as_deref())
    })
    .await?;
    empty()
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/gateway/endpoints/delete-tag", tag = "gateway", request_body = EndpointTag,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(st: State, Body(req): Body<EndpointTag>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        let id = required(&req.endpoint_id, "endpoint_id")?;
        ep::delete_tag(s, id, required(&req.key, "key")?)
    })
    .await?;
    empty()
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/endpoints/models/attach", tag = "gateway", request_body = AttachModel,
    responses((status = 200, body = MappingResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn attach(st: State, Body(req): Body<AttachModel>) -> ApiResult<HttpResponse> {
    let mapping = blocking(st, move |s| {
        let id = required(&req.endpoint_id, "endpoint_id")?;
        let c = req
            .model_config
            .clone()
            .ok_or_else(|| ApiError::missing("model_config"))?;
        let mut c = cfg::configs(&[c]).map_err(|_| {
            ApiError::invalid(
                "Invalid or missing value for required parameter 'linkage_type' in model_config. \
                 Must be one of: PRIMARY, FALLBACK.",
            )
        })?;
        links::attach(s, id, &c.remove(0), given(&req.created_by))
    })
    .await?;
    json(&MappingResponse { mapping })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/endpoints/models/detach", tag = "gateway", request_body = DetachModel,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detach(st: State, Body(req): Body<DetachModel>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        let id = required(&req.endpoint_id, "endpoint_id")?;
        let d = required(&req.model_definition_id, "model_definition_id")?;
        links::detach(s, id, d)
    })
    .await?;
    empty()
}

fn binding_key(req: &BindingRef) -> ApiResult<(&str, &str, &str)> {
    Ok((
        required(&req.endpoint_id, "endpoint_id")?,
        required(&req.resource_type, "resource_type")?,
        required(&req.resource_id, "resource_id")?,
    ))
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/endpoints/bindings/create", tag = "gateway", request_body = BindingRef,
    responses((status = 200, body = BindingResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn bind(st: State, Body(req): Body<BindingRef>) -> ApiResult<HttpResponse> {
    let binding = blocking(st, move |s| {
        let (e, k, r) = binding_key(&req)?;
        links::bind(s, e, k, r, given(&req.created_by))
    })
    .await?;
    json(&BindingResponse { binding })
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/gateway/endpoints/bindings/delete", tag = "gateway", request_body = BindingRef,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unbind(st: State, Body(req): Body<BindingRef>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        let (e, k, r) = binding_key(&req)?;
        links::unbind(s, e, k, r)
    })
    .await?;
    empty()
}

/// Only the bindings of endpoints the user may read.
#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/endpoints/bindings/list", tag = "gateway", params(BindingRef),
    responses((status = 200, body = BindingsResponse), (status = 400, body = ErrorBody)))]
pub async fn bindings(
    st: State,
    req: HttpRequest,
    Query(q): Query<BindingRef>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&req);
    let bindings = blocking(st, move |s| {
        let mut out = Vec::new();
        for b in links::bindings(
            s,
            given(&q.endpoint_id),
            given(&q.resource_type),
            given(&q.resource_id),
        )? {
            let named = json!({"endpoint_id": b.endpoint_id});
            if may_read(s, who.as_ref(), Target::GatewayEndpoint, named)? {
                out.push(b);
            }
        }
        Ok(out)
    })
    .await?;
    json(&BindingsResponse { bindings })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/budgets/create", tag = "gateway", request_body = CreateBudget,
    responses((status = 200, body = BudgetResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_budget(st: State, Body(req): Body<CreateBudget>) -> ApiResult<HttpResponse> {
    let budget_policy = blocking(st, move |s| budgets::create(s, &req)).await?;
    json(&BudgetResponse { budget_policy })
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/budgets/get", tag = "gateway", params(BudgetRef),
    responses((status = 200, body = BudgetResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_budget(st: State, Query(q): Query<BudgetRef>) -> ApiResult<HttpResponse> {
    let budget_policy = blocking(st, move |s| {
        budgets::get(s, required(&q.budget_policy_id, "budget_policy_id")?)
    })
    .await?;
    json(&BudgetResponse { budget_policy })
}

#[utoipa::path(post, path = "/api/3.0/mlflow/gateway/budgets/update", tag = "gateway", request_body = UpdateBudget,
    responses((status = 200, body = BudgetResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_budget(st: State, Body(req): Body<UpdateBudget>) -> ApiResult<HttpResponse> {
    let budget_policy = blocking(st, move |s| budgets::update(s, &req)).await?;
    json(&BudgetResponse { budget_policy })
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/gateway/budgets/delete", tag = "gateway", request_body = BudgetRef,
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete_budget(st: State, Body(req): Body<BudgetRef>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        budgets::delete(s, required(&req.budget_policy_id, "budget_policy_id")?)
    })
    .await?;
    empty()
}

#[utoipa::path(get, path = "/api/3.0/mlflow/gateway/budgets/list", tag = "gateway", params(ListBudgets),
    responses((status = 200, body = BudgetsResponse), (status = 400, body = ErrorBody)))]
pub async fn list_budgets(st: State, Query(q): Query<ListBudgets>) -> ApiResult<HttpResponse> {
    let (budget_policies, next_page_token) = blocking(st, move |s| {
        budgets::list(s, q.max_results, given(&q.page_token))
    })
    .await?;
    json(&BudgetsResponse {
        budget_policies,
        next_page_token,
    })
}

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    let g = |p: &str| format!("/gateway/{p}");
    cfg.service(web::resource(g("endpoints/create")).route(web::post().to(create)))
        .service(web::resource(g("endpoints/get")).route(web::get().to(get)))
        .service(web::resource(g("endpoints/update")).route(web::post().to(update)))
        .service(web::resource(g("endpoints/delete")).route(web::delete().to(delete)))
        .service(web::resource(g("endpoints/list")).route(web::get().to(list)))
        .service(web::resource(g("endpoints/set-tag")).route(web::post().to(set_tag)))
        .service(web::resource(g("endpoints/delete-tag")).route(web::delete().to(delete_tag)))
        .service(web::resource(g("endpoints/models/attach")).route(web::post().to(attach)))
        .service(web::resource(g("endpoints/models/detach")).route(web::post().to(detach)))
        .service(web::resource(g("endpoints/bindings/create")).route(web::post().to(bind)))
        .service(web::resource(g("endpoints/bindings/delete")).route(web::delete().to(unbind)))
        .service(web::resource(g("endpoints/bindings/list")).route(web::get().to(bindings)))
        .service(web::resource(g("budgets/create")).route(web::post().to(create_budget)))
        .service(web::resource(g("budgets/get")).route(web::get().to(get_budget)))
        .service(web::resource(g("budgets/update")).route(web::post().to(update_budget)))
        .service(web::resource(g("budgets/delete")).route(web::delete().to(delete_budget)))
        .service(web::resource(g("budgets/list")).route(web::get().to(list_budgets)));
}
