//! Metric history: paged get-history, the UI's down-sampled bulk-interval and the ajax bulk call (§3.3).

use diesel::prelude::*;

use super::run_data::RunReader;
use super::validation as v;
use super::AppState;
use crate::db::models::MetricRow;
use crate::db::schema::metrics as m;
use crate::db_read;
use crate::error::{ApiError, ApiResult};
use crate::search;
use crate::types::entities::Metric;
use crate::types::requests::*;

fn to_wire(r: MetricRow, with_run: bool) -> Metric {
    Metric {
        key: r.key,
        value: if r.is_nan != 0 { f64::NAN } else { r.value },
        timestamp: r.timestamp,
        step: r.step,
        run_id: with_run.then_some(r.run_uuid),
        model_id: None,
        dataset_name: r.dataset_name,
        dataset_digest: r.dataset_digest,
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
    let limit = req.max_results;
    let mut rows: Vec<MetricRow> = db_read!(st.db, |conn| {
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

/// Evenly spaced picks from the sorted distinct `steps`, always keeping the first and last.
pub fn sample_steps(steps: &[i64], max: usize) -> Vec<i64> {
    if steps.len() <= max {
        return steps.to_vec();
    }
    if max <= 1 {
        return steps.iter().take(max).copied().collect();
    }
    let n = steps.len() - 1;
    let mut out: Vec<i64> = (0..max).map(|i| steps[(i * n + (max - 1) / 2) / (max - 1)]).collect();
    out.dedup();
    out
}

fn check_run_ids(ids: &[String], name: &str) -> ApiResult<()> {
    if ids.is_empty() {
        return Err(ApiError::missing(name));
    }
    if ids.len() > 100 {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received {} run_ids.",
            ids.len()
        )));
    }
    Ok(())
}

pub fn bulk_interval(st: &AppState, req: &GetHistoryBulkInterval) -> ApiResult<Vec<Metric>> {
    check_run_ids(&req.run_ids, "run_ids")?;
    let key = required(&req.metric_key, "metric_key")?;
    let max = req.max_results.unwrap_or(2500);
    if !(1..=2500).contains(&max) {
        return Err(ApiError::invalid(format!("max_results must be between 1 and 2500, got {max}.")));
    }
    let range = match (req.start_step, req.end_step) {
        (Some(a), Some(b)) if a > b => {
            return Err(ApiError::invalid(format!("end_step must be greater than start_step. Found start_step={a} and end_step={b}.")))
        }
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        _ => return Err(ApiError::invalid("If either start step or end step are specified, both must be specified.")),
    };
    let mut ids = req.run_ids.clone();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    db_read!(st.db, |conn| {
        for run_id in &ids {
            let mut steps_q = m::table.filter(m::run_uuid.eq(run_id).and(m::key.eq(key))).select(m::step).distinct().order(m::step).into_boxed();
            if let Some((a, b)) = range {
                steps_q = steps_q.filter(m::step.ge(a).and(m::step.le(b)));
            }
            let steps: Vec<i64> = steps_q.load(conn)?;
            let picked = sample_steps(&steps, max as usize);
            if picked.is_empty() {
                continue;
            }
            for chunk in picked.chunks(2000) {
                let rows: Vec<MetricRow> = m::table
                    .filter(m::run_uuid.eq(run_id).and(m::key.eq(key)).and(m::step.eq_any(chunk)))
                    .order((m::step, m::timestamp, m::value))
                    .load(conn)?;
                out.extend(rows.into_iter().map(|r| to_wire(r, true)));
            }
        }
    });
    Ok(out)
}

pub fn bulk(st: &AppState, req: &GetHistoryBulk) -> ApiResult<Vec<Metric>> {
    check_run_ids(&req.run_id, "run_id")?;
    let key = required(&req.metric_key, "metric_key")?;
    let max = req.max_results.unwrap_or(v::GET_METRIC_HISTORY_MAX_RESULTS).clamp(1, v::GET_METRIC_HISTORY_MAX_RESULTS);
    let mut out = Vec::new();
    db_read!(st.db, |conn| {
        for run_id in &req.run_id {
            let rows: Vec<MetricRow> = m::table
                .filter(m::run_uuid.eq(run_id).and(m::key.eq(key)))
                .order((m::timestamp, m::step, m::value))
                .limit(max)
                .load(conn)?;
            out.extend(rows.into_iter().map(|r| to_wire(r, true)));
        }
    });
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id).then(a.step.cmp(&b.step)).then(a.timestamp.cmp(&b.timestamp)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::sample_steps;

    #[test]
    fn sampling_keeps_ends_and_bounds_count() {
        let steps: Vec<i64> = (0..1000).collect();
        let s = sample_steps(&steps, 10);
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], 0);
        assert_eq!(*s.last().unwrap_or(&-1), 999);
        assert_eq!(sample_steps(&[1, 2, 3], 10), vec![1, 2, 3]);
    }
}
