//! kill -9 in the middle of a scan: the real `harvester` binary is killed while its worker scans a
//! version (a large source file keeps it busy), started again, and the scan finishes once. And SIGTERM in
//! the middle of one: the scan finishes before the process exits.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{fresh_store, Backend};
use crate::databases::{count, jobs_settled};
use crate::scans::{template_files, template_model};

fn start(uri: &str, port: u16, arts: &std::path::Path, log: &std::path::Path) -> Child {
    let log = crate::binary::append_log(log);
    Command::new(env!("CARGO_BIN_EXE_harvester"))
        .args([
            "server",
            "--backend-store-uri",
            uri,
            "--port",
            &port.to_string(),
        ])
        .args(["--artifacts-destination", &arts.display().to_string()])
        .args(["--job-lease-secs", "2", "--job-poll-ms", "20"])
        .env("HARVESTER_SHUTDOWN_GRACE_SECS", "120")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start harvester")
}

/// A server whose worker is scanning a slow version: its store, folder, address and process.
struct Slow {
    uri: String,
    _guard: crate::common::Guard,
    dir: tempfile::TempDir,
    port: u16,
    base: String,
    child: Child,
    http: reqwest::Client,
}

impl Slow {
    fn paths(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        (
            self.dir.path().join("arts"),
            self.dir.path().join("server.log"),
        )
    }

    async fn scan(&self) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/api/harvester/v1/scans/slow/1", self.base))
            .send()
            .await
            .ok()?;
        r.json::<Value>().await.ok()
    }
}

const RUNNING: &str = "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE kind = 'scan.version' AND state = 'running'";

/// Start a server, give it a version whose scan takes a while, and return once the scan is running.
async fn slow_scan_running(b: Backend) -> Option<Slow> {
    let (uri, _guard) = fresh_store(b)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (arts, log) = (dir.path().join("arts"), dir.path().join("server.log"));
    let base = format!("http://127.0.0.1:{port}");
    let api = |p: &str| format!("{base}/api/2.0/mlflow/{p}");
    let http = reqwest::Client::new();
    let child = start(&uri, port, &arts, &log);
    let t0 = Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = |path: String, body: Value| {
        let r = http.post(api(&path)).json(&body).send();
        async move {
            r.await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let exp = post("experiments/create".into(), json!({"name": "restart"})).await["experiment_id"]
        .clone();
    let run = post("runs/create".into(), json!({"experiment_id": exp})).await["run"]["info"]
        ["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut files = template_files(template_model());
    // Tens of megabytes of Python keep the scan busy for a while (a debug build parses it slowly).
    files.push(("big.py", "x = [1, 2, 3]\n".repeat(3_000_000)));
    for (path, body) in files {
        let url = format!(
            "{base}/api/2.0/mlflow-artifacts/artifacts/{}/{run}/artifacts/model/{path}",
            exp.as_str().unwrap()
        );
        assert!(http
            .put(url)
            .body(body)
            .send()
            .await
            .expect("upload")
            .status()
            .is_success());
    }
    post("registered-models/create".into(), json!({"name": "slow"})).await;
    post(
        "model-versions/create".into(),
        json!({"name": "slow", "source": format!("runs:/{run}/model"), "run_id": run}),
    )
    .await;
    let t0 = Instant::now();
    while count(b, &uri, RUNNING) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the scan job never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Some(Slow {
        uri,
        _guard,
        dir,
        port,
        base,
        child,
        http,
    })
}

async fn kill_9_mid_scan_finishes_once(b: Backend) {
    let Some(mut slow) = slow_scan_running(b).await else {
        return;
    };
    let (uri, port) = (slow.uri.clone(), slow.port);
    let (arts, log) = slow.paths();
    slow.child.kill().expect("kill -9");
    slow.child.wait().expect("reaped");
    assert_eq!(
        count(b, &uri, RUNNING),
        1,
        "the killed worker's scan is left running under its lease"
    );
    slow.child = start(&uri, port, &arts, &log);
    let t0 = Instant::now();
    let rec = loop {
        if let Some(s) = slow.scan().await.filter(|s| s["scan_status"] != "pending") {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the scan did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rec["status"], "passed", "{rec}");
    let scanned = rec["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "scanned")
        .count();
    assert_eq!(scanned, 1, "{rec}");
    jobs_settled(b, &uri, "kind = 'scan.version'", 30).await;
    let done = count(b, &uri, "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE kind = 'scan.version' AND state = 'done' AND attempts >= 2");
    assert_eq!(done, 1, "one job, finished on its second attempt");
    slow.child.kill().ok();
    slow.child.wait().ok();
}

/// SIGTERM while the scan runs: the server stops taking connections at once, lets the scan finish (on
/// its first attempt), and exits 0 within the grace period.
async fn sigterm_mid_scan_finishes_it_first(b: Backend) {
    let Some(mut slow) = slow_scan_running(b).await else {
        return;
    };
    let t0 = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(slow.child.id() as i32, libc::SIGTERM) },
        0
    );
    let mut refused = false;
    let status = loop {
        if let Some(st) = slow.child.try_wait().expect("wait") {
            break st;
        }
        if !refused {
            refused = slow
                .http
                .get(format!("{}/health", slow.base))
                .send()
                .await
                .is_err();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(150),
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "exit status {status:?}: {}",
        std::fs::read_to_string(slow.paths().1).unwrap_or_default()
    );
    assert!(
        refused || t0.elapsed() < Duration::from_millis(500),
        "connections were still taken while the scan ran"
    );
    let done = count(b, &slow.uri, "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE kind = 'scan.version' AND state = 'done' AND attempts = 1");
    assert_eq!(done, 1, "the scan in flight finished, on its first attempt");
    let passed = count(
        b,
        &slow.uri,
        "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_scans WHERE status = 'passed'",
    );
    assert_eq!(passed, 1);
}

backend_tests!(
    kill_9_mid_scan_finishes_once,
    sigterm_mid_scan_finishes_it_first
);
