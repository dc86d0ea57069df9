//! MLflow 3 logged models (§3.7, §7.5): create (pending), finalize, get, soft delete, tags, params,
//! search through the shared search builder, and their metrics (those logged with a `model_id`).

use std::collections::HashMap;

use diesel::prelude::*;

use super::validation::{self as v, parse_experiment_id};
use super::{now_ms, AppState};
use crate::db::columns::Int32;
use crate::db::models::{LoggedModelMetricRow, LoggedModelRow, ModelKvRow};
use crate::db::schema::{
    logged_model_metrics as lmm, logged_model_params as lmp, logged_model_tags as lmt,
    logged_models as lm,
};
use crate::error::{ApiError, ApiResult};
use crate::search::{self, parse, targets, Bind, SqlBuf};
use crate::storage::uri::append as append_to_uri;
use crate::types::entities::{KeyValue, Metric};
use crate::types::registry::{LoggedModel, LoggedModelData, LoggedModelInfo};
use crate::types::registry_requests::{CreateLoggedModel, SearchLoggedModels};
use crate::types::requests::{required, KeyValueIn};
use crate::{db_read, db_write, load_dynamic};

/// The logged model `$id` (404 when missing, or deleted unless `$allow_deleted`), found only from its
/// experiment's workspace.
macro_rules! lm_row {
    ($conn:expr, $id:expr, $allow_deleted:expr) => {
        row(
            lm::table
                .find($id)
                .filter(
                    lm::experiment_id.eq_any(
                        crate::db::schema::experiments::table
                            .filter(
                                crate::db::schema::experiments::workspace
                                    .eq(&*crate::workspace::effective()),
                            )
                            .select(crate::db::schema::experiments::experiment_id),
                    ),
                )
                .first($conn)
                .optional()?,
            $id,
            $allow_deleted,
        )
    };
}

use crate::types::registry::{
    logged_model_status_name, logged_model_status_number, LOGGED_MODEL_STATUSES as STATUSES,
};

pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Logged model with ID '{id}' not found."))
}

/// Key/value pairs of a request, keys required and checked like run tags.
fn pairs(items: &[KeyValueIn], what: &str) -> ApiResult<Vec<(String, String)>> {
    items
        .iter()
        .map(|t| {
            let key = required(&t.key, &format!("{what}.key"))?;
            v::validate_key(what, key)?;
            Ok((key.to_string(), t.value.clone().unwrap_or_default()))
        })
        .collect()
}

fn kv_rows(id: &str, experiment_id: i64, pairs: Vec<(String, String)>) -> Vec<ModelKvRow> {
    // A key given twice: the last value wins (as MLflow's upsert).
    let mut seen: HashMap<String, String> = HashMap::new();
    for (k, val) in pairs {
        seen.insert(k, val);
    }
    seen.into_iter()
        .map(|(key, value)| ModelKvRow {
            model_id: id.to_string(),
            experiment_id,
            key,
            value,
        })
        .collect()
}

type SideRows = (Vec<ModelKvRow>, Vec<ModelKvRow>, Vec<LoggedModelMetricRow>);

/// The params, tags and metrics of some models (expanded inside `db_read!` for each backend).
macro_rules! side_rows {
    ($conn:expr, $ids:expr) => {{
        let params: Vec<ModelKvRow> = lmp::table
            .filter(lmp::model_id.eq_any($ids))
            .order((lmp::model_id, lmp::key))
            .select((lmp::model_id, lmp::experiment_id, lmp::key, lmp::value))
            .load($conn)?;
        let tags: Vec<ModelKvRow> = lmt::table
            .filter(lmt::model_id.eq_any($ids))
            .order((lmt::model_id, lmt::key))
            .load($conn)?;
        let metrics: Vec<LoggedModelMetricRow> = lmm::table
            .filter(lmm::model_id.eq_any($ids))
            .order((lmm::model_id, lmm::key, lmm::timestamp, lmm::step))
            .load($conn)?;
        Ok::<SideRows, ApiError>((params, tags, metrics))
    }};
}

pub fn create(st: &AppState, req: &CreateLoggedModel) -> ApiResult<LoggedModel> {
    let exp_id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let params = pairs(&req.params, "param")?;
    let tags = pairs(&req.tags, "tag")?;
    let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
    let name = req
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(super::names::random_run_name);
    let now = now_ms();
    let id = model_id.clone();
    db_write!(st.db, |conn| {
        let exp = active_experiment!(conn, exp_id)?;
        let row = LoggedModelRow {
            model_id: id.clone(),
            experiment_id: exp_id,
            name: name.clone(),
            artifact_location: append_to_uri(
                &exp.artifact_location,
                &format!("models/{id}/artifacts"),
            ),
            creation_timestamp_ms: now,
            last_updated_timestamp_ms: now,
            status: 1,
            lifecycle_stage: "active".into(),
            model_type: req.model_type.clone(),
            source_run_id: req.source_run_id.clone().filter(|r| !r.is_empty()),
            status_message: None,
        };
        diesel::insert_into(lm::table).values(row).execute(conn)?;
        let p: Vec<_> = kv_rows(&id, exp_id, params.clone())
            .into_iter()
            .map(|r| {
                (
                    lmp::model_id.eq(r.model_id),
                    lmp::experiment_id.eq(Int32::from(r.experiment_id)),
                    lmp::key.eq(r.key),
                    lmp::value.eq(r.value),
                )
            })
            .collect();
        diesel::insert_into(lmp::table).values(&p).execute(conn)?;
        diesel::insert_into(lmt::table)
            .values(kv_rows(&id, exp_id, tags.clone()))
            .execute(conn)?;
        Ok(())
    })?;
    tracing::info!(model.id = %model_id, experiment.id = exp_id, "logged model created");
    get(st, &model_id, false)
}

/// A logged model's row, active (or any, with `allow_deleted`).
fn row(
    conn_rows: Option<LoggedModelRow>,
    id: &str,
    allow_deleted: bool,
) -> ApiResult<LoggedModelRow> {
    match conn_rows {
        Some(r) if allow_deleted || r.lifecycle_stage == "active" => Ok(r),
        _ => Err(not_found(id)),
    }
}

pub fn get(st: &AppState, id: &str, allow_deleted: bool) -> ApiResult<LoggedModel> {
    let (r, params, tags, metrics) = db_read!(st.db, |conn| {
        let r = lm_row!(conn, id, allow_deleted)?;
        let (params, tags, metrics) = side_rows!(conn, &[id.to_string()])?;
        (r, params, tags, metrics)
    });
    let mut built = assemble(vec![r], params, tags, metrics);
    Ok(built.remove(0))
}

fn assemble(
    rows: Vec<LoggedModelRow>,
    params: Vec<ModelKvRow>,
    tags: Vec<ModelKvRow>,
    metrics: Vec<LoggedModelMetricRow>,
) -> Vec<LoggedModel> {
    let mut p: HashMap<String, Vec<KeyValue>> = HashMap::new();
    for r in params {
        p.entry(r.model_id).or_default().push(KeyValue {
            key: r.key,
            value: r.value,
        });
    }
    let mut t: HashMap<String, Vec<KeyValue>> = HashMap::new();
    for r in tags {
        t.entry(r.model_id).or_default().push(KeyValue {
            key: r.key,
            value: r.value,
        });
    }
    let mut m: HashMap<String, Vec<Metric>> = HashMap::new();
    for r in metrics {
        m.entry(r.model_id.clone()).or_default().push(Metric {
            key: r.key,
            value: r.value.unwrap_or(f64::NAN),
            timestamp: r.timestamp,
            step: r.step,
            run_id: Some(r.run_id),
            model_id: Some(r.model_id),
            dataset_name: r.dataset_name.filter(|s| !s.is_empty()),
            dataset_digest: r.dataset_digest.filter(|s| !s.is_empty()),
        });
    }
    rows.into_iter()
        .map(|r| LoggedModel {
            data: LoggedModelData {
                params: p.remove(&r.model_id).unwrap_or_default(),
                metrics: m.remove(&r.model_id).unwrap_or_default(),
            },
            info: LoggedModelInfo {
                tags: t.remove(&r.model_id).unwrap_or_default(),
                experiment_id: r.experiment_id.to_string(),
                name: r.name,
                creation_timestamp_ms: r.creation_timestamp_ms,
                last_updated_timestamp_ms: r.last_updated_timestamp_ms,
                artifact_uri: r.artifact_location,
                status: logged_model_status_name(r.status).to_string(),
                model_type: r.model_type.unwrap_or_default(),
                source_run_id: r.source_run_id.unwrap_or_default(),
                status_message: r.status_message,
                model_id: r.model_id,
            },
        })
        .collect()
}

/// `PATCH logged-models/{id}`: set the status (the client sends `LOGGED_MODEL_READY`).
pub fn finalize(st: &AppState, id: &str, status: Option<&str>) -> ApiResult<LoggedModel> {
    let status = v::parse_enum(
        "status",
        required(&status.map(str::to_string), "status")?,
        STATUSES,
        0,
    )?;
    let status = logged_model_status_number(status).unwrap_or(0);
    let now = now_ms();
    db_write!(st.db, |conn| {
        lm_row!(conn, id, false)?;
        diesel::update(lm::table.find(id))
            .set((lm::status.eq(status), lm::last_updated_timestamp_ms.eq(now)))
            .execute(conn)?;
        Ok(())
    })?;
    get(st, id, false)
}

/// Soft delete.
pub fn delete(st: &AppState, id: &str) -> ApiResult<()> {
    let now = now_ms();
    db_write!(st.db, |conn| {
        lm_row!(conn, id, false)?;
        diesel::update(lm::table.find(id))
            .set((
                lm::lifecycle_stage.eq("deleted"),
                lm::last_updated_timestamp_ms.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Upsert tags (a repeated key: the last value wins).
pub fn set_tags(st: &AppState, id: &str, tags: &[KeyValueIn]) -> ApiResult<()> {
    let pairs = pairs(tags, "tag")?;
    db_write!(st.db, |conn| {
        let model = lm_row!(conn, id, false)?;
        for r in kv_rows(id, model.experiment_id, pairs.clone()) {
            let value = r.value.clone();
            diesel::insert_into(lmt::table)
                .values(r)
                .on_conflict((lmt::model_id, lmt::key))
                .do_update()
                .set(lmt::value.eq(value))
                .execute(conn)?;
        }
        Ok(())
    })
}

pub fn delete_tag(st: &AppState, id: &str, key: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        lm_row!(conn, id, false)?;
        let n = diesel::delete(lmt::table.filter(lmt::model_id.eq(id).and(lmt::key.eq(key))))
            .execute(conn)?;
        if n == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with key '{key}' found for logged model '{id}'."
            )));
        }
        Ok(())
    })
}

pub fn log_params(st: &AppState, id: &str, params: &[KeyValueIn]) -> ApiResult<()> {
    let pairs = pairs(params, "param")?;
    db_write!(st.db, |conn| {
        let model = lm_row!(conn, id, false)?;
        for r in &kv_rows(id, model.experiment_id, pairs.clone()) {
            diesel::insert_into(lmp::table)
                .values((
                    lmp::model_id.eq(&r.model_id),
                    lmp::experiment_id.eq(Int32::from(r.experiment_id)),
                    lmp::key.eq(&r.key),
                    lmp::value.eq(&r.value),
                ))
                .on_conflict((lmp::model_id, lmp::key))
                .do_update()
                .set(lmp::value.eq(&r.value))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// `logged-models/search`: active models of the given experiments, filtered and ordered by the shared
/// builder; `order_by` arrives as objects and is read through the same `order_by` parser.
pub fn search(
    st: &AppState,
    req: &SearchLoggedModels,
    visible: &crate::auth::visible::Visible,
) -> ApiResult<(Vec<LoggedModel>, Option<String>)> {
    if req.experiment_ids.is_empty() {
        return Err(ApiError::missing("experiment_ids"));
    }
    let exp_ids = req
        .experiment_ids
        .iter()
        .map(|e| parse_experiment_id(e).map(Bind::Int))
        .collect::<ApiResult<Vec<_>>>()?;
    let max = v::search_max_results(req.max_results, 50, 50_000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filter = parse::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let order = req
        .order_by
        .iter()
        .map(|o| {
            let field = required(&o.field_name, "order_by.field_name")?;
            let dir = if o.ascending.unwrap_or(true) {
                "ASC"
            } else {
                "DESC"
            };
            parse::parse_order_by(&format!("{field} {dir}"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let mut buf = SqlBuf::new(st.db.dialect);
    buf.push("SELECT logged_models.* FROM logged_models WHERE logged_models.lifecycle_stage = 'active' AND logged_models.experiment_id IN ");
    buf.bind_list(exp_ids);
    if let Some(ws) = crate::workspace::current() {
        buf.push(" AND logged_models.experiment_id IN (SELECT experiment_id FROM experiments WHERE workspace = ")
            .bind(Bind::Text(ws.to_string()))
            .push(")");
    }
    push_datasets(&mut buf, &req.datasets)?;
    visible.push(&mut buf, "logged_models.experiment_id", true);
    search::sql::push_where(&mut buf, &targets::LOGGED_MODELS, &filter)?;
    search::sql::push_order_by(&mut buf, &targets::LOGGED_MODELS, &order)?;
    buf.push(&format!(" LIMIT {} OFFSET {}", max + 1, offset));
    let (rows, next, side) = db_read!(st.db, |conn| {
        let mut rows: Vec<LoggedModelRow> = load_dynamic!(conn, LoggedModelRow, buf)?;
        let next = super::registry_search::page(&mut rows, max, offset);
        let ids: Vec<String> = rows.iter().map(|r| r.model_id.clone()).collect();
        let side = side_rows!(conn, &ids)?;
        (rows, next, side)
    });
    let (params, tags, metrics) = side;
    Ok((assemble(rows, params, tags, metrics), next))
}

/// `datasets`: only models with metrics logged on one of the named datasets (MLflow's clause without a
/// metric filter; with one, MLflow also scopes the metric comparison to those datasets, which this
/// approximates by requiring both).
fn push_datasets(
    buf: &mut SqlBuf,
    datasets: &[crate::types::registry::LoggedModelDataset],
) -> ApiResult<()> {
    if datasets.is_empty() {
        return Ok(());
    }
    buf.push(" AND logged_models.model_id IN (SELECT model_id FROM logged_model_metrics WHERE ");
    for (i, d) in datasets.iter().enumerate() {
        let name = d
            .dataset_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::invalid("`dataset_name` in the `datasets` clause must be specified.")
            })?;
        buf.push(if i == 0 { "(" } else { " OR (" });
        buf.push("dataset_name = ")
            .bind(Bind::Text(name.to_string()));
        if let Some(digest) = &d.dataset_digest {
            buf.push(" AND dataset_digest = ")
                .bind(Bind::Text(digest.clone()));
        }
        buf.push(")");
    }
    buf.push(")");
    Ok(())
}

/// The artifact location of an active logged model (for its artifact routes and `models:/m-…` sources).
pub fn artifact_location(st: &AppState, id: &str) -> ApiResult<String> {
    Ok(db_read!(st.db, |conn| lm_row!(conn, id, false)?).artifact_location)
}
