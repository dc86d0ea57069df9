//! The AI gateway's configuration on the wire (MLflow 3.17's `GatewaySecretInfo`,
//! `GatewayModelDefinition`, `GatewayEndpoint`, `GatewayBudgetPolicy` and their requests), fields
//! omitted when empty as stock's proto JSON omits them.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::de;
use super::entities::KeyValue;

request!(CreateSecret {
    secret_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    secret_value: Option<Map<String, Value>>,
    provider: Option<String>,
    #[schema(value_type = Option<Object>)]
    auth_config: Option<Map<String, Value>>,
    created_by: Option<String>,
});
request!(UpdateSecret {
    secret_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    secret_value: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    auth_config: Option<Map<String, Value>>,
    updated_by: Option<String>,
});
request!(SecretRef { secret_id: Option<String> });
request!(ListFilter {
    provider: Option<String>,
    secret_id: Option<String>,
});
request!(CreateModelDefinition {
    name: Option<String>,
    secret_id: Option<String>,
    provider: Option<String>,
    model_name: Option<String>,
    created_by: Option<String>,
});
request!(UpdateModelDefinition {
    model_definition_id: Option<String>,
    name: Option<String>,
    secret_id: Option<String>,
    model_name: Option<String>,
    provider: Option<String>,
    updated_by: Option<String>,
});
request!(ModelDefinitionRef { model_definition_id: Option<String> });

#[derive(Debug, Clone, Default, serde::Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct ModelConfigIn {
    pub model_definition_id: Option<String>,
    pub linkage_type: Option<String>,
    #[serde(deserialize_with = "de::opt_metric_value")]
    pub weight: Option<f64>,
    #[serde(deserialize_with = "de::opt_i64")]
    pub fallback_order: Option<i64>,
}
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize, ToSchema)]
#[serde(default)]
pub struct FallbackConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
}
request!(CreateEndpoint {
    name: Option<String>,
    model_configs: Option<Vec<ModelConfigIn>>,
    routing_strategy: Option<String>,
    fallback_config: Option<FallbackConfig>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    usage_tracking: Option<bool>,
    created_by: Option<String>,
});
request!(UpdateEndpoint {
    endpoint_id: Option<String>,
    name: Option<String>,
    model_configs: Option<Vec<ModelConfigIn>>,
    routing_strategy: Option<String>,
    fallback_config: Option<FallbackConfig>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    usage_tracking: Option<bool>,
    updated_by: Option<String>,
});
request!(EndpointRef {
    endpoint_id: Option<String>,
    name: Option<String>,
});
request!(AttachModel {
    endpoint_id: Option<String>,
    model_config: Option<ModelConfigIn>,
    created_by: Option<String>,
});
request!(DetachModel {
    endpoint_id: Option<String>,
    model_definition_id: Option<String>,
});
request!(BindingRef {
    endpoint_id: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    created_by: Option<String>,
});
request!(EndpointTag {
    endpoint_id: Option<String>,
    key: Option<String>,
    value: Option<String>,
});

#[derive(Debug, Default, Clone, serde::Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct Duration {
    pub unit: Option<String>,
    pub value: Option<i64>,
}
request!(CreateBudget {
    budget_unit: Option<String>,
    #[serde(deserialize_with = "de::opt_metric_value")]
    budget_amount: Option<f64>,
    duration: Option<Duration>,
    target_scope: Option<String>,
    target_value: Option<String>,
    budget_action: Option<String>,
    created_by: Option<String>,
});
request!(UpdateBudget {
    budget_policy_id: Option<String>,
    budget_unit: Option<String>,
    #[serde(deserialize_with = "de::opt_metric_value")]
    budget_amount: Option<f64>,
    duration: Option<Duration>,
    target_scope: Option<String>,
    target_value: Option<String>,
    budget_action: Option<String>,
    updated_by: Option<String>,
});
request!(BudgetRef { budget_policy_id: Option<String> });
request!(ListBudgets {
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    page_token: Option<String>,
});

fn no_map(m: &Map<String, Value>) -> bool {
    m.is_empty()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecretInfo {
    pub secret_id: String,
    pub secret_name: String,
    #[serde(skip_serializing_if = "no_map")]
    #[schema(value_type = Object)]
    pub masked_values: Map<String, Value>,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "no_map")]
    #[schema(value_type = Object)]
    pub auth_config: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelDefinition {
    pub model_definition_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    pub provider: String,
    pub model_name: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelMapping {
    pub mapping_id: String,
    pub endpoint_id: String,
    pub model_definition_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_definition: Option<ModelDefinition>,
    pub weight: f64,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub linkage_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_order: Option<i32>,
}

/// Stock always writes `created_by` and `last_updated_by` of an endpoint (empty when unknown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Endpoint {
    pub endpoint_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_at: i64,
    pub last_updated_at: i64,
    pub model_mappings: Vec<ModelMapping>,
    pub created_by: String,
    pub last_updated_by: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_config: Option<FallbackConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    pub usage_tracking: bool,
}

/// What uses an endpoint (a scorer, by its job or id).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Binding {
    pub endpoint_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetPolicy {
    pub budget_policy_id: String,
    pub budget_unit: String,
    pub budget_amount: f64,
    pub duration: Duration,
    pub target_scope: String,
    pub budget_action: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_updated_by: String,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_value: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretResponse {
    pub secret: SecretInfo,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretsResponse {
    pub secrets: Vec<SecretInfo>,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretsConfig {
    pub secrets_available: bool,
    pub using_default_passphrase: bool,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDefinitionResponse {
    pub model_definition: ModelDefinition,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDefinitionsResponse {
    pub model_definitions: Vec<ModelDefinition>,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointResponse {
    pub endpoint: Endpoint,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointsResponse {
    pub endpoints: Vec<Endpoint>,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetResponse {
    pub budget_policy: BudgetPolicy,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetsResponse {
    pub budget_policies: Vec<BudgetPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingResponse {
    pub mapping: ModelMapping,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingResponse {
    pub binding: Binding,
}
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingsResponse {
    pub bindings: Vec<Binding>,
}
