//! Portable diesel schema shared by the SQLite and PostgreSQL backends.

diesel::table! {
    experiments (experiment_id) {
        experiment_id -> BigInt,
        name -> Text,
        artifact_location -> Text,
        lifecycle_stage -> Text,
        creation_time -> BigInt,
        last_update_time -> BigInt,
    }
}

diesel::table! {
    experiment_tags (experiment_id, key) {
        experiment_id -> BigInt,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    runs (run_uuid) {
        run_uuid -> Text,
        experiment_id -> BigInt,
        name -> Text,
        user_id -> Text,
        status -> Text,
        start_time -> BigInt,
        end_time -> Nullable<BigInt>,
        deleted_time -> Nullable<BigInt>,
        lifecycle_stage -> Text,
        artifact_uri -> Text,
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
        value -> Text,
    }
}

diesel::table! {
    metrics (run_uuid, key, timestamp, step, value, is_nan) {
        run_uuid -> Text,
        key -> Text,
        timestamp -> BigInt,
        step -> BigInt,
        value -> Double,
        is_nan -> Integer,
        model_id -> Nullable<Text>,
        dataset_name -> Nullable<Text>,
        dataset_digest -> Nullable<Text>,
    }
}

diesel::table! {
    latest_metrics (run_uuid, key) {
        run_uuid -> Text,
        key -> Text,
        value -> Double,
        timestamp -> BigInt,
        step -> BigInt,
        is_nan -> Integer,
    }
}

diesel::table! {
    datasets (dataset_uuid) {
        dataset_uuid -> Text,
        experiment_id -> BigInt,
        name -> Text,
        digest -> Text,
        source_type -> Text,
        source -> Text,
        schema -> Nullable<Text>,
        profile -> Nullable<Text>,
    }
}

diesel::table! {
    run_inputs (run_uuid, dataset_uuid) {
        run_uuid -> Text,
        dataset_uuid -> Text,
    }
}

diesel::table! {
    input_tags (run_uuid, dataset_uuid, key) {
        run_uuid -> Text,
        dataset_uuid -> Text,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    run_model_io (run_uuid, direction, model_id) {
        run_uuid -> Text,
        direction -> Text,
        model_id -> Text,
        step -> BigInt,
    }
}

diesel::table! {
    logged_models (model_id) {
        model_id -> Text,
        experiment_id -> BigInt,
        name -> Text,
        artifact_location -> Text,
        creation_timestamp_ms -> BigInt,
        last_updated_timestamp_ms -> BigInt,
        status -> Text,
        lifecycle_stage -> Text,
        model_type -> Nullable<Text>,
        source_run_id -> Nullable<Text>,
        status_message -> Nullable<Text>,
    }
}

diesel::table! {
    logged_model_params (model_id, key) {
        model_id -> Text,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    logged_model_tags (model_id, key) {
        model_id -> Text,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    logged_model_metrics (model_id, key, timestamp, step, run_id, dataset_name, dataset_digest) {
        model_id -> Text,
        key -> Text,
        timestamp -> BigInt,
        step -> BigInt,
        value -> Double,
        run_id -> Text,
        dataset_name -> Text,
        dataset_digest -> Text,
    }
}

diesel::table! {
    registered_models (name) {
        name -> Text,
        creation_time -> BigInt,
        last_updated_time -> BigInt,
        description -> Nullable<Text>,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    registered_model_tags (name, key) {
        name -> Text,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    model_versions (mv_id) {
        mv_id -> BigInt,
        name -> Text,
        version -> BigInt,
        creation_time -> BigInt,
        last_updated_time -> BigInt,
        description -> Nullable<Text>,
        user_id -> Nullable<Text>,
        current_stage -> Text,
        source -> Nullable<Text>,
        storage_location -> Nullable<Text>,
        run_id -> Nullable<Text>,
        run_link -> Nullable<Text>,
        status -> Text,
        status_message -> Nullable<Text>,
        model_id -> Nullable<Text>,
    }
}

diesel::table! {
    model_version_tags (mv_id, key) {
        mv_id -> BigInt,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    registered_model_aliases (name, alias) {
        name -> Text,
        alias -> Text,
        version -> BigInt,
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
        creation_timestamp -> BigInt,
        last_updated_timestamp -> BigInt,
    }
}

diesel::table! {
    webhook_events (webhook_id, entity, action) {
        webhook_id -> Text,
        entity -> Text,
        action -> Text,
    }
}

diesel::joinable!(experiment_tags -> experiments (experiment_id));
diesel::joinable!(runs -> experiments (experiment_id));
diesel::allow_tables_to_appear_in_same_query!(
    experiments,
    experiment_tags,
    runs,
    params,
    tags,
    metrics,
    latest_metrics,
    datasets,
    run_inputs,
    input_tags,
    run_model_io,
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
