DROP INDEX IF EXISTS harvester_latest_metrics_kv;
CREATE INDEX harvester_latest_metrics_kv ON latest_metrics ("key", value);
