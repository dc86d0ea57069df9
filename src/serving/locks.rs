//! Small shared helpers of serving: one async lock per key (a model copy, an environment build), so
//! that a burst of first requests does the work once, and short content hashes for folder names.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;

pub struct Locks<K>(Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>);

impl<K> Default for Locks<K> {
    fn default() -> Self {
        Locks(Mutex::default())
    }
}

impl<K: Eq + Hash + Clone> Locks<K> {
    /// The lock of `key` (held by the caller across the work).
    pub fn of(&self, key: &K) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }
}

/// The first `bytes` bytes of the SHA-256 of `parts` (each ended by a NUL), in hex.
pub fn short_hash(parts: &[&[u8]], bytes: usize) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
        ctx.update(b"\0");
    }
    ctx.finish()
        .as_ref()
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}
