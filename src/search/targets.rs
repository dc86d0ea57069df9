//! The searchable entities, described as data for the shared builder (§4 of the MLflow contract).

use super::{Attr, AttrKind, KeyValue, Target};

const ATTR_PREFIXES: &[&str] = &["attribute", "attributes", "attr", "run"];
const RUN: &str = "kv.run_uuid = runs.run_uuid";

/// search-runs (`SearchUtils`).
pub static RUNS: Target = Target {
    table: "runs",
    id: "run_uuid",
    attr_prefixes: ATTR_PREFIXES,
    attrs: &[
        Attr {
            names: &["run_id", "run_uuid"],
            column: "run_uuid",
            kind: AttrKind::Str,
            allow_in: true,
            orderable: true,
        },
        Attr {
            names: &["run_name", "run name", "Run name", "Run Name"],
            column: "name",
            kind: AttrKind::Str,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["status"],
            column: "status",
            kind: AttrKind::Str,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["user_id"],
            column: "user_id",
            kind: AttrKind::Str,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["artifact_uri"],
            column: "artifact_uri",
            kind: AttrKind::Str,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["start_time", "created", "Created"],
            column: "start_time",
            kind: AttrKind::Num,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["end_time"],
            column: "end_time",
            kind: AttrKind::Num,
            allow_in: false,
            orderable: true,
        },
    ],
    kvs: &[
        KeyValue {
            numeric: true,
            ..kv(&["metric", "metrics"], "metric", "latest_metrics", RUN)
        },
        KeyValue {
            null_ops: true,
            ..kv(
                &["parameter", "parameters", "param", "params"],
                "parameter",
                "params",
                RUN,
            )
        },
        KeyValue {
            null_ops: true,
            ..kv(&["tag", "tags"], "tag", "tags", RUN)
        },
    ],
    datasets: true,
    default_order: &[],
    always_order: &[("start_time", false), ("run_uuid", true)],
};

/// search-experiments (`SearchExperimentsUtils`).
pub static EXPERIMENTS: Target = Target {
    table: "experiments",
    id: "experiment_id",
    attr_prefixes: &["attribute", "attributes", "attr"],
    attrs: &[
        Attr {
            names: &["name"],
            column: "name",
            kind: AttrKind::Str,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["experiment_id"],
            column: "experiment_id",
            kind: AttrKind::IntId,
            allow_in: true,
            orderable: true,
        },
        Attr {
            names: &["creation_time"],
            column: "creation_time",
            kind: AttrKind::Num,
            allow_in: false,
            orderable: true,
        },
        Attr {
            names: &["last_update_time"],
            column: "last_update_time",
            kind: AttrKind::Num,
            allow_in: false,
            orderable: true,
        },
    ],
    kvs: &[KeyValue {
        null_ops: true,
        orderable: false,
        ..kv(
            &["tag", "tags"],
            "tag",
            "experiment_tags",
            "kv.experiment_id = experiments.experiment_id",
        )
    }],
    datasets: false,
    default_order: &[("creation_time", false)],
    always_order: &[("experiment_id", true)],
};

const fn attr(
    names: &'static [&'static str],
    column: &'static str,
    kind: AttrKind,
    allow_in: bool,
) -> Attr {
    Attr {
        names,
        column,
        kind,
        allow_in,
        orderable: true,
    }
}

const fn kv(
    prefixes: &'static [&'static str],
    label: &'static str,
    table: &'static str,
    join: &'static str,
) -> KeyValue {
    KeyValue {
        prefixes,
        label,
        table,
        join,
        key_col: "key",
        value_col: "value",
        numeric: false,
        null_ops: false,
        orderable: true,
        history: None,
    }
}

const TAGS: &[&str] = &["tag", "tags"];
const LOGGED_MODEL: &str = "kv.model_id = logged_models.model_id";

/// search logged models (`search_logged_model_utils`): attributes, `metrics.` (latest value for
/// ordering), `params.`, `tags.`.
pub static LOGGED_MODELS: Target = Target {
    table: "logged_models",
    id: "model_id",
    attr_prefixes: &["attribute", "attributes"],
    attrs: &[
        attr(&["name"], "name", AttrKind::Str, true),
        attr(&["model_id"], "model_id", AttrKind::Str, true),
        attr(&["model_type"], "model_type", AttrKind::Str, true),
        attr(&["status"], "status", AttrKind::Status, true),
        attr(&["source_run_id"], "source_run_id", AttrKind::Str, true),
        attr(
            &[
                "creation_timestamp",
                "creation_time",
                "creation_timestamp_ms",
            ],
            "creation_timestamp_ms",
            AttrKind::Num,
            false,
        ),
        attr(
            &["last_updated_timestamp", "last_updated_timestamp_ms"],
            "last_updated_timestamp_ms",
            AttrKind::Num,
            false,
        ),
    ],
    kvs: &[
        KeyValue {
            numeric: true,
            key_col: "metric_name",
            value_col: "metric_value",
            history: Some("kv.metric_timestamp_ms DESC, kv.metric_step DESC"),
            ..kv(
                &["metric", "metrics"],
                "metric",
                "logged_model_metrics",
                LOGGED_MODEL,
            )
        },
        KeyValue {
            key_col: "param_key",
            value_col: "param_value",
            ..kv(
                &["param", "params"],
                "parameter",
                "logged_model_params",
                LOGGED_MODEL,
            )
        },
        KeyValue {
            key_col: "tag_key",
            value_col: "tag_value",
            ..kv(TAGS, "tag", "logged_model_tags", LOGGED_MODEL)
        },
    ],
    datasets: false,
    default_order: &[("creation_timestamp_ms", false)],
    always_order: &[("model_id", true)],
};

/// search registered models (`SearchModelUtils`); both timestamp keys order by the last update.
pub static REGISTERED_MODELS: Target = Target {
    table: "registered_models",
    id: "name",
    attr_prefixes: &["attribute", "attributes"],
    attrs: &[
        attr(&["name"], "name", AttrKind::Str, true),
        attr(
            &["timestamp", "last_updated_timestamp"],
            "last_updated_time",
            AttrKind::Num,
            false,
        ),
        attr(
            &["creation_timestamp"],
            "creation_time",
            AttrKind::Num,
            false,
        ),
    ],
    kvs: &[kv(
        TAGS,
        "tag",
        "registered_model_tags",
        "kv.name = registered_models.name AND kv.workspace = registered_models.workspace",
    )],
    datasets: false,
    default_order: &[],
    always_order: &[("name", true)],
};

/// search model versions (`SearchModelVersionUtils`).
pub static MODEL_VERSIONS: Target = Target {
    table: "model_versions",
    id: "version",
    attr_prefixes: &["attribute", "attributes"],
    attrs: &[
        attr(&["name"], "name", AttrKind::Str, true),
        attr(&["run_id"], "run_id", AttrKind::Str, true),
        attr(&["source_path"], "source", AttrKind::Str, false),
        attr(&["version_number"], "version", AttrKind::Num, false),
        attr(
            &["creation_timestamp"],
            "creation_time",
            AttrKind::Num,
            false,
        ),
        attr(
            &["last_updated_timestamp", "timestamp"],
            "last_updated_time",
            AttrKind::Num,
            false,
        ),
    ],
    kvs: &[kv(
        TAGS,
        "tag",
        "model_version_tags",
        "kv.name = model_versions.name AND kv.version = model_versions.version AND kv.workspace = model_versions.workspace",
    )],
    datasets: false,
    default_order: &[("last_updated_time", false)],
    always_order: &[("name", true), ("version", false)],
};
