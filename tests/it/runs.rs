//! Runs: lifecycle, names, params (write-once), tags, batches, inputs and outputs.

use serde_json::json;

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn create_names_and_lifecycle(b: Backend) {
    let t = app!(b);
    let v = t
        .ok(
            "runs/create",
            json!({"experiment_id": "0", "run_name": "r1", "user_id": "u", "start_time": 7}),
        )
        .await;
    let info = &v["run"]["info"];
    let id = info["run_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(info["run_uuid"], info["run_id"]);
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(info["start_time"], 7);
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/{id}/artifacts")
    );
    assert_eq!(
        v["run"]["data"]["tags"],
        json!([{"key": "mlflow.runName", "value": "r1"}])
    );
    // The tag names the run when run_name is absent; a generated name otherwise.
    let v = t
        .ok(
            "runs/create",
            json!({"experiment_id": "0", "tags": [{"key": "mlflow.runName", "value": "from-tag"}]}),
        )
        .await;
    assert_eq!(v["run"]["info"]["run_name"], "from-tag");
    let v = t.ok("runs/create", json!({"experiment_id": "0"})).await;
    let gen = v["run"]["info"]["run_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(gen.split('-').count(), 3, "{gen}");
    assert_eq!(v["run"]["info"]["start_time"], 0);
    let conflict = json!({"experiment_id": "0", "run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]});
    assert_err(
        &t.post("runs/create", conflict).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(&t.post("runs/create", json!({})).await, 400, "BAD_REQUEST");
    assert_err(
        &t.post("runs/create", json!({"experiment_id": "77"})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.post("runs/create", json!({"experiment_id": "abc"})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    let v = t
        .ok(
            "runs/update",
            json!({"run_id": id, "status": "FINISHED", "end_time": 99, "run_name": "renamed"}),
        )
        .await;
    assert_eq!(v["run_info"]["status"], "FINISHED");
    assert_eq!(v["run_info"]["end_time"], 99);
    let r = t.ok_get(&format!("runs/get?run_id={id}")).await;
    assert_eq!(r["run"]["info"]["run_name"], "renamed");
    assert_eq!(r["run"]["data"]["tags"][0]["value"], "renamed");
    // An unknown status name is a 400 and changes nothing (stock MLflow ignores it silently).
    assert_err(
        &t.post("runs/update", json!({"run_id": id, "status": "BOGUS"}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    t.ok("runs/update", json!({"run_id": id, "status": 4}))
        .await;
    assert_eq!(
        t.ok_get(&format!("runs/get?run_id={id}")).await["run"]["info"]["status"],
        "FAILED"
    );
    t.ok("runs/update", json!({"run_id": id, "status": "finished"}))
        .await;
    assert_eq!(
        t.ok_get(&format!("runs/get?run_id={id}")).await["run"]["info"]["status"],
        "FINISHED"
    );

    t.ok("runs/delete", json!({"run_id": id})).await;
    let r = t.ok_get(&format!("runs/get?run_id={id}")).await;
    assert_eq!(r["run"]["info"]["lifecycle_stage"], "deleted");
    for (path, body) in [
        (
            "runs/log-metric",
            json!({"run_id": id, "key": "m", "value": 1, "timestamp": 1}),
        ),
        (
            "runs/log-parameter",
            json!({"run_id": id, "key": "p", "value": "1"}),
        ),
        (
            "runs/set-tag",
            json!({"run_id": id, "key": "t", "value": "1"}),
        ),
        ("runs/update", json!({"run_id": id, "status": "FAILED"})),
        (
            "runs/log-batch",
            json!({"run_id": id, "params": [{"key": "p", "value": "1"}]}),
        ),
    ] {
        assert_err(&t.post(path, body).await, 400, "INVALID_PARAMETER_VALUE");
    }
    t.ok("runs/restore", json!({"run_id": id})).await;
    t.ok(
        "runs/set-tag",
        json!({"run_id": id, "key": "t", "value": "1"}),
    )
    .await;
    assert_err(
        &t.get("runs/get?run_id=deadbeef").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(&t.get("runs/get").await, 400, "INVALID_PARAMETER_VALUE");
    assert_err(
        &t.post("runs/delete", json!({"run_id": "nope"})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

async fn params_are_write_once(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    t.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "alpha", "value": "0.5"}),
    )
    .await;
    t.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "alpha", "value": "0.5"}),
    )
    .await;
    let e = t
        .post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "alpha", "value": "0.9"}),
        )
        .await;
    assert_err(&e, 400, "INVALID_PARAMETER_VALUE");
    assert!(e.1["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Changing param values is not allowed"));
    let long = "v".repeat(7000);
    t.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "long", "value": long}),
    )
    .await;
    assert_err(
        &t.post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "k".repeat(251), "value": "1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "bad$key", "value": "1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "../up", "value": "1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("runs/log-parameter", json!({"run_id": run, "value": "1"}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let params = r["run"]["data"]["params"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(params.len(), 2);
    let long_v = params
        .iter()
        .find(|p| p["key"] == "long")
        .map(|p| p["value"].as_str().unwrap_or("").len());
    assert_eq!(long_v, Some(6000), "param values are truncated to 6000");
    assert!(params
        .iter()
        .any(|p| p["key"] == "alpha" && p["value"] == "0.5"));
}

async fn tags_and_run_name_sync(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    t.ok(
        "runs/set-tag",
        json!({"run_id": run, "key": "mlflow.runName", "value": "via-tag"}),
    )
    .await;
    assert_eq!(
        t.ok_get(&format!("runs/get?run_id={run}")).await["run"]["info"]["run_name"],
        "via-tag"
    );
    t.ok(
        "runs/set-tag",
        json!({"run_id": run, "key": "long", "value": "x".repeat(9000)}),
    )
    .await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let tag = r["run"]["data"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["key"] == "long")
        .cloned();
    assert_eq!(
        tag.and_then(|x| x["value"].as_str().map(str::len)),
        Some(8000)
    );
    t.ok("runs/delete-tag", json!({"run_id": run, "key": "long"}))
        .await;
    assert_err(
        &t.post("runs/delete-tag", json!({"run_id": run, "key": "long"}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

async fn log_batch_limits_and_conflicts(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    let metrics: Vec<_> = (0..1001)
        .map(|i| json!({"key": "m", "value": i, "timestamp": 1, "step": i}))
        .collect();
    assert_err(
        &t.post("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let params: Vec<_> = (0..101)
        .map(|i| json!({"key": format!("p{i}"), "value": "1"}))
        .collect();
    assert_err(
        &t.post("runs/log-batch", json!({"run_id": run, "params": params}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let dup =
        json!({"run_id": run, "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]});
    assert_err(
        &t.post("runs/log-batch", dup).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"value": 1, "timestamp": 1}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"key": "m", "value": 1}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("runs/log-batch", json!({"run_id": "bad id!", "params": []}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let metrics: Vec<_> = (0..990)
        .map(|i| json!({"key": format!("k{}", i % 10), "value": i, "timestamp": 5, "step": i / 10}))
        .collect();
    let body = json!({"run_id": run, "metrics": metrics, "params": [{"key": "a", "value": "1"}], "tags": [{"key": "t", "value": "v"}]});
    t.ok("runs/log-batch", body).await;
    // A conflicting param anywhere in the batch rejects the whole batch: nothing else is written.
    let bad = json!({"run_id": run, "params": [{"key": "a", "value": "2"}], "tags": [{"key": "t2", "value": "v"}]});
    assert_err(
        &t.post("runs/log-batch", bad).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    assert_eq!(
        r["run"]["data"]["metrics"].as_array().map(|a| a.len()),
        Some(10)
    );
    assert_eq!(
        r["run"]["data"]["metrics"][0],
        json!({"key": "k0", "value": 980.0, "timestamp": 5, "step": 98})
    );
    assert!(!r["run"]["data"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["key"] == "t2"));
    let h = t
        .ok_get(&format!("metrics/get-history?run_id={run}&metric_key=k3"))
        .await;
    assert_eq!(h["metrics"].as_array().map(|a| a.len()), Some(99));
}

async fn inputs_and_outputs(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    let ds = json!({"name": "train", "digest": "abc", "source_type": "code", "source": "{}", "schema": "{\"s\":1}"});
    let body = json!({"run_id": run, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": ds}]});
    t.ok("runs/log-inputs", body.clone()).await;
    t.ok("runs/log-inputs", body).await;
    let bad = json!({"run_id": run, "datasets": [{"dataset": {"name": "x"}}]});
    assert_err(
        &t.post("runs/log-inputs", bad).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    t.ok(
        "runs/outputs",
        json!({"run_id": run, "models": [{"model_id": "m-1", "step": 3}]}),
    )
    .await;
    assert_err(
        &t.post("runs/outputs", json!({"run_id": run})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let inputs = r["run"]["inputs"]["dataset_inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["dataset"]["name"], "train");
    assert_eq!(inputs[0]["tags"][0]["value"], "training");
    assert_eq!(
        r["run"]["outputs"]["model_outputs"],
        json!([{"model_id": "m-1", "step": 3}])
    );
}

/// Concurrent writes share group commits on SQLite: every good batch lands whole, and a batch that fails
/// inside a group (a param conflict) is rolled back alone without taking its neighbours with it.
async fn concurrent_writes_commit_independently(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    t.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "p", "value": "a"}),
    )
    .await;
    let reqs = (0..48).map(|i| {
        let body = if i % 4 == 3 {
            // Conflicting param plus metrics: the whole batch must be rejected.
            json!({"run_id": run, "params": [{"key": "p", "value": format!("b{i}")}],
                   "metrics": [{"key": "bad", "value": 1, "timestamp": 1, "step": i}]})
        } else {
            let metrics: Vec<_> = (0..50)
                .map(|s| json!({"key": "m", "value": s, "timestamp": i, "step": i * 100 + s}))
                .collect();
            json!({"run_id": run, "metrics": metrics})
        };
        t.post("runs/log-batch", body)
    });
    let results = futures_util::future::join_all(reqs).await;
    for (i, r) in results.iter().enumerate() {
        if i % 4 == 3 {
            assert_err(r, 400, "INVALID_PARAMETER_VALUE");
        } else {
            assert_eq!(r.0, 200, "batch {i}: {:?}", r.1);
        }
    }
    let h = t
        .ok_get(&format!("metrics/get-history?run_id={run}&metric_key=m"))
        .await;
    assert_eq!(h["metrics"].as_array().map(Vec::len), Some(36 * 50));
    let bad = t
        .ok_get(&format!("metrics/get-history?run_id={run}&metric_key=bad"))
        .await;
    assert_eq!(bad["metrics"].as_array().map(Vec::len).unwrap_or(0), 0);
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    assert_eq!(
        r["run"]["data"]["params"],
        json!([{"key": "p", "value": "a"}])
    );
}

backend_tests!(
    create_names_and_lifecycle,
    params_are_write_once,
    tags_and_run_name_sync,
    log_batch_limits_and_conflicts,
    inputs_and_outputs,
    concurrent_writes_commit_independently
);
