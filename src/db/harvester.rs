//! Harvester's own tables, beside MLflow's: the durable job queue and the EvalAI bridge's state.

diesel::table! {
    harvester_jobs (id) {
        id -> BigInt,
        kind -> Text,
        dedupe_key -> Nullable<Text>,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_after -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    harvester_evalai_submissions (installation, submission_id) {
        installation -> Text,
        submission_id -> BigInt,
        challenge_id -> Nullable<BigInt>,
        phase_id -> Nullable<BigInt>,
        evalai_status -> Nullable<Text>,
        state -> Text,
        run_id -> Nullable<Text>,
        model_name -> Nullable<Text>,
        model_version -> Nullable<BigInt>,
        pending_metrics -> Nullable<Text>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    harvester_evalai_watermarks (installation, challenge_id) {
        installation -> Text,
        challenge_id -> BigInt,
        submitted_after -> Nullable<Text>,
        polled_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    harvester_scans (workspace, name, version) {
        workspace -> Text,
        name -> Text,
        version -> Integer,
        status -> Text,
        report -> Nullable<Text>,
        error -> Nullable<Text>,
        high -> Integer,
        medium -> Integer,
        low -> Integer,
        scanned_at -> Nullable<BigInt>,
        override_status -> Nullable<Text>,
        override_reason -> Nullable<Text>,
        override_at -> Nullable<BigInt>,
        history -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    harvester_users (id) {
        id -> Integer,
        username -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    harvester_roles (id) {
        id -> Integer,
        workspace -> Text,
        name -> Text,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    harvester_role_permissions (id) {
        id -> Integer,
        role_id -> Integer,
        resource_type -> Text,
        resource_pattern -> Text,
        permission -> Text,
    }
}

diesel::table! {
    harvester_user_roles (user_id, role_id) {
        user_id -> Integer,
        role_id -> Integer,
    }
}

diesel::joinable!(harvester_role_permissions -> harvester_roles (role_id));
diesel::joinable!(harvester_user_roles -> harvester_roles (role_id));
diesel::joinable!(harvester_user_roles -> harvester_users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    harvester_users,
    harvester_roles,
    harvester_role_permissions,
    harvester_user_roles
);
