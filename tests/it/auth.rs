//! The permission matrix, on both backends: every route of `api-spec/openapi.json` × (anonymous, a user with
//! no permission, READ, USE, EDIT, MANAGE, admin) against the level this table says it needs. A route in the
//! spec without a row here fails the test, so no route can land beside the gate. Each route gets fresh
//! resources (an experiment with a run and a logged model, a registered model with a version), owned by the
//! admin, on which the other users hold exactly their level (`default_permission` NO_PERMISSIONS).

use actix_web::http::Method;
use actix_web::test::TestRequest;
use harvester::auth::{grants, users, Permission};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::Backend;

/// The least a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    Public,
    Any,
    Read,
    Use,
    Edit,
    Manage,
    Admin,
}

use Need::*;

const TABLE: &[(&str, &str, Need)] = &[
    ("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", Read),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts", Read),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/{path}", Read),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path}", Edit),
    (
        "DELETE",
        "/api/2.0/mlflow-artifacts/artifacts/{path}",
        Manage,
    ),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/abort/{path}", Edit),
    (
        "POST",
        "/api/2.0/mlflow-artifacts/mpu/complete/{path}",
        Edit,
    ),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/create/{path}", Edit),
    ("GET", "/api/2.0/mlflow-artifacts/presigned/{path}", Read),
    ("GET", "/api/2.0/mlflow/artifacts/list", Read),
    ("POST", "/api/2.0/mlflow/experiments/create", Any),
    ("POST", "/api/2.0/mlflow/experiments/delete", Manage),
    (
        "POST",
        "/api/2.0/mlflow/experiments/delete-experiment-tag",
        Edit,
    ),
    ("GET", "/api/2.0/mlflow/experiments/get", Read),
    ("GET", "/api/2.0/mlflow/experiments/get-by-name", Read),
    ("POST", "/api/2.0/mlflow/experiments/restore", Manage),
    ("GET", "/api/2.0/mlflow/experiments/search", Any),
    ("POST", "/api/2.0/mlflow/experiments/search", Any),
    (
        "POST",
        "/api/2.0/mlflow/experiments/set-experiment-tag",
        Edit,
    ),
    ("POST", "/api/2.0/mlflow/experiments/update", Edit),
    ("POST", "/api/2.0/mlflow/logged-models", Edit),
    ("POST", "/api/2.0/mlflow/logged-models/search", Any),
    ("GET", "/api/2.0/mlflow/logged-models/{model_id}", Read),
    ("DELETE", "/api/2.0/mlflow/logged-models/{model_id}", Manage),
    ("PATCH", "/api/2.0/mlflow/logged-models/{model_id}", Edit),
    (
        "GET",
        "/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories",
        Read,
    ),
    (
        "POST",
        "/api/2.0/mlflow/logged-models/{model_id}/params",
        Edit,
    ),
    (
        "PATCH",
        "/api/2.0/mlflow/logged-models/{model_id}/tags",
        Edit,
    ),
    (
        "DELETE",
        "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}",
        Edit,
    ),
    ("GET", "/api/2.0/mlflow/metrics/get-history", Read),
    (
        "GET",
        "/api/2.0/mlflow/metrics/get-history-bulk-interval",
        Read,
    ),
    ("POST", "/api/2.0/mlflow/model-versions/create", Edit),
    ("DELETE", "/api/2.0/mlflow/model-versions/delete", Manage),
    (
        "DELETE",
        "/api/2.0/mlflow/model-versions/delete-tag",
        Manage,
    ),
    ("GET", "/api/2.0/mlflow/model-versions/get", Read),
    (
        "GET",
        "/api/2.0/mlflow/model-versions/get-download-uri",
        Read,
    ),
    ("GET", "/api/2.0/mlflow/model-versions/search", Any),
    ("POST", "/api/2.0/mlflow/model-versions/set-tag", Edit),
    (
        "POST",
        "/api/2.0/mlflow/model-versions/transition-stage",
        Edit,
    ),
    ("PATCH", "/api/2.0/mlflow/model-versions/update", Edit),
    ("GET", "/api/2.0/mlflow/registered-models/alias", Read),
    ("POST", "/api/2.0/mlflow/registered-models/alias", Edit),
    ("DELETE", "/api/2.0/mlflow/registered-models/alias", Manage),
    ("POST", "/api/2.0/mlflow/registered-models/create", Any),
    ("DELETE", "/api/2.0/mlflow/registered-models/delete", Manage),
    (
        "DELETE",
        "/api/2.0/mlflow/registered-models/delete-tag",
        Edit,
    ),
    ("GET", "/api/2.0/mlflow/registered-models/get", Read),
    (
        "POST",
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        Read,
    ),
    ("POST", "/api/2.0/mlflow/registered-models/rename", Edit),
    ("GET", "/api/2.0/mlflow/registered-models/search", Any),
    ("POST", "/api/2.0/mlflow/registered-models/set-tag", Edit),
    ("PATCH", "/api/2.0/mlflow/registered-models/update", Edit),
    ("POST", "/api/2.0/mlflow/runs/create", Edit),
    ("POST", "/api/2.0/mlflow/runs/delete", Manage),
    ("POST", "/api/2.0/mlflow/runs/delete-tag", Edit),
    ("GET", "/api/2.0/mlflow/runs/get", Read),
    ("POST", "/api/2.0/mlflow/runs/log-batch", Edit),
    ("POST", "/api/2.0/mlflow/runs/log-inputs", Edit),
    ("POST", "/api/2.0/mlflow/runs/log-metric", Edit),
    ("POST", "/api/2.0/mlflow/runs/log-parameter", Edit),
    ("POST", "/api/2.0/mlflow/runs/outputs", Edit),
    ("POST", "/api/2.0/mlflow/runs/restore", Manage),
    ("POST", "/api/2.0/mlflow/runs/search", Any),
    ("POST", "/api/2.0/mlflow/runs/set-tag", Edit),
    ("POST", "/api/2.0/mlflow/runs/update", Edit),
    // Scorers: registering needs EDIT on the experiment; a scorer itself is read or deleted under its own
    // grants (the matrix grants none, so `default_permission` NO_PERMISSIONS leaves only the admin).
    ("POST", "/api/3.0/mlflow/scorers/register", Edit),
    ("GET", "/api/3.0/mlflow/scorers/get", Admin),
    ("GET", "/api/3.0/mlflow/scorers/versions", Admin),
    ("GET", "/api/3.0/mlflow/scorers/list", Any),
    ("GET", "/api/3.0/mlflow/scorers/online-configs", Any),
    ("DELETE", "/api/3.0/mlflow/scorers/delete", Admin),
    // The AI gateway: its own grants (the matrix grants each level on the route's secret, model
    // definition and endpoint); what a resource is built on is used (USE); budgets are written by admins.
    ("GET", "/api/3.0/mlflow/workspaces", Any),
    ("POST", "/api/3.0/mlflow/workspaces", Admin),
    // With workspaces off (as here) anyone may look, as stock's `validate_can_view_workspace`.
    ("GET", "/api/3.0/mlflow/workspaces/{workspace_name}", Any),
    (
        "PATCH",
        "/api/3.0/mlflow/workspaces/{workspace_name}",
        Admin,
    ),
    (
        "DELETE",
        "/api/3.0/mlflow/workspaces/{workspace_name}",
        Admin,
    ),
    ("POST", "/api/3.0/mlflow/gateway/secrets/create", Any),
    ("GET", "/api/3.0/mlflow/gateway/secrets/get", Read),
    ("POST", "/api/3.0/mlflow/gateway/secrets/update", Edit),
    ("DELETE", "/api/3.0/mlflow/gateway/secrets/delete", Manage),
    ("GET", "/api/3.0/mlflow/gateway/secrets/list", Any),
    ("GET", "/ajax-api/3.0/mlflow/gateway/secrets/config", Any),
    (
        "POST",
        "/api/3.0/mlflow/gateway/model-definitions/create",
        Use,
    ),
    ("GET", "/api/3.0/mlflow/gateway/model-definitions/get", Read),
    (
        "POST",
        "/api/3.0/mlflow/gateway/model-definitions/update",
        Edit,
    ),
    (
        "DELETE",
        "/api/3.0/mlflow/gateway/model-definitions/delete",
        Manage,
    ),
    ("GET", "/api/3.0/mlflow/gateway/model-definitions/list", Any),
    ("POST", "/api/3.0/mlflow/gateway/endpoints/create", Use),
    ("GET", "/api/3.0/mlflow/gateway/endpoints/get", Read),
    ("POST", "/api/3.0/mlflow/gateway/endpoints/update", Edit),
    ("DELETE", "/api/3.0/mlflow/gateway/endpoints/delete", Manage),
    ("GET", "/api/3.0/mlflow/gateway/endpoints/list", Any),
    ("POST", "/api/3.0/mlflow/gateway/endpoints/set-tag", Edit),
    (
        "DELETE",
        "/api/3.0/mlflow/gateway/endpoints/delete-tag",
        Edit,
    ),
    (
        "POST",
        "/api/3.0/mlflow/gateway/endpoints/models/attach",
        Edit,
    ),
    (
        "POST",
        "/api/3.0/mlflow/gateway/endpoints/models/detach",
        Edit,
    ),
    (
        "POST",
        "/api/3.0/mlflow/gateway/endpoints/bindings/create",
        Edit,
    ),
    (
        "DELETE",
        "/api/3.0/mlflow/gateway/endpoints/bindings/delete",
        Edit,
    ),
    (
        "GET",
        "/api/3.0/mlflow/gateway/endpoints/bindings/list",
        Any,
    ),
    ("POST", "/api/3.0/mlflow/gateway/budgets/create", Admin),
    ("GET", "/api/3.0/mlflow/gateway/budgets/get", Any),
    ("POST", "/api/3.0/mlflow/gateway/budgets/update", Admin),
    ("DELETE", "/api/3.0/mlflow/gateway/budgets/delete", Admin),
    ("GET", "/api/3.0/mlflow/gateway/budgets/list", Any),
    ("GET", "/api/2.0/mlflow/webhooks", Admin),
    ("POST", "/api/2.0/mlflow/webhooks", Admin),
    ("GET", "/api/2.0/mlflow/webhooks/{webhook_id}", Admin),
    ("DELETE", "/api/2.0/mlflow/webhooks/{webhook_id}", Admin),
    ("PATCH", "/api/2.0/mlflow/webhooks/{webhook_id}", Admin),
    ("POST", "/api/2.0/mlflow/webhooks/{webhook_id}/test", Admin),
    ("GET", "/api/3.0/mlflow/server-info", Public),
    ("GET", "/api/harvester/v1/evalai/submissions", Admin),
    ("POST", "/api/harvester/v1/evalai/{name}/slack", Public),
    ("POST", "/api/harvester/v1/evalai/{name}/webhook", Public),
    ("GET", "/api/harvester/v1/scans/{model}/{version}", Read),
    (
        "POST",
        "/api/harvester/v1/scans/{model}/{version}/override",
        Admin,
    ),
    (
        "POST",
        "/api/harvester/v1/scans/{model}/{version}/rescan",
        Admin,
    ),
    ("POST", "/api/harvester/v1/tokens", Any),
    ("GET", "/health", Public),
    ("GET", "/serving/", Any),
    ("GET", "/serving/docs/{tail}", Any),
    ("GET", "/serving/openapi.json", Any),
    ("GET", "/serving/workers.json", Admin),
    ("POST", "/serving/{model}/{ref}/invocations", Use),
    ("GET", "/serving/{model}/{ref}/openapi.json", Read),
    ("GET", "/serving/{model}/{ref}/ping", Read),
    ("GET", "/version", Public),
];

const PASSWORD: &str = "matrix-password-1234";

fn basic(user: &str) -> String {
    crate::common::basic_auth(user, PASSWORD)
}

/// Every (method, path) of the committed OpenAPI document.
fn spec_routes() -> Vec<(String, String)> {
    let doc: Value =
        serde_json::from_str(&harvester::openapi::spec_json()).expect("the spec is JSON");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out
}

fn need_of(method: &str, path: &str) -> Need {
    TABLE
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, n)| *n)
        .unwrap_or_else(|| {
            panic!("{method} {path} has no row in tests/it/auth.rs's TABLE: say what it needs")
        })
}

async fn every_route_answers_as_its_level_allows(b: Backend) {
    let Some((t, db)) = crate::common::app_with_auth(b, Permission::NoPermissions, PASSWORD).await
    else {
        return;
    };
    let levels = [
        ("none", None),
        ("read", Some(Permission::Read)),
        ("use", Some(Permission::Use)),
        ("edit", Some(Permission::Edit)),
        ("manage", Some(Permission::Manage)),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, _) in levels {
        ids.insert(
            name,
            users::create(&db, name, PASSWORD, false).expect("user").id,
        );
    }
    let spec = spec_routes();
    for (m, p, _) in TABLE {
        assert!(
            spec.iter().any(|(sm, sp)| sm == m && sp == p),
            "{m} {p} is in the TABLE but not in the spec"
        );
    }
    let as_admin = |req: TestRequest| req.insert_header(("Authorization", basic("admin")));
    for (i, (method, path)) in spec.iter().enumerate() {
        let need = need_of(method, path);
        // Fresh resources for this route, owned by the admin.
        let exp_name = format!("matrix-{i}");
        let (_, e) = t
            .send(
                as_admin(TestRequest::post().uri("/api/2.0/mlflow/experiments/create"))
                    .set_json(json!({"name": exp_name})),
            )
            .await;
        let exp = e["experiment_id"].as_str().expect("experiment").to_string();
        let (_, r) = t
            .send(
                as_admin(TestRequest::post().uri("/api/2.0/mlflow/runs/create"))
                    .set_json(json!({"experiment_id": exp})),
            )
            .await;
        let run = r["run"]["info"]["run_id"]
            .as_str()
            .expect("run")
            .to_string();
        let model = format!("matrix-model-{i}");
        t.send(
            as_admin(TestRequest::post().uri("/api/2.0/mlflow/registered-models/create"))
                .set_json(json!({"name": model})),
        )
        .await;
        t.send(
            as_admin(TestRequest::post().uri("/api/2.0/mlflow/model-versions/create")).set_json(
                json!({"name": model, "source": format!("runs:/{run}/model"), "run_id": run}),
            ),
        )
        .await;
        let (_, lm) = t
            .send(
                as_admin(TestRequest::post().uri("/api/2.0/mlflow/logged-models"))
                    .set_json(json!({"experiment_id": exp})),
            )
            .await;
        let lm = lm["model"]["info"]["model_id"]
            .as_str()
            .unwrap_or("m-none")
            .to_string();
        // The AI gateway's resources: a secret, a model definition on it, an endpoint on that, a budget.
        let (_, sc) = t
            .send(
                as_admin(TestRequest::post().uri("/api/3.0/mlflow/gateway/secrets/create"))
                    .set_json(json!({"secret_name": format!("matrix-secret-{i}"),
                        "secret_value": {"api_key": "sk-matrix-000000"}})),
            )
            .await;
        let secret = sc["secret"]["secret_id"]
            .as_str()
            .expect("secret")
            .to_string();
        let (_, md) = t
            .send(
                as_admin(
                    TestRequest::post().uri("/api/3.0/mlflow/gateway/model-definitions/create"),
                )
                .set_json(
                    json!({"name": format!("matrix-md-{i}"), "secret_id": secret,
                        "provider": "openai", "model_name": "gpt-4"}),
                ),
            )
            .await;
        let md = md["model_definition"]["model_definition_id"]
            .as_str()
            .expect("md")
            .to_string();
        let configs = json!([{"model_definition_id": md, "linkage_type": "PRIMARY"}]);
        let (_, ep) = t
            .send(
                as_admin(TestRequest::post().uri("/api/3.0/mlflow/gateway/endpoints/create"))
                    .set_json(
                        json!({"name": format!("matrix-ep-{i}"), "model_configs": configs,
                        "usage_tracking": false}),
                    ),
            )
            .await;
        let ep = ep["endpoint"]["endpoint_id"]
            .as_str()
            .expect("endpoint")
            .to_string();
        let (_, bp) = t
            .send(
                as_admin(TestRequest::post().uri("/api/3.0/mlflow/gateway/budgets/create"))
                    .set_json(json!({"budget_unit": "USD", "budget_amount": 1.0,
                        "duration": {"unit": "DAYS", "value": 1}, "target_scope": "GLOBAL",
                        "budget_action": "ALERT"})),
            )
            .await;
        let bp = bp["budget_policy"]["budget_policy_id"]
            .as_str()
            .expect("budget")
            .to_string();
        for (name, level) in levels {
            if let Some(p) = level {
                for (ty, id) in [
                    ("experiment", exp.as_str()),
                    ("registered_model", model.as_str()),
                    ("gateway_secret", secret.as_str()),
                    ("gateway_model_definition", md.as_str()),
                    ("gateway_endpoint", ep.as_str()),
                ] {
                    grants::grant_user(&db, ids[name], name, ty, id, p, true).expect("grant");
                }
            }
        }
        let uri = path
            .replace("{path}", &format!("{exp}/x.txt"))
            .replace("{model_id}", &lm)
            .replace("{tag_key}", "k")
            .replace("{webhook_id}", "wh-none")
            .replace("{name}", "no-such-installation")
            .replace("{model}", &model)
            .replace("{version}", "1")
            .replace("{ref}", "1")
            .replace("{tail}", "index.html")
            .replace("{workspace_name}", "team-x");
        let query = format!(
            "experiment_id={exp}&run_id={run}&run_uuid={run}&name={model}&version=1&experiment_name={exp_name}\
             &path={exp}&key=k&alias=a&metric_key=m&secret_id={secret}&model_definition_id={md}\
             &endpoint_id={ep}&budget_policy_id={bp}"
        );
        let body = json!({"experiment_id": exp, "run_id": run, "run_uuid": run, "name": model, "version": "1",
            "experiment_name": exp_name, "key": "k", "value": "v", "alias": "a", "new_name": model,
            "stage": "Staging", "metrics": [], "params": [], "tags": [], "timestamp": 0, "model_id": lm,
            "secret_id": secret, "model_definition_id": md, "endpoint_id": ep, "budget_policy_id": bp,
            "model_configs": configs});
        let who = [
            ("anonymous", Public),
            ("none", Any),
            ("read", Read),
            ("use", Use),
            ("edit", Edit),
            ("manage", Manage),
            ("admin", Admin),
        ];
        for (user, holds) in who {
            let method_ = Method::from_bytes(method.as_bytes()).expect("method");
            let mut req = TestRequest::default()
                .method(method_)
                .uri(&format!("{uri}?{query}"));
            if method != "GET" {
                req = req.set_json(body.clone());
            }
            if user != "anonymous" {
                req = req.insert_header(("Authorization", basic(user)));
            }
            let (status, answer) = t.send(req).await;
            let refused = status == 401
                || (status == 403 && answer == Value::String("Permission denied".into()));
            let allowed = match need {
                Public => true,
                Any => user != "anonymous",
                Admin => user == "admin",
                n => holds >= n,
            };
            if allowed {
                assert!(
                    !refused,
                    "{user} was refused {method} {uri} ({need:?}): {status} {answer}"
                );
            } else {
                let want = if user == "anonymous" { 401 } else { 403 };
                assert!(
                    refused && status.as_u16() == want,
                    "{user} reached {method} {uri} ({need:?}): {status} {answer}"
                );
            }
        }
    }
    // `/metrics` (not in the spec: no OpenAPI operation) names served models: credentials needed.
    let (status, _) = t.send(TestRequest::get().uri("/metrics")).await;
    assert_eq!(status, 401, "anonymous /metrics");
    let (status, answer) = t
        .send(
            TestRequest::get()
                .uri("/metrics")
                .insert_header(("Authorization", basic("none"))),
        )
        .await;
    assert!(status != 401 && status != 403, "{status} {answer}");
}

backend_tests!(every_route_answers_as_its_level_allows);
