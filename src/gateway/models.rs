//! Gateway model definitions: a provider's model, reached with one of the secrets.

use diesel::prelude::*;

use super::{delete_or_404, given, name_free, new_id, not_found};
use crate::db::schema::{endpoint_model_mappings as mm, model_definitions as md, secrets as sc};
use crate::error::{ApiError, ApiResult};
use crate::service::{now_ms, AppState};
use crate::types::gateway::{CreateModelDefinition, ModelDefinition, UpdateModelDefinition};
use crate::types::requests::required;
use crate::{db_read, db_write};

pub(super) type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

/// A definition's columns with its secret's name, as [`Row`] reads them.
macro_rules! definition_columns {
    () => {
        (
            md::model_definition_id,
            md::name,
            md::secret_id,
            sc::secret_name.nullable(),
            md::provider,
            md::model_name,
            md::created_at,
            md::last_updated_at,
            md::created_by,
            md::last_updated_by,
        )
    };
}
pub(crate) use definition_columns;

/// The columns of a definition with its secret's name (a left join: the secret may be gone).
macro_rules! definitions {
    () => {
        md::table
            .left_join(sc::table)
            .filter(md::workspace.eq(crate::workspace::effective().to_string()))
            .select(definition_columns!())
    };
}

pub(super) fn wire(r: Row) -> ModelDefinition {
    let (
        model_definition_id,
        name,
        secret_id,
        secret_name,
        provider,
        model_name,
        created_at,
        last_updated_at,
        created_by,
        last_updated_by,
    ) = r;
    ModelDefinition {
        model_definition_id,
        name,
        secret_id,
        secret_name,
        provider,
        model_name,
        created_at,
        last_updated_at,
        created_by,
        last_updated_by,
    }
}

macro_rules! secret_must_exist {
    ($conn:expr, $id:expr) => {{
        let n: i64 = sc::table
            .find($id)
            .filter(sc::workspace.eq(crate::workspace::effective().to_string()))
            .count()
            .get_result($conn)?;
        if n == 0 {
            return Err(not_found("GatewaySecret", "secret_id", $id));
        }
    }};
}

pub fn create(st: &AppState, req: &CreateModelDefinition) -> ApiResult<ModelDefinition> {
    let name = required(&req.name, "name")?;
    let secret = required(&req.secret_id, "secret_id")?;
    let provider = required(&req.provider, "provider")?;
    let model = required(&req.model_name, "model_name")?;
    let id = new_id("d");
    let now = now_ms();
    let by = given(&req.created_by);
    db_write!(st.db, |conn| {
        secret_must_exist!(conn, secret);
        name_free!(
            conn,
            md,
            name,
            model_definition_id,
            name,
            "",
            "Model definition"
        );
        diesel::insert_into(md::table)
            .values((
                md::workspace.eq(crate::workspace::effective().to_string()),
                md::model_definition_id.eq(&id),
                md::name.eq(name),
                md::secret_id.eq(secret),
                md::provider.eq(provider),
                md::model_name.eq(model),
                md::created_by.eq(by),
                md::created_at.eq(now),
                md::last_updated_by.eq(by),
                md::last_updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    get(st, &id)
}

pub fn get(st: &AppState, id: &str) -> ApiResult<ModelDefinition> {
    let row: Option<Row> = db_read!(st.db, |conn| Ok::<_, ApiError>(
        definitions!()
            .filter(md::model_definition_id.eq(id))
            .first(conn)
            .optional()?
    ))?;
    row.map(wire)
        .ok_or_else(|| not_found("GatewayModelDefinition", "model_definition_id", id))
}

pub fn list(
    st: &AppState,
    provider: Option<&str>,
    secret: Option<&str>,
) -> ApiResult<Vec<ModelDefinition>> {
    let rows: Vec<Row> = db_read!(st.db, |conn| {
        let mut q = definitions!().into_boxed();
        if let Some(p) = provider {
            q = q.filter(md::provider.eq(p));
        }
        if let Some(s) = secret {
            q = q.filter(md::secret_id.eq(s));
        }
        Ok::<_, ApiError>(q.order(md::created_at).load(conn)?)
    })?;
    Ok(rows.into_iter().map(wire).collect())
}

pub fn update(st: &AppState, req: &UpdateModelDefinition) -> ApiResult<ModelDefinition> {
    let id = required(&req.model_definition_id, "model_definition_id")?;
    let now = now_ms();
    db_write!(st.db, |conn| {
        let n: i64 = md::table
            .find(id)
            .filter(md::workspace.eq(crate::workspace::effective().to_string()))
            .count()
            .get_result(conn)?;
        if n == 0 {
            return Err(not_found(
                "GatewayModelDefinition",
                "model_definition_id",
                id,
            ));
        }
        if let Some(name) = given(&req.name) {
            name_free!(
                conn,
                md,
                name,
                model_definition_id,
                name,
                id,
                "Model definition"
            );
            diesel::update(md::table.find(id))
                .set(md::name.eq(name))
                .execute(conn)?;
        }
        if let Some(s) = given(&req.secret_id) {
            secret_must_exist!(conn, s);
            diesel::update(md::table.find(id))
                .set(md::secret_id.eq(s))
                .execute(conn)?;
        }
        if let Some(m) = given(&req.model_name) {
            diesel::update(md::table.find(id))
                .set(md::model_name.eq(m))
                .execute(conn)?;
        }
        if let Some(p) = given(&req.provider) {
            diesel::update(md::table.find(id))
                .set(md::provider.eq(p))
                .execute(conn)?;
        }
        diesel::update(md::table.find(id))
            .set(md::last_updated_at.eq(now))
            .execute(conn)?;
        if let Some(by) = given(&req.updated_by) {
            diesel::update(md::table.find(id))
                .set(md::last_updated_by.eq(by))
                .execute(conn)?;
        }
        Ok(())
    })?;
    get(st, id)
}

/// Delete a definition no endpoint uses (stock refuses one in use with `INVALID_STATE`).
pub fn delete(st: &AppState, id: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        let used: i64 = mm::table
            .filter(mm::model_definition_id.eq(id))
            .count()
            .get_result(conn)?;
        if used > 0 {
            return Err(ApiError::invalid_state(
                "Cannot delete model definition that is currently in use by endpoints. Detach it \
                 from all endpoints first.",
            ));
        }
        delete_or_404!(
            conn,
            md,
            id,
            "GatewayModelDefinition",
            "model_definition_id"
        )
    })
}
