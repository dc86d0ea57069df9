//! The edges of every request: answers for requests no route takes (an unknown path is 404
//! `ENDPOINT_NOT_FOUND`, a known path with another method 405 with `Allow`, each with an MLflow error body
//! rather than an empty one) and the access log.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::{ApiError, ErrorCode};

/// The app's default service.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::new(
        ErrorCode::ENDPOINT_NOT_FOUND,
        format!("No endpoint {} {}", req.method(), req.path()),
    )
    .error_response()
}

/// Every request's edge, in one layer: the access-log line (method, route template or path, status,
/// latency; JSON with `LOG_FORMAT=json`), and an MLflow body for actix's empty 405 (a resource that has
/// no route for the method).
pub async fn edges(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let mut res = next.call(req).await?.map_into_boxed_body();
    let empty = matches!(
        res.response().body().size(),
        actix_web::body::BodySize::Sized(0) | actix_web::body::BodySize::None
    );
    if res.status() == StatusCode::METHOD_NOT_ALLOWED && empty {
        res = with_mlflow_405(res);
    }
    if tracing::enabled!(target: "access", tracing::Level::INFO) {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| res.request().path().to_string());
        tracing::info!(
            target: "access",
            method = %method,
            route = %route,
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    }
    Ok(res)
}

fn with_mlflow_405(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let (req, old) = res.into_parts();
    let mut err = ApiError::new(
        ErrorCode::BAD_REQUEST,
        format!(
            "The method {} is not allowed for {}",
            req.method(),
            req.path()
        ),
    );
    err.status = Some(StatusCode::METHOD_NOT_ALLOWED);
    let mut new = err.error_response();
    if let Some(allow) = old.headers().get(header::ALLOW) {
        new.headers_mut().insert(header::ALLOW, allow.clone());
    }
    ServiceResponse::new(req, new)
}
