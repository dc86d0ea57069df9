//! The real `harvester` binary on a fresh store, over real sockets: for tests that need separate processes
//! (concurrency the in-process test service does not give, hung sockets, kill -9).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{fresh_store, Backend, Guard};

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub uri: String,
    pub artifacts: tempfile::TempDir,
    /// One connection pool for the helpers below: seeding hundreds of requests over fresh connections once
    /// met a reset connection on a loaded CI machine.
    client: reqwest::Client,
    _guard: Guard,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `path` opened for appending (a restarted binary's stderr goes after the first one's).
pub fn append_log(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("log")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The binary on a fresh store, with `workers` HTTP workers (each worker has its own blocking pool of 512
/// threads, so the stall below needs more uploads than 512 × workers).
pub async fn start(b: Backend, workers: u32) -> Option<Server> {
    start_with(b, workers, &[], &[]).await
}

/// As [`start`], with extra flags and environment.
pub async fn start_with(
    b: Backend,
    workers: u32,
    args: &[&str],
    env: &[(&str, &str)],
) -> Option<Server> {
    let (uri, guard) = fresh_store(b)?;
    let artifacts = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // HARVESTER_TEST_BIN runs these against another build (how they were shown to fail before the fixes).
    let bin = std::env::var("HARVESTER_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_harvester").to_string());
    let child = Command::new(bin)
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--backend-store-uri", &uri, "--db-pool-size", "10"])
        .args(["--workers", &workers.to_string()])
        .arg("--artifacts-destination")
        .arg(artifacts.path())
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start harvester");
    let s = Server {
        child,
        port,
        uri,
        artifacts,
        client: reqwest::Client::new(),
        _guard: guard,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::get(s.url("/health")).await.is_ok() {
            return Some(s);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("harvester did not become healthy");
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .client
            .post(self.url(&format!("/api/2.0/mlflow/{path}")))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("json")
    }
}
