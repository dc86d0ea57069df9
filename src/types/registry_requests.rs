//! Request and response messages of logged models, the model registry and webhooks.

use serde::Serialize;
use utoipa::ToSchema;

use super::de;
use super::registry::{
    LoggedModel, LoggedModelDataset, LoggedModelOrder, ModelVersion, RegisteredModel, Webhook,
    WebhookEvent,
};
use super::requests::KeyValueIn;

request!(CreateLoggedModel {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    name: Option<String>,
    model_type: Option<String>,
    source_run_id: Option<String>,
    params: Vec<KeyValueIn>,
    tags: Vec<KeyValueIn>,
});
request!(GetLoggedModel {
    #[serde(deserialize_with = "de::opt_bool")]
    allow_deleted: Option<bool>,
});
request!(FinalizeLoggedModel { model_id: Option<String>, status: Option<String> });
request!(LoggedModelTags { model_id: Option<String>, tags: Vec<KeyValueIn> });
request!(LoggedModelParams { model_id: Option<String>, params: Vec<KeyValueIn> });
request!(SearchLoggedModels {
    #[serde(deserialize_with = "de::string_list")]
    experiment_ids: Vec<String>,
    filter: Option<String>,
    datasets: Vec<LoggedModelDataset>,
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    order_by: Vec<LoggedModelOrder>,
    page_token: Option<String>,
});
request!(LoggedModelDirReq { artifact_directory_path: Option<String> });
request!(LoggedModelFileReq { artifact_file_path: Option<String> });

request!(CreateRegisteredModel {
    name: Option<String>,
    tags: Vec<KeyValueIn>,
    description: Option<String>,
    deployment_job_id: Option<String>,
});
request!(NameReq { name: Option<String> });
request!(RenameRegisteredModel { name: Option<String>, new_name: Option<String> });
request!(UpdateRegisteredModel {
    name: Option<String>,
    description: Option<String>,
    deployment_job_id: Option<String>,
});
request!(SearchRegistry {
    filter: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de::string_list")]
    order_by: Vec<String>,
    page_token: Option<String>,
});
request!(GetLatestVersions {
    name: Option<String>,
    #[serde(deserialize_with = "de::string_list")]
    stages: Vec<String>,
});
request!(RegisteredModelTag { name: Option<String>, key: Option<String>, value: Option<String> });
request!(AliasReq {
    name: Option<String>,
    alias: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    version: Option<String>,
});
request!(CreateModelVersion {
    name: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    tags: Vec<KeyValueIn>,
    run_link: Option<String>,
    description: Option<String>,
    model_id: Option<String>,
});
request!(VersionReq {
    name: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    version: Option<String>,
});
request!(VersionArtifactReq {
    name: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    version: Option<String>,
    path: Option<String>,
});
request!(UpdateModelVersion {
    name: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    version: Option<String>,
    description: Option<String>,
});
request!(TransitionStage {
    name: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    version: Option<String>,
    stage: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    archive_existing_versions: Option<bool>,
});
request!(ModelVersionTag {
    name: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    version: Option<String>,
    key: Option<String>,
    value: Option<String>,
});

request!(CreateWebhook {
    name: Option<String>,
    url: Option<String>,
    events: Vec<WebhookEvent>,
    description: Option<String>,
    secret: Option<String>,
    status: Option<String>,
});
request!(UpdateWebhook {
    name: Option<String>,
    url: Option<String>,
    events: Option<Vec<WebhookEvent>>,
    description: Option<String>,
    secret: Option<String>,
    status: Option<String>,
});
request!(ListWebhooks {
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    page_token: Option<String>,
});
request!(TestWebhook { event: Option<WebhookEvent> });

#[derive(Serialize, ToSchema)]
pub struct LoggedModelResponse {
    pub model: LoggedModel,
}

#[derive(Serialize, ToSchema)]
pub struct LoggedModelsPage {
    pub models: Vec<LoggedModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredModelResponse {
    pub registered_model: RegisteredModel,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredModelsPage {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registered_models: Vec<RegisteredModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ModelVersionResponse {
    pub model_version: ModelVersion,
}

#[derive(Serialize, ToSchema)]
pub struct ModelVersionsPage {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DownloadUriResponse {
    pub artifact_uri: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookResponse {
    pub webhook: Webhook,
}

#[derive(Serialize, ToSchema)]
pub struct WebhooksPage {
    pub webhooks: Vec<Webhook>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookTestResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookTestResponse {
    pub result: WebhookTestResult,
}
