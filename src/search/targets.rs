//! The searchable entities, described as data for the shared builder (§4 of the MLflow contract).

use super::{Attr, AttrKind, KeyValue, Target};

const ATTR_PREFIXES: &[&str] = &["attribute", "attributes", "attr", "run"];

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
            prefixes: &["metric", "metrics"],
            label: "metric",
            table: "latest_metrics",
            fk: "run_uuid",
            numeric: true,
            null_ops: false,
            orderable: true,
        },
        KeyValue {
            prefixes: &["parameter", "parameters", "param", "params"],
            label: "parameter",
            table: "params",
            fk: "run_uuid",
            numeric: false,
            null_ops: true,
            orderable: true,
        },
        KeyValue {
            prefixes: &["tag", "tags"],
            label: "tag",
            table: "tags",
            fk: "run_uuid",
            numeric: false,
            null_ops: true,
            orderable: true,
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
        prefixes: &["tag", "tags"],
        label: "tag",
        table: "experiment_tags",
        fk: "experiment_id",
        numeric: false,
        null_ops: true,
        orderable: false,
    }],
    datasets: false,
    default_order: &[("creation_time", false)],
    always_order: &[("experiment_id", true)],
};
