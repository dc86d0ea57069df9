//! Grants as stored: a permission on a resource pattern (an id or `*`), held by a role; a user's own
//! grants sit in its synthetic role `__user_<id>__`. Validation follows `permissions.py`.

use diesel::prelude::*;

use super::permission::Permission;
use super::users::own_role_name;
use crate::db::harvester::{
    harvester_role_permissions as rp, harvester_roles as ro, harvester_user_roles as ur,
};
use crate::db::Db;
use crate::db_read;
use crate::error::{ApiError, ApiResult};

/// Resource types whose grants may name one resource; every other known type takes `*` only.
const BY_ID: &[&str] = &[
    "experiment",
    "registered_model",
    "prompt",
    "scorer",
    "gateway_secret",
    "gateway_endpoint",
    "gateway_model_definition",
    "mcp_server",
];
const WILDCARD_ONLY: &[&str] = &[
    "workspace",
    "run",
    "trace",
    "assessment",
    "logged_model",
    "review_queue",
    "registered_model_version",
    "prompt_version",
    "scorer_version",
    "mcp_server_version",
];

fn all_types() -> Vec<&'static str> {
    let mut v: Vec<&str> = BY_ID.iter().chain(WILDCARD_ONLY).copied().collect();
    v.sort_unstable();
    v
}

pub fn validate_type(resource_type: &str) -> ApiResult<()> {
    if BY_ID.contains(&resource_type) || WILDCARD_ONLY.contains(&resource_type) {
        return Ok(());
    }
    let list = all_types()
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::invalid(format!(
        "Invalid resource type '{resource_type}'. Valid resource types are: ({list})"
    )))
}

pub fn validate_pattern(pattern: &str, resource_type: &str) -> ApiResult<()> {
    validate_type(resource_type)?;
    if pattern == "*" || BY_ID.contains(&resource_type) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Invalid resource_pattern '{pattern}' for resource_type='{resource_type}'. This resource type \
         supports only wildcard ('*') grants."
    )))
}

/// A permission name valid for a grant on `resource_type`.
pub fn validate_permission(permission: &str, resource_type: &str) -> ApiResult<Permission> {
    let names = Permission::ALL
        .map(|p| format!("'{}'", p.name()))
        .join(", ");
    let p = Permission::parse(permission).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid permission '{permission}'. Valid permissions are: ({names})"
        ))
    })?;
    validate_type(resource_type)?;
    if resource_type == "workspace" {
        if !matches!(p, Permission::Use | Permission::Manage) {
            return Err(ApiError::invalid(format!(
                "Invalid permission '{permission}' for resource_type='workspace'. Workspace-wide grants \
                 accept only: ('MANAGE', 'USE')."
            )));
        }
    } else if p == Permission::NoPermissions {
        return Err(ApiError::invalid(format!(
            "Invalid permission '{permission}' for resource_type='{resource_type}'. Resource-level grants \
             accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE')."
        )));
    }
    Ok(p)
}

/// One grant a user holds, through any role.
#[derive(Debug, Clone, Queryable)]
pub struct Grant {
    pub resource_type: String,
    pub resource_pattern: String,
    pub permission: String,
}

/// Every grant of `user_id` on the given resource types (one query), through its roles in the current
/// workspace ([`crate::workspace::effective`]): a role of another workspace grants nothing here, as in MLflow.
pub fn of_user(db: &Db, user_id: i32, types: &[&str]) -> ApiResult<Vec<Grant>> {
    db_read!(db, |conn| Ok(rp::table
        .inner_join(ur::table.on(ur::role_id.eq(rp::role_id)))
        .inner_join(ro::table.on(ro::id.eq(rp::role_id)))
        .filter(ur::user_id.eq(user_id))
        .filter(ro::workspace.eq(&*crate::workspace::effective()))
        .filter(rp::resource_type.eq_any(types))
        .select((rp::resource_type, rp::resource_pattern, rp::permission))
        .load::<Grant>(conn)?))
}

/// Every grant of `user_id` (one query), through its roles in the current workspace.
pub fn all_of_user(db: &Db, user_id: i32) -> ApiResult<Vec<Grant>> {
    db_read!(db, |conn| Ok(rp::table
        .inner_join(ur::table.on(ur::role_id.eq(rp::role_id)))
        .inner_join(ro::table.on(ro::id.eq(rp::role_id)))
        .filter(ur::user_id.eq(user_id))
        .filter(ro::workspace.eq(&*crate::workspace::effective()))
        .select((rp::resource_type, rp::resource_pattern, rp::permission))
        .load::<Grant>(conn)?))
}

/// The grants that apply to one resource, folded (`None`: no grant).
pub fn fold_for(grants: &[Grant], resource_type: &str, id: &str) -> Option<Permission> {
    let by_id = BY_ID.contains(&resource_type);
    Permission::fold(
        grants
            .iter()
            .filter(|g| {
                // A workspace-wide grant (`workspace`, `*`) speaks for every resource of the workspace.
                (g.resource_type == resource_type
                    && (g.resource_pattern == "*" || (by_id && g.resource_pattern == id)))
                    || (g.resource_type == "workspace" && g.resource_pattern == "*")
            })
            .filter_map(|g| Permission::parse(&g.permission)),
    )
}

/// Add (or, with `replace`, set) a grant on a user's own role.
pub fn grant_user(
    db: &Db,
    user_id: i32,
    username: &str,
    resource_type: &str,
    pattern: &str,
    permission: Permission,
    replace: bool,
) -> ApiResult<()> {
    let role_name = own_role_name(user_id);
    auth_write!(db, |conn| {
        let existing: Option<i32> = ro::table
            .filter(ro::workspace.eq(&*crate::workspace::effective()))
            .filter(ro::name.eq(&role_name))
            .select(ro::id)
            .first(conn)
            .optional()?;
        let role_id = match existing {
            Some(id) => id,
            None => {
                let id: i32 = diesel::insert_into(ro::table)
                    .values((
                        ro::workspace.eq(&*crate::workspace::effective()),
                        ro::name.eq(&role_name),
                        ro::description.eq(Some(format!("Direct grants of user {username}"))),
                    ))
                    .returning(ro::id)
                    .get_result(conn)?;
                diesel::insert_into(ur::table)
                    .values((ur::user_id.eq(user_id), ur::role_id.eq(id)))
                    .execute(conn)?;
                id
            }
        };
        let current: Option<i32> = rp::table
            .filter(rp::role_id.eq(role_id))
            .filter(rp::resource_type.eq(resource_type))
            .filter(rp::resource_pattern.eq(pattern))
            .select(rp::id)
            .first(conn)
            .optional()?;
        match current {
            Some(_) if !replace => Err(ApiError::already_exists(format!(
                "Permission for user={username} on resource_type={resource_type}, \
                 resource_id={pattern} already exists."
            ))),
            Some(id) => {
                diesel::update(rp::table.filter(rp::id.eq(id)))
                    .set(rp::permission.eq(permission.name()))
                    .execute(conn)?;
                Ok(())
            }
            None => {
                diesel::insert_into(rp::table)
                    .values((
                        rp::role_id.eq(role_id),
                        rp::resource_type.eq(resource_type),
                        rp::resource_pattern.eq(pattern),
                        rp::permission.eq(permission.name()),
                    ))
                    .execute(conn)?;
                Ok(())
            }
        }
    })
}

/// Remove a grant from a user's own role.
pub fn revoke_user(
    db: &Db,
    user_id: i32,
    username: &str,
    resource_type: &str,
    pattern: &str,
) -> ApiResult<()> {
    let role_name = own_role_name(user_id);
    let n = auth_write!(db, |conn| {
        let ids = ro::table.filter(ro::name.eq(&role_name)).select(ro::id);
        Ok(diesel::delete(
            rp::table
                .filter(rp::role_id.eq_any(ids))
                .filter(rp::resource_type.eq(resource_type))
                .filter(rp::resource_pattern.eq(pattern)),
        )
        .execute(conn)?)
    })?;
    if n == 0 {
        return Err(ApiError::not_found(format!(
            "Permission for user={username} on resource_type={resource_type}, resource_id={pattern} \
             not found."
        )));
    }
    Ok(())
}

/// Drop every grant naming one resource (it was deleted: a new one of that name must not inherit them).
pub fn delete_for_resource(db: &Db, resource_type: &str, id: &str) -> ApiResult<()> {
    auth_write!(db, |conn| {
        diesel::delete(
            rp::table
                .filter(rp::resource_type.eq(resource_type))
                .filter(rp::resource_pattern.eq(id)),
        )
        .execute(conn)?;
        Ok(())
    })
}

/// Follow a rename: grants naming the old name name the new one.
pub fn rename_resource(db: &Db, resource_type: &str, old: &str, new: &str) -> ApiResult<()> {
    auth_write!(db, |conn| {
        diesel::update(
            rp::table
                .filter(rp::resource_type.eq(resource_type))
                .filter(rp::resource_pattern.eq(old)),
        )
        .set(rp::resource_pattern.eq(new))
        .execute(conn)?;
        Ok(())
    })
}

/// Every grant of a user through each of its roles, as `users/permissions/list` shows them.
pub fn listing(db: &Db, user_id: i32) -> ApiResult<Vec<serde_json::Value>> {
    let rows: Vec<(i32, String, String, String, String, String)> =
        db_read!(db, |conn| Ok::<_, ApiError>(
            rp::table
                .inner_join(ro::table.on(ro::id.eq(rp::role_id)))
                .inner_join(ur::table.on(ur::role_id.eq(rp::role_id)))
                .filter(ur::user_id.eq(user_id))
                .order(rp::id)
                .select((
                    ro::id,
                    ro::name,
                    ro::workspace,
                    rp::resource_type,
                    rp::resource_pattern,
                    rp::permission
                ))
                .load(conn)?
        ))?;
    Ok(rows
        .into_iter()
        .map(|(role_id, role_name, workspace, t, pat, perm)| {
            serde_json::json!({"role_id": role_id, "role_name": role_name, "workspace": workspace,
                "resource_type": t, "resource_pattern": pat, "permission": perm})
        })
        .collect())
}
