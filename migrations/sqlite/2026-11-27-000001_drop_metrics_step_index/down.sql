CREATE INDEX idx_metrics_step ON metrics (run_uuid, key, step);
