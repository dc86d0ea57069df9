//! The poller (job `evalai.poll`, one per challenge, so exactly one replica polls a challenge at a
//! time): new submissions since the stored watermark (less an overlap), plus a re-check of every known
//! submission EvalAI has not finished; then the next poll is queued. A restart or an EvalAI outage loses
//! nothing: the watermark only moves after the pulls it found are queued.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::harvest::{self, blocking};
use super::mapping::millis;
use super::store;
use super::Inst;
use crate::jobs::{Job, JobError, NewJob};
use crate::service::AppState;

pub const KIND: &str = "evalai.poll";

/// Submissions submitted this long before the watermark are listed again, for clock skew and for
/// submissions committed out of order.
const OVERLAP_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Serialize, Deserialize)]
pub struct PollJob {
    pub installation: String,
    pub challenge: i64,
}

pub fn job(installation: &str, challenge: i64, delay: Duration) -> NewJob {
    let mut j = NewJob::new(
        KIND,
        json!(PollJob {
            installation: installation.into(),
            challenge
        }),
    )
    .key(format!("evalai:{installation}:poll:{challenge}"))
    .delay(delay);
    j.max_attempts = 1_000_000;
    j
}

pub async fn run(st: Arc<AppState>, job: Job) -> Result<(), JobError> {
    let p: PollJob = job.payload()?;
    let inst = st
        .bridge
        .as_ref()
        .and_then(|b| b.get(&p.installation))
        .ok_or_else(|| {
            JobError::permanent(format!("no EvalAI installation '{}'", p.installation))
        })?;
    let found = scan(&st, &inst, p.challenge, false).await?;
    tracing::debug!(evalai.installation = %p.installation, evalai.challenge = p.challenge, queued = found, "polled");
    let next = job_after(&inst, p.challenge);
    let s = st.clone();
    blocking(move || s.jobs.enqueue(&next)).await?;
    Ok(())
}

fn job_after(inst: &Inst, challenge: i64) -> NewJob {
    job(&inst.cfg.name, challenge, inst.cfg.poll_interval)
}

fn iso(ms: i64) -> String {
    aws_sdk_s3::primitives::DateTime::from_millis(ms)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// List the challenge's submissions (all of them when `full`, else since the watermark) and queue a
/// pull for each that is new or changed, and for each known unfinished one; how many were queued.
pub async fn scan(
    st: &Arc<AppState>,
    inst: &Inst,
    challenge: i64,
    full: bool,
) -> Result<usize, JobError> {
    let name = inst.cfg.name.clone();
    let (db, n) = (st.db.clone(), name.clone());
    let mark = blocking(move || store::watermark(&db, &n, challenge)).await?;
    let since = if full {
        None
    } else {
        mark.as_deref()
            .and_then(|m| millis(&Value::String(m.into())))
    };
    let path = match since {
        Some(ms) => format!(
            "/api/jobs/challenge/{challenge}/submission/?submitted_after={}",
            percent_encoding::utf8_percent_encode(
                &iso(ms - OVERLAP_MS),
                percent_encoding::NON_ALPHANUMERIC
            )
        ),
        None => format!("/api/jobs/challenge/{challenge}/submission/"),
    };
    let list = inst.client.get_all(&path).await?;
    let mut newest = since;
    let mut listed = std::collections::HashSet::new();
    let mut queued = 0;
    for rec in list {
        let Some(id) = rec.get("id").and_then(Value::as_i64) else {
            continue;
        };
        listed.insert(id);
        if let Some(t) = rec.get("submitted_at").and_then(millis) {
            newest = Some(newest.map_or(t, |n| n.max(t)));
        }
        let status = rec
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (db, n) = (st.db.clone(), name.clone());
        let known = blocking(move || store::get(&db, &n, id)).await?;
        let changed = match &known {
            None => true,
            Some(k) => k.evalai_status != status || k.state == "queued",
        };
        if changed {
            let (db, n, j) = (
                st.db.clone(),
                name.clone(),
                harvest::job(&name, id, Some(rec)),
            );
            blocking(move || store::signal(&db, &n, id, &[], &j)).await?;
            queued += 1;
        }
    }
    let (db, n) = (st.db.clone(), name.clone());
    let unfinished = blocking(move || store::unfinished(&db, &n, challenge)).await?;
    for id in unfinished.into_iter().filter(|id| !listed.contains(id)) {
        let (db, n, j) = (st.db.clone(), name.clone(), harvest::job(&name, id, None));
        blocking(move || store::signal(&db, &n, id, &[], &j)).await?;
        queued += 1;
    }
    if queued > 0 {
        st.jobs.wake();
    }
    let mark = newest.map(iso);
    let (db, n) = (st.db.clone(), name.clone());
    blocking(move || store::set_watermark(&db, &n, challenge, mark.as_deref())).await?;
    Ok(queued)
}

/// `harvester evalai sync --challenge N`: queue a pull of every submission of the challenge, wait until
/// the queue has none left, and say how they stand.
pub async fn backfill(
    st: &Arc<AppState>,
    challenge: i64,
    installation: Option<&str>,
) -> Result<String, String> {
    let bridge = st
        .bridge
        .clone()
        .ok_or("no --evalai-config: there is no EvalAI installation to sync from")?;
    let mut names: Vec<&str> = bridge
        .names()
        .filter(|n| installation.is_none_or(|i| i == *n))
        .filter(|n| {
            bridge
                .get(n)
                .is_some_and(|i| i.cfg.challenges.contains(&challenge))
        })
        .collect();
    names.sort();
    let name = match names.as_slice() {
        [one] => one.to_string(),
        [] => {
            return Err(format!(
                "no configured installation lists challenge {challenge}"
            ))
        }
        _ => {
            return Err(format!(
            "several installations list challenge {challenge} ({}); pick one with --installation",
            names.join(", ")
        ))
        }
    };
    let inst = bridge.get(&name).ok_or("installation vanished")?;
    let queued = scan(st, &inst, challenge, true)
        .await
        .map_err(|e| e.message)?;
    loop {
        let s = st.clone();
        let left = blocking(move || s.jobs.pending(harvest::KIND))
            .await
            .map_err(|e| e.message)?;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (db, n) = (st.db.clone(), name.clone());
    let counts = blocking(move || store::states(&db, &n, challenge))
        .await
        .map_err(|e| e.message)?;
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    Ok(format!("evalai sync: installation '{name}', challenge {challenge}: {queued} pulls queued; submissions: {}", summary.join(", ")))
}
