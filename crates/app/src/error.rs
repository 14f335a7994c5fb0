//! The errors a use case can return. Each is either the caller's fault (with the field and
//! the reason) or ours (`Internal`, whose details are logged and never sent).

use wuzhi_domain::{Denied, Invalid};
use wuzhi_geo::ImportError;
use wuzhi_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("account locked until {until_ms} after repeated failed sign-ins")]
    Locked { until_ms: i64 },
    #[error("not allowed to {action}")]
    Forbidden { action: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: String },
    /// The database cannot be reached now; nothing was done, and the request may be sent
    /// again shortly. The detail is logged, not sent.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(String),
    #[error("the import has {} problem(s); nothing was imported", .0.len())]
    Import(Vec<ImportError>),
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("device signature refused: {reason}")]
    BadSignature { reason: String },
    #[error("api_key refused: {reason}")]
    BadKey { reason: String },
    #[error("too many requests: {reason}")]
    RateLimited { reason: String },
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        // Values quoted in the reason are cut short, as in the domain's errors.
        AppError::Invalid {
            field: wuzhi_domain::error::clipped(field.into()),
            reason: wuzhi_domain::error::clipped(reason.into()),
        }
    }
    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        AppError::Conflict { field: field.into(), reason: reason.into() }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound { what: what.into() }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Invalid { field: e.field, reason: e.reason }
    }
}

impl From<Denied> for AppError {
    fn from(e: Denied) -> Self {
        AppError::Forbidden { action: e.action.as_str().to_owned() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found("record"),
            StoreError::ForeignKey(w) => {
                AppError::Conflict { field: "reference".into(), reason: format!("points at nothing ({w})") }
            }
            // Callers that expect a unique violation map it to their field first
            // (see `unique_as`); one that reaches here unmapped is still the caller's fault.
            StoreError::Unique(w) => {
                AppError::Conflict { field: "unique".into(), reason: format!("already exists ({w})") }
            }
            StoreError::Unavailable(w) => AppError::Unavailable(w),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Maps the unique violation of `constraint` (or `columns` on SQLite) to a conflict on
/// `field`; every other error passes through.
pub fn unique_as(e: StoreError, constraint: &str, columns: &str, field: &str, reason: &str) -> AppError {
    if e.is_unique(constraint, columns) {
        AppError::Conflict { field: field.into(), reason: reason.into() }
    } else {
        e.into()
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
