//! The webhook `test` route's event: the one asked for (or the webhook's first), with MLflow's example payload.

use super::webhook_delivery::{Event, Outcome};
use super::webhooks::parse_event;
use crate::error::{ApiError, ApiResult};
use crate::types::registry::WebhookEvent;

/// The event a `test` call sends, and example data shaped as that event's payload.
pub fn test_event(events: &[WebhookEvent], requested: Option<&WebhookEvent>) -> ApiResult<Event> {
    let (entity, action) = match requested {
        Some(e) => parse_event(e)?,
        None => parse_event(
            events
                .first()
                .ok_or_else(|| ApiError::invalid("Webhook has no events"))?,
        )?,
    };
    // The `example()` payloads of MLflow's `mlflow/webhooks/types.py`, word for word.
    let tags = serde_json::json!({"example_key": "example_value"});
    let prompt = entity.starts_with("PROMPT");
    let name = if prompt {
        "example_prompt"
    } else {
        "example_model"
    };
    let data = match (entity, action) {
        ("REGISTERED_MODEL", _) => serde_json::json!({"name": name, "tags": tags,
            "description": "An example registered model"}),
        ("PROMPT", _) => {
            serde_json::json!({"name": name, "tags": tags, "description": "An example prompt"})
        }
        ("MODEL_VERSION", _) => serde_json::json!({"name": name, "version": "1",
            "source": "models:/123", "run_id": "abcd1234abcd5678", "tags": tags,
            "description": "An example model version"}),
        ("PROMPT_VERSION", _) => serde_json::json!({"name": name, "version": "1",
            "template": "Hello {{name}}!", "tags": tags, "description": "An example prompt version"}),
        ("MODEL_VERSION_ALIAS" | "PROMPT_ALIAS", "CREATED") => {
            serde_json::json!({"name": name, "alias": "example_alias", "version": "1"})
        }
        ("MODEL_VERSION_ALIAS" | "PROMPT_ALIAS", _) => {
            serde_json::json!({"name": name, "alias": "example_alias"})
        }
        ("PROMPT_TAG", "SET") => {
            serde_json::json!({"name": name, "key": "example_key", "value": "example_value"})
        }
        ("PROMPT_TAG", _) => serde_json::json!({"name": name, "key": "example_key"}),
        (_, "SET") => serde_json::json!({"name": name, "version": "1", "key": "example_key",
            "value": "example_value"}),
        _ => serde_json::json!({"name": name, "version": "1", "key": "example_key"}),
    };
    Ok(Event {
        entity: entity.into(),
        action: action.into(),
        data,
    })
}

pub fn outcome_ok(o: &Outcome) -> bool {
    o.error.is_none() && o.status.is_some_and(|s| (200..300).contains(&s))
}
