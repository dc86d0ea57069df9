//! Response messages of the tracking API.

use serde::Serialize;
use utoipa::ToSchema;

use super::entities::{Experiment, Metric, Run, RunInfo};

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateExperimentResponse {
    pub experiment_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentResponse {
    pub experiment: Experiment,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchExperimentsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<Experiment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunResponse {
    pub run: Run,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateRunResponse {
    pub run_info: RunInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchRunsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `{"files": [...]}`; MLflow omits the empty list, so an empty listing is `{}`.
#[derive(Serialize, ToSchema)]
pub struct ProxyListResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::storage::FileInfo>,
}

/// A presigned request the client sends to the object store itself.
#[derive(Serialize, ToSchema)]
pub struct MpuCredential {
    pub url: String,
    pub part_number: i64,
    pub headers: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct MpuCreateResponse {
    pub upload_id: String,
    pub credentials: Vec<MpuCredential>,
}

/// `presigned/<path>`: where to download the object directly, and its size.
#[derive(Serialize, ToSchema)]
pub struct PresignedResponse {
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ListArtifactsResponse {
    pub root_uri: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::storage::FileInfo>,
}
