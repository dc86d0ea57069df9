//! Registered models (§3.5, §7.3): create, get, rename (versions and aliases follow through the foreign
//! keys), update, hard delete, tags, aliases, latest versions, and the registry searches with MLflow's
//! prompt exclusion, built by the shared search builder.

use diesel::prelude::*;

use super::registry_read::{
    self as rr, canonical_stage, models_to_wire, parse_version, versions_to_wire,
};
use super::registry_search::{page, registry_query};
use super::validation as v;
use super::{now_ms, webhooks, AppState};
use crate::db::insert::InsertRows;
use crate::db::models::{ModelVersionRow, RegisteredModelRow, RegisteredModelTagRow};
use crate::db::schema::{
    model_versions as mv, registered_model_aliases as ra, registered_model_tags as rmt,
    registered_models as rm,
};
use crate::error::{ApiError, ApiResult};
use crate::search::Bind;

use crate::types::registry::{ModelVersion, RegisteredModel};
use crate::types::registry_requests::{CreateRegisteredModel, SearchRegistry};
use crate::types::requests::{required, KeyValueIn};
use crate::{db_read, db_write, is_prompt_model, load_dynamic, mv_extras, rm_extras, rm_row};

pub const IS_PROMPT: &str = "mlflow.prompt.is_prompt";
pub const MAX_TAG_VALUE: usize = 100_000;

/// Registry tag keys are checked like run tags; values may be long (prompt templates).
pub fn tag_pair(key: &Option<String>, value: &Option<String>) -> ApiResult<(String, String)> {
    let key = required(key, "key")?;
    v::validate_key("tag", key)?;
    let value = value.clone().unwrap_or_default();
    if value.chars().count() > MAX_TAG_VALUE {
        return Err(ApiError::invalid(format!(
            "'value' exceeds the maximum length of {MAX_TAG_VALUE} characters"
        )));
    }
    Ok((key.to_string(), value))
}

pub fn tag_pairs(tags: &[KeyValueIn]) -> ApiResult<Vec<(String, String)>> {
    tags.iter().map(|t| tag_pair(&t.key, &t.value)).collect()
}

pub fn create(st: &AppState, req: &CreateRegisteredModel) -> ApiResult<RegisteredModel> {
    let name = required(&req.name, "name")?.to_string();
    super::validation::validate_model_name(&name, "name")?;
    let tags = tag_pairs(&req.tags)?;
    let now = now_ms();
    let prompt = tags
        .iter()
        .any(|(k, v)| k == IS_PROMPT && v.eq_ignore_ascii_case("true"));
    let data = serde_json::json!({"name": name, "tags": rr::tag_object(&tags), "description": req.description});
    db_write!(st.db, |conn| {
        if rm::table
            .find(&name)
            .filter(rm::workspace.eq(&*crate::workspace::effective()))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            return Err(ApiError::already_exists(format!(
                "Registered Model (name={name}) already exists."
            )));
        }
        let row = RegisteredModelRow {
            name: name.clone(),
            creation_time: now,
            last_updated_time: now,
            description: req.description.clone(),
        };
        diesel::insert_into(rm::table)
            .values((
                row.clone(),
                rm::workspace.eq(&*crate::workspace::effective()),
            ))
            .execute(conn)?;
        let rows: Vec<RegisteredModelTagRow> = tags
            .iter()
            .map(|(k, val)| RegisteredModelTagRow {
                name: name.clone(),
                key: k.clone(),
                value: val.clone(),
            })
            .collect();
        let ws = crate::workspace::effective();
        let rows: Vec<_> = rows
            .iter()
            .map(|r| (r.clone(), rmt::workspace.eq(&*ws)))
            .collect();
        diesel::insert_into(rmt::table).values(rows).execute(conn)?;
        let entity = rr::entity(prompt, "REGISTERED_MODEL", "PROMPT");
        webhooks::fire_in(conn, entity, "CREATED", data.clone())
    })?;
    st.jobs.wake();
    tracing::info!(model.name = %name, "registered model created");
    get(st, &name)
}

pub fn get(st: &AppState, name: &str) -> ApiResult<RegisteredModel> {
    let (row, extras) = db_read!(st.db, |conn| {
        let row = rm_row!(conn, name)?;
        let extras = rm_extras!(conn, &[name.to_string()]);
        (row, extras)
    });
    Ok(models_to_wire(vec![row], extras).remove(0))
}

/// On PostgreSQL, lock the model's versions for update. A version tag written at the same moment (the
/// scanner's) holds a share lock on its version that a cascade or a delete of the model would miss: wait
/// for such writers first, and make later ones wait (they then find the version moved or gone).
macro_rules! lock_versions {
    ($st:expr, $conn:expr, $name:expr) => {
        if $st.db.dialect == crate::db::Dialect::Postgres {
            diesel::sql_query(format!(
                "SELECT version FROM model_versions WHERE name = $1{} FOR UPDATE",
                crate::workspace::sql_predicate("workspace")
            ))
            .bind::<diesel::sql_types::Text, _>($name)
            .execute($conn)?;
        }
    };
}

pub fn rename(st: &AppState, name: &str, new_name: &str) -> ApiResult<RegisteredModel> {
    super::validation::validate_model_name(new_name, "new_name")?;
    let now = now_ms();
    db_write!(st.db, |conn| {
        rm_row!(conn, name)?;
        if name != new_name
            && rm::table
                .find(new_name)
                .filter(rm::workspace.eq(&*crate::workspace::effective()))
                .count()
                .get_result::<i64>(conn)?
                > 0
        {
            return Err(ApiError::already_exists(format!(
                "Registered Model (name={new_name}) already exists."
            )));
        }
        // The rename cascades to versions and their tags.
        lock_versions!(st, conn, name);
        diesel::update(
            rm::table
                .find(name)
                .filter(rm::workspace.eq(&*crate::workspace::effective())),
        )
        .set((rm::name.eq(new_name), rm::last_updated_time.eq(now)))
        .execute(conn)?;
        let pending = crate::pending_scans!(conn, new_name);
        super::scans::follow_rename_in(conn, new_name, &pending)
    })?;
    get(st, new_name)
}

pub fn update(st: &AppState, name: &str, description: Option<&str>) -> ApiResult<RegisteredModel> {
    let now = now_ms();
    db_write!(st.db, |conn| {
        rm_row!(conn, name)?;
        diesel::update(
            rm::table
                .find(name)
                .filter(rm::workspace.eq(&*crate::workspace::effective())),
        )
        .set((
            rm::description.eq(description),
            rm::last_updated_time.eq(now),
        ))
        .execute(conn)?;
        Ok(())
    })?;
    get(st, name)
}

/// Hard delete; versions, their tags, the model's tags and aliases go with it (children first: MLflow's
/// foreign keys cascade renames, not deletes).
pub fn delete(st: &AppState, name: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        use crate::db::schema::model_version_tags as mvt;
        rm_row!(conn, name)?;
        lock_versions!(st, conn, name);
        // Versions' tags, versions, tags, aliases, then the model, of this workspace only.
        let ws = crate::workspace::effective();
        macro_rules! drop_named {
            ($($t:ident),*) => {$(
                diesel::delete($t::table.filter($t::workspace.eq(&*ws)).filter($t::name.eq(name)))
                    .execute(conn)?;
            )*};
        }
        drop_named!(mvt, mv, rmt, ra, rm);
        Ok(())
    })
}

pub fn set_tag(
    st: &AppState,
    name: &str,
    key: &Option<String>,
    value: &Option<String>,
) -> ApiResult<()> {
    let (key, value) = tag_pair(key, value)?;
    db_write!(st.db, |conn| {
        rm_row!(conn, name)?;
        // MLflow's key is (workspace, key, name).
        let row = vec![
            Bind::Text(key.clone()),
            Bind::Text(value.clone()),
            Bind::Text(name.to_string()),
            Bind::Text(crate::workspace::effective().to_string()),
        ];
        conn.insert_rows(
            "registered_model_tags",
            &["key", "value", "name", "workspace"],
            &[row],
            "ON CONFLICT (workspace, key, name) DO UPDATE SET value = excluded.value",
        )?;
        if is_prompt_model!(conn, name) {
            let data = serde_json::json!({"name": name, "key": key, "value": value});
            webhooks::fire_in(conn, "PROMPT_TAG", "SET", data)?;
        }
        Ok(())
    })?;
    st.jobs.wake();
    Ok(())
}

/// A missing tag is not an error (as MLflow's store).
pub fn delete_tag(st: &AppState, name: &str, key: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        rm_row!(conn, name)?;
        let prompt = is_prompt_model!(conn, name);
        diesel::delete(
            rmt::table
                .filter(rmt::workspace.eq(&*crate::workspace::effective()))
                .filter(rmt::name.eq(name).and(rmt::key.eq(key))),
        )
        .execute(conn)?;
        if prompt {
            let data = serde_json::json!({"name": name, "key": key});
            webhooks::fire_in(conn, "PROMPT_TAG", "DELETED", data)?;
        }
        Ok(())
    })?;
    st.jobs.wake();
    Ok(())
}

/// MLflow's alias rules: word characters and dashes, at most 255, `latest` and `v<n>` reserved.
fn validate_alias(alias: &str) -> ApiResult<()> {
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    if alias.chars().count() > 255 {
        return Err(ApiError::invalid(
            "Alias name exceeds the maximum length of 255 characters",
        ));
    }
    if alias.eq_ignore_ascii_case("latest") {
        return Err(ApiError::invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let lower = alias.to_ascii_lowercase();
    if lower.len() > 1 && lower.starts_with('v') && lower[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    Ok(())
}

pub fn set_alias(st: &AppState, name: &str, alias: &str, version: Option<&str>) -> ApiResult<()> {
    validate_alias(alias)?;
    let version = parse_version(version)?;
    let now = now_ms();
    db_write!(st.db, |conn| {
        crate::mv_row!(conn, name, version)?;
        // MLflow's key is (workspace, name, alias).
        let row = vec![
            Bind::Text(alias.to_string()),
            Bind::Int(version),
            Bind::Text(name.to_string()),
            Bind::Text(crate::workspace::effective().to_string()),
        ];
        conn.insert_rows(
            "registered_model_aliases",
            &["alias", "version", "name", "workspace"],
            &[row],
            "ON CONFLICT (workspace, name, alias) DO UPDATE SET version = excluded.version",
        )?;
        diesel::update(
            rm::table
                .find(name)
                .filter(rm::workspace.eq(&*crate::workspace::effective())),
        )
        .set(rm::last_updated_time.eq(now))
        .execute(conn)?;
        let entity = rr::entity(
            is_prompt_model!(conn, name),
            "MODEL_VERSION_ALIAS",
            "PROMPT_ALIAS",
        );
        let data =
            serde_json::json!({"name": name, "alias": alias, "version": version.to_string()});
        webhooks::fire_in(conn, entity, "CREATED", data)
    })?;
    st.jobs.wake();
    Ok(())
}

/// A missing alias is ignored.
pub fn delete_alias(st: &AppState, name: &str, alias: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        rm_row!(conn, name)?;
        diesel::delete(
            ra::table
                .filter(ra::workspace.eq(&*crate::workspace::effective()))
                .filter(ra::name.eq(name).and(ra::alias.eq(alias))),
        )
        .execute(conn)?;
        let entity = rr::entity(
            is_prompt_model!(conn, name),
            "MODEL_VERSION_ALIAS",
            "PROMPT_ALIAS",
        );
        webhooks::fire_in(
            conn,
            entity,
            "DELETED",
            serde_json::json!({"name": name, "alias": alias}),
        )
    })?;
    st.jobs.wake();
    Ok(())
}

/// The version an alias points at; `latest` is the highest live version, `v<n>` version n. An unknown
/// alias is a 400, as in MLflow.
pub fn get_by_alias(st: &AppState, name: &str, alias: &str) -> ApiResult<ModelVersion> {
    let lower = alias.to_ascii_lowercase();
    let (row, extras) = db_read!(st.db, |conn| {
        rm_row!(conn, name)?;
        let version: Option<i32> = if lower == "latest" {
            mv::table
                .filter(mv::workspace.eq(&*crate::workspace::effective()))
                .filter(
                    mv::name
                        .eq(name)
                        .and(mv::current_stage.ne(rr::DELETED_STAGE)),
                )
                .select(diesel::dsl::max(mv::version))
                .first(conn)?
        } else if let Some(n) = lower.strip_prefix('v').and_then(|n| n.parse::<i32>().ok()) {
            Some(n)
        } else {
            ra::table
                .find((name, alias))
                .filter(ra::workspace.eq(&*crate::workspace::effective()))
                .select(ra::version)
                .first(conn)
                .optional()?
        };
        let version = version.ok_or_else(|| {
            ApiError::invalid(format!("Registered model alias {alias} not found."))
        })?;
        let row = crate::mv_row!(conn, name, i64::from(version))?;
        let extras = mv_extras!(conn, [&row]);
        (row, extras)
    });
    let (tags, aliases) = extras;
    Ok(versions_to_wire(vec![row], tags, &aliases, true).remove(0))
}

/// `get-latest-versions`: the highest version per stage, or only for the given stages.
pub fn latest_versions(
    st: &AppState,
    name: &str,
    stages: &[String],
) -> ApiResult<Vec<ModelVersion>> {
    let wanted = stages
        .iter()
        .map(|s| canonical_stage(s))
        .collect::<ApiResult<Vec<_>>>()?;
    let (rows, extras) = db_read!(st.db, |conn| {
        rm_row!(conn, name)?;
        let all: Vec<ModelVersionRow> = mv::table
            .filter(mv::workspace.eq(&*crate::workspace::effective()))
            .filter(
                mv::name
                    .eq(name)
                    .and(mv::current_stage.ne(rr::DELETED_STAGE)),
            )
            .select(crate::db::models::ModelVersionRow::as_select())
            .load(conn)?;
        let rows: Vec<ModelVersionRow> = rr::latest_per_stage(all)
            .into_iter()
            .filter(|r| wanted.is_empty() || wanted.contains(&r.current_stage.as_str()))
            .collect();
        let extras = mv_extras!(conn, rows);
        (rows, extras)
    });
    let (tags, aliases) = extras;
    Ok(versions_to_wire(rows, tags, &aliases, true))
}

pub fn search(
    st: &AppState,
    req: &SearchRegistry,
    visible: &crate::auth::visible::Visible,
) -> ApiResult<(Vec<RegisteredModel>, Option<String>)> {
    let exclude = " AND NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = registered_models.name AND p.workspace = registered_models.workspace \
                   AND p.value = 'true' AND p.key = ";
    let (buf, max, offset) = registry_query(
        st,
        &crate::search::targets::REGISTERED_MODELS,
        req,
        exclude,
        (100, 1000),
        visible,
    )?;
    let (rows, next, extras) = db_read!(st.db, |conn| {
        let mut rows: Vec<RegisteredModelRow> = load_dynamic!(conn, RegisteredModelRow, buf)?;
        let next = page(&mut rows, max, offset);
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let extras = rm_extras!(conn, &names);
        (rows, next, extras)
    });
    Ok((models_to_wire(rows, extras), next))
}
