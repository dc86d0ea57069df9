//! Workspaces on the wire (MLflow 3.17's `Workspace`, `CreateWorkspace`, `UpdateWorkspace`).

use serde::Serialize;
use utoipa::ToSchema;

request!(CreateWorkspace {
    name: Option<String>,
    description: Option<String>,
    default_artifact_root: Option<String>,
});
request!(UpdateWorkspace {
    description: Option<String>,
    default_artifact_root: Option<String>,
});
request!(DeleteWorkspace { mode: Option<String> });

/// A workspace; unset fields are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct Workspace {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_artifact_root: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceResponse {
    pub workspace: Workspace,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListWorkspacesResponse {
    pub workspaces: Vec<Workspace>,
}
