//! Writing run data in batches: params (write-once), metrics (history + latest) and tags (upserts).
//! Each writer does a constant number of statements per call, whatever the batch size.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::insert::InsertRows;
use crate::db::models::{LatestMetricRow, MetricRow, ParamRow, TagRow};
use crate::db::schema::{latest_metrics as lm, params, runs};
use crate::error::{ApiError, ApiResult};
use crate::search::Bind;

/// A metric ready to store: NaN becomes `(0, is_nan)`, ±Inf is clamped to ±f64::MAX as MLflow stores it.
pub fn metric_row(run_uuid: &str, key: String, value: f64, timestamp: i64, step: i64) -> MetricRow {
    let (value, is_nan) = if value.is_nan() {
        (0.0, true)
    } else if value.is_infinite() {
        (if value > 0.0 { f64::MAX } else { f64::MIN }, false)
    } else {
        (value, false)
    };
    MetricRow {
        run_uuid: run_uuid.to_string(),
        key,
        timestamp,
        step,
        value,
        is_nan,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

fn newer(a: &MetricRow, b: &LatestMetricRow) -> bool {
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then(a.value.total_cmp(&b.value))
        .is_gt()
}

pub trait RunWriter {
    /// Insert params; the same value again is a no-op, a different one is a 400 and nothing is written.
    fn write_params(&mut self, run_uuid: &str, params: Vec<ParamRow>) -> ApiResult<()>;
    /// Insert metric history rows (duplicates ignored) and move latest values forward; those logged for a
    /// model also become its metrics (MLflow keeps them with the run's experiment).
    fn write_metrics(
        &mut self,
        run_uuid: &str,
        experiment_id: i64,
        metrics: Vec<MetricRow>,
    ) -> ApiResult<()>;
    /// Upsert tags (last one wins within a batch); `mlflow.runName` also renames the run.
    fn write_tags(&mut self, run_uuid: &str, tags: Vec<TagRow>) -> ApiResult<()>;
    /// Record logged models as run inputs or outputs (`direction` is `input` or `output`).
    fn link_models(
        &mut self,
        run_uuid: &str,
        direction: &str,
        models: Vec<(String, i64)>,
    ) -> ApiResult<()>;
}

macro_rules! impl_run_writer {
    ($($conn:ty),*) => {$(
        impl RunWriter for $conn {
            fn write_params(&mut self, run_uuid: &str, new: Vec<ParamRow>) -> ApiResult<()> {
                if new.is_empty() {
                    return Ok(());
                }
                let keys: Vec<&str> = new.iter().map(|p| p.key.as_str()).collect();
                let existing: Vec<ParamRow> =
                    params::table.filter(params::run_uuid.eq(run_uuid).and(params::key.eq_any(&keys))).load(self)?;
                let existing: HashMap<&str, &str> = existing.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
                let conflicts: Vec<(&ParamRow, &str)> = new
                    .iter()
                    .filter_map(|p| existing.get(p.key.as_str()).filter(|v| **v != p.value).map(|v| (p, *v)))
                    .collect();
                if let [(p, old)] = conflicts.as_slice() {
                    return Err(ApiError::invalid(format!(
                        "Changing param values is not allowed. Param with key='{}' was already logged with value='{}' \
                         for run ID='{run_uuid}'. Attempted logging new value '{}'.",
                        p.key, old, p.value
                    )));
                }
                if !conflicts.is_empty() {
                    let old: Vec<String> = conflicts.iter().map(|(p, o)| format!("{{'key': '{}', 'old_value': '{o}', 'new_value': '{}'}}", p.key, p.value)).collect();
                    return Err(ApiError::invalid(format!(
                        "Changing param values is not allowed. Params were already logged='[{}]' for run ID='{run_uuid}'.",
                        old.join(", ")
                    )));
                }
                let fresh: Vec<&ParamRow> = new.iter().filter(|p| !existing.contains_key(p.key.as_str())).collect();
                let rows = fresh.iter().map(|p| vec![Bind::Text(p.run_uuid.clone()), Bind::Text(p.key.clone()), Bind::Text(p.value.clone())]).collect::<Vec<Vec<Bind>>>();
                self.insert_rows("params", &["run_uuid", "key", "value"], &rows, "ON CONFLICT DO NOTHING")?;
                Ok(())
            }

            fn write_metrics(&mut self, run_uuid: &str, experiment_id: i64, rows: Vec<MetricRow>) -> ApiResult<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                // Latest value per key within this batch; keys keep the order they first appear in, which
                // becomes the order the run lists its metrics in (as MLflow lists them).
                let mut best: HashMap<&str, &MetricRow> = HashMap::new();
                let mut first_seen: Vec<&str> = Vec::new();
                for m in &rows {
                    let replace = match best.get(m.key.as_str()) {
                        None => {
                            first_seen.push(m.key.as_str());
                            true
                        }
                        Some(b) => (m.step, m.timestamp).cmp(&(b.step, b.timestamp)).then(m.value.total_cmp(&b.value)).is_gt(),
                    };
                    if replace {
                        best.insert(m.key.as_str(), m);
                    }
                }
                let current: Vec<LatestMetricRow> =
                    lm::table.filter(lm::run_uuid.eq(run_uuid).and(lm::key.eq_any(&first_seen))).load(self)?;
                let current: HashMap<String, LatestMetricRow> = current.into_iter().map(|r| (r.key.clone(), r)).collect();
                let mut updates: Vec<LatestMetricRow> = Vec::new();
                for key in &first_seen {
                    let m = best[key];
                    if current.get(*key).map_or(true, |c| newer(m, c)) {
                        updates.push(LatestMetricRow {
                            run_uuid: run_uuid.to_string(),
                            key: key.to_string(),
                            value: m.value,
                            timestamp: m.timestamp,
                            step: m.step,
                            is_nan: m.is_nan,
                        });
                    }
                }
                let hist = rows
                    .iter()
                    .map(|m| vec![
                        Bind::Text(m.run_uuid.clone()), Bind::Text(m.key.clone()), Bind::Int(m.timestamp), Bind::Int(m.step),
                        Bind::Float(m.value), Bind::Bool(m.is_nan),
                    ])
                    .collect::<Vec<Vec<Bind>>>();
                let cols = ["run_uuid", "key", "timestamp", "step", "value", "is_nan"];
                self.insert_rows("metrics", &cols, &hist, "ON CONFLICT DO NOTHING")?;
                // Metrics logged for a model are also the logged model's `data.metrics`.
                let for_models = rows
                    .iter()
                    .filter_map(|m| m.model_id.as_ref().map(|id| vec![
                        Bind::Text(id.clone()), Bind::Text(m.key.clone()), Bind::Int(m.timestamp), Bind::Int(m.step),
                        Bind::Float(m.value), Bind::Int(experiment_id), Bind::Text(m.run_uuid.clone()),
                        Bind::OptText(m.dataset_name.clone()), Bind::OptText(m.dataset_digest.clone()),
                    ]))
                    .collect::<Vec<Vec<Bind>>>();
                if !for_models.is_empty() {
                    let cols = ["model_id", "metric_name", "metric_timestamp_ms", "metric_step", "metric_value", "experiment_id", "run_id", "dataset_name", "dataset_digest"];
                    self.insert_rows("logged_model_metrics", &cols, &for_models, "ON CONFLICT DO NOTHING")?;
                }
                let latest = updates
                    .iter()
                    .map(|m| vec![
                        Bind::Text(m.run_uuid.clone()), Bind::Text(m.key.clone()), Bind::Float(m.value),
                        Bind::Int(m.timestamp), Bind::Int(m.step), Bind::Bool(m.is_nan),
                    ])
                    .collect::<Vec<Vec<Bind>>>();
                let cols = ["run_uuid", "key", "value", "timestamp", "step", "is_nan"];
                let tail = "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, \
                            timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan";
                self.insert_rows("latest_metrics", &cols, &latest, tail)?;
                Ok(())
            }

            fn write_tags(&mut self, run_uuid: &str, rows: Vec<TagRow>) -> ApiResult<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                // The last value of each key wins; keys keep the order they first appear in.
                let mut slot: HashMap<String, usize> = HashMap::new();
                let mut last: Vec<TagRow> = Vec::new();
                for t in rows {
                    match slot.get(&t.key) {
                        Some(&i) => last[i] = t,
                        None => {
                            slot.insert(t.key.clone(), last.len());
                            last.push(t);
                        }
                    }
                }
                if let Some(name) = last.iter().find(|t| t.key == "mlflow.runName") {
                    diesel::update(runs::table.find(run_uuid)).set(runs::name.eq(&name.value)).execute(self)?;
                }
                let rows = last.into_iter().map(|t| vec![Bind::Text(t.run_uuid), Bind::Text(t.key), Bind::Text(t.value)]).collect::<Vec<Vec<Bind>>>();
                let tail = "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value";
                self.insert_rows("tags", &["run_uuid", "key", "value"], &rows, tail)?;
                Ok(())
            }

            fn link_models(&mut self, run_uuid: &str, direction: &str, models: Vec<(String, i64)>) -> ApiResult<()> {
                // MLflow's `inputs` edges: RUN_INPUT → MODEL_INPUT, or RUN_OUTPUT → MODEL_OUTPUT with a step.
                let (source, destination) = if direction == "input" {
                    ("RUN_INPUT", "MODEL_INPUT")
                } else {
                    ("RUN_OUTPUT", "MODEL_OUTPUT")
                };
                let rows = models
                    .into_iter()
                    .map(|(model_id, step)| vec![
                        Bind::Text(uuid::Uuid::new_v4().simple().to_string()), Bind::Text(source.into()),
                        Bind::Text(run_uuid.into()), Bind::Text(destination.into()), Bind::Text(model_id), Bind::Int(step),
                    ])
                    .collect::<Vec<Vec<Bind>>>();
                let cols = ["input_uuid", "source_type", "source_id", "destination_type", "destination_id", "step"];
                self.insert_rows("inputs", &cols, &rows, "ON CONFLICT DO NOTHING")?;
                Ok(())
            }
        }
    )*};
}

impl_run_writer!(diesel::SqliteConnection, diesel::PgConnection);
