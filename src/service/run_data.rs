//! Reading runs: one row to `RunInfo`, and many rows to full `Run`s with a constant number of queries
//! (latest metrics, params, tags, inputs and outputs each loaded once for the whole page).

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::models::{
    DatasetRow, InputTagRow, LatestMetricRow, ParamRow, RunModelIoRow, RunRow, TagRow,
};
use crate::db::schema::{
    datasets, input_tags, latest_metrics, params, run_inputs, run_model_io, runs, tags,
};
use crate::error::{ApiError, ApiResult};
use crate::types::entities::{
    Dataset, DatasetInput, KeyValue, Metric, ModelInput, ModelOutput, Run, RunData, RunInfo,
    RunInputs, RunOutputs,
};

/// SQLite's bound-variable limit is 32766; keep `IN (…)` lists well under it.
const IN_CHUNK: usize = 5000;

pub fn info(row: &RunRow) -> RunInfo {
    RunInfo {
        run_id: row.run_uuid.clone(),
        run_uuid: row.run_uuid.clone(),
        run_name: row.name.clone(),
        experiment_id: row.experiment_id.to_string(),
        user_id: row.user_id.clone(),
        status: row.status.clone(),
        start_time: row.start_time,
        end_time: row.end_time,
        artifact_uri: row.artifact_uri.clone(),
        lifecycle_stage: row.lifecycle_stage.clone(),
    }
}

pub fn run_not_found(run_id: &str) -> ApiError {
    ApiError::not_found(format!("Run with id={run_id} not found"))
}

pub fn latest_to_wire(m: LatestMetricRow) -> Metric {
    Metric {
        key: m.key,
        value: if m.is_nan != 0 { f64::NAN } else { m.value },
        timestamp: m.timestamp,
        step: m.step,
        run_id: None,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

/// Read access to runs, implemented once for every backend connection type.
pub trait RunReader {
    /// The run row, or 404.
    fn run_row(&mut self, run_id: &str) -> ApiResult<RunRow>;
    /// The run row, which must be active (400 otherwise).
    fn active_run_row(&mut self, run_id: &str) -> ApiResult<RunRow>;
    /// Full runs for `rows`, in the same order.
    fn load_runs(&mut self, rows: Vec<RunRow>) -> ApiResult<Vec<Run>>;
}

macro_rules! impl_run_reader {
    ($($conn:ty),*) => {$(
        impl RunReader for $conn {
            fn run_row(&mut self, run_id: &str) -> ApiResult<RunRow> {
                let row: Option<RunRow> = runs::table.find(run_id).first(self).optional()?;
                row.ok_or_else(|| run_not_found(run_id))
            }

            fn active_run_row(&mut self, run_id: &str) -> ApiResult<RunRow> {
                let row = self.run_row(run_id)?;
                if row.lifecycle_stage != "active" {
                    return Err(ApiError::invalid(format!(
                        "The run {run_id} must be in the 'active' state. Current state is {}.",
                        row.lifecycle_stage
                    )));
                }
                Ok(row)
            }

            fn load_runs(&mut self, rows: Vec<RunRow>) -> ApiResult<Vec<Run>> {
                let mut metrics: HashMap<String, Vec<Metric>> = HashMap::new();
                let mut prm: HashMap<String, Vec<KeyValue>> = HashMap::new();
                let mut tgs: HashMap<String, Vec<KeyValue>> = HashMap::new();
                let mut ds_inputs: HashMap<String, Vec<DatasetInput>> = HashMap::new();
                let mut model_in: HashMap<String, Vec<ModelInput>> = HashMap::new();
                let mut model_out: HashMap<String, Vec<ModelOutput>> = HashMap::new();
                let ids: Vec<&str> = rows.iter().map(|r| r.run_uuid.as_str()).collect();
                for chunk in ids.chunks(IN_CHUNK) {
                    // Params, tags and metrics in the order they were first logged, as MLflow lists them.
                    let first_logged = crate::db::insertion_order(&*self);
                    let lm: Vec<LatestMetricRow> = latest_metrics::table
                        .filter(latest_metrics::run_uuid.eq_any(chunk))
                        .order(first_logged.clone())
                        .load(self)?;
                    for m in lm {
                        metrics.entry(m.run_uuid.clone()).or_default().push(latest_to_wire(m));
                    }
                    let ps: Vec<ParamRow> =
                        params::table.filter(params::run_uuid.eq_any(chunk)).order(first_logged.clone()).load(self)?;
                    for p in ps {
                        prm.entry(p.run_uuid).or_default().push(KeyValue { key: p.key, value: p.value });
                    }
                    let ts: Vec<TagRow> =
                        tags::table.filter(tags::run_uuid.eq_any(chunk)).order(first_logged).load(self)?;
                    for t in ts {
                        tgs.entry(t.run_uuid).or_default().push(KeyValue { key: t.key, value: t.value });
                    }
                    let inputs: Vec<(String, DatasetRow)> = run_inputs::table
                        .inner_join(datasets::table.on(datasets::dataset_uuid.eq(run_inputs::dataset_uuid)))
                        .filter(run_inputs::run_uuid.eq_any(chunk))
                        .order((run_inputs::run_uuid, datasets::name, datasets::digest))
                        .select((run_inputs::run_uuid, DatasetRow::as_select()))
                        .load(self)?;
                    if !inputs.is_empty() {
                        let itags: Vec<InputTagRow> = input_tags::table
                            .filter(input_tags::run_uuid.eq_any(chunk))
                            .order(input_tags::key)
                            .load(self)?;
                        let mut by_input: HashMap<(String, String), Vec<KeyValue>> = HashMap::new();
                        for t in itags {
                            by_input.entry((t.run_uuid, t.dataset_uuid)).or_default().push(KeyValue { key: t.key, value: t.value });
                        }
                        for (run_uuid, d) in inputs {
                            let tags = by_input.remove(&(run_uuid.clone(), d.dataset_uuid.clone())).unwrap_or_default();
                            let dataset = Dataset {
                                name: Some(d.name),
                                digest: Some(d.digest),
                                source_type: Some(d.source_type),
                                source: Some(d.source),
                                schema: d.schema,
                                profile: d.profile,
                            };
                            ds_inputs.entry(run_uuid).or_default().push(DatasetInput { tags, dataset: Some(dataset) });
                        }
                    }
                    let io: Vec<RunModelIoRow> = run_model_io::table
                        .filter(run_model_io::run_uuid.eq_any(chunk))
                        .order((run_model_io::run_uuid, run_model_io::step, run_model_io::model_id))
                        .load(self)?;
                    for r in io {
                        if r.direction == "input" {
                            model_in.entry(r.run_uuid).or_default().push(ModelInput { model_id: r.model_id });
                        } else {
                            model_out.entry(r.run_uuid).or_default().push(ModelOutput { model_id: r.model_id, step: r.step });
                        }
                    }
                }
                Ok(rows
                    .into_iter()
                    .map(|row| {
                        let id = row.run_uuid.clone();
                        Run {
                            info: info(&row),
                            data: RunData {
                                metrics: metrics.remove(&id).unwrap_or_default(),
                                params: prm.remove(&id).unwrap_or_default(),
                                tags: tgs.remove(&id).unwrap_or_default(),
                            },
                            inputs: RunInputs {
                                dataset_inputs: ds_inputs.remove(&id).unwrap_or_default(),
                                model_inputs: model_in.remove(&id).unwrap_or_default(),
                            },
                            outputs: RunOutputs { model_outputs: model_out.remove(&id).unwrap_or_default() },
                        }
                    })
                    .collect())
            }
        }
    )*};
}

impl_run_reader!(diesel::SqliteConnection, diesel::PgConnection);
