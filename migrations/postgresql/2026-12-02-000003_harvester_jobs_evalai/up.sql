-- Harvester's durable job queue (every background task: EvalAI pulls and polls, scans, webhook deliveries)
-- and the EvalAI bridge's own state. MLflow ignores these tables.
CREATE TABLE harvester_jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    -- Jobs with one key never run at the same time, and a new one is merged into a queued one.
    dedupe_key TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX harvester_jobs_ready ON harvester_jobs (state, run_after);
CREATE UNIQUE INDEX harvester_jobs_queued_key ON harvester_jobs (dedupe_key) WHERE state = 'queued';
CREATE INDEX harvester_jobs_key ON harvester_jobs (dedupe_key, state);

CREATE TABLE harvester_evalai_submissions (
    installation TEXT NOT NULL,
    submission_id BIGINT NOT NULL,
    challenge_id BIGINT,
    phase_id BIGINT,
    evalai_status TEXT,
    state TEXT NOT NULL,
    run_id TEXT,
    model_name TEXT,
    model_version BIGINT,
    -- Metrics a signed webhook sent before the record was pulled: {"split.label": number}.
    pending_metrics TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (installation, submission_id)
);
CREATE INDEX harvester_evalai_submissions_state ON harvester_evalai_submissions (installation, state);

CREATE TABLE harvester_evalai_watermarks (
    installation TEXT NOT NULL,
    challenge_id BIGINT NOT NULL,
    submitted_after TEXT,
    polled_at BIGINT,
    PRIMARY KEY (installation, challenge_id)
);
