-- A filter or sort on a metric reads (key, value) and the run it belongs to: with run_uuid in the index,
-- PostgreSQL answers from the index alone (an index-only scan) instead of visiting a heap page per run
-- (W4's filter touched 2,472 heap pages of latest_metrics for 7,990 runs; BENCHMARKS.md, issue 16).
DROP INDEX IF EXISTS harvester_latest_metrics_kv;
CREATE INDEX harvester_latest_metrics_kv ON latest_metrics ("key", value) INCLUDE (run_uuid);
