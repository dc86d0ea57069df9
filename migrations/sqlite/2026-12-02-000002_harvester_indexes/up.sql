-- Harvester's additions to MLflow's schema: indexes for the lookups and the search grammar, all named
-- harvester_*. MLflow ignores them; its tables, columns and constraints stay exactly as 3.17.2 has them.
CREATE INDEX harvester_experiments_name ON experiments (name);
CREATE INDEX harvester_experiments_creation ON experiments (creation_time DESC, experiment_id);
CREATE INDEX harvester_experiment_tags_experiment ON experiment_tags (experiment_id, "key");
CREATE INDEX harvester_experiment_tags_kv ON experiment_tags ("key", value);
CREATE INDEX harvester_runs_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);
-- A metric's history in MLflow's order (timestamp, step, value), read in keyset pages.
CREATE INDEX harvester_metrics_history ON metrics (run_uuid, "key", timestamp, step, value, is_nan);
CREATE INDEX harvester_params_kv ON params ("key", value);
CREATE INDEX harvester_tags_kv ON tags ("key", value);
CREATE INDEX harvester_latest_metrics_kv ON latest_metrics ("key", value);
CREATE INDEX harvester_logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id);
CREATE INDEX harvester_logged_models_name ON logged_models (experiment_id, name);
CREATE INDEX harvester_logged_model_params_kv ON logged_model_params (param_key, param_value);
CREATE INDEX harvester_logged_model_tags_kv ON logged_model_tags (tag_key, tag_value);
CREATE INDEX harvester_logged_model_metrics_kv ON logged_model_metrics (metric_name, metric_value);
CREATE INDEX harvester_registered_models_name ON registered_models (name);
CREATE INDEX harvester_registered_models_updated ON registered_models (last_updated_time, name);
CREATE INDEX harvester_registered_model_tags_model ON registered_model_tags (name, "key");
CREATE INDEX harvester_registered_model_tags_kv ON registered_model_tags ("key", value);
CREATE INDEX harvester_model_versions_version ON model_versions (name, version);
CREATE INDEX harvester_model_versions_run ON model_versions (run_id);
CREATE INDEX harvester_model_versions_updated ON model_versions (last_updated_time DESC, name, version DESC);
CREATE INDEX harvester_model_versions_stage ON model_versions (name, current_stage, version DESC);
CREATE INDEX harvester_model_version_tags_version ON model_version_tags (name, version, "key");
CREATE INDEX harvester_model_version_tags_kv ON model_version_tags ("key", value);
CREATE INDEX harvester_registered_model_aliases_model ON registered_model_aliases (name, alias);
CREATE INDEX harvester_webhooks_created ON webhooks (creation_timestamp, webhook_id);
