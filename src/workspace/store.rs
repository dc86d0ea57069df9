//! The workspaces as stored (MLflow's `workspaces` table): list, get, create, update, delete.

use diesel::prelude::*;

use super::DEFAULT;
use crate::db::models::Count;
use crate::db::schema::workspaces as ws;
use crate::db::Db;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::{db_read, db_write};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ws)]
pub struct WorkspaceRow {
    pub name: String,
    pub description: Option<String>,
    pub default_artifact_root: Option<String>,
}

impl From<WorkspaceRow> for crate::types::workspaces::Workspace {
    fn from(r: WorkspaceRow) -> Self {
        crate::types::workspaces::Workspace {
            name: r.name,
            description: r.description,
            default_artifact_root: r.default_artifact_root,
        }
    }
}

/// The tables whose rows belong to a workspace directly (MLflow's `_WORKSPACE_ROOT_MODELS`); versions,
/// tags and aliases follow their registered model by `ON UPDATE CASCADE`, runs their experiment.
const ROOT_TABLES: &[&str] = &[
    "registered_models",
    "experiments",
    "evaluation_datasets",
    "webhooks",
    "secrets",
    "endpoints",
    "model_definitions",
    "budget_policies",
    "guardrails",
    "mcp_servers",
];

/// MLflow's `WorkspaceNameValidator`: Kubernetes-style names, 2 to 63 characters.
pub fn validate_name(name: &str) -> ApiResult<()> {
    if !(2..=63).contains(&name.len()) {
        return Err(ApiError::invalid(format!(
            "Workspace name '{name}' must be between 2 and 63 characters."
        )));
    }
    let b = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !b.iter().all(inner) || !edge(b[0]) || !edge(b[b.len() - 1]) {
        return Err(ApiError::invalid(format!(
            "Workspace name '{name}' must match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ \
             (lowercase alphanumeric with optional internal hyphens)."
        )));
    }
    if ["workspaces", "api", "ajax-api", "static-files"].contains(&name) {
        return Err(ApiError::invalid(format!(
            "Workspace name '{name}' is reserved and cannot be used."
        )));
    }
    Ok(())
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Workspace '{name}' not found"))
}

pub fn list(db: &Db) -> ApiResult<Vec<WorkspaceRow>> {
    db_read!(db, |conn| Ok(ws::table
        .order(ws::name.asc())
        .select(WorkspaceRow::as_select())
        .load(conn)?))
}

pub fn find(db: &Db, name: &str) -> ApiResult<Option<WorkspaceRow>> {
    db_read!(db, |conn| Ok(ws::table
        .find(name)
        .select(WorkspaceRow::as_select())
        .first(conn)
        .optional()?))
}

pub fn get(db: &Db, name: &str) -> ApiResult<WorkspaceRow> {
    find(db, name)?.ok_or_else(|| not_found(name))
}

pub fn create(db: &Db, row: &WorkspaceRow) -> ApiResult<WorkspaceRow> {
    if row.name == DEFAULT {
        return Err(ApiError::invalid(format!(
            "The '{DEFAULT}' workspace is reserved and cannot be created"
        )));
    }
    validate_name(&row.name)?;
    let done = db_write!(db, |conn| {
        diesel::insert_into(ws::table)
            .values((
                ws::name.eq(&row.name),
                ws::description.eq(&row.description),
                ws::default_artifact_root.eq(row
                    .default_artifact_root
                    .as_deref()
                    .filter(|r| !r.is_empty())),
            ))
            .execute(conn)?;
        Ok(())
    });
    match done {
        Err(e) if e.code == ErrorCode::RESOURCE_ALREADY_EXISTS => Err(ApiError::already_exists(
            format!("Workspace '{}' already exists.", row.name),
        )),
        Err(e) => Err(e),
        Ok(()) => get(db, &row.name),
    }
}

/// Update what is given; an empty `default_artifact_root` clears it.
pub fn update(
    db: &Db,
    name: &str,
    description: Option<&str>,
    default_artifact_root: Option<&str>,
) -> ApiResult<WorkspaceRow> {
    let n = db_write!(db, |conn| {
        let mut n = ws::table.find(name).count().get_result::<i64>(conn)?;
        if let Some(d) = description {
            n = diesel::update(ws::table.find(name))
                .set(ws::description.eq(d))
                .execute(conn)? as i64;
        }
        if let Some(r) = default_artifact_root {
            n = diesel::update(ws::table.find(name))
                .set(ws::default_artifact_root.eq(Some(r).filter(|r| !r.is_empty())))
                .execute(conn)? as i64;
        }
        Ok(n)
    })?;
    if n == 0 {
        return Err(not_found(name));
    }
    get(db, name)
}

/// What happens to a deleted workspace's resources (MLflow's `WorkspaceDeletionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Refuse while anything is left (the default).
    Restrict,
    /// Move everything to `default` (refused where a name is taken there).
    SetDefault,
}

impl Deletion {
    pub fn parse(mode: Option<&str>) -> ApiResult<Deletion> {
        match mode.unwrap_or("RESTRICT") {
            "RESTRICT" => Ok(Deletion::Restrict),
            "SET_DEFAULT" => Ok(Deletion::SetDefault),
            "CASCADE" => Err(ApiError::invalid(
                "Deletion mode 'CASCADE' is not supported by Harvester: delete the workspace's \
                 experiments and models first (they keep their soft-delete and garbage collection), or \
                 use RESTRICT or SET_DEFAULT",
            )),
            m => Err(ApiError::invalid(format!(
                "Invalid deletion mode '{m}'. Must be one of: RESTRICT, CASCADE, SET_DEFAULT"
            ))),
        }
    }
}

pub fn delete(db: &Db, name: &str, mode: Deletion) -> ApiResult<()> {
    if name == DEFAULT {
        return Err(ApiError::invalid(format!(
            "The '{DEFAULT}' workspace is reserved and cannot be deleted"
        )));
    }
    validate_name(name)?;
    get(db, name)?;
    db_write!(db, |conn| {
        for table in ROOT_TABLES {
            let count = |conn: &mut _| -> QueryResult<i64> {
                diesel::sql_query(format!(
                    "SELECT COUNT(*) AS n FROM {table} WHERE workspace = '{name}'"
                ))
                .get_result::<Count>(conn)
                .map(|c| c.n)
            };
            match mode {
                Deletion::Restrict => {
                    let n = count(conn)?;
                    if n > 0 {
                        return Err(ApiError::invalid_state(format!(
                            "Cannot delete workspace '{name}': table '{table}' still contains {n} \
                             resource(s). Remove or reassign them before deleting the workspace."
                        )));
                    }
                }
                Deletion::SetDefault => {
                    let moved = diesel::sql_query(format!(
                        "UPDATE {table} SET workspace = '{DEFAULT}' WHERE workspace = '{name}'"
                    ))
                    .execute(conn);
                    if let Err(e) = moved {
                        return Err(ApiError::invalid_state(format!(
                            "Cannot delete workspace '{name}': resources in this workspace conflict \
                             with existing resources in the '{DEFAULT}' workspace. Resolve naming \
                             conflicts before deleting. Error: {e}"
                        )));
                    }
                }
            }
        }
        diesel::delete(ws::table.find(name)).execute(conn)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_mlflow() {
        for ok in ["team-a", "ab", "a1", "x-y-z"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "Team",
            "-ab",
            "ab-",
            "a_b",
            "api",
            "workspaces",
            &"a".repeat(64),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(Deletion::parse(Some("CASCADE")).is_err());
        assert_eq!(Deletion::parse(None).unwrap(), Deletion::Restrict);
    }
}

/// The artifact root of a new experiment in the current workspace, as stock's workspace store resolves it:
/// the workspace's own `default_artifact_root`, else the server's with `workspaces/<name>` appended;
/// the server's root as it is with workspaces off.
pub fn artifact_root(st: &crate::service::AppState) -> ApiResult<std::sync::Arc<str>> {
    let Some(name) = super::current() else {
        return Ok(st.artifact_root.clone());
    };
    if let Some(own) = find(&st.db, &name)?.and_then(|w| w.default_artifact_root) {
        return Ok(own.into());
    }
    Ok(crate::storage::uri::append(&st.artifact_root, &format!("workspaces/{name}")).into())
}
