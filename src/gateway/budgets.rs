//! Gateway budget policies: a spending limit in a unit over a rolling window, for everyone, a workspace,
//! an endpoint or a user, that alerts or rejects. Harvester keeps them; with no invocation path, no
//! spending is metered against them yet.

use diesel::prelude::*;

use super::{delete_or_404, given, new_id, not_found};
use crate::db::schema::{budget_policies as bp, endpoints as ep};
use crate::error::{ApiError, ApiResult};
use crate::service::{now_ms, AppState};
use crate::types::gateway::{BudgetPolicy, CreateBudget, Duration, UpdateBudget};
use crate::types::requests::required;
use crate::{db_read, db_write};

const UNITS: &[&str] = &["USD"];
const DURATIONS: &[&str] = &["MINUTES", "HOURS", "DAYS", "WEEKS", "MONTHS"];
const SCOPES: &[&str] = &["GLOBAL", "WORKSPACE", "ENDPOINT", "USER"];
const ACTIONS: &[&str] = &["ALERT", "REJECT"];

type Row = (
    String,
    String,
    f64,
    String,
    i32,
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    i64,
    Option<String>,
);

macro_rules! columns {
    () => {
        (
            bp::budget_policy_id,
            bp::budget_unit,
            bp::budget_amount,
            bp::duration_unit,
            bp::duration_value,
            bp::target_scope,
            bp::budget_action,
            bp::created_by,
            bp::created_at,
            bp::last_updated_by,
            bp::last_updated_at,
            bp::target_value,
        )
    };
}

fn wire(r: Row) -> BudgetPolicy {
    BudgetPolicy {
        budget_policy_id: r.0,
        budget_unit: r.1,
        budget_amount: r.2,
        duration: Duration {
            unit: Some(r.3),
            value: Some(r.4.into()),
        },
        target_scope: r.5,
        budget_action: r.6,
        created_by: r.7.unwrap_or_default(),
        created_at: r.8,
        last_updated_by: r.9.unwrap_or_default(),
        last_updated_at: r.10,
        target_value: r.11,
    }
}

fn one_of<'a>(field: &str, v: &'a str, allowed: &[&str]) -> ApiResult<&'a str> {
    if allowed.contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::invalid(format!(
            "Invalid {field}: '{v}'. Must be one of: {}.",
            allowed.join(", ")
        )))
    }
}

fn duration(d: &Duration) -> ApiResult<(&str, i32)> {
    let unit = one_of("duration.unit", d.unit.as_deref().unwrap_or(""), DURATIONS)?;
    match d.value {
        Some(v) if v > 0 && v <= i64::from(i32::MAX) => Ok((unit, v as i32)),
        _ => Err(ApiError::invalid(
            "duration.value must be a positive integer.",
        )),
    }
}

/// ENDPOINT- and USER-scoped policies name their target; the others must not.
fn target(scope: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    match (matches!(scope, "ENDPOINT" | "USER"), value) {
        (true, None) => Err(ApiError::invalid(format!(
            "target_value is required when target_scope is {scope}."
        ))),
        (false, Some(_)) => Err(ApiError::invalid(
            "target_value can only be set when target_scope is ENDPOINT or USER.",
        )),
        (_, v) => Ok(v.map(str::to_string)),
    }
}

macro_rules! endpoint_must_exist {
    ($conn:expr, $scope:expr, $value:expr) => {
        if let ("ENDPOINT", Some(id)) = ($scope, $value) {
            let n: i64 = ep::table
                .find(id)
                .filter(ep::workspace.eq(crate::workspace::effective().to_string()))
                .count()
                .get_result($conn)?;
            if n == 0 {
                return Err(not_found("GatewayEndpoint", "endpoint_id", id));
            }
        }
    };
}

pub fn create(st: &AppState, req: &CreateBudget) -> ApiResult<BudgetPolicy> {
    let unit = one_of(
        "budget_unit",
        required(&req.budget_unit, "budget_unit")?,
        UNITS,
    )?;
    let amount = req
        .budget_amount
        .ok_or_else(|| ApiError::missing("budget_amount"))?;
    if !amount.is_finite() || amount < 0.0 {
        return Err(ApiError::invalid(
            "budget_amount must be a non-negative number.",
        ));
    }
    let (d_unit, d_value) = duration(
        req.duration
            .as_ref()
            .ok_or_else(|| ApiError::missing("duration"))?,
    )?;
    let scope = one_of(
        "target_scope",
        required(&req.target_scope, "target_scope")?,
        SCOPES,
    )?;
    let action = one_of(
        "budget_action",
        required(&req.budget_action, "budget_action")?,
        ACTIONS,
    )?;
    let value = target(scope, given(&req.target_value))?;
    let id = new_id("bp");
    let now = now_ms();
    let by = given(&req.created_by);
    db_write!(st.db, |conn| {
        endpoint_must_exist!(conn, scope, value.as_deref());
        diesel::insert_into(bp::table)
            .values((
                bp::workspace.eq(crate::workspace::effective().to_string()),
                bp::budget_policy_id.eq(&id),
                bp::budget_unit.eq(unit),
                bp::budget_amount.eq(amount),
                bp::duration_unit.eq(d_unit),
                bp::duration_value.eq(d_value),
                bp::target_scope.eq(scope),
                bp::budget_action.eq(action),
                bp::target_value.eq(&value),
                bp::created_by.eq(by),
                bp::created_at.eq(now),
                bp::last_updated_by.eq(by),
                bp::last_updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    get(st, &id)
}

pub fn get(st: &AppState, id: &str) -> ApiResult<BudgetPolicy> {
    let row: Option<Row> = db_read!(st.db, |conn| Ok::<_, ApiError>(
        bp::table
            .find(id)
            .filter(bp::workspace.eq(crate::workspace::effective().to_string()))
            .select(columns!())
            .first(conn)
            .optional()?
    ))?;
    row.map(wire)
        .ok_or_else(|| not_found("BudgetPolicy", "budget_policy_id", id))
}

pub fn update(st: &AppState, req: &UpdateBudget) -> ApiResult<BudgetPolicy> {
    let id = required(&req.budget_policy_id, "budget_policy_id")?;
    let cur = get(st, id)?;
    let unit = match given(&req.budget_unit) {
        Some(u) => one_of("budget_unit", u, UNITS)?.to_string(),
        None => cur.budget_unit,
    };
    let amount = req.budget_amount.unwrap_or(cur.budget_amount);
    if !amount.is_finite() || amount < 0.0 {
        return Err(ApiError::invalid(
            "budget_amount must be a non-negative number.",
        ));
    }
    let (d_unit, d_value) = match &req.duration {
        Some(d) => {
            let (u, v) = duration(d)?;
            (u.to_string(), v)
        }
        None => (
            cur.duration.unit.unwrap_or_default(),
            cur.duration.value.unwrap_or(1) as i32,
        ),
    };
    let scope = match given(&req.target_scope) {
        Some(s) => one_of("target_scope", s, SCOPES)?.to_string(),
        None => cur.target_scope.clone(),
    };
    // A new scope drops the old target; a new target replaces it.
    let kept = (scope == cur.target_scope)
        .then_some(cur.target_value)
        .flatten();
    let value = given(&req.target_value).map(str::to_string).or(kept);
    let value = match (matches!(scope.as_str(), "ENDPOINT" | "USER"), value) {
        (false, _) => None,
        (true, v) => target(&scope, v.as_deref())?,
    };
    let action = match given(&req.budget_action) {
        Some(a) => one_of("budget_action", a, ACTIONS)?.to_string(),
        None => cur.budget_action,
    };
    let now = now_ms();
    db_write!(st.db, |conn| {
        endpoint_must_exist!(conn, scope.as_str(), value.as_deref());
        diesel::update(bp::table.find(id))
            .set((
                bp::budget_unit.eq(&unit),
                bp::budget_amount.eq(amount),
                bp::duration_unit.eq(&d_unit),
                bp::duration_value.eq(d_value),
                bp::target_scope.eq(&scope),
                bp::target_value.eq(&value),
                bp::budget_action.eq(&action),
                bp::last_updated_at.eq(now),
            ))
            .execute(conn)?;
        if let Some(by) = given(&req.updated_by) {
            diesel::update(bp::table.find(id))
                .set(bp::last_updated_by.eq(by))
                .execute(conn)?;
        }
        Ok(())
    })?;
    get(st, id)
}

pub fn delete(st: &AppState, id: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        delete_or_404!(conn, bp, id, "BudgetPolicy", "budget_policy_id")
    })
}

/// A page of policies in id order; the token is the offset, as stock's.
pub fn list(
    st: &AppState,
    max_results: Option<i64>,
    token: Option<&str>,
) -> ApiResult<(Vec<BudgetPolicy>, Option<String>)> {
    let max = max_results.unwrap_or(1000);
    if !(1..=50_000).contains(&max) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max} for parameter 'max_results' supplied. It must be at most 50000 and positive."
        )));
    }
    let offset = crate::search::decode_page_token(token)?;
    let mut rows: Vec<Row> = db_read!(st.db, |conn| Ok::<_, ApiError>(
        bp::table
            .filter(bp::workspace.eq(crate::workspace::effective().to_string()))
            .select(columns!())
            .order(bp::budget_policy_id)
            .offset(offset)
            .limit(max + 1)
            .load(conn)?
    ))?;
    let next = crate::service::registry_search::page(&mut rows, max, offset);
    Ok((rows.into_iter().map(wire).collect(), next))
}
