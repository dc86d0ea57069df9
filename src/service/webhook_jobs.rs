//! Webhook events as durable jobs: a registry change writes its event (`webhook.event`) in its own
//! transaction; the event job fans out into one `webhook.delivery` job per active subscribed webhook, and
//! each delivery is one POST, retried by the job queue with backoff on 429, 5xx and network errors, up to
//! `MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES` (3) retries. A crash loses no event and repeats no delivery that
//! was answered; one cut short is repeated with the same delivery id.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::webhook_delivery::{self as wd, Event};
use super::AppState;
use crate::db::insert::InsertRows;
use crate::error::ApiResult;
use crate::jobs::worker::Handlers;
use crate::jobs::{enqueue_in, Job, JobError, NewJob};

pub const EVENT_KIND: &str = "webhook.event";
pub const DELIVERY_KIND: &str = "webhook.delivery";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventJob {
    entity: String,
    action: String,
    data: Value,
    /// Set on deliveries: the webhook to post to (its URL and secret are read when it runs, so no secret
    /// is ever written into the job table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_id: Option<String>,
    /// Set on deliveries: the `X-MLflow-Delivery-Id` of every attempt, so that a receiver can tell a
    /// redelivery (after a worker died mid-request) from a new event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery_id: Option<String>,
}

/// Queue an event inside the transaction of the change that fires it; wake the workers after the commit
/// (`st.jobs.wake()`).
pub fn fire_in<C: InsertRows>(
    conn: &mut C,
    entity: &str,
    action: &str,
    data: Value,
) -> ApiResult<()> {
    let e = EventJob {
        entity: entity.into(),
        action: action.into(),
        data,
        webhook_id: None,
        delivery_id: None,
    };
    enqueue_in(conn, &NewJob::new(EVENT_KIND, json!(e)))
}

fn max_retries() -> i32 {
    std::env::var("MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> Result<T, JobError> {
    let ws = crate::workspace::current();
    Ok(
        tokio::task::spawn_blocking(move || crate::workspace::within(ws, f))
            .await
            .map_err(|e| JobError::retry(format!("webhook worker failed: {e}")))??,
    )
}

async fn fan_out(st: Arc<AppState>, job: Job) -> Result<(), JobError> {
    let e: EventJob = job.payload()?;
    let (s, job_id) = (st.clone(), job.id);
    blocking(move || {
        let targets = super::webhooks::targets_for(&s, &e.entity, &e.action)?;
        if targets.is_empty() {
            return Ok(());
        }
        // The deliveries and the event's completion commit together: a worker killed after the commit
        // leaves nothing to fan out again, one killed before it leaves no delivery behind.
        let done = s.jobs.completion(job_id);
        crate::db_write!(s.db, |conn| {
            if diesel::RunQueryDsl::execute(crate::bind_dynamic!(done), conn)? == 0 {
                return Err(crate::error::ApiError::new(
                    crate::error::ErrorCode::TEMPORARILY_UNAVAILABLE,
                    "the event's lease was lost to another worker",
                ));
            }
            for (id, _) in &targets {
                let d = EventJob {
                    webhook_id: Some(id.clone()),
                    delivery_id: Some(uuid::Uuid::new_v4().to_string()),
                    ..e.clone()
                };
                let mut j = NewJob::new(DELIVERY_KIND, json!(d));
                j.max_attempts = max_retries() + 1;
                enqueue_in(conn, &j)?;
            }
            Ok(())
        })?;
        s.jobs.wake();
        Ok(())
    })
    .await
}

async fn deliver(st: Arc<AppState>, job: Job) -> Result<(), JobError> {
    let e: EventJob = job.payload()?;
    let Some(id) = e.webhook_id.clone() else {
        return Err(JobError::permanent(
            "a webhook delivery without a webhook id",
        ));
    };
    let (s, i) = (st.clone(), id.clone());
    // A webhook deleted or disabled since the event is not called.
    let Some(target) = blocking(move || super::webhooks::active_target(&s, &i)).await? else {
        return Ok(());
    };
    let event = Event {
        entity: e.entity,
        action: e.action,
        data: e.data,
    };
    let out = wd::deliver(st.hooks.http(), &target, &event, e.delivery_id, 0).await;
    match (out.status, &out.error) {
        (Some(s), _) if (200..300).contains(&s) => {
            tracing::debug!(url = %target.url, status = s, "webhook delivered");
            Ok(())
        }
        (Some(s @ (429 | 500 | 502 | 503 | 504)), _) => {
            Err(JobError::retry(format!("webhook {id} answered {s}")))
        }
        (None, err) => Err(JobError::retry(format!(
            "webhook {id} unreachable: {}",
            err.as_deref().unwrap_or("?")
        ))),
        (s, _) => {
            tracing::warn!(url = %target.url, status = ?s, "webhook delivery refused");
            Ok(())
        }
    }
}

/// Register the webhook job handlers.
pub fn register(handlers: &mut Handlers, st: Arc<AppState>) {
    let s = st.clone();
    handlers.add(EVENT_KIND, move |j| fan_out(s.clone(), j));
    handlers.add(DELIVERY_KIND, move |j| deliver(st.clone(), j));
}
