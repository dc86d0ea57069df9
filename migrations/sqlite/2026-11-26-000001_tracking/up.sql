-- Tracking schema (SQLite). Mirrors MLflow's tables; indexes follow the search grammar.
CREATE TABLE experiments (
    experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    creation_time BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL
);
CREATE INDEX idx_experiments_creation ON experiments (creation_time DESC, experiment_id);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
);
CREATE INDEX idx_experiment_tags_key ON experiment_tags (key, value);

CREATE TABLE runs (
    run_uuid TEXT PRIMARY KEY NOT NULL,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    deleted_time BIGINT,
    lifecycle_stage TEXT NOT NULL,
    artifact_uri TEXT NOT NULL
);
CREATE INDEX idx_runs_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);

CREATE TABLE params (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX idx_params_key_value ON params (key, value);

CREATE TABLE tags (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX idx_tags_key_value ON tags (key, value);

CREATE TABLE metrics (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    step BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    is_nan INTEGER NOT NULL,
    model_id TEXT,
    dataset_name TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_uuid, key, timestamp, step, value, is_nan)
) WITHOUT ROWID;
CREATE INDEX idx_metrics_step ON metrics (run_uuid, key, step);

CREATE TABLE latest_metrics (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    timestamp BIGINT NOT NULL,
    step BIGINT NOT NULL,
    is_nan INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX idx_latest_metrics_key_value ON latest_metrics (key, value);

CREATE TABLE datasets (
    dataset_uuid TEXT PRIMARY KEY NOT NULL,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source TEXT NOT NULL,
    schema TEXT,
    profile TEXT,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    dataset_uuid TEXT NOT NULL REFERENCES datasets (dataset_uuid),
    PRIMARY KEY (run_uuid, dataset_uuid)
);
CREATE INDEX idx_run_inputs_dataset ON run_inputs (dataset_uuid);

CREATE TABLE input_tags (
    run_uuid TEXT NOT NULL,
    dataset_uuid TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid, key)
);

CREATE TABLE run_model_io (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    direction TEXT NOT NULL,
    model_id TEXT NOT NULL,
    step BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, direction, model_id)
);

-- The default experiment always exists with id 0.
INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (0, 'Default', '', 'active', 0, 0);
