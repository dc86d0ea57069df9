//! Bearer tokens (JWT, `jsonwebtoken`): verified with one explicit algorithm (HS256 with a secret, or
//! RS256/ES256 with a PEM public key or a JWKS file), `exp`, `nbf`, `iss` and `aud` checked with a
//! small leeway; issued by `POST /api/harvester/v1/tokens` to an authenticated user, optionally
//! narrowed to scopes (`read`, `serve:invoke:<model>`).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::config::AuthFlags;

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    /// Space-separated scopes; absent: everything the user may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub struct Jwt {
    alg: Algorithm,
    /// Verification keys, by `kid` (`None`: the one key).
    keys: Vec<(Option<String>, DecodingKey)>,
    signing: Option<EncodingKey>,
    pub issuer: String,
    pub audience: String,
    pub max_ttl_secs: u64,
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("Cannot read the JWT {what} '{path}': {e}"))
}

impl Jwt {
    /// From the `--jwt-*` flags; `None` when no key is configured (bearer tokens are then refused).
    pub fn from_flags(f: &AuthFlags) -> Result<Option<Jwt>, String> {
        let alg = match f.jwt_algorithm.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => {
                return Err(format!(
                    "--jwt-algorithm must be HS256, RS256 or ES256, not '{other}'"
                ))
            }
        };
        let bad = |e: jsonwebtoken::errors::Error| format!("Invalid JWT key: {e}");
        let mut keys = Vec::new();
        let mut signing = None;
        if alg == Algorithm::HS256 {
            if let Some(s) = f.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
                if s.len() < 32 {
                    return Err("HARVESTER_JWT_SECRET must be at least 32 bytes".into());
                }
                keys.push((None, DecodingKey::from_secret(s.as_bytes()).map_err(bad)?));
                signing = Some(EncodingKey::from_secret(s.as_bytes()).map_err(bad)?);
            }
        } else {
            let ec = alg == Algorithm::ES256;
            if let Some(p) = &f.jwt_public_key {
                let pem = read(p, "public key")?;
                let k = if ec {
                    DecodingKey::from_ec_pem(&pem)
                } else {
                    DecodingKey::from_rsa_pem(&pem)
                };
                keys.push((None, k.map_err(bad)?));
            }
            if let Some(p) = &f.jwt_jwks {
                let set: JwkSet = serde_json::from_slice(&read(p, "JWKS file")?)
                    .map_err(|e| format!("Invalid JWKS file '{p}': {e}"))?;
                for k in &set.keys {
                    keys.push((
                        k.common.key_id.clone(),
                        DecodingKey::from_jwk(k).map_err(bad)?,
                    ));
                }
            }
            if let Some(p) = &f.jwt_private_key {
                let pem = read(p, "private key")?;
                let k = if ec {
                    EncodingKey::from_ec_pem(&pem)
                } else {
                    EncodingKey::from_rsa_pem(&pem)
                };
                signing = Some(k.map_err(bad)?);
            }
        }
        if keys.is_empty() {
            if signing.is_some() {
                return Err(
                    "A JWT private key needs its public key (--jwt-public-key or --jwt-jwks)"
                        .into(),
                );
            }
            return Ok(None);
        }
        Ok(Some(Jwt {
            alg,
            keys,
            signing,
            issuer: f.jwt_issuer.clone(),
            audience: f.jwt_audience.clone(),
            max_ttl_secs: f.jwt_ttl.max(60),
        }))
    }

    /// The claims of a valid token; `None` for anything else (expired, not yet valid, another
    /// issuer or audience, another algorithm, `alg: none`, a bad signature or a tampered payload).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != self.alg {
            return None;
        }
        let mut v = Validation::new(self.alg);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let candidates = self
            .keys
            .iter()
            .filter(|(kid, _)| kid.is_none() || header.kid.is_none() || *kid == header.kid);
        for (_, key) in candidates {
            if let Ok(data) = jsonwebtoken::decode::<Claims>(token, key, &v) {
                return Some(data.claims);
            }
        }
        None
    }

    pub fn can_issue(&self) -> bool {
        self.signing.is_some()
    }

    /// Sign a token for `username` valid `ttl` seconds (capped), with optional scopes.
    pub fn issue(
        &self,
        username: &str,
        ttl: u64,
        scopes: &[String],
    ) -> Result<(String, u64), String> {
        let key = self.signing.as_ref().ok_or(
            "This server verifies tokens but holds no signing key (HARVESTER_JWT_SECRET for HS256, \
             --jwt-private-key for RS256/ES256)",
        )?;
        let now = jsonwebtoken::get_current_timestamp();
        let exp = now + ttl.clamp(60, self.max_ttl_secs);
        let claims = Claims {
            sub: username.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp,
            nbf: now,
            iat: now,
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
        };
        jsonwebtoken::encode(&Header::new(self.alg), &claims, key)
            .map(|t| (t, exp))
            .map_err(|e| format!("Cannot sign the token: {e}"))
    }
}

/// Whether a scope string is one Harvester knows.
pub fn valid_scope(s: &str) -> bool {
    s == "read"
        || s.strip_prefix("serve:invoke:")
            .is_some_and(|m| !m.is_empty())
}
