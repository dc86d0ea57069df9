//! Scorer handlers (`/api/3.0/mlflow/scorers/*`, MLflow 3's GenAI judges): register a version, get one,
//! list the latest of each, list a scorer's versions, delete.

use actix_web::{HttpRequest, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, State};
use crate::auth::rules::{Rule, Target};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::scorers as svc;
use crate::types::requests::required;
use crate::types::scorers::*;

#[utoipa::path(post, path = "/api/3.0/mlflow/scorers/register", tag = "scorers", request_body = RegisterScorer,
    responses((status = 200, body = RegisterScorerResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn register(st: State, Body(req): Body<RegisterScorer>) -> ApiResult<HttpResponse> {
    let out = blocking(st, move |s| {
        let e = required(&req.experiment_id, "experiment_id")?;
        let name = required(&req.name, "name")?;
        let body = required(&req.serialized_scorer, "serialized_scorer")?;
        svc::register(s, e, name, body)
    })
    .await?;
    json(&RegisterScorerResponse::from(out))
}

#[utoipa::path(get, path = "/api/3.0/mlflow/scorers/get", tag = "scorers", params(ScorerRef),
    responses((status = 200, body = GetScorerResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(st: State, Query(q): Query<ScorerRef>) -> ApiResult<HttpResponse> {
    let scorer = blocking(st, move |s| {
        let e = required(&q.experiment_id, "experiment_id")?;
        svc::get(s, e, required(&q.name, "name")?, q.version)
    })
    .await?;
    json(&GetScorerResponse { scorer })
}

#[utoipa::path(get, path = "/api/3.0/mlflow/scorers/versions", tag = "scorers", params(ScorerRef),
    responses((status = 200, body = ScorersResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn versions(st: State, Query(q): Query<ScorerRef>) -> ApiResult<HttpResponse> {
    let scorers = blocking(st, move |s| {
        let e = required(&q.experiment_id, "experiment_id")?;
        svc::versions(s, e, required(&q.name, "name")?)
    })
    .await?;
    json(&ScorersResponse { scorers })
}

/// Only the scorers the user may read (their own grants, as stock filters the listing).
#[utoipa::path(get, path = "/api/3.0/mlflow/scorers/list", tag = "scorers", params(ListScorers),
    responses((status = 200, body = ScorersResponse), (status = 400, body = ErrorBody)))]
pub async fn list(
    st: State,
    req: HttpRequest,
    Query(q): Query<ListScorers>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&req);
    let scorers = blocking(st, move |s| {
        let ids = match (q.experiment_id, q.experiment_ids.is_empty()) {
            (Some(_), false) => {
                return Err(ApiError::invalid(
                    "Cannot specify both 'experiment_id' and 'experiment_ids'. Use 'experiment_ids' to \
                     scope the query to multiple experiments, or 'experiment_id' to scope it to a single \
                     experiment.",
                ))
            }
            (Some(e), true) => vec![e],
            (None, _) => q.experiment_ids,
        };
        let mut out = Vec::new();
        for x in svc::list(s, &ids)? {
            let named = serde_json::json!({"experiment_id": x.experiment_id.to_string(), "name": x.scorer_name});
            if may(s, who.as_ref(), Target::Scorer, named)? {
                out.push(x);
            }
        }
        Ok(out)
    })
    .await?;
    json(&ScorersResponse { scorers })
}

/// Whether the request's user may read what `named` names (the gate's own rule, outside the gate).
fn may(
    s: &crate::service::AppState,
    who: Option<&crate::auth::Viewer>,
    target: Target,
    named: serde_json::Value,
) -> ApiResult<bool> {
    crate::auth::check::may(
        s,
        who,
        Rule::Needs(target, crate::auth::Action::Read),
        named,
    )
}

#[utoipa::path(delete, path = "/api/3.0/mlflow/scorers/delete", tag = "scorers", request_body = ScorerRef,
    responses((status = 200, body = crate::types::responses::Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(st: State, Body(req): Body<ScorerRef>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| {
        let e = required(&req.experiment_id, "experiment_id")?;
        svc::delete(s, e, required(&req.name, "name")?, req.version)
    })
    .await?;
    empty()
}

/// The configurations of the given scorers; a user must be able to read each one's experiment.
#[utoipa::path(get, path = "/api/3.0/mlflow/scorers/online-configs", tag = "scorers", params(OnlineConfigs),
    responses((status = 200, body = OnlineConfigsResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn online_configs(
    st: State,
    req: HttpRequest,
    Query(q): Query<OnlineConfigs>,
) -> ApiResult<HttpResponse> {
    let who = super::viewer(&req);
    let configs = blocking(st, move |s| {
        if q.scorer_ids.is_empty() {
            return Err(ApiError::missing("scorer_ids"));
        }
        let configs = svc::online_configs(s, &q.scorer_ids)?;
        for c in &configs {
            let named = serde_json::json!({"experiment_id": c.experiment_id});
            if !may(s, who.as_ref(), Target::Experiment, named)? {
                return Err(ApiError::new(
                    crate::error::ErrorCode::PERMISSION_DENIED,
                    "Permission denied",
                ));
            }
        }
        Ok(configs)
    })
    .await?;
    json(&OnlineConfigsResponse { configs })
}

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.service(web::resource("/scorers/register").route(web::post().to(register)))
        .service(web::resource("/scorers/get").route(web::get().to(get)))
        .service(web::resource("/scorers/versions").route(web::get().to(versions)))
        .service(web::resource("/scorers/list").route(web::get().to(list)))
        .service(web::resource("/scorers/online-configs").route(web::get().to(online_configs)))
        .service(web::resource("/scorers/delete").route(web::delete().to(delete)));
}
