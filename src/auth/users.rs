//! The basic-auth users as stored (`harvester_users`): create, read, update, delete.

use diesel::prelude::*;

use super::password;
use crate::db::harvester::{harvester_roles as ro, harvester_users as hu};
use crate::db::Db;
use crate::db_read;
use crate::error::{ApiError, ApiResult};

/// A user as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = hu)]
pub struct UserRow {
    pub id: i32,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
}

/// The synthetic role that holds one user's own grants (MLflow's `__user_<id>__`).
pub fn own_role_name(user_id: i32) -> String {
    format!("__user_{user_id}__")
}

fn not_found(username: &str) -> ApiError {
    ApiError::not_found(format!("User with username={username} not found"))
}

pub fn find(db: &Db, username: &str) -> ApiResult<Option<UserRow>> {
    db_read!(db, |conn| Ok(hu::table
        .filter(hu::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?))
}

pub fn get(db: &Db, username: &str) -> ApiResult<UserRow> {
    find(db, username)?.ok_or_else(|| not_found(username))
}

pub fn list(db: &Db) -> ApiResult<Vec<UserRow>> {
    db_read!(db, |conn| Ok(hu::table
        .order(hu::id)
        .select(UserRow::as_select())
        .load(conn)?))
}

pub fn create(db: &Db, username: &str, password: &str, is_admin: bool) -> ApiResult<UserRow> {
    if username.is_empty() {
        return Err(ApiError::invalid("Username cannot be empty."));
    }
    let hash = password::hash(password)?;
    let now = crate::service::now_ms();
    let res = auth_write!(db, |conn| Ok(diesel::insert_into(hu::table)
        .values((
            hu::username.eq(username),
            hu::password_hash.eq(&hash),
            hu::is_admin.eq(is_admin),
            hu::created_at.eq(now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)?));
    res.map_err(|e| match e.code {
        crate::error::ErrorCode::RESOURCE_ALREADY_EXISTS => {
            ApiError::already_exists(format!("User (username={username}) already exists."))
        }
        _ => e,
    })
}

pub fn set_password(db: &Db, username: &str, password: &str) -> ApiResult<()> {
    let hash = password::hash(password)?;
    let n = auth_write!(db, |conn| Ok(diesel::update(
        hu::table.filter(hu::username.eq(username))
    )
    .set(hu::password_hash.eq(&hash))
    .execute(conn)?))?;
    if n == 0 {
        return Err(not_found(username));
    }
    Ok(())
}

pub fn set_admin(db: &Db, username: &str, is_admin: bool) -> ApiResult<()> {
    let n = auth_write!(db, |conn| Ok(diesel::update(
        hu::table.filter(hu::username.eq(username))
    )
    .set(hu::is_admin.eq(is_admin))
    .execute(conn)?))?;
    if n == 0 {
        return Err(not_found(username));
    }
    Ok(())
}

/// Delete a user with its own synthetic role (its grants); its role assignments go by cascade.
pub fn delete(db: &Db, username: &str) -> ApiResult<()> {
    auth_write!(db, |conn| {
        let id: Option<i32> = hu::table
            .filter(hu::username.eq(username))
            .select(hu::id)
            .first(conn)
            .optional()?;
        let Some(id) = id else {
            return Err(not_found(username));
        };
        diesel::delete(ro::table.filter(ro::name.eq(own_role_name(id)))).execute(conn)?;
        diesel::delete(hu::table.filter(hu::id.eq(id))).execute(conn)?;
        Ok(())
    })
}

/// Create the configured admin when the user table is empty (stock's bootstrap): with no password
/// configured, refuse to start, as stock does.
pub fn bootstrap_admin(
    db: &Db,
    username: Option<&str>,
    password: Option<&str>,
) -> Result<(), String> {
    let any = (|| -> ApiResult<Option<i32>> {
        db_read!(db, |conn| Ok(hu::table
            .select(hu::id)
            .first(conn)
            .optional()?))
    })()
    .map_err(|e| e.message)?;
    if any.is_some() {
        return Ok(());
    }
    let username =
        username.ok_or("The auth app needs an admin: set admin_username in the auth config")?;
    let password = password.ok_or(
        "The auth app creates its admin user at first start and needs its password: set \
         MLFLOW_AUTH_ADMIN_PASSWORD or admin_password in the file MLFLOW_AUTH_CONFIG_PATH names",
    )?;
    create(db, username, password, true)
        .map(|_| ())
        .map_err(|e| format!("Cannot create the admin user '{username}': {}", e.message))
}
