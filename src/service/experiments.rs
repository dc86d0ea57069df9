//! Experiments: create, get, search, rename, delete/restore (cascading to runs) and tags (§3.1, §7.2).

use diesel::prelude::*;

use super::validation::{self as v, parse_experiment_id};
use super::{now_ms, AppState};
use crate::db::columns::Int32;
use crate::db::models::{ExperimentRow, ExperimentTagRow, NewExperiment};
use crate::db::schema::{experiment_tags as et, experiments as ex, runs};
use crate::error::{ApiError, ApiResult};
use crate::search::{self, parse, targets, SqlBuf};
use crate::storage::uri::{append as append_to_uri, resolve_if_local};
use crate::types::entities::{Experiment, KeyValue};
use crate::types::requests::{required, CreateExperiment, SearchExperiments};
use crate::{db_read, db_write, load_dynamic};

pub fn to_wire(row: ExperimentRow, tags: Vec<KeyValue>) -> Experiment {
    Experiment {
        experiment_id: row.experiment_id.to_string(),
        name: row.name,
        artifact_location: row.artifact_location,
        lifecycle_stage: row.lifecycle_stage,
        last_update_time: row.last_update_time,
        creation_time: row.creation_time,
        tags,
        workspace: crate::workspace::effective().to_string(),
    }
}

fn validate_tag(key: &str, value: &str) -> ApiResult<()> {
    if key.chars().count() > v::MAX_EXPERIMENT_TAG_KEY_LENGTH {
        return Err(ApiError::invalid(format!(
            "'key' exceeds the maximum length of {} characters",
            v::MAX_EXPERIMENT_TAG_KEY_LENGTH
        )));
    }
    if value.chars().count() > v::MAX_EXPERIMENT_TAG_VAL_LENGTH {
        return Err(ApiError::invalid(format!(
            "'value' exceeds the maximum length of {} characters",
            v::MAX_EXPERIMENT_TAG_VAL_LENGTH
        )));
    }
    v::validate_key("tag", key)
}

pub fn create(st: &AppState, req: &CreateExperiment) -> ApiResult<String> {
    let name = required(&req.name, "name")?;
    if name.chars().count() > v::MAX_EXPERIMENT_NAME_LENGTH {
        return Err(ApiError::invalid(format!(
            "Experiment name exceeds the maximum length of {} characters",
            v::MAX_EXPERIMENT_NAME_LENGTH
        )));
    }
    let given = req.artifact_location.as_deref().filter(|s| !s.is_empty());
    if given.is_some() && crate::workspace::current().is_some() {
        return Err(ApiError::invalid(
            "artifact_location cannot be specified when workspaces are enabled",
        ));
    }
    let location = match given {
        Some(l) if l.starts_with("runs:") => {
            return Err(ApiError::invalid(format!(
                "Artifact location cannot be a runs:/ URI. Given: '{l}'"
            )))
        }
        Some(l) => Some(resolve_if_local(l)),
        None => None,
    };
    let mut tags = Vec::with_capacity(req.tags.len());
    for t in &req.tags {
        let key = required(&t.key, "tags.key")?;
        let value = t.value.clone().unwrap_or_default();
        validate_tag(key, &value)?;
        tags.push((key.to_string(), value));
    }
    let root = crate::workspace::store::artifact_root(st)?;
    let ws = crate::workspace::effective();
    let now = now_ms();
    let id = db_write!(st.db, |conn| {
        let taken: i64 = ex::table
            .filter(ex::name.eq(name))
            .filter(ex::workspace.eq(&*ws))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(ApiError::already_exists(format!(
                "Experiment(name={name}) already exists."
            )));
        }
        let row = NewExperiment {
            name,
            artifact_location: location.as_deref().unwrap_or(""),
            lifecycle_stage: "active",
            creation_time: now,
            last_update_time: now,
        };
        let id: i32 = diesel::insert_into(ex::table)
            .values((&row, ex::workspace.eq(&*ws)))
            .returning(ex::experiment_id)
            .get_result(conn)?;
        let id = i64::from(id);
        if location.is_none() {
            diesel::update(ex::table.find(Int32::from(id)))
                .set(ex::artifact_location.eq(append_to_uri(&root, &id.to_string())))
                .execute(conn)?;
        }
        let rows: Vec<ExperimentTagRow> = tags
            .iter()
            .map(|(k, v)| ExperimentTagRow {
                experiment_id: id,
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        if !rows.is_empty() {
            diesel::insert_into(et::table).values(rows).execute(conn)?;
        }
        Ok(id)
    })?;
    tracing::info!(
        experiment.id = id,
        experiment.name = name,
        "experiment created"
    );
    Ok(id.to_string())
}

pub fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("No Experiment with id={id} exists"))
}

/// Fetch an experiment row (any lifecycle stage) with its tags.
pub fn get(st: &AppState, id: &str) -> ApiResult<Experiment> {
    let id = parse_experiment_id(id)?;
    let (row, tags) = db_read!(st.db, |conn| {
        let row = fetch_experiment!(conn, id)?;
        let first_set = crate::db::insertion_order(&*conn);
        let tags: Vec<ExperimentTagRow> = et::table
            .filter(et::experiment_id.eq(Int32::from(id)))
            .order(first_set)
            .load(conn)?;
        (row, tags)
    });
    Ok(to_wire(
        row,
        tags.into_iter()
            .map(|t| KeyValue {
                key: t.key,
                value: t.value,
            })
            .collect(),
    ))
}

pub fn get_by_name(st: &AppState, name: &str) -> ApiResult<Experiment> {
    // Resolve the name to an id only; `get` then loads the row with its tags.
    let id: Option<i32> = db_read!(st.db, |conn| ex::table
        .filter(ex::name.eq(name))
        .filter(ex::workspace.eq(&*crate::workspace::effective()))
        .select(ex::experiment_id)
        .first(conn)
        .optional()?);
    match id {
        Some(id) => get(st, &id.to_string()),
        None => Err(ApiError::not_found(format!(
            "Could not find experiment with name '{name}'"
        ))),
    }
}

pub fn search(
    st: &AppState,
    req: &SearchExperiments,
    visible: &crate::auth::visible::Visible,
) -> ApiResult<(Vec<Experiment>, Option<String>)> {
    let max = req.max_results.unwrap_or(0);
    let max = v::search_max_results(Some(max), 0, v::SEARCH_MAX_RESULTS_THRESHOLD)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filter = parse::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let order: Vec<parse::OrderItem> = req
        .order_by
        .iter()
        .filter(|o| !o.trim().is_empty())
        .map(|o| parse::parse_order_by(o))
        .collect::<Result<_, _>>()?;
    let mut buf = SqlBuf::new(st.db.dialect);
    buf.push("SELECT experiments.* FROM experiments WHERE experiments.workspace = ")
        .bind(search::Bind::Text(
            crate::workspace::effective().to_string(),
        ));
    if let Some(stage) = v::lifecycle_filter("view_type", req.view_type.as_deref())? {
        buf.push(" AND experiments.lifecycle_stage = ")
            .bind(search::Bind::Text(stage.into()));
    }
    visible.push(&mut buf, "experiments.experiment_id", true);
    search::sql::push_where(&mut buf, &targets::EXPERIMENTS, &filter)?;
    search::sql::push_order_by(&mut buf, &targets::EXPERIMENTS, &order)?;
    buf.push(&format!(" LIMIT {} OFFSET {}", max + 1, offset));
    let (mut rows, tags) = db_read!(st.db, |conn| {
        let rows: Vec<ExperimentRow> = load_dynamic!(conn, ExperimentRow, buf)?;
        let ids: Vec<Int32> = rows.iter().map(|r| Int32::from(r.experiment_id)).collect();
        let first_set = crate::db::insertion_order(&*conn);
        let tags: Vec<ExperimentTagRow> = et::table
            .filter(et::experiment_id.eq_any(&ids))
            .order(first_set)
            .load(conn)?;
        (rows, tags)
    });
    let next = if rows.len() as i64 > max {
        rows.truncate(max as usize);
        Some(search::encode_page_token(offset + max))
    } else {
        None
    };
    let mut by_id: std::collections::HashMap<i64, Vec<KeyValue>> = std::collections::HashMap::new();
    for t in tags {
        by_id.entry(t.experiment_id).or_default().push(KeyValue {
            key: t.key,
            value: t.value,
        });
    }
    let out = rows
        .into_iter()
        .map(|r| {
            let tags = by_id.remove(&r.experiment_id).unwrap_or_default();
            to_wire(r, tags)
        })
        .collect();
    Ok((out, next))
}

/// Soft-delete (`deleted = true`) or restore an experiment, cascading to its runs.
pub fn set_deleted(st: &AppState, id: &str, deleted: bool) -> ApiResult<()> {
    let id = parse_experiment_id(id)?;
    let (from, to) = if deleted {
        ("active", "deleted")
    } else {
        ("deleted", "active")
    };
    let now = now_ms();
    db_write!(st.db, |conn| {
        let row: Option<ExperimentRow> = fetch_experiment!(conn, id).ok();
        // As MLflow: delete looks among active experiments only, restore among deleted ones; otherwise 404.
        match row {
            Some(r) if r.lifecycle_stage == from => {}
            _ => return Err(not_found(id)),
        }
        diesel::update(ex::table.find(Int32::from(id)))
            .set((ex::lifecycle_stage.eq(to), ex::last_update_time.eq(now)))
            .execute(conn)?;
        let deleted_time = if deleted { Some(now) } else { None };
        diesel::update(runs::table.filter(runs::experiment_id.eq(Int32::from(id))))
            .set((
                runs::lifecycle_stage.eq(to),
                runs::deleted_time.eq(deleted_time),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    tracing::info!(experiment.id = id, deleted, "experiment lifecycle changed");
    Ok(())
}

pub fn rename(st: &AppState, id: &str, new_name: &str) -> ApiResult<()> {
    let id = parse_experiment_id(id)?;
    if new_name.chars().count() > v::MAX_EXPERIMENT_NAME_LENGTH {
        return Err(ApiError::invalid(
            "Experiment name exceeds the maximum length of 500 characters",
        ));
    }
    let now = now_ms();
    db_write!(st.db, |conn| {
        let row = fetch_experiment!(conn, id)?;
        if row.lifecycle_stage != "active" {
            return Err(ApiError::invalid_state(
                "Cannot rename a non-active experiment.",
            ));
        }
        if row.name != new_name {
            let taken: i64 = ex::table
                .filter(ex::name.eq(new_name))
                .filter(ex::workspace.eq(&*crate::workspace::effective()))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(ApiError::already_exists(format!(
                    "Experiment(name={new_name}) already exists."
                )));
            }
        }
        diesel::update(ex::table.find(Int32::from(id)))
            .set((ex::name.eq(new_name), ex::last_update_time.eq(now)))
            .execute(conn)?;
        Ok(())
    })
}

pub fn set_tag(st: &AppState, id: &str, key: &str, value: &str) -> ApiResult<()> {
    let id = parse_experiment_id(id)?;
    validate_tag(key, value)?;
    db_write!(st.db, |conn| {
        active_experiment!(conn, id)?;
        let row = ExperimentTagRow {
            experiment_id: id,
            key: key.to_string(),
            value: value.to_string(),
        };
        diesel::insert_into(et::table)
            .values(row)
            .on_conflict((et::experiment_id, et::key))
            .do_update()
            .set(et::value.eq(value))
            .execute(conn)?;
        Ok(())
    })
}

pub fn delete_tag(st: &AppState, id: &str, key: &str) -> ApiResult<()> {
    let id = parse_experiment_id(id)?;
    db_write!(st.db, |conn| {
        active_experiment!(conn, id)?;
        let n = diesel::delete(
            et::table.filter(et::experiment_id.eq(Int32::from(id)).and(et::key.eq(key))),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with name: {key} in experiment with id {id}"
            )));
        }
        Ok(())
    })
}

/// Create the default experiment `0` under the configured root when the database has no experiment, as
/// MLflow's store does when it opens a database.
pub fn init_default(st: &AppState) -> ApiResult<()> {
    let loc = append_to_uri(&st.artifact_root, "0");
    db_write!(st.db, |conn| {
        let any: i64 = ex::table.count().get_result(conn)?;
        if any == 0 {
            let now = now_ms();
            diesel::insert_into(ex::table)
                .values((
                    ex::experiment_id.eq(0),
                    ex::name.eq("Default"),
                    ex::artifact_location.eq(&loc),
                    ex::lifecycle_stage.eq("active"),
                    ex::creation_time.eq(now),
                    ex::last_update_time.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}
