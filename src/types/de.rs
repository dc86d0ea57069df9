//! Lenient deserializers matching protobuf JSON parsing: int64 as number or string, repeated fields given
//! once in a query string, and metric values given as `"NaN"`/`"Infinity"` strings.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// An optional int64 given as a JSON number or a numeric string.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        // A whole float is accepted only inside int64's range: `as` would clamp 1e30 to i64::MAX.
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= -(2f64.powi(63)) && *f < 2f64.powi(63))
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a 64-bit integer, got {n}"))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected an integer, got '{s}'"))),
        Some(other) => Err(de::Error::custom(format!(
            "expected an integer, got {}",
            describe(&other)
        ))),
    }
}

/// An optional string; numbers are accepted and rendered (ids are sometimes sent unquoted).
pub fn opt_string_or_num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(de::Error::custom(format!(
            "expected a string, got {}",
            describe(&other)
        ))),
    }
}

/// An optional bool given as JSON or as `true`/`false` in any case.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(de::Error::custom(format!(
            "Invalid boolean value {}",
            describe(&other)
        ))),
    }
}

/// A repeated string field: a JSON array, or a single value (query strings with one occurrence).
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(de::Error::custom(format!(
                    "expected a string, got {}",
                    describe(&other)
                ))),
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Number(n)) => Ok(vec![n.to_string()]),
        Some(other) => Err(de::Error::custom(format!(
            "expected a list of strings, got {}",
            describe(&other)
        ))),
    }
}

/// A metric value: a number, or one of the strings `NaN`, `Infinity`, `-Infinity` (or a numeric string).
pub fn opt_metric_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => match s.as_str() {
            "NaN" | "nan" => Ok(Some(f64::NAN)),
            "Infinity" | "inf" => Ok(Some(f64::INFINITY)),
            "-Infinity" | "-inf" => Ok(Some(f64::NEG_INFINITY)),
            other => other
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| de::Error::custom(format!("expected a number, got '{other}'"))),
        },
        Some(other) => Err(de::Error::custom(format!(
            "expected a number, got {}",
            describe(&other)
        ))),
    }
}
