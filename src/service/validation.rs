//! MLflow's validation limits and key rules (`mlflow/utils/validation.py`, §3.3 of the contract).

use crate::error::{ApiError, ApiResult};

pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_EXPERIMENT_TAG_KEY_LENGTH: usize = 250;
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20000;
pub const SEARCH_MAX_RESULTS_DEFAULT: i64 = 1000;
pub const SEARCH_MAX_RESULTS_THRESHOLD: i64 = 50000;
pub const GET_METRIC_HISTORY_MAX_RESULTS: i64 = 25000;

/// Validate a metric, param or tag key: the character rule and the normpath rule.
pub fn validate_key(kind: &str, key: &str) -> ApiResult<()> {
    let label = match kind {
        "metric" => "Metric name",
        "param" => "Param key",
        _ => "Tag key",
    };
    if key.chars().count() > MAX_ENTITY_KEY_LENGTH {
        return Err(ApiError::invalid(format!(
            "'{label}' exceeds the maximum length of {MAX_ENTITY_KEY_LENGTH} characters"
        )));
    }
    let chars_ok = key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':'));
    if !chars_ok {
        return Err(ApiError::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may only contain alphanumerics, underscores (_), dashes (-), \
             periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    if !path_is_normal(key) {
        return Err(ApiError::invalid(format!(
            "Invalid {kind} name: '{key}'. Names cannot contain path traversal segments or leading slashes."
        )));
    }
    Ok(())
}

/// True when `posixpath.normpath(key) == key` and the key is not `.` nor starts with `..` or `/`.
fn path_is_normal(key: &str) -> bool {
    if key.is_empty() {
        return true;
    }
    if key == "." || key.starts_with("..") || key.starts_with('/') || key.ends_with('/') {
        return false;
    }
    !key.split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
}

/// Truncate a value to `max` characters (MLflow's default `MLFLOW_TRUNCATE_LONG_VALUES=true`).
/// The width of MLflow's `registered_models.name` column: longer names cannot be stored by stock either.
pub const MAX_REGISTERED_MODEL_NAME_LENGTH: usize = 256;

/// `_validate_model_name`: not empty, no `/` or `:`, not a path that resolves elsewhere, and within
/// the column width.
pub fn validate_model_name(name: &str, param: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::missing(param));
    }
    if name.contains(['/', ':']) {
        return Err(ApiError::invalid(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    // posixpath.normpath of a name without '/' changes only '.', and '..'-prefixed names resolve upward.
    if name == "." || name.starts_with("..") {
        return Err(ApiError::invalid(format!(
            "Invalid value {} for parameter '{param}' supplied: Names may be treated as files in certain \
             cases, and must not resolve to other names when treated as such. This name would resolve to '{name}'",
            serde_json::to_string(name).unwrap_or_default()
        )));
    }
    if name.chars().count() > MAX_REGISTERED_MODEL_NAME_LENGTH {
        return Err(ApiError::invalid(format!(
            "Registered model name exceeds the maximum length of {MAX_REGISTERED_MODEL_NAME_LENGTH} characters"
        )));
    }
    Ok(())
}

pub fn truncate(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((idx, _)) => value[..idx].to_string(),
        None => value.to_string(),
    }
}

/// `^[a-zA-Z0-9][\w\-]{0,255}$`, checked on log-batch and log-inputs.
pub fn validate_run_id(run_id: &str) -> ApiResult<()> {
    let mut chars = run_id.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && run_id.len() <= 256
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("Invalid run ID: '{run_id}'")))
    }
}

/// Experiment ids are integers rendered as strings.
pub fn parse_experiment_id(id: &str) -> ApiResult<i64> {
    id.trim().parse::<i64>().map_err(|_| {
        ApiError::invalid(format!(
            "Invalid experiment ID '{id}'. Experiment ID must be a valid integer."
        ))
    })
}

/// `max_results` for search-runs: default 1000, at most 50000.
pub fn search_max_results(v: Option<i64>, default: i64, threshold: i64) -> ApiResult<i64> {
    let n = v.unwrap_or(default);
    if n <= 0 {
        return Err(ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        )));
    }
    if n > threshold {
        return Err(ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {threshold}, but got value {n}"
        )));
    }
    Ok(n)
}

/// Resolve an enum given by name (any case) or by its proto number. Unknown values are a 400; stock MLflow
/// silently ignores them, which turns a typo into a wrong answer.
pub fn parse_enum(
    param: &str,
    value: &str,
    names: &[&'static str],
    first_number: usize,
) -> ApiResult<&'static str> {
    let upper = value.trim().to_ascii_uppercase();
    let by_number = upper
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(first_number))
        .and_then(|i| names.get(i));
    names
        .iter()
        .find(|n| **n == upper)
        .or(by_number)
        .copied()
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid value '{value}' for parameter '{param}'. Valid values are {names:?}."
            ))
        })
}

/// `run_view_type` / `view_type` to the lifecycle stage to filter on (`None` = all).
pub fn lifecycle_filter(param: &str, view_type: Option<&str>) -> ApiResult<Option<&'static str>> {
    let Some(v) = view_type.filter(|v| !v.is_empty()) else {
        return Ok(Some("active"));
    };
    Ok(
        match parse_enum(param, v, &["ACTIVE_ONLY", "DELETED_ONLY", "ALL"], 1)? {
            "DELETED_ONLY" => Some("deleted"),
            "ALL" => None,
            _ => Some("active"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(validate_key("metric", "a/b c:d.e-f_g").is_ok());
        assert!(validate_key("metric", "../x").is_err());
        assert!(validate_key("metric", "/x").is_err());
        assert!(validate_key("metric", "a//b").is_err());
        assert!(validate_key("metric", "a$b").is_err());
        assert!(validate_key("param", &"k".repeat(251)).is_err());
    }

    #[test]
    fn enums_by_name_or_number() {
        let names = &["ACTIVE_ONLY", "DELETED_ONLY", "ALL"];
        assert_eq!(
            parse_enum("v", "deleted_only", names, 1).ok(),
            Some("DELETED_ONLY")
        );
        assert_eq!(parse_enum("v", "3", names, 1).ok(), Some("ALL"));
        assert!(parse_enum("v", "BOGUS", names, 1).is_err());
        assert!(parse_enum("v", "0", names, 1).is_err());
    }

    #[test]
    fn truncation_is_by_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
