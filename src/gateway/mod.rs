//! The AI gateway's configuration, in MLflow's own tables: provider secrets (encrypted as stock encrypts
//! them), model definitions that use a secret, endpoints that route to model definitions, and budget
//! policies. Harvester stores, lists and guards this configuration for the MLflow UI and client; it does
//! not call LLM providers (an on-prem server has no route to them), so there is no invocation path.

pub mod budgets;
pub mod crypto;
pub mod endpoint_config;
pub mod endpoints;
pub mod links;
pub mod models;
pub mod secrets;

use crate::error::ApiError;

/// Stock's 404 for a gateway entity: `GatewaySecret not found (secret_id='s-1')`.
pub fn not_found(entity: &str, key: &str, value: &str) -> ApiError {
    ApiError::not_found(format!("{entity} not found ({key}='{value}')"))
}

/// A fresh id with stock's prefix: `s-`, `d-`, `e-`, `m-`, `bp-` and 32 hex digits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// `Some(s)` unless empty (proto3 reads an empty string as unset).
pub fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Refuse `$name` when another row of `$table` (not `$except`) holds it: stock's
/// `<What> with name '<name>' already exists`.
macro_rules! name_free {
    ($conn:expr, $table:ident, $name_col:ident, $id_col:ident, $name:expr, $except:expr, $what:expr) => {{
        let n: i64 = $table::table
            .filter($table::workspace.eq(&*$crate::workspace::effective()))
            .filter($table::$name_col.eq($name).and($table::$id_col.ne($except)))
            .count()
            .get_result($conn)?;
        if n > 0 {
            return Err(ApiError::already_exists(format!(
                "{} with name '{}' already exists",
                $what, $name
            )));
        }
    }};
}
pub(crate) use name_free;

/// Delete the row of `$table` with id `$id`, or answer stock's 404 for `$entity` by `$key`.
macro_rules! delete_or_404 {
    ($conn:expr, $table:ident, $id:expr, $entity:expr, $key:expr) => {
        match diesel::delete(
            $table::table
                .find($id)
                .filter($table::workspace.eq(&*$crate::workspace::effective())),
        )
        .execute($conn)?
        {
            0 => Err($crate::gateway::not_found($entity, $key, $id)),
            _ => Ok(()),
        }
    };
}
pub(crate) use delete_or_404;
