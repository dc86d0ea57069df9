//! Search: the shared filter/`order_by` parser ([`parse`]) and the SQL builder ([`sql`]) driven by a
//! per-entity [`Target`] description, so runs, experiments and (later) registry searches share one code path.

mod order;
pub mod parse;
pub mod sql;
pub mod targets;

use base64::Engine;

use crate::error::{ApiError, ApiResult};

pub use sql::{Bind, SqlBuf};

/// Kind of an attribute column, as the grammar sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// String attribute compared with `= != LIKE ILIKE` (and `IN` where allowed).
    Str,
    /// Numeric attribute compared with `= != < <= > >=`.
    Num,
    /// A string on the wire stored as an integer column (experiment ids).
    IntId,
    /// A logged model's status: a name on the wire (`READY` or `LOGGED_MODEL_READY`), MLflow's
    /// `LoggedModelStatus` number in the column; compared with `= != IN NOT IN`.
    Status,
}

/// One searchable attribute: the names a user may write, and the column it maps to.
#[derive(Debug)]
pub struct Attr {
    pub names: &'static [&'static str],
    pub column: &'static str,
    pub kind: AttrKind,
    pub allow_in: bool,
    pub orderable: bool,
}

/// A key/value side table (metrics, params, tags), aliased `kv`, joined to the searched table.
#[derive(Debug)]
pub struct KeyValue {
    pub prefixes: &'static [&'static str],
    pub label: &'static str,
    pub table: &'static str,
    /// The predicate joining `kv` to the searched table (a foreign key, or a composite one).
    pub join: &'static str,
    /// MLflow's names of the key and value columns (`key`/`value`, `param_key`/`param_value`, …).
    pub key_col: &'static str,
    pub value_col: &'static str,
    pub numeric: bool,
    pub null_ops: bool,
    pub orderable: bool,
    /// The side table keeps several values per key (a logged model's metric history): ordering uses
    /// the latest one, by this `ORDER BY`.
    pub history: Option<&'static str>,
}

/// Everything the builder needs to know about one searchable entity.
#[derive(Debug)]
pub struct Target {
    pub table: &'static str,
    pub id: &'static str,
    pub attr_prefixes: &'static [&'static str],
    pub attrs: &'static [Attr],
    pub kvs: &'static [KeyValue],
    pub datasets: bool,
    /// Used only when the request gives no `order_by`.
    pub default_order: &'static [(&'static str, bool)],
    /// Appended whenever the column is not ordered on already (tie-breakers).
    pub always_order: &'static [(&'static str, bool)],
}

/// Offset page tokens, wire-compatible with MLflow's base64 `{"offset": N}`.
pub fn encode_page_token(offset: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

pub fn decode_page_token(token: Option<&str>) -> ApiResult<i64> {
    let token = match token {
        None | Some("") => return Ok(0),
        Some(t) => t,
    };
    let bad = || {
        ApiError::invalid(format!(
            "Invalid page token, could not base64-decode or parse: '{token}'"
        ))
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(token.trim()))
        .map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let offset = v.get("offset").and_then(|o| o.as_i64()).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid page token, parsed value does not contain an 'offset' field: '{token}'"
        ))
    })?;
    if offset < 0 {
        return Err(bad());
    }
    Ok(offset)
}
