//! Deciding one request: read what it touches from its parameters or path, find the user's permission on
//! it (grants folded, `default_permission` as the floor) and compare with what the rule needs.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::cache::Cache;
use super::permission::Permission;
use super::rules::{Rule, Target};
use super::Viewer;
use super::{grants, roles, users};
use crate::db::schema::{experiments as ex, logged_models as lm, runs};
use crate::db::Db;
use crate::db_read;
use crate::error::{ApiError, ApiResult};

/// A request's parameters: its query string, overlaid by a JSON object body.
#[derive(Debug, Default)]
pub struct Params {
    pub query: Vec<(String, String)>,
    pub body: Map<String, Value>,
}

impl Params {
    pub fn parse(query: &str, body: &[u8]) -> Params {
        let query = url_pairs(query);
        let body = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Params { query, body }
    }

    /// The first value of `key` (the body's when both have one).
    pub fn get(&self, key: &str) -> Option<String> {
        match self.body.get(key) {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            Some(Value::Bool(b)) => return Some(b.to_string()),
            _ => {}
        }
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Every value of `key` (repeated query parameters, or a body array).
    pub fn all(&self, key: &str) -> Vec<String> {
        if let Some(Value::Array(a)) = self.body.get(key) {
            return a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
        }
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The path segment after `prefix` (percent-decoded).
pub fn segment_after(path: &str, prefix: &str) -> Option<String> {
    let i = path.find(prefix)? + prefix.len();
    let seg = path[i..].split('/').next()?;
    (!seg.is_empty()).then(|| decode(seg))
}

fn missing_param(k: &str) -> ApiError {
    ApiError::invalid(format!(
        "Missing value for required parameter '{k}'. See the API docs for more information about \
         request parameters."
    ))
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

/// The user's permission on one resource: the folded grants, floored by the default.
pub fn permission(
    viewer: &Viewer,
    default: Permission,
    resource_type: &str,
    id: &str,
) -> Permission {
    Permission::floor(grants::fold_for(&viewer.grants, resource_type, id), default)
}

/// The resources a rule names, once resolved (none: it does not exist, which lets the handler answer
/// 404). Without `db`, only from the request and what `cache` knows: `None` when that is not enough.
fn resolve(
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
            let rel = match segment_after(path, "/mlflow-artifacts/artifacts/") {
                Some(first) => Some(first),
                None => segment_after(path, "/mlflow-artifacts/mpu/create/")
                    .or_else(|| segment_after(path, "/mlflow-artifacts/mpu/complete/"))
                    .or_else(|| segment_after(path, "/mlflow-artifacts/mpu/abort/"))
                    .or_else(|| segment_after(path, "/mlflow-artifacts/presigned/"))
                    .or_else(|| {
                        p.get("path")
                            .and_then(|q| q.split('/').find(|s| !s.is_empty()).map(str::to_string))
                    }),
            };
            match rel {
                Some(first) if first.parse::<i64>().is_ok() => exp(first),
                // Outside any experiment's folder: only admins reach it.
                _ => vec![("experiment".into(), String::new())],
            }
        }
    }))
}

/// Whether `viewer` (not an admin) may make this request. Without `db`, only what can be decided from
/// the request, the viewer's grants and `cache`: `None` when a read is needed.
pub fn allowed(
    db: Option<&Db>,
    cache: &Cache,
    viewer: &Viewer,
    default: Permission,
    rule: Rule,
    path: &str,
    p: &Params,
) -> ApiResult<Option<bool>> {
    match (rule, db) {
        (Rule::Public | Rule::Authenticated, _) => Ok(Some(true)),
        (Rule::Admin, _) => Ok(Some(false)),
        (Rule::Needs(target, action), _) => {
            let Some(resources) = resolve(db, cache, target, path, p)? else {
                return Ok(None);
            };
            Ok(Some(
                resources.iter().all(|(t, id)| {
                    let have = permission(viewer, default, t, id);
                    !id.is_empty()
                        && match (target, t.as_str()) {
                            // Registering needs EDIT on the experiment; on the scorer, only no DENY.
                            (Target::NewScorer, "scorer") => have != Permission::Deny,
                            (Target::Scorer, _) if action == crate::auth::Action::Delete => {
                                // A version is addressed by reading its scorer; the scorer by deleting it.
                                have.allows(if p.get("version").is_some() {
                                    crate::auth::Action::Read
                                } else {
                                    action
                                })
                            }
                            _ => have.allows(action),
                        }
                }) && !(matches!(target, Target::Scorer | Target::NewScorer)
                    && grants::fold_for(&viewer.grants, "scorer_version", "*")
                        == Some(Permission::Deny)),
            ))
        }
        (Rule::SelfOrAdmin, _) => {
            let who = p.get("username").ok_or_else(|| missing_param("username"))?;
            Ok(Some(who == viewer.username))
        }
        (_, None) => Ok(None),
        (_, Some(db)) => by_roles(db, viewer, rule, p).map(Some),
    }
}

/// The rules about users and roles, which read the store.
fn by_roles(db: &Db, viewer: &Viewer, rule: Rule, p: &Params) -> ApiResult<bool> {
    Ok(match rule {
        Rule::CreateUser => !roles::workspaces_of(db, viewer.id)?.1.is_empty(),
        Rule::ManageRoles | Rule::ViewRoles => {
            let Some(ws) = role_workspace(db, p)? else {
                return Ok(false);
            };
            let (present, admin) = roles::workspaces_of(db, viewer.id)?;
            if rule == Rule::ManageRoles {
                admin.contains(&ws)
            } else {
                present.contains(&ws)
            }
        }
        Rule::ListRoles => {
            let wanted = p.all("workspace");
            let (present, _) = roles::workspaces_of(db, viewer.id)?;
            !wanted.is_empty() && wanted.iter().all(|w| present.contains(w))
        }
        Rule::ViewUserRoles => {
            let target = p.get("username");
            if target.as_deref() == Some(viewer.username.as_str()) {
                return Ok(true);
            }
            let Some(t) = target
                .and_then(|u| users::find(db, &u).transpose())
                .transpose()?
            else {
                return Ok(false);
            };
            let (_, admin) = roles::workspaces_of(db, viewer.id)?;
            let (theirs, _) = roles::workspaces_of(db, t.id)?;
            theirs.iter().any(|w| admin.contains(w))
        }
        // Decided by `allowed` without the store; anything else is refused.
        Rule::Public | Rule::Authenticated | Rule::Admin | Rule::SelfOrAdmin | Rule::Needs(..) => {
            false
        }
    })
}

/// The workspace a role request targets: of its `role_id`, its `role_permission_id`, or `workspace`.
/// `None` when the role does not exist (the caller denies rather than tell).
fn role_workspace(db: &Db, p: &Params) -> ApiResult<Option<String>> {
    let int = |k: &str| -> ApiResult<Option<i32>> {
        p.get(k)
            .map(|v| {
                v.parse::<i32>().map_err(|_| {
                    ApiError::invalid(format!("Parameter '{k}' must be an integer. Got: '{v}'"))
                })
            })
            .transpose()
    };
    let found = |r: ApiResult<roles::RoleRow>| match r {
        Ok(r) => Ok(Some(r.workspace)),
        Err(e) if e.code == crate::error::ErrorCode::RESOURCE_DOES_NOT_EXIST => Ok(None),
        Err(e) => Err(e),
    };
    if let Some(id) = int("role_id")? {
        return found(roles::get(db, id));
    }
    if let Some(id) = int("role_permission_id")? {
        return match roles::get_permission(db, id) {
            Ok(rp) => found(roles::get(db, rp.role_id)),
            Err(e) if e.code == crate::error::ErrorCode::RESOURCE_DOES_NOT_EXIST => Ok(None),
            Err(e) => Err(e),
        };
    }
    match p.get("workspace") {
        Some(w) if !w.trim().is_empty() => Ok(Some(w)),
        _ => Err(ApiError::invalid(
            "Request must include one of: role_id, role_permission_id, workspace.",
        )),
    }
}

/// Whether the request's user may do what `rule` says on the resources `params` name, outside the gate
/// (GraphQL's fields): auth off, no user or an admin may.
pub fn may(
    st: &crate::service::AppState,
    who: Option<&Viewer>,
    rule: Rule,
    params: Value,
) -> ApiResult<bool> {
    let (Some(auth), Some(v)) = (st.auth.as_ref(), who) else {
        return Ok(true);
    };
    if v.is_admin {
        return Ok(true);
    }
    let p = Params {
        query: Vec::new(),
        body: match params {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    };
    let decided = allowed(
        Some(&st.db),
        &auth.cache,
        v,
        auth.config.default_permission,
        rule,
        "",
        &p,
    )?;
    Ok(decided == Some(true))
}
