//! kill -9 in the middle of a pull: the real `harvester` binary is killed while it downloads a
//! submission's files, started again, and completes the job once (one run, one version).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{fresh_store, Backend};
use crate::databases::{count, jobs_settled};
use crate::evalai_fake::{model_package, FakeEvalai};
use crate::evalai_support::config;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(uri: &str, port: u16, arts: &std::path::Path, cfg: &str, log: &std::path::Path) -> Child {
    let log = crate::binary::append_log(log);
    Command::new(env!("CARGO_BIN_EXE_harvester"))
        .args([
            "server",
            "--backend-store-uri",
            uri,
            "--port",
            &port.to_string(),
        ])
        .args([
            "--artifacts-destination",
            &arts.display().to_string(),
            "--evalai-config",
            cfg,
        ])
        .args(["--job-lease-secs", "2", "--job-poll-ms", "50"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start harvester")
}

async fn until<T>(secs: u64, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn kill_9_mid_pull_completes_once(b: Backend) {
    let Some((uri, _guard)) = fresh_store(b) else {
        return;
    };
    let fake = FakeEvalai::start();
    fake.add(21, "finished", model_package(), ".zip");
    // Every EvalAI answer is slow, so the pull is caught half-way.
    fake.with(|s| s.delay = Duration::from_millis(600));
    let (_cfg_dir, cfg) = config(&fake, 3600);
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, log) = (free_port(), dir.path().join("server.log"));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut child = start(&uri, port, &dir.path().join("arts"), &cfg, &log);
    until(60, "the server", async || {
        http.get(format!("{base}/health"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    let slack = json!({"attachments": [{"fields": [{"title": "Submission Id", "value": 21}]}]});
    let r = http
        .post(format!("{base}/api/harvester/v1/evalai/onprem/slack"))
        .json(&slack)
        .send()
        .await
        .expect("poke");
    assert!(r.status().is_success());
    until(60, "the pull downloading files", async || {
        (fake.count("/media/") > 0).then_some(())
    })
    .await;
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let running = count(b, &uri, "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE dedupe_key = 'evalai:onprem:21' AND state = 'running'");
    assert_eq!(
        running, 1,
        "the killed worker's job is left running under its lease"
    );
    fake.with(|s| s.delay = Duration::from_millis(20));
    let mut child = start(&uri, port, &dir.path().join("arts"), &cfg, &log);
    let tracked = |v: Value| {
        v["submissions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["submission_id"] == 21 && s["state"] == "registered")
            .cloned()
    };
    let row = until(
        90,
        "submission 21 registered after the restart",
        async || {
            let r = http
                .get(format!("{base}/api/harvester/v1/evalai/submissions"))
                .send()
                .await
                .ok()?;
            tracked(r.json().await.ok()?)
        },
    )
    .await;
    assert_eq!(row["model_version"], 1, "{row}");
    let exp: Value = http.get(format!("{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=evalai/bridge-test-challenge-1/dev"))
        .send().await.expect("experiment").json().await.expect("json");
    let search = json!({"experiment_ids": [exp["experiment"]["experiment_id"]], "run_view_type": "ALL", "filter": "tags.`evalai.submission_id` = '21'"});
    let runs: Value = http
        .post(format!("{base}/api/2.0/mlflow/runs/search"))
        .json(&search)
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
    let versions: Value = http.get(format!("{base}/api/2.0/mlflow/model-versions/search?filter=name%3D%27bridge-test-challenge-1%27"))
        .send().await.expect("versions").json().await.expect("json");
    assert_eq!(
        versions["model_versions"].as_array().map(Vec::len),
        Some(1),
        "{versions}"
    );
    jobs_settled(b, &uri, "dedupe_key = 'evalai:onprem:21'", 30).await;
    let done = count(b, &uri, "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE dedupe_key = 'evalai:onprem:21' AND state = 'done' AND attempts >= 2");
    assert_eq!(
        done,
        1,
        "the job was taken up again and finished: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    child.kill().ok();
    child.wait().ok();
}

backend_tests!(kill_9_mid_pull_completes_once);
