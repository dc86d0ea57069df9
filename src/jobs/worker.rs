//! The workers: claim a job, run its handler while renewing the lease, record the outcome, repeat.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{Job, JobError, Queue};

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
pub type Handler = Arc<dyn Fn(Job) -> JobFuture + Send + Sync>;

/// The handler of each job kind.
#[derive(Default, Clone)]
pub struct Handlers(HashMap<&'static str, Handler>);

impl Handlers {
    pub fn add<F, Fut>(&mut self, kind: &'static str, f: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.0.insert(kind, Arc::new(move |j| Box::pin(f(j))));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds handled here, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<&'static str> = self.0.keys().copied().collect();
        k.sort_unstable();
        k
    }
}

/// How long to wait before attempt `n + 1` after `n` failed: 1 s, 2 s, 4 s … capped at 5 minutes, with
/// up to 25% jitter so that replicas do not retry in step.
pub fn backoff(attempts: i32) -> Duration {
    let base = 1000u64 << attempts.clamp(0, 9).saturating_sub(1);
    let capped = base.min(300_000);
    let jitter = (uuid::Uuid::new_v4().as_u128() as u64) % (capped / 4 + 1);
    Duration::from_millis(capped + jitter)
}

/// Start `n` workers on the current runtime; they run until [`Queue::drain`].
pub fn start(queue: Arc<Queue>, handlers: Handlers, n: usize, idle_poll: Duration) {
    let handlers = Arc::new(handlers);
    for _ in 0..n.max(1) {
        let (q, h) = (queue.clone(), handlers.clone());
        queue.adopt(tokio::spawn(async move { work(q, h, idle_poll).await }));
    }
    let q = queue.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let q = q.clone();
            let pruned =
                tokio::task::spawn_blocking(move || q.prune(Duration::from_secs(7 * 86400))).await;
            if let Ok(Err(e)) = pruned {
                tracing::warn!("pruning finished jobs failed: {}", e.message);
            }
        }
    });
}

/// Run blocking (diesel) work from a job on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::error::ApiResult<T> + Send + 'static,
) -> crate::error::ApiResult<T> {
    let ws = crate::workspace::current();
    tokio::task::spawn_blocking(move || crate::workspace::within(ws, f))
        .await
        .map_err(|e| crate::error::ApiError::internal(format!("job worker failed: {e}")))?
}

async fn work(queue: Arc<Queue>, handlers: Arc<Handlers>, idle_poll: Duration) {
    loop {
        // Listen before claiming, so a job enqueued between an empty claim and the wait still wakes us.
        let bell = queue.bell.notified();
        if queue.is_stopping() {
            return;
        }
        let (q, kinds) = (queue.clone(), handlers.kinds());
        match blocking(move || q.claim(&kinds)).await {
            Ok(Some(job)) => run_one(&queue, &handlers, job).await,
            Ok(None) => {
                let _ = tokio::time::timeout(idle_poll, bell).await;
            }
            Err(e) => {
                tracing::warn!("claiming a job failed: {}", e.message);
                tokio::time::sleep(idle_poll).await;
            }
        }
    }
}

async fn run_one(queue: &Arc<Queue>, handlers: &Handlers, job: Job) {
    let (id, kind, attempts) = (job.id, job.kind.clone(), job.attempts);
    let Some(handler) = handlers.0.get(kind.as_str()).cloned() else {
        // A job of a kind this build does not know (a newer replica's): leave it to one that does.
        let err = JobError::retry(format!("no handler for job kind '{kind}' in this process"));
        let q = queue.clone();
        let _ = blocking(move || q.fail(id, &err, Duration::from_secs(60))).await;
        return;
    };
    // The handler runs in its own task, so that a panic in it is one failed attempt, not a dead worker.
    let ws = job.workspace();
    let mut task = tokio::spawn(crate::workspace::scope(ws, handler(job)));
    let mut tick = tokio::time::interval(queue.lease() / 3);
    tick.tick().await;
    let outcome = loop {
        tokio::select! {
            r = &mut task => break r.unwrap_or_else(|e| Err(JobError::retry(format!("job panicked: {e}")))),
            _ = tick.tick() => {
                let q = queue.clone();
                match blocking(move || q.renew(id)).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(job.id = id, job.kind = %kind, "job lease lost; its result will not be recorded"),
                    Err(e) => tracing::warn!(job.id = id, "renewing a job lease failed: {}", e.message),
                }
            }
        }
    };
    let q = queue.clone();
    let recorded = match outcome {
        Ok(()) => {
            tracing::debug!(job.id = id, job.kind = %kind, "job done");
            blocking(move || q.complete(id)).await
        }
        Err(err) => {
            let after = err.retry_after.unwrap_or_else(|| backoff(attempts));
            tracing::warn!(job.id = id, job.kind = %kind, job.attempt = attempts, permanent = err.permanent,
                           retry_in_ms = after.as_millis() as u64, "job failed: {}", err.message);
            blocking(move || q.fail(id, &err, after)).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(
            job.id = id,
            "recording a job's outcome failed: {}",
            e.message
        );
    }
}
