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
        let body = match serde_json::from_slice::<TopLevel>(body) {
            Ok(TopLevel(m)) => m,
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

/// Fields of a request body that name no resource (the data a run or model is given): skipped unparsed, so
/// the gate does not build a tree of a log-batch's thousand metrics only to look at its `run_id`.
const DATA_FIELDS: [&str; 6] = ["metrics", "params", "tags", "datasets", "inputs", "models"];

/// A JSON object body, its [`DATA_FIELDS`] left out; anything but an object fails (read as no body).
struct TopLevel(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = TopLevel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TopLevel, A::Error> {
                let mut m = Map::new();
                while let Some(k) = a.next_key::<String>()? {
                    if DATA_FIELDS.contains(&k.as_str()) {
                        a.next_value::<serde::de::IgnoredAny>()?;
                    } else {
                        m.insert(k, a.next_value::<Value>()?);
                    }
                }
                Ok(TopLevel(m))
            }
        }
        d.deserialize_map(Fields)
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_fields_are_skipped_and_the_rest_kept() {
        let p = Params::parse(
            "a=1",
            br#"{"run_id": "r1", "metrics": [{"key": "m", "value": 1}], "model_configs": [{"x": 1}], "tags": []}"#,
        );
        assert_eq!(p.get("run_id").as_deref(), Some("r1"));
        assert_eq!(p.get("a").as_deref(), Some("1"));
        assert!(p.body.get("metrics").is_none() && p.body.get("tags").is_none());
        assert!(p.body.get("model_configs").is_some());
        assert!(Params::parse("", b"[1, 2]").body.is_empty());
        assert!(Params::parse("", b"not json").body.is_empty());
    }
}

/// MLflow's answer to a missing parameter.
pub(super) fn missing_param(k: &str) -> ApiError {
    ApiError::invalid(format!(
        "Missing value for required parameter '{k}'. See the API docs for more information about \
         request parameters."
    ))
}
