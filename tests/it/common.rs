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
    _artifacts: tempfile::TempDir,
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
    app_with(b, configure, |_| {}).await
}

/// [`app`], with `adjust` given the state before the app is built (e.g. to turn auth on).
pub async fn app_with(
    b: Backend,
    configure: impl FnOnce(&mut ServerConfig),
    adjust: impl FnOnce(&mut harvester::service::AppState),
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
    cfg.serving.serving_dir = artifacts.path().join("serving").display().to_string();
    configure(&mut cfg);
    let mut state = harvester::server::build_state(cfg).await.expect("state");
    adjust(&mut state);
    let svc = test::init_service(harvester::server::create_app(state)).await;
    Some(TestApp {
        svc,
        _guard: guard,
        _artifacts: artifacts,
    })
}

/// [`app`] with MLflow's basic auth on: admin `admin` (created, with `password`) and `default`; the app and
/// its database (to create users and grants directly).
pub async fn app_with_auth(
    b: Backend,
    default: harvester::auth::Permission,
    password: &str,
) -> Option<(
    TestApp<
        impl Service<
            actix_http::Request,
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
        >,
    >,
    harvester::db::Db,
)> {
    app_with_auth_and(b, default, password, |_| {}).await
}

/// [`app_with_auth`], with the server's configuration adjusted first.
pub async fn app_with_auth_and(
    b: Backend,
    default: harvester::auth::Permission,
    password: &str,
    configure: impl FnOnce(&mut ServerConfig),
) -> Option<(
    TestApp<
        impl Service<
            actix_http::Request,
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
        >,
    >,
    harvester::db::Db,
)> {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let fill = slot.clone();
    let password_ = password.to_string();
    let t = app_with(b, configure, move |st| {
        let config = harvester::auth::AuthConfig {
            default_permission: default,
            admin_username: Some("admin".into()),
            admin_password: Some(password_),
            authorization_function: "mlflow.server.auth:authenticate_request_basic_auth".into(),
            grant_default_workspace_access: false,
            form_secret: None,
        };
        st.auth = Some(std::sync::Arc::new(harvester::auth::Auth::new(
            config, None,
        )));
        *fill.lock().unwrap() = Some(st.db.clone());
    })
    .await?;
    let db = slot.lock().unwrap().take().expect("the state was adjusted");
    harvester::auth::users::create(&db, "admin", password, true).expect("admin");
    Some((t, db))
}

impl<S, B> TestApp<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub async fn send(&self, req: test::TestRequest) -> (StatusCode, Value) {
        let resp = test::call_service(&self.svc, with_host(req)).await;
        let status = resp.status();
        let bytes = test::read_body(resp).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v)
    }

    /// Status, headers and raw body bytes.
    pub async fn raw(
        &self,
        req: test::TestRequest,
    ) -> (
        u16,
        std::collections::HashMap<String, String>,
        actix_web::web::Bytes,
    ) {
        let resp = test::call_service(&self.svc, with_host(req)).await;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        (status, headers, test::read_body(resp).await)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let req = test::TestRequest::post()
            .uri(&format!("/api/2.0/mlflow/{path}"))
            .set_json(body);
        self.send(req).await
    }

    /// Any method with a JSON body on `/api/2.0/mlflow/<path>` (PATCH and DELETE routes take bodies).
    pub async fn call(
        &self,
        method: actix_web::http::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let req = test::TestRequest::default()
            .method(method)
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

/// The request with `Host: localhost:5000` unless the test set one (every HTTP/1.1 client sends it, and
/// the server refuses requests whose Host it does not serve).
pub fn with_host(req: test::TestRequest) -> actix_http::Request {
    let mut r = req.to_request();
    if !actix_web::HttpMessage::headers(&r).contains_key(actix_web::http::header::HOST) {
        r.headers_mut().insert(
            actix_web::http::header::HOST,
            actix_web::http::header::HeaderValue::from_static("localhost:5000"),
        );
    }
    r
}

/// The `key`s of a list of `{key, value}` entries (params, tags, metrics), in the order given.
pub fn keys(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["key"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
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

/// Where a test's proxied artifacts are stored: a local temp dir, or a fresh bucket on the S3 test server
/// named by the standard AWS environment (`MLFLOW_S3_ENDPOINT_URL` or `AWS_ENDPOINT_URL`).
pub enum Stored {
    Local(tempfile::TempDir),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Arts {
    Local,
    S3,
}

/// Artifacts sit under this prefix (S3) or folder (local) of the store, so that writes outside it show.
pub const ARTIFACT_ROOT: &str = "mlartifacts";

/// A client for the S3 test server, or `None` (skip) when none is configured outside CI.
pub async fn s3_test_client() -> Option<aws_sdk_s3::Client> {
    let endpoint = std::env::var("MLFLOW_S3_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok();
    let Some(endpoint) = endpoint else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set MLFLOW_S3_ENDPOINT_URL so S3 tests run"
        );
        eprintln!("skipping: MLFLOW_S3_ENDPOINT_URL is not set");
        return None;
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true);
    Some(aws_sdk_s3::Client::from_conf(conf.build()))
}

impl Stored {
    pub async fn new(a: Arts) -> Option<Stored> {
        match a {
            Arts::Local => Some(Stored::Local(tempfile::tempdir().expect("tempdir"))),
            Arts::S3 => {
                let client = s3_test_client().await?;
                let bucket = format!("hv-{}", uuid::Uuid::new_v4().simple());
                client
                    .create_bucket()
                    .bucket(&bucket)
                    .send()
                    .await
                    .expect("create test bucket");
                Some(Stored::S3 { client, bucket })
            }
        }
    }

    /// The `--artifacts-destination` value.
    pub fn destination(&self) -> String {
        match self {
            Stored::Local(d) => d.path().join(ARTIFACT_ROOT).display().to_string(),
            Stored::S3 { bucket, .. } => format!("s3://{bucket}/{ARTIFACT_ROOT}"),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Stored::S3 { .. })
    }

    /// Every file (object) in the whole store directory (bucket), relative to it, sorted.
    pub async fn everything(&self) -> Vec<String> {
        match self {
            Stored::Local(d) => files_under(d.path()),
            Stored::S3 { client, bucket } => {
                let mut out = Vec::new();
                let mut token = None;
                loop {
                    let page = client
                        .list_objects_v2()
                        .bucket(bucket)
                        .set_continuation_token(token)
                        .send()
                        .await
                        .expect("list test bucket");
                    out.extend(
                        page.contents()
                            .iter()
                            .filter_map(|o| o.key().map(String::from)),
                    );
                    token = page.next_continuation_token().map(String::from);
                    if token.is_none() {
                        break;
                    }
                }
                out.sort();
                out
            }
        }
    }

    /// The files under the artifact root, relative to it.
    pub async fn files(&self) -> Vec<String> {
        let prefix = format!("{ARTIFACT_ROOT}/");
        self.everything()
            .await
            .into_iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(String::from))
            .collect()
    }
}

/// Configuration that stores artifacts at `dest`, then applies `f`.
pub fn with_destination(
    dest: String,
    f: impl FnOnce(&mut ServerConfig),
) -> impl FnOnce(&mut ServerConfig) {
    move |c| {
        c.artifacts_destination = dest;
        f(c)
    }
}

/// Every file under `dir`, relative, sorted (directories are not listed).
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `let (t, store) = app_on!(b, arts);` — the app with its proxied artifacts on a fresh local dir or S3
/// bucket (plus any extra configuration), or return early when that store is not configured.
#[macro_export]
macro_rules! app_on {
    ($b:expr, $a:expr) => {
        $crate::app_on!($b, $a, |_| {})
    };
    ($b:expr, $a:expr, $configure:expr) => {{
        let Some(store) = $crate::common::Stored::new($a).await else {
            return;
        };
        let t = $crate::app!(
            $b,
            $crate::common::with_destination(store.destination(), $configure)
        );
        (t, store)
    }};
}

/// Generate `local_sqlite::<name>`, `local_postgres::<name>` and `s3::<name>` (SQLite) tests from
/// `async fn <name>(b: Backend, a: Arts)`.
#[macro_export]
macro_rules! artifact_tests {
    ($($name:ident),* $(,)?) => {
        mod local_sqlite {
            $(#[actix_web::test] async fn $name() { super::$name($crate::common::Backend::Sqlite, $crate::common::Arts::Local).await })*
        }
        mod local_postgres {
            $(#[actix_web::test] async fn $name() { super::$name($crate::common::Backend::Postgres, $crate::common::Arts::Local).await })*
        }
        mod s3 {
            $(#[actix_web::test] async fn $name() { super::$name($crate::common::Backend::Sqlite, $crate::common::Arts::S3).await })*
        }
    };
}

/// An `Authorization: Basic` value for `user` and `password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}
