//! The bridge's rows: one per tracked submission (its state, run, version, attempts, last error and the
//! metrics a webhook sent before the record was pulled) and one watermark per polled challenge.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::harvester::{harvester_evalai_submissions as s, harvester_evalai_watermarks as w};
use crate::db::Db;
use crate::error::ApiResult;
use crate::jobs::{enqueue_in, NewJob};
use crate::service::now_ms;
use crate::{db_read, db_write};

/// A tracked submission, as stored and as listed by `GET /api/harvester/v1/evalai/submissions`.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = s)]
pub struct Submission {
    pub installation: String,
    pub submission_id: i64,
    pub challenge_id: Option<i64>,
    pub phase_id: Option<i64>,
    /// EvalAI's status when last pulled.
    pub evalai_status: Option<String>,
    /// `queued` (signalled, not pulled yet), `pulled` (its run exists; not finished on EvalAI),
    /// `logged` (finished there, with metrics and files), `registered` (and its model is a version),
    /// `failed` (see `last_error`).
    pub state: String,
    pub run_id: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<i64>,
    #[serde(skip)]
    pub pending_metrics: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Record a signal for a submission and queue its pull, in one transaction. `metrics` (a signed
/// webhook's figures) are kept on the row until the pull applies them.
pub fn signal(
    db: &Db,
    installation: &str,
    id: i64,
    metrics: &[(String, f64)],
    job: &NewJob,
) -> ApiResult<()> {
    db_write!(db, |conn| {
        let now = now_ms();
        let existing: Option<Option<String>> = s::table
            .find((installation, id))
            .select(s::pending_metrics)
            .first(conn)
            .optional()?;
        let merged = merge_metrics(existing.clone().flatten().as_deref(), metrics);
        match existing {
            None => {
                diesel::insert_into(s::table)
                    .values((
                        s::installation.eq(installation),
                        s::submission_id.eq(id),
                        s::state.eq("queued"),
                        s::pending_metrics.eq(merged),
                        s::attempts.eq(0),
                        s::created_at.eq(now),
                        s::updated_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            Some(_) if !metrics.is_empty() => {
                diesel::update(s::table.find((installation, id)))
                    .set((s::pending_metrics.eq(merged), s::updated_at.eq(now)))
                    .execute(conn)?;
            }
            Some(_) => {}
        }
        enqueue_in(conn, job)
    })
}

/// `old` (a JSON object) with `new` laid over it.
fn merge_metrics(old: Option<&str>, new: &[(String, f64)]) -> Option<String> {
    let mut map: serde_json::Map<String, serde_json::Value> = old
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    for (k, v) in new {
        map.insert(k.clone(), serde_json::json!(v));
    }
    (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
}

/// The pending metrics of a row, decoded.
pub fn pending(row: &Submission) -> Vec<(String, f64)> {
    row.pending_metrics
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p).ok())
        .map(|m| {
            m.into_iter()
                .filter_map(|(k, v)| v.as_f64().map(|x| (k, x)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn get(db: &Db, installation: &str, id: i64) -> ApiResult<Option<Submission>> {
    db_read!(db, |conn| Ok(s::table
        .find((installation, id))
        .select(Submission::as_select())
        .first(conn)
        .optional()?))
}

/// Make sure a row exists (a poll found the submission) and return it.
pub fn seen(db: &Db, installation: &str, id: i64) -> ApiResult<Submission> {
    if let Some(row) = get(db, installation, id)? {
        return Ok(row);
    }
    db_write!(db, |conn| {
        let now = now_ms();
        diesel::insert_into(s::table)
            .values((
                s::installation.eq(installation),
                s::submission_id.eq(id),
                s::state.eq("queued"),
                s::attempts.eq(0),
                s::created_at.eq(now),
                s::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        Ok(s::table
            .find((installation, id))
            .select(Submission::as_select())
            .first(conn)?)
    })
}

/// What a pull learnt about a submission.
#[derive(Debug, Default)]
pub struct Progress<'a> {
    pub challenge_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub evalai_status: Option<&'a str>,
    pub state: Option<&'a str>,
    pub run_id: Option<&'a str>,
    pub model: Option<(&'a str, i64)>,
    /// The pending metrics just logged: cleared from the row unless a webhook added more meanwhile.
    pub clear_pending: Option<String>,
    /// Something refused on the way (a foreign file URL), kept as the row's last error.
    pub warning: Option<String>,
    /// The pull went through: forget the last error (unless `warning` replaces it).
    pub clear_error: bool,
}

pub fn record(db: &Db, installation: &str, id: i64, p: &Progress) -> ApiResult<()> {
    db_write!(db, |conn| {
        let target = s::table.find((installation, id));
        let now = now_ms();
        diesel::update(target)
            .set(s::updated_at.eq(now))
            .execute(conn)?;
        if p.warning.is_some() || p.clear_error {
            diesel::update(target)
                .set(s::last_error.eq(p.warning.clone()))
                .execute(conn)?;
        }
        if let Some(c) = p.challenge_id {
            diesel::update(target)
                .set(s::challenge_id.eq(c))
                .execute(conn)?;
        }
        if let Some(ph) = p.phase_id {
            diesel::update(target)
                .set(s::phase_id.eq(ph))
                .execute(conn)?;
        }
        if let Some(st) = p.evalai_status {
            diesel::update(target)
                .set(s::evalai_status.eq(st))
                .execute(conn)?;
        }
        if let Some(st) = p.state {
            diesel::update(target).set(s::state.eq(st)).execute(conn)?;
        }
        if let Some(r) = p.run_id {
            diesel::update(target).set(s::run_id.eq(r)).execute(conn)?;
        }
        if let Some((name, version)) = p.model {
            diesel::update(target)
                .set((s::model_name.eq(name), s::model_version.eq(version)))
                .execute(conn)?;
        }
        if let Some(logged) = &p.clear_pending {
            diesel::update(target.filter(s::pending_metrics.eq(logged)))
                .set(s::pending_metrics.eq(None::<String>))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// A failed pull: counted, with its error; `permanent` marks the submission failed.
pub fn record_failure(
    db: &Db,
    installation: &str,
    id: i64,
    error: &str,
    permanent: bool,
) -> ApiResult<()> {
    let error: String = error.chars().take(2000).collect();
    db_write!(db, |conn| {
        let target = s::table.find((installation, id));
        diesel::update(target)
            .set((
                s::attempts.eq(s::attempts + 1),
                s::last_error.eq(Some(&error)),
                s::updated_at.eq(now_ms()),
            ))
            .execute(conn)?;
        if permanent {
            diesel::update(target)
                .set(s::state.eq("failed"))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Tracked submissions, newest first (at most 1,000), optionally of one installation and state.
pub fn list(db: &Db, name: Option<&str>, state: Option<&str>) -> ApiResult<Vec<Submission>> {
    db_read!(db, |conn| {
        let mut q = s::table.select(Submission::as_select()).into_boxed();
        if let Some(n) = name {
            q = q.filter(s::installation.eq(n.to_string()));
        }
        if let Some(st) = state {
            q = q.filter(s::state.eq(st.to_string()));
        }
        Ok(q.order((s::updated_at.desc(), s::submission_id.desc()))
            .limit(1000)
            .load(conn)?)
    })
}

/// Known submissions of a challenge that EvalAI has not finished yet (re-checked by every poll).
pub fn unfinished(db: &Db, installation: &str, challenge: i64) -> ApiResult<Vec<i64>> {
    db_read!(db, |conn| Ok(s::table
        .filter(s::installation.eq(installation))
        .filter(s::challenge_id.eq(challenge))
        .filter(s::state.eq_any(["queued", "pulled"]))
        .select(s::submission_id)
        .load(conn)?))
}

pub fn watermark(db: &Db, installation: &str, challenge: i64) -> ApiResult<Option<String>> {
    db_read!(db, |conn| Ok(w::table
        .find((installation, challenge))
        .select(w::submitted_after)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten()))
}

pub fn set_watermark(
    db: &Db,
    installation: &str,
    challenge: i64,
    mark: Option<&str>,
) -> ApiResult<()> {
    db_write!(db, |conn| {
        let now = now_ms();
        diesel::insert_into(w::table)
            .values((
                w::installation.eq(installation),
                w::challenge_id.eq(challenge),
                w::submitted_after.eq(mark),
                w::polled_at.eq(now),
            ))
            .on_conflict((w::installation, w::challenge_id))
            .do_update()
            .set((w::submitted_after.eq(mark), w::polled_at.eq(now)))
            .execute(conn)?;
        Ok(())
    })
}

/// How many submissions of a challenge are in each state.
pub fn states(db: &Db, installation: &str, challenge: i64) -> ApiResult<Vec<(String, i64)>> {
    db_read!(db, |conn| Ok(s::table
        .filter(s::installation.eq(installation))
        .filter(s::challenge_id.eq(challenge))
        .group_by(s::state)
        .select((s::state, diesel::dsl::count_star()))
        .order(s::state)
        .load(conn)?))
}
