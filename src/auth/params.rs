//! A request's parameters as the gate reads them: the query string, overlaid by a JSON object body.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request's parameters: its query string, overlaid by a JSON object body.
#[derive(Debug, Default)]
pub struct Params {
    pub query: Vec<(String, String)>,
    pub body: Map<String, Value>,
}

impl Params {
    pub fn parse(query: &str, body: &[u8]) -> Params {
        let query = url_pairs(query);
        let body = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Params { query, body }
    }

    /// The first value of `key` (the body's when both have one).
    pub fn get(&self, key: &str) -> Option<String> {
        match self.body.get(key) {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            Some(Value::Bool(b)) => return Some(b.to_string()),
            _ => {}
        }
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Every value of `key` (repeated query parameters, or a body array).
    pub fn all(&self, key: &str) -> Vec<String> {
        if let Some(Value::Array(a)) = self.body.get(key) {
            return a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
        }
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub(super) fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}
/// MLflow's answer to a missing parameter.
pub(super) fn missing_param(k: &str) -> ApiError {
    ApiError::invalid(format!(
        "Missing value for required parameter '{k}'. See the API docs for more information about \
         request parameters."
    ))
}
