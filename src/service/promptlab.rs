//! `runs/create-promptlab-run` (the UI's prompt-engineering runs): a finished run with the model route and
//! prompt template as params, MLflow's two tags, and the `eval_results_table.json` artifact the UI shows.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::types::entities::Run;
use crate::types::requests::{CreatePromptlabRun, CreateRun, KeyValueIn, LogBatch, UpdateRun};

fn require<'a, T>(v: &'a Option<T>, name: &str) -> ApiResult<&'a T> {
    v.as_ref().ok_or_else(|| {
        ApiError::invalid(format!("CreatePromptlabRun request must specify {name}."))
    })
}

fn kv(key: &str, value: &str) -> KeyValueIn {
    KeyValueIn {
        key: Some(key.into()),
        value: Some(value.into()),
    }
}

/// The run, and the eval table to store as its `eval_results_table.json` artifact.
pub fn create(st: &AppState, req: &CreatePromptlabRun) -> ApiResult<(Run, serde_json::Value)> {
    let experiment_id = require(&req.experiment_id, "experiment_id")?.clone();
    let template = require(&req.prompt_template, "prompt_template")?.clone();
    if req.prompt_parameters.is_empty() {
        return Err(ApiError::invalid(
            "CreatePromptlabRun request must specify prompt_parameters.",
        ));
    }
    let route = require(&req.model_route, "model_route")?.clone();
    let input = require(&req.model_input, "model_input")?.clone();
    require(&req.mlflow_version, "mlflow_version")?;
    let run = super::runs::create(
        st,
        &CreateRun {
            experiment_id: Some(experiment_id),
            user_id: Some(req.user_id.clone().unwrap_or_else(|| "unknown".into())),
            run_name: req.run_name.clone(),
            start_time: Some(req.start_time.unwrap_or_else(super::now_ms)),
            tags: req.tags.clone(),
        },
    )?;
    let run_id = run.info.run_id.clone();
    let mut params = req.model_parameters.clone();
    params.push(kv("model_route", &route));
    params.push(kv("prompt_template", &template));
    super::runs::log_batch(
        st,
        &LogBatch {
            run_id: Some(run_id.clone()),
            params,
            tags: vec![
                kv(
                    "mlflow.loggedArtifacts",
                    r#"[{"path": "eval_results_table.json", "type": "table"}]"#,
                ),
                kv("mlflow.runSourceType", "PROMPT_ENGINEERING"),
            ],
            ..LogBatch::default()
        },
    )?;
    // `create_eval_results_json`: one row of the prompt parameters, the input, output parameters, output.
    let mut columns: Vec<String> = Vec::new();
    let mut row: Vec<Option<String>> = Vec::new();
    for p in &req.prompt_parameters {
        columns.push(p.key.clone().unwrap_or_default());
        row.push(p.value.clone());
    }
    columns.push("prompt".into());
    row.push(Some(input));
    for p in &req.model_output_parameters {
        columns.push(p.key.clone().unwrap_or_default());
        row.push(p.value.clone());
    }
    columns.push("output".into());
    row.push(req.model_output.clone());
    let table = serde_json::json!({"columns": columns, "data": [row]});
    super::runs::update(
        st,
        &UpdateRun {
            run_id: Some(run_id.clone()),
            status: Some("FINISHED".into()),
            end_time: Some(super::now_ms()),
            ..UpdateRun::default()
        },
    )?;
    Ok((super::runs::get(st, &run_id)?, table))
}
