//! What a submission's phase means: its challenge's slug, the phase codename, the leaderboard splits
//! with their labels, and the leaderboard figures per submission. Read from EvalAI and cached briefly,
//! so that a backfill of thousands of submissions costs a handful of requests, not thousands.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::EvalaiError;
use super::mapping::{key, split_codename};
use super::Inst;

#[derive(Debug, Clone)]
pub struct Split {
    pub id: i64,
    pub codename: String,
    pub labels: Vec<String>,
}

/// A phase of a configured challenge.
#[derive(Debug, Clone)]
pub struct PhaseCtx {
    pub challenge_id: i64,
    pub challenge_slug: String,
    pub phase_id: i64,
    pub codename: String,
    pub splits: Vec<Split>,
}

type Figures = HashMap<i64, Vec<(String, f64)>>;

#[derive(Default)]
pub struct Cache {
    phases: Mutex<HashMap<i64, Arc<PhaseCtx>>>,
    loaded: Mutex<HashMap<i64, Instant>>,
    boards: Mutex<HashMap<i64, (Instant, Arc<Figures>)>>,
    /// 0 unknown, 1 the token is staff (raw leaderboard data), 2 it is not.
    staff: AtomicU8,
}

const CONTEXT_TTL: Duration = Duration::from_secs(60);
const BOARD_TTL: Duration = Duration::from_secs(5);

impl Inst {
    /// The phase `phase_id`, if it belongs to a configured challenge.
    pub async fn phase(&self, phase_id: i64) -> Result<Option<Arc<PhaseCtx>>, EvalaiError> {
        if let Some(p) = self.cache.phases.lock().map_err(poisoned)?.get(&phase_id) {
            return Ok(Some(p.clone()));
        }
        for ch in &self.cfg.challenges {
            let fresh = self
                .cache
                .loaded
                .lock()
                .map_err(poisoned)?
                .get(ch)
                .is_some_and(|t| t.elapsed() < CONTEXT_TTL);
            if !fresh {
                self.load_challenge(*ch).await?;
            }
        }
        Ok(self
            .cache
            .phases
            .lock()
            .map_err(poisoned)?
            .get(&phase_id)
            .cloned())
    }

    pub async fn load_challenge(&self, ch: i64) -> Result<(), EvalaiError> {
        let challenge = self
            .client
            .get(&format!("/api/challenges/challenge/{ch}/"))
            .await?;
        let slug = challenge
            .get("slug")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("challenge-{ch}"));
        let phases = self
            .client
            .get_all(&format!("/api/challenges/challenge/{ch}/challenge_phase"))
            .await?;
        let splits = self
            .client
            .get_all(&format!("/api/challenges/{ch}/challenge_phase_split"))
            .await?;
        let mut map = self.cache.phases.lock().map_err(poisoned)?;
        for p in phases {
            let Some(pid) = p.get("id").and_then(Value::as_i64) else {
                continue;
            };
            let codename = p
                .get("codename")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("phase-{pid}"));
            let splits = splits
                .iter()
                .filter(|s| s.get("challenge_phase").and_then(Value::as_i64) == Some(pid))
                .filter_map(|s| {
                    Some(Split {
                        id: s.get("id")?.as_i64()?,
                        codename: split_codename(
                            s.get("dataset_split_name")
                                .and_then(Value::as_str)
                                .unwrap_or("split"),
                        ),
                        labels: s
                            .pointer("/leaderboard_schema/labels")
                            .and_then(Value::as_array)
                            .map(|l| {
                                l.iter()
                                    .filter_map(|x| x.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect();
            map.insert(
                pid,
                Arc::new(PhaseCtx {
                    challenge_id: ch,
                    challenge_slug: slug.clone(),
                    phase_id: pid,
                    codename,
                    splits,
                }),
            );
        }
        drop(map);
        self.cache
            .loaded
            .lock()
            .map_err(poisoned)?
            .insert(ch, Instant::now());
        Ok(())
    }

    /// The leaderboard figures of submission `id` in every split of its phase, keyed `<split>.<label>`:
    /// from the staff-only raw data where the token allows, else from the host's all-entries board.
    pub async fn leaderboard(
        &self,
        phase: &PhaseCtx,
        id: i64,
    ) -> Result<Vec<(String, f64)>, EvalaiError> {
        let mut out = Vec::new();
        for split in &phase.splits {
            let cached = self
                .cache
                .boards
                .lock()
                .map_err(poisoned)?
                .get(&split.id)
                .cloned();
            let figures = match cached {
                Some((at, f))
                    if at.elapsed() < BOARD_TTL
                        && (f.contains_key(&id) || at.elapsed() < Duration::from_millis(500)) =>
                {
                    f
                }
                _ => {
                    let f = Arc::new(self.board(split).await?);
                    self.cache
                        .boards
                        .lock()
                        .map_err(poisoned)?
                        .insert(split.id, (Instant::now(), f.clone()));
                    f
                }
            };
            if let Some(m) = figures.get(&id) {
                out.extend(m.iter().cloned());
            }
        }
        Ok(out)
    }

    async fn board(&self, split: &Split) -> Result<Figures, EvalaiError> {
        let mut figures = Figures::new();
        if self.cache.staff.load(Ordering::Relaxed) != 2 {
            match self
                .client
                .get_all(&format!(
                    "/api/challenges/challenge/{}/get_leaderboard_data/",
                    split.id
                ))
                .await
            {
                Ok(rows) => {
                    self.cache.staff.store(1, Ordering::Relaxed);
                    for r in rows {
                        let (Some(sid), Some(res)) = (
                            r.get("submission").and_then(Value::as_i64),
                            r.get("result").and_then(Value::as_object),
                        ) else {
                            continue;
                        };
                        let m = res
                            .iter()
                            .filter_map(|(label, v)| {
                                Some((key(&format!("{}.{label}", split.codename)), v.as_f64()?))
                            })
                            .collect();
                        figures.insert(sid, m);
                    }
                    return Ok(figures);
                }
                Err(EvalaiError::Status(400..=404, _)) => {
                    tracing::info!(installation = %self.cfg.name, "token is not staff; reading the host leaderboard instead");
                    self.cache.staff.store(2, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        let rows = self
            .client
            .get_all(&format!(
                "/api/jobs/phase_split/{}/public_leaderboard_all_entries/",
                split.id
            ))
            .await?;
        for r in rows {
            let Some(sid) = r.get("submission__id").and_then(Value::as_i64) else {
                continue;
            };
            let labels: Vec<String> = r
                .pointer("/leaderboard__schema/labels")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_else(|| split.labels.clone());
            let values = r
                .get("result")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let m = labels
                .iter()
                .zip(values.iter())
                .filter_map(|(label, v)| {
                    Some((key(&format!("{}.{label}", split.codename)), v.as_f64()?))
                })
                .collect();
            figures.insert(sid, m);
        }
        Ok(figures)
    }
}

fn poisoned<T>(_: T) -> EvalaiError {
    EvalaiError::Transport("bridge cache lock poisoned".into())
}
