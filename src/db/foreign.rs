//! Opening databases Harvester did not lay out. Harvester's schema is MLflow 3.17.2's (its first migration
//! is MLflow's own DDL at the alembic head), so a database made by `mlflow server` 3.17.2 is adopted: its
//! first migration is recorded as applied and Harvester's additions run on top. Anything else (an older
//! or newer MLflow schema, a pre-release Harvester layout, foreign tables) is refused before a migration
//! runs, and left untouched.

use diesel::RunQueryDsl;

/// MLflow 3.17.2's alembic head.
pub const MLFLOW_ALEMBIC_HEAD: &str = "dc11669786a5";

/// The version diesel records for the first migration (`2026-12-02-000001_mlflow_3_17_2`).
const MLFLOW_SCHEMA_MIGRATION: &str = "20261202000001";

/// Versions of the schema Harvester used before it adopted MLflow's (never released).
const PRE_MLFLOW_SCHEMA: &str = "20261126000001";

#[derive(diesel::QueryableByName)]
pub(super) struct TableName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
pub(super) struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// Check the database before the migrations run, and adopt a stock MLflow 3.17.2 database.
pub(super) fn prepare_schema<C>(conn: &mut C, tables_sql: &str, what: &str) -> Result<(), String>
where
    C: diesel::Connection,
    C::Backend: diesel::backend::Backend,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, TableName>
        + diesel::query_dsl::LoadQuery<'static, C, Version>
        + diesel::query_dsl::methods::ExecuteDsl<C>,
{
    let tables: Vec<TableName> = diesel::sql_query(tables_sql)
        .load(conn)
        .map_err(|e| format!("Cannot inspect the {what} database: {e}"))?;
    let has = |t: &str| tables.iter().any(|n| n.name == t);
    let versions = |conn: &mut C, sql: &str| -> Vec<String> {
        let rows: Vec<Version> = diesel::sql_query(sql).load(conn).unwrap_or_default();
        rows.into_iter().map(|v| v.version).collect()
    };
    let ours = has("__diesel_schema_migrations");
    if ours {
        let applied = versions(conn, "SELECT version FROM __diesel_schema_migrations");
        if applied.iter().any(|v| v == PRE_MLFLOW_SCHEMA) {
            return Err(format!(
                "This {what} database was made by a pre-release Harvester build whose schema was not \
                 MLflow's; Harvester has changed nothing. Point --backend-store-uri at a new database."
            ));
        }
    }
    if has("alembic_version") {
        let rev = versions(conn, "SELECT version_num AS version FROM alembic_version");
        let rev = rev.first().map_or("none", String::as_str);
        if rev != MLFLOW_ALEMBIC_HEAD {
            return Err(format!(
                "This {what} database has MLflow schema revision {rev}, not MLflow 3.17.2's \
                 ({MLFLOW_ALEMBIC_HEAD}). An older database needs `mlflow db upgrade <uri>` with \
                 mlflow==3.17.2 first; a newer one cannot be opened by this Harvester. Nothing was changed."
            ));
        }
        if !ours {
            // MLflow 3.17.2's own database: its tables are exactly the first migration's.
            for sql in [
                "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY \
                 NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                &format!(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ('{MLFLOW_SCHEMA_MIGRATION}')"
                ),
            ] {
                diesel::sql_query(sql)
                    .execute(conn)
                    .map_err(|e| format!("Cannot adopt the MLflow {what} database: {e}"))?;
            }
            tracing::info!("adopted an MLflow 3.17.2 {what} database");
        }
        return Ok(());
    }
    if !ours && (has("experiments") || has("runs")) {
        return Err(format!(
            "This {what} database already has MLflow-named tables (experiments, runs) but neither \
             MLflow's alembic_version nor Harvester's migrations; Harvester has changed nothing. Point \
             --backend-store-uri at a new database."
        ));
    }
    Ok(())
}
