//! Metric history: paged get-history, the UI's down-sampled bulk-interval and the ajax bulk call (§3.3).

use diesel::prelude::*;

use super::run_data::RunReader;
use super::validation as v;
use super::AppState;
use crate::db::models::MetricPointRow;
use crate::db::schema::metrics as m;
use crate::db::Dialect;
use crate::error::{ApiError, ApiResult};
use crate::search;
use crate::search::{Bind, SqlBuf};
use crate::types::entities::Metric;
use crate::types::requests::*;
use crate::{db_read, load_dynamic};

fn to_wire(r: MetricPointRow, with_run: bool) -> Metric {
    Metric {
        key: r.key,
        value: if r.is_nan { f64::NAN } else { r.value },
        timestamp: r.timestamp,
        step: r.step,
        run_id: with_run.then_some(r.run_uuid),
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

/// Points per chunk when streaming a whole history.
pub const STREAM_CHUNK: i64 = 10_000;

#[derive(Debug, QueryableByName)]
struct HistRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    timestamp: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    step: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    value: f64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_nan: bool,
}

fn write_point(out: &mut Vec<u8>, key_json: &str, r: &HistRow) {
    use std::io::Write;
    out.extend_from_slice(b"{\"key\":");
    out.extend_from_slice(key_json.as_bytes());
    out.extend_from_slice(b",\"value\":");
    if r.is_nan {
        out.extend_from_slice(b"\"NaN\"");
    } else {
        let _ = serde_json::to_writer(&mut *out, &r.value);
    }
    let _ = write!(out, ",\"timestamp\":{},\"step\":{}}}", r.timestamp, r.step);
}

/// Check that a whole-history request can be answered (run exists, key given) before streaming starts,
/// so errors still get a proper status.
pub fn history_precheck(st: &AppState, req: &GetMetricHistory) -> ApiResult<(String, String)> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let key = required(&req.metric_key, "metric_key")?.to_string();
    db_read!(st.db, |conn| conn.run_row(&run_id))?;
    Ok((run_id, key))
}

/// Stream a whole metric history as the JSON body `{"metrics":[…]}` (or `{}` when empty), reading it in
/// keyset-ordered chunks of [`STREAM_CHUNK`] so memory stays flat whatever the history length. `emit` gets
/// each serialised chunk and returns false when the client has gone away.
pub fn stream_history(
    st: &AppState,
    run_id: &str,
    key: &str,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> ApiResult<()> {
    let key_json = serde_json::to_string(key).unwrap_or_else(|_| "\"\"".into());
    let mut after: Option<(i64, i64, f64, bool)> = None;
    let mut first = true;
    loop {
        let mut buf = SqlBuf::new(st.db.dialect);
        buf.push("SELECT timestamp, step, value, is_nan FROM metrics WHERE run_uuid = ");
        buf.bind(Bind::Text(run_id.into()))
            .push(" AND key = ")
            .bind(Bind::Text(key.into()));
        if let Some((t, s, v, n)) = after {
            buf.push(" AND (timestamp, step, value, is_nan) > (")
                .bind(Bind::Int(t))
                .push(", ")
                .bind(Bind::Int(s));
            buf.push(", ")
                .bind(Bind::Float(v))
                .push(", ")
                .bind(Bind::Bool(n))
                .push(")");
        }
        buf.push(&format!(
            " ORDER BY timestamp, step, value, is_nan LIMIT {STREAM_CHUNK}"
        ));
        let rows: Vec<HistRow> = db_read!(st.db, |conn| load_dynamic!(conn, HistRow, buf)?);
        let mut out = Vec::with_capacity(rows.len() * 80 + 16);
        if first {
            if rows.is_empty() {
                emit(b"{}".to_vec());
                return Ok(());
            }
            out.extend_from_slice(b"{\"metrics\":[");
        }
        for (i, r) in rows.iter().enumerate() {
            if !(first && i == 0) {
                out.push(b',');
            }
            write_point(&mut out, &key_json, r);
        }
        first = false;
        let done = (rows.len() as i64) < STREAM_CHUNK;
        if done {
            out.extend_from_slice(b"]}");
        }
        if !emit(out) || done {
            return Ok(());
        }
        after = rows
            .last()
            .map(|r| (r.timestamp, r.step, r.value, r.is_nan));
    }
}

/// get-history: all points without `max_results`, else pages of `max_results` with an offset token.
pub fn history(st: &AppState, req: &GetMetricHistory) -> ApiResult<(Vec<Metric>, Option<String>)> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let key = required(&req.metric_key, "metric_key")?;
    if let Some(n) = req.max_results {
        if n < 1 {
            return Err(ApiError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
            )));
        }
    }
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    // A page holds at most 25,000 points (MLflow's bulk cap), whatever max_results asks: memory stays
    // bounded, and the client pages on with the token as it would for any smaller page.
    let limit = req
        .max_results
        .map(|n| n.min(crate::service::validation::GET_METRIC_HISTORY_MAX_RESULTS));
    let mut rows: Vec<MetricPointRow> = db_read!(st.db, |conn| {
        conn.run_row(run_id)?;
        let q = m::table
            .filter(m::run_uuid.eq(run_id).and(m::key.eq(key)))
            .order((m::timestamp, m::step, m::value))
            .offset(offset);
        match limit {
            Some(n) => q.limit(n + 1).load(conn)?,
            None => q.load(conn)?,
        }
    });
    let next = match limit {
        Some(n) if rows.len() as i64 > n => {
            rows.truncate(n as usize);
            Some(search::encode_page_token(offset + n))
        }
        _ => None,
    };
    Ok((rows.into_iter().map(|r| to_wire(r, false)).collect(), next))
}

/// The run-id list of the two bulk routes, refused in each handler's own words.
fn check_run_ids(ids: &[String], interval: bool) -> ApiResult<()> {
    match (ids.is_empty(), interval) {
        (true, true) => return Err(ApiError::missing("run_ids")),
        (true, false) => {
            return Err(ApiError::invalid(
                "GetMetricHistoryBulk request must specify at least one run_id.",
            ))
        }
        _ => {}
    }
    if ids.len() > 100 {
        return Err(ApiError::invalid(if interval {
            format!(
                "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received {} run_ids.",
                ids.len()
            )
        } else {
            format!(
                "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received {} run_ids.",
                ids.len()
            )
        }));
    }
    Ok(())
}

pub fn bulk_interval(st: &AppState, req: &GetHistoryBulkInterval) -> ApiResult<Vec<Metric>> {
    check_run_ids(&req.run_ids, true)?;
    let key = required(&req.metric_key, "metric_key")?;
    let max = req.max_results.unwrap_or(2500);
    if !(1..=2500).contains(&max) {
        return Err(ApiError::invalid(format!(
            "max_results must be between 1 and 2500, got {max}."
        )));
    }
    let range = match (req.start_step, req.end_step) {
        (Some(a), Some(b)) if a > b => {
            return Err(ApiError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={a} and end_step={b}."
            )))
        }
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "If either start step or end step are specified, both must be specified.",
            ))
        }
    };
    let mut out = Vec::new();
    db_read!(st.db, |conn| {
        for run_id in &req.run_ids {
            conn.run_row(run_id)?;
        }
        for run_id in &req.run_ids {
            let (buf, last) = sample_sql(st.db.dialect, run_id, key, max, range);
            let mut rows: Vec<SampleRow> = load_dynamic!(conn, SampleRow, buf)?;
            let last: Vec<SampleRow> = load_dynamic!(conn, SampleRow, last)?;
            if let Some(l) = last.into_iter().next() {
                if rows.last() != Some(&l) {
                    if rows.len() as i64 >= max {
                        rows.pop();
                    }
                    rows.push(l);
                }
            }
            out.extend(rows.into_iter().map(|r| Metric {
                key: key.to_string(),
                value: if r.is_nan { f64::NAN } else { r.value },
                timestamp: r.timestamp,
                step: r.step,
                run_id: Some(run_id.clone()),
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            }));
        }
    });
    Ok(out)
}

#[derive(Debug, PartialEq, QueryableByName)]
struct SampleRow {
    #[diesel(sql_type = diesel::sql_types::Double)]
    value: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    timestamp: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    step: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_nan: bool,
}

/// MLflow 3.17's down-sampling, in SQL: split the ordered points into `max` NTILE buckets and keep the
/// first point of each; the second statement fetches the global last point, which is always kept.
fn sample_sql(
    dialect: Dialect,
    run_id: &str,
    key: &str,
    max: i64,
    range: Option<(i64, i64)>,
) -> (SqlBuf, SqlBuf) {
    let filter = |buf: &mut SqlBuf| {
        buf.push(" FROM metrics WHERE run_uuid = ")
            .bind(Bind::Text(run_id.into()));
        buf.push(" AND key = ").bind(Bind::Text(key.into()));
        if let Some((a, b)) = range {
            buf.push(" AND step >= ")
                .bind(Bind::Int(a))
                .push(" AND step <= ")
                .bind(Bind::Int(b));
        }
    };
    let mut sample = SqlBuf::new(dialect);
    sample.push(&format!(
        "SELECT value, timestamp, step, is_nan FROM (SELECT value, timestamp, step, is_nan, ROW_NUMBER() OVER \
         (PARTITION BY bucket ORDER BY step, timestamp, value, is_nan) AS rn FROM (SELECT value, timestamp, step, \
         is_nan, NTILE({max}) OVER (ORDER BY step, timestamp, value, is_nan) AS bucket"
    ));
    filter(&mut sample);
    sample.push(") b) r WHERE rn = 1 ORDER BY step, timestamp, value, is_nan");
    let mut last = SqlBuf::new(dialect);
    last.push("SELECT value, timestamp, step, is_nan");
    filter(&mut last);
    last.push(" ORDER BY step DESC, timestamp DESC, value DESC, is_nan DESC LIMIT 1");
    (sample, last)
}

pub fn bulk(st: &AppState, req: &GetHistoryBulk) -> ApiResult<Vec<Metric>> {
    check_run_ids(&req.run_id, false)?;
    let key = req.metric_key.as_deref().ok_or_else(|| {
        ApiError::invalid("GetMetricHistoryBulk request must specify a metric_key.")
    })?;
    let max = req
        .max_results
        .unwrap_or(v::GET_METRIC_HISTORY_MAX_RESULTS)
        .clamp(1, v::GET_METRIC_HISTORY_MAX_RESULTS);
    let mut out = Vec::new();
    db_read!(st.db, |conn| {
        for run_id in &req.run_id {
            let rows: Vec<MetricPointRow> = m::table
                .filter(m::run_uuid.eq(run_id).and(m::key.eq(key)))
                .order((m::timestamp, m::step, m::value))
                .limit(max)
                .load(conn)?;
            out.extend(rows.into_iter().map(|r| to_wire(r, true)));
        }
    });
    out.sort_by(|a, b| {
        a.run_id
            .cmp(&b.run_id)
            .then(a.step.cmp(&b.step))
            .then(a.timestamp.cmp(&b.timestamp))
    });
    Ok(out)
}
