//! W8: the EvalAI bridge. A replay EvalAI (the recorded fixtures, N finished submissions with a 1 MiB input
//! file each) is backfilled by `harvester evalai sync` (submissions/s); then a server with the bridge gets a
//! Slack poke per new submission and the time until its run is visible through `runs/search` is measured
//! (p50, p99; the replay EvalAI answers at once, so this is Harvester's own latency). No stock counterpart:
//! without Harvester this is done by hand.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::procs::{Kind, Server};
use crate::workloads::Measure;

const TOKEN: &str = "bench-evalai-token";

struct Replay {
    url: String,
    /// Submission records by id.
    subs: Mutex<Vec<Value>>,
    input: web::Bytes,
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/evalai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

impl Replay {
    fn record(&self, id: usize) -> Value {
        let mut r = fixture("jobs_submission_1.json");
        let media = format!("{}/media/s/{id}", self.url);
        r["id"] = json!(id);
        r["method_name"] = json!(format!("bench-{id}"));
        r["input_file"] = json!(format!("{media}/input.bin"));
        r["stdout_file"] = json!(format!("{media}/stdout.txt"));
        r["stderr_file"] = json!(null);
        r["environment_log_file"] = json!(null);
        r["submission_result_file"] = json!(null);
        r
    }
}

async fn answer(req: HttpRequest, st: web::Data<Arc<Replay>>) -> HttpResponse {
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(&format!("Token {TOKEN}"))
    {
        return HttpResponse::Unauthorized().finish();
    }
    let path = req.path().to_string();
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match seg.as_slice() {
        ["media", "s", _, "input.bin"] => HttpResponse::Ok().body(st.input.clone()),
        ["media", "s", id, "stdout.txt"] => HttpResponse::Ok().body(format!("evaluated {id}\n")),
        ["api", "challenges", "challenge", "1"] => {
            HttpResponse::Ok().json(json!({"id": 1, "slug": "bench-challenge"}))
        }
        ["api", "challenges", "challenge", "1", "challenge_phase"] => {
            HttpResponse::Ok().json(fixture("challenges_phases_host.json"))
        }
        ["api", "challenges", "1", "challenge_phase_split"] => {
            HttpResponse::Ok().json(fixture("challenges_phase_splits.json"))
        }
        ["api", "jobs", "challenge", "1", "submission"] => {
            let subs = st.subs.lock().map(|s| s.clone()).unwrap_or_default();
            HttpResponse::Ok().json(subs)
        }
        ["api", "jobs", "submission", id] => {
            let subs = st.subs.lock().map(|s| s.clone()).unwrap_or_default();
            match subs
                .iter()
                .find(|r| r["id"].as_i64().is_some_and(|i| id.parse() == Ok(i)))
            {
                Some(r) => HttpResponse::Ok().json(r),
                None => HttpResponse::NotFound().finish(),
            }
        }
        ["api", "challenges", "challenge", "1", "get_leaderboard_data"] => {
            let subs = st.subs.lock().map(|s| s.clone()).unwrap_or_default();
            let rows: Vec<Value> = subs
                .iter()
                .map(|r| json!({"submission": r["id"], "result": {"accuracy": 0.9, "f1": 0.8}}))
                .collect();
            HttpResponse::Ok().json(rows)
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

async fn start_replay(n: usize, input_bytes: usize) -> Result<Arc<Replay>, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let replay = Arc::new(Replay {
        url,
        subs: Mutex::new(Vec::new()),
        input: crate::w7::blob(input_bytes.div_ceil(1 << 20)).slice(..input_bytes),
    });
    let recs: Vec<Value> = (1..=n).map(|i| replay.record(i)).collect();
    *replay.subs.lock().map_err(|e| e.to_string())? = recs;
    let data = replay.clone();
    let srv = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(data.clone()))
            .default_service(web::to(answer))
    })
    .workers(1)
    .listen(listener)
    .map_err(|e| e.to_string())?
    .run();
    tokio::spawn(srv);
    Ok(replay)
}

fn config(dir: &std::path::Path, url: &str) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join("evalai.toml");
    let text = format!(
        "[[evalai]]\nname = \"bench\"\nurl = \"{url}\"\ntoken_env = \"BENCH_EVALAI_TOKEN\"\nchallenges = [1]\npoll_interval_secs = 3600\n"
    );
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    std::env::set_var("BENCH_EVALAI_TOKEN", TOKEN);
    Ok(path.display().to_string())
}

/// Backfill `n` submissions with `harvester evalai sync`: submissions per second.
pub async fn backfill(
    harvester: &std::path::Path,
    dir: &std::path::Path,
    store: &str,
    n: usize,
    input_bytes: usize,
) -> Result<Measure, String> {
    let replay = start_replay(n, input_bytes).await?;
    let cfg = config(dir, &replay.url)?;
    let arts = dir.join("mlartifacts").display().to_string();
    let t = Instant::now();
    let mut cmd = std::process::Command::new(harvester);
    cmd.args([
        "evalai",
        "sync",
        "--challenge",
        "1",
        "--backend-store-uri",
        store,
        "--artifacts-destination",
        &arts,
        "--evalai-config",
        &cfg,
    ])
    .env("RUST_LOG", "warn");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() || !text.contains(&format!("logged {n}")) {
        return Err(format!(
            "backfill: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(Measure {
        value: n as f64 / secs,
        p99_ms: f64::NAN,
        cpu_per_unit: f64::NAN,
        errors: 0,
        note: text.trim().to_string(),
    })
}

/// `pokes` Slack pokes, one per new submission, each waited for until its run is found: (p50, p99) ms.
pub async fn latency(
    harvester: &std::path::Path,
    dir: &std::path::Path,
    store: &str,
    port: u16,
    pokes: usize,
) -> Result<(Measure, Measure), String> {
    let replay = start_replay(0, 4096).await?;
    let cfg = config(dir, &replay.url)?;
    let args: Vec<String> = [
        "server",
        "--backend-store-uri",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--artifacts-destination",
        &dir.join("mlartifacts").display().to_string(),
        "--evalai-config",
        &cfg,
        "--job-poll-ms",
        "500",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (mut srv, _) = Server::start(Kind::Harvester, harvester, &args, dir, store, port, &[])?;
    let c = reqwest::Client::new();
    let mut ms = Vec::new();
    let result = async {
        for i in 0..pokes {
            let id = 100_000 + i;
            let rec = replay.record(id);
            replay.subs.lock().map_err(|e| e.to_string())?.push(rec);
            let t = Instant::now();
            let slack = json!({"attachments": [{"fields": [{"title": "Submission Id", "value": id}]}]});
            let r = c.post(format!("{}/api/harvester/v1/evalai/bench/slack", srv.url)).json(&slack).send().await.map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("slack: HTTP {}", r.status()));
            }
            loop {
                let exp: Value = c.get(format!("{}/api/2.0/mlflow/experiments/get-by-name?experiment_name=evalai/bench-challenge/dev", srv.url))
                    .send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
                if let Some(e) = exp["experiment"]["experiment_id"].as_str() {
                    let v: Value = c.post(format!("{}/api/2.0/mlflow/runs/search", srv.url))
                        .json(&json!({"experiment_ids": [e], "filter": format!("tags.`evalai.submission_id` = '{id}'")}))
                        .send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
                    if v["runs"].as_array().is_some_and(|r| !r.is_empty()) {
                        break;
                    }
                }
                if t.elapsed() > Duration::from_secs(30) {
                    return Err(format!("run of submission {id} not visible after 30 s"));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(())
    }
    .await;
    srv.stop();
    result?;
    let m = |p: f64| Measure {
        value: crate::load::percentile(&ms, p),
        p99_ms: f64::NAN,
        cpu_per_unit: f64::NAN,
        errors: 0,
        note: String::new(),
    };
    Ok((m(50.0), m(99.0)))
}

/// W8's rows for one backend (Harvester only).
pub async fn rows(
    ctx: &mut crate::ctx::Ctx,
    backend: &str,
    rows: &mut Vec<crate::report::Row>,
) -> Result<(), String> {
    use crate::report::Row;
    let sz = ctx.sizes.clone();
    let harvester = std::fs::canonicalize(&ctx.args.harvester).map_err(|e| e.to_string())?;
    let base = std::env::current_dir()
        .map_err(|e| e.to_string())?
        .join(&ctx.args.workdir);
    let mut backfill_row = Row::new(
        backend,
        "W8",
        &format!(
            "EvalAI backfill, {} submissions of {} KiB",
            sz.w8_submissions,
            sz.w8_input_bytes / 1024
        ),
        "submissions/s",
        true,
        "",
        "≥50 /s",
    );
    let mut p50 = Row::new(
        backend,
        "W8",
        "EvalAI Slack poke → run visible, p50",
        "ms",
        false,
        "",
        "",
    );
    let mut p99 = Row::new(
        backend,
        "W8",
        "EvalAI Slack poke → run visible, p99",
        "ms",
        false,
        "",
        "<1000 ms",
    );
    for rep in 0..ctx.sizes_reps() {
        eprintln!(
            "== {backend}: W8 EvalAI backfill of {} submissions (rep {rep})",
            sz.w8_submissions
        );
        let dir = base.join(format!("{backend}-w8-backfill-{rep}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let store = ctx.store(backend, &dir)?;
        backfill_row.add(
            true,
            &backfill(
                &harvester,
                &dir,
                &store,
                sz.w8_submissions,
                sz.w8_input_bytes,
            )
            .await?,
        );
        let dir = base.join(format!("{backend}-w8-latency-{rep}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let store = ctx.store(backend, &dir)?;
        let port = ctx.next_port();
        let (a, b) = latency(&harvester, &dir, &store, port, sz.w8_pokes).await?;
        p50.add(true, &a);
        p99.add(true, &b);
    }
    rows.extend([backfill_row, p50, p99]);
    Ok(())
}
