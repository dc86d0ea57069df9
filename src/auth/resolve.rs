//! What a request touches: the resources its rule names, read from its parameters or path (and, for a
//! run or logged model, the experiment it belongs to).

use diesel::prelude::*;

use super::cache::Cache;
use super::params::{decode, missing_param, Params};
use super::rules::Target;
use crate::db::schema::{endpoints as ep, experiments as ex, logged_models as lm, runs};
use crate::db::Db;
use crate::db_read;
use crate::error::{ApiError, ApiResult};

/// The path segment after `prefix` (percent-decoded).
pub fn segment_after(path: &str, prefix: &str) -> Option<String> {
    let i = path.find(prefix)? + prefix.len();
    let seg = path[i..].split('/').next()?;
    (!seg.is_empty()).then(|| decode(seg))
}

/// MLflow's grant pattern of a scorer: `<experiment_id>/<name>`, the name percent-encoded (`quote(name,
/// safe="")`), so that a `/` in a name stays unambiguous.
pub fn scorer_pattern(experiment_id: &str, name: &str) -> String {
    const QUOTE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~');
    format!(
        "{experiment_id}/{}",
        percent_encoding::utf8_percent_encode(name, QUOTE)
    )
}

/// The resources a rule names, once resolved (none: it does not exist, which lets the handler answer
/// 404). Without `db`, only from the request and what `cache` knows: `None` when that is not enough.
pub(super) fn resolve(
    db: Option<&Db>,
    cache: &Cache,
    target: Target,
    path: &str,
    p: &Params,
) -> ApiResult<Option<Vec<(String, String)>>> {
    let exp = |id: String| vec![("experiment".to_string(), id)];
    let missing = missing_param;
    Ok(Some(match target {
        Target::Experiment | Target::NewLoggedModel => {
            // `runs/create` without an experiment goes to the Default experiment, as in MLflow.
            exp(p.get("experiment_id").unwrap_or_else(|| "0".into()))
        }
        Target::ExperimentName => {
            let name = p
                .get("experiment_name")
                .ok_or_else(|| missing("experiment_name"))?;
            let Some(db) = db else { return Ok(None) };
            let id: Option<i32> = db_read!(db, |conn| Ok::<_, ApiError>(
                ex::table
                    .filter(ex::name.eq(&name))
                    .filter(ex::workspace.eq(&*crate::workspace::effective()))
                    .select(ex::experiment_id)
                    .first(conn)
                    .optional()?
            ))?;
            id.map(|i| exp(i.to_string())).unwrap_or_default()
        }
        Target::Run | Target::Runs => {
            let ids = if target == Target::Run {
                p.get("run_id")
                    .or_else(|| p.get("run_uuid"))
                    .map(|r| vec![r])
                    .ok_or_else(|| missing("run_id"))?
            } else {
                p.all("run_id")
            };
            let known: Vec<Option<i32>> = ids.iter().map(|r| cache.owner(r)).collect();
            let found: Vec<i32> = if known.iter().all(Option::is_some) {
                known.into_iter().flatten().collect()
            } else {
                let Some(db) = db else { return Ok(None) };
                let rows: Vec<(String, Option<i32>)> = db_read!(db, |conn| Ok::<_, ApiError>(
                    runs::table
                        .filter(runs::run_uuid.eq_any(&ids))
                        .select((runs::run_uuid, runs::experiment_id))
                        .load(conn)?
                ))?;
                rows.into_iter()
                    .filter_map(|(run, e)| {
                        let e = e?;
                        cache.remember_owner(&run, e);
                        Some(e)
                    })
                    .collect()
            };
            found
                .into_iter()
                .map(|i| ("experiment".into(), i.to_string()))
                .collect()
        }
        Target::Experiments => p
            .all("experiment_ids")
            .into_iter()
            .map(|e| ("experiment".to_string(), e))
            .collect(),
        Target::Model => {
            let name = p.get("name").ok_or_else(|| missing("name"))?;
            vec![("registered_model".into(), name)]
        }
        Target::Scorer | Target::NewScorer => {
            let e = p
                .get("experiment_id")
                .ok_or_else(|| missing("experiment_id"))?;
            let name = p.get("name").ok_or_else(|| missing("name"))?;
            let scorer = ("scorer".to_string(), scorer_pattern(&e, &name));
            match target {
                Target::NewScorer => vec![("experiment".into(), e), scorer],
                _ => vec![scorer],
            }
        }
        Target::GatewaySecret => {
            let id = p.get("secret_id").ok_or_else(|| missing("secret_id"))?;
            vec![("gateway_secret".into(), id)]
        }
        Target::GatewayModelDefinition => {
            let id = p
                .get("model_definition_id")
                .ok_or_else(|| missing("model_definition_id"))?;
            let mut r = vec![("gateway_model_definition".to_string(), id)];
            if let Some(s) = p.get("secret_id").filter(|s| !s.is_empty()) {
                r.push(("gateway_secret".into(), s));
            }
            r
        }
        Target::GatewayEndpoint | Target::NewGatewayEndpoint => {
            let mut r: Vec<(String, String)> = model_definitions_of(p)
                .into_iter()
                .map(|d| ("gateway_model_definition".to_string(), d))
                .collect();
            if target == Target::GatewayEndpoint {
                let id = match (
                    p.get("endpoint_id").filter(|s| !s.is_empty()),
                    p.get("name"),
                ) {
                    (Some(id), _) => id,
                    (None, Some(name)) => {
                        let Some(db) = db else { return Ok(None) };
                        let id: Option<String> = db_read!(db, |conn| Ok::<_, ApiError>(
                            ep::table
                                .filter(ep::name.eq(&name))
                                .select(ep::endpoint_id)
                                .first(conn)
                                .optional()?
                        ))?;
                        // Unknown: the default permission decides, and the handler answers 404.
                        id.unwrap_or(name)
                    }
                    (None, None) => return Err(missing("endpoint_id")),
                };
                r.push(("gateway_endpoint".into(), id));
            }
            r
        }
        Target::ModelInPath(prefix) => match segment_after(path, prefix) {
            Some(name) => vec![("registered_model".into(), name)],
            None => vec![],
        },
        Target::LoggedModel => {
            let id = segment_after(path, "/logged-models/").unwrap_or_default();
            let e = match cache.owner(&id) {
                Some(e) => Some(e),
                None => {
                    let Some(db) = db else { return Ok(None) };
                    let e: Option<i32> = db_read!(db, |conn| Ok::<_, ApiError>(
                        lm::table
                            .filter(lm::model_id.eq(&id))
                            .select(lm::experiment_id)
                            .first(conn)
                            .optional()?
                    ))?;
                    if let Some(e) = e {
                        cache.remember_owner(&id, e);
                    }
                    e
                }
            };
            e.map(|i| exp(i.to_string())).unwrap_or_default()
        }
        Target::ArtifactPath => {
            // The experiment id leads the path, after a workspace's `workspaces/<name>/` if any.
            let first = |rest: &str| {
                let rest = rest.trim_start_matches('/');
                let rest = match rest.strip_prefix("workspaces/") {
                    Some(r) => r.split_once('/').map_or("", |(_, tail)| tail),
                    None => rest,
                };
                rest.split('/').next().filter(|s| !s.is_empty()).map(decode)
            };
            let after = |prefix: &str| path.find(prefix).map(|i| &path[i + prefix.len()..]);
            let rel = [
                "/mlflow-artifacts/artifacts/",
                "/mlflow-artifacts/mpu/create/",
                "/mlflow-artifacts/mpu/complete/",
                "/mlflow-artifacts/mpu/abort/",
                "/mlflow-artifacts/presigned/",
            ]
            .iter()
            .find_map(|pre| after(pre).and_then(first))
            .or_else(|| p.get("path").as_deref().and_then(first));
            match rel {
                Some(first) if first.parse::<i64>().is_ok() => exp(first),
                // Outside any experiment's folder: only admins reach it.
                _ => vec![("experiment".into(), String::new())],
            }
        }
    }))
}

/// The model definitions a gateway request's `model_configs` (or `model_config`) name.
fn model_definitions_of(p: &Params) -> Vec<String> {
    let id = |c: &serde_json::Value| c.get("model_definition_id")?.as_str().map(str::to_string);
    match (p.body.get("model_configs"), p.body.get("model_config")) {
        (Some(serde_json::Value::Array(a)), _) => a.iter().filter_map(id).collect(),
        // Attaching one model definition.
        (_, Some(one)) => id(one).into_iter().collect(),
        _ => Vec::new(),
    }
}
