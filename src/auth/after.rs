//! What a successful request means for grants: MANAGE for the creator of an experiment, model, scorer
//! or gateway resource; grants dropped with what was deleted, and moved with a renamed model.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::web;

use super::params::Params;
use super::{grants, resolve, Permission, Viewer};
use crate::error::ApiError;
use crate::service::AppState;

/// What to do after a successful request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Nothing,
    /// MANAGE on what was created, of this type, its id at this JSON pointer of the response.
    GrantCreated(&'static str, &'static str),
    /// Drop the grants on the resource of this type named by this parameter.
    DropNamed(&'static str, &'static str),
    GrantModel,
    DropModel,
    RenameModel,
    GrantScorer,
    DropScorer,
}

pub fn after_of(op: &str) -> After {
    let op = op
        .trim_start_matches("/ajax-api/")
        .trim_start_matches("/api/")
        .trim_start_matches("2.0/mlflow/")
        .trim_start_matches("3.0/mlflow/");
    match op {
        "experiments/create" => After::GrantCreated("experiment", "/experiment_id"),
        "gateway/secrets/create" => After::GrantCreated("gateway_secret", "/secret/secret_id"),
        "gateway/model-definitions/create" => After::GrantCreated(
            "gateway_model_definition",
            "/model_definition/model_definition_id",
        ),
        "gateway/endpoints/create" => {
            After::GrantCreated("gateway_endpoint", "/endpoint/endpoint_id")
        }
        "gateway/secrets/delete" => After::DropNamed("gateway_secret", "secret_id"),
        "gateway/model-definitions/delete" => {
            After::DropNamed("gateway_model_definition", "model_definition_id")
        }
        "gateway/endpoints/delete" => After::DropNamed("gateway_endpoint", "endpoint_id"),
        "registered-models/create" => After::GrantModel,
        "registered-models/delete" => After::DropModel,
        "registered-models/rename" => After::RenameModel,
        "scorers/register" => After::GrantScorer,
        "scorers/delete" => After::DropScorer,
        _ => After::Nothing,
    }
}

/// Record what a successful create, delete or rename means for grants.
pub async fn follow(
    st: web::Data<AppState>,
    viewer: Viewer,
    after: After,
    params: Params,
    res: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let created_id = match after {
        After::GrantCreated(_, pointer) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.pointer(pointer)?.as_str().map(str::to_string)),
        _ => None,
    };
    let done = crate::workspace::block(move || -> Result<(), ApiError> {
        match after {
            After::GrantCreated(resource_type, _) => match created_id {
                Some(id) => grants::grant_user(
                    &st.db,
                    viewer.id,
                    &viewer.username,
                    resource_type,
                    &id,
                    Permission::Manage,
                    true,
                ),
                None => Ok(()),
            },
            After::DropNamed(resource_type, param) => match params.get(param) {
                Some(id) => grants::delete_for_resource(&st.db, resource_type, &id),
                None => Ok(()),
            },
            After::GrantModel => match params.get("name") {
                Some(name) => grants::grant_user(
                    &st.db,
                    viewer.id,
                    &viewer.username,
                    "registered_model",
                    &name,
                    Permission::Manage,
                    true,
                ),
                None => Ok(()),
            },
            After::DropModel => match params.get("name") {
                Some(name) => {
                    grants::delete_for_resource(&st.db, "registered_model", &name)?;
                    grants::delete_for_resource(&st.db, "prompt", &name)
                }
                None => Ok(()),
            },
            After::RenameModel => match (params.get("name"), params.get("new_name")) {
                (Some(old), Some(new)) => {
                    grants::rename_resource(&st.db, "registered_model", &old, &new)
                }
                _ => Ok(()),
            },
            After::GrantScorer => match (params.get("experiment_id"), params.get("name")) {
                // Each registration grants it again (stock upserts the grant).
                (Some(e), Some(name)) => grants::grant_user(
                    &st.db,
                    viewer.id,
                    &viewer.username,
                    "scorer",
                    &resolve::scorer_pattern(&e, &name),
                    Permission::Manage,
                    true,
                ),
                _ => Ok(()),
            },
            // Deleting one version keeps the scorer and its grants.
            After::DropScorer => match (
                params.get("experiment_id"),
                params.get("name"),
                params.get("version"),
            ) {
                (Some(e), Some(name), None) => grants::delete_for_resource(
                    &st.db,
                    "scorer",
                    &resolve::scorer_pattern(&e, &name),
                ),
                _ => Ok(()),
            },
            After::Nothing => Ok(()),
        }
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("grant bookkeeping after a request failed: {}", e.message),
        Err(e) => tracing::error!("grant bookkeeping after a request failed: {e}"),
    }
    let response = head.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(req, response))
}
