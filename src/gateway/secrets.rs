//! Gateway secrets: provider credentials, sealed at rest (see `crypto`), shown only masked.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::crypto::{self, Kek};
use super::{delete_or_404, given, name_free, new_id, not_found};
use crate::db::schema::secrets as sc;
use crate::error::{ApiError, ApiResult};
use crate::service::{now_ms, AppState};
use crate::types::gateway::{CreateSecret, SecretInfo, UpdateSecret};
use crate::types::requests::required;
use crate::{db_read, db_write};

/// Keys that would choose where the gateway sends requests: never inside a secret, and only
/// `api_base` (checked) in `auth_config`.
const DESTINATION_KEYS: [&str; 5] = [
    "api_base",
    "base_url",
    "model_list",
    "fallbacks",
    "custom_llm_provider",
];

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    i64,
);

macro_rules! info_columns {
    () => {
        (
            sc::secret_id,
            sc::secret_name,
            sc::masked_value,
            sc::provider,
            sc::auth_config,
            sc::created_by,
            sc::created_at,
            sc::last_updated_by,
            sc::last_updated_at,
        )
    };
}

fn object(s: Option<&str>) -> Map<String, Value> {
    match s.and_then(|s| serde_json::from_str::<Value>(s).ok()) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn wire(r: Row) -> SecretInfo {
    let (
        secret_id,
        secret_name,
        masked,
        provider,
        auth_config,
        created_by,
        created_at,
        updated_by,
        updated_at,
    ) = r;
    SecretInfo {
        secret_id,
        secret_name,
        masked_values: object(Some(&masked)),
        created_at,
        last_updated_at: updated_at,
        provider,
        auth_config: object(auth_config.as_deref()),
        created_by,
        last_updated_by: updated_by,
    }
}

/// The secret's values must be strings, and none may steer where requests go.
fn check_value(v: &Map<String, Value>) -> ApiResult<()> {
    let mut reserved: Vec<&str> = DESTINATION_KEYS
        .iter()
        .copied()
        .filter(|k| v.contains_key(*k))
        .collect();
    if !reserved.is_empty() {
        reserved.sort_unstable();
        return Err(ApiError::invalid(format!(
            "secret_value must not contain {}: these keys choose where the gateway sends requests. \
             Set the upstream with 'api_base' in auth_config, where it is validated.",
            quoted(&reserved)
        )));
    }
    if let Some((k, _)) = v.iter().find(|(_, x)| !x.is_string()) {
        return Err(ApiError::invalid(format!(
            "Invalid value for secret_value['{k}']: expected a string."
        )));
    }
    Ok(())
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `auth_config` as stock normalizes it: no destination aliases, a blank `api_base` dropped, a given
/// one a public HTTPS URL (the webhooks' rule, with the `MLFLOW_GATEWAY_API_BASE_*` settings).
fn check_auth_config(m: &Map<String, Value>) -> ApiResult<Map<String, Value>> {
    let mut reserved: Vec<&str> = DESTINATION_KEYS[1..]
        .iter()
        .copied()
        .filter(|k| m.contains_key(*k))
        .collect();
    if !reserved.is_empty() {
        reserved.sort_unstable();
        return Err(ApiError::invalid(format!(
            "auth_config must not contain {}: these LiteLLM options choose where the gateway sends \
             requests. Set the upstream with 'api_base', which is validated.",
            quoted(&reserved)
        )));
    }
    let mut out = m.clone();
    match m.get("api_base").and_then(Value::as_str).map(str::trim) {
        Some(base) if !base.is_empty() => {
            crate::service::webhook_delivery::check_url_for(
                &crate::service::webhook_delivery::GATEWAY_API_BASE,
                base,
            )?;
            out.insert("api_base".into(), Value::String(base.into()));
        }
        _ => {
            out.remove("api_base");
        }
    }
    Ok(out)
}

fn text(m: &Map<String, Value>) -> Option<String> {
    (!m.is_empty()).then(|| Value::Object(m.clone()).to_string())
}

fn masked(v: &Map<String, Value>) -> String {
    let m: Map<String, Value> = v
        .iter()
        .map(|(k, x)| {
            (
                k.clone(),
                Value::String(crypto::mask(x.as_str().unwrap_or(""))),
            )
        })
        .collect();
    Value::Object(m).to_string()
}

/// The JSON stock seals (`json.dumps` of the values).
fn plain(v: &Map<String, Value>) -> String {
    crate::types::pyjson::dumps(&Value::Object(v.clone()))
}

pub fn create(st: &AppState, req: &CreateSecret) -> ApiResult<SecretInfo> {
    let name = required(&req.secret_name, "secret_name")?;
    let value = req.secret_value.clone().unwrap_or_default();
    check_value(&value)?;
    let auth = check_auth_config(&req.auth_config.clone().unwrap_or_default())?;
    let id = new_id("s");
    let sealed = crypto::encrypt(Kek::from_env(), &plain(&value), &id, name)?;
    let now = now_ms();
    let by = given(&req.created_by);
    db_write!(st.db, |conn| {
        name_free!(conn, sc, secret_name, secret_id, name, "", "Secret");
        diesel::insert_into(sc::table)
            .values((
                sc::workspace.eq(crate::workspace::effective().to_string()),
                sc::secret_id.eq(&id),
                sc::secret_name.eq(name),
                sc::encrypted_value.eq(&sealed.encrypted_value),
                sc::wrapped_dek.eq(&sealed.wrapped_dek),
                sc::kek_version.eq(sealed.kek_version),
                sc::masked_value.eq(masked(&value)),
                sc::provider.eq(given(&req.provider)),
                sc::auth_config.eq(text(&auth)),
                sc::created_by.eq(by),
                sc::created_at.eq(now),
                sc::last_updated_by.eq(by),
                sc::last_updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    get(st, &id)
}

pub fn get(st: &AppState, id: &str) -> ApiResult<SecretInfo> {
    let row: Option<Row> = db_read!(st.db, |conn| Ok::<_, ApiError>(
        sc::table
            .find(id)
            .filter(sc::workspace.eq(crate::workspace::effective().to_string()))
            .select(info_columns!())
            .first(conn)
            .optional()?
    ))?;
    row.map(wire)
        .ok_or_else(|| not_found("GatewaySecret", "secret_id", id))
}

/// New values (re-sealed under a fresh DEK), a new `auth_config` (`{}` clears it), or only the stamp.
pub fn update(st: &AppState, req: &UpdateSecret) -> ApiResult<SecretInfo> {
    let id = required(&req.secret_id, "secret_id")?;
    let value = req.secret_value.clone().filter(|m| !m.is_empty());
    if let Some(v) = &value {
        check_value(v)?;
    }
    let auth = match &req.auth_config {
        Some(m) if !m.is_empty() => Some(check_auth_config(m)?),
        _ => None,
    };
    let now = now_ms();
    db_write!(st.db, |conn| {
        // The one lookup that scopes the update to the request's workspace; the writes below follow it.
        let name: Option<String> = sc::table
            .find(id)
            .filter(sc::workspace.eq(crate::workspace::effective().to_string()))
            .select(sc::secret_name)
            .first(conn)
            .optional()?;
        let name = name.ok_or_else(|| not_found("GatewaySecret", "secret_id", id))?;
        if let Some(v) = &value {
            let sealed = crypto::encrypt(Kek::from_env(), &plain(v), id, &name)?;
            diesel::update(sc::table.find(id))
                .set((
                    sc::encrypted_value.eq(&sealed.encrypted_value),
                    sc::wrapped_dek.eq(&sealed.wrapped_dek),
                    sc::kek_version.eq(sealed.kek_version),
                    sc::masked_value.eq(masked(v)),
                ))
                .execute(conn)?;
        }
        if let Some(a) = &auth {
            diesel::update(sc::table.find(id))
                .set(sc::auth_config.eq(text(a)))
                .execute(conn)?;
        }
        diesel::update(sc::table.find(id))
            .set((
                sc::last_updated_by.eq(given(&req.updated_by)),
                sc::last_updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    get(st, id)
}

/// Delete a secret; model definitions that used it keep existing without one (stock's `SET NULL`).
pub fn delete(st: &AppState, id: &str) -> ApiResult<()> {
    use crate::db::schema::model_definitions as md;
    db_write!(st.db, |conn| {
        diesel::update(
            md::table
                .filter(md::workspace.eq(crate::workspace::effective().to_string()))
                .filter(md::secret_id.eq(id)),
        )
        .set(md::secret_id.eq(None::<String>))
        .execute(conn)?;
        delete_or_404!(conn, sc, id, "GatewaySecret", "secret_id")
    })
}

pub fn list(st: &AppState, provider: Option<&str>) -> ApiResult<Vec<SecretInfo>> {
    let rows: Vec<Row> = db_read!(st.db, |conn| {
        let mut q = sc::table
            .filter(sc::workspace.eq(crate::workspace::effective().to_string()))
            .select(info_columns!())
            .into_boxed();
        if let Some(p) = provider {
            q = q.filter(sc::provider.eq(p));
        }
        Ok::<_, ApiError>(q.order(sc::created_at).load(conn)?)
    })?;
    Ok(rows.into_iter().map(wire).collect())
}
