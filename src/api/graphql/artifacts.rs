//! `mlflowListArtifacts`: a run's artifact listing, from the same resolution as REST `artifacts/list`.

use async_graphql::{InputObject, SimpleObject};

use super::types::{ApiError, LongString};
use crate::storage::FileInfo;

#[derive(InputObject)]
#[graphql(name = "MlflowListArtifactsInput")]
pub struct ListArtifactsInput {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub path: Option<String>,
    pub page_token: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowFileInfo")]
pub struct GqlFileInfo {
    path: Option<String>,
    is_dir: Option<bool>,
    /// Proto's default for a directory, as graphene renders it: `"0"`.
    file_size: Option<LongString>,
}

impl From<FileInfo> for GqlFileInfo {
    fn from(f: FileInfo) -> Self {
        GqlFileInfo {
            path: Some(f.path),
            is_dir: Some(f.is_dir),
            file_size: Some(LongString(f.file_size.unwrap_or(0))),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowListArtifactsResponse")]
pub struct ListArtifactsResponse {
    pub root_uri: Option<String>,
    pub files: Vec<GqlFileInfo>,
    pub next_page_token: Option<String>,
    pub api_error: Option<ApiError>,
}
