//! Model versions (§3.5, §7.3, §7.4): create with source validation (numbers are never reused, status is
//! `READY` at once), get, update, soft delete with redaction, stage transitions, tags, the download URI
//! and search.

use diesel::prelude::*;

use super::registered_models::{tag_pair, tag_pairs, IS_PROMPT};
use super::registry_read::{self as rr, canonical_stage, versions_to_wire};
use super::registry_search::{page, registry_query};
use super::version_sources::{bad_source, check_traversal, Resolved, PROMPT_SOURCES};
use super::{now_ms, webhooks, AppState};
use crate::db::columns::Int32;
use crate::db::insert::InsertRows;
use crate::db::models::{ModelKvRow, ModelVersionRow, ModelVersionTagRow};
use crate::db::schema::{
    logged_model_tags as lmt, model_version_tags as mvt, model_versions as mv,
    registered_model_aliases as ra, registered_models as rm,
};
use crate::error::{ApiError, ApiResult};
use crate::search::Bind;
use crate::types::registry::ModelVersion;
use crate::types::registry_requests::{CreateModelVersion, SearchRegistry};
use crate::types::requests::required;
use crate::{db_read, db_write, is_prompt_model, load_dynamic, mv_extras, mv_row, rm_row};

pub fn create(st: &AppState, req: &CreateModelVersion) -> ApiResult<ModelVersion> {
    let name = required(&req.name, "name")?.to_string();
    let source = required(&req.source, "source")?.to_string();
    // Local sources are resolved and must lie in the run's artifact directory (below); every other
    // source may not hold `..` at all (`_validate_non_local_source_contains_relative_paths`).
    if super::version_sources::local_source(&source).is_none() {
        if source.starts_with("file:") {
            // `file://host/…` names another machine's disk, which nothing here can read (stock
            // 3.17.2 fails such a request with a 500; a deterministic refusal is a 400).
            return Err(bad_source(
                &source,
                "A file: URI must name a path on this server (file:///path), not another host.",
            ));
        }
        check_traversal(&source)?;
    }
    let tags = tag_pairs(&req.tags)?;
    for (k, _) in &tags {
        super::scans::guard_tag(k)?;
    }
    let is_prompt = tags
        .iter()
        .any(|(k, val)| k == IS_PROMPT && val.eq_ignore_ascii_case("true"));
    if is_prompt && !PROMPT_SOURCES.contains(&source.as_str()) {
        return Err(bad_source(
            &source,
            "Prompt versions must use the source 'dummy-source' or 'prompt-template'.",
        ));
    }
    let run_id = req.run_id.as_deref().filter(|r| !r.is_empty());
    let model_id = req.model_id.as_deref().filter(|m| !m.is_empty());
    let now = now_ms();
    let version = db_write!(st.db, |conn| {
        rm_row!(conn, name.as_str())?;
        let prompt = is_prompt || is_prompt_model!(conn, name.as_str());
        let resolved = if is_prompt {
            Resolved::default()
        } else {
            crate::resolve_source!(conn, &source, run_id, model_id)
        };
        let top: Option<i32> = mv::table
            .filter(mv::workspace.eq(&*crate::workspace::effective()))
            .filter(mv::name.eq(&name))
            .select(diesel::dsl::max(mv::version))
            .first(conn)?;
        let version = i64::from(top.unwrap_or(0)) + 1;
        let row = ModelVersionRow {
            name: name.clone(),
            version,
            creation_time: now,
            last_updated_time: now,
            description: Some(req.description.clone().unwrap_or_default()),
            user_id: None,
            current_stage: "None".into(),
            source: Some(source.clone()),
            storage_location: resolved.storage_location,
            run_id: resolved.run_id.clone().or(run_id.map(str::to_string)),
            run_link: Some(req.run_link.clone().unwrap_or_default()),
            status: "READY".into(),
            status_message: None,
        };
        diesel::insert_into(mv::table)
            .values((
                row.clone(),
                mv::workspace.eq(&*crate::workspace::effective()),
            ))
            .execute(conn)?;
        let rows: Vec<ModelVersionTagRow> = tags
            .iter()
            .map(|(k, val)| ModelVersionTagRow {
                name: name.clone(),
                version,
                key: k.clone(),
                value: val.clone(),
            })
            .collect();
        let ws = crate::workspace::effective();
        let rows: Vec<_> = rows
            .iter()
            .map(|r| (r.clone(), mvt::workspace.eq(&*ws)))
            .collect();
        diesel::insert_into(mvt::table).values(rows).execute(conn)?;
        diesel::update(
            rm::table
                .find(&name)
                .filter(rm::workspace.eq(&*crate::workspace::effective())),
        )
        .set(rm::last_updated_time.eq(now))
        .execute(conn)?;
        if let Some(m) = resolved.model {
            // The logged model lists its registrations in the tag `mlflow.modelVersions`.
            let key = "mlflow.modelVersions";
            let old: Option<String> = lmt::table
                .find((&m.model_id, key))
                .select(lmt::value)
                .first(conn)
                .optional()?;
            let mut list: Vec<serde_json::Value> = old
                .and_then(|o| serde_json::from_str(&o).ok())
                .unwrap_or_default();
            list.push(serde_json::json!({"name": name, "version": version}));
            let value = crate::types::pyjson::dumps(&serde_json::Value::Array(list));
            let tag = ModelKvRow {
                model_id: m.model_id.clone(),
                experiment_id: m.experiment_id,
                key: key.into(),
                value: value.clone(),
            };
            diesel::insert_into(lmt::table)
                .values(tag)
                .on_conflict((lmt::model_id, lmt::key))
                .do_update()
                .set(lmt::value.eq(&value))
                .execute(conn)?;
        }
        let tag_obj = rr::tag_object(&tags);
        let data = if prompt {
            let template = tags
                .iter()
                .find(|(k, _)| k == "mlflow.prompt.text")
                .map(|(_, v)| v.clone());
            serde_json::json!({"name": name, "version": version.to_string(), "template": template, "tags": tag_obj,
                               "description": req.description})
        } else {
            let run = resolved
                .run_id
                .clone()
                .or(run_id.map(str::to_string))
                .filter(|r| !r.is_empty());
            serde_json::json!({"name": name, "version": version.to_string(), "source": source, "run_id": run,
                               "tags": tag_obj, "description": req.description})
        };
        let entity = rr::entity(prompt, "MODEL_VERSION", "PROMPT_VERSION");
        webhooks::fire_in(conn, entity, "CREATED", data)?;
        if !prompt {
            // Scanned before anyone may serve it (service::scans).
            super::scans::queue_in(conn, &name, version, "created")?;
        }
        Ok(version)
    })?;
    st.jobs.wake();
    tracing::info!(model.name = %name, model.version = version, "model version created");
    get(st, &name, version)
}

pub fn get(st: &AppState, name: &str, version: i64) -> ApiResult<ModelVersion> {
    let (row, (tags, aliases)) = db_read!(st.db, |conn| {
        let row = mv_row!(conn, name, version)?;
        let extras = mv_extras!(conn, [&row]);
        (row, extras)
    });
    Ok(versions_to_wire(vec![row], tags, &aliases, true).remove(0))
}

/// Run a change on a live version and stamp it (and its model) as updated.
macro_rules! touch_version {
    ($st:expr, $name:expr, $version:expr, |$conn:ident, $row:ident, $now:ident| $body:expr) => {{
        let $now = now_ms();
        db_write!($st.db, |$conn| {
            let $row = mv_row!($conn, $name, $version)?;
            $body;
            diesel::update(mv::table.find((&$row.name, Int32::from($row.version))))
                .set(mv::last_updated_time.eq($now))
                .execute($conn)?;
            diesel::update(
                rm::table
                    .find($name)
                    .filter(rm::workspace.eq(&*crate::workspace::effective())),
            )
            .set(rm::last_updated_time.eq($now))
            .execute($conn)?;
            Ok(())
        })
    }};
}

pub fn update(
    st: &AppState,
    name: &str,
    version: i64,
    description: Option<&str>,
) -> ApiResult<ModelVersion> {
    touch_version!(st, name, version, |conn, row, now| {
        diesel::update(mv::table.find((&row.name, Int32::from(row.version))))
            .set(mv::description.eq(description))
            .execute(conn)?
    })?;
    get(st, name, version)
}

/// Stage transitions; `archive_existing_versions` only for Staging and Production (MLflow answers the
/// other targets with a 500; Harvester with a 400, as the request itself is at fault).
pub fn transition(
    st: &AppState,
    name: &str,
    version: i64,
    stage: &str,
    archive: bool,
) -> ApiResult<ModelVersion> {
    let stage = canonical_stage(stage)?;
    if archive && !matches!(stage, "Staging" | "Production") {
        return Err(ApiError::invalid(format!(
            "Model version transition cannot archive existing model versions because '{stage}' is not an Active stage. \
             Valid stages are Staging and Production."
        )));
    }
    touch_version!(st, name, version, |conn, row, now| {
        if archive {
            diesel::update(
                mv::table
                    .filter(mv::workspace.eq(&*crate::workspace::effective()))
                    .filter(
                        mv::name
                            .eq(name)
                            .and(mv::current_stage.eq(stage))
                            .and(mv::version.ne(Int32::from(row.version))),
                    ),
            )
            .set((
                mv::current_stage.eq("Archived"),
                mv::last_updated_time.eq(now),
            ))
            .execute(conn)?;
        }
        diesel::update(mv::table.find((&row.name, Int32::from(row.version))))
            .set(mv::current_stage.eq(stage))
            .execute(conn)?
    })?;
    get(st, name, version)
}

/// Soft delete: the number stays taken, aliases go, source and run are redacted.
pub fn delete(st: &AppState, name: &str, version: i64) -> ApiResult<()> {
    touch_version!(st, name, version, |conn, row, now| {
        diesel::delete(
            ra::table
                .filter(ra::workspace.eq(&*crate::workspace::effective()))
                .filter(ra::name.eq(name).and(ra::version.eq(Int32::from(version)))),
        )
        .execute(conn)?;
        diesel::update(mv::table.find((&row.name, Int32::from(row.version))))
            .set((
                mv::current_stage.eq(rr::DELETED_STAGE),
                mv::source.eq("REDACTED-SOURCE-PATH"),
                mv::run_id.eq("REDACTED-RUN-ID"),
                mv::run_link.eq("REDACTED-RUN-LINK"),
                mv::storage_location.eq(None::<String>),
            ))
            .execute(conn)?
    })
}

pub fn set_tag(
    st: &AppState,
    name: &str,
    version: i64,
    key: &Option<String>,
    value: &Option<String>,
) -> ApiResult<()> {
    let (key, value) = tag_pair(key, value)?;
    super::scans::guard_tag(&key)?;
    db_write!(st.db, |conn| {
        mv_row!(conn, name, version)?;
        // MLflow's key is (workspace, key, name, version).
        let row = vec![
            Bind::Text(key.clone()),
            Bind::Text(value.clone()),
            Bind::Text(name.to_string()),
            Bind::Int(version),
            Bind::Text(crate::workspace::effective().to_string()),
        ];
        conn.insert_rows(
            "model_version_tags",
            &["key", "value", "name", "version", "workspace"],
            &[row],
            "ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = excluded.value",
        )?;
        let entity = rr::entity(
            is_prompt_model!(conn, name),
            "MODEL_VERSION_TAG",
            "PROMPT_VERSION_TAG",
        );
        let data = serde_json::json!({"name": name, "version": version.to_string(), "key": key, "value": value});
        webhooks::fire_in(conn, entity, "SET", data)
    })?;
    st.jobs.wake();
    Ok(())
}

pub fn delete_tag(st: &AppState, name: &str, version: i64, key: &str) -> ApiResult<()> {
    super::scans::guard_tag(key)?;
    db_write!(st.db, |conn| {
        mv_row!(conn, name, version)?;
        diesel::delete(mvt::table.find((name, Int32::from(version), key))).execute(conn)?;
        let entity = rr::entity(
            is_prompt_model!(conn, name),
            "MODEL_VERSION_TAG",
            "PROMPT_VERSION_TAG",
        );
        let data = serde_json::json!({"name": name, "version": version.to_string(), "key": key});
        webhooks::fire_in(conn, entity, "DELETED", data)
    })?;
    st.jobs.wake();
    Ok(())
}

/// Where the version's files are: the storage location when the source named a model, else the source.
pub fn download_uri(st: &AppState, name: &str, version: i64) -> ApiResult<String> {
    let row = db_read!(st.db, |conn| mv_row!(conn, name, version)?);
    Ok(row.storage_location.or(row.source).unwrap_or_default())
}

/// The version's files as an artifact URI the proxy can serve: its download URI, with a `runs:/<run>/<path>`
/// source resolved to the run's artifact URI (for `/model-versions/get-artifact`).
pub fn artifact_root(st: &AppState, name: &str, version: i64) -> ApiResult<String> {
    let uri = download_uri(st, name, version)?;
    let Some(rest) = uri.strip_prefix("runs:/") else {
        return Ok(uri);
    };
    let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
    let run = db_read!(st.db, |conn| {
        use super::run_data::RunReader;
        conn.run_row(run_id)?
    });
    Ok(crate::storage::uri::append(
        &run.artifact_uri,
        path.trim_matches('/'),
    ))
}

pub fn search(
    st: &AppState,
    req: &SearchRegistry,
    visible: &crate::auth::visible::Visible,
) -> ApiResult<(Vec<ModelVersion>, Option<String>)> {
    let exclude = " AND NOT EXISTS (SELECT 1 FROM model_version_tags p \
                   WHERE p.name = model_versions.name AND p.workspace = model_versions.workspace AND p.value = 'true' AND p.key = ";
    let (buf, max, offset) = registry_query(
        st,
        &crate::search::targets::MODEL_VERSIONS,
        req,
        exclude,
        (200_000, 200_000),
        visible,
    )?;
    let (rows, next, (tags, _)) = db_read!(st.db, |conn| {
        let mut rows: Vec<ModelVersionRow> = load_dynamic!(conn, ModelVersionRow, buf)?;
        let next = page(&mut rows, max, offset);
        let extras = mv_extras!(conn, rows);
        (rows, next, extras)
    });
    Ok((versions_to_wire(rows, tags, &[], false), next))
}
