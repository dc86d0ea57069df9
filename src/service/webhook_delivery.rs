//! Webhook delivery (§10): each event is a durable job (`webhook_jobs`) fanned out into one delivery job
//! per active webhook, which posts with MLflow's headers and HMAC-SHA256
//! signature, a 30 s timeout and up to 3 retries on 429/5xx (exponential backoff from 1 s, capped at
//! 60 s, `Retry-After` honoured). Secrets are sealed with AES-256-GCM; URLs must resolve to public
//! addresses unless `MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true`, checked again at connect time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine;

use crate::error::{ApiError, ApiResult};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One event to deliver: entity and action as enum names, and its `data` object.
#[derive(Debug, Clone)]
pub struct Event {
    pub entity: String,
    pub action: String,
    pub data: serde_json::Value,
}

/// A webhook as delivery needs it (secret already opened).
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub secret: Option<String>,
}

/// The outcome of one delivery (also the `webhooks/{id}/test` answer).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Option<u16>,
    pub body: Option<String>,
    pub error: Option<String>,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Where an outbound URL may point: the webhooks' rule, and the gateway's `api_base` under its own
/// settings.
pub struct UrlPolicy {
    /// How messages name the URL: `webhook URL`, `Gateway secret api_base`.
    pub what: &'static str,
    pub schemes_var: &'static str,
    pub private_var: &'static str,
}

pub const WEBHOOK: UrlPolicy = UrlPolicy {
    what: "webhook URL",
    schemes_var: "MLFLOW_WEBHOOK_ALLOWED_SCHEMES",
    private_var: "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS",
};

pub const GATEWAY_API_BASE: UrlPolicy = UrlPolicy {
    what: "Gateway secret api_base",
    schemes_var: "MLFLOW_GATEWAY_API_BASE_ALLOWED_SCHEMES",
    private_var: "MLFLOW_GATEWAY_API_BASE_ALLOW_PRIVATE_IPS",
};

pub fn allow_private() -> bool {
    env_flag(WEBHOOK.private_var)
}

/// The allowed schemes (comma-separated in the policy's variable), `https` by default.
pub fn allowed_schemes() -> Vec<String> {
    schemes_of(&WEBHOOK)
}

fn schemes_of(p: &UrlPolicy) -> Vec<String> {
    std::env::var(p.schemes_var)
        .unwrap_or_else(|_| "https".into())
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Addresses a webhook may never reach by default: loopback, private, link-local, CGNAT, unique-local,
/// multicast, documentation and unspecified ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                )))
            };
            // Forms that carry an IPv4 address, judged by that address: NAT64's well-known prefix
            // 64:ff9b::/96 (`[64:ff9b::a9fe:a9fe]` is 169.254.169.254), 6to4 2002::/16, and the old
            // IPv4-compatible ::a.b.c.d.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return embedded(seg[6], seg[7]);
            }
            if seg[0] == 0x2002 {
                return embedded(seg[1], seg[2]);
            }
            if seg[..6] == [0; 6] && (seg[6] != 0 || seg[7] > 1) {
                return embedded(seg[6], seg[7]);
            }
            !(v6.is_loopback()
                // Local-use NAT64 64:ff9b:1::/48, Teredo 2001::/32 (an obfuscated IPv4), the discard
                // prefix 100::/64 and the deprecated site-local fec0::/10.
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
                || (seg[0] == 0x2001 && seg[1] == 0)
                || seg[..4] == [0x100, 0, 0, 0]
                || (seg[0] & 0xffc0) == 0xfec0
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

/// Check a webhook URL: allowed scheme, a host, and (unless private addresses are allowed) only public
/// addresses behind it. Blocking (resolves the host).
pub fn check_url(url: &str) -> ApiResult<()> {
    check_url_for(&WEBHOOK, url)
}

/// [`check_url`] under `p`'s settings and wording.
pub fn check_url_for(p: &UrlPolicy, url: &str) -> ApiResult<()> {
    use std::net::ToSocketAddrs;
    let what = p.what;
    let mut capital = what.to_string();
    capital[..1].make_ascii_uppercase();
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::invalid(format!("Invalid {what} '{url}': {e}")))?;
    let schemes = schemes_of(p);
    if !schemes.iter().any(|s| s == parsed.scheme()) {
        return Err(ApiError::invalid(format!(
            "Invalid {what} scheme '{}'. Allowed schemes: {schemes:?} ({}).",
            parsed.scheme(),
            p.schemes_var
        )));
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("{capital} has no host")))?;
    if env_flag(p.private_var) {
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            ApiError::invalid(format!("Host '{host}' of the {what} does not resolve: {e}"))
        })?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(ApiError::invalid(format!(
            "{capital} '{url}' resolves to a private or reserved address. Set {}=true to allow it.",
            p.private_var
        )));
    }
    Ok(())
}

/// DNS for deliveries: the same public-address rule at connect time, so a name cannot be re-pointed
/// at an internal address after the webhook was accepted.
struct GuardedDns;

impl reqwest::dns::Resolve for GuardedDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private() && addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(format!("webhook host {host} resolves to a private address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Sealing of webhook secrets as MLflow stores them: Fernet tokens under `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`,
/// so that MLflow and Harvester read each other's secrets in a shared database. A variable that is not a
/// Fernet key (32 url-safe base64 bytes) still works for Harvester alone: the key is derived from its
/// SHA-256, which MLflow cannot do. Without the variable the key is random per process, as in MLflow:
/// secrets then do not survive a restart.
pub struct Sealer {
    fernet: fernet::Fernet,
}

impl Sealer {
    pub fn from_env() -> Sealer {
        Sealer::from_key(
            std::env::var("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY")
                .ok()
                .as_deref(),
        )
    }

    fn from_key(configured: Option<&str>) -> Sealer {
        let fernet = match configured.filter(|k| !k.is_empty()) {
            Some(k) => fernet::Fernet::new(k.trim()).unwrap_or_else(|| {
                tracing::warn!(
                    "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64 bytes): webhook \
                     secrets use a key derived from it, which MLflow cannot read in a shared database"
                );
                let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, k.as_bytes());
                let key = base64::engine::general_purpose::URL_SAFE.encode(d.as_ref());
                fernet::Fernet::new(&key).expect("a 32-byte key is a Fernet key")
            }),
            None => {
                tracing::warn!(
                    "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is not set: webhook secrets use a per-process key and \
                     cannot be read after a restart or by other replicas"
                );
                fernet::Fernet::new(&fernet::Fernet::generate_key()).expect("a generated Fernet key")
            }
        };
        Sealer { fernet }
    }

    pub fn seal(&self, secret: &str) -> ApiResult<String> {
        Ok(self.fernet.encrypt(secret.as_bytes()))
    }

    pub fn open(&self, sealed: &str) -> Option<String> {
        let plain = self.fernet.decrypt(sealed).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// `v1,<base64(HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{body}"))>`, as MLflow signs.
pub fn signature(secret: &str, delivery_id: &str, timestamp: &str, body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("{delivery_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(tag.as_ref()))
}

/// Now as Python's `datetime.now(timezone.utc).isoformat()`: `2026-11-27T01:02:03.456789+00:00`.
pub fn iso_now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The HTTP client of deliveries: 30 s timeout (`MLFLOW_WEBHOOK_REQUEST_TIMEOUT`), guarded DNS, no
/// redirects (a redirect could lead anywhere).
pub fn client() -> reqwest::Client {
    let timeout = std::env::var("MLFLOW_WEBHOOK_REQUEST_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(GuardedDns))
        .build()
        .expect("webhook HTTP client")
}

/// Post one event to one webhook, retrying 429/500/502/503/504 up to `retries` times, every attempt under
/// one delivery id (`delivery_id`, else a new one).
pub async fn deliver(
    http: &reqwest::Client,
    target: &Target,
    event: &Event,
    delivery_id: Option<String>,
    retries: u32,
) -> Outcome {
    let body = serde_json::json!({
        "entity": event.entity.to_ascii_lowercase(),
        "action": event.action.to_ascii_lowercase(),
        "timestamp": iso_now(),
        "data": event.data,
    })
    .to_string();
    if let Err(e) = check_literal_ip(&target.url) {
        return Outcome {
            status: None,
            body: None,
            error: Some(e),
        };
    }
    let delivery_id = delivery_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut attempt = 0;
    loop {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let mut req = http
            .post(&target.url)
            .header("Content-Type", "application/json")
            .header("X-MLflow-Delivery-Id", &delivery_id)
            .header("X-MLflow-Timestamp", &ts)
            .body(body.clone());
        if let Some(secret) = &target.secret {
            req = req.header(
                "X-MLflow-Signature",
                signature(secret, &delivery_id, &ts, &body),
            );
        }
        let (outcome, retry_after) = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let text = resp.text().await.ok();
                (
                    Outcome {
                        status: Some(status),
                        body: text,
                        error: None,
                    },
                    retry_after,
                )
            }
            Err(e) => (
                Outcome {
                    status: None,
                    body: None,
                    error: Some(e.to_string()),
                },
                None,
            ),
        };
        let retryable = matches!(outcome.status, Some(429 | 500 | 502 | 503 | 504));
        if !retryable || attempt >= retries {
            return outcome;
        }
        let backoff = retry_after.unwrap_or(1u64 << attempt).min(60);
        tokio::time::sleep(Duration::from_secs(backoff)).await;
        attempt += 1;
    }
}

/// A URL with an IP literal never goes through DNS: check it here.
fn check_literal_ip(url: &str) -> Result<(), String> {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) if !allow_private() && !is_public(ip) => {
            Err(format!("refusing to deliver to private address {ip}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fernet_tokens_as_mlflow_stores_them() {
        // Python: Fernet(base64.urlsafe_b64encode(b"harvester-compat-shared-key-0123")).encrypt(b"stock-secret")
        let key = "aGFydmVzdGVyLWNvbXBhdC1zaGFyZWQta2V5LTAxMjM=";
        let stock = "gAAAAABrD399YdwWu2Oe9FwVuQI0QDVGcIoIsHtlhyvix-swsduOVN2zc-rWjEVc0C1NYKbCxz496OamIZfpwggUUZUnrBM1rw==";
        let sealer = Sealer::from_key(Some(key));
        assert_eq!(sealer.open(stock).as_deref(), Some("stock-secret"));
        let ours = sealer.seal("ours").unwrap();
        assert!(ours.starts_with("gAAAAA"), "{ours}");
        assert_eq!(sealer.open(&ours).as_deref(), Some("ours"));
        // Any other string still keys a Fernet (derived), only readable by Harvester.
        let derived = Sealer::from_key(Some("not a fernet key"));
        assert_eq!(
            derived.open(&derived.seal("x").unwrap()).as_deref(),
            Some("x")
        );
        assert_eq!(derived.open(stock), None);
    }

    #[test]
    fn signature_matches_mlflow() {
        // Python: base64(hmac.new(b"s3cret", b"d-1.1700000000.{}", sha256).digest())
        assert_eq!(
            signature("s3cret", "d-1", "1700000000", "{}"),
            "v1,ffAlUwnIkZyROfdeDakYdx/QELuJ1gjEmzbfJrcVam0="
        );
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::8.8.8.8",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "::127.0.0.1",
            "::10.0.0.1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
            "fec0::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn sealed_secrets_round_trip() {
        let s = Sealer::from_env();
        let sealed = s.seal("top secret").unwrap();
        assert!(!sealed.contains("top secret"));
        assert_eq!(s.open(&sealed).as_deref(), Some("top secret"));
        assert_ne!(
            s.seal("top secret").unwrap(),
            sealed,
            "fresh nonce each time"
        );
    }
}
