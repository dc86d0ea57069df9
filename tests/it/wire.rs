//! Wire format: prefixes, camelCase bodies, aliases, content types, malformed input and int64 handling.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn request_parsing(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    t.ok(
        "runs/log-metric",
        json!({"runId": run, "key": "m", "value": 1.5, "timestamp": "1700000000000", "step": "2"}),
    )
    .await;
    // A number where MLflow's schema says string is refused, naming the value as MLflow does.
    let bad = t
        .post(
            "runs/log-parameter",
            json!({"run_uuid": run, "key": "p", "value": 5}),
        )
        .await;
    assert_err(&bad, 400, "INVALID_PARAMETER_VALUE");
    assert!(
        bad.1["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid value 5 for parameter 'value' supplied"),
        "{}",
        bad.1
    );
    let bad = t
        .post(
            "runs/set-tag",
            json!({"run_id": 31, "key": "t", "value": "v"}),
        )
        .await;
    assert!(
        bad.1["message"]
            .as_str()
            .unwrap()
            .contains("Invalid value 31 for parameter 'run_id' supplied"),
        "{}",
        bad.1
    );
    t.ok(
        "runs/log-parameter",
        json!({"run_uuid": run, "key": "p", "value": "5"}),
    )
    .await;
    let r = t.ok_get(&format!("runs/get?run_uuid={run}")).await;
    assert_eq!(
        r["run"]["data"]["metrics"][0]["timestamp"], 1700000000000i64,
        "int64 as JSON numbers"
    );
    assert_eq!(r["run"]["data"]["metrics"][0]["step"], 2);
    assert_eq!(r["run"]["data"]["params"][0]["value"], "5");
    // GET parameters are snake_case only.
    assert_err(
        &t.get(&format!("runs/get?runId={run}")).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-parameter",
            json!({"runId": run, "run_id": run, "key": "q"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    let no_ct = TestRequest::post()
        .uri("/api/2.0/mlflow/experiments/create")
        .set_payload(r#"{"name":"x"}"#);
    assert_err(&t.send(no_ct).await, 400, "INVALID_PARAMETER_VALUE");
    let wrong_ct = TestRequest::post()
        .uri("/api/2.0/mlflow/experiments/create")
        .insert_header(("content-type", "text/plain"))
        .set_payload(r#"{"name":"x"}"#);
    assert_err(&t.send(wrong_ct).await, 400, "INVALID_PARAMETER_VALUE");
    let charset = TestRequest::post()
        .uri("/api/2.0/mlflow/experiments/create")
        .insert_header(("content-type", "application/json; charset=utf-8"))
        .set_payload(r#"{"name":"cs"}"#);
    assert_eq!(t.send(charset).await.0, 200);
    let malformed = TestRequest::post()
        .uri("/api/2.0/mlflow/experiments/create")
        .insert_header(("content-type", "application/json"))
        .set_payload("{not json");
    assert_err(&t.send(malformed).await, 400, "INVALID_PARAMETER_VALUE");
    let empty = TestRequest::post()
        .uri("/api/2.0/mlflow/experiments/create")
        .insert_header(("content-type", "application/json"));
    assert_err(&t.send(empty).await, 400, "INVALID_PARAMETER_VALUE");
    assert_err(
        &t.post("experiments/create", json!({"name": 5})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "experiments/create",
            json!({"name": "x", "tags": "notalist"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": 1, "timestamp": "soon"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/search",
            json!({"experiment_ids": "0", "max_results": "many"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
}

async fn prefixes_and_server_routes(b: Backend) {
    let t = app!(b);
    let (s, v) = t
        .send(TestRequest::get().uri("/ajax-api/2.0/mlflow/experiments/get?experiment_id=0"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["experiment"]["name"], "Default");
    let (s, v) = t.send(TestRequest::get().uri("/health")).await;
    assert_eq!((s.as_u16(), v), (200, json!("OK")));
    let (s, v) = t.send(TestRequest::get().uri("/version")).await;
    assert_eq!((s.as_u16(), v), (200, json!("3.17.2")));
    // Stock 3.17.2's keys, with the features Harvester has not built switched off.
    let (s, info) = t
        .send(TestRequest::get().uri("/api/3.0/mlflow/server-info"))
        .await;
    assert_eq!(s, 200);
    for key in [
        "store_type",
        "workspaces_enabled",
        "trace_archival_enabled",
        "multipart_uploads_enabled",
        "multipart_downloads_enabled",
        "presigned_upload_run_id_supported",
        "presigned_upload_model_id_supported",
        "features_enabled",
    ] {
        assert!(info.get(key).is_some(), "{key} in {info}");
    }
    assert_eq!(info["features_enabled"], json!({"gateway": false}));
    assert_eq!(
        t.send(TestRequest::get().uri("/api/2.0/mlflow/no/such/route"))
            .await
            .0,
        404
    );
    assert_eq!(
        t.send(TestRequest::get().uri("/api/2.0/mlflow/experiments/create"))
            .await
            .0,
        405
    );
}

backend_tests!(request_parsing, prefixes_and_server_routes);
