//! Two replicas of the real binary on one store: webhook deliveries in flight on one of them when it is
//! killed with `kill -9` are finished by the other once its lease runs out; every delivery job completes
//! exactly once, and the receiver sees each event under one delivery id (twice only for a request that
//! was cut short by the kill, which it can tell by that id).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::backend_tests;
use crate::binary::free_port;
use crate::common::{fresh_store, Backend};
use crate::databases::{count, jobs_settled};

/// How long the receiver holds each request before answering 200: long enough to kill a replica
/// while its deliveries wait on it.
const HOLD: Duration = Duration::from_millis(1500);

/// A webhook receiver on loopback: the delivery id of every request it gets, in order.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn);
                let (mut id, mut len) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        match k.to_ascii_lowercase().as_str() {
                            "x-mlflow-delivery-id" => id = v.trim().to_string(),
                            "content-length" => len = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                seen.lock().unwrap().push(id);
                std::thread::sleep(HOLD);
                let _ = r.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    (url, got)
}

/// A replica's process, killed when the test ends however it ends.
struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replica(uri: &str, port: u16, arts: &std::path::Path, log: &std::path::Path) -> Replica {
    let log = crate::binary::append_log(log);
    Command::new(env!("CARGO_BIN_EXE_harvester"))
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--backend-store-uri", uri, "--artifacts-destination"])
        .arg(arts)
        .args(["--job-lease-secs", "2", "--job-poll-ms", "50"])
        .env("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
        .env("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
        .env("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", "replica-test-key")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(Replica)
        .expect("start harvester")
}

async fn healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become healthy");
}

async fn kill_9_one_replica_mid_deliveries(b: Backend) {
    let Some((uri, _guard)) = fresh_store(b) else {
        return;
    };
    const MODELS: i32 = 12;
    let (hook, got) = receiver();
    let dir = tempfile::tempdir().expect("tempdir");
    let (arts, log) = (dir.path().join("arts"), dir.path().join("replicas.log"));
    let (pa, pb) = (free_port(), free_port());
    let mut a = replica(&uri, pa, &arts, &log);
    let http = reqwest::Client::new();
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    // A migrates the store first; B then starts on it.
    healthy(&http, &base_a).await;
    let _b = replica(&uri, pb, &arts, &log);
    healthy(&http, &base_b).await;
    let post = |base: &str, path: &str, body: serde_json::Value| {
        http.post(format!("{base}/api/2.0/mlflow/{path}"))
            .json(&body)
            .send()
    };
    let r = post(
        &base_a,
        "webhooks",
        json!({"name": "replicas", "url": hook,
        "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
    )
    .await
    .expect("webhook");
    assert!(r.status().is_success(), "{:?}", r.text().await);
    // Each change through either replica, in turn: one delivery job each.
    for i in 0..MODELS {
        let base = if i % 2 == 0 { &base_a } else { &base_b };
        let r = post(
            base,
            "registered-models/create",
            json!({"name": format!("m{i}")}),
        )
        .await
        .expect("create");
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }
    let delivery = "kind = 'webhook.delivery'";
    let on_a = format!(
        "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE {delivery} AND state = 'running' AND lease_owner LIKE '{}-%'",
        a.0.id()
    );
    let claimed = format!(
        "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE {delivery} AND state IN ('running', 'done')"
    );
    // Wait until A holds deliveries and every claimed one has reached the receiver (which holds them).
    let t0 = std::time::Instant::now();
    let in_flight = loop {
        let n = count(b, &uri, &on_a);
        if n > 0 && got.lock().unwrap().len() >= count(b, &uri, &claimed) as usize {
            break n;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "replica A never ran a delivery: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.0.kill().expect("kill -9");
    a.0.wait().expect("reaped");
    let left = count(b, &uri, &on_a);
    assert!(left > 0, "A's deliveries are left running under its lease");
    jobs_settled(b, &uri, delivery, 90).await;
    let jobs = |cond: &str| {
        count(
            b,
            &uri,
            &format!("SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE {delivery} AND {cond}"),
        )
    };
    assert_eq!(
        jobs("1 = 1"),
        MODELS,
        "one delivery job per event, on either replica"
    );
    assert_eq!(
        jobs("state = 'done'"),
        MODELS,
        "every delivery completed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        jobs("attempts >= 2"),
        left,
        "exactly the jobs cut short on A (seen {in_flight} in flight) were taken up again, by B"
    );
    // Received: every event under its own id; twice only where A's request was cut short.
    tokio::time::sleep(HOLD).await;
    let got = got.lock().unwrap().clone();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for id in &got {
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    assert!(
        per_id.keys().all(|id| !id.is_empty()),
        "every delivery carries an id"
    );
    assert_eq!(per_id.len(), MODELS as usize, "{got:?}");
    let twice = per_id.values().filter(|&&n| n == 2).count();
    assert!(
        per_id.values().all(|&n| n <= 2) && twice == left as usize,
        "exactly the deliveries the kill cut short came again, under their ids: {per_id:?}"
    );
}

backend_tests!(kill_9_one_replica_mid_deliveries);
