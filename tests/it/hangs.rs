//! The probe's three ways to make the server stop answering, replayed against the real binary over real
//! sockets: abandoned slow searches, stalled uploads and aborted uploads. While each attack runs, `/health`
//! and an ordinary API call must keep answering within a second.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backend_tests;
use crate::binary::{start, Server};
use crate::common::Backend;

impl Server {
    /// `/health` and an ordinary API call, each of which must answer 200 within a second.
    async fn answers_promptly(&self, what: &str) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("client");
        for path in ["/health", "/api/2.0/mlflow/experiments/get?experiment_id=0"] {
            let t0 = Instant::now();
            let r = client.get(self.url(path)).send().await;
            let status = r.as_ref().map(|r| r.status().as_u16());
            assert!(
                matches!(status, Ok(200)),
                "{what}: {path} -> {status:?} after {:?}",
                t0.elapsed()
            );
        }
    }
}

/// Slow searches whose clients give up must not hold every connection (they did: twelve were enough
/// for every call to get a 503).
async fn abandoned_searches_leave_the_server_answering(b: Backend) {
    let Some(s) = start(b, 4).await else { return };
    let exp = s.post("experiments/create", json!({"name": "load"})).await["experiment_id"]
        .as_str()
        .expect("id")
        .to_string();
    for _ in 0..300 {
        let run = s
            .post(
                "runs/create",
                json!({"experiment_id": exp, "start_time": 1}),
            )
            .await["run"]["info"]["run_id"]
            .as_str()
            .expect("run")
            .to_string();
        let metrics: Vec<Value> = (0..3)
            .map(|i| json!({"key": "a", "value": 1.0, "timestamp": 1, "step": i}))
            .collect();
        s.post("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
    }
    // The most expensive filter the server accepts: 50 metric comparisons.
    let filter = vec!["metrics.a > 0"; 50].join(" AND ");
    let body = json!({"experiment_ids": [exp], "filter": filter, "max_results": 1000});
    let quitter = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let mut attack = Vec::new();
    for _ in 0..30 {
        let req = quitter
            .post(s.url("/api/2.0/mlflow/runs/search"))
            .json(&body)
            .send();
        attack.push(tokio::spawn(async move {
            let _ = req.await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if matches!(b, Backend::Postgres) {
        // The abandoned queries are cancelled, not left running for nobody: a 50-clause search over
        // 300 runs takes over a second while five run at once, and the rest never start.
        let until = Instant::now() + Duration::from_millis(700);
        let mut active = running_searches(&s.uri);
        while active > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
            active = running_searches(&s.uri);
        }
        assert_eq!(
            active, 0,
            "abandoned searches still running 1 s after their clients left"
        );
    }
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        s.answers_promptly("while abandoned searches run").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for a in attack {
        let _ = a.await;
    }
}

/// Queries of the search load still running on the server's PostgreSQL database.
fn running_searches(uri: &str) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = diesel::PgConnection::establish(uri).expect("monitor connection");
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' \
         AND pid <> pg_backend_pid() AND query LIKE '%latest_metrics%'",
    )
    .get_result::<N>(&mut c)
    .expect("pg_stat_activity")
    .n
}

/// Uploads that send a little and then stall must not exhaust the threads database calls run on (1,100
/// of them did, on 2 workers: each one parked a blocking thread waiting for bytes).
async fn stalled_uploads_leave_the_server_answering(b: Backend) {
    let Some(s) = start(b, 2).await else { return };
    let mut stalled = Vec::new();
    for i in 0..1100 {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
        let head = format!(
            "PUT /api/2.0/mlflow-artifacts/artifacts/stall/{i}.bin HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n",
            s.port
        );
        c.write_all(head.as_bytes()).expect("head");
        c.write_all(&[7u8; 1024]).expect("first kilobyte");
        stalled.push(c);
    }
    // Let the server take in all 1,100 (under CI's load that takes a moment); the old build never
    // recovered from them, however long it was given.
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.answers_promptly("with 1,100 stalled uploads").await;
    // A write, which needs the database and the blocking pool, goes through too.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let r = client
        .post(s.url("/api/2.0/mlflow/experiments/create"))
        .json(&json!({"name": "during-stall"}))
        .send()
        .await
        .expect("create during the stall");
    assert_eq!(r.status(), 200);
    drop(stalled);
    // An upload cut off mid-body leaves no file and no folder behind.
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let head = format!(
        "PUT /api/2.0/mlflow-artifacts/artifacts/cut/deep/er/x.bin HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Content-Length: 4194304\r\n\r\n",
        s.port
    );
    c.write_all(head.as_bytes()).expect("head");
    c.write_all(&vec![1u8; 2 << 20]).expect("half the body");
    drop(c);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let listing: Value = reqwest::get(s.url("/api/2.0/mlflow-artifacts/artifacts"))
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = listing["files"]
        .as_array()
        .map(|f| f.iter().filter_map(|e| e["path"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"cut"), "an aborted upload left {names:?}");
    assert!(
        !s.artifacts.path().join("cut").exists(),
        "an aborted upload left its folders on disk"
    );
    s.answers_promptly("after the stall").await;
}

/// With auth on, the gate reads a JSON body before any handler (to see which run or model it names): a
/// client that stalls mid-body gets the body timeout's 400, as it does with auth off, instead of being
/// waited for as long as it keeps the socket open.
async fn a_stalled_json_body_is_answered_with_auth_on(b: Backend) {
    let password = "stall-admin-password";
    let env = [
        ("MLFLOW_AUTH_ADMIN_PASSWORD", password),
        ("MLFLOW_FLASK_SERVER_SECRET_KEY", "stall-key"),
        ("HARVESTER_BODY_IDLE_TIMEOUT_SECS", "1"),
    ];
    let Some(s) = crate::binary::start_with(b, 2, &["--app-name", "basic-auth"], &env).await else {
        return;
    };
    let head = format!(
        "POST /api/2.0/mlflow/runs/log-metric HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        s.port,
        crate::common::basic_auth("admin", password)
    );
    stalled_body_is_refused(s.port, &head, br#"{"run_id": "#);
    s.answers_promptly_as("admin", password, "after the stall")
        .await;
}

/// The EvalAI receivers take their body raw (to check its HMAC) and answer without credentials: a
/// client stalling mid-body gets the body timeout's 400 there too.
async fn a_stalled_webhook_body_is_answered(b: Backend) {
    let env = [("HARVESTER_BODY_IDLE_TIMEOUT_SECS", "1")];
    let Some(s) = crate::binary::start_with(b, 2, &[], &env).await else {
        return;
    };
    let head = format!(
        "POST /api/harvester/v1/evalai/any/webhook HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        s.port
    );
    stalled_body_is_refused(s.port, &head, br#"{"submission": "#);
    s.answers_promptly("after the stalled webhook").await;
}

/// Send `head` and the start of a body, then stall: the answer must be the body timeout's 400 (the
/// server runs with a 1 s limit), well before 6 s.
fn stalled_body_is_refused(port: u16, head: &str, start: &[u8]) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(8)))
        .expect("timeout");
    c.write_all(head.as_bytes()).expect("head");
    c.write_all(start).expect("a little of the body");
    let t0 = Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = std::io::Read::read(&mut c, &mut answer).expect("an answer before the read timeout");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        text.contains("Request body not received within 1 s"),
        "{text}"
    );
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
}

impl Server {
    /// [`Server::answers_promptly`] with basic credentials (the server has auth on).
    async fn answers_promptly_as(&self, user: &str, password: &str, what: &str) {
        let r = reqwest::Client::new()
            .get(self.url("/api/2.0/mlflow/experiments/get?experiment_id=0"))
            .header("Authorization", crate::common::basic_auth(user, password))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        assert!(
            matches!(r.as_ref().map(|r| r.status().as_u16()), Ok(200)),
            "{what}: {r:?}"
        );
    }
}

backend_tests!(
    abandoned_searches_leave_the_server_answering,
    stalled_uploads_leave_the_server_answering,
    a_stalled_json_body_is_answered_with_auth_on,
    a_stalled_webhook_body_is_answered,
);
