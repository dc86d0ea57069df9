//! Runs: lifecycle, params, metrics, tags, batches, inputs/outputs and search (§3.2, §7.1).

use diesel::prelude::*;

use super::names::random_run_name;
use super::run_data::{info, RunReader};
use super::run_writes::{metric_row, RunWriter};
use super::validation::{self as v, truncate, validate_key};
use super::{now_ms, AppState};
use crate::db::models::{Count, MetricRow, ParamRow, RunRow, TagRow};
use crate::db::schema::{runs, tags};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::search::{self, parse, targets, Bind, SqlBuf};
use crate::storage::uri::append as append_to_uri;
use crate::types::entities::{Run, RunInfo};
use crate::types::requests::*;
use crate::{db_read, db_write, load_dynamic};

pub use super::run_io::{log_inputs, log_outputs};

const RUN_NAME_TAG: &str = "mlflow.runName";
const RUN_STATUSES: &[&str] = &["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

fn tag_row(run_uuid: &str, key: &str, value: &str) -> ApiResult<TagRow> {
    validate_key("tag", key)?;
    Ok(TagRow {
        run_uuid: run_uuid.into(),
        key: key.into(),
        value: truncate(value, v::MAX_TAG_VAL_LENGTH),
    })
}

fn param_row(run_uuid: &str, key: &str, value: &str) -> ApiResult<ParamRow> {
    validate_key("param", key)?;
    Ok(ParamRow {
        run_uuid: run_uuid.into(),
        key: key.into(),
        value: truncate(value, v::MAX_PARAM_VAL_LENGTH),
    })
}

pub fn create(st: &AppState, req: &CreateRun) -> ApiResult<Run> {
    let exp_id = match req.experiment_id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => v::parse_experiment_id(id)?,
        None => {
            return Err(ApiError::new(
                ErrorCode::BAD_REQUEST,
                "Missing value for required parameter 'experiment_id'.",
            ))
        }
    };
    let tag_name = req
        .tags
        .iter()
        .find(|t| t.key.as_deref() == Some(RUN_NAME_TAG))
        .and_then(|t| t.value.clone());
    let run_name = match (req.run_name.as_deref().filter(|s| !s.is_empty()), tag_name.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid(format!(
                "Both 'run_name' parameter and 'mlflow.runName' tag are specified, but with different values \
                 (run_name='{a}', mlflow.runName='{b}')."
            )))
        }
        (Some(a), _) => a.to_string(),
        (None, Some(b)) if !b.is_empty() => b.to_string(),
        _ => random_run_name(),
    };
    let run_uuid = uuid::Uuid::new_v4().simple().to_string();
    let mut tag_rows = Vec::with_capacity(req.tags.len() + 1);
    for t in &req.tags {
        tag_rows.push(tag_row(
            &run_uuid,
            required(&t.key, "tags.key")?,
            t.value.as_deref().unwrap_or(""),
        )?);
    }
    if tag_name.is_none() {
        tag_rows.push(tag_row(&run_uuid, RUN_NAME_TAG, &run_name)?);
    }
    let run = db_write!(st.db, |conn| {
        let exp = active_experiment!(conn, exp_id)?;
        let row = RunRow {
            run_uuid: run_uuid.clone(),
            experiment_id: exp_id,
            name: run_name.clone(),
            user_id: req.user_id.clone().unwrap_or_default(),
            status: "RUNNING".into(),
            start_time: req.start_time.unwrap_or(0),
            end_time: None,
            deleted_time: None,
            lifecycle_stage: "active".into(),
            artifact_uri: append_to_uri(
                &append_to_uri(&exp.artifact_location, &run_uuid),
                "artifacts",
            ),
        };
        diesel::insert_into(runs::table)
            .values(row.clone())
            .execute(conn)?;
        conn.write_tags(&run_uuid, tag_rows.clone())?;
        let mut out = conn.load_runs(vec![row])?;
        out.pop()
            .ok_or_else(|| ApiError::internal("run vanished after insert"))
    })?;
    tracing::debug!(run.id = %run_uuid, experiment.id = exp_id, "run created");
    st.db.wrote_rows(1 + tag_rows.len());
    Ok(run)
}

pub fn get(st: &AppState, run_id: &str) -> ApiResult<Run> {
    db_read!(st.db, |conn| {
        let row = conn.run_row(run_id)?;
        let mut out = conn.load_runs(vec![row])?;
        out.pop()
            .ok_or_else(|| super::run_data::run_not_found(run_id))
    })
}

pub fn update(st: &AppState, req: &UpdateRun) -> ApiResult<RunInfo> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let status = match req.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(v::parse_enum("status", s, RUN_STATUSES, 1)?.to_string()),
        None => None,
    };
    let name = req.run_name.clone().filter(|n| !n.is_empty());
    db_write!(st.db, |conn| {
        let mut row = conn.active_run_row(&run_id)?;
        if let Some(s) = &status {
            row.status = s.clone();
        }
        if let Some(t) = req.end_time {
            row.end_time = Some(t);
        }
        if let Some(n) = &name {
            row.name = n.clone();
            conn.write_tags(&run_id, vec![tag_row(&run_id, RUN_NAME_TAG, n)?])?;
        }
        diesel::update(runs::table.find(&run_id))
            .set((
                runs::status.eq(&row.status),
                runs::end_time.eq(row.end_time),
                runs::name.eq(&row.name),
            ))
            .execute(conn)?;
        Ok(info(&row))
    })
}

/// Move a run's start time (the EvalAI bridge learns when a submission it saw queued really started).
pub fn set_start_time(st: &AppState, run_id: &str, start: i64) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        conn.active_run_row(run_id)?;
        diesel::update(runs::table.find(run_id))
            .set(runs::start_time.eq(start))
            .execute(conn)?;
        Ok(())
    })
}

pub fn set_deleted(st: &AppState, run_id: &str, deleted: bool) -> ApiResult<()> {
    let (stage, when) = if deleted {
        ("deleted", Some(now_ms()))
    } else {
        ("active", None)
    };
    db_write!(st.db, |conn| {
        conn.run_row(run_id)?;
        diesel::update(runs::table.find(run_id))
            .set((runs::lifecycle_stage.eq(stage), runs::deleted_time.eq(when)))
            .execute(conn)?;
        Ok(())
    })
}

pub fn log_metric(st: &AppState, req: &LogMetric) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let key = required(&req.key, "key")?;
    let value = req.value.ok_or_else(|| ApiError::missing("value"))?;
    let ts = req
        .timestamp
        .ok_or_else(|| ApiError::missing("timestamp"))?;
    validate_key("metric", key)?;
    let mut row = metric_row(run_id, key.to_string(), value, ts, req.step.unwrap_or(0));
    row.model_id = req.model_id.clone().filter(|s| !s.is_empty());
    row.dataset_name = req.dataset_name.clone().filter(|s| !s.is_empty());
    row.dataset_digest = req.dataset_digest.clone().filter(|s| !s.is_empty());
    write_batch(st, run_id, Vec::new(), vec![row], Vec::new())
}

pub fn log_param(st: &AppState, req: &RunKeyValue) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let row = param_row(
        run_id,
        required(&req.key, "key")?,
        req.value.as_deref().unwrap_or(""),
    )?;
    write_batch(st, run_id, vec![row], Vec::new(), Vec::new())
}

pub fn set_tag(st: &AppState, req: &RunKeyValue) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let row = tag_row(
        run_id,
        required(&req.key, "key")?,
        req.value.as_deref().unwrap_or(""),
    )?;
    write_batch(st, run_id, Vec::new(), Vec::new(), vec![row])
}

/// The one write path for log-metric, log-parameter, set-tag and log-batch: in one transaction on an active
/// run, params first, then metrics, then tags (MLflow's order); any error writes nothing. On PostgreSQL the
/// run's row is locked first, so writers to one run take their turns: none can cross another's row locks
/// (the deadlock four log-batch clients hit) or move a latest value back with a stale read of it. SQLite
/// has one writer already.
fn write_batch(
    st: &AppState,
    run_id: &str,
    params: Vec<ParamRow>,
    metrics: Vec<MetricRow>,
    tags: Vec<TagRow>,
) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        if st.db.dialect == crate::db::Dialect::Postgres {
            // NO KEY UPDATE: other writers of this run wait; inserts that only reference it do not.
            diesel::sql_query("SELECT run_uuid FROM runs WHERE run_uuid = $1 FOR NO KEY UPDATE")
                .bind::<diesel::sql_types::Text, _>(run_id)
                .execute(conn)?;
        }
        let run = conn.active_run_row(run_id)?;
        conn.write_params(run_id, params)?;
        conn.write_metrics(run_id, run.experiment_id, metrics)?;
        conn.write_tags(run_id, tags)
    })
}

pub fn delete_tag(st: &AppState, req: &RunKeyValue) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let key = required(&req.key, "key")?;
    db_write!(st.db, |conn| {
        conn.active_run_row(run_id)?;
        let n =
            diesel::delete(tags::table.filter(tags::run_uuid.eq(run_id).and(tags::key.eq(key))))
                .execute(conn)?;
        if n == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    })
}

fn check_batch_limits(req: &LogBatch) -> ApiResult<()> {
    let (m, p, t) = (req.metrics.len(), req.params.len(), req.tags.len());
    let limit = |what: &str, n: usize, max: usize| {
        ApiError::invalid(format!(
            "A batch logging request can contain at most {max} {what}. Got {n} {what}. Please split up {what} \
             across multiple requests and try again."
        ))
    };
    if m > v::MAX_METRICS_PER_BATCH {
        return Err(limit("metrics", m, v::MAX_METRICS_PER_BATCH));
    }
    if p > v::MAX_PARAMS_TAGS_PER_BATCH {
        return Err(limit("params", p, v::MAX_PARAMS_TAGS_PER_BATCH));
    }
    if t > v::MAX_PARAMS_TAGS_PER_BATCH {
        return Err(limit("tags", t, v::MAX_PARAMS_TAGS_PER_BATCH));
    }
    if m + p + t > v::MAX_ENTITIES_PER_BATCH {
        return Err(limit("entities", m + p + t, v::MAX_ENTITIES_PER_BATCH));
    }
    Ok(())
}

pub fn log_batch(st: &AppState, req: &LogBatch) -> ApiResult<()> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    v::validate_run_id(run_id)?;
    check_batch_limits(req)?;
    let mut params = Vec::with_capacity(req.params.len());
    for (i, p) in req.params.iter().enumerate() {
        let key = required(&p.key, &format!("params[{i}].key"))?;
        params.push(param_row(run_id, key, p.value.as_deref().unwrap_or(""))?);
    }
    let mut seen = std::collections::HashSet::new();
    let dups: Vec<&str> = params
        .iter()
        .filter(|p| !seen.insert(p.key.as_str()))
        .map(|p| p.key.as_str())
        .collect();
    if !dups.is_empty() {
        return Err(ApiError::invalid(format!("Duplicate parameter keys have been submitted: {dups:?}. Please ensure the request contains only one param value per param key.")));
    }
    let mut metrics = Vec::with_capacity(req.metrics.len());
    for (i, m) in req.metrics.iter().enumerate() {
        let key = required(&m.key, &format!("metrics[{i}].key"))?;
        let value = m
            .value
            .ok_or_else(|| ApiError::missing(&format!("metrics[{i}].value")))?;
        let ts = m
            .timestamp
            .ok_or_else(|| ApiError::missing(&format!("metrics[{i}].timestamp")))?;
        validate_key("metric", key)?;
        let mut row = metric_row(run_id, key.to_string(), value, ts, m.step.unwrap_or(0));
        row.model_id = m.model_id.clone().filter(|s| !s.is_empty());
        row.dataset_name = m.dataset_name.clone().filter(|s| !s.is_empty());
        row.dataset_digest = m.dataset_digest.clone().filter(|s| !s.is_empty());
        metrics.push(row);
    }
    let mut tag_rows = Vec::with_capacity(req.tags.len());
    for (i, t) in req.tags.iter().enumerate() {
        tag_rows.push(tag_row(
            run_id,
            required(&t.key, &format!("tags[{i}].key"))?,
            t.value.as_deref().unwrap_or(""),
        )?);
    }
    let rows = params.len() + metrics.len() + tag_rows.len();
    write_batch(st, run_id, params, metrics, tag_rows)?;
    st.db.wrote_rows(rows);
    Ok(())
}

pub fn search(
    st: &AppState,
    req: &SearchRuns,
    visible: &crate::auth::visible::Visible,
) -> ApiResult<(Vec<Run>, Option<String>)> {
    let max = v::search_max_results(
        req.max_results,
        v::SEARCH_MAX_RESULTS_DEFAULT,
        v::SEARCH_MAX_RESULTS_THRESHOLD,
    )?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filter = parse::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let order: Vec<parse::OrderItem> = req
        .order_by
        .iter()
        .filter(|o| !o.trim().is_empty())
        .map(|o| parse::parse_order_by(o))
        .collect::<Result<_, _>>()?;
    let exp_ids: Vec<Bind> = req
        .experiment_ids
        .iter()
        .map(|e| v::parse_experiment_id(e).map(Bind::Int))
        .collect::<Result<_, _>>()?;
    if exp_ids.is_empty() {
        return Ok((Vec::new(), None));
    }
    // The runs the request may see that match its filter, with `select` (and room for joins).
    let base = |select: &str| -> ApiResult<SqlBuf> {
        let mut buf = SqlBuf::new(st.db.dialect);
        buf.push(select)
            .push(" FROM runs")
            .mark_joins()
            .push(" WHERE runs.experiment_id IN ")
            .bind_list(exp_ids.clone());
        if let Some(stage) = v::lifecycle_filter("run_view_type", req.run_view_type.as_deref())? {
            buf.push(" AND runs.lifecycle_stage = ")
                .bind(Bind::Text(stage.into()));
        }
        visible.push(&mut buf, "runs.experiment_id", true);
        if let Some(ws) = crate::workspace::current() {
            buf.push(
                " AND runs.experiment_id IN (SELECT experiment_id FROM experiments WHERE workspace = ",
            )
            .bind(Bind::Text(ws.to_string()))
            .push(")");
        }
        search::sql::push_where(&mut buf, &targets::RUNS, &filter)?;
        Ok(buf)
    };
    let limit = max + 1;
    let Some(kv) = search::sql::leading_key(&targets::RUNS, &order) else {
        let mut buf = base("SELECT runs.*")?;
        search::sql::push_order_by(&mut buf, &targets::RUNS, &order)?;
        buf.push(&format!(" LIMIT {limit} OFFSET {offset}"));
        let runs_out = db_read!(st.db, |conn| {
            let rows: Vec<RunRow> = load_dynamic!(conn, RunRow, buf)?;
            conn.load_runs(rows)?
        });
        return Ok(page_of(runs_out, max, offset));
    };
    // Led by a metric, param or tag: the runs that have it, read in its index's order (a page stops
    // early instead of sorting every match), then, once those run out, the runs without it.
    let key = order[0].key.as_str();
    let group = |with: bool, limit: i64, offset: i64| -> ApiResult<SqlBuf> {
        let mut buf = base("SELECT runs.*")?;
        search::sql::push_group(&mut buf, kv, key, with);
        search::sql::push_order_by_in_group(&mut buf, &targets::RUNS, &order, with)?;
        buf.push(&format!(" LIMIT {limit} OFFSET {offset}"));
        Ok(buf)
    };
    let with = group(true, limit, offset)?;
    let runs_out = db_read!(st.db, |conn| {
        let mut rows: Vec<RunRow> = load_dynamic!(conn, RunRow, with)?;
        let got = rows.len() as i64;
        if got < limit {
            // How many runs have the key: all of them are before this page's end.
            let before = if got == 0 && offset > 0 {
                let mut count = base("SELECT CAST(count(*) AS BIGINT) AS n")?;
                search::sql::push_group(&mut count, kv, key, true);
                load_dynamic!(conn, Count, count)?
                    .first()
                    .map_or(0, |c| c.n)
            } else {
                offset + got
            };
            let without = group(false, limit - got, (offset - before).max(0))?;
            rows.extend(load_dynamic!(conn, RunRow, without)?);
        }
        conn.load_runs(rows)?
    });
    Ok(page_of(runs_out, max, offset))
}

/// A page of at most `max` runs (one more was asked for, to know whether another page follows).
fn page_of(mut runs_out: Vec<Run>, max: i64, offset: i64) -> (Vec<Run>, Option<String>) {
    let next = if runs_out.len() as i64 > max {
        runs_out.truncate(max as usize);
        Some(search::encode_page_token(offset + max))
    } else {
        None
    };
    (runs_out, next)
}
