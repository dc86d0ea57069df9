//! Seeding helpers shared by the workloads: experiments, runs and batches through the public API.

use std::fmt::Write;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::load::{self, Req};

pub fn post(path: &str, body: Value) -> Req {
    Req {
        post: true,
        path: format!("/api/2.0/mlflow/{path}"),
        body: Some(body.to_string()),
    }
}

/// A log-batch request with an already serialised body (the metric batches are written as text).
pub fn log_batch(body: String) -> Req {
    Req {
        post: true,
        path: "/api/2.0/mlflow/runs/log-batch".into(),
        body: Some(body),
    }
}

pub fn get(path_and_query: &str) -> Req {
    Req {
        post: false,
        path: format!("/api/2.0/mlflow/{path_and_query}"),
        body: None,
    }
}

pub async fn experiment(c: &reqwest::Client, base: &str, name: &str) -> Result<String, String> {
    let v = load::send_json(c, base, post("experiments/create", json!({"name": name}))).await?;
    v["experiment_id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("no experiment_id in {v}"))
}

pub async fn run(
    c: &reqwest::Client,
    base: &str,
    exp: &str,
    name: &str,
    start_time: i64,
) -> Result<String, String> {
    let body = json!({"experiment_id": exp, "run_name": name, "start_time": start_time, "user_id": "bench"});
    let v = load::send_json(c, base, post("runs/create", body)).await?;
    v["run"]["info"]["run_id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("no run_id in {v}"))
}

/// `n` runs in `exp` named `<prefix>-<i>` with `start_time = i`, created by 8 concurrent clients.
pub async fn runs(
    c: &reqwest::Client,
    base: &str,
    exp: &str,
    prefix: &str,
    n: usize,
) -> Result<Vec<String>, String> {
    let mut out = vec![String::new(); n];
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8.min(n.max(1)) {
        let (c, base, exp, prefix, next) = (
            c.clone(),
            base.to_string(),
            exp.to_string(),
            prefix.to_string(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                mine.push((
                    i,
                    run(&c, &base, &exp, &format!("{prefix}-{i}"), i as i64).await?,
                ));
            }
            Ok::<_, String>(mine)
        }));
    }
    for t in tasks {
        for (i, id) in t.await.map_err(|e| e.to_string())?? {
            out[i] = id;
        }
    }
    Ok(out)
}

/// A log-batch body with `keys` metric keys × `steps` steps; `seq` makes every body unique.
pub fn metric_batch(run_id: &str, keys: usize, steps: usize, seq: usize) -> String {
    let mut s = String::with_capacity(keys * steps * 64 + 64);
    let _ = write!(s, "{{\"run_id\":\"{run_id}\",\"metrics\":[");
    let base_ts = 1_700_000_000_000i64 + (seq as i64) * 1_000_000;
    for step in 0..steps {
        for k in 0..keys {
            if step + k > 0 {
                s.push(',');
            }
            let step_abs = seq * steps + step;
            let _ = write!(
                s,
                "{{\"key\":\"k{k}\",\"value\":{},\"timestamp\":{},\"step\":{step_abs}}}",
                (step_abs * 31 + k) as f64 / 7.0,
                base_ts + step as i64
            );
        }
    }
    s.push_str("]}");
    s
}

/// Deterministic pseudo-random value in [0, 1) with 1000 distinct levels.
pub fn level(i: usize, salt: usize) -> f64 {
    ((i * 7919 + salt * 104_729) % 1000) as f64 / 1000.0
}

/// The W4 run payload: 20 params, 10 tags and 20 metrics.
pub fn search_seed_batch(run_id: &str, i: usize) -> Value {
    let params: Vec<Value> = (0..20)
        .map(|p| json!({"key": format!("p{p}"), "value": format!("v{}", (i + p) % 10)}))
        .collect();
    let tags: Vec<Value> = (0..10)
        .map(|t| json!({"key": format!("t{t}"), "value": format!("tag{}", (i * 3 + t) % 7)}))
        .collect();
    let metrics: Vec<Value> =
        (0..20).map(|m| json!({"key": format!("m{m}"), "value": level(i, m), "timestamp": 1_700_000_000_000i64 + i as i64, "step": 0})).collect();
    json!({"run_id": run_id, "params": params, "tags": tags, "metrics": metrics})
}
