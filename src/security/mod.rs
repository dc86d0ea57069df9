//! MLflow 3's server security middleware: Host-header validation (DNS rebinding), cross-origin
//! blocking of state-changing API calls, CORS preflights, and `X-Content-Type-Options`/`X-Frame-Options`
//! on every response, with `mlflow server`'s flags, variables, defaults and answers.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
pub mod fnmatch;

use fnmatch::Pattern;

pub const INVALID_HOST_MSG: &str = "Invalid Host header - possible DNS rebinding attack detected";
pub const CORS_BLOCKED_MSG: &str = "Cross-origin request blocked";

/// Loopback names that are always allowed, bare and with any port (MLflow's `get_default_allowed_hosts`).
const LOCALHOST: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"];
const CORS_LOCALHOST: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "::1"];

/// The security settings, resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Security {
    enabled: bool,
    /// `None`: every host is allowed (`*`).
    hosts: Option<Vec<Pattern>>,
    /// `None`: every origin (`*`, which also turns off the blocking, as in MLflow).
    origins: Option<Vec<Pattern>>,
    frame_options: Option<HeaderValue>,
    prefix: String,
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_string()).collect()
}

impl Security {
    pub fn new(
        allowed_hosts: Option<&str>,
        cors_allowed_origins: Option<&str>,
        x_frame_options: &str,
        disabled: bool,
        static_prefix: Option<&str>,
    ) -> Security {
        let hosts = match allowed_hosts.filter(|h| !h.is_empty()).map(split_list) {
            Some(list) if list.iter().any(|h| h == "*") => None,
            Some(list) => Some(list),
            None => Some(default_hosts()),
        };
        let origins = match cors_allowed_origins
            .filter(|o| !o.is_empty())
            .map(split_list)
        {
            Some(list) if list.iter().any(|o| o == "*") => None,
            Some(list) => Some(list.iter().map(|o| Pattern::new(o)).collect()),
            None => Some(Vec::new()),
        };
        let frame_options = Some(x_frame_options.to_ascii_uppercase())
            .filter(|v| !v.is_empty() && v != "NONE")
            .and_then(|v| HeaderValue::from_str(&v).ok());
        Security {
            enabled: !disabled,
            hosts: hosts.map(|l| l.iter().map(|h| Pattern::new(h)).collect()),
            origins,
            frame_options,
            prefix: static_prefix.unwrap_or("").to_string(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        match &self.hosts {
            None => !host.is_empty(),
            Some(list) => !host.is_empty() && list.iter().any(|p| p.matches(host)),
        }
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        match &self.origins {
            None => true,
            Some(list) => is_localhost_origin(origin) || list.iter().any(|p| p.matches(origin)),
        }
    }

    fn is_health(&self, path: &str) -> bool {
        ["/health", "/version"]
            .iter()
            .any(|e| path.strip_prefix(self.prefix.as_str()) == Some(e))
    }

    fn is_api(&self, path: &str) -> bool {
        let p = path.strip_prefix(self.prefix.as_str()).unwrap_or(path);
        (p.starts_with("/api/") || p.starts_with("/ajax-api/")) && p != "/api/test"
    }
}

fn default_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = LOCALHOST.iter().map(|h| h.to_string()).collect();
    for h in LOCALHOST {
        // fnmatch: `[` opens a class, so IPv6 brackets are escaped as `[[]`.
        hosts.push(format!("{}:*", h.replacen('[', "[[]", 1)));
    }
    hosts.extend(["192.168.*".to_string(), "10.*".to_string()]);
    hosts.extend((16..32).map(|i| format!("172.{i}.*")));
    hosts.extend(["fc00:*".to_string(), "fd00:*".to_string()]);
    hosts
}

/// Whether an `Origin` names a loopback host (`urlparse(origin).hostname`).
fn is_localhost_origin(origin: &str) -> bool {
    let Some((_, rest)) = origin.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    CORS_LOCALHOST
        .iter()
        .any(|h| h.trim_matches(['[', ']']) == host.to_ascii_lowercase())
}

/// A refusal as MLflow sends it: 403, `text/plain`.
struct Refusal(&'static str);

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        StatusCode::FORBIDDEN
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::Forbidden()
            .content_type("text/plain")
            .body(self.0)
    }
}

const STATE_CHANGING: [Method; 4] = [Method::POST, Method::PUT, Method::DELETE, Method::PATCH];

/// The middleware (`actix_web::middleware::from_fn`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(sec) = req
        .app_data::<actix_web::web::Data<crate::service::AppState>>()
        .map(|s| s.security.clone())
    else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    if !sec.enabled {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let path = req.path().to_string();
    // The Host header itself (or HTTP/2's authority): never X-Forwarded-Host, which a rebinding page can set.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let secure = |mut res: ServiceResponse<BoxBody>| {
        let h = res.headers_mut();
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(fo) = &sec.frame_options {
            h.insert(header::X_FRAME_OPTIONS, fo.clone());
        }
        res
    };
    if !sec.is_health(&path) && !sec.host_allowed(&host) {
        tracing::warn!("Rejected request with invalid Host header: {host}");
        let res = req.into_response(Refusal(INVALID_HOST_MSG).error_response());
        return Ok(secure(res));
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let api = sec.is_api(&path);
    if let Some(origin) = origin.as_deref().filter(|o| !o.is_empty()) {
        // Same-origin writes (the UI served by this very host) pass when the Host is one the operator
        // named: stock blocks them unless the origin is listed too, which breaks its own UI on any
        // non-localhost name. With `--allowed-hosts '*'` stock's stricter rule stays.
        let same_origin = sec.hosts.is_some()
            && origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(&host));
        let allowed = same_origin || sec.origin_allowed(origin);
        if api && !allowed && STATE_CHANGING.contains(req.method()) {
            tracing::warn!("Blocked cross-origin request from {origin}");
            let res = req.into_response(Refusal(CORS_BLOCKED_MSG).error_response());
            return Ok(secure(res));
        }
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            let res = if allowed {
                let status = if api {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::OK
                };
                let mut b = HttpResponse::build(status);
                cors_headers(&mut b, &sec, origin);
                b.insert_header((
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    "GET, POST, PUT, DELETE, OPTIONS, PATCH",
                ));
                if let Some(h) = req
                    .headers()
                    .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                    .cloned()
                {
                    b.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, h));
                }
                b.insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
                b.finish()
            } else {
                HttpResponse::BadRequest()
                    .content_type("text/plain")
                    .body("Disallowed CORS origin")
            };
            return Ok(secure(req.into_response(res)));
        }
        let mut res = next.call(req).await?.map_into_boxed_body();
        if allowed {
            let h = res.headers_mut();
            let value = if sec.origins.is_none() {
                HeaderValue::from_static("*")
            } else {
                HeaderValue::from_str(origin).unwrap_or(HeaderValue::from_static("null"))
            };
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            if sec.origins.is_some() {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                h.insert(header::VARY, HeaderValue::from_static("Origin"));
            }
            h.insert(
                HeaderName::from_static("access-control-expose-headers"),
                HeaderValue::from_static("*"),
            );
        }
        return Ok(secure(res));
    }
    let res = next.call(req).await?.map_into_boxed_body();
    Ok(secure(res))
}

fn cors_headers(b: &mut actix_web::HttpResponseBuilder, sec: &Security, origin: &str) {
    if sec.origins.is_none() {
        b.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    } else {
        b.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
            .insert_header((header::VARY, "Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_hosts_follow_mlflow() {
        let s = Security::new(None, None, "SAMEORIGIN", false, None);
        for ok in [
            "localhost",
            "127.0.0.1:5000",
            "[::1]:8080",
            "10.1.2.3:80",
            "172.20.0.1",
            "192.168.1.1:5000",
        ] {
            assert!(s.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:5000",
            "172.32.0.1",
            "",
            "127.0.0.1.evil.example",
        ] {
            assert!(!s.host_allowed(bad), "{bad}");
        }
        let s = Security::new(
            Some("mlflow.corp, *.internal:5000"),
            None,
            "DENY",
            false,
            None,
        );
        assert!(s.host_allowed("mlflow.corp"));
        assert!(s.host_allowed("a.internal:5000"));
        assert!(!s.host_allowed("localhost:5000"));
        assert!(Security::new(Some("*"), None, "", false, None).host_allowed("x"));
    }

    #[test]
    fn origins() {
        let s = Security::new(
            None,
            Some("https://app.corp,https://*.corp"),
            "",
            false,
            None,
        );
        assert!(s.origin_allowed("http://localhost:3000"));
        assert!(s.origin_allowed("http://[::1]:3000"));
        assert!(s.origin_allowed("https://app.corp"));
        assert!(s.origin_allowed("https://x.corp"));
        assert!(!s.origin_allowed("https://evil.example"));
        let none = Security::new(None, None, "", false, None);
        assert!(!none.origin_allowed("https://evil.example"));
    }
}
