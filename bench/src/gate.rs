//! W11's gate cost without the disk or the socket: the app in-process (actix's test service) answering
//! `runs/get` for one run, auth off and auth on (an ordinary user who created the experiment, so every request
//! is decided against grants), alternating per repetition. µs per request of each: their ratio is what the gate
//! costs on the cheapest request there is, where it weighs most.

use std::sync::Arc;
use std::time::Instant;

use actix_web::test;
use harvester::auth::{users, Auth, AuthConfig, Permission};
use harvester::config::ServerConfig;

use crate::report::Row;
use crate::workloads::Measure;

const PASSWORD: &str = "bench-gate-password";

fn basic(user: &str) -> String {
    use base64::Engine;
    let raw = format!("{user}:{PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// µs per `runs/get` over `n` requests after a warm-up, on an app with auth `on` or off.
async fn time_app(dir: &std::path::Path, on: bool, n: usize) -> Result<f64, String> {
    let db = dir.join(if on { "on.db" } else { "off.db" });
    let mut cfg = ServerConfig::for_store(&format!("sqlite:///{}", db.display()));
    cfg.artifacts_destination = dir.join("artifacts").display().to_string();
    cfg.job_workers = 0;
    let mut st = harvester::server::build_state(cfg).await?;
    if on {
        let config = AuthConfig {
            default_permission: Permission::Read,
            admin_username: Some("admin".into()),
            admin_password: Some(PASSWORD.into()),
            authorization_function: "mlflow.server.auth:authenticate_request_basic_auth".into(),
            grant_default_workspace_access: false,
            form_secret: None,
        };
        st.auth = Some(Arc::new(Auth::new(config, None)));
        users::create(&st.db, "bench-user", PASSWORD, false).map_err(|e| e.message)?;
    }
    let svc = test::init_service(harvester::server::create_app(st)).await;
    // The Host the security middleware accepts (a test request has none).
    let with_user = |r: test::TestRequest| {
        let r = r.insert_header(("Host", "localhost"));
        if on {
            r.insert_header(("Authorization", basic("bench-user")))
        } else {
            r
        }
    };
    let post = |path: &str, body: serde_json::Value| {
        with_user(
            test::TestRequest::post()
                .uri(&format!("/api/2.0/mlflow/{path}"))
                .set_json(body),
        )
        .to_request()
    };
    let call = |req| async {
        let body = test::call_and_read_body(&svc, req).await;
        serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|_| format!("not JSON: {}", String::from_utf8_lossy(&body)))
    };
    let exp = call(post(
        "experiments/create",
        serde_json::json!({"name": format!("gate-{on}")}),
    ))
    .await?;
    let run = call(post(
        "runs/create",
        serde_json::json!({"experiment_id": exp["experiment_id"]}),
    ))
    .await?;
    let run_id = run["run"]["info"]["run_id"]
        .as_str()
        .ok_or_else(|| format!("no run: {run}"))?
        .to_string();
    let get = || {
        with_user(
            test::TestRequest::get().uri(&format!("/api/2.0/mlflow/runs/get?run_id={run_id}")),
        )
        .to_request()
    };
    for _ in 0..n / 10 {
        let r = test::call_service(&svc, get()).await;
        if !r.status().is_success() {
            return Err(format!("runs/get answered {}", r.status()));
        }
    }
    let t = Instant::now();
    for _ in 0..n {
        let r = test::call_service(&svc, get()).await;
        if !r.status().is_success() {
            return Err(format!("runs/get answered {}", r.status()));
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// The row: stock column = auth off, Harvester column = auth on, both in µs per request.
pub fn row(backend: &str, reps: usize, n: usize) -> Result<Row, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().to_path_buf();
    let times = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let mut out = Vec::new();
            for rep in 0..reps {
                let sub = path.join(format!("rep{rep}"));
                std::fs::create_dir_all(&sub).map_err(|e| e.to_string())?;
                // Alternate which goes first.
                let (a, b) = if rep % 2 == 0 {
                    (false, true)
                } else {
                    (true, false)
                };
                let ta = time_app(&sub, a, n).await?;
                let tb = time_app(&sub, b, n).await?;
                out.push(if a { (tb, ta) } else { (ta, tb) });
            }
            Ok::<_, String>(out)
        })
    })
    .join()
    .map_err(|_| "the gate measurement panicked".to_string())??;
    let mut row = Row::new(
        backend,
        "W11",
        &format!("gate cost in-process (no socket, no disk): runs/get × {n}, auth on vs off (stock column = off)"),
        "µs/req",
        false,
        "",
        "≥0.95×",
    );
    for (off, on) in times {
        for (harvester, v) in [(false, off), (true, on)] {
            row.add(
                harvester,
                &Measure {
                    value: v,
                    p99_ms: f64::NAN,
                    cpu_per_unit: f64::NAN,
                    errors: 0,
                    note: String::new(),
                },
            );
        }
    }
    Ok(row)
}
