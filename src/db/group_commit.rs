//! Group commit for SQLite: concurrent writes share one `BEGIN IMMEDIATE` transaction and one fsync.
//!
//! Each write runs its own closure, on its own thread, against the one writer connection, inside a
//! savepoint: a failing write rolls back only itself. Whoever finds nobody else queued behind it (or the
//! group full or old) commits for the whole group; the others wait for that commit before they answer,
//! so no write is acknowledged before it is durable, and a failed commit fails every write in the group.
//! Under one client this is exactly one transaction per write.

use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{Connection, SqliteConnection};

use crate::error::{ApiError, ApiResult};

/// Most writes in one group, and the longest a group stays open.
const MAX_GROUP: usize = 64;
const MAX_GROUP_AGE: Duration = Duration::from_millis(50);

struct State {
    conn: SqliteConnection,
    /// When the open group's transaction began (`None`: no transaction open).
    opened: Option<Instant>,
    /// Successful writes in the open group.
    members: usize,
    /// Id of the open (or next) group; `committed` is the last group whose commit has finished.
    group: u64,
    committed: u64,
    /// Recent groups whose commit failed, with the error.
    failed: VecDeque<(u64, String)>,
}

pub struct GroupWriter {
    state: Mutex<State>,
    done: Condvar,
    queued: AtomicUsize,
    /// Groups committed so far (the background checkpointer skips idle periods).
    commits: AtomicU64,
    reopen: Box<dyn Fn() -> Result<SqliteConnection, String> + Send + Sync>,
}

impl GroupWriter {
    /// `open` makes a writer connection (with the pool's pragmas); it is called again if one breaks.
    pub fn new(
        open: impl Fn() -> Result<SqliteConnection, String> + Send + Sync + 'static,
    ) -> Result<GroupWriter, String> {
        Ok(GroupWriter {
            state: Mutex::new(State {
                conn: open()?,
                opened: None,
                members: 0,
                group: 1,
                committed: 0,
                failed: VecDeque::new(),
            }),
            done: Condvar::new(),
            queued: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            reopen: Box::new(open),
        })
    }

    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` as one write; returns once its group is committed (or `f` failed and was rolled back).
    pub fn run<T>(&self, f: impl FnOnce(&mut SqliteConnection) -> ApiResult<T>) -> ApiResult<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if st.opened.is_none() {
            AnsiTransactionManager::begin_transaction_sql(&mut st.conn, "BEGIN IMMEDIATE")?;
            st.opened = Some(Instant::now());
        }
        let group = st.group;
        // Nested `transaction` = a savepoint inside the group's transaction.
        let outcome = catch_unwind(AssertUnwindSafe(|| st.conn.transaction(|c| f(c))));
        let outcome = match outcome {
            Ok(r) => r,
            Err(panic) => {
                // The savepoint is still open: undo it, settle the group, then let the panic go on.
                let _ = AnsiTransactionManager::rollback_transaction(&mut st.conn);
                self.settle(&mut st);
                drop(st);
                resume_unwind(panic);
            }
        };
        if outcome.is_ok() {
            st.members += 1;
        }
        let full =
            st.members >= MAX_GROUP || st.opened.is_some_and(|t| t.elapsed() >= MAX_GROUP_AGE);
        if full || self.queued.load(Ordering::SeqCst) == 0 {
            self.settle(&mut st);
        } else if outcome.is_ok() {
            // Someone is queued behind us and will commit (or pass the duty on).
            while st.committed < group {
                st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
        if outcome.is_ok() {
            if let Some((_, e)) = st.failed.iter().find(|(g, _)| *g == group) {
                return Err(ApiError::internal(format!("Commit failed: {e}")));
            }
        }
        outcome
    }

    /// Commit the open group (roll it back if it has no successful write) and wake its waiters.
    fn settle(&self, st: &mut State) {
        if st.opened.take().is_none() {
            return;
        }
        let result = if st.members > 0 {
            AnsiTransactionManager::commit_transaction(&mut st.conn)
        } else {
            AnsiTransactionManager::rollback_transaction(&mut st.conn)
        };
        if result.is_ok() && st.members > 0 {
            self.commits.fetch_add(1, Ordering::Relaxed);
            crate::monitoring::group_commit(st.members);
        }
        if let Err(e) = result {
            tracing::error!("group commit of {} writes failed: {e}", st.members);
            st.failed.push_back((st.group, e.to_string()));
            if st.failed.len() > 64 {
                st.failed.pop_front();
            }
            if AnsiTransactionManager::rollback_transaction(&mut st.conn).is_err() {
                match (self.reopen)() {
                    Ok(c) => st.conn = c,
                    Err(e) => tracing::error!("cannot reopen the SQLite writer connection: {e}"),
                }
            }
        }
        st.committed = st.group;
        st.group += 1;
        st.members = 0;
        self.done.notify_all();
    }
}
