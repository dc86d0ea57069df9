//! MLflow's envelope encryption of gateway secrets, byte for byte (`mlflow/utils/crypto.py`), so a
//! database shared with stock MLflow reads both ways: each secret is sealed with its own random key (DEK,
//! AES-256-GCM, the secret's `id|name` as associated data), and the DEK is sealed with a key (KEK)
//! derived from `MLFLOW_CRYPTO_KEK_PASSPHRASE` by PBKDF2-HMAC-SHA256 (600,000 rounds, MLflow's salt with
//! the KEK version appended). Stored values are `nonce ‖ ciphertext ‖ tag`.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::error::{ApiError, ApiResult};

/// Stock's passphrase when none is set (it warns; so does Harvester, once).
pub const DEFAULT_PASSPHRASE: &str = "mlflow-default-kek-passphrase-for-development-only";
const SALT: &[u8] = b"mlflow-secrets-kek-v1-2025";
const ROUNDS: u32 = 600_000;
const NONCE: usize = 12;

/// The key-encryption key of this process: derived once, on first use.
pub struct Kek {
    key: [u8; 32],
    pub version: i32,
    pub default_passphrase: bool,
}

impl Kek {
    pub fn derive(passphrase: &str, version: i32) -> Kek {
        let mut salt = SALT.to_vec();
        salt.extend_from_slice(&(version as u32).to_be_bytes());
        let mut key = [0u8; 32];
        aws_lc_rs::pbkdf2::derive(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(ROUNDS).expect("non-zero"),
            &salt,
            passphrase.as_bytes(),
            &mut key,
        );
        Kek {
            key,
            version,
            default_passphrase: passphrase == DEFAULT_PASSPHRASE,
        }
    }

    /// From `MLFLOW_CRYPTO_KEK_PASSPHRASE` and `MLFLOW_CRYPTO_KEK_VERSION` (default 1), as stock reads them.
    pub fn from_env() -> &'static Kek {
        static KEK: OnceLock<Kek> = OnceLock::new();
        KEK.get_or_init(|| {
            let pass = std::env::var("MLFLOW_CRYPTO_KEK_PASSPHRASE").ok();
            let version = std::env::var("MLFLOW_CRYPTO_KEK_VERSION")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            if pass.is_none() {
                tracing::warn!(
                    "MLFLOW_CRYPTO_KEK_PASSPHRASE is not set: gateway secrets are encrypted with \
                     MLflow's default passphrase; set a unique one for any real deployment"
                );
            }
            Kek::derive(pass.as_deref().unwrap_or(DEFAULT_PASSPHRASE), version)
        })
    }

    /// Whether the passphrase in the environment is stock's default (without deriving the key).
    pub fn env_is_default() -> bool {
        std::env::var("MLFLOW_CRYPTO_KEK_PASSPHRASE").is_err()
    }
}

/// A sealed secret as stored: its value under its DEK, and the DEK under the KEK.
pub struct Sealed {
    pub encrypted_value: Vec<u8>,
    pub wrapped_dek: Vec<u8>,
    pub kek_version: i32,
}

fn random<const N: usize>() -> ApiResult<[u8; N]> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ApiError::internal("the system random source failed"))?;
    Ok(b)
}

fn seal(key: &[u8], plain: &[u8], aad: &[u8]) -> ApiResult<Vec<u8>> {
    let k = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| ApiError::internal("bad AES key"))?,
    );
    let nonce = random::<NONCE>()?;
    let mut buf = plain.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| ApiError::internal("AES-GCM sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

#[cfg(test)]
fn open(key: &[u8], sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE {
        return None;
    }
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE]).ok()?;
    let mut buf = sealed[NONCE..].to_vec();
    let plain = k.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?;
    Some(plain.to_vec())
}

fn aad(secret_id: &str, secret_name: &str) -> Vec<u8> {
    format!("{secret_id}|{secret_name}").into_bytes()
}

/// Seal `plain` (the secret's JSON) for the secret `id`/`name`.
pub fn encrypt(kek: &Kek, plain: &str, id: &str, name: &str) -> ApiResult<Sealed> {
    let dek = random::<32>()?;
    Ok(Sealed {
        encrypted_value: seal(&dek, plain.as_bytes(), &aad(id, name))?,
        wrapped_dek: seal(&kek.key, &dek, b"")?,
        kek_version: kek.version,
    })
}

/// Stock's display form of one value: `sk-...wxyz`, or `***` when shorter than 8 characters.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return "***".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the invocation path will do; here it proves the format is stock's.
    fn decrypt(kek: &Kek, s: &Sealed, id: &str, name: &str) -> Option<String> {
        open(&kek.key, &s.wrapped_dek, b"")
            .and_then(|dek| open(&dek, &s.encrypted_value, &aad(id, name)))
            .and_then(|p| String::from_utf8(p).ok())
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_what_stock_mlflow_sealed() {
        // `mlflow.utils.crypto._encrypt_secret` 3.17.2, passphrase "harvester-test-passphrase", version 1.
        let kek = Kek::derive("harvester-test-passphrase", 1);
        let s = Sealed {
            encrypted_value: hex("7b1b952de51459acdad163aafa985fcf6415c68f10d8b542b47d812b8ec3612f0ee6ff08e83f93b96a505889477b0b4f19823cbbb8fe01109b55b8b4c170da"),
            wrapped_dek: hex("aa83b892245ce64fc60a79e521b9179194a3391a41b27de7f3b97a9f134052cd29bbc0c9f3a74c03338ee97825ceab4783a1d68c1b7f2218c045bc29"),
            kek_version: 1,
        };
        assert_eq!(
            decrypt(&kek, &s, "s-0123", "vec").as_deref(),
            Some(r#"{"api_key": "sk-test-abcdef123456"}"#)
        );
    }

    #[test]
    fn round_trip_binds_the_secret_and_masks_like_stock() {
        let kek = Kek::derive("pass-phrase", 1);
        let s = encrypt(&kek, r#"{"api_key": "sk-1"}"#, "s-1", "n").unwrap();
        assert_eq!(
            decrypt(&kek, &s, "s-1", "n").as_deref(),
            Some(r#"{"api_key": "sk-1"}"#)
        );
        assert!(
            decrypt(&kek, &s, "s-1", "other").is_none(),
            "the name is bound"
        );
        assert!(decrypt(&Kek::derive("pass-phrase", 2), &s, "s-1", "n").is_none());
        assert_eq!(mask("sk-test-abcdef123456"), "sk-...3456");
        assert_eq!(mask("short"), "***");
    }
}
