//! Reading runs: one row to `RunInfo`, and many rows to full `Run`s with a constant number of queries
//! (latest metrics, params, tags, inputs and outputs each loaded once for the whole page).

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::models::{
    DatasetRow, InputRow, InputTagRow, LatestMetricRow, ParamRow, RunRow, TagRow,
};
use crate::db::schema::{datasets, input_tags, inputs, latest_metrics, params, runs, tags};
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
        value: if m.is_nan { f64::NAN } else { m.value },
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
                let row = row.ok_or_else(|| run_not_found(run_id))?;
                // With workspaces on, a run is found only from its experiment's workspace.
                if let Some(ws) = crate::workspace::current() {
                    let here: i64 = crate::db::schema::experiments::table
                        .find(crate::db::columns::Int32::from(row.experiment_id))
                        .filter(crate::db::schema::experiments::workspace.eq(&*ws))
                        .count()
                        .get_result(self)?;
                    if here == 0 {
                        return Err(run_not_found(run_id));
                    }
                }
                Ok(row)
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
                    // MLflow's `inputs` edges: datasets into the runs (with their tags), models in and out.
                    let edges: Vec<(InputRow, Option<DatasetRow>)> = inputs::table
                        .left_join(datasets::table.on(inputs::source_type.eq("DATASET").and(datasets::dataset_uuid.eq(inputs::source_id))))
                        .filter(
                            inputs::destination_type.eq("RUN").and(inputs::destination_id.eq_any(chunk))
                                .or(inputs::source_type.eq_any(["RUN_INPUT", "RUN_OUTPUT"]).and(inputs::source_id.eq_any(chunk))),
                        )
                        .select((InputRow::as_select(), Option::<DatasetRow>::as_select()))
                        .load(self)?;
                    let dataset_edges: Vec<&str> = edges
                        .iter()
                        .filter(|(e, _)| e.source_type == "DATASET")
                        .map(|(e, _)| e.input_uuid.as_str())
                        .collect();
                    let mut by_input: HashMap<String, Vec<KeyValue>> = HashMap::new();
                    if !dataset_edges.is_empty() {
                        let itags: Vec<InputTagRow> = input_tags::table
                            .filter(input_tags::input_uuid.eq_any(&dataset_edges))
                            .order(input_tags::name)
                            .load(self)?;
                        for t in itags {
                            by_input.entry(t.input_uuid).or_default().push(KeyValue { key: t.name, value: t.value });
                        }
                    }
                    let mut datasets_in: Vec<(String, DatasetRow, Vec<KeyValue>)> = Vec::new();
                    let mut models: Vec<InputRow> = Vec::new();
                    for (e, d) in edges {
                        match (e.source_type.as_str(), d) {
                            ("DATASET", Some(d)) => {
                                let tags = by_input.remove(&e.input_uuid).unwrap_or_default();
                                datasets_in.push((e.destination_id, d, tags));
                            }
                            ("RUN_INPUT" | "RUN_OUTPUT", _) => models.push(e),
                            _ => {}
                        }
                    }
                    datasets_in.sort_by(|a, b| (&a.0, &a.1.name, &a.1.digest).cmp(&(&b.0, &b.1.name, &b.1.digest)));
                    for (run_uuid, d, tags) in datasets_in {
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
                    models.sort_by(|a, b| (&a.source_id, a.step, &a.destination_id).cmp(&(&b.source_id, b.step, &b.destination_id)));
                    for e in models {
                        if e.source_type == "RUN_INPUT" {
                            model_in.entry(e.source_id).or_default().push(ModelInput { model_id: e.destination_id });
                        } else {
                            model_out.entry(e.source_id).or_default().push(ModelOutput { model_id: e.destination_id, step: e.step });
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
