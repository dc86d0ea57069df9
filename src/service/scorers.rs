//! Scorers (MLflow 3's GenAI judges): numbered versions of a serialized scorer, registered per experiment,
//! in MLflow's `scorers` and `scorer_versions` tables. Harvester stores and returns them and never runs
//! one; a scorer carrying custom code (`call_source`) is refused as stock refuses it, unless
//! `MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS` is true.

use diesel::prelude::*;
use serde_json::Value;

use super::validation::parse_experiment_id;
use super::{now_ms, AppState};
use crate::db::schema::{
    experiments as ex, online_scoring_configs as osc, scorer_versions as sv, scorers as sc,
};
use crate::error::{ApiError, ApiResult};
use crate::types::scorers::{OnlineScoringConfig, Scorer};
use crate::{db_read, db_write};

fn not_found(name: &str, experiment_id: i64, version: Option<i64>) -> ApiError {
    ApiError::not_found(match version {
        Some(v) => format!(
            "Scorer with name '{name}' and version {v} not found for experiment {experiment_id}."
        ),
        None => format!("Scorer with name '{name}' not found for experiment {experiment_id}."),
    })
}

const CUSTOM_BLOCKED: &str = "Custom scorer registration (using @scorer decorator) is disabled by \
    default outside of Databricks tracking environments due to security concerns. Custom scorers require \
    arbitrary code execution during deserialization.\n\nTo use custom scorers:\n1. Configure MLflow to use a \
    Databricks tracking URI, or\n2. Manage your custom scorer code in a source code repository (e.g., GitHub) \
    and import it directly, or\n3. On a self-managed MLflow server (or local environment) that you trust to \
    run the scorer's code, set the MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS environment variable to true, or\n4. \
    Use built-in scorers or make_judge() scorers instead.";

/// Whether a serialized scorer (or a scorer nested in it, as in an ensemble) carries code.
fn has_call_source(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.get("call_source").is_some_and(|c| !c.is_null()) || m.values().any(has_call_source)
        }
        Value::Array(a) => a.iter().any(has_call_source),
        _ => false,
    }
}

fn custom_scorers_enabled() -> bool {
    std::env::var("MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"))
}

/// Stock's checks of a payload: valid JSON, and no custom code unless an operator allowed it.
pub fn validate_payload(serialized: &str) -> ApiResult<()> {
    let v: Value = serde_json::from_str(serialized)
        .map_err(|_| ApiError::invalid("serialized_scorer must be valid JSON"))?;
    if has_call_source(&v) && !custom_scorers_enabled() {
        return Err(ApiError::invalid(CUSTOM_BLOCKED));
    }
    Ok(())
}

type Row = (i32, String, String, i32, String, Option<i64>);

fn wire(r: Row) -> Scorer {
    let (experiment_id, scorer_name, scorer_id, scorer_version, serialized_scorer, created) = r;
    Scorer {
        experiment_id: experiment_id.into(),
        scorer_name,
        scorer_version,
        serialized_scorer,
        creation_time: created.unwrap_or_default(),
        scorer_id,
    }
}

macro_rules! scorer_rows {
    () => {
        sc::table.inner_join(sv::table).select((
            sc::experiment_id,
            sc::scorer_name,
            sc::scorer_id,
            sv::scorer_version,
            sv::serialized_scorer,
            sv::creation_time,
        ))
    };
}

/// Add a version (the scorer is created by its first): 1, 2, ….
pub fn register(
    st: &AppState,
    experiment_id: &str,
    name: &str,
    serialized: &str,
) -> ApiResult<Scorer> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid(
            "Scorer name cannot be empty or contain only whitespace.",
        ));
    }
    validate_payload(serialized)?;
    let exp = parse_experiment_id(experiment_id)?;
    let now = now_ms();
    let (scorer_id, version) = db_write!(st.db, |conn| {
        active_experiment!(conn, exp)?;
        let e = crate::db::columns::Int32::from(exp).0;
        let existing: Option<String> = sc::table
            .filter(sc::experiment_id.eq(e).and(sc::scorer_name.eq(name)))
            .select(sc::scorer_id)
            .first(conn)
            .optional()?;
        let scorer_id = match existing {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                diesel::insert_into(sc::table)
                    .values((
                        sc::experiment_id.eq(e),
                        sc::scorer_name.eq(name),
                        sc::scorer_id.eq(&id),
                    ))
                    .execute(conn)?;
                id
            }
        };
        let last: Option<i32> = sv::table
            .filter(sv::scorer_id.eq(&scorer_id))
            .select(diesel::dsl::max(sv::scorer_version))
            .first(conn)?;
        let version = last.unwrap_or(0) + 1;
        diesel::insert_into(sv::table)
            .values((
                sv::scorer_id.eq(&scorer_id),
                sv::scorer_version.eq(version),
                sv::serialized_scorer.eq(serialized),
                sv::creation_time.eq(Some(now)),
            ))
            .execute(conn)?;
        Ok((scorer_id, version))
    })?;
    Ok(Scorer {
        experiment_id: exp,
        scorer_name: name.to_string(),
        scorer_version: version,
        serialized_scorer: serialized.to_string(),
        creation_time: now,
        scorer_id,
    })
}

/// One version (the latest when `version` is `None`).
pub fn get(
    st: &AppState,
    experiment_id: &str,
    name: &str,
    version: Option<i64>,
) -> ApiResult<Scorer> {
    let exp = parse_experiment_id(experiment_id)?;
    let e = crate::db::columns::Int32::from(exp).0;
    let row: Option<Row> = db_read!(st.db, |conn| {
        fetch_experiment!(conn, exp)?;
        let q = scorer_rows!().filter(sc::experiment_id.eq(e).and(sc::scorer_name.eq(name)));
        Ok::<_, ApiError>(match version {
            Some(v) => q
                .filter(sv::scorer_version.eq(crate::db::columns::Int32::from(v).0))
                .first(conn)
                .optional()?,
            None => q.order(sv::scorer_version.desc()).first(conn).optional()?,
        })
    })?;
    row.map(wire).ok_or_else(|| not_found(name, exp, version))
}

/// Every version of one scorer, oldest first.
pub fn versions(st: &AppState, experiment_id: &str, name: &str) -> ApiResult<Vec<Scorer>> {
    let exp = parse_experiment_id(experiment_id)?;
    let e = crate::db::columns::Int32::from(exp).0;
    let rows: Vec<Row> = db_read!(st.db, |conn| {
        fetch_experiment!(conn, exp)?;
        Ok::<_, ApiError>(
            scorer_rows!()
                .filter(sc::experiment_id.eq(e).and(sc::scorer_name.eq(name)))
                .order(sv::scorer_version.asc())
                .load(conn)?,
        )
    })?;
    if rows.is_empty() {
        return Err(not_found(name, exp, None));
    }
    Ok(rows.into_iter().map(wire).collect())
}

/// The latest version of every scorer of the given experiments (of every active experiment when none
/// are given), by experiment and name; the caller filters by permission.
pub fn list(st: &AppState, experiment_ids: &[String]) -> ApiResult<Vec<Scorer>> {
    let ids: Vec<i32> = experiment_ids
        .iter()
        .map(|i| parse_experiment_id(i).map(|n| crate::db::columns::Int32::from(n).0))
        .collect::<ApiResult<_>>()?;
    let rows: Vec<Row> = db_read!(st.db, |conn| {
        let mut q = scorer_rows!()
            .inner_join(ex::table.on(ex::experiment_id.eq(sc::experiment_id)))
            .filter(ex::lifecycle_stage.eq("active"))
            .into_boxed();
        if !ids.is_empty() {
            q = q.filter(sc::experiment_id.eq_any(&ids));
        }
        Ok::<_, ApiError>(
            q.order((
                sc::experiment_id,
                sc::scorer_name,
                sv::scorer_version.desc(),
            ))
            .load(conn)?,
        )
    })?;
    let mut out: Vec<Scorer> = Vec::new();
    for r in rows.into_iter().map(wire) {
        let newest = out
            .last()
            .is_none_or(|l| (l.experiment_id, &l.scorer_name) != (r.experiment_id, &r.scorer_name));
        if newest {
            out.push(r);
        }
    }
    Ok(out)
}

/// Delete one version, or (without `version`) the scorer and all its versions.
pub fn delete(
    st: &AppState,
    experiment_id: &str,
    name: &str,
    version: Option<i64>,
) -> ApiResult<()> {
    let exp = parse_experiment_id(experiment_id)?;
    let e = crate::db::columns::Int32::from(exp).0;
    db_write!(st.db, |conn| {
        active_experiment!(conn, exp)?;
        let scorer_id: String = sc::table
            .filter(sc::experiment_id.eq(e).and(sc::scorer_name.eq(name)))
            .select(sc::scorer_id)
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(name, exp, None))?;
        let versions = sv::table.filter(sv::scorer_id.eq(&scorer_id));
        let n = match version {
            Some(v) => diesel::delete(
                versions.filter(sv::scorer_version.eq(crate::db::columns::Int32::from(v).0)),
            )
            .execute(conn)?,
            None => diesel::delete(versions).execute(conn)?,
        };
        if n == 0 {
            return Err(not_found(name, exp, version));
        }
        if version.is_none() {
            diesel::delete(sc::table.find(&scorer_id)).execute(conn)?;
        }
        Ok(())
    })
}

/// The online-scoring configurations of these scorers (none for a scorer without one). Harvester does
/// not create them yet (that needs the AI gateway); a database made by stock keeps and shows its own.
pub fn online_configs(st: &AppState, scorer_ids: &[String]) -> ApiResult<Vec<OnlineScoringConfig>> {
    if scorer_ids.is_empty() {
        return Ok(Vec::new());
    }
    type ConfigRow = (String, String, f64, i32, Option<String>);
    let rows: Vec<ConfigRow> = db_read!(st.db, |conn| Ok::<_, ApiError>(
        osc::table
            .filter(osc::scorer_id.eq_any(scorer_ids))
            .select((
                osc::online_scoring_config_id,
                osc::scorer_id,
                osc::sample_rate,
                osc::experiment_id,
                osc::filter_string,
            ))
            .load(conn)?
    ))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, scorer_id, sample_rate, e, filter_string)| OnlineScoringConfig {
                online_scoring_config_id: id,
                scorer_id,
                sample_rate,
                experiment_id: e.to_string(),
                filter_string,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_code_is_found_anywhere_in_the_payload() {
        let nested = r#"{"ensemble_scorer_data": {"scorers": [{"name": "a"}, {"call_source": "import os"}]}}"#;
        assert!(has_call_source(&serde_json::from_str(nested).unwrap()));
        let none = r#"{"name": "s", "call_source": null, "builtin_scorer_class": "Safety"}"#;
        assert!(!has_call_source(&serde_json::from_str(none).unwrap()));
        assert!(validate_payload("not json").is_err());
    }
}
