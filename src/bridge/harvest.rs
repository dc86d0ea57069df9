//! The pull of one submission (job `evalai.sync`): read its record from EvalAI, then bring its run up to
//! date (created once, found again by its tags after a crash), its params, tags, metrics and status, its
//! files once EvalAI has finished it, and its model as a registered version. Every step is idempotent,
//! so a pull that dies half-way is simply run again.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::mapping::{self as m, is_terminal};
use super::store::{self, Progress};
use super::{files, Inst, PhaseCtx};
use crate::error::{ApiError, ApiResult, ErrorCode};
pub(super) use crate::jobs::worker::blocking;
use crate::jobs::{Job, JobError, NewJob};
use crate::service::{experiments, runs, AppState};

pub const KIND: &str = "evalai.sync";

#[derive(Debug, Serialize, Deserialize)]
pub struct SyncJob {
    pub installation: String,
    pub submission_id: i64,
    /// The record as a poll read it from EvalAI's list (saves a request); `None`: fetch it.
    #[serde(default)]
    pub record: Option<Value>,
}

/// The pull of submission `id`; one per submission runs at a time, and queued ones merge.
pub fn job(installation: &str, id: i64, record: Option<Value>) -> NewJob {
    NewJob::new(
        KIND,
        json!(SyncJob {
            installation: installation.into(),
            submission_id: id,
            record
        }),
    )
    .key(format!("evalai:{installation}:{id}"))
}

/// An MLflow request built as its JSON body, as a client would send it.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| ApiError::internal(format!("bridge request: {e}")))
}

pub async fn run(st: Arc<AppState>, job: Job) -> Result<(), JobError> {
    let p: SyncJob = job.payload()?;
    let bridge = st
        .bridge
        .clone()
        .ok_or_else(|| JobError::retry("the EvalAI bridge is not configured in this process"))?;
    let inst = bridge.get(&p.installation).ok_or_else(|| {
        JobError::permanent(format!(
            "no EvalAI installation '{}' is configured",
            p.installation
        ))
    })?;
    let out = pull(&st, &bridge, &inst, &p).await;
    if let Err(e) = &out {
        let (db, name, id, msg, perm) = (
            st.db.clone(),
            p.installation.clone(),
            p.submission_id,
            e.message.clone(),
            e.permanent || job.attempts >= job.max_attempts,
        );
        let _ = blocking(move || store::record_failure(&db, &name, id, &msg, perm)).await;
        tracing::warn!(
            evalai.submission_id = p.submission_id,
            "pull failed: {}",
            e.message
        );
    }
    out
}

async fn pull(
    st: &Arc<AppState>,
    bridge: &super::Bridge,
    inst: &Inst,
    p: &SyncJob,
) -> Result<(), JobError> {
    let id = p.submission_id;
    let name = inst.cfg.name.clone();
    let record = match &p.record {
        Some(r) => r.clone(),
        None => match inst.client.get(&format!("/api/jobs/submission/{id}")).await {
            // A signal can come before EvalAI's API shows the submission: try again later.
            Err(super::client::EvalaiError::Status(404, _)) => {
                return Err(JobError::retry(format!(
                    "EvalAI has no submission {id} (yet): 404"
                )))
            }
            r => r?,
        },
    };
    if record.get("id").and_then(Value::as_i64) != Some(id) {
        return Err(JobError::permanent(format!(
            "EvalAI's record of submission {id} carries another id"
        )));
    }
    let phase_id = record
        .get("challenge_phase")
        .and_then(Value::as_i64)
        .ok_or_else(|| JobError::permanent("the record has no challenge_phase id"))?;
    let (db, n) = (st.db.clone(), name.clone());
    let row = blocking(move || store::seen(&db, &n, id)).await?;
    let Some(phase) = inst.phase(phase_id).await? else {
        return Err(JobError::permanent(format!(
            "phase {phase_id} is not part of a challenge configured for '{name}' (challenges {:?})",
            inst.cfg.challenges
        )));
    };
    let status = record
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("submitted")
        .to_string();
    let exp = experiment(st, bridge, &name, &phase).await?;
    let run_id = ensure_run(st, &name, &exp, row.run_id.as_deref(), &record).await?;

    let mut metrics = store::pending(&row);
    if matches!(status.as_str(), "finished" | "partially_evaluated") {
        metrics.extend(inst.leaderboard(&phase, id).await?);
    }
    if let Some(t) = record.get("execution_time").and_then(Value::as_f64) {
        metrics.push(("execution_time_s".into(), t));
    }
    let at = record
        .get("completed_at")
        .and_then(m::millis)
        .unwrap_or_else(crate::service::now_ms);
    let started = record.get("started_at").and_then(m::millis);
    log_data(
        st,
        &run_id,
        started,
        m::params(&record["submission_metadata"]),
        m::tags(&name, &record),
        metrics,
        at,
    )
    .await?;
    let end = is_terminal(&status).then_some(at);
    let update =
        from_json(json!({"run_id": run_id, "status": m::run_status(&status), "end_time": end}))?;
    let s2 = st.clone();
    blocking(move || runs::update(&s2, &update).map(|_| ())).await?;

    let mut state = if is_terminal(&status) {
        "logged"
    } else {
        "pulled"
    };
    let mut model = None;
    let mut warning = None;
    let done_before = row.evalai_status.as_deref() == Some(status.as_str())
        && matches!(row.state.as_str(), "logged" | "registered");
    if is_terminal(&status) && !done_before {
        let fetched = files::fetch(st, inst, &run_id, &record).await?;
        warning = fetched.warning;
        if status == "finished" && row.model_version.is_none() {
            if let Some(pkg) = fetched.input {
                let reg = files::Registration {
                    model_name: super::config::model_name(
                        &inst.cfg.registered_model,
                        &[
                            ("challenge_slug", phase.challenge_slug.clone()),
                            ("challenge_id", phase.challenge_id.to_string()),
                            ("phase_codename", phase.codename.clone()),
                            ("installation", name.clone()),
                        ],
                    ),
                    installation: name.clone(),
                    submission_id: id,
                    experiment_id: exp.clone(),
                    run_id: run_id.clone(),
                };
                match files::register(st, &reg, pkg).await? {
                    files::Registered::Version(v) => model = Some((reg.model_name.clone(), v)),
                    files::Registered::NotAModel(why) => {
                        tracing::info!(
                            evalai.submission_id = id,
                            "input file is not a model package: {why}"
                        );
                        // Said on the run, where the host looks for the model that did not appear.
                        let (s, tag) = (
                            st.clone(),
                            from_json(
                                json!({"run_id": run_id, "key": "harvester.evalai.model_error", "value": why}),
                            )?,
                        );
                        blocking(move || runs::set_tag(&s, &tag)).await?;
                    }
                }
            }
        }
    }
    if (row.model_version.is_some() || model.is_some()) && status == "finished" {
        state = "registered";
    }
    let (db, n, ch) = (st.db.clone(), name.clone(), phase.challenge_id);
    let (run, stat) = (run_id.clone(), status.clone());
    let clear = row.pending_metrics.clone();
    blocking(move || {
        store::record(
            &db,
            &n,
            id,
            &Progress {
                challenge_id: Some(ch),
                phase_id: Some(phase_id),
                evalai_status: Some(&stat),
                run_id: Some(&run),
                state: Some(state),
                model: model.as_ref().map(|(a, b)| (a.as_str(), *b)),
                clear_pending: clear,
                warning,
                clear_error: !done_before,
            },
        )
    })
    .await?;
    tracing::info!(evalai.submission_id = id, run_id = %run_id, state, evalai.status = %status, "submission harvested");
    Ok(())
}

/// The phase's experiment `evalai/<challenge slug>/<phase codename>`, created with its tags if missing.
async fn experiment(
    st: &Arc<AppState>,
    bridge: &super::Bridge,
    inst: &str,
    phase: &PhaseCtx,
) -> ApiResult<String> {
    let name = format!("evalai/{}/{}", phase.challenge_slug, phase.codename);
    if let Some(id) = bridge
        .experiments
        .lock()
        .ok()
        .and_then(|m| m.get(&name).cloned())
    {
        return Ok(id);
    }
    let (s, n) = (st.clone(), name.clone());
    let tags = json!([
        {"key": "evalai.challenge_id", "value": phase.challenge_id.to_string()},
        {"key": "evalai.phase_id", "value": phase.phase_id.to_string()},
        {"key": "evalai.installation", "value": inst},
    ]);
    let id = blocking(move || match experiments::get_by_name(&s, &n) {
        Ok(e) => Ok(e.experiment_id),
        Err(e) if e.code == ErrorCode::RESOURCE_DOES_NOT_EXIST => {
            match experiments::create(&s, &from_json(json!({"name": n, "tags": tags}))?) {
                Ok(id) => Ok(id),
                // Another pull created it meanwhile; on SQLite its group commit may still be under way.
                Err(e) if e.code == ErrorCode::RESOURCE_ALREADY_EXISTS => {
                    for _ in 0..100 {
                        if let Ok(e) = experiments::get_by_name(&s, &n) {
                            return Ok(e.experiment_id);
                        }
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(ApiError::new(
                        ErrorCode::TEMPORARILY_UNAVAILABLE,
                        format!("experiment '{n}' exists but cannot be read yet"),
                    ))
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    })
    .await?;
    if let Ok(mut m) = bridge.experiments.lock() {
        m.insert(name, id.clone());
    }
    Ok(id)
}

/// The submission's run: the one on its row, else one tagged with its id (a pull that crashed after
/// creating it), else a new one.
async fn ensure_run(
    st: &Arc<AppState>,
    inst: &str,
    exp: &str,
    known: Option<&str>,
    record: &Value,
) -> ApiResult<String> {
    if let Some(r) = known {
        return Ok(r.to_string());
    }
    let id = record["id"].as_i64().unwrap_or_default();
    let search = from_json(json!({
        "experiment_ids": [exp],
        "filter": format!("tags.`evalai.submission_id` = '{id}' and tags.`evalai.installation` = '{}'", inst.replace('\'', "")),
        "run_view_type": "ALL",
        "max_results": 1,
    }))?;
    let start = record
        .get("started_at")
        .and_then(m::millis)
        .or_else(|| record.get("submitted_at").and_then(m::millis));
    let create = from_json(json!({
        "experiment_id": exp,
        "run_name": m::run_name(record),
        "start_time": start,
        "user_id": record.get("participant_team_name").and_then(m::text),
        "tags": [
            {"key": "evalai.installation", "value": inst},
            {"key": "evalai.submission_id", "value": id.to_string()},
        ],
    }))?;
    let s = st.clone();
    blocking(move || {
        let (found, _) = runs::search(&s, &search, &crate::auth::visible::Visible::All)?;
        match found.into_iter().next() {
            Some(r) => Ok(r.info.run_id),
            None => Ok(runs::create(&s, &create)?.info.run_id),
        }
    })
    .await
}

/// The start EvalAI reports (a run made while the submission was queued starts at its submission), params
/// not yet on the run (MLflow params never change), every tag, and metrics whose latest value differs, in
/// batches within MLflow's limits.
async fn log_data(
    st: &Arc<AppState>,
    run_id: &str,
    started: Option<i64>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    metrics: Vec<(String, f64)>,
    at: i64,
) -> ApiResult<()> {
    let (s, r) = (st.clone(), run_id.to_string());
    blocking(move || {
        let run = runs::get(&s, &r)?;
        if let Some(t) = started.filter(|t| *t != run.info.start_time) {
            runs::set_start_time(&s, &r, t)?;
        }
        let have_params: std::collections::HashMap<&str, &str> =
            run.data.params.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
        let have_metrics: std::collections::HashMap<&str, f64> =
            run.data.metrics.iter().map(|m| (m.key.as_str(), m.value)).collect();
        let params: Vec<Value> = params
            .iter()
            .filter(|(k, v)| match have_params.get(k.as_str()) {
                None => true,
                Some(old) if old != v => {
                    tracing::warn!(run_id = %r, param = %k, "EvalAI changed a hyperparameter; MLflow params cannot change, the first value stays");
                    false
                }
                Some(_) => false,
            })
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let metrics: Vec<Value> = metrics
            .iter()
            .filter(|(k, v)| have_metrics.get(k.as_str()) != Some(v))
            .map(|(k, v)| json!({"key": k, "value": v, "timestamp": at, "step": 0}))
            .collect();
        let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        for (i, chunk) in params.chunks(100).enumerate() {
            let batch = from_json(json!({
                "run_id": r, "params": chunk,
                "tags": if i == 0 { tags.clone() } else { vec![] },
                "metrics": if i == 0 { metrics.clone() } else { vec![] },
            }))?;
            runs::log_batch(&s, &batch)?;
        }
        if params.is_empty() {
            runs::log_batch(&s, &from_json(json!({"run_id": r, "tags": tags, "metrics": metrics}))?)?;
        }
        Ok(())
    })
    .await
}
