//! The one error-code table: MLflow `error_code` names, their HTTP statuses, and the JSON error envelope.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

macro_rules! make_error_codes {
    ($($name:ident => $status:literal),* $(,)?) => {
        /// MLflow's `ErrorCode` names that Harvester emits, each with the status `mlflow/exceptions.py` maps it to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum ErrorCode { $($name),* }

        impl ErrorCode {
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$name => stringify!($name)),* }
            }
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$name => StatusCode::from_u16($status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)),*
                }
            }
        }
    };
}

make_error_codes! {
    INVALID_PARAMETER_VALUE => 400,
    BAD_REQUEST => 400,
    RESOURCE_ALREADY_EXISTS => 400,
    RESOURCE_DOES_NOT_EXIST => 404,
    ENDPOINT_NOT_FOUND => 404,
    PERMISSION_DENIED => 403,
    UNAUTHENTICATED => 401,
    RESOURCE_CONFLICT => 409,
    REQUEST_LIMIT_EXCEEDED => 429,
    INTERNAL_ERROR => 500,
    INVALID_STATE => 500,
    NOT_IMPLEMENTED => 501,
    // MLflow leaves FEATURE_DISABLED unmapped (500); 501 is not retried by the client.
    FEATURE_DISABLED => 501,
    TEMPORARILY_UNAVAILABLE => 503,
}

impl ErrorCode {
    /// The `sqlstate` / `error_class` pair MLflow 3 adds to every error body.
    fn classification(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::INVALID_PARAMETER_VALUE | ErrorCode::BAD_REQUEST => {
                ("KAM00", "INVALID_PARAMETER_VALUE")
            }
            ErrorCode::RESOURCE_DOES_NOT_EXIST => ("KAM00", "RESOURCE_NOT_FOUND"),
            ErrorCode::RESOURCE_ALREADY_EXISTS => ("KAM00", "RESOURCE_ALREADY_EXISTS"),
            _ => ("XXM00", "CLIENT_INTERNAL_ERROR"),
        }
    }
}

/// An MLflow-style error: rendered as `{"error_code","message","sqlstate","error_class"}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Overrides the table's status. Used for deterministic errors MLflow answers with 500 (for example
    /// `INVALID_STATE`): clients retry 5xx for minutes, so Harvester answers those with 400.
    pub status: Option<StatusCode>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: None,
        }
    }
    /// `INVALID_STATE` for a deterministic state error, answered with 400 rather than MLflow's 500.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::INVALID_STATE,
            message: message.into(),
            status: Some(StatusCode::BAD_REQUEST),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_PARAMETER_VALUE, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RESOURCE_DOES_NOT_EXIST, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RESOURCE_ALREADY_EXISTS, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INTERNAL_ERROR, message)
    }
    /// "Missing value for required parameter 'x'", exactly as MLflow's handlers word it.
    pub fn missing(param: &str) -> Self {
        Self::invalid(format!(
            "Missing value for required parameter '{param}'. See the API docs for more information about request parameters."
        ))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    pub error_code: &'a str,
    pub message: &'a str,
    pub sqlstate: &'a str,
    pub error_class: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status.unwrap_or_else(|| self.code.status())
    }
    fn error_response(&self) -> HttpResponse {
        let (sqlstate, error_class) = self.code.classification();
        let body = ErrorBody {
            error_code: self.code.as_str(),
            message: &self.message,
            sqlstate,
            error_class,
        };
        if self.status_code().is_server_error() {
            tracing::error!(error.code = self.code.as_str(), error.message = %self.message, "request failed");
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => ApiError::not_found("Resource not found"),
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => ApiError::new(
                ErrorCode::BAD_REQUEST,
                format!("Database constraint failed: {}", info.message()),
            ),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                ApiError::already_exists(format!("Resource already exists: {}", info.message()))
            }
            // MLflow's schema bounds some columns (a CHECK, a VARCHAR length on PostgreSQL): the request
            // itself is at fault, and retrying it cannot help.
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, info) => {
                ApiError::invalid(format!(
                    "A value is not allowed by MLflow's schema: {}",
                    info.message()
                ))
            }
            Error::DatabaseError(_, info)
                if info.message().starts_with("value too long for type") =>
            {
                ApiError::invalid(format!(
                    "A value is longer than MLflow's schema allows: {}",
                    info.message()
                ))
            }
            Error::DatabaseError(_, info) if is_transient(info.message()) => ApiError::new(
                ErrorCode::TEMPORARILY_UNAVAILABLE,
                format!("Database busy: {}", info.message()),
            ),
            _ => ApiError::internal(format!("Database error: {e}")),
        }
    }
}

fn is_transient(msg: &str) -> bool {
    msg.contains("canceling statement due to statement timeout")
        || msg.contains("database is locked")
        || msg.contains("could not serialize")
        || msg.contains("deadlock")
}

impl From<r2d2_error::PoolError> for ApiError {
    fn from(e: r2d2_error::PoolError) -> Self {
        ApiError::new(
            ErrorCode::TEMPORARILY_UNAVAILABLE,
            format!("Database connection unavailable: {e}"),
        )
    }
}

/// Re-export so the conversion above names the pool's error type in one place.
pub mod r2d2_error {
    pub use diesel::r2d2::PoolError;
}
