//! CSRF protection of the one browser form the basic-auth app has (`/signup` → `users/create-ui`), as
//! MLflow guards it with Flask-WTF: a random session value in a cookie, and in the form a token signed over
//! it with the server's key (`MLFLOW_FLASK_SERVER_SECRET_KEY`, so that every replica accepts every form).

use aws_lc_rs::hmac;
use base64::Engine;
use rand::{RngCore, SeedableRng};

/// The cookie that carries the session value.
pub const COOKIE: &str = "harvester_csrf";

/// Why a form was refused, in Flask-WTF's words.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    TokenMissing,
    SessionMissing,
    Invalid,
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::TokenMissing => "The CSRF token is missing.",
            Refusal::SessionMissing => "The CSRF session token is missing.",
            Refusal::Invalid => "The CSRF token is invalid.",
        }
    }
}

pub struct Csrf {
    key: hmac::Key,
}

impl Csrf {
    /// Signing with `secret` when one is set; else with a random key of this process (one replica only).
    pub fn new(secret: Option<&str>) -> Csrf {
        let bytes = match secret {
            Some(s) if !s.is_empty() => s.as_bytes().to_vec(),
            _ => {
                let mut k = vec![0u8; 32];
                rand::rngs::StdRng::from_os_rng().fill_bytes(&mut k);
                k
            }
        };
        Csrf {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        }
    }

    /// A fresh session value for the cookie.
    pub fn session() -> String {
        let mut b = [0u8; 24];
        rand::rngs::StdRng::from_os_rng().fill_bytes(&mut b);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    /// The form token of a session value.
    pub fn token(&self, session: &str) -> String {
        let tag = hmac::sign(&self.key, session.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Whether the form's token belongs to the cookie's session (compared in constant time).
    pub fn verify(&self, session: Option<&str>, token: Option<&str>) -> Result<(), Refusal> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::TokenMissing)?;
        let session = session
            .filter(|s| !s.is_empty())
            .ok_or(Refusal::SessionMissing)?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| Refusal::Invalid)?;
        hmac::verify(&self.key, session.as_bytes(), &tag).map_err(|_| Refusal::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_fits_only_its_session_and_key() {
        let c = Csrf::new(Some("k"));
        let s = Csrf::session();
        let t = c.token(&s);
        assert_eq!(c.verify(Some(&s), Some(&t)), Ok(()));
        assert_eq!(c.verify(Some(&s), None), Err(Refusal::TokenMissing));
        assert_eq!(c.verify(None, Some(&t)), Err(Refusal::SessionMissing));
        assert_eq!(
            c.verify(Some(&Csrf::session()), Some(&t)),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            Csrf::new(Some("other")).verify(Some(&s), Some(&t)),
            Err(Refusal::Invalid)
        );
        assert_eq!(c.verify(Some(&s), Some("!!")), Err(Refusal::Invalid));
        // Another replica with the same key accepts the form.
        assert_eq!(Csrf::new(Some("k")).verify(Some(&s), Some(&t)), Ok(()));
    }
}
