//! A test EvalAI: a real HTTP server on loopback that replays the recorded fixtures
//! (`tests/fixtures/evalai/`, captured from a real EvalAI) with submissions a test adds and changes, and
//! knobs for 429 throttling, 5xx outages and slow answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

pub const TOKEN: &str = "test-token";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/evalai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

#[derive(Default)]
pub struct State {
    pub submissions: BTreeMap<i64, Value>,
    /// Leaderboard results per submission: `{"accuracy": …, "f1": …}` (split 1).
    pub results: BTreeMap<i64, Value>,
    pub files: BTreeMap<String, Vec<u8>>,
    /// Answer this many requests with 429 `Retry-After: 1`.
    pub throttle: u32,
    /// Answer every request with 503.
    pub outage: bool,
    /// Delay every answer (and each file) by this much.
    pub delay: Duration,
    /// The token may read the staff-only raw leaderboard data.
    pub staff: bool,
    /// Paths requested, in order.
    pub log: Vec<String>,
}

pub struct FakeEvalai {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeEvalai {
    pub fn start() -> FakeEvalai {
        let state = Arc::new(Mutex::new(State {
            staff: true,
            ..Default::default()
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let s = state.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let s2 = s.clone();
                let srv = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(s2.clone()))
                        .default_service(web::to(answer))
                })
                .workers(2)
                .bind(("127.0.0.1", 0))
                .expect("bind");
                tx.send(srv.addrs()[0].port()).expect("port");
                srv.run().await
            })
        });
        let port = rx.recv().expect("port");
        FakeEvalai {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// Add submission `id` of phase 1 (challenge 1) from the recorded record, with `status`, file URLs on
    /// this server, and `input` as its input file.
    pub fn add(&self, id: i64, status: &str, input: Vec<u8>, input_ext: &str) {
        let mut r = fixture("jobs_submission_1.json");
        let base = format!(
            "{}/media/submission_files/challenge_1/phase_1/submission_{id}",
            self.url
        );
        r["id"] = json!(id);
        r["status"] = json!(status);
        r["method_name"] = json!(format!("method-{id}"));
        r["submitted_at"] = json!(format!(
            "2026-11-26T17:{:02}:{:02}.000000Z",
            (id / 60) % 60,
            id % 60
        ));
        for (field, ext) in [
            ("input_file", input_ext),
            ("stdout_file", ".txt"),
            ("stderr_file", ".txt"),
            ("environment_log_file", ".txt"),
            ("submission_result_file", ".json"),
        ] {
            r[field] = json!(format!("{base}/{field}{ext}"));
        }
        let path = |field: &str, ext: &str| {
            format!("/media/submission_files/challenge_1/phase_1/submission_{id}/{field}{ext}")
        };
        self.with(|s| {
            s.files.insert(path("input_file", input_ext), input);
            s.files.insert(
                path("stdout_file", ".txt"),
                format!("stdout of {id}\n").into_bytes(),
            );
            s.files.insert(path("stderr_file", ".txt"), b"".to_vec());
            s.files
                .insert(path("environment_log_file", ".txt"), b"env\n".to_vec());
            s.files.insert(
                path("submission_result_file", ".json"),
                b"[{'accuracy': 0.91, 'f1': 0.88}]".to_vec(),
            );
            s.results.insert(
                id,
                json!({"accuracy": 0.5 + id as f64 / 1000.0, "f1": 0.25}),
            );
            s.submissions.insert(id, r);
        });
    }

    pub fn set(&self, id: i64, field: &str, value: Value) {
        self.with(|s| {
            if let Some(r) = s.submissions.get_mut(&id) {
                r[field] = value;
            }
        });
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.with(|s| s.log.iter().filter(|p| p.starts_with(prefix)).count())
    }
}

fn ok(v: Value) -> HttpResponse {
    HttpResponse::Ok().json(v)
}

fn page(results: Vec<Value>) -> Value {
    json!({"count": results.len(), "next": null, "previous": null, "results": results})
}

async fn answer(req: HttpRequest, st: web::Data<Arc<Mutex<State>>>) -> HttpResponse {
    let path = req.path().to_string();
    let (delay, outage, throttled) = {
        let mut s = st.lock().expect("state");
        s.log.push(req.uri().to_string());
        let throttled = s.throttle > 0;
        if throttled {
            s.throttle -= 1;
        }
        (s.delay, s.outage, throttled)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if outage {
        return HttpResponse::ServiceUnavailable().body("<h1>503 Service Unavailable</h1>");
    }
    if throttled {
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "1"))
            .json(json!({"detail": "Request was throttled. Expected available in 1 second."}));
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Token {TOKEN}") {
        return HttpResponse::Unauthorized().json(json!({"detail": "Invalid token"}));
    }
    let s = st.lock().expect("state");
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match seg.as_slice() {
        ["media", ..] => match s.files.get(&path) {
            Some(b) => HttpResponse::Ok().body(b.clone()),
            None => HttpResponse::NotFound().body("not found"),
        },
        ["api", "challenges", "challenge", pk] => {
            let all = fixture("challenges_host_team_challenges.json");
            let found = all["results"].as_array().into_iter().flatten().find(|c| c["id"].as_i64().is_some_and(|i| pk.parse() == Ok(i))).cloned();
            found.map(ok).unwrap_or_else(|| HttpResponse::NotFound().json(json!({"error": "Challenge does not exist"})))
        }
        ["api", "challenges", "challenge", "1", "challenge_phase"] => ok(fixture("challenges_phases_host.json")),
        ["api", "challenges", "challenge", _, "challenge_phase"] => ok(page(vec![])),
        ["api", "challenges", "1", "challenge_phase_split"] => ok(fixture("challenges_phase_splits.json")),
        ["api", "challenges", _, "challenge_phase_split"] => ok(json!([])),
        ["api", "jobs", "challenge", "1", "submission"] => {
            let after = req.query_string().split('&').find_map(|kv| kv.strip_prefix("submitted_after=")).map(|v| {
                percent_encoding::percent_decode_str(v).decode_utf8_lossy().to_string()
            });
            let list: Vec<Value> = s
                .submissions
                .values()
                .filter(|r| after.as_deref().is_none_or(|a| r["submitted_at"].as_str().unwrap_or("") > a))
                .cloned()
                .collect();
            ok(Value::Array(list))
        }
        ["api", "jobs", "submission", id] => match id.parse::<i64>().ok().and_then(|i| s.submissions.get(&i)) {
            Some(r) => ok(r.clone()),
            None => HttpResponse::NotFound().json(json!({"error": "Submission does not exist"})),
        },
        ["api", "challenges", "challenge", "1", "get_leaderboard_data"] if s.staff => ok(Value::Array(
            s.results
                .iter()
                .filter(|(id, _)| s.submissions.get(id).is_some_and(|r| r["status"] == "finished"))
                .map(|(id, r)| json!({"id": id, "challenge_phase_split": 1, "submission": id, "leaderboard": 1, "result": r, "error": null}))
                .collect(),
        )),
        ["api", "challenges", "challenge", _, "get_leaderboard_data"] => {
            HttpResponse::BadRequest().json(json!({"error": "Sorry, you are not authorized to make this request!"}))
        }
        ["api", "jobs", "phase_split", "1", "public_leaderboard_all_entries"] => ok(page(
            s.results
                .iter()
                .filter(|(id, _)| s.submissions.get(id).is_some_and(|r| r["status"] == "finished"))
                .map(|(id, r)| {
                    json!({"id": id, "submission__id": id, "challenge_phase_split": 1,
                           "result": [r["accuracy"], r["f1"]],
                           "leaderboard__schema": {"labels": ["accuracy", "f1"], "default_order_by": "accuracy"}})
                })
                .collect(),
        )),
        _ => HttpResponse::NotFound().json(json!({"detail": "Not found."})),
    }
}

/// A zip holding one MLflow model directory (`model/MLmodel` and its files) beside the submission code.
pub fn model_package() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, body) in [
            ("README.md", "a submission\n"),
            ("model/MLmodel", "flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n    python_model: python_model.pkl\n"),
            ("model/python_env.yaml", "python: 3.11\n"),
            ("model/requirements.txt", "mlflow==3.17.2\n"),
            ("model/code/model.py", "class M: pass\n"),
        ] {
            z.start_file(name, opts).expect("zip entry");
            z.write_all(body.as_bytes()).expect("zip write");
        }
        z.finish().expect("zip");
    }
    buf.into_inner()
}
