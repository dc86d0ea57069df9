//! The scan lifecycle of model versions. Every new version (whoever created it) gets a `pending` scan
//! row, the tag `harvester.scan.status=pending` and a `scan.version` job, all in the transaction that
//! creates it; the job (`scan_jobs`) records `passed`, `failed` or `error`, the finding counts and the
//! full report. A rescan and an admin's override are recorded in the row's history. Clients cannot set
//! or delete `harvester.scan.*` tags: only this module writes them.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::{now_ms, AppState};
use crate::db::columns::Int32;
use crate::db::harvester::harvester_scans as hs;
use crate::db::insert::InsertRows;
use crate::db::schema::{
    model_version_tags as mvt, model_versions as mv, registered_model_tags as rmt,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::jobs::{enqueue_in, NewJob};
use crate::search::Bind;
use crate::{db_read, db_write};

pub const KIND: &str = "scan.version";
pub const TAG_PREFIX: &str = "harvester.scan.";
pub const STATUS_TAG: &str = "harvester.scan.status";

/// A scan as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = hs)]
pub struct ScanRow {
    pub name: String,
    pub version: i32,
    pub status: String,
    pub report: Option<String>,
    pub error: Option<String>,
    pub high: i32,
    pub medium: i32,
    pub low: i32,
    pub scanned_at: Option<i64>,
    pub override_status: Option<String>,
    pub override_reason: Option<String>,
    pub override_at: Option<i64>,
    pub history: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ScanRow {
    /// The status that counts: an admin's override while it stands, else the scan's own.
    pub fn effective_status(&self) -> &str {
        self.override_status.as_deref().unwrap_or(&self.status)
    }
}

/// The job's payload.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScanJob {
    pub name: String,
    pub version: i64,
}

/// Refuse a client's write of a scanner-owned tag (403, as a permission the client does not have).
pub fn guard_tag(key: &str) -> ApiResult<()> {
    if key.starts_with(TAG_PREFIX) {
        return Err(ApiError::new(
            ErrorCode::PERMISSION_DENIED,
            format!(
                "Tag '{key}' is set by Harvester's scanner and cannot be set or deleted by clients; \
                 use POST /api/harvester/v1/scans/{{model}}/{{version}}/rescan or /override"
            ),
        ));
    }
    Ok(())
}

/// Upsert scanner tags of a version (inside the caller's transaction).
fn put_tags<C: InsertRows>(
    conn: &mut C,
    name: &str,
    version: i64,
    tags: &[(&str, String)],
) -> ApiResult<()> {
    let rows: Vec<Vec<Bind>> = tags
        .iter()
        .map(|(k, v)| {
            vec![
                Bind::Text((*k).into()),
                Bind::Text(v.clone()),
                Bind::Text(name.into()),
                Bind::Int(version),
                Bind::Text(crate::workspace::effective().to_string()),
            ]
        })
        .collect();
    conn.insert_rows(
        "model_version_tags",
        &["key", "value", "name", "version", "workspace"],
        &rows,
        "ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = excluded.value",
    )?;
    Ok(())
}

fn event(kind: &str, extra: Value) -> Value {
    let mut e = json!({"at": now_ms(), "event": kind});
    if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
        o.extend(x);
    }
    e
}

/// Queue the scan of a version inside the transaction that creates it (or asks for a rescan):
/// the row goes (back) to `pending`, the status tag says so, and the job is queued. `why` starts the
/// history of a new row (an existing row's history is the caller's to extend).
pub fn queue_in<C: InsertRows>(conn: &mut C, name: &str, version: i64, why: &str) -> ApiResult<()> {
    let now = now_ms();
    let history = Value::Array(vec![event(why, json!({}))]).to_string();
    conn.insert_rows(
        "harvester_scans",
        &["name", "version", "status", "history", "created_at", "updated_at", "workspace"],
        &[vec![
            Bind::Text(name.into()),
            Bind::Int(version),
            Bind::Text("pending".into()),
            Bind::Text(history),
            Bind::Int(now),
            Bind::Int(now),
            Bind::Text(crate::workspace::effective().to_string()),
        ]],
        "ON CONFLICT (workspace, name, version) DO UPDATE SET status = 'pending', updated_at = excluded.updated_at",
    )?;
    put_tags(conn, name, version, &[(STATUS_TAG, "pending".into())])?;
    enqueue_in(conn, &scan_job(name, version))
}

/// After a model is renamed (its scan rows cascade to the new name): the scans still `pending` were
/// queued under the old name, which their jobs no longer find, so queue them again under the new one.
pub fn follow_rename_in<C: InsertRows>(
    conn: &mut C,
    new_name: &str,
    pending: &[i32],
) -> ApiResult<()> {
    for &version in pending {
        enqueue_in(conn, &scan_job(new_name, version.into()))?;
    }
    Ok(())
}

/// The versions of a model whose scan is pending (for [`follow_rename_in`]).
#[macro_export]
macro_rules! pending_scans {
    ($conn:expr, $name:expr) => {{
        use $crate::db::harvester::harvester_scans as hs;
        hs::table
            .filter(hs::workspace.eq(&*crate::workspace::effective()))
            .filter(hs::name.eq($name).and(hs::status.eq("pending")))
            .select(hs::version)
            .load::<i32>($conn)?
    }};
}

fn scan_job(name: &str, version: i64) -> NewJob {
    NewJob::new(
        KIND,
        json!(ScanJob {
            name: name.into(),
            version
        }),
    )
    .key(format!("scan:{name}:{version}"))
}

pub fn get(st: &AppState, name: &str, version: i64) -> ApiResult<ScanRow> {
    let v = Int32::from(version).0;
    let row = db_read!(st.db, |conn| {
        hs::table
            .filter(hs::workspace.eq(&*crate::workspace::effective()))
            .filter(hs::name.eq(name).and(hs::version.eq(v)))
            .select(ScanRow::as_select())
            .first(conn)
            .optional()?
    });
    row.ok_or_else(|| {
        ApiError::not_found(format!("No scan of model '{name}' version {version} (the version does not exist, or is a prompt)"))
    })
}

fn append_history(old: &str, e: Value) -> String {
    let mut list: Vec<Value> = serde_json::from_str(old).unwrap_or_default();
    list.push(e);
    Value::Array(list).to_string()
}

/// Scan again (after an advisory update, say): back to `pending`, recorded, queued.
pub fn rescan(st: &AppState, name: &str, version: i64, by: &str) -> ApiResult<ScanRow> {
    let old = get(st, name, version)?;
    let v = Int32::from(version).0;
    db_write!(st.db, |conn| {
        let history = append_history(&old.history, event("rescan", json!({"by": by})));
        diesel::update(
            hs::table
                .filter(hs::workspace.eq(&*crate::workspace::effective()))
                .filter(hs::name.eq(name).and(hs::version.eq(v))),
        )
        .set((hs::history.eq(history), hs::updated_at.eq(now_ms())))
        .execute(conn)?;
        queue_in(conn, name, version, "rescan")
    })?;
    st.jobs.wake();
    get(st, name, version)
}

/// An admin's decision over the scan's: `status` is `passed` or `failed`, with a reason. It stands until
/// the next scan of the version.
pub fn override_status(
    st: &AppState,
    name: &str,
    version: i64,
    status: &str,
    reason: &str,
    by: &str,
) -> ApiResult<ScanRow> {
    if !matches!(status, "passed" | "failed") {
        return Err(ApiError::invalid(format!("Invalid value '{status}' for parameter 'status' supplied: expected 'passed' or 'failed'")));
    }
    if reason.trim().is_empty() {
        return Err(ApiError::invalid("An override needs a 'reason'"));
    }
    let old = get(st, name, version)?;
    let v = Int32::from(version).0;
    db_write!(st.db, |conn| {
        let now = now_ms();
        let history = append_history(
            &old.history,
            event(
                "override",
                json!({"by": by, "status": status, "reason": reason, "scan_status": old.status}),
            ),
        );
        diesel::update(
            hs::table
                .filter(hs::workspace.eq(&*crate::workspace::effective()))
                .filter(hs::name.eq(name).and(hs::version.eq(v))),
        )
        .set((
            hs::override_status.eq(Some(status)),
            hs::override_reason.eq(Some(reason)),
            hs::override_at.eq(Some(now)),
            hs::history.eq(history),
            hs::updated_at.eq(now),
        ))
        .execute(conn)?;
        put_tags(
            conn,
            name,
            version,
            &[
                (STATUS_TAG, status.to_string()),
                ("harvester.scan.override", reason.to_string()),
            ],
        )
    })?;
    get(st, name, version)
}

/// What a finished scan job records.
pub enum Outcome {
    Report(crate::scan::Report),
    /// The scan could not be run (the version's files are gone, say).
    Error(String),
}

/// Record a scan's outcome: the row, the history and the tags. A version deleted meanwhile is left alone.
pub fn record(st: &AppState, name: &str, version: i64, outcome: &Outcome) -> ApiResult<()> {
    let v = Int32::from(version).0;
    let (status, report, error, counts) = match outcome {
        Outcome::Report(r) => {
            let status = match r.verdict {
                crate::scan::Verdict::Passed => "passed",
                crate::scan::Verdict::Failed => "failed",
            };
            (status, serde_json::to_string(r).ok(), None, r.counts)
        }
        Outcome::Error(e) => ("error", None, Some(e.clone()), Default::default()),
    };
    db_write!(st.db, |conn| {
        // The version first, and on PostgreSQL with a share lock: a rename (which locks its versions for
        // update) either waits for this record or has moved the version away, when the rename has queued
        // the scan again under the new name.
        let exists: i64 = if st.db.dialect == crate::db::Dialect::Postgres {
            diesel::sql_query(format!(
                "SELECT version FROM model_versions WHERE name = $1 AND version = $2{} FOR SHARE",
                crate::workspace::sql_predicate("workspace")
            ))
            .bind::<diesel::sql_types::Text, _>(name)
            .bind::<diesel::sql_types::Integer, _>(v)
            .execute(conn)? as i64
        } else {
            mv::table
                .filter(mv::workspace.eq(&*crate::workspace::effective()))
                .filter(mv::name.eq(name).and(mv::version.eq(v)))
                .count()
                .get_result(conn)?
        };
        if exists == 0 {
            return Ok(());
        }
        let old: Option<String> = hs::table
            .filter(hs::workspace.eq(&*crate::workspace::effective()))
            .filter(hs::name.eq(name).and(hs::version.eq(v)))
            .select(hs::history)
            .first(conn)
            .optional()?;
        let Some(old) = old else { return Ok(()) };
        let now = now_ms();
        let history = append_history(
            &old,
            event(
                "scanned",
                json!({"status": status, "high": counts.high, "medium": counts.medium, "low": counts.low}),
            ),
        );
        diesel::update(
            hs::table
                .filter(hs::workspace.eq(&*crate::workspace::effective()))
                .filter(hs::name.eq(name).and(hs::version.eq(v))),
        )
        .set((
            hs::status.eq(status),
            hs::report.eq(report.as_deref()),
            hs::error.eq(error.as_deref()),
            hs::high.eq(counts.high as i32),
            hs::medium.eq(counts.medium as i32),
            hs::low.eq(counts.low as i32),
            hs::scanned_at.eq(Some(now)),
            hs::override_status.eq(None::<String>),
            hs::override_reason.eq(None::<String>),
            hs::override_at.eq(None::<i64>),
            hs::history.eq(history),
            hs::updated_at.eq(now),
        ))
        .execute(conn)?;
        diesel::delete(
            mvt::table
                .filter(mvt::workspace.eq(&*crate::workspace::effective()))
                .filter(
                    mvt::name
                        .eq(name)
                        .and(mvt::version.eq(v))
                        .and(mvt::key.eq("harvester.scan.override")),
                ),
        )
        .execute(conn)?;
        put_tags(
            conn,
            name,
            version,
            &[
                (STATUS_TAG, status.to_string()),
                ("harvester.scan.high", counts.high.to_string()),
                ("harvester.scan.medium", counts.medium.to_string()),
                ("harvester.scan.low", counts.low.to_string()),
                (
                    "harvester.scan.report",
                    format!("/api/harvester/v1/scans/{name}/{version}"),
                ),
            ],
        )
    })
}

/// Queue a scan for every model version that has none (versions registered before scans existed, or
/// in a database another server wrote). Prompt versions have no files and are not scanned.
pub fn backfill(st: &AppState) -> ApiResult<usize> {
    let prompt = super::registered_models::IS_PROMPT;
    let missing: Vec<(String, i32)> = db_read!(st.db, |conn| {
        let versions: Vec<(String, i32)> = mv::table
            .filter(mv::workspace.eq(&*crate::workspace::effective()))
            .select((mv::name, mv::version))
            .load(conn)?;
        let scanned: std::collections::HashSet<(String, i32)> = hs::table
            .select((hs::name, hs::version))
            .load::<(String, i32)>(conn)?
            .into_iter()
            .collect();
        let prompt_models: std::collections::HashSet<String> = rmt::table
            .filter(rmt::workspace.eq(&*crate::workspace::effective()))
            .filter(rmt::key.eq(prompt))
            .select(rmt::name)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let prompt_versions: std::collections::HashSet<(String, i32)> = mvt::table
            .filter(mvt::workspace.eq(&*crate::workspace::effective()))
            .filter(mvt::key.eq(prompt))
            .select((mvt::name, mvt::version))
            .load::<(String, i32)>(conn)?
            .into_iter()
            .collect();
        versions
            .into_iter()
            .filter(|k| {
                !scanned.contains(k)
                    && !prompt_versions.contains(k)
                    && !prompt_models.contains(&k.0)
            })
            .collect()
    });
    for (name, version) in &missing {
        db_write!(st.db, |conn| queue_in(
            conn,
            name,
            i64::from(*version),
            "backfill"
        ))?;
    }
    if !missing.is_empty() {
        st.jobs.wake();
    }
    Ok(missing.len())
}
