//! Wire shapes of MLflow 3 logged models and the model registry (§2), as the 3.17.2 server emits them:
//! logged models carry `model_type`/`source_run_id` as `""` when unset, model versions always carry
//! `description` and `run_link`, registered models omit an unset description, versions are strings.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::de;
use super::entities::{KeyValue, Metric};

/// MLflow's `LoggedModelStatus` names, indexed by the number MLflow stores.
pub const LOGGED_MODEL_STATUSES: &[&str] = &[
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
];

/// MLflow's stored number for a logged-model status name, long (`LOGGED_MODEL_READY`) or short (`READY`).
pub fn logged_model_status_number(name: &str) -> Option<i32> {
    fn short(s: &str) -> &str {
        s.strip_prefix("LOGGED_MODEL_").unwrap_or(s)
    }
    LOGGED_MODEL_STATUSES
        .iter()
        .position(|s| *s == name || short(s) == short(name))
        .map(|i| i as i32)
}

/// The wire name of a stored status number (unknown numbers read as unspecified).
pub fn logged_model_status_name(n: i32) -> &'static str {
    usize::try_from(n)
        .ok()
        .and_then(|i| LOGGED_MODEL_STATUSES.get(i))
        .copied()
        .unwrap_or(LOGGED_MODEL_STATUSES[0])
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: String,
    pub model_type: String,
    pub source_run_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LoggedModelData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub current_stage: String,
    pub description: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    pub run_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Alias>,
}

/// `{entity, action}` of a webhook, as enum names (`MODEL_VERSION`, `CREATED`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(default)]
pub struct WebhookEvent {
    pub entity: String,
    pub action: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub webhook_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub status: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
}

/// `order_by` of logged-model search: an object, not a string.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct LoggedModelOrder {
    pub field_name: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    pub ascending: Option<bool>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct LoggedModelDataset {
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}
