//! What the gate remembers between requests, so that a warm request is decided without a database
//! read: a user's row and grants (for at most `USER_TTL`, and never past a change to users, roles or
//! grants made through this process), and which experiment a run or a logged model is in (which never
//! changes once it exists).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::grants::{self, Grant};
use super::users::{self, UserRow};
use crate::db::Db;
use crate::error::ApiResult;

/// How long a user's row and grants are trusted without a read. Another replica's change (a revoked
/// grant, a new password) takes effect here within this; a change through this process at once.
pub const USER_TTL: Duration = Duration::from_secs(1);

/// Bounds: past them a map starts over (cheaper than an LRU, and a refill costs one read per entry).
const MAX_USERS: usize = 10_000;
const MAX_OWNERS: usize = 200_000;

/// Bumped by every write to users, roles or grants; a cached user older than the bump is reloaded.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Users, roles or grants changed: what is cached about any user is stale.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// A user as the gate knows it.
pub struct Known {
    pub row: UserRow,
    /// Every grant the user holds through its roles (in the workspace of the entry's key).
    pub grants: Arc<[Grant]>,
    at: Instant,
    generation: u64,
}

/// `f` of the user's entry key: per workspace, since its grants are those of its roles there. In `default`
/// (and with workspaces off) the key is the name itself, so a warm request allocates none.
fn with_key<R>(username: &str, f: impl FnOnce(&str) -> R) -> R {
    match crate::workspace::current() {
        Some(ws) if &*ws != crate::workspace::DEFAULT => f(&format!("{username}\0{ws}")),
        _ => f(username),
    }
}

#[derive(Default)]
pub struct Cache {
    users: Mutex<HashMap<String, Arc<Known>>>,
    owners: Mutex<HashMap<String, i32>>,
}

impl Cache {
    /// The user, if known and still fresh.
    pub fn user(&self, username: &str) -> Option<Arc<Known>> {
        let g = GENERATION.load(Ordering::SeqCst);
        let m = self.users.lock().ok()?;
        with_key(username, |key| {
            m.get(key)
                .filter(|k| k.generation == g && k.at.elapsed() < USER_TTL)
                .cloned()
        })
    }

    /// Read the user and its grants (blocking), and remember them. `None`: no such user.
    pub fn load(&self, db: &Db, username: &str) -> ApiResult<Option<Arc<Known>>> {
        // The generation before the read: a change during it makes the entry stale at once.
        let generation = GENERATION.load(Ordering::SeqCst);
        let Some(row) = users::find(db, username)? else {
            return Ok(None);
        };
        let known = Arc::new(Known {
            grants: grants::all_of_user(db, row.id)?.into(),
            row,
            at: Instant::now(),
            generation,
        });
        if let Ok(mut m) = self.users.lock() {
            if m.len() >= MAX_USERS {
                m.clear();
            }
            with_key(username, |key| m.insert(key.to_string(), known.clone()));
        }
        Ok(Some(known))
    }

    /// The experiment a run (by uuid) or a logged model (by id) is in, if seen before.
    pub fn owner(&self, key: &str) -> Option<i32> {
        self.owners.lock().ok()?.get(key).copied()
    }

    pub fn remember_owner(&self, key: &str, experiment_id: i32) {
        if let Ok(mut m) = self.owners.lock() {
            if m.len() >= MAX_OWNERS {
                m.clear();
            }
            m.insert(key.to_string(), experiment_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(c: &Cache, name: &str, generation: u64) {
        let k = Known {
            row: UserRow {
                id: 1,
                username: name.into(),
                password_hash: String::new(),
                is_admin: false,
            },
            grants: Arc::from(Vec::new()),
            at: Instant::now(),
            generation,
        };
        c.users.lock().unwrap().insert(name.into(), Arc::new(k));
    }

    #[test]
    fn a_change_makes_every_user_stale() {
        let c = Cache::default();
        // Other tests may bump the generation meanwhile; one of a few tries sees the entry fresh.
        let fresh = (0..100).any(|_| {
            known(&c, "alice", GENERATION.load(Ordering::SeqCst));
            c.user("alice").is_some()
        });
        assert!(fresh);
        changed();
        assert!(c.user("alice").is_none());
        assert!(c.user("bob").is_none());
    }

    #[test]
    fn owners_are_remembered() {
        let c = Cache::default();
        assert_eq!(c.owner("r1"), None);
        c.remember_owner("r1", 7);
        assert_eq!(c.owner("r1"), Some(7));
    }
}
