//! Roles as stored (`harvester_roles`): a named set of grants in a workspace, assigned to users
//! (`harvester_user_roles`). MLflow 3.17's RBAC; JSON shapes as its `entities.py` writes them.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::grants;
use crate::db::harvester::{
    harvester_role_permissions as rp, harvester_roles as ro, harvester_user_roles as ur,
};
use crate::db::Db;
use crate::db_read;
use crate::error::{ApiError, ApiResult, ErrorCode};

#[derive(Debug, Clone, Queryable)]
pub struct RoleRow {
    pub id: i32,
    pub workspace: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct RolePermissionRow {
    pub id: i32,
    pub role_id: i32,
    pub resource_type: String,
    pub resource_pattern: String,
    pub permission: String,
}

const ROLE_COLUMNS: (ro::id, ro::workspace, ro::name, ro::description) =
    (ro::id, ro::workspace, ro::name, ro::description);
const RP_COLUMNS: (
    rp::id,
    rp::role_id,
    rp::resource_type,
    rp::resource_pattern,
    rp::permission,
) = (
    rp::id,
    rp::role_id,
    rp::resource_type,
    rp::resource_pattern,
    rp::permission,
);

pub fn permission_json(p: &RolePermissionRow) -> Value {
    json!({"id": p.id, "role_id": p.role_id, "resource_type": p.resource_type,
        "resource_pattern": p.resource_pattern, "permission": p.permission})
}

/// Roles with their permissions, as JSON (one query for all the permissions).
pub fn to_json(db: &Db, roles: Vec<RoleRow>) -> ApiResult<Vec<Value>> {
    let ids: Vec<i32> = roles.iter().map(|r| r.id).collect();
    let perms: Vec<RolePermissionRow> = db_read!(db, |conn| Ok::<_, ApiError>(
        rp::table
            .filter(rp::role_id.eq_any(&ids))
            .order(rp::id)
            .select(RP_COLUMNS)
            .load(conn)?
    ))?;
    Ok(roles
        .into_iter()
        .map(|r| {
            let mine: Vec<Value> = perms
                .iter()
                .filter(|p| p.role_id == r.id)
                .map(permission_json)
                .collect();
            json!({"id": r.id, "name": r.name, "workspace": r.workspace,
                "description": r.description, "permissions": mine})
        })
        .collect())
}

fn role_not_found(id: i32) -> ApiError {
    ApiError::not_found(format!("Role with id={id} not found"))
}

pub fn create(
    db: &Db,
    name: &str,
    workspace: &str,
    description: Option<&str>,
) -> ApiResult<RoleRow> {
    let r = auth_write!(db, |conn| Ok(diesel::insert_into(ro::table)
        .values((
            ro::name.eq(name),
            ro::workspace.eq(workspace),
            ro::description.eq(description),
        ))
        .returning(ROLE_COLUMNS)
        .get_result::<RoleRow>(conn)?));
    r.map_err(|e| match e.code {
        ErrorCode::RESOURCE_ALREADY_EXISTS => ApiError::already_exists(format!(
            "Role (name={name}, workspace={workspace}) already exists."
        )),
        _ => e,
    })
}

pub fn get(db: &Db, id: i32) -> ApiResult<RoleRow> {
    db_read!(db, |conn| ro::table
        .find(id)
        .select(ROLE_COLUMNS)
        .first::<RoleRow>(conn)
        .optional()?
        .ok_or_else(|| role_not_found(id)))
}

/// Roles in the given workspaces (all of them when none is given).
pub fn list(db: &Db, workspaces: &[String]) -> ApiResult<Vec<RoleRow>> {
    db_read!(db, |conn| {
        let mut q = ro::table.select(ROLE_COLUMNS).order(ro::id).into_boxed();
        if !workspaces.is_empty() {
            q = q.filter(ro::workspace.eq_any(workspaces));
        }
        Ok(q.load::<RoleRow>(conn)?)
    })
}

pub fn update(
    db: &Db,
    id: i32,
    name: Option<&str>,
    description: Option<&str>,
) -> ApiResult<RoleRow> {
    auth_write!(db, |conn| {
        if let Some(n) = name {
            diesel::update(ro::table.find(id))
                .set(ro::name.eq(n))
                .execute(conn)?;
        }
        if let Some(d) = description {
            diesel::update(ro::table.find(id))
                .set(ro::description.eq(d))
                .execute(conn)?;
        }
        ro::table
            .find(id)
            .select(ROLE_COLUMNS)
            .first::<RoleRow>(conn)
            .optional()?
            .ok_or_else(|| role_not_found(id))
    })
}

pub fn delete(db: &Db, id: i32) -> ApiResult<()> {
    let n = auth_write!(db, |conn| Ok(
        diesel::delete(ro::table.find(id)).execute(conn)?
    ))?;
    if n == 0 {
        return Err(role_not_found(id));
    }
    Ok(())
}

pub fn add_permission(
    db: &Db,
    role_id: i32,
    resource_type: &str,
    pattern: &str,
    permission: &str,
) -> ApiResult<RolePermissionRow> {
    grants::validate_pattern(pattern, resource_type)?;
    let p = grants::validate_permission(permission, resource_type)?;
    get(db, role_id)?;
    auth_write!(db, |conn| Ok(diesel::insert_into(rp::table)
        .values((
            rp::role_id.eq(role_id),
            rp::resource_type.eq(resource_type),
            rp::resource_pattern.eq(pattern),
            rp::permission.eq(p.name()),
        ))
        .returning(RP_COLUMNS)
        .get_result::<RolePermissionRow>(conn)?))
}

pub fn get_permission(db: &Db, id: i32) -> ApiResult<RolePermissionRow> {
    db_read!(db, |conn| rp::table
        .find(id)
        .select(RP_COLUMNS)
        .first::<RolePermissionRow>(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found(format!(
            "Role permission with id={id} not found"
        ))))
}

pub fn remove_permission(db: &Db, id: i32) -> ApiResult<()> {
    get_permission(db, id)?;
    auth_write!(db, |conn| Ok(diesel::delete(rp::table.find(id))
        .execute(conn)
        .map(|_| ())?))
}

pub fn update_permission(db: &Db, id: i32, permission: &str) -> ApiResult<RolePermissionRow> {
    let current = get_permission(db, id)?;
    let p = grants::validate_permission(permission, &current.resource_type)?;
    auth_write!(db, |conn| {
        diesel::update(rp::table.find(id))
            .set(rp::permission.eq(p.name()))
            .execute(conn)?;
        Ok(())
    })?;
    get_permission(db, id)
}

pub fn permissions_of(db: &Db, role_id: i32) -> ApiResult<Vec<RolePermissionRow>> {
    get(db, role_id)?;
    db_read!(db, |conn| Ok(rp::table
        .filter(rp::role_id.eq(role_id))
        .order(rp::id)
        .select(RP_COLUMNS)
        .load::<RolePermissionRow>(conn)?))
}

pub fn assign(db: &Db, user_id: i32, role_id: i32) -> ApiResult<Value> {
    get(db, role_id)?;
    auth_write!(db, |conn| {
        diesel::insert_into(ur::table)
            .values((ur::user_id.eq(user_id), ur::role_id.eq(role_id)))
            .execute(conn)?;
        Ok(())
    })
    .map_err(|e| match e.code {
        ErrorCode::RESOURCE_ALREADY_EXISTS => ApiError::already_exists(format!(
            "User role assignment (user_id={user_id}, role_id={role_id}) already exists."
        )),
        _ => e,
    })?;
    Ok(assignment_json(user_id, role_id))
}

/// Stock numbers assignments; Harvester keys them by (user, role), so the id is derived from both.
fn assignment_json(user_id: i32, role_id: i32) -> Value {
    json!({"id": (i64::from(user_id) << 32) | i64::from(role_id), "user_id": user_id, "role_id": role_id})
}

pub fn unassign(db: &Db, user_id: i32, role_id: i32) -> ApiResult<()> {
    let n = auth_write!(db, |conn| Ok(diesel::delete(
        ur::table
            .filter(ur::user_id.eq(user_id))
            .filter(ur::role_id.eq(role_id))
    )
    .execute(conn)?))?;
    if n == 0 {
        return Err(ApiError::not_found(format!(
            "User role assignment (user_id={user_id}, role_id={role_id}) not found"
        )));
    }
    Ok(())
}

pub fn of_user(db: &Db, user_id: i32) -> ApiResult<Vec<RoleRow>> {
    db_read!(db, |conn| Ok(ro::table
        .inner_join(ur::table.on(ur::role_id.eq(ro::id)))
        .filter(ur::user_id.eq(user_id))
        .order(ro::id)
        .select(ROLE_COLUMNS)
        .load::<RoleRow>(conn)?))
}

/// The roles of every user (one query), as `users/list` shows them: user id → its roles as JSON.
pub fn json_by_user(db: &Db) -> ApiResult<std::collections::HashMap<i32, Vec<Value>>> {
    let rows: Vec<(i32, RoleRow)> = db_read!(db, |conn| Ok::<_, ApiError>(
        ro::table
            .inner_join(ur::table.on(ur::role_id.eq(ro::id)))
            .order((ur::user_id, ro::id))
            .select((ur::user_id, ROLE_COLUMNS))
            .load(conn)?
    ))?;
    let (owners, roles): (Vec<i32>, Vec<RoleRow>) = rows.into_iter().unzip();
    let mut out: std::collections::HashMap<i32, Vec<Value>> = std::collections::HashMap::new();
    for (user, role) in owners.into_iter().zip(to_json(db, roles)?) {
        out.entry(user).or_default().push(role);
    }
    Ok(out)
}

pub fn users_of(db: &Db, role_id: i32) -> ApiResult<Vec<Value>> {
    get(db, role_id)?;
    let ids: Vec<i32> = db_read!(db, |conn| Ok::<_, ApiError>(
        ur::table
            .filter(ur::role_id.eq(role_id))
            .order(ur::user_id)
            .select(ur::user_id)
            .load(conn)?
    ))?;
    Ok(ids
        .into_iter()
        .map(|u| assignment_json(u, role_id))
        .collect())
}

/// Workspaces where `user_id` holds a role, and those where it is a workspace admin
/// (`workspace`, `*`, `MANAGE`).
pub fn workspaces_of(db: &Db, user_id: i32) -> ApiResult<(Vec<String>, Vec<String>)> {
    let rows: Vec<(String, Option<String>, Option<String>, Option<String>)> =
        db_read!(db, |conn| Ok::<_, ApiError>(
            ro::table
                .inner_join(ur::table.on(ur::role_id.eq(ro::id)))
                .left_join(rp::table.on(rp::role_id.eq(ro::id)))
                .filter(ur::user_id.eq(user_id))
                .select((
                    ro::workspace,
                    rp::resource_type.nullable(),
                    rp::resource_pattern.nullable(),
                    rp::permission.nullable(),
                ))
                .load(conn)?
        ))?;
    let mut present: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    present.sort();
    present.dedup();
    let mut admin: Vec<String> = rows
        .iter()
        .filter(|r| {
            r.1.as_deref() == Some("workspace")
                && r.2.as_deref() == Some("*")
                && r.3.as_deref() == Some("MANAGE")
        })
        .map(|r| r.0.clone())
        .collect();
    admin.dedup();
    Ok((present, admin))
}

/// The roles stock seeds into a new workspace (`MLFLOW_RBAC_SEED_DEFAULT_ROLES`): `admin` with MANAGE and
/// `user` with USE on (`workspace`, `*`). As stock, a failure is logged (the workspace exists by now) and
/// a role left without its grant is removed.
pub fn seed_workspace(db: &Db, workspace: &str) {
    const ROLES: [(&str, &str, &str); 2] = [
        ("admin", "MANAGE", "Full MANAGE authority over the workspace."),
        (
            "user",
            "USE",
            "Read every resource in the workspace and create new experiments and registered models; \
             the creator-as-owner mechanism grants MANAGE on what you create, with no write or delete \
             access to resources owned by other users.",
        ),
    ];
    for (name, permission, description) in ROLES {
        let role = match create(db, name, workspace, Some(description)) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(
                    "Failed to create default role '{name}' for workspace '{workspace}': {e}"
                );
                continue;
            }
        };
        if let Err(e) = add_permission(db, role.id, "workspace", "*", permission) {
            tracing::error!("Failed to add permission to default role '{name}' for workspace '{workspace}': {e}");
            let _ = delete(db, role.id);
        }
    }
}

/// Drop every role of a deleted workspace (with their grants and assignments).
pub fn drop_workspace(db: &Db, workspace: &str) -> ApiResult<()> {
    for role in list(db, &[workspace.to_string()])? {
        delete(db, role.id)?;
    }
    Ok(())
}
