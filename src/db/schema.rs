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
);
