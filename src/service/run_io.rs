//! Run inputs and outputs: datasets with their tags and logged models (`runs/log-inputs`, `runs/outputs`).

use diesel::prelude::*;

use super::run_data::RunReader;
use super::run_writes::RunWriter;
use super::validation as v;
use super::AppState;
use crate::db::columns::Int32;
use crate::db::insert::InsertRows;
use crate::db::models::{DatasetRow, InputRow};
use crate::db::schema::{datasets, inputs};
use crate::db_write;
use crate::error::{ApiError, ApiResult};
use crate::search::Bind;
use crate::types::requests::*;

pub fn log_inputs(st: &AppState, req: &LogInputs) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    v::validate_run_id(run_id)?;
    let mut inputs = Vec::new();
    for (i, d) in req.datasets.iter().enumerate() {
        let ds = d
            .dataset
            .as_ref()
            .ok_or_else(|| ApiError::missing(&format!("datasets[{i}].dataset")))?;
        for (field, val) in [
            ("name", &ds.name),
            ("digest", &ds.digest),
            ("source_type", &ds.source_type),
            ("source", &ds.source),
        ] {
            required(val, &format!("datasets[{i}].dataset.{field}"))?;
        }
        let name = ds.name.clone().unwrap_or_default();
        let digest = ds.digest.clone().unwrap_or_default();
        if name.chars().count() > 500 || digest.chars().count() > 36 {
            return Err(ApiError::invalid(
                "Dataset name must be at most 500 characters and digest at most 36.",
            ));
        }
        for t in &d.tags {
            let (k, val) = (t.key.as_str(), t.value.as_str());
            if k.chars().count() > 255 || val.chars().count() > 500 {
                return Err(ApiError::invalid(
                    "Input tag keys must be at most 255 and values at most 500 characters.",
                ));
            }
        }
        inputs.push((ds.clone(), d.tags.clone()));
    }
    let models: Vec<String> = req.models.iter().map(|m| m.model_id.clone()).collect();
    db_write!(st.db, |conn| {
        let run = conn.active_run_row(run_id)?;
        for (ds, dtags) in &inputs {
            let (name, digest) = (
                ds.name.clone().unwrap_or_default(),
                ds.digest.clone().unwrap_or_default(),
            );
            let existing: Option<String> = datasets::table
                .filter(
                    datasets::experiment_id
                        .eq(Int32::from(run.experiment_id))
                        .and(datasets::name.eq(&name))
                        .and(datasets::digest.eq(&digest)),
                )
                .select(datasets::dataset_uuid)
                .first(conn)
                .optional()?;
            let dataset_uuid = match existing {
                Some(u) => u,
                None => {
                    let row = DatasetRow {
                        dataset_uuid: uuid::Uuid::new_v4().simple().to_string(),
                        experiment_id: run.experiment_id,
                        name,
                        digest,
                        source_type: ds.source_type.clone().unwrap_or_default(),
                        source: ds.source.clone().unwrap_or_default(),
                        schema: ds.schema.clone(),
                        profile: ds.profile.clone(),
                    };
                    let id = row.dataset_uuid.clone();
                    diesel::insert_into(datasets::table)
                        .values(row)
                        .execute(conn)?;
                    id
                }
            };
            // The dataset → run edge (MLflow's `inputs`), made once; its tags are those of the first logging.
            let existing: Option<String> = inputs::table
                .filter(
                    inputs::source_type
                        .eq("DATASET")
                        .and(inputs::source_id.eq(&dataset_uuid))
                        .and(inputs::destination_type.eq("RUN"))
                        .and(inputs::destination_id.eq(run_id)),
                )
                .select(inputs::input_uuid)
                .first(conn)
                .optional()?;
            if existing.is_some() {
                continue;
            }
            let edge = InputRow {
                input_uuid: uuid::Uuid::new_v4().simple().to_string(),
                source_type: "DATASET".into(),
                source_id: dataset_uuid.clone(),
                destination_type: "RUN".into(),
                destination_id: run_id.to_string(),
                step: 0,
            };
            diesel::insert_into(inputs::table)
                .values(&edge)
                .execute(conn)?;
            let trows = dtags
                .iter()
                .map(|t| {
                    vec![
                        Bind::Text(edge.input_uuid.clone()),
                        Bind::Text(t.key.clone()),
                        Bind::Text(t.value.clone()),
                    ]
                })
                .collect::<Vec<Vec<Bind>>>();
            let cols = ["input_uuid", "name", "value"];
            conn.insert_rows("input_tags", &cols, &trows, "ON CONFLICT DO NOTHING")?;
        }
        conn.link_models(
            run_id,
            "input",
            models.iter().map(|m| (m.clone(), 0)).collect(),
        )
    })
}

pub fn log_outputs(st: &AppState, req: &LogOutputs) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    if req.models.is_empty() {
        return Err(ApiError::missing("models"));
    }
    let models: Vec<(String, i64)> = req
        .models
        .iter()
        .map(|m| (m.model_id.clone(), m.step))
        .collect();
    db_write!(st.db, |conn| {
        conn.active_run_row(run_id)?;
        conn.link_models(run_id, "output", models.clone())
    })
}

#[derive(diesel::QueryableByName)]
struct DatasetSummaryRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    experiment_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    digest: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    context: Option<String>,
}

/// `experiments/search-datasets` (UI): the distinct datasets logged in the experiments, with their context.
pub fn dataset_summaries(
    st: &AppState,
    experiment_ids: &[String],
) -> ApiResult<Vec<serde_json::Value>> {
    if experiment_ids.is_empty() {
        return Err(ApiError::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if experiment_ids.len() > 20 {
        return Err(ApiError::invalid(format!(
            "SearchDatasets request cannot specify more than 20 experiment_ids. Received {} experiment_ids.",
            experiment_ids.len()
        )));
    }
    let ids = experiment_ids
        .iter()
        .map(|e| v::parse_experiment_id(e).map(Bind::Int))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut buf = crate::search::SqlBuf::new(st.db.dialect);
    buf.push(
        "SELECT DISTINCT CAST(d.experiment_id AS BIGINT) AS experiment_id, d.name, d.digest, it.value AS context \
         FROM datasets d JOIN inputs i ON i.source_type = 'DATASET' AND i.source_id = d.dataset_uuid \
         AND i.destination_type = 'RUN' LEFT JOIN input_tags it ON it.input_uuid = i.input_uuid \
         AND it.name = 'mlflow.data.context' WHERE d.experiment_id IN ",
    );
    buf.bind_list(ids);
    buf.push(" ORDER BY 1, 2, 3 LIMIT 1000");
    let rows: Vec<DatasetSummaryRow> = crate::db_read!(st.db, |conn| crate::load_dynamic!(
        conn,
        DatasetSummaryRow,
        buf
    )?);
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut o = serde_json::json!({"experiment_id": r.experiment_id.to_string(), "name": r.name, "digest": r.digest});
            if let Some(c) = r.context {
                o["context"] = serde_json::Value::String(c);
            }
            o
        })
        .collect())
}
