//! The EvalAI bridge: every submission of the configured challenges becomes an MLflow run (its
//! hyperparameters as params, leaderboard results as metrics, files as artifacts) and, when it is a
//! model package, a registered version, exactly once. Signals (the Slack poke, the evaluation script's
//! signed webhook, the poller) only queue a pull; the pull reads EvalAI's own API and is idempotent.

pub mod client;
pub mod config;
mod context;
mod files;
pub mod harvest;
pub mod mapping;
pub mod poll;
pub mod signals;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use crate::jobs::worker::Handlers;
use crate::service::AppState;
use client::Client;
use config::Installation;
pub use context::{PhaseCtx, Split};

/// One installation with its client and caches.
pub struct Inst {
    pub cfg: Arc<Installation>,
    pub client: Client,
    cache: context::Cache,
}

/// Every configured installation.
pub struct Bridge {
    installations: HashMap<String, Arc<Inst>>,
    /// Experiment ids by name, once known.
    experiments: std::sync::Mutex<HashMap<String, String>>,
}

impl Bridge {
    pub fn new(installations: Vec<Installation>) -> Bridge {
        let installations = installations
            .into_iter()
            .map(|i| {
                let cfg = Arc::new(i);
                let inst = Inst {
                    client: Client::new(cfg.clone()),
                    cfg: cfg.clone(),
                    cache: context::Cache::default(),
                };
                (cfg.name.clone(), Arc::new(inst))
            })
            .collect();
        Bridge {
            installations,
            experiments: Default::default(),
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Inst>> {
        self.installations.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.installations.keys().map(String::as_str)
    }
}

/// Register the bridge's job handlers.
pub fn register(handlers: &mut Handlers, st: Arc<AppState>) {
    let s = st.clone();
    handlers.add(harvest::KIND, move |job| harvest::run(s.clone(), job));
    let s = st;
    handlers.add(poll::KIND, move |job| poll::run(s.clone(), job));
}

/// Queue the first poll of every configured challenge (merged into one already queued).
pub fn start_polls(st: &AppState) -> crate::error::ApiResult<()> {
    let Some(b) = &st.bridge else { return Ok(()) };
    for inst in b.installations.values() {
        for ch in &inst.cfg.challenges {
            st.jobs
                .enqueue(&poll::job(&inst.cfg.name, *ch, std::time::Duration::ZERO))?;
        }
    }
    Ok(())
}
