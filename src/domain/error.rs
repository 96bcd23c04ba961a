//! What can go wrong, in the words of the domain. `api::error` maps each case to HTTP once.

use serde_json::Value;

pub type DomainResult<T> = Result<T, DomainError>;

/// Why a caller is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    InvalidToken,
    ExpiredToken,
    RevokedToken,
    BadCredentials,
    AccountDisabled,
    InvalidWechatCode,
}

impl AuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "missing_token",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::ExpiredToken => "token_expired",
            AuthFailure::RevokedToken => "token_revoked",
            AuthFailure::BadCredentials => "bad_credentials",
            AuthFailure::AccountDisabled => "account_disabled",
            AuthFailure::InvalidWechatCode => "invalid_wechat_code",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Input that is well-formed but breaks a rule: a value out of range, an unknown name.
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// Several problems found at once, such as the bad rows of an import.
    #[error("{summary}")]
    InvalidMany { summary: String, problems: Value },
    #[error("not authenticated: {0:?}")]
    Unauthenticated(AuthFailure),
    /// The caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The object does not exist, or is private and outside the caller's scope.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (a duplicate name, an illegal transition).
    #[error("conflict ({code}): {message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many requests, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("payload too large (limit {limit_bytes} bytes)")]
    TooLarge { limit_bytes: u64 },
    #[error("unsupported media: {0}")]
    UnsupportedMedia(String),
    /// An outside service (WeChat) did not answer in time or is refusing us.
    #[error("{service} unavailable: {reason}")]
    Unavailable { service: &'static str, reason: String },
    /// A fault of ours; logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict { code, message: message.into() }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        DomainError::Internal(err.to_string())
    }
}
