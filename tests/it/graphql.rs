//! `/graphql`: the UI's operations, answered from the same services as REST (camelCase, int64 as strings).

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::Backend;
use crate::{app, backend_tests};

const GET_RUN: &str = r#"query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetRun(input: $data) {
    apiError { helpUrl code message }
    run {
      info { runName status runUuid experimentId artifactUri endTime lifecycleStage startTime userId __typename }
      experiment { experimentId name tags { key value } artifactLocation lifecycleStage lastUpdateTime }
      modelVersions { status version name source }
      data { metrics { key value step timestamp } params { key value } tags { key value } }
      inputs { datasetInputs { dataset { digest name } tags { key value } } modelInputs { modelId } }
      outputs { modelOutputs { modelId step } }
    }
  }
}"#;

async fn ui_operations(b: Backend) {
    let t = app!(b);
    let exp = t.create_experiment("gql").await;
    let run = t.create_run(&exp).await;
    t.ok(
        "runs/log-batch",
        json!({"run_id": run, "params": [{"key": "lr", "value": "0.1"}], "metrics": [
        {"key": "loss", "value": 0.5, "timestamp": 1795712193072i64, "step": 1},
        {"key": "nan", "value": "NaN", "timestamp": 1, "step": 0}]}),
    )
    .await;
    t.ok("registered-models/create", json!({"name": "g"})).await;
    t.ok(
        "model-versions/create",
        json!({"name": "g", "source": "s3://b/m", "run_id": run}),
    )
    .await;
    let gql = |query: &str, vars: Value| {
        TestRequest::post()
            .uri("/graphql")
            .set_json(json!({"query": query, "variables": vars}))
    };
    let q = r#"query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {
        mlflowGetExperiment(input: $input) { apiError { code message } experiment { artifactLocation creationTime experimentId lastUpdateTime lifecycleStage name tags { key value } } } }"#;
    let (s, v) = t
        .send(gql(q, json!({"input": {"experimentId": exp}})))
        .await;
    assert_eq!(s, 200, "{v}");
    let e = &v["data"]["mlflowGetExperiment"]["experiment"];
    assert_eq!(
        (&e["experimentId"], &e["name"]),
        (&json!(exp), &json!("gql"))
    );
    assert!(e["creationTime"].is_string(), "int64 as a string: {e}");

    let (_, v) = t.send(gql(GET_RUN, json!({"data": {"runId": run}}))).await;
    assert!(v["errors"].is_null(), "MLflow's envelope: errors null: {v}");
    let r = &v["data"]["mlflowGetRun"]["run"];
    assert_eq!(r["info"]["runUuid"], json!(run));
    assert_eq!(r["info"]["startTime"], json!("1000"));
    assert_eq!(r["info"]["__typename"], "MlflowRunInfo");
    assert_eq!(r["experiment"]["name"], "gql");
    assert_eq!(
        r["modelVersions"],
        json!([{"status": "READY", "version": "1", "name": "g", "source": "s3://b/m"}])
    );
    let metrics = r["data"]["metrics"].as_array().unwrap();
    let loss = metrics.iter().find(|m| m["key"] == "loss").unwrap();
    assert_eq!(
        (&loss["value"], &loss["step"], &loss["timestamp"]),
        (&json!(0.5), &json!("1"), &json!("1795712193072"))
    );
    assert_eq!(
        metrics.iter().find(|m| m["key"] == "nan").unwrap()["value"],
        Value::Null,
        "NaN is null"
    );
    assert_eq!(r["data"]["params"], json!([{"key": "lr", "value": "0.1"}]));

    let q = r#"query SearchRuns($data: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $data) { runs { info { runUuid } } nextPageToken } }"#;
    let (_, v) = t.send(gql(q, json!({"data": {"experimentIds": [exp], "runViewType": "ACTIVE_ONLY", "maxResults": 10}}))).await;
    assert_eq!(
        v["data"]["mlflowSearchRuns"]["runs"][0]["info"]["runUuid"],
        json!(run),
        "{v}"
    );
    let q = r#"mutation M($data: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $data) { runs { info { runUuid } } } }"#;
    let (_, v) = t
        .send(gql(q, json!({"data": {"experimentIds": [exp]}})))
        .await;
    assert_eq!(
        v["data"]["mlflowSearchRuns"]["runs"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{v}"
    );
    let q = r#"query GetMetricHistoryBulkInterval($data: MlflowGetMetricHistoryBulkIntervalInput!) {
        mlflowGetMetricHistoryBulkInterval(input: $data) { __typename metrics { timestamp step runId key value } apiError { code message } } }"#;
    let (_, v) = t
        .send(gql(
            q,
            json!({"data": {"runIds": [run], "metricKey": "loss", "maxResults": 320}}),
        ))
        .await;
    let m = &v["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"];
    assert_eq!(
        m,
        &json!([{"timestamp": "1795712193072", "step": "1", "runId": run, "key": "loss", "value": 0.5}]),
        "{v}"
    );

    // Errors: HTTP 200, the field null, the service's message in `errors` as a plain string (MLflow's).
    let (s, v) = t
        .send(gql(
            GET_RUN,
            json!({"data": {"runId": "0123456789abcdef0123456789abcdef"}}),
        ))
        .await;
    assert_eq!(s, 200);
    // As graphene: the failed root field is null in a `data` object, not `data: null`.
    assert_eq!(v["data"], json!({"mlflowGetRun": null}), "{v}");
    assert!(
        v["errors"][0].as_str().unwrap().contains("not found"),
        "{v}"
    );
    let both = r#"query { a: mlflowGetExperiment(input: {experimentId: "424242"}) { experiment { name } }
        b: mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } }"#;
    let (_, v) = t.send(gql(both, json!({}))).await;
    assert_eq!(v["data"]["a"], Value::Null, "{v}");
    assert!(v["data"].as_object().unwrap().contains_key("a"), "{v}");
    assert_eq!(v["data"]["b"]["experiment"]["name"], "Default", "{v}");
    let (_, v) = t.send(gql("query { nope }", json!({}))).await;
    assert!(v["errors"].as_array().is_some_and(|e| !e.is_empty()), "{v}");
    assert_eq!(
        v["data"],
        Value::Null,
        "a query that does not validate: {v}"
    );
    let (s, _) = t
        .send(TestRequest::post().uri("/graphql").set_payload("not json"))
        .await;
    assert_eq!(s, 400);
    let (_, v) = t
        .send(
            TestRequest::get().uri("/graphql?query=%7Btest(inputString%3A%22hi%22)%7Boutput%7D%7D"),
        )
        .await;
    assert_eq!(v["data"]["test"]["output"], "hi");
}

backend_tests!(ui_operations);
