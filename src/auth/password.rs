//! Passwords: argon2id PHC strings, at least 12 characters (as in stock), verified in constant time,
//! with a cache of verified credentials so that basic auth does not pay argon2 on every request.
//!
//! The cache maps (username, keyed digest of the password) to the stored hash it was verified
//! against. A request still reads the user's row; the entry counts only while that row holds the same
//! hash, so a password changed on any replica invalidates it at once. The digest is an HMAC under a
//! per-process random key: the cache never holds a password, nor anything that tests one offline.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::error::{ApiError, ApiResult};

pub const MIN_LENGTH: usize = 12;

pub fn validate(password: &str) -> ApiResult<()> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ApiError::invalid(
            "Password must be at least 12 characters.",
        ));
    }
    Ok(())
}

/// Hash a new password (argon2id, the crate's OWASP-recommended parameters, random salt).
pub fn hash(password: &str) -> ApiResult<String> {
    validate(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("Cannot hash the password: {e}")))
}

/// Whether `password` matches the stored PHC string (false for a malformed one).
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Verified credentials, bounded.
pub struct Verified {
    /// A random per-process HMAC key (its schedule computed once).
    key: aws_lc_rs::hmac::Key,
    /// HMAC(username, NUL, password) → (username, the stored hash it was verified against).
    entries: Mutex<HashMap<[u8; 32], (String, String)>>,
}

const MAX_ENTRIES: usize = 10_000;

impl Default for Verified {
    fn default() -> Self {
        let mut key = [0u8; 32];
        use rand::{RngCore, SeedableRng};
        rand::rngs::StdRng::from_os_rng().fill_bytes(&mut key);
        Verified {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl Verified {
    fn digest(&self, username: &str, password: &str) -> [u8; 32] {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.key);
        ctx.update(username.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Whether this exact pair was verified against `stored` before (no argon2: `false` when unsure).
    pub fn cached(&self, username: &str, password: &str, stored: &str) -> bool {
        self.known(&self.digest(username, password), stored)
    }

    fn known(&self, key: &[u8; 32], stored: &str) -> bool {
        self.entries
            .lock()
            .is_ok_and(|m| m.get(key).is_some_and(|(_, h)| h == stored))
    }

    /// Whether `password` is the one `stored` was made from: from the cache when this exact pair was
    /// verified before, else by argon2 (and then remembered).
    pub fn check(&self, username: &str, password: &str, stored: &str) -> bool {
        let key = self.digest(username, password);
        if self.known(&key, stored) {
            return true;
        }
        if !verify(password, stored) {
            return false;
        }
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(key, (username.to_string(), stored.to_string()));
        }
        true
    }

    /// Forget every credential of `username` (its password changed or it was deleted here).
    pub fn forget(&self, username: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.retain(|_, (u, _)| u != username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_and_cache() {
        assert!(hash("short").is_err());
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("correct horse battery", "not a hash"));
        let v = Verified::default();
        assert!(v.check("u", "correct horse battery", &h));
        assert!(v.check("u", "correct horse battery", &h));
        assert!(!v.check("u", "wrong password here", &h));
        // A new hash (the password changed elsewhere) is not satisfied by the cached entry.
        let h2 = hash("another long password").unwrap();
        assert!(!v.check("u", "correct horse battery", &h2));
        v.forget("u");
        assert!(v.entries.lock().unwrap().is_empty());
    }
}
