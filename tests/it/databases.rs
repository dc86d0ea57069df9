//! Databases Harvester did not lay out: MLflow 3.17.2's own is adopted and served; anything else is
//! refused before anything is touched. (The round trip with the real stock server is in
//! `compat-tests/test_existing_databases.py`.)

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use crate::backend_tests;
use crate::common::Backend;

/// MLflow 3.17.2's DDL: the first migration of each tree, generated from stock by `scripts/stock-schema.sh`.
fn stock_ddl(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => {
            include_str!("../../migrations/sqlite/2026-12-02-000001_mlflow_3_17_2/up.sql")
        }
        Backend::Postgres => {
            include_str!("../../migrations/postgresql/2026-12-02-000001_mlflow_3_17_2/up.sql")
        }
    }
}

fn run_sql(b: Backend, uri: &str, sql: &str) {
    match b {
        Backend::Sqlite => {
            diesel::SqliteConnection::establish(uri.trim_start_matches("sqlite:///"))
                .unwrap()
                .batch_execute(sql)
                .unwrap()
        }
        Backend::Postgres => diesel::PgConnection::establish(uri)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
    }
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    n: i32,
}

/// Wait (up to `secs`) until no job matching `filter` is queued or running. A handler writes its result
/// and the worker then records the job's state in a second write: a test that saw the result waits
/// for the job here before counting it.
pub async fn jobs_settled(b: Backend, uri: &str, filter: &str, secs: u64) {
    let open = format!(
        "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE ({filter}) AND state IN ('queued', 'running')"
    );
    let t0 = std::time::Instant::now();
    while count(b, uri, &open) > 0 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(secs),
            "jobs matching {filter} did not settle"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub fn count(b: Backend, uri: &str, sql: &str) -> i32 {
    match b {
        Backend::Sqlite => {
            let mut c =
                diesel::SqliteConnection::establish(uri.trim_start_matches("sqlite:///")).unwrap();
            diesel::sql_query(sql).get_result::<N>(&mut c).unwrap().n
        }
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(uri).unwrap();
            diesel::sql_query(sql).get_result::<N>(&mut c).unwrap().n
        }
    }
}

fn tables_sql(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "SELECT count(*) AS n FROM sqlite_master",
        Backend::Postgres => {
            "SELECT count(*)::integer AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace \
             WHERE s.nspname = current_schema()"
        }
    }
}

/// A database in MLflow 3.17.2's schema, with rows as older MLflow versions left them (NULL creation
/// times, a run without name or user, a tag without value), opens and is served; Harvester's own
/// additions are applied on top of it.
async fn mlflow_databases_are_adopted(b: Backend) {
    let Some((uri, _guard)) = crate::common::fresh_store(b) else {
        return;
    };
    run_sql(b, &uri, stock_ddl(b));
    run_sql(
        b,
        &uri,
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) \
         VALUES (0, 'Default', '/tmp/stock/0', 'active'), (7, 'old', '/tmp/stock/7', 'active');
         INSERT INTO runs (run_uuid, status, start_time, lifecycle_stage, artifact_uri, experiment_id) \
         VALUES ('0123456789abcdef0123456789abcdef', 'FINISHED', 5, 'active', '/tmp/stock/7/r/artifacts', 7);
         INSERT INTO tags (key, value, run_uuid) VALUES ('empty', NULL, '0123456789abcdef0123456789abcdef');
         INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) \
         VALUES ('loss', 0, 3, '0123456789abcdef0123456789abcdef', 1, true);
         INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
         VALUES ('loss', 0, NULL, 1, true, '0123456789abcdef0123456789abcdef');
         INSERT INTO registered_models (name) VALUES ('legacy');
         INSERT INTO model_versions (name, version, current_stage, source, status) \
         VALUES ('legacy', 1, 'Production', '/tmp/stock/model', 'READY');",
    );
    let cfg = harvester::config::ServerConfig::for_store(&uri);
    let st = harvester::server::build_state(cfg)
        .await
        .unwrap_or_else(|e| panic!("an MLflow 3.17.2 database was refused: {e}"));
    let exp = harvester::service::experiments::get(&st, "7").unwrap();
    assert_eq!((exp.name.as_str(), exp.creation_time), ("old", 0));
    let run = harvester::service::runs::get(&st, "0123456789abcdef0123456789abcdef").unwrap();
    assert_eq!(run.info.run_name, "");
    assert!(
        run.data.metrics[0].value.is_nan(),
        "is_nan as MLflow stores it"
    );
    assert_eq!(
        run.data.tags[0].value, "",
        "a NULL tag value reads as empty"
    );
    let model = harvester::service::registered_models::get(&st, "legacy").unwrap();
    assert_eq!(model.latest_versions[0].current_stage, "Production");
    drop(st);
    let applied = count(
        b,
        &uri,
        "SELECT CAST(count(*) AS INTEGER) AS n FROM __diesel_schema_migrations",
    );
    let ours = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("migrations")
        .count() as i32;
    assert_eq!(
        applied, ours,
        "MLflow's schema recorded as the first migration, Harvester's additions run"
    );
}

/// Anything but MLflow 3.17.2's schema is refused with a clear message before any migration runs, and left
/// exactly as it was: an older MLflow schema (run `mlflow db upgrade` first), MLflow-named tables without
/// alembic, and the layout of pre-release Harvester builds.
async fn foreign_databases_are_refused(b: Backend) {
    let older = stock_ddl(b).replace("'dc11669786a5'", "'0584bdc529eb'");
    let cases: [(&str, &str); 3] = [
        (&older, "needs `mlflow db upgrade <uri>` with mlflow==3.17.2 first"),
        (
            "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)",
            "already has MLflow-named tables",
        ),
        (
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP \
             NOT NULL DEFAULT CURRENT_TIMESTAMP); INSERT INTO __diesel_schema_migrations (version) VALUES \
             ('20261126000001'); CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)",
            "pre-release Harvester build",
        ),
    ];
    for (ddl, want) in cases {
        let Some((uri, _guard)) = crate::common::fresh_store(b) else {
            return;
        };
        run_sql(b, &uri, ddl);
        let before = count(b, &uri, tables_sql(b));
        let cfg = harvester::config::ServerConfig::for_store(&uri);
        let err = match harvester::server::build_state(cfg).await {
            Ok(_) => panic!("a foreign database was opened ({want})"),
            Err(e) => e,
        };
        assert!(err.contains(want), "{err}");
        assert_eq!(
            before,
            count(b, &uri, tables_sql(b)),
            "nothing was created in the foreign database"
        );
    }
}

/// MLflow keys registry tags and aliases by (workspace, …), a column Harvester leaves to its default; the
/// upserts name it as their conflict target, so writers racing to set the same new tag or alias all
/// succeed (an update-then-insert let the loser fail with a unique violation on PostgreSQL).
async fn concurrent_registry_upserts(b: Backend) {
    let Some((uri, _guard)) = crate::common::fresh_store(b) else {
        return;
    };
    let cfg = harvester::config::ServerConfig::for_store(&uri);
    let st = harvester::server::build_state(cfg).await.unwrap();
    let req: harvester::types::registry_requests::CreateRegisteredModel =
        serde_json::from_value(serde_json::json!({"name": "race"})).unwrap();
    harvester::service::registered_models::create(&st, &req).unwrap();
    let rounds = 20;
    for round in 0..rounds {
        let key = Some(format!("k{round}"));
        let start = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (st, key, start) = (st.clone(), key.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    harvester::service::registered_models::set_tag(
                        &st,
                        "race",
                        &key,
                        &Some(format!("v{i}")),
                    )
                })
            })
            .collect();
        for h in handles {
            h.join()
                .unwrap()
                .unwrap_or_else(|e| panic!("a racing set-tag failed: {e:?}"));
        }
    }
    let model = harvester::service::registered_models::get(&st, "race").unwrap();
    assert_eq!(model.tags.len(), rounds, "one row per key");
}

backend_tests!(
    mlflow_databases_are_adopted,
    foreign_databases_are_refused,
    concurrent_registry_upserts
);
