//! The one SQL builder: compiles parsed comparisons and `order_by` items for a [`Target`] into a WHERE
//! fragment and an ORDER BY list with bind parameters, in the dialect of the connected database.

use super::parse::{Comparison, Op, Value};
use super::{Attr, AttrKind, KeyValue, Target};
use crate::db::Dialect;
use crate::error::{ApiError, ApiResult};

pub use super::order::{leading_key, push_group, push_order_by, push_order_by_in_group};

/// A bind parameter for a dynamically built statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// SQL text with its binds; placeholders are `?` (SQLite) or `$n` (PostgreSQL).
#[derive(Debug)]
pub struct SqlBuf {
    pub dialect: Dialect,
    pub sql: String,
    pub binds: Vec<Bind>,
    /// Where [`push_order_by`] puts the joins its sort keys need (see [`SqlBuf::mark_joins`]).
    pub(super) joins_at: Option<usize>,
}

impl SqlBuf {
    pub fn new(dialect: Dialect) -> Self {
        SqlBuf {
            dialect,
            sql: String::with_capacity(512),
            binds: Vec::new(),
            joins_at: None,
        }
    }
    /// Mark the end of the `FROM` table: sort keys on side tables are joined here (one join each), not
    /// looked up by a subquery per row, which PostgreSQL ran twice per matching row (BENCHMARKS.md, W4).
    pub fn mark_joins(&mut self) -> &mut Self {
        self.joins_at = Some(self.sql.len());
        self
    }
    /// The placeholder of a new bind (numbered, so its place in the text does not matter).
    pub(super) fn placeholder(&mut self, b: Bind) -> String {
        self.binds.push(b);
        let mark = match self.dialect {
            Dialect::Sqlite => '?',
            Dialect::Postgres => '$',
        };
        format!("{mark}{}", self.binds.len())
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
    pub fn bind(&mut self, b: Bind) -> &mut Self {
        // Numbered placeholders in both dialects, so one bind may be referenced twice.
        let p = self.placeholder(b);
        self.sql.push_str(&p);
        self
    }
    pub fn bind_list(&mut self, items: impl IntoIterator<Item = Bind>) -> &mut Self {
        self.push("(");
        for (i, b) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(b);
        }
        self.push(")")
    }
}

fn find_attr<'a>(t: &'a Target, key: &str) -> Option<&'a Attr> {
    t.attrs.iter().find(|a| a.names.contains(&key))
}

fn find_kv<'a>(t: &'a Target, prefix: &str) -> Option<&'a KeyValue> {
    t.kvs.iter().find(|kv| kv.prefixes.contains(&prefix))
}

pub(super) enum Resolved<'a> {
    Attr(&'a Attr),
    Kv(&'a KeyValue),
    Dataset,
}

pub(super) fn resolve<'a>(
    t: &'a Target,
    prefix: Option<&str>,
    key: &str,
) -> ApiResult<Resolved<'a>> {
    match prefix {
        None => attr_of(t, key),
        Some(p) if t.attr_prefixes.contains(&p) => attr_of(t, key),
        Some(p) if t.datasets && (p == "dataset" || p == "datasets") => Ok(Resolved::Dataset),
        Some(p) => find_kv(t, p).map(Resolved::Kv).ok_or_else(|| {
            let mut valid: Vec<&str> = t.attr_prefixes.to_vec();
            for kv in t.kvs {
                valid.extend(kv.prefixes);
            }
            if t.datasets {
                valid.extend(["dataset", "datasets"]);
            }
            ApiError::invalid(format!(
                "Invalid entity type '{p}'. Valid values are {valid:?}"
            ))
        }),
    }
}

fn attr_of<'a>(t: &'a Target, key: &str) -> ApiResult<Resolved<'a>> {
    find_attr(t, key).map(Resolved::Attr).ok_or_else(|| {
        let valid: Vec<&str> = t.attrs.iter().map(|a| a.names[0]).collect();
        ApiError::invalid(format!(
            "Invalid attribute key '{key}' specified. Valid keys are '{valid:?}'"
        ))
    })
}

fn bad_op(op: Op, what: &str) -> ApiError {
    ApiError::invalid(format!("Invalid comparator '{}' for {what}", op.as_str()))
}

fn str_value(v: &Value, what: &str) -> ApiResult<String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(ApiError::invalid(format!(
            "Value for {what} must be a quoted string, got {other:?}. Use either single or double quotes."
        ))),
    }
}

fn num_value(v: &Value, what: &str) -> ApiResult<f64> {
    match v {
        Value::Num(n) => Ok(*n),
        other => Err(ApiError::invalid(format!(
            "Expected numeric value type for {what}. Found {other:?}"
        ))),
    }
}

/// `col <op> ?` for a string comparison (LIKE is case-sensitive; ILIKE lower-cases both sides).
fn string_cmp(buf: &mut SqlBuf, col: &str, op: Op, v: String) {
    match op {
        Op::ILike => {
            buf.push("LOWER(")
                .push(col)
                .push(") LIKE LOWER(")
                .bind(Bind::Text(v))
                .push(")");
        }
        Op::Like => {
            buf.push(col).push(" LIKE ").bind(Bind::Text(v));
        }
        _ => {
            buf.push(col)
                .push(if op == Op::Eq { " = " } else { " <> " })
                .bind(Bind::Text(v));
        }
    }
}

fn sql_op(op: Op) -> &'static str {
    match op {
        Op::Eq => " = ",
        Op::Ne => " <> ",
        Op::Lt => " < ",
        Op::Le => " <= ",
        Op::Gt => " > ",
        _ => " >= ",
    }
}

fn int_ids(items: &[String]) -> ApiResult<Vec<Bind>> {
    items
        .iter()
        .map(|s| {
            s.parse::<i64>()
                .map(Bind::Int)
                .map_err(|_| ApiError::invalid(format!("Invalid id '{s}' in filter")))
        })
        .collect()
}

fn attr_clause(buf: &mut SqlBuf, t: &Target, a: &Attr, c: &Comparison) -> ApiResult<()> {
    let col = format!("{}.{}", t.table, a.column);
    let what = format!("attribute '{}'", c.key);
    match (a.kind, c.op) {
        (AttrKind::Num, op) if op.is_numeric_cmp() => {
            buf.push(&col)
                .push(sql_op(op))
                .bind(Bind::Int(num_value(&c.value, &what)? as i64));
        }
        (AttrKind::Str | AttrKind::IntId, Op::In | Op::NotIn) if a.allow_in => {
            let Value::List(items) = &c.value else {
                return Err(bad_op(c.op, &what));
            };
            let binds = if a.kind == AttrKind::IntId {
                int_ids(items)?
            } else {
                items.iter().cloned().map(Bind::Text).collect()
            };
            buf.push(&col)
                .push(if c.op == Op::In { " IN " } else { " NOT IN " })
                .bind_list(binds);
        }
        (AttrKind::Status, Op::Eq | Op::Ne | Op::In | Op::NotIn) => {
            let names = match &c.value {
                Value::List(items) => items.clone(),
                v => vec![str_value(v, &what)?.to_string()],
            };
            // An unknown name matches no row: -1 is no status MLflow stores.
            let codes: Vec<Bind> = names
                .iter()
                .map(|n| {
                    Bind::Int(
                        crate::types::registry::logged_model_status_number(n).map_or(-1, i64::from),
                    )
                })
                .collect();
            let op = match c.op {
                Op::Eq | Op::In => " IN ",
                _ => " NOT IN ",
            };
            buf.push(&col).push(op).bind_list(codes);
        }
        (AttrKind::IntId, Op::Eq | Op::Ne) => {
            let v = str_value(&c.value, &what)?;
            let id = v
                .parse::<i64>()
                .map_err(|_| ApiError::invalid(format!("Invalid id '{v}' in filter")))?;
            buf.push(&col).push(sql_op(c.op)).bind(Bind::Int(id));
        }
        (AttrKind::IntId, Op::Like | Op::ILike) => {
            let cast = format!("CAST({col} AS TEXT)");
            string_cmp(buf, &cast, c.op, str_value(&c.value, &what)?);
        }
        (AttrKind::Str, op) if op.is_string_cmp() => {
            string_cmp(buf, &col, op, str_value(&c.value, &what)?)
        }
        (_, op) => return Err(bad_op(op, &what)),
    }
    Ok(())
}

fn kv_clause(buf: &mut SqlBuf, kv: &KeyValue, c: &Comparison) -> ApiResult<()> {
    let what = format!("{} '{}'", kv.label, c.key);
    let head = format!(
        "EXISTS (SELECT 1 FROM {} kv WHERE {} AND kv.{} = ",
        kv.table, kv.join, kv.key_col
    );
    let value = format!("kv.{}", kv.value_col);
    match c.op {
        Op::IsNull | Op::IsNotNull if kv.null_ops => {
            if c.op == Op::IsNull {
                buf.push("NOT ");
            }
            buf.push(&head).bind(Bind::Text(c.key.clone())).push(")");
        }
        op if kv.numeric && op.is_numeric_cmp() => {
            let v = num_value(&c.value, &what)?;
            buf.push(&head)
                .bind(Bind::Text(c.key.clone()))
                .push(" AND ")
                .push(&value)
                .push(sql_op(op));
            buf.bind(Bind::Float(v)).push(")");
        }
        op if !kv.numeric && op.is_string_cmp() => {
            let v = str_value(&c.value, &what)?;
            buf.push(&head)
                .bind(Bind::Text(c.key.clone()))
                .push(" AND ");
            string_cmp(buf, &value, op, v);
            buf.push(")");
        }
        op => return Err(bad_op(op, &what)),
    }
    Ok(())
}

fn dataset_clause(buf: &mut SqlBuf, t: &Target, c: &Comparison) -> ApiResult<()> {
    let what = format!("dataset '{}'", c.key);
    let col = match c.key.as_str() {
        "name" => "d.name",
        "digest" => "d.digest",
        "context" => "it.value",
        other => {
            return Err(ApiError::invalid(format!(
            "Invalid dataset key '{other}' specified. Valid keys are ['name', 'digest', 'context']"
        )))
        }
    };
    buf.push("EXISTS (SELECT 1 FROM inputs ri JOIN datasets d ON d.dataset_uuid = ri.source_id ");
    if c.key == "context" {
        buf.push("JOIN input_tags it ON it.input_uuid = ri.input_uuid AND it.name = 'mlflow.data.context' ");
    }
    buf.push(
        "WHERE ri.source_type = 'DATASET' AND ri.destination_type = 'RUN' AND ri.destination_id = ",
    )
    .push(t.table)
    .push(".")
    .push(t.id)
    .push(" AND ");
    match (c.op, &c.value) {
        (Op::In | Op::NotIn, Value::List(items)) => {
            buf.push(col)
                .push(if c.op == Op::In { " IN " } else { " NOT IN " });
            buf.bind_list(items.iter().cloned().map(Bind::Text));
        }
        (op, v) if op.is_string_cmp() => string_cmp(buf, col, op, str_value(v, &what)?),
        (op, _) => return Err(bad_op(op, &what)),
    }
    buf.push(")");
    Ok(())
}

/// Append ` AND <clause>` for every comparison of `filter`.
pub fn push_where(buf: &mut SqlBuf, t: &Target, comparisons: &[Comparison]) -> ApiResult<()> {
    for c in comparisons {
        buf.push(" AND ");
        match resolve(t, c.prefix.as_deref(), &c.key)? {
            Resolved::Attr(a) => attr_clause(buf, t, a, c)?,
            Resolved::Kv(kv) => kv_clause(buf, kv, c)?,
            Resolved::Dataset => dataset_clause(buf, t, c)?,
        }
    }
    Ok(())
}
