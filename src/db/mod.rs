//! Database access: one pool enum over SQLite and PostgreSQL, chosen from the backend-store URI.
//!
//! Generic diesel code is written once and expanded for each backend by [`db_read!`] and [`db_write!`]
//! (the vaultwarden pattern). SQLite writes go through one in-process writer connection with group
//! commit (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing with "database is locked",
//! and share an fsync.

pub mod cancel;
pub mod columns;
mod foreign;
pub use foreign::MLFLOW_ALEMBIC_HEAD;
pub mod group_commit;
pub mod harvester;
pub mod insert;
pub mod models;
pub mod schema;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use group_commit::GroupWriter;

use crate::error::ApiResult;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// Which SQL dialect a pool speaks; the search SQL builder needs it for placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub enum Conn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Postgres(cancel::PgConn),
}

/// Where a write goes: SQLite's group-commit writer, or a pooled PostgreSQL connection.
pub enum Writer<'a> {
    Sqlite(&'a GroupWriter),
    Postgres(PooledConnection<ConnectionManager<PgConnection>>),
}

#[derive(Clone)]
enum PoolKind {
    /// Readers' pool, and the one writer connection shared by concurrent writes (see [`group_commit`]).
    Sqlite(Pool<ConnectionManager<SqliteConnection>>, Arc<GroupWriter>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// The shared database handle (cheap to clone).
#[derive(Clone)]
pub struct Db {
    pool: PoolKind,
    pub dialect: Dialect,
    freshness: std::sync::Arc<stats::Freshness>,
}

/// A backend-store URI resolved to a concrete connection target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    Sqlite(String),
    Postgres(String),
}

/// Parse an MLflow-style backend store URI (`sqlite:///path.db`, `postgresql://…`, `postgresql+psycopg2://…`).
pub fn parse_store_uri(uri: &str) -> Result<StoreTarget, String> {
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| {
        format!("Invalid backend store URI '{uri}': expected sqlite:///<path> or postgresql://…")
    })?;
    let base = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    match base.as_str() {
        "sqlite" => {
            // sqlite:///relative.db -> "relative.db"; sqlite:////abs.db -> "/abs.db"; sqlite:// -> memory
            let path = rest.strip_prefix('/').unwrap_or(rest);
            if path.is_empty() || path == ":memory:" {
                Ok(StoreTarget::Sqlite(format!(
                    "file:harvester-{}?mode=memory&cache=shared",
                    uuid::Uuid::new_v4().simple()
                )))
            } else {
                Ok(StoreTarget::Sqlite(path.to_string()))
            }
        }
        "postgresql" | "postgres" => Ok(StoreTarget::Postgres(format!("postgresql://{rest}"))),
        other => Err(format!(
            "Invalid backend store URI '{uri}': unsupported scheme '{other}'. Supported schemes: sqlite, postgresql"
        )),
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 8000;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Per-connection PostgreSQL settings: the statement timeout that frees a connection from a runaway query,
/// and no JIT: a search's cost estimate crosses `jit_above_cost`, and compiling it took 17 ms of a 110 ms
/// W4 page (BENCHMARKS.md, issue 16) for queries that run in milliseconds without it.
#[derive(Debug)]
struct PgSession {
    statement_timeout_ms: u128,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PgSession {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET statement_timeout = {}; SET jit = off",
            self.statement_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Db {
    /// Open the pool for `uri` and run the embedded migrations for its backend (`statement_timeout`:
    /// PostgreSQL's, zero for none).
    pub fn connect(uri: &str, pool_size: u32, statement_timeout: Duration) -> Result<Db, String> {
        match parse_store_uri(uri)? {
            StoreTarget::Sqlite(path) => {
                let manager = ConnectionManager::<SqliteConnection>::new(path.clone());
                let pool = Pool::builder()
                    .max_size(pool_size.max(2))
                    .connection_timeout(Duration::from_secs(30))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)
                    .map_err(|e| format!("Cannot open SQLite database '{path}': {e}"))?;
                let mut conn = pool
                    .get()
                    .map_err(|e| format!("Cannot open SQLite database '{path}': {e}"))?;
                foreign::prepare_schema(
                    &mut *conn,
                    "SELECT name FROM sqlite_master WHERE type = 'table'",
                    "SQLite",
                )?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(|e| format!("SQLite migrations failed: {e}"))?;
                drop(conn);
                let writer = GroupWriter::new(move || {
                    let mut c = SqliteConnection::establish(&path)
                        .map_err(|e| format!("Cannot open SQLite database '{path}': {e}"))?;
                    SqlitePragmas
                        .on_acquire(&mut c)
                        .map_err(|e| format!("Cannot configure SQLite database: {e}"))?;
                    Ok(c)
                })?;
                let writer = Arc::new(writer);
                spawn_checkpointer(pool.clone(), Arc::downgrade(&writer));
                Ok(Db {
                    freshness: Default::default(),
                    pool: PoolKind::Sqlite(pool, writer),
                    dialect: Dialect::Sqlite,
                })
            }
            StoreTarget::Postgres(url) => {
                let manager = ConnectionManager::<PgConnection>::new(url.clone());
                let pool = Pool::builder()
                    .max_size(pool_size.max(2))
                    .connection_timeout(Duration::from_secs(10))
                    .connection_customizer(Box::new(PgSession {
                        statement_timeout_ms: statement_timeout.as_millis(),
                    }))
                    .build(manager)
                    .map_err(|e| {
                        format!("Cannot connect to PostgreSQL at '{}': {e}", redact(&url))
                    })?;
                let mut conn = pool.get().map_err(|e| {
                    format!("Cannot connect to PostgreSQL at '{}': {e}", redact(&url))
                })?;
                foreign::prepare_schema(
                    &mut *conn,
                    "SELECT table_name AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                    "PostgreSQL",
                )?;
                conn.run_pending_migrations(PG_MIGRATIONS)
                    .map_err(|e| format!("PostgreSQL migrations failed: {e}"))?;
                Ok(Db {
                    freshness: Default::default(),
                    pool: PoolKind::Postgres(pool),
                    dialect: Dialect::Postgres,
                })
            }
        }
    }

    /// A connection for reading.
    pub fn read(&self) -> ApiResult<Conn> {
        if cancel::abandoned() {
            return Err(crate::error::ApiError::invalid(
                "The request was abandoned by its client before its search started",
            ));
        }
        let waited = std::time::Instant::now();
        let conn = match &self.pool {
            PoolKind::Sqlite(p, _) => Conn::Sqlite(p.get()?),
            PoolKind::Postgres(p) => Conn::Postgres(cancel::PgConn::new(p.get()?)),
        };
        crate::monitoring::pool_wait(waited.elapsed().as_secs_f64());
        Ok(conn)
    }

    /// Where a write goes; [`db_write!`] wraps it in a transaction.
    pub fn writer(&self) -> ApiResult<Writer<'_>> {
        Ok(match &self.pool {
            PoolKind::Sqlite(_, w) => Writer::Sqlite(w),
            PoolKind::Postgres(p) => {
                let waited = std::time::Instant::now();
                let conn = p.get()?;
                crate::monitoring::pool_wait(waited.elapsed().as_secs_f64());
                Writer::Postgres(conn)
            }
        })
    }

    /// A PostgreSQL connection for out-of-band work (cancelling another query); `None` on SQLite or when
    /// none is free within a second.
    pub fn postgres_side_connection(
        &self,
    ) -> Option<PooledConnection<ConnectionManager<PgConnection>>> {
        match &self.pool {
            PoolKind::Postgres(p) => p.get_timeout(Duration::from_secs(1)).ok(),
            PoolKind::Sqlite(..) => None,
        }
    }

    /// The read pool's connections and how many of them are idle.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = match &self.pool {
            PoolKind::Sqlite(p, _) => p.state(),
            PoolKind::Postgres(p) => p.state(),
        };
        (s.connections, s.idle_connections)
    }

    /// How many connections the pool holds.
    pub fn pool_size(&self) -> u32 {
        match &self.pool {
            PoolKind::Sqlite(p, _) => p.max_size(),
            PoolKind::Postgres(p) => p.max_size(),
        }
    }

    /// Durability settings, for logs and benchmarks.
    pub fn describe(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => "sqlite (journal_mode=WAL, synchronous=FULL)".into(),
            Dialect::Postgres => "postgresql".into(),
        }
    }
}

/// Copy WAL frames into the database file from a background thread, off the writers' critical path (the
/// checkpoint a committing writer runs itself was 6% of the server's CPU under log-batch load).
/// Connections keep `wal_autocheckpoint = 8000` pages as a safety net if this thread falls behind;
/// it wakes 5 times a second and does nothing when no group was committed since its last pass.
fn spawn_checkpointer(
    pool: Pool<ConnectionManager<SqliteConnection>>,
    writer: std::sync::Weak<GroupWriter>,
) {
    let mut seen = 0;
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            // The thread ends with the database handle.
            let Some(commits) = writer.upgrade().map(|w| w.commits()) else {
                return;
            };
            if commits == seen {
                continue;
            }
            seen = commits;
            if let Ok(mut conn) = pool.get() {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!("background WAL checkpoint failed: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no background WAL checkpointer ({e}); SQLite checkpoints on commit");
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// The column that orders a table's rows as they were first stored: SQLite's `rowid`, PostgreSQL's
/// `ctid` (heap order). MLflow lists params and tags with no ORDER BY, so its clients see them in that
/// order; Harvester sorts by it explicitly.
pub trait InsertionOrder {
    const COLUMN: &'static str;
}
impl InsertionOrder for SqliteConnection {
    const COLUMN: &'static str = "rowid";
}
impl InsertionOrder for PgConnection {
    const COLUMN: &'static str = "ctid";
}

/// `ORDER BY <insertion order>` for the connection's backend (inside [`db_read!`] bodies).
pub fn insertion_order<C: InsertionOrder>(
    _conn: &C,
) -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql::<diesel::sql_types::BigInt>(C::COLUMN)
}

/// Run `$body` with `$conn: &mut <backend connection>` for whichever backend the pool holds.
#[macro_export]
macro_rules! db_read {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.read()? {
            $crate::db::Conn::Sqlite(mut pooled) => {
                let $conn = &mut *pooled;
                $body
            }
            $crate::db::Conn::Postgres(mut pooled) => {
                let $conn = &mut *pooled;
                $body
            }
        }
    };
}

/// Run `$body` inside a write transaction; it must return `ApiResult<T>`. On SQLite it runs in a savepoint
/// of a group-committed `BEGIN IMMEDIATE` transaction and returns once that is durable.
#[macro_export]
macro_rules! db_write {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.writer()? {
            $crate::db::Writer::Sqlite(w) => {
                w.run(|$conn| -> $crate::error::ApiResult<_> { $body })
            }
            $crate::db::Writer::Postgres(mut pooled) => diesel::Connection::transaction(
                &mut *pooled,
                |$conn| -> $crate::error::ApiResult<_> { $body },
            ),
        }
    };
}

/// Load rows of `$row` (a `QueryableByName`) from a [`crate::search::SqlBuf`] built at run time.
#[macro_export]
macro_rules! load_dynamic {
    ($conn:expr, $row:ty, $buf:expr) => {{
        let q = $crate::bind_dynamic!($buf);
        diesel::RunQueryDsl::load::<$row>(q, $conn)
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! bind_dynamic {
    ($buf:expr) => {{
        let mut q = diesel::sql_query($buf.sql.clone()).into_boxed();
        for b in &$buf.binds {
            q = match b {
                $crate::search::Bind::Text(s) => q.bind::<diesel::sql_types::Text, _>(s.clone()),
                $crate::search::Bind::OptText(s) => {
                    q.bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(s.clone())
                }
                $crate::search::Bind::Int(i) => q.bind::<diesel::sql_types::BigInt, _>(*i),
                $crate::search::Bind::Float(f) => q.bind::<diesel::sql_types::Double, _>(*f),
                $crate::search::Bind::Bool(v) => q.bind::<diesel::sql_types::Bool, _>(*v),
            };
        }
        q
    }};
}

#[cfg(test)]
mod tests {
    use super::{parse_store_uri, StoreTarget};

    #[test]
    fn store_uris() {
        assert_eq!(
            parse_store_uri("sqlite:///mlflow.db"),
            Ok(StoreTarget::Sqlite("mlflow.db".into()))
        );
        assert_eq!(
            parse_store_uri("sqlite:////abs/x.db"),
            Ok(StoreTarget::Sqlite("/abs/x.db".into()))
        );
        assert_eq!(
            parse_store_uri("postgresql+psycopg2://u:p@h:5432/db"),
            Ok(StoreTarget::Postgres("postgresql://u:p@h:5432/db".into()))
        );
        let err = parse_store_uri("mysql://u@h/db").unwrap_err();
        assert!(err.contains("unsupported scheme 'mysql'"), "{err}");
        assert!(parse_store_uri("mlflow.db").is_err());
    }
}
