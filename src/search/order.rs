//! ORDER BY for a search: `order_by` items compiled for a [`Target`], then its default and tie-breaker
//! columns. A sort key on a side table with one value per row is joined once (after
//! [`SqlBuf::mark_joins`]); when such a key leads the order, a search may run as two groups (the rows
//! that have the key, read in its index's order so that a page stops early, then the rows without it),
//! which together give the same order as the single query.

use super::parse::OrderItem;
use super::sql::{resolve, Bind, Resolved, SqlBuf};
use super::{KeyValue, Target};
use crate::error::{ApiError, ApiResult};

/// The alias of the leading key's table in a grouped search.
const LEAD: &str = "ob_lead";

/// `kv.join` with the alias `kv` renamed.
fn join_as(kv: &KeyValue, alias: &str) -> String {
    kv.join.replace("kv.", &format!("{alias}."))
}

/// Insert a join at the buffer's mark (after the tables already joined there).
fn insert_join(buf: &mut SqlBuf, at: usize, join: &str) {
    buf.sql.insert_str(at, join);
    buf.joins_at = Some(at + join.len());
}

/// The side table of the first `order_by` item when it can lead a grouped search: one value per row
/// (`metrics.m1`, `params.lr`, `tags.team`; not a logged model's metric history).
pub fn leading_key<'a>(t: &'a Target, items: &[OrderItem]) -> Option<&'a KeyValue> {
    let first = items.first()?;
    match resolve(t, first.prefix.as_deref(), &first.key).ok()? {
        Resolved::Kv(kv) if kv.orderable && kv.history.is_none() => Some(kv),
        _ => None,
    }
}

/// Restrict a marked search (see [`SqlBuf::mark_joins`]) to the rows that have a value for the leading
/// key `key` (`with`: an inner join, whose value [`push_order_by_in_group`] sorts by) or lack one (no
/// row, or a NULL value: the rows a single query sorts last). Appended where the WHERE clause goes on.
pub fn push_group(buf: &mut SqlBuf, kv: &KeyValue, key: &str, with: bool) {
    let at = buf.joins_at.filter(|_| with);
    if let Some(at) = at {
        let k = buf.placeholder(Bind::Text(key.to_string()));
        let join = format!(
            " JOIN {} {LEAD} ON {} AND {LEAD}.{} = {k} AND {LEAD}.{} IS NOT NULL",
            kv.table,
            join_as(kv, LEAD),
            kv.key_col,
            kv.value_col
        );
        insert_join(buf, at, &join);
        return;
    }
    buf.push(if with {
        " AND EXISTS ("
    } else {
        " AND NOT EXISTS ("
    })
    .push(&format!(
        "SELECT 1 FROM {} kv WHERE {} AND kv.{} IS NOT NULL AND kv.{} = ",
        kv.table, kv.join, kv.value_col, kv.key_col
    ))
    .bind(Bind::Text(key.to_string()))
    .push(")");
}

/// Append ` ORDER BY …` for `items`, then the target's default and tie-breaker columns. Rows missing a
/// key sort last whichever the direction.
pub fn push_order_by(buf: &mut SqlBuf, t: &Target, items: &[OrderItem]) -> ApiResult<()> {
    order_by(buf, t, items, None)
}

/// The ORDER BY of one group of a grouped search ([`push_group`]): the leading key's value (`with`) or
/// nothing (without it), then the rest as [`push_order_by`] has them.
pub fn push_order_by_in_group(
    buf: &mut SqlBuf,
    t: &Target,
    items: &[OrderItem],
    with: bool,
) -> ApiResult<()> {
    order_by(buf, t, items, Some(with))
}

fn order_by(
    buf: &mut SqlBuf,
    t: &Target,
    items: &[OrderItem],
    group: Option<bool>,
) -> ApiResult<()> {
    let mut seen: Vec<String> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let dir = if it.ascending { "ASC" } else { "DESC" };
        let ident = format!("{}.{}", it.prefix.as_deref().unwrap_or("attribute"), it.key);
        let bad = || ApiError::invalid(format!("Invalid order_by entity: '{}'", ident));
        let expr = match resolve(t, it.prefix.as_deref(), &it.key).map_err(|_| bad())? {
            Resolved::Attr(a) if a.orderable => {
                if seen.iter().any(|s| s == a.column) {
                    return Err(ApiError::invalid(format!(
                        "`order_by` contains duplicate fields: {}",
                        it.key
                    )));
                }
                seen.push(a.column.to_string());
                format!("{}.{}", t.table, a.column)
            }
            Resolved::Kv(kv) if kv.orderable => {
                if seen.contains(&ident) {
                    return Err(ApiError::invalid(format!(
                        "`order_by` contains duplicate fields: {ident}"
                    )));
                }
                seen.push(ident.clone());
                match group {
                    // The group's leading key: sorted by its joined value, or not at all (all missing).
                    Some(with) if i == 0 => {
                        if with && buf.joins_at.is_some() {
                            parts.push(format!("{LEAD}.{} {dir}", kv.value_col));
                        } else if with {
                            parts.push(kv_value(buf, kv, &it.key) + " " + dir);
                        }
                        continue;
                    }
                    _ => {}
                }
                if let (None, Some(at)) = (kv.history, buf.joins_at) {
                    // One value per key and row: a LEFT JOIN keeps rows without it (sorted last).
                    let alias = format!("ob{}", parts.len());
                    let key = buf.placeholder(Bind::Text(it.key.clone()));
                    let join = format!(
                        " LEFT JOIN {} {alias} ON {} AND {alias}.{} = {key}",
                        kv.table,
                        join_as(kv, &alias),
                        kv.key_col
                    );
                    insert_join(buf, at, &join);
                    let e = format!("{alias}.{}", kv.value_col);
                    parts.push(format!("({e} IS NULL) ASC, {e} {dir}"));
                    continue;
                }
                let e = kv_value(buf, kv, &it.key);
                parts.push(format!("({e} IS NULL) ASC, {e} {dir}"));
                continue;
            }
            _ => return Err(bad()),
        };
        parts.push(format!("({expr} IS NULL) ASC, {expr} {dir}"));
    }
    let asc = |a: bool| if a { "ASC" } else { "DESC" };
    if items.is_empty() {
        for (col, a) in t.default_order {
            seen.push(col.to_string());
            parts.push(format!("{}.{} {}", t.table, col, asc(*a)));
        }
    }
    for (col, a) in t.always_order {
        if !seen.iter().any(|s| s == col) {
            parts.push(format!("{}.{} {}", t.table, col, asc(*a)));
        }
    }
    buf.push(" ORDER BY ").push(&parts.join(", "));
    Ok(())
}

/// A subquery for the value of `key` on the searched row (the latest one, if the table keeps history).
fn kv_value(buf: &mut SqlBuf, kv: &KeyValue, key: &str) -> String {
    let k = buf.placeholder(Bind::Text(key.to_string()));
    let latest = kv
        .history
        .map(|h| format!(" ORDER BY {h} LIMIT 1"))
        .unwrap_or_default();
    format!(
        "(SELECT kv.{} FROM {} kv WHERE {} AND kv.{} = {k}{latest})",
        kv.value_col, kv.table, kv.join, kv.key_col
    )
}
