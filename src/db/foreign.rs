//! Databases Harvester did not lay out (one made by `mlflow server`, or any with MLflow-named tables but
//! no Harvester migrations) are refused before a migration runs, and left untouched.

/// MLflow 3.17.2's alembic head.
pub const MLFLOW_ALEMBIC_HEAD: &str = "dc11669786a5";

#[derive(diesel::QueryableByName)]
pub(super) struct TableName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
pub(super) struct AlembicVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version_num: String,
}

/// Refuse, before any migration runs, a database that another program laid out: one made by `mlflow
/// server` (it has `alembic_version`), or one with MLflow-named tables but no Harvester migrations.
/// Running the migrations there failed with "table experiments already exists", and could have mixed
/// two schemas in one database.
pub(super) fn check_foreign_schema<C>(
    conn: &mut C,
    tables_sql: &str,
    what: &str,
) -> Result<(), String>
where
    C: diesel::Connection,
    C::Backend: diesel::backend::Backend,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, TableName>
        + diesel::query_dsl::LoadQuery<'static, C, AlembicVersion>,
{
    use diesel::RunQueryDsl;
    let tables: Vec<TableName> = diesel::sql_query(tables_sql)
        .load(conn)
        .map_err(|e| format!("Cannot inspect the {what} database: {e}"))?;
    let has = |t: &str| tables.iter().any(|n| n.name == t);
    if has("__diesel_schema_migrations") {
        return Ok(());
    }
    if has("alembic_version") {
        let rev: Vec<AlembicVersion> = diesel::sql_query("SELECT version_num FROM alembic_version")
            .load(conn)
            .unwrap_or_default();
        let rev = rev.first().map_or("none", |r| r.version_num.as_str());
        let age = if rev == MLFLOW_ALEMBIC_HEAD {
            "MLflow 3.17.2's schema".to_string()
        } else {
            format!(
                "an MLflow schema other than 3.17.2's ({MLFLOW_ALEMBIC_HEAD}; an older database needs \
                 `mlflow db upgrade` first)"
            )
        };
        return Err(format!(
            "This {what} database was created by `mlflow server` (alembic revision {rev}: {age}). \
             Harvester cannot open MLflow's own schema yet and has changed nothing; point \
             --backend-store-uri at a new database."
        ));
    }
    if has("experiments") || has("runs") {
        return Err(format!(
            "This {what} database already has MLflow-named tables (experiments, runs) but no Harvester \
             migrations; Harvester has changed nothing. Point --backend-store-uri at a new database."
        ));
    }
    Ok(())
}
