//! Deciding one request: read what it touches from its parameters or path, find the user's permission on
//! it (grants folded, `default_permission` as the floor) and compare with what the rule needs.

use serde_json::{Map, Value};

use super::cache::Cache;
use super::params::{missing_param, Params};
use super::permission::Permission;
use super::resolve::resolve;
use super::rules::{Rule, Target};
use super::Viewer;
use super::{grants, roles, users};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// The user's permission on one resource: the folded grants, floored by the default.
pub fn permission(
    viewer: &Viewer,
    default: Permission,
    resource_type: &str,
    id: &str,
) -> Permission {
    viewer.floor(grants::fold_for(&viewer.grants, resource_type, id), default)
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
        (Rule::Create, _) => Ok(Some(viewer.may_create(default))),
        // With workspaces off there is only `default`, which anyone may look at (stock's rule).
        (Rule::ViewWorkspace, _) if crate::workspace::current().is_none() => Ok(Some(true)),
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
                            // What a gateway resource is being rebuilt on is used, not edited (only
                            // a change names one).
                            (Target::GatewayModelDefinition, "gateway_secret")
                            | (Target::GatewayEndpoint, "gateway_model_definition") => {
                                action != crate::auth::Action::Update
                                    || have.allows(crate::auth::Action::Use)
                            }
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
        (_, Some(db)) => by_roles(db, viewer, rule, path, p).map(Some),
    }
}

/// The rules about users and roles, which read the store.
fn by_roles(db: &Db, viewer: &Viewer, rule: Rule, path: &str, p: &Params) -> ApiResult<bool> {
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
        Rule::ViewWorkspace => {
            let name = path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            roles::workspaces_of(db, viewer.id)?
                .0
                .iter()
                .any(|w| w == name)
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
        Rule::Public
        | Rule::Authenticated
        | Rule::Create
        | Rule::Admin
        | Rule::SelfOrAdmin
        | Rule::Needs(..) => false,
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
