//! PostgreSQL's planner statistics, kept from going stale while a store grows fast. Autovacuum analyzes a
//! table once it has changed by a tenth, checked once a minute; during a bulk load (10,000 runs logged in a
//! minute) the statistics still describe the first few hundred runs, the planner expects one row where
//! there are thousands, and a filtered search picks nested loops that take longer than the statement
//! timeout (seen in the W4 benchmark, issue 16). So this process counts the rows it writes to the tables
//! searches read and runs `ANALYZE` on them whenever that count has doubled since the last time: a
//! handful of times while a store fills, then ever more rarely (autovacuum keeps the steady state).
//! Best effort: a lost `ANALYZE` costs nothing but freshness, so it is not a durable job.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use diesel::connection::SimpleConnection;

use super::{Conn, Db, Dialect};

/// Rows written before the first `ANALYZE`.
const FIRST: u64 = 5_000;

/// The tables run searches filter, join and sort on.
const SQL: &str = "ANALYZE runs, latest_metrics, params, tags";

#[derive(Debug)]
pub struct Freshness {
    written: AtomicU64,
    next: AtomicU64,
    running: AtomicBool,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            written: AtomicU64::new(0),
            next: AtomicU64::new(FIRST),
            running: AtomicBool::new(false),
        }
    }
}

impl Db {
    /// `n` rows were written to the tables searches read; maybe refresh their statistics (in a thread of
    /// its own, one at a time; PostgreSQL only).
    pub fn wrote_rows(&self, n: usize) {
        let f: &Arc<Freshness> = &self.freshness;
        if self.dialect != Dialect::Postgres {
            return;
        }
        let total = f.written.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total < f.next.load(Ordering::Relaxed) || f.running.swap(true, Ordering::AcqRel) {
            return;
        }
        f.next.store(total.saturating_mul(2), Ordering::Relaxed);
        let (db, f) = (self.clone(), f.clone());
        std::thread::spawn(move || {
            let t = std::time::Instant::now();
            let outcome = match db.read() {
                Ok(Conn::Postgres(mut c)) => c.batch_execute(SQL).map_err(|e| e.to_string()),
                Ok(_) => Ok(()),
                Err(e) => Err(e.message),
            };
            match outcome {
                Ok(()) => tracing::debug!(
                    rows = total,
                    ms = t.elapsed().as_millis() as u64,
                    "analyzed"
                ),
                Err(e) => tracing::warn!(error = %e, "ANALYZE after a burst of writes failed"),
            }
            f.running.store(false, Ordering::Release);
        });
    }
}
