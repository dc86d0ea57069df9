-- MLflow 3 logged models and the model registry (PostgreSQL). Registered-model names are the key of the
-- registry; renames cascade through the foreign keys. Model versions also carry a surrogate id, which
-- their tags use, so that a rename touches one table. Indexes follow the registry search grammar.
CREATE TABLE logged_models (
    model_id TEXT PRIMARY KEY NOT NULL,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    creation_timestamp_ms BIGINT NOT NULL,
    last_updated_timestamp_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    model_type TEXT,
    source_run_id TEXT,
    status_message TEXT
);
CREATE INDEX idx_logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id);
CREATE INDEX idx_logged_models_name ON logged_models (experiment_id, name);

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE INDEX idx_logged_model_params_kv ON logged_model_params (key, value);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE INDEX idx_logged_model_tags_kv ON logged_model_tags (key, value);

-- Metrics logged with a model_id (log-metric / log-batch), the logged model's `data.metrics`.
CREATE TABLE logged_model_metrics (
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    step BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    run_id TEXT NOT NULL,
    dataset_name TEXT NOT NULL DEFAULT '',
    dataset_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, timestamp, step, run_id, dataset_name, dataset_digest)
);
CREATE INDEX idx_logged_model_metrics_kv ON logged_model_metrics (key, value);

CREATE TABLE registered_models (
    name TEXT PRIMARY KEY NOT NULL,
    creation_time BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description TEXT,
    user_id TEXT
);
CREATE INDEX idx_registered_models_updated ON registered_models (last_updated_time, name);

CREATE TABLE registered_model_tags (
    name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE INDEX idx_registered_model_tags_kv ON registered_model_tags (key, value);

CREATE TABLE model_versions (
    mv_id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    version BIGINT NOT NULL,
    creation_time BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description TEXT,
    user_id TEXT,
    current_stage TEXT NOT NULL,
    source TEXT,
    storage_location TEXT,
    run_id TEXT,
    run_link TEXT,
    status TEXT NOT NULL,
    status_message TEXT,
    model_id TEXT,
    UNIQUE (name, version)
);
CREATE INDEX idx_model_versions_run ON model_versions (run_id);
CREATE INDEX idx_model_versions_updated ON model_versions (last_updated_time DESC, name, version DESC);
CREATE INDEX idx_model_versions_stage ON model_versions (name, current_stage, version DESC);

CREATE TABLE model_version_tags (
    mv_id BIGINT NOT NULL REFERENCES model_versions (mv_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (mv_id, key)
);
CREATE INDEX idx_model_version_tags_kv ON model_version_tags (key, value);

CREATE TABLE registered_model_aliases (
    name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    alias TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, alias)
);

CREATE TABLE webhooks (
    webhook_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    secret TEXT,
    creation_timestamp BIGINT NOT NULL,
    last_updated_timestamp BIGINT NOT NULL
);
CREATE INDEX idx_webhooks_created ON webhooks (creation_timestamp, webhook_id);

CREATE TABLE webhook_events (
    webhook_id TEXT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    action TEXT NOT NULL,
    PRIMARY KEY (webhook_id, entity, action)
);
CREATE INDEX idx_webhook_events_event ON webhook_events (entity, action);
