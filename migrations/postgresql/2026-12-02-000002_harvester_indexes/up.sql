-- Harvester's additions to MLflow's schema, which MLflow ignores: indexes for the lookups and the search
-- grammar, all named harvester_*. Long values (MLflow allows params of 6,000 characters, a btree entry
-- holds 2,704 bytes) get a btree on the key and a hash index on the value.
-- Two columns are wider than MLflow's: values within MLflow's own validation limits that its PostgreSQL
-- columns cannot hold (experiment names up to 500 characters, registry tags up to 100,000). Widening a
-- VARCHAR needs no rewrite, and MLflow reads and writes the wider columns unchanged.
ALTER TABLE experiments ALTER COLUMN name TYPE VARCHAR(500);
ALTER TABLE registered_model_tags ALTER COLUMN value TYPE TEXT;
CREATE INDEX harvester_experiments_name ON experiments (name);
CREATE INDEX harvester_experiments_creation ON experiments (creation_time DESC, experiment_id);
CREATE INDEX harvester_experiment_tags_experiment ON experiment_tags (experiment_id, "key");
CREATE INDEX harvester_experiment_tags_key ON experiment_tags ("key");
CREATE INDEX harvester_experiment_tags_value ON experiment_tags USING hash (value);
CREATE INDEX harvester_runs_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);
-- A metric's history in MLflow's order (timestamp, step, value), read in keyset pages.
CREATE INDEX harvester_metrics_history ON metrics (run_uuid, "key", timestamp, step, value, is_nan);
CREATE INDEX harvester_params_key ON params ("key");
CREATE INDEX harvester_params_value ON params USING hash (value);
CREATE INDEX harvester_tags_key ON tags ("key");
CREATE INDEX harvester_tags_value ON tags USING hash (value);
CREATE INDEX harvester_latest_metrics_kv ON latest_metrics ("key", value);
CREATE INDEX harvester_logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id);
CREATE INDEX harvester_logged_models_name ON logged_models (experiment_id, name);
CREATE INDEX harvester_logged_model_params_key ON logged_model_params (param_key);
CREATE INDEX harvester_logged_model_params_value ON logged_model_params USING hash (param_value);
CREATE INDEX harvester_logged_model_tags_key ON logged_model_tags (tag_key);
CREATE INDEX harvester_logged_model_tags_value ON logged_model_tags USING hash (tag_value);
CREATE INDEX harvester_logged_model_metrics_kv ON logged_model_metrics (metric_name, metric_value);
CREATE INDEX harvester_registered_models_name ON registered_models (name);
CREATE INDEX harvester_registered_models_updated ON registered_models (last_updated_time, name);
CREATE INDEX harvester_registered_model_tags_model ON registered_model_tags (name, "key");
CREATE INDEX harvester_registered_model_tags_key ON registered_model_tags ("key");
CREATE INDEX harvester_registered_model_tags_value ON registered_model_tags USING hash (value);
CREATE INDEX harvester_model_versions_version ON model_versions (name, version);
CREATE INDEX harvester_model_versions_run ON model_versions (run_id);
CREATE INDEX harvester_model_versions_updated ON model_versions (last_updated_time DESC, name, version DESC);
CREATE INDEX harvester_model_versions_stage ON model_versions (name, current_stage, version DESC);
CREATE INDEX harvester_model_version_tags_version ON model_version_tags (name, version, "key");
CREATE INDEX harvester_model_version_tags_key ON model_version_tags ("key");
CREATE INDEX harvester_model_version_tags_value ON model_version_tags USING hash (value);
CREATE INDEX harvester_registered_model_aliases_model ON registered_model_aliases (name, alias);
CREATE INDEX harvester_webhooks_created ON webhooks (creation_timestamp, webhook_id);
