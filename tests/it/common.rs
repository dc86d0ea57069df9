//! Test harness: a fresh database per test (SQLite temp file, or a new PostgreSQL database created from
//! `HARVESTER_TEST_PG_URL`), the real `create_app`, and small JSON request helpers.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use diesel::{Connection, PgConnection, RunQueryDsl};
use harvester::config::ServerConfig;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Holds the temp dir or the PostgreSQL database for as long as the test runs.
pub struct Guard {
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c);
            }
        }
    }
}

/// A backend-store URI on a fresh database, or `None` when PostgreSQL is not configured outside CI.
pub fn fresh_store(b: Backend) -> Option<(String, Guard)> {
    match b {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let uri = format!("sqlite:///{}", dir.path().join("t.db").display());
            Some((
                uri,
                Guard {
                    _dir: Some(dir),
                    pg: None,
                },
            ))
        }
        Backend::Postgres => {
            let Ok(admin) = std::env::var("HARVESTER_TEST_PG_URL") else {
                assert!(
                    std::env::var("CI").is_err(),
                    "CI must set HARVESTER_TEST_PG_URL so PostgreSQL tests run"
                );
                eprintln!("skipping: HARVESTER_TEST_PG_URL is not set");
                return None;
            };
            let name = format!("hv_it_{}", uuid::Uuid::new_v4().simple());
            let mut c =
                PgConnection::establish(&admin).expect("connect to the PostgreSQL admin URL");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin.clone());
            Some((
                format!("{base}/{name}"),
                Guard {
                    _dir: None,
                    pg: Some((admin, name)),
                },
            ))
        }
    }
}

pub struct TestApp<S> {
    svc: S,
    _guard: Guard,
    /// The proxied artifact store's root (`--artifacts-destination`), fresh per test.
    pub artifacts: tempfile::TempDir,
}

/// Start the app on a fresh database of backend `b`; `None` means "skip" (PostgreSQL not configured).
pub async fn app(
    b: Backend,
    configure: impl FnOnce(&mut ServerConfig),
) -> Option<
    TestApp<
        impl Service<
            actix_http::Request,
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
        >,
    >,
> {
    let (uri, guard) = fresh_store(b)?;
    let mut cfg = ServerConfig::for_store(&uri);
    cfg.db_pool_size = 4;
    let artifacts = tempfile::tempdir().expect("tempdir");
    cfg.artifacts_destination = artifacts.path().join("mlartifacts").display().to_string();
    configure(&mut cfg);
    let state = harvester::server::build_state(cfg).expect("state");
    let svc = test::init_service(harvester::server::create_app(state)).await;
    Some(TestApp {
        svc,
        _guard: guard,
        artifacts,
    })
}

impl<S, B> TestApp<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub async fn send(&self, req: test::TestRequest) -> (StatusCode, Value) {
        let resp = test::call_service(&self.svc, req.to_request()).await;
        let status = resp.status();
        let bytes = test::read_body(resp).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let req = test::TestRequest::post()
            .uri(&format!("/api/2.0/mlflow/{path}"))
            .set_json(body);
        self.send(req).await
    }

    pub async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.send(test::TestRequest::get().uri(&format!("/api/2.0/mlflow/{path_and_query}")))
            .await
    }

    /// POST that must succeed; returns the body.
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body.clone()).await;
        let shown: String = body.to_string().chars().take(300).collect();
        assert_eq!(s, StatusCode::OK, "{path} {shown} -> {v}");
        v
    }

    pub async fn ok_get(&self, pq: &str) -> Value {
        let (s, v) = self.get(pq).await;
        assert_eq!(s, StatusCode::OK, "{pq} -> {v}");
        v
    }

    pub async fn create_experiment(&self, name: &str) -> String {
        self.ok("experiments/create", serde_json::json!({"name": name}))
            .await["experiment_id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    pub async fn create_run(&self, exp: &str) -> String {
        let v = self
            .ok(
                "runs/create",
                serde_json::json!({"experiment_id": exp, "start_time": 1000}),
            )
            .await;
        v["run"]["info"]["run_id"]
            .as_str()
            .expect("run id")
            .to_string()
    }
}

/// Assert an MLflow error: HTTP status and `error_code`.
pub fn assert_err(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "status of {}", got.1);
    assert_eq!(got.1["error_code"], code, "error_code of {}", got.1);
    assert!(
        got.1["message"]
            .as_str()
            .map(|m| !m.is_empty())
            .unwrap_or(false),
        "message of {}",
        got.1
    );
}

/// Generate `sqlite::<name>` and `postgres::<name>` tests from `async fn <name>(b: Backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[actix_web::test] async fn $name() { super::$name($crate::common::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[actix_web::test] async fn $name() { super::$name($crate::common::Backend::Postgres).await })*
        }
    };
}

/// `let t = app!(b);` — the app, or return early when the backend is not configured.
#[macro_export]
macro_rules! app {
    ($b:expr) => {
        $crate::app!($b, |_| {})
    };
    ($b:expr, $configure:expr) => {
        match $crate::common::app($b, $configure).await {
            Some(t) => t,
            None => return,
        }
    };
}
