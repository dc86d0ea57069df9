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
