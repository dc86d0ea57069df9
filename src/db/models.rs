//! Database rows (`Queryable`/`Insertable`), kept apart from the wire types in `crate::types`. Rows read
//! MLflow's nullable and 32-bit columns through [`Col`]; inserts of those go through [`Int32`].

use diesel::prelude::*;

use super::columns::{Col, Int32};
use super::schema::*;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = experiments)]
pub struct ExperimentRow {
    #[diesel(deserialize_as = Col<i64>)]
    pub experiment_id: i64,
    pub name: String,
    #[diesel(deserialize_as = Col<String>)]
    pub artifact_location: String,
    #[diesel(deserialize_as = Col<String>)]
    pub lifecycle_stage: String,
    #[diesel(deserialize_as = Col<i64>)]
    pub creation_time: i64,
    #[diesel(deserialize_as = Col<i64>)]
    pub last_update_time: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = experiments)]
pub struct NewExperiment<'a> {
    pub name: &'a str,
    pub artifact_location: &'a str,
    pub lifecycle_stage: &'a str,
    pub creation_time: i64,
    pub last_update_time: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = experiment_tags)]
pub struct ExperimentTagRow {
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub experiment_id: i64,
    pub key: String,
    #[diesel(deserialize_as = Col<String>)]
    pub value: String,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = runs)]
pub struct RunRow {
    pub run_uuid: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub experiment_id: i64,
    #[diesel(deserialize_as = Col<String>)]
    pub name: String,
    #[diesel(deserialize_as = Col<String>)]
    pub user_id: String,
    #[diesel(deserialize_as = Col<String>)]
    pub status: String,
    #[diesel(deserialize_as = Col<i64>)]
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub deleted_time: Option<i64>,
    #[diesel(deserialize_as = Col<String>)]
    pub lifecycle_stage: String,
    #[diesel(deserialize_as = Col<String>)]
    pub artifact_uri: String,
}

/// A (run, key, value) row: params and run tags share this shape.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = params)]
pub struct ParamRow {
    pub run_uuid: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct TagRow {
    pub run_uuid: String,
    pub key: String,
    #[diesel(deserialize_as = Col<String>)]
    pub value: String,
}

/// A stored metric point (MLflow's `metrics` table keeps no model or dataset with it).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = metrics)]
pub struct MetricPointRow {
    pub run_uuid: String,
    pub key: String,
    pub timestamp: i64,
    pub step: i64,
    pub value: f64,
    pub is_nan: bool,
}

/// A metric point to store: its history row, and a logged model's metric when `model_id` is set.
#[derive(Debug, Clone)]
pub struct MetricRow {
    pub run_uuid: String,
    pub key: String,
    pub timestamp: i64,
    pub step: i64,
    pub value: f64,
    pub is_nan: bool,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = latest_metrics)]
pub struct LatestMetricRow {
    pub run_uuid: String,
    pub key: String,
    pub value: f64,
    #[diesel(deserialize_as = Col<i64>)]
    pub timestamp: i64,
    pub step: i64,
    pub is_nan: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = datasets)]
pub struct DatasetRow {
    pub dataset_uuid: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub experiment_id: i64,
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inputs)]
pub struct InputRow {
    pub input_uuid: String,
    pub source_type: String,
    pub source_id: String,
    pub destination_type: String,
    pub destination_id: String,
    pub step: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = input_tags)]
pub struct InputTagRow {
    pub input_uuid: String,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = logged_models)]
pub struct LoggedModelRow {
    pub model_id: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub experiment_id: i64,
    pub name: String,
    pub artifact_location: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    /// MLflow's `LoggedModelStatus` number (0 unspecified, 1 pending, 2 ready, 3 upload failed).
    pub status: i32,
    #[diesel(deserialize_as = Col<String>)]
    pub lifecycle_stage: String,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub status_message: Option<String>,
}

/// A (model, key, value) row: logged-model params and tags share this shape.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = logged_model_tags)]
pub struct ModelKvRow {
    pub model_id: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub experiment_id: i64,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = logged_model_metrics)]
pub struct LoggedModelMetricRow {
    pub model_id: String,
    pub key: String,
    pub timestamp: i64,
    pub step: i64,
    pub value: Option<f64>,
    pub run_id: String,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = registered_models)]
pub struct RegisteredModelRow {
    pub name: String,
    #[diesel(deserialize_as = Col<i64>)]
    pub creation_time: i64,
    #[diesel(deserialize_as = Col<i64>)]
    pub last_updated_time: i64,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = registered_model_tags)]
pub struct RegisteredModelTagRow {
    pub name: String,
    pub key: String,
    #[diesel(deserialize_as = Col<String>)]
    pub value: String,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = model_versions)]
pub struct ModelVersionRow {
    pub name: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub version: i64,
    #[diesel(deserialize_as = Col<i64>)]
    pub creation_time: i64,
    #[diesel(deserialize_as = Col<i64>)]
    pub last_updated_time: i64,
    pub description: Option<String>,
    pub user_id: Option<String>,
    #[diesel(deserialize_as = Col<String>)]
    pub current_stage: String,
    pub source: Option<String>,
    pub storage_location: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    #[diesel(deserialize_as = Col<String>)]
    pub status: String,
    pub status_message: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = model_version_tags)]
pub struct ModelVersionTagRow {
    pub name: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub version: i64,
    pub key: String,
    #[diesel(deserialize_as = Col<String>)]
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = registered_model_aliases)]
pub struct AliasRow {
    pub name: String,
    pub alias: String,
    #[diesel(deserialize_as = Col<i64>, serialize_as = Int32)]
    pub version: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub webhook_id: String,
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    pub status: String,
    pub secret: Option<String>,
    #[diesel(deserialize_as = Col<i64>)]
    pub creation_timestamp: i64,
    #[diesel(deserialize_as = Col<i64>)]
    pub last_updated_timestamp: i64,
    /// Set when MLflow soft-deletes a webhook; Harvester deletes rows, and skips those MLflow kept.
    pub deleted_timestamp: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_events)]
pub struct WebhookEventRow {
    pub webhook_id: String,
    pub entity: String,
    pub action: String,
}

/// A row count (`SELECT CAST(count(*) AS BIGINT) AS n …`).
#[derive(Debug, QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}
