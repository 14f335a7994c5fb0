//! The one table from [`AppError`] to HTTP status, stable machine code and message. Internal
//! details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use wuzhi_app::AppError;

#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// The error body every failed request gets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `invalid_input`, `forbidden`.
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every problem of a rejected import: location, field and reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub details: Vec<wuzhi_geo::ImportError>,
}

pub fn status_and_code(e: &AppError) -> (StatusCode, &'static str) {
    match e {
        AppError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_input"),
        AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
        AppError::Locked { .. } => (StatusCode::LOCKED, "account_locked"),
        AppError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::Csrf => (StatusCode::FORBIDDEN, "csrf_failed"),
        AppError::BadSignature { .. } => (StatusCode::UNAUTHORIZED, "bad_signature"),
        AppError::BadKey { .. } => (StatusCode::FORBIDDEN, "bad_api_key"),
        AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        AppError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
        AppError::Import(_) => (StatusCode::UNPROCESSABLE_ENTITY, "import_rejected"),
        AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
        AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = status_and_code(&self.0);
        let (field, reason) = match &self.0 {
            AppError::Invalid { field, reason } | AppError::Conflict { field, reason } => {
                (Some(field.clone()), Some(reason.clone()))
            }
            _ => (None, None),
        };
        let message = match &self.0 {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; it has been logged".to_owned()
            }
            AppError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "database unavailable");
                self.0.to_string()
            }
            other => other.to_string(),
        };
        let details = match self.0 {
            AppError::Import(d) => d,
            _ => vec![],
        };
        let retry = (status == StatusCode::SERVICE_UNAVAILABLE).then_some([(axum::http::header::RETRY_AFTER, "5")]);
        (status, retry, Json(ErrorBody { error: ErrorDetail { code, message, field, reason, details } }))
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
