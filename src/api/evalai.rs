//! The EvalAI bridge's routes under `/api/harvester/v1/evalai`: the Slack poke, the evaluation script's
//! signed webhook (both answer as soon as the pull is queued) and the list of tracked submissions.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{blocking, json, State};
use crate::bridge::{harvest, signals, store, Inst};
use crate::error::{ApiError, ApiResult, ErrorCode};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/evalai/submissions").route(web::get().to(submissions)))
        .service(web::resource("/evalai/{name}/slack").route(web::post().to(slack)))
        .service(web::resource("/evalai/{name}/webhook").route(web::post().to(webhook)));
}

fn installation(st: &State, name: &str) -> ApiResult<std::sync::Arc<Inst>> {
    st.bridge.as_ref().and_then(|b| b.get(name)).ok_or_else(|| {
        ApiError::not_found(format!(
            "No EvalAI installation named '{name}' is configured (--evalai-config)"
        ))
    })
}

#[derive(Deserialize)]
pub struct SlackQuery {
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    /// The submission whose pull was queued.
    pub submission_id: i64,
}

/// EvalAI's Slack-format "new submission" message. Only its submission id is used: the pull reads the
/// record from EvalAI's API.
#[utoipa::path(post, path = "/api/harvester/v1/evalai/{name}/slack", tag = "evalai",
    request_body(content = Object, description = "EvalAI's Slack message", content_type = "application/json"),
    params(("name" = String, Path, description = "installation name"), ("token" = Option<String>, Query, description = "shared secret, when slack_token_env is set")),
    responses((status = 200, body = Queued), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn slack(
    st: State,
    name: web::Path<String>,
    q: web::Query<SlackQuery>,
    super::extract::Raw(body): super::extract::Raw,
) -> ApiResult<HttpResponse> {
    let inst = installation(&st, &name)?;
    if let Some(expected) = inst.cfg.slack_token() {
        if !q
            .token
            .as_deref()
            .is_some_and(|t| signals::same_secret(t, expected))
        {
            return Err(ApiError::new(
                ErrorCode::UNAUTHENTICATED,
                "Missing or wrong ?token= for this Slack receiver",
            ));
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed JSON body: {e}")))?;
    let id = signals::slack_submission_id(&v)?;
    queue(st, inst.cfg.name.clone(), id, vec![]).await
}

async fn queue(
    st: State,
    name: String,
    id: i64,
    metrics: Vec<(String, f64)>,
) -> ApiResult<HttpResponse> {
    blocking(st.clone(), move |s| {
        store::signal(&s.db, &name, id, &metrics, &harvest::job(&name, id, None))
    })
    .await?;
    st.jobs.wake();
    tracing::info!(evalai.submission_id = id, "EvalAI signal: pull queued");
    json(&Queued { submission_id: id })
}

/// The host's evaluation script: `{"submission": <record>, "result": <evaluate()'s result>}`, signed.
#[utoipa::path(post, path = "/api/harvester/v1/evalai/{name}/webhook", tag = "evalai",
    request_body(content = Object, description = "{\"submission\": <EvalAI's record>, \"result\": <evaluate()'s result>}", content_type = "application/json"),
    params(("name" = String, Path, description = "installation name")),
    responses((status = 200, body = Queued), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn webhook(
    st: State,
    req: HttpRequest,
    name: web::Path<String>,
    super::extract::Raw(body): super::extract::Raw,
) -> ApiResult<HttpResponse> {
    let inst = installation(&st, &name)?;
    let header = |h: &str| req.headers().get(h).and_then(|v| v.to_str().ok());
    let now = crate::service::now_ms() / 1000;
    signals::verify(
        inst.cfg.webhook_secret(),
        header("X-Harvester-Signature"),
        header("X-Harvester-Timestamp"),
        &body,
        now,
    )?;
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("Malformed JSON body: {e}")))?;
    let (id, metrics) = signals::webhook_content(&v)?;
    queue(st, inst.cfg.name.clone(), id, metrics).await
}

#[derive(Deserialize)]
pub struct ListQuery {
    name: Option<String>,
    status: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmissionsPage {
    pub submissions: Vec<store::Submission>,
}

/// Tracked submissions, newest first: their state, run, version, attempts and last error.
#[utoipa::path(get, path = "/api/harvester/v1/evalai/submissions", tag = "evalai",
    params(("name" = Option<String>, Query, description = "installation"), ("status" = Option<String>, Query, description = "queued, pulled, logged, registered or failed")),
    responses((status = 200, body = SubmissionsPage)))]
pub async fn submissions(st: State, q: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    const STATES: [&str; 5] = ["queued", "pulled", "logged", "registered", "failed"];
    if let Some(s) = q.status.as_deref() {
        if !STATES.contains(&s) {
            return Err(ApiError::invalid(format!(
                "Invalid status '{s}': expected one of {}",
                STATES.join(", ")
            )));
        }
    }
    let q = q.into_inner();
    let rows = blocking(st, move |s| {
        store::list(&s.db, q.name.as_deref(), q.status.as_deref())
    })
    .await?;
    json(&SubmissionsPage { submissions: rows })
}
