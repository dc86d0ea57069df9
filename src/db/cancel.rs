//! Cancelling a PostgreSQL query whose client went away. A search runs with a [`CancelSlot`] on its
//! blocking thread; a PostgreSQL connection taken while the slot is set records its backend pid there,
//! and clears it again before the connection goes back to the pool. When the request is dropped before
//! its search finished (the client disconnected or gave up), [`CancelSlot::cancel`] sends
//! `pg_cancel_backend` for that pid from another connection, so the abandoned query frees its
//! connection at once instead of running to the statement timeout.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use diesel::r2d2::{ConnectionManager, PooledConnection};
use diesel::{PgConnection, RunQueryDsl};

#[derive(Default)]
pub struct CancelSlot {
    /// The backend running this search's query, while its connection is checked out.
    pid: Mutex<Option<i32>>,
    /// Set once the request is gone: a search that had not taken its connection yet never starts.
    abandoned: AtomicBool,
}

/// Whether this thread's search was abandoned before it took a connection.
pub fn abandoned() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|s| s.abandoned.load(Ordering::SeqCst))
    })
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<CancelSlot>>> = const { RefCell::new(None) };
}

/// Run `f` with `slot` as this thread's cancel slot.
pub fn with_slot<T>(slot: Arc<CancelSlot>, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| c.borrow_mut().take());
        }
    }
    CURRENT.with(|c| *c.borrow_mut() = Some(slot));
    let _reset = Reset;
    f()
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// A pooled PostgreSQL connection that may carry a search's cancel registration.
pub struct PgConn {
    slot: Option<Arc<CancelSlot>>,
    conn: PooledConnection<ConnectionManager<PgConnection>>,
}

impl PgConn {
    pub(super) fn new(mut conn: PooledConnection<ConnectionManager<PgConnection>>) -> PgConn {
        let slot = CURRENT.with(|c| c.borrow().clone());
        let slot = slot.and_then(|s| {
            let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
                .get_result::<Pid>(&mut *conn)
                .ok()?;
            *s.pid.lock().ok()? = Some(pid.pid);
            Some(s)
        });
        PgConn { slot, conn }
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        // Before the connection returns to the pool: a cancel in flight holds the lock, so it completes
        // first (and a cancel that reaches an idle backend is discarded by PostgreSQL).
        if let Some(s) = &self.slot {
            if let Ok(mut pid) = s.pid.lock() {
                *pid = None;
            }
        }
    }
}

impl Deref for PgConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl CancelSlot {
    /// Cancel the query this slot's search is running, if it is still running (blocking).
    pub fn cancel(&self, db: &super::Db) {
        self.abandoned.store(true, Ordering::SeqCst);
        let Ok(pid) = self.pid.lock() else { return };
        let Some(pid) = *pid else { return };
        let Some(mut conn) = db.postgres_side_connection() else {
            return;
        };
        let done = diesel::sql_query("SELECT pg_cancel_backend($1)")
            .bind::<diesel::sql_types::Integer, _>(pid)
            .execute(&mut conn);
        match done {
            Ok(_) => tracing::debug!(pid, "cancelled the query of an abandoned request"),
            Err(e) => tracing::warn!(pid, "could not cancel an abandoned query: {e}"),
        }
    }
}
