//! Request extractors that parse like MLflow's handlers: JSON bodies (content type checked for POST/PUT,
//! empty body = `{}`, camelCase keys accepted) and snake_case query strings (repeated keys = lists).
//! Every failure becomes an MLflow error envelope, never a bare actix error page.

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A JSON request body parsed into `T`.
pub struct Body<T>(pub T);

/// Query-string parameters parsed into `T`.
pub struct Query<T>(pub T);

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Rewrite camelCase keys to snake_case in place, rejecting a body that names one field both ways.
fn normalize(v: &mut Value) -> ApiResult<()> {
    match v {
        Value::Object(map) => {
            let renames: Vec<(String, String)> = map
                .keys()
                .filter(|k| k.chars().any(|c| c.is_ascii_uppercase()))
                .map(|k| (k.clone(), snake_case(k)))
                .collect();
            for (camel, snake) in renames {
                if map.contains_key(&snake) {
                    return Err(ApiError::invalid(format!(
                        "Request specifies both '{snake}' and '{camel}'"
                    )));
                }
                if let Some(val) = map.remove(&camel) {
                    map.insert(snake, val);
                }
            }
            map.values_mut().try_for_each(normalize)
        }
        Value::Array(items) => items.iter_mut().try_for_each(normalize),
        _ => Ok(()),
    }
}

/// Turn a serde error into MLflow's `invalid_value` message: the offending value JSON-dumped as Python's
/// `json.dumps(sort_keys=True, separators=(",", ":"))` writes it, and a hint naming its Python type.
fn deserialize<T: DeserializeOwned>(v: Value) -> ApiResult<T> {
    if let Ok(parsed) = T::deserialize(&v) {
        return Ok(parsed);
    }
    serde_path_to_error::deserialize(&v).map_err(|e| invalid_value(&v, e.path()))
}

/// The value at a serde path inside `root` (`None` when the path names a missing field).
fn value_at<'a>(root: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(root, |v, seg| match seg {
        Segment::Seq { index } => v.get(*index),
        Segment::Map { key } => v.get(key.as_str()),
        Segment::Enum { .. } | Segment::Unknown => Some(v),
    })
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The value with every object's keys sorted (`sort_keys=True`; maps keep insertion order here).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn invalid_value(root: &Value, path: &serde_path_to_error::Path) -> ApiError {
    let value = value_at(root, path).unwrap_or(&Value::Null);
    let dumped = serde_json::to_string(&sorted(value)).unwrap_or_default();
    ApiError::invalid(format!(
        "Invalid value {dumped} for parameter '{path}' supplied:  Hint: Value was of type '{}'. \
         See the API docs for more information about request parameters.",
        python_type(value)
    ))
}

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("Malformed JSON in request body: {e}"))
}

fn nul_refused() -> ApiError {
    ApiError::invalid(
        "Invalid value: strings may not contain NUL (\\u0000) characters, which PostgreSQL cannot store",
    )
}

/// Whether a JSON text holds an escaped NUL (`\u0000` not itself preceded by an escaping backslash).
/// Both backends refuse it alike: PostgreSQL cannot store NUL in text, and the same request must not
/// succeed on SQLite and fail on PostgreSQL.
fn has_nul_escape(bytes: &[u8]) -> bool {
    let pat = b"\\u0000";
    let mut from = 0;
    while let Some(i) = bytes[from..].windows(pat.len()).position(|w| w == pat) {
        let at = from + i;
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Parse a JSON body the way `_get_normalized_request_json` does.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.contains(&b'\\') && has_nul_escape(bytes) {
        return Err(nul_refused());
    }
    // Fast path: an object with no uppercase ASCII anywhere cannot hold a camelCase key, so it is
    // deserialized straight into `T` (the general path below builds a `Value` tree first, which was
    // the larger part of the parsing cost of a 1000-metric log-batch).
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') && !bytes.iter().any(u8::is_ascii_uppercase) {
        if let Ok(parsed) = serde_json::from_slice(bytes) {
            return Ok(parsed);
        }
        // Errors are rare: only a failed parse builds the value tree below to name the offending value.
    }
    let mut v: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(malformed)?
    };
    if let Value::String(inner) = &v {
        // Old clients send a JSON string that holds the JSON object.
        v = serde_json::from_str(inner).map_err(malformed)?;
    }
    if v.is_null() {
        v = Value::Object(Map::new());
    }
    if !v.is_object() {
        return Err(ApiError::invalid("Request body must be a JSON object."));
    }
    normalize(&mut v)?;
    deserialize(v)
}

/// Parse a query string: snake_case names only, a repeated key becomes a list.
pub fn parse_query<T: DeserializeOwned>(qs: &str) -> ApiResult<T> {
    let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(qs)
        .map_err(|e| ApiError::invalid(format!("Malformed query string: {e}")))?
        .into_inner();
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(nul_refused());
    }
    let mut map = Map::new();
    for (k, val) in pairs {
        match map.get_mut(&k) {
            Some(Value::Array(items)) => items.push(Value::String(val)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(val)]);
            }
            None => {
                map.insert(k, Value::String(val));
            }
        }
    }
    deserialize(Value::Object(map))
}

fn json_content_type(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let needs_json = matches!(*req.method(), Method::POST | Method::PUT);
        let ct_ok = json_content_type(req);
        // The auth gate has read the body already (to see what the request touches): use its bytes.
        if let Some(read) = req.extensions().get::<crate::auth::middleware::ReadBody>() {
            let bytes = read.0.clone();
            return Box::pin(async move {
                if needs_json && !ct_ok {
                    return Err(ApiError::invalid(
                        "Bad Request. Content-Type must be one of ['application/json'].",
                    ));
                }
                parse_body(&bytes).map(Body)
            });
        }
        let body = Bytes::from_request(req, payload);
        let limit = idle_limit(req);
        Box::pin(async move {
            if needs_json && !ct_ok {
                return Err(ApiError::invalid(
                    "Bad Request. Content-Type must be one of ['application/json'].",
                ));
            }
            // A JSON body is small; one that has not arrived within the body timeout is a stalled client.
            let bytes = within(limit, body)
                .await?
                .map_err(|e| ApiError::invalid(format!("Could not read the request body: {e}")))?;
            parse_body(&bytes).map(Body)
        })
    }
}

/// A raw request body, read under the same idle limit as [`Body`] (for the handlers that verify or
/// forward bytes as they came: the EvalAI receivers, which answer without credentials). Read errors keep
/// actix's own answers (413 for a body over the limit); a stalled body gets the 400 `Body` gives.
pub struct Raw(pub Bytes);

impl FromRequest for Raw {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Bytes::from_request(req, payload);
        let limit = idle_limit(req);
        Box::pin(async move { Ok(Raw(within(limit, body).await??)) })
    }
}

/// `HARVESTER_BODY_IDLE_TIMEOUT_SECS` of the request's app (60 s without one).
fn idle_limit(req: &HttpRequest) -> u64 {
    req.app_data::<actix_web::web::Data<crate::service::AppState>>()
        .map_or(60, |s| s.config.body_idle_timeout_secs)
}

/// `read` (a request body being read), given up after `secs` (at least 1) with the 400 a stalled client
/// gets, wherever a body is read: [`Body`], [`Raw`] and the auth gate.
pub async fn within<F: std::future::Future>(secs: u64, read: F) -> Result<F::Output, ApiError> {
    let secs = secs.max(1);
    tokio::time::timeout(std::time::Duration::from_secs(secs), read)
        .await
        .map_err(|_| ApiError::invalid(format!("Request body not received within {secs} s")))
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(default)]
    struct R {
        run_id: Option<String>,
        #[serde(deserialize_with = "crate::types::de::string_list")]
        run_ids: Vec<String>,
    }

    #[test]
    fn camel_case_and_conflicts() {
        let r: R = parse_body(br#"{"runId":"a"}"#).unwrap_or_default();
        assert_eq!(r.run_id.as_deref(), Some("a"));
        assert!(parse_body::<R>(br#"{"runId":"a","run_id":"b"}"#).is_err());
        assert!(parse_body::<R>(b"").is_ok());
        assert!(parse_body::<R>(b"{bad").is_err());
        assert!(parse_body::<R>(b"[1]").is_err());
    }

    #[test]
    fn nul_refused_in_bodies_and_queries() {
        assert!(parse_body::<R>(br#"{"run_id":"a\u0000b"}"#).is_err());
        assert!(
            parse_body::<R>(br#"{"run_id":"a\\u0000b"}"#).is_ok(),
            "an escaped backslash"
        );
        assert!(parse_query::<R>("run_id=a%00b").is_err());
    }

    #[test]
    fn invalid_values_named_like_mlflow() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            run_id: Option<String>,
            step: Option<i64>,
        }
        let e = parse_body::<S>(br#"{"run_id": 31}"#).unwrap_err();
        assert!(
            e.message
                .starts_with("Invalid value 31 for parameter 'run_id' supplied"),
            "{}",
            e.message
        );
        let e = parse_body::<S>(br#"{"step": "foo"}"#).unwrap_err();
        assert!(
            e.message
                .contains(r#"Invalid value "foo" for parameter 'step'"#),
            "{}",
            e.message
        );
    }

    #[test]
    fn query_lists() {
        let r: R = parse_query("run_ids=a&run_ids=b&run_id=x").unwrap_or_default();
        assert_eq!(r.run_ids, vec!["a", "b"]);
        let r: R = parse_query("run_ids=a").unwrap_or_default();
        assert_eq!(r.run_ids, vec!["a"]);
        let r: R = parse_query("runId=a").unwrap_or_default();
        assert_eq!(r.run_id, None);
    }
}
