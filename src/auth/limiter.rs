//! Failed logins, limited per (username, address): after `MAX_FAILURES` within `WINDOW`, further
//! attempts are refused without checking the password until the window ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Limiter {
    seen: Mutex<HashMap<(String, String), (u32, Instant)>>,
}

impl Limiter {
    /// Seconds until `who` may try again, if it is locked out now.
    pub fn locked(&self, user: &str, addr: &str) -> Option<u64> {
        let m = self.seen.lock().ok()?;
        if m.is_empty() {
            return None;
        }
        let (n, since) = m.get(&(user.to_string(), addr.to_string()))?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        (*n >= MAX_FAILURES).then(|| left.as_secs().max(1))
    }

    pub fn failed(&self, user: &str, addr: &str) {
        if let Ok(mut m) = self.seen.lock() {
            if m.len() > 100_000 {
                m.retain(|_, (_, t)| t.elapsed() < WINDOW);
            }
            let e = m
                .entry((user.to_string(), addr.to_string()))
                .or_insert((0, Instant::now()));
            if e.1.elapsed() >= WINDOW {
                *e = (0, Instant::now());
            }
            e.0 += 1;
        }
    }

    pub fn succeeded(&self, user: &str, addr: &str) {
        if let Ok(mut m) = self.seen.lock() {
            m.remove(&(user.to_string(), addr.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures() {
        let l = Limiter::default();
        for _ in 0..MAX_FAILURES - 1 {
            l.failed("u", "1.2.3.4");
        }
        assert_eq!(l.locked("u", "1.2.3.4"), None);
        l.failed("u", "1.2.3.4");
        assert!(l.locked("u", "1.2.3.4").is_some());
        assert_eq!(l.locked("u", "5.6.7.8"), None);
        assert_eq!(l.locked("v", "1.2.3.4"), None);
        l.succeeded("u", "1.2.3.4");
        assert_eq!(l.locked("u", "1.2.3.4"), None);
    }
}
