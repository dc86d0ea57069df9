//! Databases Harvester did not lay out: refused before anything is touched.

use crate::backend_tests;
use crate::common::Backend;

/// A database laid out by `mlflow server` (or by anything else with MLflow-named tables) is refused with a
/// clear message before any migration runs, and left exactly as it was (it used to fail half-way with
/// "table experiments already exists").
async fn foreign_databases_are_refused(b: Backend) {
    use diesel::{Connection, RunQueryDsl};
    for (stock, want) in [
        (
            true,
            "created by `mlflow server` (alembic revision dc11669786a5",
        ),
        (false, "already has MLflow-named tables"),
    ] {
        let Some((uri, _guard)) = crate::common::fresh_store(b) else {
            return;
        };
        let mut ddl =
            vec!["CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)"];
        if stock {
            ddl.push("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)");
            ddl.push("INSERT INTO alembic_version VALUES ('dc11669786a5')");
        }
        let count_tables = match b {
            Backend::Sqlite => "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => {
                "SELECT count(*)::integer AS n FROM information_schema.tables WHERE table_schema = current_schema()"
            }
        };
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            n: i32,
        }
        let before = match b {
            Backend::Sqlite => {
                let path = uri.trim_start_matches("sqlite:///");
                let mut c = diesel::SqliteConnection::establish(path).unwrap();
                for s in &ddl {
                    diesel::sql_query(*s).execute(&mut c).unwrap();
                }
                diesel::sql_query(count_tables)
                    .get_result::<N>(&mut c)
                    .unwrap()
                    .n
            }
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&uri).unwrap();
                for s in &ddl {
                    diesel::sql_query(*s).execute(&mut c).unwrap();
                }
                diesel::sql_query(count_tables)
                    .get_result::<N>(&mut c)
                    .unwrap()
                    .n
            }
        };
        let cfg = harvester::config::ServerConfig::for_store(&uri);
        let err = match harvester::server::build_state(cfg).await {
            Ok(_) => panic!("a foreign database was opened"),
            Err(e) => e,
        };
        assert!(err.contains(want), "{err}");
        let after = match b {
            Backend::Sqlite => {
                let mut c =
                    diesel::SqliteConnection::establish(uri.trim_start_matches("sqlite:///"))
                        .unwrap();
                diesel::sql_query(count_tables)
                    .get_result::<N>(&mut c)
                    .unwrap()
                    .n
            }
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&uri).unwrap();
                diesel::sql_query(count_tables)
                    .get_result::<N>(&mut c)
                    .unwrap()
                    .n
            }
        };
        assert_eq!(before, after, "nothing was created in the foreign database");
    }
}

backend_tests!(foreign_databases_are_refused);
