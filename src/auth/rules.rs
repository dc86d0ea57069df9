//! Which request needs which capability: MLflow 3.17's `BEFORE_REQUEST_HANDLERS` table, plus the routes
//! Harvester adds. Fail-closed: a route missing here needs an admin (and the route matrix test fails).

use super::permission::Action;

/// What a request touches, read from its parameters or path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `experiment_id` (body or query).
    Experiment,
    /// `experiment_name`.
    ExperimentName,
    /// `run_id` or `run_uuid`, checked against its experiment.
    Run,
    /// Every `run_id` of the query (the UI's bulk metric history).
    Runs,
    /// Every `experiment_ids` of the request (the UI's dataset summaries).
    Experiments,
    /// A registered model by `name`.
    Model,
    /// A registered model named by the path segment after `prefix` (scans, serving).
    ModelInPath(&'static str),
    /// A logged model by the `{model_id}` path segment, checked against its experiment.
    LoggedModel,
    /// `experiment_id` of a new logged model.
    NewLoggedModel,
    /// The artifact proxy: its path starts with the experiment id.
    ArtifactPath,
    /// A scorer by `experiment_id` and `name`: its own grants (pattern `<experiment_id>/<name>`), as in
    /// MLflow; a `DENY` on `scorer_version` `*` vetoes.
    Scorer,
    /// Registering a scorer version: EDIT on the experiment, and the scorer not denied.
    NewScorer,
    /// A gateway secret by `secret_id`.
    GatewaySecret,
    /// A gateway model definition by `model_definition_id`; a new `secret_id` also needs USE on it.
    GatewayModelDefinition,
    /// A gateway endpoint by `endpoint_id` (or `name`); the model definitions of new `model_configs`
    /// also need USE.
    GatewayEndpoint,
    /// A new gateway endpoint: USE on each model definition of its `model_configs`.
    NewGatewayEndpoint,
}

/// The rule for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No credentials needed.
    Public,
    /// Any authenticated user: searches (filtered to what the user may read) and creations (which
    /// grant the creator MANAGE).
    Authenticated,
    /// Creating an experiment or a model: any user with workspaces off; with them on, one allowed to
    /// create in the request's workspace ([`crate::auth::Viewer::may_create`]).
    Create,
    /// Only admins.
    Admin,
    /// Creating a user: an admin, or a workspace admin (who seeds accounts for its workspace).
    CreateUser,
    /// The user named by `username`, or an admin.
    SelfOrAdmin,
    /// A capability on a resource.
    Needs(Target, Action),
    /// Role administration: an admin, or a workspace admin of the role's workspace.
    ManageRoles,
    /// Reading a role: an admin, or a user holding any role in its workspace.
    ViewRoles,
    /// Listing roles of the `workspace` parameters: a user must hold a role in each (admins: unscoped).
    ListRoles,
    /// A workspace (its name the last path segment): an admin, or a user holding a role there.
    ViewWorkspace,
    /// A user's roles or grants: the user itself, an admin, or a workspace admin of a workspace it is in.
    ViewUserRoles,
}

use Action::*;
use Rule::*;
use Target::*;

/// The rule for `method` on `path` (the static prefix already removed).
pub fn rule(method: &str, path: &str) -> Rule {
    if matches!(path, "/health" | "/version" | "/favicon.ico")
        || path.starts_with("/static-files/")
        || path.starts_with("/static/")
    {
        return Public;
    }
    // `/metrics` names served models in its serving instruments: any authenticated user, as stock's
    // exporter behind basic-auth (a scraper logs in with basic credentials).
    if path == "/metrics" {
        return Authenticated;
    }
    // EvalAI's receivers authenticate with their own HMAC or URL token.
    if method == "POST"
        && path.starts_with("/api/harvester/v1/evalai/")
        && (path.ends_with("/webhook") || path.ends_with("/slack"))
    {
        return Public;
    }
    if let Some(rest) = path.strip_prefix("/api/harvester/v1/scans/") {
        let _ = rest;
        return match (
            method,
            path.ends_with("/rescan") || path.ends_with("/override"),
        ) {
            ("GET", false) => Needs(ModelInPath("/api/harvester/v1/scans/"), Read),
            (_, true) => Admin,
            _ => Admin,
        };
    }
    if path == "/api/harvester/v1/tokens" {
        return Authenticated;
    }
    if path == "/api/harvester/v1/evalai/submissions" {
        return Admin;
    }
    if let Some(rest) = path.strip_prefix("/serving/") {
        return match rest {
            "" | "openapi.json" => Authenticated,
            "workers.json" => Admin,
            r if r.starts_with("docs/") || r == "docs" => Authenticated,
            r if r.ends_with("/invocations") => Needs(ModelInPath("/serving/"), Use),
            _ => Needs(ModelInPath("/serving/"), Read),
        };
    }
    // The UI's page itself (its static files are public): any user, so the browser asks for credentials.
    if path == "/" {
        return Authenticated;
    }
    if path == "/signup" {
        return CreateUser;
    }
    if path == "/get-artifact" {
        return Needs(Run, Read);
    }
    if path == "/model-versions/get-artifact" {
        return Needs(Model, Read);
    }
    if let Some(rest) = strip_api(path, "mlflow-artifacts/") {
        if rest == "artifacts" {
            return Needs(ArtifactPath, Read);
        }
        let action = if rest.starts_with("mpu/") {
            Update
        } else {
            match method {
                "GET" => Read,
                "DELETE" => Delete,
                _ => Update,
            }
        };
        return Needs(ArtifactPath, action);
    }
    match strip_api(path, "mlflow/") {
        Some(op) => api_rule(method, op),
        None if path == "/graphql" => Authenticated,
        None => Admin,
    }
}

/// Whether a request only reads: a read capability, or a search or listing by an authenticated user.
pub fn is_read(rule: Rule, method: &str, path: &str) -> bool {
    match rule {
        Needs(_, Read) => true,
        Authenticated | SelfOrAdmin | ViewRoles | ListRoles | ViewUserRoles => {
            method == "GET" || path.ends_with("/search") || path == "/graphql"
        }
        _ => false,
    }
}

/// `/api/2.0/<tail>`, `/ajax-api/3.0/<tail>` and so on → what follows `<tail>`.
fn strip_api<'a>(path: &'a str, tail: &str) -> Option<&'a str> {
    let rest = path
        .strip_prefix("/api/")
        .or_else(|| path.strip_prefix("/ajax-api/"))?;
    let rest = rest
        .strip_prefix("2.0/")
        .or_else(|| rest.strip_prefix("3.0/"))?;
    rest.strip_prefix(tail)
}

fn api_rule(method: &str, op: &str) -> Rule {
    if let Some(rest) = op.strip_prefix("logged-models") {
        return match (method, rest) {
            ("POST", "") => Needs(NewLoggedModel, Update),
            ("POST", "/search") => Authenticated,
            ("GET", _) => Needs(LoggedModel, Read),
            ("DELETE", r) if !r.contains("/tags/") => Needs(LoggedModel, Delete),
            _ => Needs(LoggedModel, Update),
        };
    }
    if let Some(g) = op.strip_prefix("gateway/") {
        return gateway_rule(g);
    }
    match op {
        "server-info" => Public,
        "scorers/register" => Needs(NewScorer, Update),
        "scorers/get" | "scorers/versions" => Needs(Scorer, Read),
        // One version: reading the scorer addresses it (as stock); the whole scorer: DELETE on it.
        "scorers/delete" => Needs(Scorer, Delete),
        // Each configuration's experiment is checked by the handler (as stock's gate does after a read).
        "scorers/list" | "scorers/online-configs" => Authenticated,
        "users/create" | "users/create-ui" => CreateUser,
        "users/update-admin" | "users/delete" | "users/list" => Admin,
        "users/get" | "users/update-password" => SelfOrAdmin,
        "users/current" | "users/current/permissions" => Authenticated,
        "users/permissions/list" | "users/roles/list" => ViewUserRoles,
        "roles/get" | "roles/permissions/list" => ViewRoles,
        "roles/list" => ListRoles,
        "users/permissions/grant" | "users/permissions/revoke" | "users/permissions/get" => Admin,
        o if o.starts_with("roles/") => ManageRoles,
        // The per-resource permission routes of MLflow before 3.17: MANAGE on the resource.
        o if o.starts_with("experiments/permissions/") => Needs(Experiment, Manage),
        o if o.starts_with("registered-models/permissions/") => Needs(Model, Manage),
        "experiments/create" => Create,
        "experiments/search" => Authenticated,
        "experiments/get" => Needs(Experiment, Read),
        "experiments/get-by-name" => Needs(ExperimentName, Read),
        "experiments/delete" | "experiments/restore" => Needs(Experiment, Delete),
        "experiments/update"
        | "experiments/set-experiment-tag"
        | "experiments/delete-experiment-tag" => Needs(Experiment, Update),
        "runs/create" => Needs(Experiment, Update),
        "runs/get" | "metrics/get-history" | "artifacts/list" => Needs(Run, Read),
        "runs/delete" | "runs/restore" => Needs(Run, Delete),
        "runs/update" | "runs/log-metric" | "runs/log-parameter" | "runs/set-tag"
        | "runs/delete-tag" | "runs/log-batch" | "runs/log-inputs" | "runs/outputs"
        | "runs/log-model" | "upload-artifact" => Needs(Run, Update),
        "runs/search" => Authenticated,
        "metrics/get-history-bulk" | "metrics/get-history-bulk-interval" => Needs(Runs, Read),
        "runs/create-promptlab-run" => Needs(Experiment, Update),
        "experiments/search-datasets" => Needs(Experiments, Read),
        "assistant/config" | "assistant/providers" | "ui-telemetry" => Authenticated,
        "registered-models/create" => Create,
        "workspaces" if method == "GET" => Authenticated,
        o if o.starts_with("workspaces/") && method == "GET" => ViewWorkspace,
        o if o == "workspaces" || o.starts_with("workspaces/") => Admin,
        "registered-models/search" | "model-versions/search" => Authenticated,
        "registered-models/get"
        | "registered-models/get-latest-versions"
        | "model-versions/get"
        | "model-versions/get-download-uri"
        | "registered-models/get-model-version-by-alias" => Needs(Model, Read),
        "registered-models/alias" if method == "GET" => Needs(Model, Read),
        "registered-models/alias" if method == "DELETE" => Needs(Model, Delete),
        "registered-models/alias" => Needs(Model, Update),
        "registered-models/delete" | "model-versions/delete" | "model-versions/delete-tag" => {
            Needs(Model, Delete)
        }
        "registered-models/update"
        | "registered-models/rename"
        | "registered-models/set-tag"
        | "registered-models/delete-tag"
        | "model-versions/update"
        | "model-versions/set-tag"
        | "model-versions/transition-stage" => Needs(Model, Update),
        "model-versions/create" => Needs(Model, Update),
        // Webhooks see every registry event: admins only, as in 3.17.
        o if o == "webhooks" || o.starts_with("webhooks/") => Admin,
        _ => Admin,
    }
}

/// The AI gateway's routes, as MLflow 3.17 guards them: creators get MANAGE, budgets are admins'.
fn gateway_rule(op: &str) -> Rule {
    match op {
        "secrets/create" | "secrets/list" | "secrets/config" => Authenticated,
        "secrets/get" => Needs(GatewaySecret, Read),
        "secrets/update" => Needs(GatewaySecret, Update),
        "secrets/delete" => Needs(GatewaySecret, Delete),
        "model-definitions/create" => Needs(GatewaySecret, Use),
        "model-definitions/get" => Needs(GatewayModelDefinition, Read),
        "model-definitions/update" => Needs(GatewayModelDefinition, Update),
        "model-definitions/delete" => Needs(GatewayModelDefinition, Delete),
        "model-definitions/list" | "endpoints/list" => Authenticated,
        "endpoints/create" => Needs(NewGatewayEndpoint, Use),
        "endpoints/get" => Needs(GatewayEndpoint, Read),
        "endpoints/update"
        | "endpoints/set-tag"
        | "endpoints/delete-tag"
        | "endpoints/models/attach"
        | "endpoints/models/detach"
        | "endpoints/bindings/create"
        | "endpoints/bindings/delete" => Needs(GatewayEndpoint, Update),
        "endpoints/bindings/list" => Authenticated,
        "endpoints/delete" => Needs(GatewayEndpoint, Delete),
        "budgets/get" | "budgets/list" => Authenticated,
        _ => Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(rule("GET", "/health"), Public);
        assert_eq!(rule("GET", "/metrics"), Authenticated);
        assert_eq!(rule("GET", "/static-files/main.js"), Public);
        assert_eq!(rule("POST", "/api/2.0/mlflow/users/create"), CreateUser);
        assert_eq!(rule("POST", "/api/2.0/mlflow/users/create-ui"), CreateUser);
        assert_eq!(rule("GET", "/signup"), CreateUser);
        assert_eq!(rule("POST", "/api/2.0/mlflow/users/delete"), Admin);
        assert_eq!(
            rule("GET", "/ajax-api/2.0/mlflow/users/current"),
            Authenticated
        );
        assert_eq!(
            rule("GET", "/api/2.0/mlflow/experiments/get"),
            Needs(Experiment, Read)
        );
        assert_eq!(
            rule("POST", "/api/2.0/mlflow/runs/log-batch"),
            Needs(Run, Update)
        );
        assert_eq!(
            rule("PATCH", "/api/2.0/mlflow/logged-models/m-1/tags"),
            Needs(LoggedModel, Update)
        );
        assert_eq!(
            rule("DELETE", "/api/2.0/mlflow/logged-models/m-1"),
            Needs(LoggedModel, Delete)
        );
        assert_eq!(
            rule(
                "PUT",
                "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/x"
            ),
            Needs(ArtifactPath, Update)
        );
        assert_eq!(
            rule("POST", "/serving/m/1/invocations"),
            Needs(ModelInPath("/serving/"), Use)
        );
        assert_eq!(rule("POST", "/api/harvester/v1/scans/m/1/override"), Admin);
        assert_eq!(rule("POST", "/api/2.0/mlflow/some/new/route"), Admin);
        assert_eq!(rule("POST", "/api/harvester/v1/evalai/x/webhook"), Public);
    }
}
