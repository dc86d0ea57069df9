-- The (run_uuid, key, step) index cost a third of the instructions of a 1000-metric log-batch on SQLite,
-- whose writes are serialised; only get-history-bulk-interval orders by step, and it now sorts the one
-- metric's points instead (history, ordered by timestamp, is served by the primary key).
-- PostgreSQL keeps the index: its writers run in parallel.
DROP INDEX IF EXISTS idx_metrics_step;
