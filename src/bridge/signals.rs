//! The two receivers' rules. The Slack poke carries only a submission id, which is all the bridge takes
//! from it; the evaluation script's webhook is signed (`X-Harvester-Signature: sha256=<hex HMAC-SHA256 of
//! "<timestamp>.<body>">`, `X-Harvester-Timestamp`) and brings the figures it computed.

use serde_json::Value;

use super::mapping::reported_metrics;
use crate::error::{ApiError, ErrorCode};

/// A signed request older (or newer) than this is refused as a replay.
pub const MAX_SKEW_SECS: i64 = 300;

fn unauthenticated(msg: &str) -> ApiError {
    ApiError::new(ErrorCode::UNAUTHENTICATED, msg)
}

/// Constant-time equality of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The submission id of EvalAI's Slack message (`fields[].title == "Submission Id"`).
pub fn slack_submission_id(body: &Value) -> Result<i64, ApiError> {
    let fields = body
        .pointer("/attachments/0/fields")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::invalid("Not an EvalAI Slack message: no attachments[0].fields")
        })?;
    let v = fields
        .iter()
        .find(|f| f.get("title").and_then(Value::as_str) == Some("Submission Id"))
        .and_then(|f| f.get("value"))
        .ok_or_else(|| {
            ApiError::invalid("The EvalAI Slack message has no 'Submission Id' field")
        })?;
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid 'Submission Id' in the EvalAI Slack message: {v}"
            ))
        })
}

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret` (what `harvester_notify.py` sends).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Check a signed webhook: 401 for a missing, bad or stale signature.
pub fn verify(
    secret: Option<&str>,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), ApiError> {
    let secret = secret.ok_or_else(|| {
        unauthenticated("This installation has no webhook_secret_env: its webhook receiver is off")
    })?;
    let (sig, ts) = match (signature, timestamp) {
        (Some(s), Some(t)) => (s, t),
        _ => {
            return Err(unauthenticated(
                "Missing X-Harvester-Signature or X-Harvester-Timestamp",
            ))
        }
    };
    let t: i64 = ts
        .trim()
        .parse()
        .map_err(|_| unauthenticated("X-Harvester-Timestamp must be Unix seconds"))?;
    if (now_secs - t).abs() > MAX_SKEW_SECS {
        return Err(unauthenticated(
            "Stale X-Harvester-Timestamp: more than 5 minutes from the server's clock",
        ));
    }
    if !same_secret(&sign(secret, ts.trim(), body), sig.trim()) {
        return Err(unauthenticated("Bad X-Harvester-Signature"));
    }
    Ok(())
}

/// The submission id and reported metrics of a webhook body:
/// `{"submission": {<EvalAI's record>}, "result": <evaluate()'s result>}`.
pub fn webhook_content(body: &Value) -> Result<(i64, Vec<(String, f64)>), ApiError> {
    let id = body
        .pointer("/submission/id")
        .and_then(Value::as_i64)
        .or_else(|| body.get("submission_id").and_then(Value::as_i64))
        .ok_or_else(|| ApiError::invalid("The webhook body has no submission.id"))?;
    let metrics = body
        .get("result")
        .or_else(|| body.get("metrics"))
        .map(reported_metrics)
        .unwrap_or_default();
    Ok((id, metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_fixture_names_submission_2() {
        let v: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/evalai/slack_webhook_new_submission_payload.json"
        ))
        .expect("fixture");
        assert_eq!(slack_submission_id(&v).expect("id"), 2);
        assert!(slack_submission_id(&serde_json::json!({"text": "hi"})).is_err());
    }

    #[test]
    fn signatures() {
        let body = br#"{"submission":{"id":1}}"#;
        let sig = sign("k", "1700000000", body);
        assert!(verify(
            Some("k"),
            Some(&sig),
            Some("1700000000"),
            body,
            1_700_000_100
        )
        .is_ok());
        let stale = verify(
            Some("k"),
            Some(&sig),
            Some("1700000000"),
            body,
            1_700_000_301,
        )
        .unwrap_err();
        assert_eq!(stale.code, ErrorCode::UNAUTHENTICATED);
        assert!(verify(
            Some("other"),
            Some(&sig),
            Some("1700000000"),
            body,
            1_700_000_000
        )
        .is_err());
        assert!(verify(
            Some("k"),
            Some(&sig),
            Some("1700000000"),
            b"{}",
            1_700_000_000
        )
        .is_err());
        assert!(verify(None, Some(&sig), Some("1700000000"), body, 1_700_000_000).is_err());
        // Python: hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
        assert_eq!(
            sig,
            "sha256=394e5645b13129fb2c6813d8c6eef98b6f614a2cb5bfa24f142cbe355102e4ff"
        );
    }
}
