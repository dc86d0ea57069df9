//! Metrics: NaN/±Inf, latest values, history ordering and paging, bulk-interval sampling.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn special_values_and_latest(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "m", "value": "NaN", "timestamp": 1}),
    )
    .await;
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "inf", "value": "Infinity", "timestamp": 1}),
    )
    .await;
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "ninf", "value": "-Infinity", "timestamp": 1}),
    )
    .await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let m = &r["run"]["data"]["metrics"];
    // In the order they were logged, as MLflow lists them.
    assert_eq!(m[0]["key"], "m");
    assert_eq!(m[0]["value"], "NaN");
    assert_eq!(m[1]["key"], "inf");
    assert_eq!(m[1]["value"], f64::MAX);
    assert_eq!(m[2]["value"], f64::MIN);
    // Latest = max by (step, timestamp, value); an older step does not replace it.
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "l", "value": 1, "timestamp": 10, "step": 5}),
    )
    .await;
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "l", "value": 2, "timestamp": 20, "step": 4}),
    )
    .await;
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "l", "value": 3, "timestamp": 5, "step": 5}),
    )
    .await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let l = r["run"]["data"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["key"] == "l")
        .cloned();
    assert_eq!(
        l,
        Some(json!({"key": "l", "value": 1.0, "timestamp": 10, "step": 5}))
    );
    assert_err(
        &t.post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": 1}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "timestamp": 1}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": "abc", "timestamp": 1}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/log-metric",
            json!({"run_id": "missing", "key": "m", "value": 1, "timestamp": 1}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

async fn history_order_dedup_and_paging(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    for (v, ts, step) in [(3.0, 3, 0), (1.0, 1, 2), (2.0, 1, 1), (2.0, 1, 1)] {
        t.ok(
            "runs/log-metric",
            json!({"run_id": run, "key": "h", "value": v, "timestamp": ts, "step": step}),
        )
        .await;
    }
    let h = t
        .ok_get(&format!("metrics/get-history?run_id={run}&metric_key=h"))
        .await;
    let got: Vec<(i64, i64)> = h["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["timestamp"].as_i64().unwrap_or(-1),
                m["step"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(1, 1), (1, 2), (3, 0)],
        "ordered by timestamp, step; identical points deduplicated"
    );
    assert!(h.get("next_page_token").is_none());
    let p1 = t
        .ok_get(&format!(
            "metrics/get-history?run_uuid={run}&metric_key=h&max_results=2"
        ))
        .await;
    assert_eq!(p1["metrics"].as_array().map(|a| a.len()), Some(2));
    let tok = p1["next_page_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let p2 = t
        .ok_get(&format!(
            "metrics/get-history?run_id={run}&metric_key=h&max_results=2&page_token={tok}"
        ))
        .await;
    assert_eq!(p2["metrics"][0]["timestamp"], 3);
    assert!(p2.get("next_page_token").is_none());
    assert_err(
        &t.get(&format!(
            "metrics/get-history?run_id={run}&metric_key=h&max_results=0"
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get(&format!("metrics/get-history?run_id={run}")).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("metrics/get-history?run_id=nope&metric_key=h").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

async fn bulk_interval_and_bulk(b: Backend) {
    let t = app!(b);
    let r1 = t.create_run("0").await;
    let r2 = t.create_run("0").await;
    for run in [&r1, &r2] {
        let metrics: Vec<_> = (0..1000)
            .map(|i| json!({"key": "loss", "value": i, "timestamp": i, "step": i}))
            .collect();
        t.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
    }
    let v = t.ok_get(&format!("metrics/get-history-bulk-interval?run_ids={r1}&run_ids={r2}&metric_key=loss&max_results=320")).await;
    let ms = v["metrics"].as_array().cloned().unwrap_or_default();
    assert_eq!(ms.len(), 640);
    assert!(ms.iter().any(|m| m["step"] == 0) && ms.iter().any(|m| m["step"] == 999));
    assert!(ms[0]["run_id"].is_string());
    // MLflow's row sampling: NTILE(3) over steps 0..9 gives buckets from 0, 4 and 7; the last point (9)
    // replaces the final pick when the response is full.
    let small = t.create_run("0").await;
    let pts: Vec<_> = (0..10)
        .map(|i| json!({"key": "s", "value": i, "timestamp": 1, "step": i}))
        .collect();
    t.ok("runs/log-batch", json!({"run_id": small, "metrics": pts}))
        .await;
    let v = t
        .ok_get(&format!(
            "metrics/get-history-bulk-interval?run_ids={small}&metric_key=s&max_results=3"
        ))
        .await;
    let steps: Vec<i64> = v["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["step"].as_i64())
        .collect();
    assert_eq!(steps, vec![0, 4, 9]);
    assert_err(
        &t.get("metrics/get-history-bulk-interval?run_ids=nope&metric_key=s")
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let v = t.ok_get(&format!("metrics/get-history-bulk-interval?run_ids={r1}&metric_key=loss&start_step=10&end_step=19")).await;
    assert_eq!(v["metrics"].as_array().map(|a| a.len()), Some(10));
    assert_err(
        &t.get(&format!(
            "metrics/get-history-bulk-interval?run_ids={r1}&metric_key=loss&start_step=10"
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(&t.get(&format!("metrics/get-history-bulk-interval?run_ids={r1}&metric_key=loss&start_step=9&end_step=1")).await, 400, "INVALID_PARAMETER_VALUE");
    assert_err(
        &t.get(&format!(
            "metrics/get-history-bulk-interval?run_ids={r1}&metric_key=loss&max_results=2501"
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("metrics/get-history-bulk-interval?metric_key=loss")
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let ids: String = (0..101).map(|i| format!("run_ids=r{i}&")).collect();
    assert_err(
        &t.get(&format!(
            "metrics/get-history-bulk-interval?{ids}metric_key=loss"
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let (s, v) = t.send(TestRequest::get().uri(&format!("/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id={r1}&run_id={r2}&metric_key=loss&max_results=5"))).await;
    assert_eq!(s, 200);
    assert_eq!(v["metrics"].as_array().map(|a| a.len()), Some(10));
    let (s, _) = t
        .send(
            TestRequest::get()
                .uri("/api/2.0/mlflow/metrics/get-history-bulk?run_id=a&metric_key=loss"),
        )
        .await;
    assert_eq!(s, 404, "get-history-bulk is ajax-only");
}

async fn streamed_history_crosses_chunks(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    let n = 25_001usize;
    for start in (0..n).step_by(1000) {
        let metrics: Vec<_> = (start..(start + 1000).min(n))
            .map(|i| {
                if i == 12_345 {
                    json!({"key": "big", "value": "NaN", "timestamp": 7, "step": i})
                } else {
                    json!({"key": "big", "value": i, "timestamp": 7, "step": i})
                }
            })
            .collect();
        t.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
    }
    let v = t
        .ok_get(&format!("metrics/get-history?run_id={run}&metric_key=big"))
        .await;
    let ms = v["metrics"].as_array().cloned().unwrap_or_default();
    assert_eq!(ms.len(), n);
    assert!(
        ms.iter().enumerate().all(|(i, m)| m["step"] == i as i64),
        "ordered, no gaps or duplicates"
    );
    assert_eq!(ms[12_345]["value"], "NaN");
    assert!(v.get("next_page_token").is_none());
    let empty = t
        .ok_get(&format!("metrics/get-history?run_id={run}&metric_key=none"))
        .await;
    assert_eq!(empty, json!({}));
}

backend_tests!(
    special_values_and_latest,
    history_order_dedup_and_paging,
    bulk_interval_and_bulk,
    streamed_history_crosses_chunks
);
