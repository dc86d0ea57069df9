//! The durable job queue. Every background task (EvalAI pulls and polls, scans, webhook deliveries) is a
//! row of `harvester_jobs`: written in the transaction of the change that asks for it, claimed under a
//! lease that its worker keeps renewing, retried with backoff, and finished once. A worker killed with
//! `kill -9` leaves its lease to run out; any replica then claims the job again, so handlers are written to
//! be idempotent and every job completes, once, across restarts and replicas.
//!
//! Jobs that share a `key` never run at the same time (the claim skips a key whose job holds a live
//! lease), and a new job is merged into a queued one with its key: ten identical signals make one run.

pub mod worker;

use std::time::Duration;

use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use diesel::QueryableByName;

use crate::db::insert::InsertRows;
use crate::db::{Db, Dialect};
use crate::error::{ApiError, ApiResult};
use crate::search::Bind;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub key: Option<String>,
    pub payload: serde_json::Value,
    pub delay: Duration,
    pub max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind,
            key: None,
            payload,
            delay: Duration::ZERO,
            max_attempts: 10,
        }
    }

    /// Jobs with one key run one at a time, and a queued one absorbs new ones.
    pub fn key(mut self, key: impl Into<String>) -> NewJob {
        self.key = Some(key.into());
        self
    }

    pub fn delay(mut self, d: Duration) -> NewJob {
        self.delay = d;
        self
    }
}

/// A claimed job, handed to its handler.
#[derive(Debug, Clone, QueryableByName)]
pub struct Job {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub dedupe_key: Option<String>,
    #[diesel(sql_type = Text)]
    pub payload: String,
    /// 1 on the first run.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

impl Job {
    /// The workspace the job was enqueued in (`None`: workspaces off, or `default`).
    pub fn workspace(&self) -> Option<std::sync::Arc<str>> {
        let v: serde_json::Value = serde_json::from_str(&self.payload).ok()?;
        v.get(WORKSPACE_FIELD)?.as_str().map(std::sync::Arc::from)
    }

    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.payload)
            .map_err(|e| JobError::permanent(format!("bad payload for {}: {e}", self.kind)))
    }
}

/// Why a run of a job did not succeed.
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    /// Retrying cannot help (a 404, a refused file): the job fails now.
    pub permanent: bool,
    /// Wait at least this long before the next attempt (an HTTP 429's `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            permanent: false,
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            permanent: true,
            retry_after: None,
        }
    }
}

impl From<ApiError> for JobError {
    /// Server-side trouble (5xx: the database busy, storage down) is worth retrying; a request the
    /// tracking rules refuse (4xx) will be refused again.
    fn from(e: ApiError) -> JobError {
        let status = e.status.unwrap_or_else(|| e.code.status());
        JobError {
            permanent: status.is_client_error(),
            message: e.message,
            retry_after: None,
        }
    }
}

/// The payload field naming a job's workspace.
const WORKSPACE_FIELD: &str = "_workspace";

/// Put `job` in the queue inside the caller's write transaction (so it commits, or not, with the change
/// that asks for it). A job whose key is already queued is merged into that one.
pub fn enqueue_in<C: InsertRows>(conn: &mut C, job: &NewJob) -> ApiResult<()> {
    let now = crate::service::now_ms();
    // The job runs in the workspace it was asked for in (its key, too, is that workspace's).
    let (mut key, mut payload) = (job.key.clone(), job.payload.clone());
    if let Some(ws) = crate::workspace::current().filter(|w| &**w != crate::workspace::DEFAULT) {
        key = key.map(|k| format!("{ws}/{k}"));
        if let Some(o) = payload.as_object_mut() {
            o.insert(WORKSPACE_FIELD.into(), ws.to_string().into());
        }
    }
    let row = vec![
        Bind::Text(job.kind.to_string()),
        Bind::OptText(key),
        Bind::Text(payload.to_string()),
        Bind::Text("queued".into()),
        Bind::Int(0),
        Bind::Int(job.max_attempts.into()),
        Bind::Int(now + job.delay.as_millis() as i64),
        Bind::Int(now),
        Bind::Int(now),
    ];
    conn.insert_rows(
        "harvester_jobs",
        &[
            "kind",
            "dedupe_key",
            "payload",
            "state",
            "attempts",
            "max_attempts",
            "run_after",
            "created_at",
            "updated_at",
        ],
        &[row],
        // A merged signal is due as soon as the earlier of the two, with the newer payload.
        "ON CONFLICT (dedupe_key) WHERE state = 'queued' DO UPDATE SET payload = excluded.payload, \
         run_after = CASE WHEN excluded.run_after < harvester_jobs.run_after \
         THEN excluded.run_after ELSE harvester_jobs.run_after END",
    )?;
    Ok(())
}

/// The queue as one process sees it: its worker identity, the lease it takes, and the bell that wakes
/// its workers when it enqueues something itself.
pub struct Queue {
    db: Db,
    owner: String,
    lease: Duration,
    bell: tokio::sync::Notify,
    /// Set on shutdown: workers take no new job, finish the one they run, and end.
    stopping: std::sync::atomic::AtomicBool,
    workers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Queue {
    pub fn new(db: Db, lease: Duration) -> Queue {
        Queue {
            db,
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            lease,
            bell: tokio::sync::Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            workers: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Begin shutdown: no worker takes another job (idle ones wake to see it).
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.bell.notify_waiters();
    }

    pub(crate) fn adopt(&self, handle: tokio::task::JoinHandle<()>) {
        if let Ok(mut w) = self.workers.lock() {
            w.push(handle);
        }
    }

    /// Stop, and wait up to `grace` for the jobs in flight to finish; `false` when some did not (their
    /// leases expire and another process takes them up again).
    pub async fn drain(&self, grace: Duration) -> bool {
        self.stop();
        let handles: Vec<_> = match self.workers.lock() {
            Ok(mut w) => w.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let all = futures_util::future::join_all(handles);
        tokio::time::timeout(grace, all).await.is_ok()
    }

    /// Enqueue in a transaction of its own (blocking), and wake this process's workers.
    pub fn enqueue(&self, job: &NewJob) -> ApiResult<()> {
        crate::db_write!(self.db, |conn| enqueue_in(conn, job))?;
        self.wake();
        Ok(())
    }

    /// Wake the workers (after a commit that enqueued jobs).
    pub fn wake(&self) {
        self.bell.notify_waiters();
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// `$n` placeholders as the backend writes them.
    fn sql(&self, s: &str) -> String {
        match self.db.dialect {
            Dialect::Postgres => s.to_string(),
            Dialect::Sqlite => s.replace('$', "?"),
        }
    }

    /// Claim the next ready job of one of `kinds` (those this process has handlers for: a replica
    /// without the bridge leaves its jobs to one with it): queued and due, or running under a lease that
    /// ran out (its worker died), and not sharing a key with a job that holds a live lease.
    pub fn claim(&self, kinds: &[&str]) -> ApiResult<Option<Job>> {
        let now = crate::service::now_ms();
        let until = now + self.lease.as_millis() as i64;
        // Kinds are this build's own constants; anything else could not be quoted as a literal.
        let listed: Vec<String> = kinds
            .iter()
            .filter(|k| {
                k.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
            })
            .map(|k| format!("'{k}'"))
            .collect();
        if listed.is_empty() {
            return Ok(None);
        }
        let sql = self.sql(&format!(
            "UPDATE harvester_jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT j.id FROM harvester_jobs j \
               WHERE ((j.state = 'queued' AND j.run_after <= $3) OR (j.state = 'running' AND j.lease_until < $3)) \
               AND j.kind IN ({}) \
               AND (j.dedupe_key IS NULL OR NOT EXISTS (SELECT 1 FROM harvester_jobs r \
                    WHERE r.dedupe_key = j.dedupe_key AND r.id <> j.id AND r.state = 'running' AND r.lease_until >= $3)) \
               ORDER BY j.run_after, j.id LIMIT 1) \
             RETURNING id, kind, dedupe_key, payload, attempts, max_attempts",
            listed.join(", ")
        ));
        if !self.anything_due(now, kinds)? {
            return Ok(None);
        }
        let postgres = self.db.dialect == Dialect::Postgres;
        crate::db_write!(self.db, |conn| {
            use diesel::RunQueryDsl;
            if postgres {
                // Claims are serialised so that two replicas cannot both see a key as free.
                diesel::sql_query("SELECT pg_advisory_xact_lock(7240012)").execute(conn)?;
            }
            let job: Option<Job> = diesel::OptionalExtension::optional(
                diesel::sql_query(&sql)
                    .bind::<Text, _>(&self.owner)
                    .bind::<BigInt, _>(until)
                    .bind::<BigInt, _>(now)
                    .get_result(conn),
            )?;
            Ok(job)
        })
    }

    /// Whether any job is due, read without taking the writer (idle workers ask this every poll).
    fn anything_due(&self, now: i64, kinds: &[&str]) -> ApiResult<bool> {
        use crate::db::harvester::harvester_jobs as j;
        use diesel::prelude::*;
        let due = j::state
            .eq("queued")
            .and(j::run_after.le(now))
            .or(j::state.eq("running").and(j::lease_until.lt(now)));
        crate::db_read!(self.db, |conn| Ok(j::table
            .filter(due)
            .filter(j::kind.eq_any(kinds))
            .select(j::id)
            .first::<i64>(conn)
            .optional()?
            .is_some()))
    }

    /// Keep the lease of a running job; `false` when this worker no longer holds it.
    pub fn renew(&self, id: i64) -> ApiResult<bool> {
        let until = crate::service::now_ms() + self.lease.as_millis() as i64;
        let sql = self.sql(
            "UPDATE harvester_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        );
        let n = crate::db_write!(self.db, |conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(&sql)
                .bind::<BigInt, _>(until)
                .bind::<BigInt, _>(id)
                .bind::<Text, _>(&self.owner)
                .execute(conn)?)
        })?;
        Ok(n == 1)
    }

    /// Record a finished job.
    pub fn complete(&self, id: i64) -> ApiResult<()> {
        let buf = self.completion(id);
        crate::db_write!(self.db, |conn| {
            diesel::RunQueryDsl::execute(crate::bind_dynamic!(buf), conn)?;
            Ok(())
        })
    }

    /// The statement that records job `id` finished if this worker still holds it, for a handler to run
    /// inside its own write transaction, so that what the job wrote and its completion commit together:
    /// it touches no row when the lease was lost (another replica took the job), and the handler rolls
    /// back. The worker's `complete` afterwards finds the job done already and changes nothing.
    pub fn completion(&self, id: i64) -> crate::search::SqlBuf {
        let mut b = crate::search::SqlBuf::new(self.db.dialect);
        b.push(
            "UPDATE harvester_jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, \
             last_error = NULL, updated_at = ",
        )
        .bind(Bind::Int(crate::service::now_ms()))
        .push(" WHERE id = ")
        .bind(Bind::Int(id))
        .push(" AND lease_owner = ")
        .bind(Bind::Text(self.owner.clone()));
        b
    }

    /// Record a failed attempt: queued again after `after` (merged into a queued job with its key, if one
    /// arrived meanwhile), or failed for good when permanent or out of attempts.
    pub fn fail(&self, id: i64, err: &JobError, after: Duration) -> ApiResult<()> {
        let now = crate::service::now_ms();
        let sql = self.sql(
            "UPDATE harvester_jobs SET state = CASE \
               WHEN $1 OR attempts >= max_attempts THEN 'failed' \
               WHEN dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM harvester_jobs q \
                    WHERE q.dedupe_key = harvester_jobs.dedupe_key AND q.state = 'queued') THEN 'merged' \
               ELSE 'queued' END, \
             run_after = $2, lease_owner = NULL, lease_until = NULL, last_error = $3, updated_at = $4 \
             WHERE id = $5 AND lease_owner = $6",
        );
        let message: String = err.message.chars().take(4000).collect();
        crate::db_write!(self.db, |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(&sql)
                .bind::<Bool, _>(err.permanent)
                .bind::<BigInt, _>(now + after.as_millis() as i64)
                .bind::<Text, _>(&message)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(id)
                .bind::<Text, _>(&self.owner)
                .execute(conn)?;
            Ok(())
        })
    }

    /// Forget finished jobs older than `age`.
    pub fn prune(&self, age: Duration) -> ApiResult<usize> {
        let before = crate::service::now_ms() - age.as_millis() as i64;
        let sql = self.sql(
            "DELETE FROM harvester_jobs WHERE state IN ('done', 'merged') AND updated_at < $1",
        );
        crate::db_write!(self.db, |conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(&sql)
                .bind::<BigInt, _>(before)
                .execute(conn)?)
        })
    }

    /// Jobs not yet finished (queued or running), optionally of one kind: for `harvester evalai sync`
    /// and the tests.
    pub fn pending(&self, kind_prefix: &str) -> ApiResult<i64> {
        use crate::db::harvester::harvester_jobs as j;
        use diesel::prelude::*;
        let pattern = format!("{kind_prefix}%");
        crate::db_read!(self.db, |conn| Ok(j::table
            .filter(j::state.eq_any(["queued", "running"]))
            .filter(j::kind.like(&pattern))
            .count()
            .get_result(conn)?))
    }
}
