//! Every registered model (prompts left out) with its live versions, aliases, stages, scan status,
//! source-run metrics and EvalAI origin: what the dashboard, the index document and Swagger UI's
//! selector list. One read, a handful of queries, whatever the number of models.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::harvester::harvester_scans as hs;
use crate::db::schema::{
    latest_metrics as lm, model_versions as mv, registered_model_aliases as ra,
    registered_model_tags as rmt, registered_models as rm, tags as rt,
};
use crate::db_read;
use crate::error::ApiResult;
use crate::service::AppState;

pub struct Version {
    pub version: i64,
    pub stage: String,
    pub description: String,
    pub aliases: Vec<String>,
    /// The status that gates serving (an override first); `missing` when no scan was ever queued.
    pub status: String,
    pub run_id: Option<String>,
    pub metrics: Vec<(String, f64)>,
    /// `evalai.participant_team_name` (or the team id) and `evalai.submission_id` of the source run.
    pub team: Option<String>,
    pub submission: Option<String>,
}

impl Version {
    pub fn served(&self) -> bool {
        self.status == "passed"
    }
}

pub struct Model {
    pub name: String,
    pub description: String,
    pub versions: Vec<Version>,
}

type VersionRow = (String, i32, Option<String>, Option<String>, Option<String>);

pub fn list(st: &AppState) -> ApiResult<Vec<Model>> {
    // The models of the request's workspace (all of `default` with workspaces off).
    let ws = crate::workspace::effective();
    let (models, versions, aliases, scans, metrics, run_tags) = db_read!(st.db, |conn| {
        let prompts: Vec<String> = rmt::table
            .filter(rmt::workspace.eq(&*ws))
            .filter(
                rmt::key
                    .eq("mlflow.prompt.is_prompt")
                    .and(rmt::value.eq("true")),
            )
            .select(rmt::name)
            .load(conn)?;
        let models: Vec<(String, Option<String>)> = rm::table
            .filter(rm::workspace.eq(&*ws))
            .filter(rm::name.ne_all(&prompts))
            .order(rm::name)
            .select((rm::name, rm::description))
            .load(conn)?;
        let versions: Vec<VersionRow> = mv::table
            .filter(mv::workspace.eq(&*ws))
            .filter(mv::current_stage.ne(crate::service::registry_read::DELETED_STAGE))
            .filter(mv::name.ne_all(&prompts))
            .order((mv::name, mv::version.desc()))
            .select((
                mv::name,
                mv::version,
                mv::current_stage,
                mv::description,
                mv::run_id,
            ))
            .load(conn)?;
        let aliases: Vec<(String, String, i32)> = ra::table
            .filter(ra::workspace.eq(&*ws))
            .select((ra::name, ra::alias, ra::version))
            .load(conn)?;
        let scans: Vec<(String, i32, String, Option<String>)> = hs::table
            .filter(hs::workspace.eq(&*ws))
            .select((hs::name, hs::version, hs::status, hs::override_status))
            .load(conn)?;
        let runs: Vec<String> = versions.iter().filter_map(|v| v.4.clone()).collect();
        let metrics: Vec<(String, String, f64)> = lm::table
            .filter(lm::run_uuid.eq_any(&runs))
            .order((lm::run_uuid, lm::key))
            .select((lm::run_uuid, lm::key, lm::value))
            .load(conn)?;
        let run_tags: Vec<(String, String, Option<String>)> = rt::table
            .filter(rt::run_uuid.eq_any(&runs))
            .filter(rt::key.eq_any([
                "evalai.participant_team_name",
                "evalai.participant_team",
                "evalai.submission_id",
            ]))
            .select((rt::run_uuid, rt::key, rt::value))
            .load(conn)?;
        (models, versions, aliases, scans, metrics, run_tags)
    });
    let mut alias_of: HashMap<(String, i32), Vec<String>> = HashMap::new();
    for (n, a, v) in aliases {
        alias_of.entry((n, v)).or_default().push(a);
    }
    let scan_of: HashMap<(String, i32), String> = scans
        .into_iter()
        .map(|(n, v, s, o)| ((n, v), o.unwrap_or(s)))
        .collect();
    let mut metrics_of: HashMap<String, Vec<(String, f64)>> = HashMap::new();
    for (r, k, v) in metrics {
        metrics_of.entry(r).or_default().push((k, v));
    }
    let mut tags_of: HashMap<(String, String), String> = HashMap::new();
    for (r, k, v) in run_tags {
        tags_of.insert((r, k), v.unwrap_or_default());
    }
    let mut by_model: HashMap<String, Vec<Version>> = HashMap::new();
    for (name, version, stage, description, run_id) in versions {
        let mut al = alias_of
            .remove(&(name.clone(), version))
            .unwrap_or_default();
        al.sort();
        let tag = |k: &str| {
            run_id
                .as_ref()
                .and_then(|r| tags_of.get(&(r.clone(), k.to_string())).cloned())
        };
        let v = Version {
            version: version.into(),
            stage: stage.unwrap_or_else(|| "None".into()),
            description: description.unwrap_or_default(),
            aliases: al,
            status: scan_of
                .get(&(name.clone(), version))
                .cloned()
                .unwrap_or_else(|| "missing".into()),
            metrics: run_id
                .as_ref()
                .and_then(|r| metrics_of.get(r).cloned())
                .unwrap_or_default(),
            team: tag("evalai.participant_team_name").or_else(|| tag("evalai.participant_team")),
            submission: tag("evalai.submission_id"),
            run_id,
        };
        by_model.entry(name).or_default().push(v);
    }
    Ok(models
        .into_iter()
        .map(|(name, description)| Model {
            versions: by_model.remove(&name).unwrap_or_default(),
            name,
            description: description.unwrap_or_default(),
        })
        .collect())
}
