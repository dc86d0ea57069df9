//! Request messages of the tracking API. Bodies accept snake_case and camelCase keys (normalised by the
//! extractor); GET endpoints read the same structs from the query string.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::de;
use super::entities::{DatasetInput, ModelInput, ModelOutput};
use crate::error::{ApiError, ApiResult};

/// Require a field: a missing value or an empty string is "Missing value for required parameter".
pub fn required<'a>(v: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing(name)),
    }
}

/// `run_id`, falling back to the deprecated `run_uuid` alias.
pub fn run_id_of<'a>(
    run_id: &'a Option<String>,
    run_uuid: &'a Option<String>,
) -> ApiResult<&'a str> {
    match (run_id.as_deref(), run_uuid.as_deref()) {
        (Some(r), _) if !r.is_empty() => Ok(r),
        (_, Some(r)) if !r.is_empty() => Ok(r),
        _ => Err(ApiError::missing("run_id")),
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct KeyValueIn {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    pub key: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct MetricIn {
    pub key: Option<String>,
    #[serde(deserialize_with = "de::opt_metric_value")]
    #[schema(value_type = Option<f64>)]
    pub value: Option<f64>,
    #[serde(deserialize_with = "de::opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(deserialize_with = "de::opt_i64")]
    pub step: Option<i64>,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

request!(CreateExperiment {
    name: Option<String>,
    artifact_location: Option<String>,
    tags: Vec<KeyValueIn>,
});
request!(ExperimentIdReq {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
});
request!(GetExperimentByName { experiment_name: Option<String> });
request!(SearchExperiments {
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    page_token: Option<String>,
    filter: Option<String>,
    #[serde(deserialize_with = "de::string_list")]
    order_by: Vec<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    view_type: Option<String>,
});
request!(UpdateExperiment {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    new_name: Option<String>,
});
request!(ExperimentTagReq {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    key: Option<String>,
    value: Option<String>,
});

request!(CreateRun {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    user_id: Option<String>,
    run_name: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    start_time: Option<i64>,
    tags: Vec<KeyValueIn>,
});
request!(UpdateRun {
    run_id: Option<String>,
    run_uuid: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    status: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    end_time: Option<i64>,
    run_name: Option<String>,
});
request!(RunIdReq { run_id: Option<String>, run_uuid: Option<String> });
request!(LogMetric {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    #[serde(deserialize_with = "de::opt_metric_value")]
    #[schema(value_type = Option<f64>)]
    #[param(value_type = Option<f64>)]
    value: Option<f64>,
    #[serde(deserialize_with = "de::opt_i64")]
    timestamp: Option<i64>,
    #[serde(deserialize_with = "de::opt_i64")]
    step: Option<i64>,
    model_id: Option<String>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
});
request!(RunKeyValue {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    // MLflow's `_assert_string`: a number is refused ("Invalid value 41 for parameter 'value'").
    value: Option<String>,
});
request!(LogBatch {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metrics: Vec<MetricIn>,
    params: Vec<KeyValueIn>,
    tags: Vec<KeyValueIn>,
});
request!(LogInputs {
    run_id: Option<String>,
    run_uuid: Option<String>,
    datasets: Vec<DatasetInput>,
    models: Vec<ModelInput>,
});
request!(LogOutputs { run_id: Option<String>, run_uuid: Option<String>, models: Vec<ModelOutput> });
request!(SearchRuns {
    #[serde(deserialize_with = "de::string_list")]
    experiment_ids: Vec<String>,
    filter: Option<String>,
    #[serde(deserialize_with = "de::opt_string_or_num")]
    run_view_type: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de::string_list")]
    order_by: Vec<String>,
    page_token: Option<String>,
});

request!(GetMetricHistory {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
    page_token: Option<String>,
});
request!(GetHistoryBulkInterval {
    #[serde(deserialize_with = "de::string_list")]
    run_ids: Vec<String>,
    metric_key: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    start_step: Option<i64>,
    #[serde(deserialize_with = "de::opt_i64")]
    end_step: Option<i64>,
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
});
request!(GetHistoryBulk {
    #[serde(deserialize_with = "de::string_list")]
    run_id: Vec<String>,
    metric_key: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    max_results: Option<i64>,
});
request!(ProxyListReq { path: Option<String> });
request!(ListArtifactsReq {
    run_id: Option<String>,
    run_uuid: Option<String>,
    path: Option<String>,
    page_token: Option<String>,
});
request!(MpuCreateReq {
    path: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    num_parts: Option<i64>,
});
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct MpuPartIn {
    #[serde(deserialize_with = "de::opt_i64")]
    pub part_number: Option<i64>,
    pub etag: Option<String>,
    pub url: Option<String>,
}
request!(MpuCompleteReq { path: Option<String>, upload_id: Option<String>, parts: Vec<MpuPartIn> });
request!(MpuAbortReq { path: Option<String>, upload_id: Option<String> });
request!(SearchDatasets {
    #[serde(deserialize_with = "de::string_list")]
    experiment_ids: Vec<String>,
});
request!(RunArtifactReq { run_id: Option<String>, run_uuid: Option<String>, path: Option<String> });

request!(CreatePromptlabRun {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    run_name: Option<String>,
    tags: Vec<KeyValueIn>,
    prompt_template: Option<String>,
    prompt_parameters: Vec<KeyValueIn>,
    model_route: Option<String>,
    model_parameters: Vec<KeyValueIn>,
    model_input: Option<String>,
    model_output: Option<String>,
    model_output_parameters: Vec<KeyValueIn>,
    mlflow_version: Option<String>,
    user_id: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    start_time: Option<i64>,
});
