-- The static scan of each model version: its status (pending, passed, failed, error), the full report,
-- an admin's override and the history of scans, rescans and overrides. MLflow ignores this table.
CREATE TABLE harvester_scans (
    workspace VARCHAR(63) NOT NULL DEFAULT 'default',
    name VARCHAR(256) NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    report TEXT,
    error TEXT,
    high INTEGER NOT NULL DEFAULT 0,
    medium INTEGER NOT NULL DEFAULT 0,
    low INTEGER NOT NULL DEFAULT 0,
    scanned_at BIGINT,
    override_status TEXT,
    override_reason TEXT,
    override_at BIGINT,
    history TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, name, version),
    CONSTRAINT fk_harvester_scans_model_versions FOREIGN KEY (workspace, name, version)
        REFERENCES model_versions (workspace, name, version) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX harvester_scans_status ON harvester_scans (status);
