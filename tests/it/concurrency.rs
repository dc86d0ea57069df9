//! Concurrent writers to one run, against the real `harvester` binary: sixteen log-batch clients at once,
//! each sending 1,000 metrics over the same ten keys in its own order (the crossing lock order that
//! deadlocked PostgreSQL) four times over; every request answered 200, every key's latest value the newest
//! of all, and every writer's history kept.

use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::Backend;

async fn sixteen_batch_writers_on_one_run(b: Backend) {
    let Some(srv) = crate::binary::start(b, 4).await else {
        return;
    };
    let api = |p: &str| srv.url(&format!("/api/2.0/mlflow/{p}"));
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(api(path)).json(&body).send();
    let exp: Value = post("experiments/create", json!({"name": "concurrent"}))
        .await
        .expect("experiment")
        .json()
        .await
        .expect("json");
    let r: Value = post(
        "runs/create",
        json!({"experiment_id": exp["experiment_id"]}),
    )
    .await
    .expect("run")
    .json()
    .await
    .expect("json");
    let run = r["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let batch = |w: usize| {
        // Writer w walks the keys starting at a different one, and in reverse for odd writers.
        let mut keys: Vec<usize> = (0..10).map(|k| (k + w) % 10).collect();
        if w % 2 == 1 {
            keys.reverse();
        }
        let metrics: Vec<Value> = (0..100)
            .flat_map(|step| {
                keys.iter().map(move |k| {
                    json!({"key": format!("m{k}"), "value": (w * 1000 + step) as f64,
                        "timestamp": 1_000 + step as i64, "step": step})
                })
            })
            .collect();
        json!({"run_id": run, "metrics": metrics})
    };
    // Each writer sends its batch four times (the history ignores the repeats), to keep them overlapping.
    let sends = (0..64).map(|i| {
        let req = http.post(api("runs/log-batch")).json(&batch(i % 16)).send();
        async move {
            let r = req.await.expect("log-batch");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    });
    let answers = futures_util::future::join_all(sends).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, 200, "writer {}: {body}", i % 16);
    }
    let got: Value = http
        .get(api(&format!("runs/get?run_id={run}")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let latest = got["run"]["data"]["metrics"].as_array().expect("metrics");
    assert_eq!(latest.len(), 10);
    // Step 99 is the newest; among equal steps and times the larger value wins: writer 15's.
    for m in latest {
        assert_eq!(
            (m["step"].as_i64(), m["value"].as_f64()),
            (Some(99), Some(15_099.0)),
            "{m}"
        );
    }
    let hist: Value = http
        .get(api(&format!(
            "metrics/get-history?run_id={run}&metric_key=m3&max_results=25000"
        )))
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(
        hist["metrics"].as_array().map(Vec::len),
        Some(1_600),
        "every writer's history is kept"
    );
}

backend_tests!(sixteen_batch_writers_on_one_run);
