//! Reading the registry: rows of registered models and model versions with their tags, aliases and
//! latest version per stage, turned into wire entities. The loaders are macros because they expand
//! inside `db_read!`/`db_write!` once per backend.

use std::collections::{BTreeMap, HashMap};

use crate::db::models::{
    AliasRow, ModelVersionRow, ModelVersionTagRow, RegisteredModelRow, RegisteredModelTagRow,
};
use crate::error::{ApiError, ApiResult};
use crate::types::entities::KeyValue;
use crate::types::registry::{Alias, ModelVersion, RegisteredModel};

/// The stage of soft-deleted versions (never shown).
pub const DELETED_STAGE: &str = "Deleted_Internal";
pub const STAGES: &[&str] = &["None", "Staging", "Production", "Archived"];

pub fn rm_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Registered Model with name={name} not found"))
}

pub fn mv_not_found(name: &str, version: i64) -> ApiError {
    ApiError::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

/// A version number given as a string (or number) on the wire.
pub fn parse_version(v: Option<&str>) -> ApiResult<i64> {
    let v = v
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::missing("version"))?;
    v.trim().parse::<i64>().map_err(|_| {
        ApiError::invalid(format!(
            "Parameter 'version' must be an integer, got '{v}'."
        ))
    })
}

/// A stage name in any case, canonicalised.
pub fn canonical_stage(s: &str) -> ApiResult<&'static str> {
    STAGES.iter().find(|c| c.eq_ignore_ascii_case(s.trim())).copied().ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."
        ))
    })
}

/// The registered model row `$name` (404 when missing).
#[macro_export]
macro_rules! rm_row {
    ($conn:expr, $name:expr) => {{
        use diesel::prelude::*;
        let r: Option<$crate::db::models::RegisteredModelRow> =
            $crate::db::schema::registered_models::table
                .find($name)
                .filter(
                    $crate::db::schema::registered_models::workspace
                        .eq(&*$crate::workspace::effective()),
                )
                .select($crate::db::models::RegisteredModelRow::as_select())
                .first($conn)
                .optional()?;
        r.ok_or_else(|| $crate::service::registry_read::rm_not_found($name))
    }};
}

/// The live (not deleted) version row `$version` of `$name` (404 when missing).
#[macro_export]
macro_rules! mv_row {
    ($conn:expr, $name:expr, $version:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::model_versions as mv;
        let r: Option<$crate::db::models::ModelVersionRow> = mv::table
            .filter(mv::workspace.eq(&*$crate::workspace::effective()))
            .filter(
                mv::name
                    .eq($name)
                    .and(mv::version.eq($crate::db::columns::Int32::from($version))),
            )
            .filter(mv::current_stage.ne($crate::service::registry_read::DELETED_STAGE))
            .select($crate::db::models::ModelVersionRow::as_select())
            .first($conn)
            .optional()?;
        r.ok_or_else(|| $crate::service::registry_read::mv_not_found($name, $version))
    }};
}

/// Whether the registered model `$name` is a prompt (tag `mlflow.prompt.is_prompt=true`).
#[macro_export]
macro_rules! is_prompt_model {
    ($conn:expr, $name:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::registered_model_tags as rmt;
        let v: Option<Option<String>> = rmt::table
            .find(($name, $crate::service::registered_models::IS_PROMPT))
            .filter(rmt::workspace.eq(&*$crate::workspace::effective()))
            .select(rmt::value)
            .first($conn)
            .optional()?;
        v.flatten().is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }};
}

/// The webhook entity for a model or prompt event.
pub fn entity(prompt: bool, model: &'static str, prompt_entity: &'static str) -> &'static str {
    if prompt {
        prompt_entity
    } else {
        model
    }
}

/// The prompt registry's own bookkeeping tags, which MLflow keeps out of prompt payloads.
const INTERNAL_PROMPT_TAGS: [&str; 5] = [
    "mlflow.prompt.is_prompt",
    "mlflow.prompt.text",
    "_mlflow_prompt_type",
    "_mlflow_prompt_model_config",
    "_mlflow_experiment_ids",
];

/// Tags as the `{key: value}` object webhook payloads carry (without the internal prompt tags).
pub fn tag_object(tags: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        tags.iter()
            .filter(|(k, _)| !INTERNAL_PROMPT_TAGS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

/// Tags and aliases of the given version rows: `(tags, aliases)`.
#[macro_export]
macro_rules! mv_extras {
    ($conn:expr, $rows:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::{model_version_tags as mvt, registered_model_aliases as ra};
        let names: Vec<&str> = $rows.iter().map(|r| r.name.as_str()).collect();
        let numbers: Vec<$crate::db::columns::Int32> =
            $rows.iter().map(|r| r.version.into()).collect();
        let tags = $crate::service::registry_read::tags_of_versions(
            mvt::table
                .filter(mvt::workspace.eq(&*$crate::workspace::effective()))
                .filter(mvt::name.eq_any(&names).and(mvt::version.eq_any(&numbers)))
                .order($crate::db::insertion_order(&*$conn))
                .select($crate::db::models::ModelVersionTagRow::as_select())
                .load($conn)?,
            $rows.iter().map(|r| (r.name.as_str(), r.version)),
        );
        let aliases: Vec<$crate::db::models::AliasRow> = ra::table
            .filter(ra::workspace.eq(&*$crate::workspace::effective()))
            .filter(ra::name.eq_any(&names))
            .order((ra::name, ra::alias))
            .select($crate::db::models::AliasRow::as_select())
            .load($conn)?;
        (tags, aliases)
    }};
}

/// Everything a registered model shows: `(tags, aliases, latest version per stage, their tags)`.
#[macro_export]
macro_rules! rm_extras {
    ($conn:expr, $names:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::{
            model_version_tags as mvt, model_versions as mv, registered_model_aliases as ra,
            registered_model_tags as rmt,
        };
        let names: &[String] = $names;
        let tags: Vec<$crate::db::models::RegisteredModelTagRow> = rmt::table
            .filter(rmt::workspace.eq(&*$crate::workspace::effective()))
            .filter(rmt::name.eq_any(names))
            .order($crate::db::insertion_order(&*$conn))
            .select($crate::db::models::RegisteredModelTagRow::as_select())
            .load($conn)?;
        let aliases: Vec<$crate::db::models::AliasRow> = ra::table
            .filter(ra::workspace.eq(&*$crate::workspace::effective()))
            .filter(ra::name.eq_any(names))
            .order((ra::name, ra::alias))
            .select($crate::db::models::AliasRow::as_select())
            .load($conn)?;
        let versions: Vec<$crate::db::models::ModelVersionRow> = mv::table
            .filter(mv::workspace.eq(&*$crate::workspace::effective()))
            .filter(mv::name.eq_any(names))
            .filter(mv::current_stage.ne($crate::service::registry_read::DELETED_STAGE))
            .order((mv::name, mv::version))
            .select($crate::db::models::ModelVersionRow::as_select())
            .load($conn)?;
        let latest = $crate::service::registry_read::latest_per_stage(versions);
        let numbers: Vec<$crate::db::columns::Int32> =
            latest.iter().map(|r| r.version.into()).collect();
        let vtags = $crate::service::registry_read::tags_of_versions(
            mvt::table
                .filter(mvt::workspace.eq(&*$crate::workspace::effective()))
                .filter(mvt::name.eq_any(names).and(mvt::version.eq_any(&numbers)))
                .order($crate::db::insertion_order(&*$conn))
                .select($crate::db::models::ModelVersionTagRow::as_select())
                .load($conn)?,
            latest.iter().map(|r| (r.name.as_str(), r.version)),
        );
        (tags, aliases, latest, vtags)
    }};
}

/// The tags among `tags` (loaded by model names and version numbers) that belong to one of `versions`.
pub fn tags_of_versions<'a>(
    tags: Vec<ModelVersionTagRow>,
    versions: impl Iterator<Item = (&'a str, i64)>,
) -> Vec<ModelVersionTagRow> {
    let wanted: std::collections::HashSet<(&str, i64)> = versions.collect();
    tags.into_iter()
        .filter(|t| wanted.contains(&(t.name.as_str(), t.version)))
        .collect()
}

/// The highest version in each stage, per model, ordered by model then version.
pub fn latest_per_stage(rows: Vec<ModelVersionRow>) -> Vec<ModelVersionRow> {
    let mut best: BTreeMap<(String, String), ModelVersionRow> = BTreeMap::new();
    for r in rows {
        let k = (r.name.clone(), r.current_stage.clone());
        if best.get(&k).is_none_or(|b| b.version < r.version) {
            best.insert(k, r);
        }
    }
    let mut out: Vec<ModelVersionRow> = best.into_values().collect();
    out.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
    out
}

/// Wire versions; `with_aliases` as the 3.17.2 server does it (get and alias lookups show them, searches
/// and `latest_versions` do not).
pub fn versions_to_wire(
    rows: Vec<ModelVersionRow>,
    tags: Vec<ModelVersionTagRow>,
    aliases: &[AliasRow],
    with_aliases: bool,
) -> Vec<ModelVersion> {
    let mut by_id: HashMap<(String, i64), Vec<KeyValue>> = HashMap::new();
    for t in tags {
        by_id
            .entry((t.name, t.version))
            .or_default()
            .push(KeyValue {
                key: t.key,
                value: t.value,
            });
    }
    rows.into_iter()
        .map(|r| ModelVersion {
            aliases: if with_aliases {
                aliases
                    .iter()
                    .filter(|a| a.name == r.name && a.version == r.version)
                    .map(|a| a.alias.clone())
                    .collect()
            } else {
                Vec::new()
            },
            tags: by_id
                .remove(&(r.name.clone(), r.version))
                .unwrap_or_default(),
            version: r.version.to_string(),
            creation_timestamp: r.creation_time,
            last_updated_timestamp: r.last_updated_time,
            user_id: r.user_id,
            current_stage: r.current_stage,
            description: r.description.unwrap_or_default(),
            source: r.source.unwrap_or_default(),
            run_id: r.run_id.filter(|s| !s.is_empty()),
            status: r.status,
            status_message: r.status_message,
            run_link: r.run_link.unwrap_or_default(),
            name: r.name,
        })
        .collect()
}

/// Wire registered models from their rows and [`rm_extras!`].
pub fn models_to_wire(
    rows: Vec<RegisteredModelRow>,
    extras: (
        Vec<RegisteredModelTagRow>,
        Vec<AliasRow>,
        Vec<ModelVersionRow>,
        Vec<ModelVersionTagRow>,
    ),
) -> Vec<RegisteredModel> {
    let (tags, aliases, latest, vtags) = extras;
    let mut latest_by: HashMap<String, Vec<ModelVersion>> = HashMap::new();
    for v in versions_to_wire(latest, vtags, &[], false) {
        latest_by.entry(v.name.clone()).or_default().push(v);
    }
    let mut tags_by: HashMap<String, Vec<KeyValue>> = HashMap::new();
    for t in tags {
        tags_by.entry(t.name).or_default().push(KeyValue {
            key: t.key,
            value: t.value,
        });
    }
    let mut aliases_by: HashMap<String, Vec<Alias>> = HashMap::new();
    for a in aliases {
        aliases_by.entry(a.name).or_default().push(Alias {
            alias: a.alias,
            version: a.version.to_string(),
        });
    }
    rows.into_iter()
        .map(|r| RegisteredModel {
            latest_versions: latest_by.remove(&r.name).unwrap_or_default(),
            tags: tags_by.remove(&r.name).unwrap_or_default(),
            aliases: aliases_by.remove(&r.name).unwrap_or_default(),
            creation_timestamp: r.creation_time,
            last_updated_timestamp: r.last_updated_time,
            user_id: None,
            description: r.description,
            name: r.name,
        })
        .collect()
}
