//! The running workers: at most one per served version, started at its first request, restarted with
//! backoff after a crash, stopped when idle past `--serving-idle-timeout`, and capped at
//! `--serving-max-workers` by stopping the least recently used idle one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::config::ServingFlags;
use super::worker::{Spawn, Worker};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// A served version: model name, version number, creation time (a recreated model's version 1 is a
/// different model).
pub type Key = (String, i64, i64);

#[derive(Default)]
struct Slot {
    worker: Mutex<Option<Arc<Worker>>>,
    /// Held while a worker starts, so a burst of first requests starts one.
    starting: tokio::sync::Mutex<Backoff>,
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    born: Option<Instant>,
}

/// Longest a request waits for a restart before it is answered 503.
const MAX_WAIT: Duration = Duration::from_secs(10);

impl Backoff {
    fn failed(&mut self, why: String) {
        // A worker that ran a minute before it died starts the count afresh.
        if self
            .born
            .is_some_and(|b| b.elapsed() > Duration::from_secs(60))
        {
            self.failures = 0;
        }
        self.failures += 1;
        let delay = Duration::from_millis(250)
            .saturating_mul(1 << (self.failures - 1).min(7))
            .min(Duration::from_secs(30));
        self.retry_at = Some(Instant::now() + delay);
        self.last_error = Some(why);
    }
}

#[derive(Default)]
pub struct Pool {
    slots: Mutex<HashMap<Key, Arc<Slot>>>,
}

/// A worker as listed in the dashboard: key, cold start, idle time.
pub struct Running {
    pub key: Key,
    pub cold_start: Duration,
    pub idle: Duration,
    pub rss_kib: Option<u64>,
}

impl Pool {
    fn slot(&self, key: &Key) -> Arc<Slot> {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn live(slot: &Slot) -> Option<Arc<Worker>> {
        let w = slot.worker.lock().unwrap_or_else(|e| e.into_inner());
        w.as_ref().filter(|w| w.alive()).cloned()
    }

    /// The version's running worker, if any.
    pub fn current(&self, key: &Key) -> Option<Arc<Worker>> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()?;
        Self::live(&slot)
    }

    /// The version's worker, started (by `spawn`, given the slot's backoff) when there is none.
    pub async fn get<'a, F, Fut>(
        &self,
        key: &Key,
        flags: &ServingFlags,
        spawn: F,
    ) -> ApiResult<Arc<Worker>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Spawn<'a>, ApiError>>,
    {
        let slot = self.slot(key);
        if let Some(w) = Self::live(&slot) {
            return Ok(w);
        }
        let mut backoff = slot.starting.lock().await;
        if let Some(w) = Self::live(&slot) {
            return Ok(w);
        }
        let died = slot.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(dead) = died {
            backoff.failed(format!("its worker {}", dead.exit_reason()));
        }
        if let Some(at) = backoff.retry_at {
            let wait = at.saturating_duration_since(Instant::now());
            if wait > MAX_WAIT {
                return Err(ApiError::new(
                    ErrorCode::TEMPORARILY_UNAVAILABLE,
                    format!(
                        "Model version {} v{} is restarting after {} failures ({}); retry in {}s",
                        key.0,
                        key.1,
                        backoff.failures,
                        backoff.last_error.as_deref().unwrap_or("unknown"),
                        wait.as_secs() + 1
                    ),
                ));
            }
            tokio::time::sleep(wait).await;
        }
        self.make_room(key, flags.serving_max_workers.max(1))?;
        let started = match spawn().await {
            Ok(s) => Worker::start(s).await.map_err(|e| {
                ApiError::new(
                    ErrorCode::RESOURCE_CONFLICT,
                    format!("Model '{}' version {} cannot be served: {e}", key.0, key.1),
                )
            }),
            Err(e) => Err(e),
        };
        match started {
            Ok(w) => {
                tracing::info!(worker = %w.label, cold_start_ms = w.cold_start.as_millis() as u64, "serving worker started");
                backoff.born = Some(Instant::now());
                *slot.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(w.clone());
                Ok(w)
            }
            Err(e) => {
                backoff.born = None;
                backoff.failed(e.message.clone());
                Err(e)
            }
        }
    }

    /// Stop the least recently used idle worker when `max` are running.
    fn make_room(&self, key: &Key, max: usize) -> ApiResult<()> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let live: Vec<(&Key, Arc<Worker>)> = slots
            .iter()
            .filter(|(k, _)| *k != key)
            .filter_map(|(k, s)| Self::live(s).map(|w| (k, w)))
            .collect();
        if live.len() < max {
            return Ok(());
        }
        let victim = live
            .iter()
            .filter(|(_, w)| !w.busy())
            .max_by_key(|(_, w)| w.idle_for());
        match victim {
            Some((k, w)) => {
                tracing::info!(worker = %w.label, "stopping the least recently used worker (--serving-max-workers {max})");
                w.stop();
                if let Some(s) = slots.get(*k) {
                    s.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
                }
                Ok(())
            }
            None => Err(ApiError::new(
                ErrorCode::TEMPORARILY_UNAVAILABLE,
                format!(
                    "All {max} serving workers are busy (--serving-max-workers); retry shortly"
                ),
            )),
        }
    }

    /// Stop workers idle longer than `idle`.
    pub fn reap(&self, idle: Duration) {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for s in slots.values() {
            let mut w = s.worker.lock().unwrap_or_else(|e| e.into_inner());
            if w.as_ref()
                .is_some_and(|w| w.alive() && !w.busy() && w.idle_for() > idle)
            {
                if let Some(w) = w.take() {
                    tracing::info!(worker = %w.label, "stopping an idle worker");
                    w.stop();
                }
            }
        }
    }

    pub fn running(&self) -> Vec<Running> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .iter()
            .filter_map(|(k, s)| {
                Self::live(s).map(|w| Running {
                    key: k.clone(),
                    cold_start: w.cold_start,
                    idle: w.idle_for(),
                    rss_kib: w.rss_kib(),
                })
            })
            .collect()
    }
}

/// A short label for logs: `name/v3`.
pub fn label(key: &Key) -> String {
    format!("{}/v{}", key.0, key.1)
}
