//! MLflow's workspaces (`--enable-workspaces`) on both backends: the workspace store's routes and errors,
//! isolation of experiments, runs, registered models and webhooks by the `X-MLflow-Workspace` header
//! (the same names in two workspaces, nothing of one seen from the other), artifact paths under
//! `workspaces/<name>/`, deletion modes; refused headers with workspaces off. With auth: `workspaces_auth`.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{assert_err, Backend};

pub(crate) const WS: &str = "/api/3.0/mlflow/workspaces";

/// GET an absolute path that must succeed; the body.
macro_rules! ok_abs {
    ($t:expr, $path:expr) => {{
        let (s, v) = $t.send(TestRequest::get().uri($path)).await;
        assert_eq!(s, 200, "{} -> {v}", $path);
        v
    }};
}

/// Stock's refusal: 403 with the body `Permission denied`.
pub(crate) fn assert_denied(got: &(actix_web::http::StatusCode, Value)) {
    assert_eq!(got.0, 403, "{}", got.1);
    assert_eq!(got.1, json!("Permission denied"));
}

pub(crate) fn in_ws(ws: &str, req: TestRequest) -> TestRequest {
    req.insert_header(("X-MLflow-Workspace", ws))
}

pub(crate) fn post(ws: &str, path: &str, body: Value) -> TestRequest {
    in_ws(
        ws,
        TestRequest::post()
            .uri(&format!("/api/2.0/mlflow/{path}"))
            .set_json(body),
    )
}

pub(crate) fn get(ws: &str, pq: &str) -> TestRequest {
    in_ws(ws, TestRequest::get().uri(&format!("/api/2.0/mlflow/{pq}")))
}

async fn off_by_default(b: Backend) {
    let t = crate::app!(b);
    let (s, r) = t
        .send(post(
            "team-a",
            "experiments/search",
            json!({"max_results": 10}),
        ))
        .await;
    assert_err(&(s, r), 501, "FEATURE_DISABLED");
    assert_err(
        &t.send(TestRequest::get().uri(WS)).await,
        501,
        "FEATURE_DISABLED",
    );
    let info = ok_abs!(t, "/api/3.0/mlflow/server-info");
    assert_eq!(info["workspaces_enabled"], json!(false));
    // No header: served as before.
    t.create_experiment("plain").await;
}

async fn isolation(b: Backend) {
    let t = crate::app!(b, |c| c.enable_workspaces = true);
    let info = ok_abs!(t, "/api/3.0/mlflow/server-info");
    assert_eq!(info["workspaces_enabled"], json!(true));
    let (s, r) = t
        .send(
            TestRequest::post()
                .uri(WS)
                .set_json(json!({"name": "team-a", "description": "A"})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        r,
        json!({"workspace": {"name": "team-a", "description": "A"}})
    );
    for (body, code) in [
        (json!({"name": "team-a"}), "RESOURCE_ALREADY_EXISTS"),
        (json!({"name": "default"}), "INVALID_PARAMETER_VALUE"),
        (json!({"name": "Team_A"}), "INVALID_PARAMETER_VALUE"),
        (json!({}), "INVALID_PARAMETER_VALUE"),
    ] {
        let got = t.send(TestRequest::post().uri(WS).set_json(body)).await;
        assert_err(&got, 400, code);
    }
    let names: Vec<Value> = ok_abs!(t, WS)["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("default"), json!("team-a")]);
    assert_err(
        &t.send(get("team-zz", "experiments/search?max_results=5"))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // The same experiment name in both workspaces; each sees its own.
    let d = t.create_experiment("shared").await;
    let (s, r) = t
        .send(post(
            "team-a",
            "experiments/create",
            json!({"name": "shared"}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let a = r["experiment_id"].as_str().unwrap().to_string();
    assert_ne!(a, d);
    let (_, r) = t
        .send(get(
            "team-a",
            "experiments/get-by-name?experiment_name=shared",
        ))
        .await;
    assert_eq!(r["experiment"]["experiment_id"], json!(a));
    assert_eq!(r["experiment"]["workspace"], json!("team-a"));
    let loc = r["experiment"]["artifact_location"].as_str().unwrap();
    assert!(loc.ends_with(&format!("workspaces/team-a/{a}")), "{loc}");
    assert_err(
        &t.send(get("team-a", &format!("experiments/get?experiment_id={d}")))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (_, r) = t
        .send(post(
            "team-a",
            "experiments/search",
            json!({"max_results": 100}),
        ))
        .await;
    let ids: Vec<&str> = r["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["experiment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);
    assert_err(
        &t.send(post(
            "team-a",
            "experiments/create",
            json!({"name": "x", "artifact_location": "/tmp/x"}),
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    // Runs follow their experiment.
    let (_, r) = t
        .send(post("team-a", "runs/create", json!({"experiment_id": a})))
        .await;
    let run = r["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let uri = r["run"]["info"]["artifact_uri"].as_str().unwrap();
    assert!(uri.contains("/workspaces/team-a/"), "{uri}");
    assert_err(
        &t.get(&format!("runs/get?run_id={run}")).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (s, _) = t
        .send(get("team-a", &format!("runs/get?run_id={run}")))
        .await;
    assert_eq!(s, 200);
    let r = t.ok("runs/search", json!({"experiment_ids": [a]})).await;
    assert!(r.get("runs").is_none(), "{r}");

    // Registered models: one name per workspace, tags and versions kept apart.
    t.ok("registered-models/create", json!({"name": "m"})).await;
    let (s, r) = t
        .send(post(
            "team-a",
            "registered-models/create",
            json!({"name": "m", "tags": [{"key": "team", "value": "a"}]}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = t
        .send(post(
            "team-a",
            "model-versions/create",
            json!({"name": "m", "source": format!("runs:/{run}/model"), "run_id": run}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, r) = t
        .send(post(
            "team-a",
            "registered-models/set-tag",
            json!({"name": "m", "key": "k", "value": "v"}),
        ))
        .await;
    assert_eq!(r, json!({}));
    let mine = t.ok_get("registered-models/get?name=m").await;
    assert!(mine["registered_model"].get("tags").is_none(), "{mine}");
    assert!(
        mine["registered_model"].get("latest_versions").is_none(),
        "{mine}"
    );
    let (_, theirs) = t.send(get("team-a", "registered-models/get?name=m")).await;
    assert_eq!(
        theirs["registered_model"]["tags"].as_array().unwrap().len(),
        2,
        "{theirs}"
    );
    let (_, found) = t
        .send(get(
            "team-a",
            "registered-models/search?filter=tags.team%20%3D%20%27a%27",
        ))
        .await;
    assert_eq!(
        found["registered_models"].as_array().unwrap().len(),
        1,
        "{found}"
    );
    let none = t
        .ok_get("registered-models/search?filter=tags.team%20%3D%20%27a%27")
        .await;
    assert!(none.get("registered_models").is_none(), "{none}");
    assert_err(
        &t.get("model-versions/get?name=m&version=1").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // Webhooks belong to the workspace they were made in.
    let (s, r) = t
        .send(post(
            "team-a",
            "webhooks",
            json!({"name": "h", "url": "https://93.184.216.34/hook",
                   "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let l = t.ok_get("webhooks").await;
    assert_eq!(l["webhooks"], json!([]), "{l}");
    let (_, l) = t.send(get("team-a", "webhooks")).await;
    assert_eq!(l["webhooks"].as_array().unwrap().len(), 1, "{l}");

    // Deletion: RESTRICT refuses while anything is left; SET_DEFAULT refuses on a name clash.
    let del =
        |name: &str, mode: &str| TestRequest::delete().uri(&format!("{WS}/{name}?mode={mode}"));
    assert_err(
        &t.send(del("team-a", "RESTRICT")).await,
        400,
        "INVALID_STATE",
    );
    assert_err(
        &t.send(del("team-a", "SET_DEFAULT")).await,
        400,
        "INVALID_STATE",
    );
    assert_err(
        &t.send(del("team-a", "CASCADE")).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.send(del("default", "RESTRICT")).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let (s, _) = t
        .send(
            TestRequest::post()
                .uri(WS)
                .set_json(json!({"name": "team-b"})),
        )
        .await;
    assert_eq!(s, 201);
    let (_, r) = t
        .send(post(
            "team-b",
            "experiments/create",
            json!({"name": "only-b"}),
        ))
        .await;
    let bid = r["experiment_id"].as_str().unwrap().to_string();
    let (s, _) = t.send(del("team-b", "SET_DEFAULT")).await;
    assert_eq!(s, 204);
    let moved = t
        .ok_get("experiments/get-by-name?experiment_name=only-b")
        .await;
    assert_eq!(moved["experiment"]["experiment_id"], json!(bid));
    assert_err(
        &t.send(TestRequest::get().uri(&format!("{WS}/team-b")))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (s, r) = t
        .send(
            TestRequest::patch()
                .uri(&format!("{WS}/team-a"))
                .set_json(json!({"description": "A2"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &r["workspace"]["description"]),
        (200, &json!("A2"))
    );
}

backend_tests!(off_by_default, isolation);
