//! What an endpoint is configured with, checked as stock checks it: its name, its model configurations,
//! routing and fallback, and the experiment its usage is traced to.

use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::service::AppState;
use crate::types::gateway::{FallbackConfig, ModelConfigIn};

/// A checked model configuration.
pub struct ModelConfig {
    pub model_definition_id: String,
    pub primary: bool,
    pub weight: f64,
    pub fallback_order: Option<i32>,
}

/// Stock's checks of `model_configs`: each names a definition and a known linkage type.
pub fn configs(given_configs: &[ModelConfigIn]) -> ApiResult<Vec<ModelConfig>> {
    given_configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let primary = match c.linkage_type.as_deref() {
                Some("PRIMARY") => true,
                Some("FALLBACK") => false,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "Invalid or missing value for required parameter 'linkage_type' in \
                         model_configs[{i}]. Must be one of: PRIMARY, FALLBACK."
                    )))
                }
            };
            Ok(ModelConfig {
                model_definition_id: c.model_definition_id.clone().unwrap_or_default(),
                primary,
                weight: c.weight.unwrap_or(1.0),
                fallback_order: c.fallback_order.map(|o| o as i32),
            })
        })
        .collect()
}

/// Names may hold letters, digits, `_`, `-` and `.` (they appear in URLs).
pub fn check_name(name: &str) -> ApiResult<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ApiError::invalid(format!(
            "Invalid endpoint name '{name}'. Name can only contain letters, numbers, underscores, \
             hyphens, and dots."
        )));
    }
    Ok(())
}

/// Routing and fallback enums: stock's values only.
pub fn check_routing(strategy: Option<&str>, fallback: Option<&FallbackConfig>) -> ApiResult<()> {
    if let Some(s) = strategy.filter(|s| *s != "REQUEST_BASED_TRAFFIC_SPLIT") {
        return Err(ApiError::invalid(format!(
            "Invalid routing_strategy '{s}'. Must be one of: REQUEST_BASED_TRAFFIC_SPLIT."
        )));
    }
    if let Some(s) = fallback
        .and_then(|f| f.strategy.as_deref())
        .filter(|s| *s != "SEQUENTIAL")
    {
        return Err(ApiError::invalid(format!(
            "Invalid fallback_config.strategy '{s}'. Must be one of: SEQUENTIAL."
        )));
    }
    Ok(())
}

pub(super) fn fallback_json(
    cfgs: &[ModelConfig],
    f: Option<&FallbackConfig>,
    keep: Option<Vec<String>>,
) -> String {
    let ids: Vec<String> = keep.unwrap_or_else(|| {
        cfgs.iter()
            .filter(|c| !c.primary)
            .map(|c| c.model_definition_id.clone())
            .collect()
    });
    json!({
        "strategy": f.and_then(|f| f.strategy.clone()),
        "max_attempts": f.and_then(|f| f.max_attempts),
        "model_definition_ids": ids,
    })
    .to_string()
}

pub fn parse_experiment(id: &str) -> ApiResult<i32> {
    id.parse::<i32>()
        .map_err(|_| ApiError::invalid(format!("Invalid experiment ID: '{id}'")))
}

/// The experiment an endpoint's usage is traced to: `gateway/<name>`, made on first use, as stock does.
pub fn usage_experiment(st: &AppState, name: &str, endpoint_id: &str) -> ApiResult<String> {
    use crate::types::requests::{CreateExperiment, KeyValueIn};
    let exp_name = format!("gateway/{name}");
    match crate::service::experiments::get_by_name(st, &exp_name) {
        Ok(e) => return Ok(e.experiment_id),
        Err(e) if e.code != crate::error::ErrorCode::RESOURCE_DOES_NOT_EXIST => return Err(e),
        Err(_) => {}
    }
    let tag = |k: &str, v: &str| KeyValueIn {
        key: Some(k.into()),
        value: Some(v.into()),
    };
    crate::service::experiments::create(
        st,
        &CreateExperiment {
            name: Some(exp_name),
            artifact_location: None,
            tags: vec![
                tag("mlflow.experiment.sourceType", "GATEWAY"),
                tag("mlflow.experiment.sourceId", endpoint_id),
                tag("mlflow.experiment.isGateway", "true"),
            ],
        },
    )
}
