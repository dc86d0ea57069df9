-- Values up to MLflow's limits (params 6,000 characters, tags 8,000, experiment tags 20,000, registry
-- tags 100,000) must be storable: a btree entry holds at most 2,704 bytes, so the (key, value) btrees
-- refused long values with an error. Keys stay in a btree; values get a hash index (equality filters,
-- any length).
DROP INDEX idx_experiment_tags_key;
CREATE INDEX idx_experiment_tags_key ON experiment_tags (key);
CREATE INDEX idx_experiment_tags_value ON experiment_tags USING hash (value);
DROP INDEX idx_params_key_value;
CREATE INDEX idx_params_key ON params (key);
CREATE INDEX idx_params_value ON params USING hash (value);
DROP INDEX idx_tags_key_value;
CREATE INDEX idx_tags_key ON tags (key);
CREATE INDEX idx_tags_value ON tags USING hash (value);
DROP INDEX idx_logged_model_params_kv;
CREATE INDEX idx_logged_model_params_key ON logged_model_params (key);
CREATE INDEX idx_logged_model_params_value ON logged_model_params USING hash (value);
DROP INDEX idx_logged_model_tags_kv;
CREATE INDEX idx_logged_model_tags_key ON logged_model_tags (key);
CREATE INDEX idx_logged_model_tags_value ON logged_model_tags USING hash (value);
DROP INDEX idx_registered_model_tags_kv;
CREATE INDEX idx_registered_model_tags_key ON registered_model_tags (key);
CREATE INDEX idx_registered_model_tags_value ON registered_model_tags USING hash (value);
DROP INDEX idx_model_version_tags_kv;
CREATE INDEX idx_model_version_tags_key ON model_version_tags (key);
CREATE INDEX idx_model_version_tags_value ON model_version_tags USING hash (value);
