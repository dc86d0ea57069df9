//! The diesel schema of the MLflow 3.17.2 tables Harvester reads and writes (the first migration of each
//! tree is MLflow's own schema), shared by the SQLite and PostgreSQL backends. Rust-side column names
//! stay uniform across tables (`key`, `value`, `timestamp`); `sql_name` maps them to MLflow's. Columns
//! are listed in the order of the rows in `models` (diesel names every column it selects, so the order
//! here is free), and columns Harvester never reads (`runs.source_*`,
//! `logged_model_metrics.experiment_id`) are not listed; inserts that need one name it in SQL.

diesel::table! {
    workspaces (name) {
        name -> Text,
        description -> Nullable<Text>,
        default_artifact_root -> Nullable<Text>,
    }
}

diesel::table! {
    experiments (experiment_id) {
        experiment_id -> Integer,
        name -> Text,
        artifact_location -> Nullable<Text>,
        lifecycle_stage -> Nullable<Text>,
        creation_time -> Nullable<BigInt>,
        last_update_time -> Nullable<BigInt>,
        workspace -> Text,
    }
}

diesel::table! {
    experiment_tags (experiment_id, key) {
        experiment_id -> Integer,
        key -> Text,
        value -> Nullable<Text>,
    }
}

diesel::table! {
    runs (run_uuid) {
        run_uuid -> Text,
        experiment_id -> Nullable<Integer>,
        name -> Nullable<Text>,
        user_id -> Nullable<Text>,
        status -> Nullable<Text>,
        start_time -> Nullable<BigInt>,
        end_time -> Nullable<BigInt>,
        deleted_time -> Nullable<BigInt>,
        lifecycle_stage -> Nullable<Text>,
        artifact_uri -> Nullable<Text>,
    }
}

diesel::table! {
    params (run_uuid, key) {
        run_uuid -> Text,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    tags (run_uuid, key) {
        run_uuid -> Text,
        key -> Text,
        value -> Nullable<Text>,
    }
}

diesel::table! {
    metrics (run_uuid, key, timestamp, step, value, is_nan) {
        run_uuid -> Text,
        key -> Text,
        timestamp -> BigInt,
        step -> BigInt,
        value -> Double,
        is_nan -> Bool,
    }
}

diesel::table! {
    latest_metrics (run_uuid, key) {
        run_uuid -> Text,
        key -> Text,
        value -> Double,
        timestamp -> Nullable<BigInt>,
        step -> BigInt,
        is_nan -> Bool,
    }
}

diesel::table! {
    datasets (experiment_id, name, digest) {
        dataset_uuid -> Text,
        experiment_id -> Integer,
        name -> Text,
        digest -> Text,
        #[sql_name = "dataset_source_type"]
        source_type -> Text,
        #[sql_name = "dataset_source"]
        source -> Text,
        #[sql_name = "dataset_schema"]
        schema -> Nullable<Text>,
        #[sql_name = "dataset_profile"]
        profile -> Nullable<Text>,
    }
}

diesel::table! {
    /// Edges: a dataset into a run (`DATASET` → `RUN`), a model into a run (`RUN_INPUT` → `MODEL_INPUT`),
    /// a run's output model (`RUN_OUTPUT` → `MODEL_OUTPUT`, with its step).
    inputs (source_type, source_id, destination_type, destination_id) {
        input_uuid -> Text,
        source_type -> Text,
        source_id -> Text,
        destination_type -> Text,
        destination_id -> Text,
        step -> BigInt,
    }
}

diesel::table! {
    input_tags (input_uuid, name) {
        input_uuid -> Text,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    logged_models (model_id) {
        model_id -> Text,
        experiment_id -> Integer,
        name -> Text,
        artifact_location -> Text,
        creation_timestamp_ms -> BigInt,
        last_updated_timestamp_ms -> BigInt,
        status -> Integer,
        lifecycle_stage -> Nullable<Text>,
        model_type -> Nullable<Text>,
        source_run_id -> Nullable<Text>,
        status_message -> Nullable<Text>,
    }
}

diesel::table! {
    logged_model_params (model_id, key) {
        model_id -> Text,
        experiment_id -> Integer,
        #[sql_name = "param_key"]
        key -> Text,
        #[sql_name = "param_value"]
        value -> Text,
    }
}

diesel::table! {
    logged_model_tags (model_id, key) {
        model_id -> Text,
        experiment_id -> Integer,
        #[sql_name = "tag_key"]
        key -> Text,
        #[sql_name = "tag_value"]
        value -> Text,
    }
}

diesel::table! {
    logged_model_metrics (model_id, key, timestamp, step, run_id) {
        model_id -> Text,
        #[sql_name = "metric_name"]
        key -> Text,
        #[sql_name = "metric_timestamp_ms"]
        timestamp -> BigInt,
        #[sql_name = "metric_step"]
        step -> BigInt,
        #[sql_name = "metric_value"]
        value -> Nullable<Double>,
        run_id -> Text,
        dataset_name -> Nullable<Text>,
        dataset_digest -> Nullable<Text>,
    }
}

diesel::table! {
    registered_models (name) {
        name -> Text,
        creation_time -> Nullable<BigInt>,
        last_updated_time -> Nullable<BigInt>,
        description -> Nullable<Text>,
        workspace -> Text,
    }
}

diesel::table! {
    registered_model_tags (name, key) {
        name -> Text,
        key -> Text,
        value -> Nullable<Text>,
        workspace -> Text,
    }
}

diesel::table! {
    model_versions (name, version) {
        name -> Text,
        version -> Integer,
        creation_time -> Nullable<BigInt>,
        last_updated_time -> Nullable<BigInt>,
        description -> Nullable<Text>,
        user_id -> Nullable<Text>,
        current_stage -> Nullable<Text>,
        source -> Nullable<Text>,
        storage_location -> Nullable<Text>,
        run_id -> Nullable<Text>,
        run_link -> Nullable<Text>,
        status -> Nullable<Text>,
        status_message -> Nullable<Text>,
        workspace -> Text,
    }
}

diesel::table! {
    model_version_tags (name, version, key) {
        name -> Text,
        version -> Integer,
        key -> Text,
        value -> Nullable<Text>,
        workspace -> Text,
    }
}

diesel::table! {
    registered_model_aliases (name, alias) {
        name -> Text,
        alias -> Text,
        version -> Integer,
        workspace -> Text,
    }
}

diesel::table! {
    webhooks (webhook_id) {
        webhook_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        url -> Text,
        status -> Text,
        secret -> Nullable<Text>,
        creation_timestamp -> Nullable<BigInt>,
        last_updated_timestamp -> Nullable<BigInt>,
        deleted_timestamp -> Nullable<BigInt>,
        workspace -> Text,
    }
}

diesel::table! {
    webhook_events (webhook_id, entity, action) {
        webhook_id -> Text,
        entity -> Text,
        action -> Text,
    }
}

diesel::table! {
    scorers (scorer_id) {
        experiment_id -> Integer,
        scorer_name -> Text,
        scorer_id -> Text,
    }
}

diesel::table! {
    scorer_versions (scorer_id, scorer_version) {
        scorer_id -> Text,
        scorer_version -> Integer,
        serialized_scorer -> Text,
        creation_time -> Nullable<BigInt>,
    }
}

diesel::table! {
    online_scoring_configs (online_scoring_config_id) {
        online_scoring_config_id -> Text,
        scorer_id -> Text,
        sample_rate -> Double,
        experiment_id -> Integer,
        filter_string -> Nullable<Text>,
    }
}

diesel::table! {
    secrets (secret_id) {
        secret_id -> Text,
        secret_name -> Text,
        encrypted_value -> Binary,
        wrapped_dek -> Binary,
        kek_version -> Integer,
        masked_value -> Text,
        provider -> Nullable<Text>,
        auth_config -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        last_updated_by -> Nullable<Text>,
        last_updated_at -> BigInt,
        workspace -> Text,
    }
}

diesel::table! {
    model_definitions (model_definition_id) {
        model_definition_id -> Text,
        name -> Text,
        secret_id -> Nullable<Text>,
        provider -> Text,
        model_name -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        last_updated_by -> Nullable<Text>,
        last_updated_at -> BigInt,
        workspace -> Text,
    }
}

diesel::table! {
    endpoints (endpoint_id) {
        endpoint_id -> Text,
        name -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        last_updated_by -> Nullable<Text>,
        last_updated_at -> BigInt,
        routing_strategy -> Nullable<Text>,
        fallback_config_json -> Nullable<Text>,
        experiment_id -> Nullable<Integer>,
        usage_tracking -> Bool,
        workspace -> Text,
    }
}

diesel::table! {
    endpoint_model_mappings (mapping_id) {
        mapping_id -> Text,
        endpoint_id -> Text,
        model_definition_id -> Text,
        weight -> Double,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        linkage_type -> Text,
        fallback_order -> Nullable<Integer>,
    }
}

diesel::table! {
    endpoint_tags (key, endpoint_id) {
        key -> Text,
        value -> Nullable<Text>,
        endpoint_id -> Text,
    }
}

diesel::table! {
    endpoint_bindings (endpoint_id, resource_type, resource_id) {
        endpoint_id -> Text,
        resource_type -> Text,
        resource_id -> Text,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
        last_updated_at -> BigInt,
        last_updated_by -> Nullable<Text>,
        display_name -> Nullable<Text>,
    }
}

diesel::table! {
    budget_policies (budget_policy_id) {
        budget_policy_id -> Text,
        budget_unit -> Text,
        budget_amount -> Double,
        duration_unit -> Text,
        duration_value -> Integer,
        target_scope -> Text,
        budget_action -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        last_updated_by -> Nullable<Text>,
        last_updated_at -> BigInt,
        target_value -> Nullable<Text>,
        workspace -> Text,
    }
}

diesel::joinable!(endpoint_model_mappings -> model_definitions (model_definition_id));
diesel::joinable!(model_definitions -> secrets (secret_id));
diesel::joinable!(scorer_versions -> scorers (scorer_id));
diesel::joinable!(experiment_tags -> experiments (experiment_id));
diesel::allow_tables_to_appear_in_same_query!(
    secrets,
    model_definitions,
    endpoints,
    endpoint_model_mappings,
    endpoint_tags,
    endpoint_bindings,
    budget_policies,
    scorers,
    scorer_versions,
    online_scoring_configs,
    experiments,
    experiment_tags,
    runs,
    params,
    tags,
    metrics,
    latest_metrics,
    datasets,
    inputs,
    input_tags,
    logged_models,
    logged_model_params,
    logged_model_tags,
    logged_model_metrics,
    registered_models,
    registered_model_tags,
    model_versions,
    model_version_tags,
    registered_model_aliases,
    webhooks,
    webhook_events,
);
