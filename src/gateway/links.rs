//! What ties gateway endpoints to the rest: model definitions attached to (and detached from) an
//! endpoint one at a time, and bindings that record which MLflow resource (a scorer) uses an endpoint.

use diesel::prelude::*;

use super::endpoint_config::ModelConfig;
use super::{new_id, not_found};
use crate::db::schema::{
    endpoint_bindings as eb, endpoint_model_mappings as mm, endpoints as ep,
    model_definitions as md,
};
use crate::error::{ApiError, ApiResult};
use crate::service::{now_ms, AppState};
use crate::types::gateway::{Binding, ModelMapping};
use crate::{db_read, db_write};

/// The resource types a binding may name (stock's `GatewayResourceType`).
const BINDABLE: &[&str] = &["scorer"];

macro_rules! endpoint_must_exist {
    ($conn:expr, $id:expr) => {{
        let n: i64 = ep::table
            .find($id)
            .filter(ep::workspace.eq(crate::workspace::effective().to_string()))
            .count()
            .get_result($conn)?;
        if n == 0 {
            return Err(not_found("GatewayEndpoint", "endpoint_id", $id));
        }
    }};
}

/// Attach one more model definition; the same definition twice with one linkage type is refused.
pub fn attach(
    st: &AppState,
    endpoint: &str,
    c: &ModelConfig,
    by: Option<&str>,
) -> ApiResult<ModelMapping> {
    let linkage = if c.primary { "PRIMARY" } else { "FALLBACK" };
    let id = new_id("m");
    let now = now_ms();
    db_write!(st.db, |conn| {
        endpoint_must_exist!(conn, endpoint);
        let d: i64 = md::table
            .find(&c.model_definition_id)
            .filter(md::workspace.eq(crate::workspace::effective().to_string()))
            .count()
            .get_result(conn)?;
        if d == 0 {
            return Err(not_found(
                "GatewayModelDefinition",
                "model_definition_id",
                &c.model_definition_id,
            ));
        }
        let twice: i64 = mm::table
            .filter(mm::endpoint_id.eq(endpoint))
            .filter(mm::model_definition_id.eq(&c.model_definition_id))
            .filter(mm::linkage_type.eq(linkage))
            .count()
            .get_result(conn)?;
        if twice > 0 {
            return Err(ApiError::already_exists(format!(
                "Model definition '{}' is already attached to endpoint '{endpoint}'",
                c.model_definition_id
            )));
        }
        diesel::insert_into(mm::table)
            .values((
                mm::mapping_id.eq(&id),
                mm::endpoint_id.eq(endpoint),
                mm::model_definition_id.eq(&c.model_definition_id),
                mm::weight.eq(c.weight),
                mm::linkage_type.eq(linkage),
                mm::fallback_order.eq(c.fallback_order),
                mm::created_by.eq(by),
                mm::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(ep::table.find(endpoint))
            .set(ep::last_updated_at.eq(now))
            .execute(conn)?;
        Ok(())
    })?;
    super::endpoints::get(st, endpoint)?
        .model_mappings
        .into_iter()
        .find(|m| m.mapping_id == id)
        .ok_or_else(|| ApiError::internal("the attached mapping vanished"))
}

/// Detach a model definition (every linkage of it) from an endpoint.
pub fn detach(st: &AppState, endpoint: &str, definition: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        // First, so that only an endpoint of the request's workspace loses its mappings.
        endpoint_must_exist!(conn, endpoint);
        let n = diesel::delete(
            mm::table
                .filter(mm::endpoint_id.eq(endpoint))
                .filter(mm::model_definition_id.eq(definition)),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(ApiError::not_found(format!(
                "Model definition '{definition}' is not attached to endpoint '{endpoint}'"
            )));
        }
        diesel::update(ep::table.find(endpoint))
            .set(ep::last_updated_at.eq(now_ms()))
            .execute(conn)?;
        Ok(())
    })
}

type Row = (
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn wire(r: Row) -> Binding {
    Binding {
        endpoint_id: r.0,
        resource_type: r.1,
        resource_id: r.2,
        created_at: r.3,
        last_updated_at: r.4,
        created_by: r.5,
        last_updated_by: r.6,
        display_name: r.7,
    }
}

macro_rules! columns {
    () => {
        (
            eb::endpoint_id,
            eb::resource_type,
            eb::resource_id,
            eb::created_at,
            eb::last_updated_at,
            eb::created_by,
            eb::last_updated_by,
            eb::display_name,
        )
    };
}

fn check_type(t: &str) -> ApiResult<()> {
    if BINDABLE.contains(&t) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Invalid resource_type '{t}'. Must be one of: {}.",
        BINDABLE.join(", ")
    )))
}

pub fn bind(
    st: &AppState,
    endpoint: &str,
    kind: &str,
    resource: &str,
    by: Option<&str>,
) -> ApiResult<Binding> {
    check_type(kind)?;
    let now = now_ms();
    db_write!(st.db, |conn| {
        endpoint_must_exist!(conn, endpoint);
        let key = eb::endpoint_id
            .eq(endpoint)
            .and(eb::resource_type.eq(kind))
            .and(eb::resource_id.eq(resource));
        let n: i64 = eb::table.filter(key).count().get_result(conn)?;
        if n > 0 {
            return Err(ApiError::already_exists(format!(
                "Endpoint '{endpoint}' is already bound to {kind} '{resource}'"
            )));
        }
        diesel::insert_into(eb::table)
            .values((
                eb::endpoint_id.eq(endpoint),
                eb::resource_type.eq(kind),
                eb::resource_id.eq(resource),
                eb::created_at.eq(now),
                eb::created_by.eq(by),
                eb::last_updated_at.eq(now),
                eb::last_updated_by.eq(by),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(Binding {
        endpoint_id: endpoint.into(),
        resource_type: kind.into(),
        resource_id: resource.into(),
        created_at: now,
        last_updated_at: now,
        created_by: by.map(str::to_string),
        last_updated_by: by.map(str::to_string),
        display_name: None,
    })
}

pub fn unbind(st: &AppState, endpoint: &str, kind: &str, resource: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        let key = eb::endpoint_id
            .eq(endpoint)
            .and(eb::resource_type.eq(kind))
            .and(eb::resource_id.eq(resource));
        match diesel::delete(eb::table.filter(key)).execute(conn)? {
            0 => Err(ApiError::not_found(format!(
                "GatewayEndpointBinding not found (endpoint_id='{endpoint}', \
                 resource_type='{kind}', resource_id='{resource}')"
            ))),
            _ => Ok(()),
        }
    })
}

pub fn bindings(
    st: &AppState,
    endpoint: Option<&str>,
    kind: Option<&str>,
    resource: Option<&str>,
) -> ApiResult<Vec<Binding>> {
    let rows: Vec<Row> = db_read!(st.db, |conn| {
        let mut q = eb::table.select(columns!()).into_boxed();
        if let Some(e) = endpoint {
            q = q.filter(eb::endpoint_id.eq(e));
        }
        if let Some(k) = kind {
            q = q.filter(eb::resource_type.eq(k));
        }
        if let Some(r) = resource {
            q = q.filter(eb::resource_id.eq(r));
        }
        Ok::<_, ApiError>(q.order((eb::created_at, eb::resource_id)).load(conn)?)
    })?;
    Ok(rows.into_iter().map(wire).collect())
}
