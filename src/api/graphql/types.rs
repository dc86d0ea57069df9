//! GraphQL output and input types of the schema the MLflow UI queries (Appendix B): camelCase fields,
//! int64 values as `LongString`, built from the same wire types the REST handlers return.

use async_graphql::{
    Enum, InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};

use crate::types::entities::{Experiment, KeyValue, Metric, Run};
use crate::types::registry::ModelVersion;

/// An int64 sent as a JSON string, so JavaScript does not truncate it.
#[derive(Debug, Clone, Copy)]
pub struct LongString(pub i64);

#[Scalar(name = "LongString")]
impl ScalarType for LongString {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .trim()
                .parse()
                .map(LongString)
                .map_err(|_| InputValueError::expected_type(value)),
            Value::Number(n) => n
                .as_i64()
                .map(LongString)
                .ok_or_else(|| InputValueError::expected_type(value)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

#[derive(SimpleObject, Default)]
pub struct ApiError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub help_url: Option<String>,
    pub trace_id: Option<String>,
}

macro_rules! kv_type {
    ($name:ident, $gql:literal) => {
        #[derive(SimpleObject, Clone)]
        #[graphql(name = $gql)]
        pub struct $name {
            pub key: Option<String>,
            pub value: Option<String>,
        }
        impl From<KeyValue> for $name {
            fn from(kv: KeyValue) -> Self {
                $name {
                    key: Some(kv.key),
                    value: Some(kv.value),
                }
            }
        }
    };
}
kv_type!(ExperimentTag, "MlflowExperimentTag");
kv_type!(Param, "MlflowParam");
kv_type!(RunTag, "MlflowRunTag");
kv_type!(InputTag, "MlflowInputTag");
kv_type!(ModelVersionTag, "MlflowModelVersionTag");

fn kvs<T: From<KeyValue>>(v: Vec<KeyValue>) -> Vec<T> {
    v.into_iter().map(T::from).collect()
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowExperiment")]
pub struct GqlExperiment {
    pub experiment_id: Option<String>,
    pub name: Option<String>,
    pub artifact_location: Option<String>,
    pub lifecycle_stage: Option<String>,
    pub last_update_time: Option<LongString>,
    pub creation_time: Option<LongString>,
    pub tags: Vec<ExperimentTag>,
    pub effective_trace_archival_retention: Option<String>,
    pub workspace: Option<String>,
}

impl From<Experiment> for GqlExperiment {
    fn from(e: Experiment) -> Self {
        GqlExperiment {
            experiment_id: Some(e.experiment_id),
            name: Some(e.name),
            artifact_location: Some(e.artifact_location),
            lifecycle_stage: Some(e.lifecycle_stage),
            last_update_time: Some(LongString(e.last_update_time)),
            creation_time: Some(LongString(e.creation_time)),
            tags: kvs(e.tags),
            effective_trace_archival_retention: None,
            workspace: Some(e.workspace),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowGetExperimentResponse")]
pub struct GetExperimentResponse {
    pub experiment: Option<GqlExperiment>,
    pub api_error: Option<ApiError>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowRunInfo")]
pub struct RunInfo {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub run_name: Option<String>,
    pub experiment_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<LongString>,
    pub end_time: Option<LongString>,
    pub artifact_uri: Option<String>,
    pub lifecycle_stage: Option<String>,
}

/// A metric; a NaN value is `null`, as in MLflow's GraphQL.
#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowMetricExtension")]
pub struct MetricExt {
    pub key: Option<String>,
    pub value: Option<f64>,
    pub timestamp: Option<LongString>,
    pub step: Option<LongString>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
    pub model_id: Option<String>,
    pub run_id: Option<String>,
}

impl From<Metric> for MetricExt {
    fn from(m: Metric) -> Self {
        MetricExt {
            key: Some(m.key),
            value: Some(m.value).filter(|v| !v.is_nan()),
            timestamp: Some(LongString(m.timestamp)),
            step: Some(LongString(m.step)),
            dataset_name: m.dataset_name,
            dataset_digest: m.dataset_digest,
            model_id: m.model_id,
            run_id: m.run_id,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowMetricWithRunId")]
pub struct MetricWithRunId {
    pub key: Option<String>,
    pub value: Option<f64>,
    pub timestamp: Option<LongString>,
    pub step: Option<LongString>,
    pub run_id: Option<String>,
}

impl From<Metric> for MetricWithRunId {
    fn from(m: Metric) -> Self {
        MetricWithRunId {
            key: Some(m.key),
            value: Some(m.value).filter(|v| !v.is_nan()),
            timestamp: Some(LongString(m.timestamp)),
            step: Some(LongString(m.step)),
            run_id: m.run_id,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowRunData")]
pub struct RunData {
    pub metrics: Vec<MetricExt>,
    pub params: Vec<Param>,
    pub tags: Vec<RunTag>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowDataset")]
pub struct Dataset {
    pub name: Option<String>,
    pub digest: Option<String>,
    pub source_type: Option<String>,
    pub source: Option<String>,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowDatasetInput")]
pub struct DatasetInput {
    pub tags: Vec<InputTag>,
    pub dataset: Option<Dataset>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowModelInput")]
pub struct ModelInput {
    pub model_id: Option<String>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowRunInputs")]
pub struct RunInputs {
    pub dataset_inputs: Vec<DatasetInput>,
    pub model_inputs: Vec<ModelInput>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowModelOutput")]
pub struct ModelOutput {
    pub model_id: Option<String>,
    pub step: Option<LongString>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowRunOutputs")]
pub struct RunOutputs {
    pub model_outputs: Vec<ModelOutput>,
}

/// The run with the UI's extensions (`experiment`, `modelVersions`), resolved only when selected.
#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowRunExtension", complex)]
pub struct RunExt {
    pub info: Option<RunInfo>,
    pub data: Option<RunData>,
    pub inputs: Option<RunInputs>,
    pub outputs: Option<RunOutputs>,
}

impl From<Run> for RunExt {
    fn from(r: Run) -> Self {
        let i = r.info;
        RunExt {
            info: Some(RunInfo {
                run_id: Some(i.run_id),
                run_uuid: Some(i.run_uuid),
                run_name: Some(i.run_name),
                experiment_id: Some(i.experiment_id),
                user_id: Some(i.user_id),
                status: Some(i.status),
                start_time: Some(LongString(i.start_time)),
                end_time: i.end_time.map(LongString),
                artifact_uri: Some(i.artifact_uri),
                lifecycle_stage: Some(i.lifecycle_stage),
            }),
            data: Some(RunData {
                metrics: r.data.metrics.into_iter().map(MetricExt::from).collect(),
                params: kvs(r.data.params),
                tags: kvs(r.data.tags),
            }),
            inputs: Some(RunInputs {
                dataset_inputs: r
                    .inputs
                    .dataset_inputs
                    .into_iter()
                    .map(|d| DatasetInput {
                        tags: kvs(d.tags),
                        dataset: d.dataset.map(|ds| Dataset {
                            name: ds.name,
                            digest: ds.digest,
                            source_type: ds.source_type,
                            source: ds.source,
                            schema: ds.schema,
                            profile: ds.profile,
                        }),
                    })
                    .collect(),
                model_inputs: r
                    .inputs
                    .model_inputs
                    .into_iter()
                    .map(|m| ModelInput {
                        model_id: Some(m.model_id),
                    })
                    .collect(),
            }),
            outputs: Some(RunOutputs {
                model_outputs: r
                    .outputs
                    .model_outputs
                    .into_iter()
                    .map(|m| ModelOutput {
                        model_id: Some(m.model_id),
                        step: Some(LongString(m.step)),
                    })
                    .collect(),
            }),
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MlflowModelVersion")]
pub struct GqlModelVersion {
    pub name: Option<String>,
    pub version: Option<String>,
    pub creation_timestamp: Option<LongString>,
    pub last_updated_timestamp: Option<LongString>,
    pub user_id: Option<String>,
    pub current_stage: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    pub status: Option<String>,
    pub status_message: Option<String>,
    pub tags: Vec<ModelVersionTag>,
    pub run_link: Option<String>,
    pub aliases: Vec<String>,
}

impl From<ModelVersion> for GqlModelVersion {
    fn from(v: ModelVersion) -> Self {
        GqlModelVersion {
            name: Some(v.name),
            version: Some(v.version),
            creation_timestamp: Some(LongString(v.creation_timestamp)),
            last_updated_timestamp: Some(LongString(v.last_updated_timestamp)),
            user_id: v.user_id,
            current_stage: Some(v.current_stage),
            description: Some(v.description),
            source: Some(v.source),
            run_id: v.run_id,
            status: Some(v.status),
            status_message: v.status_message,
            tags: kvs(v.tags),
            run_link: Some(v.run_link),
            aliases: v.aliases,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MlflowViewType")]
pub enum ViewType {
    ActiveOnly,
    DeletedOnly,
    All,
}

#[derive(InputObject)]
#[graphql(name = "MlflowGetExperimentInput")]
pub struct GetExperimentInput {
    pub experiment_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(name = "MlflowGetRunInput")]
pub struct GetRunInput {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
}

#[derive(InputObject, Default)]
#[graphql(name = "MlflowSearchRunsInput")]
pub struct SearchRunsInput {
    pub experiment_ids: Option<Vec<Option<String>>>,
    pub filter: Option<String>,
    pub run_view_type: Option<ViewType>,
    pub max_results: Option<i32>,
    pub order_by: Option<Vec<Option<String>>>,
    pub page_token: Option<String>,
}

#[derive(InputObject)]
#[graphql(name = "MlflowGetMetricHistoryBulkIntervalInput")]
pub struct BulkIntervalInput {
    pub run_ids: Option<Vec<Option<String>>>,
    pub metric_key: Option<String>,
    pub start_step: Option<i32>,
    pub end_step: Option<i32>,
    pub max_results: Option<i32>,
}

#[derive(InputObject)]
#[graphql(name = "MlflowSearchModelVersionsInput")]
pub struct SearchModelVersionsInput {
    pub filter: Option<String>,
    pub max_results: Option<LongString>,
    pub order_by: Option<Vec<Option<String>>>,
    pub page_token: Option<String>,
}

#[derive(InputObject)]
#[graphql(name = "MlflowSearchDatasetsInput")]
pub struct SearchDatasetsInput {
    pub experiment_ids: Option<Vec<Option<String>>>,
}

/// A GraphQL list of optional strings as a plain list.
pub fn strings(v: Option<Vec<Option<String>>>) -> Vec<String> {
    v.unwrap_or_default().into_iter().flatten().collect()
}
