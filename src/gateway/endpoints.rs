//! Gateway endpoints: a name that routes to one or more model definitions (primary ones, weighted, and
//! fallbacks in order), with tags and, when usage is tracked, an experiment for its traces.

use super::endpoint_config::{fallback_json, parse_experiment, usage_experiment, ModelConfig};
use super::{delete_or_404, models, name_free, new_id, not_found};
use crate::db::schema::{
    endpoint_bindings as eb, endpoint_model_mappings as mm, endpoint_tags as et, endpoints as ep,
    model_definitions as md, secrets as sc,
};
use crate::error::{ApiError, ApiResult};
use crate::service::{now_ms, AppState};
use crate::types::entities::KeyValue;
use crate::types::gateway::{Endpoint, FallbackConfig, ModelMapping};
use crate::{db_read, db_write};
use diesel::prelude::*;

type Row = (
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<i32>,
    bool,
);
type MapRow = (
    String,
    String,
    String,
    f64,
    Option<String>,
    i64,
    String,
    Option<i32>,
);

macro_rules! endpoint_columns {
    () => {
        (
            ep::endpoint_id,
            ep::name,
            ep::created_by,
            ep::created_at,
            ep::last_updated_by,
            ep::last_updated_at,
            ep::routing_strategy,
            ep::fallback_config_json,
            ep::experiment_id,
            ep::usage_tracking,
        )
    };
}

/// Every model definition the configurations name must exist: stock's 404 lists the missing ones.
macro_rules! definitions_exist {
    ($conn:expr, $cfgs:expr) => {{
        let mut wanted: Vec<&str> = $cfgs
            .iter()
            .map(|c| c.model_definition_id.as_str())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let found: Vec<String> = md::table
            .filter(md::workspace.eq(crate::workspace::effective().to_string()))
            .filter(md::model_definition_id.eq_any(&wanted))
            .select(md::model_definition_id)
            .load($conn)?;
        let missing: Vec<&str> = wanted
            .into_iter()
            .filter(|w| !found.iter().any(|f| f == w))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::not_found(format!(
                "Model definitions not found: {}",
                missing.join(", ")
            )));
        }
    }};
}

macro_rules! insert_mappings {
    ($conn:expr, $endpoint:expr, $cfgs:expr, $by:expr, $now:expr) => {{
        for c in $cfgs {
            diesel::insert_into(mm::table)
                .values((
                    mm::mapping_id.eq(new_id("m")),
                    mm::endpoint_id.eq($endpoint),
                    mm::model_definition_id.eq(&c.model_definition_id),
                    mm::weight.eq(c.weight),
                    mm::linkage_type.eq(if c.primary { "PRIMARY" } else { "FALLBACK" }),
                    mm::fallback_order.eq(c.fallback_order),
                    mm::created_by.eq($by),
                    mm::created_at.eq($now),
                ))
                .execute($conn)?;
        }
    }};
}

pub struct NewEndpoint<'a> {
    pub name: &'a str,
    pub configs: Vec<ModelConfig>,
    pub routing_strategy: Option<&'a str>,
    pub fallback: Option<&'a FallbackConfig>,
    pub experiment_id: Option<i32>,
    pub usage_tracking: bool,
    pub created_by: Option<&'a str>,
}

pub fn create(st: &AppState, n: NewEndpoint) -> ApiResult<Endpoint> {
    if n.configs.is_empty() {
        return Err(ApiError::invalid(
            "Endpoint must have at least one model configuration",
        ));
    }
    let id = new_id("e");
    let now = now_ms();
    // Checked before the usage experiment is made, so a refused endpoint leaves nothing behind.
    db_read!(st.db, |conn| {
        definitions_exist!(conn, n.configs);
        name_free!(conn, ep, name, endpoint_id, n.name, "", "Endpoint");
        Ok::<_, ApiError>(())
    })?;
    let experiment = match (n.experiment_id, n.usage_tracking) {
        (Some(e), _) => Some(e),
        (None, true) => Some(parse_experiment(&usage_experiment(st, n.name, &id)?)?),
        (None, false) => None,
    };
    let fallback = (n.fallback.is_some() || n.configs.iter().any(|c| !c.primary))
        .then(|| fallback_json(&n.configs, n.fallback, None));
    db_write!(st.db, |conn| {
        definitions_exist!(conn, n.configs);
        name_free!(conn, ep, name, endpoint_id, n.name, "", "Endpoint");
        diesel::insert_into(ep::table)
            .values((
                ep::workspace.eq(crate::workspace::effective().to_string()),
                ep::endpoint_id.eq(&id),
                ep::name.eq(n.name),
                ep::created_by.eq(n.created_by),
                ep::created_at.eq(now),
                ep::last_updated_by.eq(n.created_by),
                ep::last_updated_at.eq(now),
                ep::routing_strategy.eq(n.routing_strategy),
                ep::fallback_config_json.eq(&fallback),
                ep::experiment_id.eq(experiment),
                ep::usage_tracking.eq(n.usage_tracking),
            ))
            .execute(conn)?;
        insert_mappings!(conn, &id, &n.configs, n.created_by, now);
        Ok(())
    })?;
    get(st, &id)
}

/// Endpoints by id (all of them when `ids` is `None`), with their mappings and tags.
fn load(st: &AppState, ids: Option<&[String]>) -> ApiResult<Vec<Endpoint>> {
    let (rows, maps, tags) = db_read!(st.db, |conn| {
        let mut q = ep::table
            .filter(ep::workspace.eq(crate::workspace::effective().to_string()))
            .select(endpoint_columns!())
            .into_boxed();
        if let Some(ids) = ids {
            q = q.filter(ep::endpoint_id.eq_any(ids));
        }
        let rows: Vec<Row> = q.order(ep::created_at).load(conn)?;
        let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let maps: Vec<(MapRow, models::Row)> = mm::table
            .inner_join(md::table.left_join(sc::table))
            .filter(mm::endpoint_id.eq_any(&ids))
            .select((
                (
                    mm::mapping_id,
                    mm::endpoint_id,
                    mm::model_definition_id,
                    mm::weight,
                    mm::created_by,
                    mm::created_at,
                    mm::linkage_type,
                    mm::fallback_order,
                ),
                super::models::definition_columns!(),
            ))
            .order((
                mm::created_at,
                mm::linkage_type.desc(),
                mm::fallback_order,
                mm::mapping_id,
            ))
            .load(conn)?;
        let tags: Vec<(String, String, Option<String>)> = et::table
            .filter(et::endpoint_id.eq_any(&ids))
            .select((et::endpoint_id, et::key, et::value))
            .order((et::endpoint_id, et::key))
            .load(conn)?;
        Ok::<_, ApiError>((rows, maps, tags))
    })?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (
                endpoint_id,
                name,
                created_by,
                created_at,
                updated_by,
                updated_at,
                routing,
                fallback,
                exp,
                usage,
            ) = r;
            let fallback_config =
                fallback.and_then(|f| serde_json::from_str::<FallbackConfig>(&f).ok());
            Endpoint {
                model_mappings: maps
                    .iter()
                    .filter(|(m, _)| m.1 == endpoint_id)
                    .map(|(m, d)| ModelMapping {
                        mapping_id: m.0.clone(),
                        endpoint_id: m.1.clone(),
                        model_definition_id: m.2.clone(),
                        model_definition: Some(models::wire(d.clone())),
                        weight: m.3,
                        created_by: m.4.clone(),
                        created_at: m.5,
                        linkage_type: m.6.clone(),
                        fallback_order: m.7,
                    })
                    .collect(),
                tags: tags
                    .iter()
                    .filter(|t| t.0 == endpoint_id)
                    .map(|t| KeyValue {
                        key: t.1.clone(),
                        value: t.2.clone().unwrap_or_default(),
                    })
                    .collect(),
                endpoint_id,
                name,
                created_at,
                last_updated_at: updated_at,
                created_by: created_by.unwrap_or_default(),
                last_updated_by: updated_by.unwrap_or_default(),
                routing_strategy: routing,
                fallback_config,
                experiment_id: exp.map(|e| e.to_string()),
                usage_tracking: usage,
            }
        })
        .collect())
}

/// One endpoint, by id or else by name.
pub fn get_by(st: &AppState, id: Option<&str>, name: Option<&str>) -> ApiResult<Endpoint> {
    let id = match (id, name) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => {
            id_of(st, name)?.ok_or_else(|| not_found("GatewayEndpoint", "name", name))?
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "Exactly one of 'endpoint_id' or 'name' must be specified.",
            ))
        }
    };
    get(st, &id)
}

pub fn get(st: &AppState, id: &str) -> ApiResult<Endpoint> {
    load(st, Some(&[id.to_string()]))?
        .pop()
        .ok_or_else(|| not_found("GatewayEndpoint", "endpoint_id", id))
}

/// The id of the endpoint called `name`, if there is one.
pub fn id_of(st: &AppState, name: &str) -> ApiResult<Option<String>> {
    db_read!(st.db, |conn| Ok::<_, ApiError>(
        ep::table
            .filter(ep::workspace.eq(crate::workspace::effective().to_string()))
            .filter(ep::name.eq(name))
            .select(ep::endpoint_id)
            .first(conn)
            .optional()?
    ))
}

pub struct Changes<'a> {
    pub name: Option<&'a str>,
    pub configs: Option<Vec<ModelConfig>>,
    pub routing_strategy: Option<&'a str>,
    pub fallback: Option<&'a FallbackConfig>,
    pub experiment_id: Option<i32>,
    pub usage_tracking: Option<bool>,
    pub updated_by: Option<&'a str>,
}

pub fn update(st: &AppState, id: &str, c: Changes) -> ApiResult<Endpoint> {
    let current = get(st, id)?;
    let mut experiment = c.experiment_id;
    if c.usage_tracking == Some(true) && experiment.is_none() && current.experiment_id.is_none() {
        let name = c.name.or(current.name.as_deref()).unwrap_or(id);
        experiment = Some(parse_experiment(&usage_experiment(st, name, id)?)?);
    }
    let now = now_ms();
    db_write!(st.db, |conn| {
        let ws = crate::workspace::effective();
        let row = ep::table.find(id).filter(ep::workspace.eq(&*ws));
        if let Some(name) = c.name {
            name_free!(conn, ep, name, endpoint_id, name, id, "Endpoint");
            diesel::update(row).set(ep::name.eq(name)).execute(conn)?;
        }
        if let Some(u) = c.usage_tracking {
            diesel::update(row)
                .set(ep::usage_tracking.eq(u))
                .execute(conn)?;
        }
        if let Some(e) = experiment {
            diesel::update(row)
                .set(ep::experiment_id.eq(Some(e)))
                .execute(conn)?;
        }
        if let Some(r) = c.routing_strategy {
            diesel::update(row)
                .set(ep::routing_strategy.eq(r))
                .execute(conn)?;
        }
        if let Some(cfgs) = &c.configs {
            definitions_exist!(conn, cfgs);
            diesel::delete(mm::table.filter(mm::endpoint_id.eq(id))).execute(conn)?;
            insert_mappings!(conn, id, cfgs, c.updated_by, now);
            let f = fallback_json(cfgs, c.fallback, None);
            diesel::update(row)
                .set(ep::fallback_config_json.eq(f))
                .execute(conn)?;
        } else if let Some(f) = c.fallback {
            let old: Option<String> = row.select(ep::fallback_config_json).first(conn)?;
            let keep = old
                .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
                .and_then(|v| serde_json::from_value(v["model_definition_ids"].clone()).ok());
            let f = fallback_json(&[], Some(f), Some(keep.unwrap_or_default()));
            diesel::update(row)
                .set(ep::fallback_config_json.eq(f))
                .execute(conn)?;
        }
        diesel::update(row)
            .set(ep::last_updated_at.eq(now))
            .execute(conn)?;
        if let Some(by) = c.updated_by {
            diesel::update(row)
                .set(ep::last_updated_by.eq(by))
                .execute(conn)?;
        }
        Ok(())
    })?;
    get(st, id)
}

/// Delete an endpoint with its mappings, tags and bindings (the usage experiment stays, as in stock).
pub fn delete(st: &AppState, id: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        diesel::delete(mm::table.filter(mm::endpoint_id.eq(id))).execute(conn)?;
        diesel::delete(et::table.filter(et::endpoint_id.eq(id))).execute(conn)?;
        diesel::delete(eb::table.filter(eb::endpoint_id.eq(id))).execute(conn)?;
        delete_or_404!(conn, ep, id, "GatewayEndpoint", "endpoint_id")
    })
}

/// Endpoints with at least one model, optionally only those using a provider or a secret.
pub fn list(
    st: &AppState,
    provider: Option<&str>,
    secret: Option<&str>,
) -> ApiResult<Vec<Endpoint>> {
    let ids: Vec<String> = db_read!(st.db, |conn| {
        let mut q = mm::table
            .inner_join(md::table)
            .select(mm::endpoint_id)
            .distinct()
            .into_boxed();
        if let Some(p) = provider {
            q = q.filter(md::provider.eq(p));
        }
        if let Some(s) = secret {
            q = q.filter(md::secret_id.eq(s));
        }
        Ok::<_, ApiError>(q.load(conn)?)
    })?;
    load(st, Some(&ids))
}

pub fn set_tag(st: &AppState, id: &str, key: &str, value: Option<&str>) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        let n: i64 = ep::table
            .find(id)
            .filter(ep::workspace.eq(crate::workspace::effective().to_string()))
            .count()
            .get_result(conn)?;
        if n == 0 {
            return Err(not_found("GatewayEndpoint", "endpoint_id", id));
        }
        diesel::delete(et::table.filter(et::endpoint_id.eq(id).and(et::key.eq(key))))
            .execute(conn)?;
        diesel::insert_into(et::table)
            .values((et::endpoint_id.eq(id), et::key.eq(key), et::value.eq(value)))
            .execute(conn)?;
        Ok(())
    })
}

pub fn delete_tag(st: &AppState, id: &str, key: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        let n: i64 = ep::table
            .find(id)
            .filter(ep::workspace.eq(crate::workspace::effective().to_string()))
            .count()
            .get_result(conn)?;
        if n == 0 {
            return Err(not_found("GatewayEndpoint", "endpoint_id", id));
        }
        diesel::delete(et::table.filter(et::endpoint_id.eq(id).and(et::key.eq(key))))
            .execute(conn)?;
        Ok(())
    })
}
