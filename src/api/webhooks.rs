//! Webhook handlers (`/webhooks`, `/webhooks/{id}`, `/webhooks/{id}/test`).

use actix_web::{web, HttpResponse};

use super::extract::{Body, Query};
use super::{blocking, empty, json, State};
use crate::error::{ApiResult, ErrorBody};
use crate::service::{webhook_delivery, webhooks as svc};
use crate::types::registry_requests::*;

#[utoipa::path(post, path = "/api/2.0/mlflow/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 200, body = WebhookResponse), (status = 400, body = ErrorBody)))]
pub async fn create(st: State, Body(req): Body<CreateWebhook>) -> ApiResult<HttpResponse> {
    let webhook = blocking(st, move |s| svc::create(s, &req)).await?;
    json(&WebhookResponse { webhook })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/webhooks", tag = "webhooks", params(ListWebhooks),
    responses((status = 200, body = WebhooksPage), (status = 400, body = ErrorBody)))]
pub async fn list(st: State, Query(q): Query<ListWebhooks>) -> ApiResult<HttpResponse> {
    let (webhooks, next_page_token) = blocking(st, move |s| {
        svc::list(s, q.max_results, q.page_token.as_deref())
    })
    .await?;
    json(&WebhooksPage {
        webhooks,
        next_page_token,
    })
}

#[utoipa::path(get, path = "/api/2.0/mlflow/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = String, Path)),
    responses((status = 200, body = WebhookResponse), (status = 404, body = ErrorBody)))]
pub async fn get(st: State, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let webhook = blocking(st, move |s| svc::get(s, &id)).await?;
    json(&WebhookResponse { webhook })
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = String, Path)),
    request_body = UpdateWebhook, responses((status = 200, body = WebhookResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    st: State,
    id: web::Path<String>,
    Body(req): Body<UpdateWebhook>,
) -> ApiResult<HttpResponse> {
    let webhook = blocking(st, move |s| svc::update(s, &id, &req)).await?;
    json(&WebhookResponse { webhook })
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = String, Path)),
    responses((status = 200, body = crate::types::responses::Empty), (status = 404, body = ErrorBody)))]
pub async fn delete(st: State, id: web::Path<String>) -> ApiResult<HttpResponse> {
    blocking(st, move |s| svc::delete(s, &id)).await?;
    empty()
}

#[utoipa::path(post, path = "/api/2.0/mlflow/webhooks/{webhook_id}/test", tag = "webhooks", params(("webhook_id" = String, Path)),
    request_body = TestWebhook, responses((status = 200, body = WebhookTestResponse), (status = 404, body = ErrorBody)))]
pub async fn test(
    st: State,
    id: web::Path<String>,
    Body(req): Body<TestWebhook>,
) -> ApiResult<HttpResponse> {
    let (target, event) = blocking(st.clone(), move |s| {
        let (target, events) = svc::target(s, &id)?;
        Ok((target, svc::test_event(&events, req.event.as_ref())?))
    })
    .await?;
    let out = webhook_delivery::deliver(st.hooks.http(), &target, &event, None, 0).await;
    json(&WebhookTestResponse {
        result: WebhookTestResult {
            success: svc::outcome_ok(&out),
            response_status: out.status.map(i64::from),
            response_body: out.body,
            error_message: out.error,
        },
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/webhooks/{webhook_id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/webhooks/{webhook_id}/test").route(web::post().to(test)));
}
