//! What can go wrong, in the words of the domain. `api::error` maps each case to HTTP once.

use std::fmt;

use serde_json::Value;

pub type DomainResult<T> = Result<T, DomainError>;

/// Any error, kept whole (with its `source()` chain) until it is logged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Every `code` an error body can carry: stable, snake_case, never changing meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($(#[$doc])* $variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text),* }
            }
        }

        /// A type per code, named as the code is, so that a signature can say which codes an
        /// operation answers with (`api::error::ErrorSet`).
        pub mod codes {
            $(
                $(#[$doc])*
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;

                impl super::IsCode for $variant {
                    const CODE: super::ErrorCode = super::ErrorCode::$variant;
                }
            )*
        }
    };
}

/// A type standing for one `ErrorCode` (see `codes`).
pub trait IsCode {
    const CODE: ErrorCode;
}

error_codes! {
    // Input
    InvalidInput = "invalid_input",
    InvalidRows = "invalid_rows",
    InvalidParameter = "invalid_parameter",
    MalformedBody = "malformed_body",
    MalformedMultipart = "malformed_multipart",
    UnsupportedContentType = "unsupported_content_type",
    UnsupportedMedia = "unsupported_media",
    PayloadTooLarge = "payload_too_large",
    /// A photo whose pixels would take too much memory to decode (a decompression bomb).
    ImageTooLarge = "image_too_large",
    /// The request line or headers cannot be read; answered below the API, in Chinese.
    MalformedRequest = "malformed_request",
    /// The request head is over the server's size limit; answered below the API, in Chinese.
    HeadersTooLarge = "headers_too_large",
    /// The client stopped sending the request body.
    RequestTimeout = "request_timeout",
    /// A request poem refused for a reason no other code names.
    BadRequest = "bad_request",
    // Who is asking
    MissingToken = "missing_token",
    InvalidToken = "invalid_token",
    TokenExpired = "token_expired",
    TokenRevoked = "token_revoked",
    BadCredentials = "bad_credentials",
    AccountDisabled = "account_disabled",
    InvalidWechatCode = "invalid_wechat_code",
    /// WeChat blocked this user as high-risk (40226): logging in again does not help.
    WechatUserBlocked = "wechat_user_blocked",
    Forbidden = "forbidden",
    // What is asked for
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    RateLimited = "rate_limited",
    // Conflicts with the current state
    CannotDisableSelf = "cannot_disable_self",
    UsernameTaken = "username_taken",
    IdempotencyKeyReused = "idempotency_key_reused",
    ConcurrentUpdate = "concurrent_update",
    IllegalTransition = "illegal_transition",
    ReopenWindowPassed = "reopen_window_passed",
    NotDue = "not_due",
    ReportNotOpen = "report_not_open",
    NotResolved = "not_resolved",
    AlreadyRated = "already_rated",
    NoUnit = "no_unit",
    CheckinConflict = "checkin_conflict",
    /// A change gives a place what its kind does not have (a station's capacity).
    WrongPlaceKind = "wrong_place_kind",
    /// The reward's stock is used up.
    OutOfStock = "out_of_stock",
    /// The rider's balance does not cover the reward's cost.
    InsufficientPoints = "insufficient_points",
    /// The reward is withdrawn, outside its validity window, or its pickup place is gone.
    RewardClosed = "reward_closed",
    /// The pickup code was confirmed before.
    AlreadyPickedUp = "already_picked_up",
    /// The redemption was cancelled or has expired (and was refunded).
    RedemptionClosed = "redemption_closed",
    /// The unit has as many webhook endpoints as it may.
    TooManyEndpoints = "too_many_endpoints",
    /// Only a dead letter can be retried; the delivery is pending or sent.
    NotDeadLetter = "not_dead_letter",
    // Faults
    WechatUnavailable = "wechat_unavailable",
    DatabaseUnavailable = "database_unavailable",
    Internal = "internal",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// WeChat refuses this user (high-risk): a 403, not "try again".
    WechatUserBlocked,
}

impl AuthFailure {
    pub fn code(self) -> ErrorCode {
        match self {
            AuthFailure::MissingToken => ErrorCode::MissingToken,
            AuthFailure::InvalidToken => ErrorCode::InvalidToken,
            AuthFailure::ExpiredToken => ErrorCode::TokenExpired,
            AuthFailure::RevokedToken => ErrorCode::TokenRevoked,
            AuthFailure::BadCredentials => ErrorCode::BadCredentials,
            AuthFailure::AccountDisabled => ErrorCode::AccountDisabled,
            AuthFailure::InvalidWechatCode => ErrorCode::InvalidWechatCode,
            AuthFailure::WechatUserBlocked => ErrorCode::WechatUserBlocked,
        }
    }
}

/// An outside service the service depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Wechat,
    Database,
}

impl Dependency {
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Wechat => "wechat",
            Dependency::Database => "database",
        }
    }

    pub fn code(self) -> ErrorCode {
        match self {
            Dependency::Wechat => ErrorCode::WechatUnavailable,
            Dependency::Database => ErrorCode::DatabaseUnavailable,
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
    /// `message` is English; `api::error` says it in Chinese by the code.
    #[error("conflict ({code}): {message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("too many requests, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("payload too large (limit {limit_bytes} bytes)")]
    TooLarge { limit_bytes: u64 },
    #[error("unsupported media: {0}")]
    UnsupportedMedia(String),
    /// A photo whose header claims more pixels, or more decoded bytes, than the service decodes.
    #[error("image too large: {0}")]
    ImageTooLarge(String),
    /// An outside service (WeChat) did not answer in time or is refusing us.
    #[error("{} unavailable", dependency.name())]
    Unavailable { dependency: Dependency, source: BoxError },
    /// A fault of ours; logged with its whole chain, never shown in detail.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Conflict { code, message: message.into() }
    }

    /// A fault of ours: any error (its chain is kept), or a message where there is none.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        DomainError::Internal(err.into())
    }

    /// A fault of ours in doing `what`, keeping `source` underneath.
    pub fn internal_in(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        DomainError::Internal(Box::new(Context { what: what.into(), source: source.into() }))
    }
}

/// What we were doing when an error happened, with the error underneath.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
struct Context {
    what: String,
    #[source]
    source: BoxError,
}

/// Shows an error and every `source()` under it: `outer: inner: innermost`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_distinct_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
        }
    }

    #[test]
    fn an_internal_error_keeps_its_chain() {
        let io = std::io::Error::other("disk full");
        let err = DomainError::internal_in("writing photo p1", io);
        let DomainError::Internal(source) = &err else { panic!("not internal") };
        assert_eq!(ErrorChain(source.as_ref()).to_string(), "writing photo p1: disk full");
        let top: &(dyn std::error::Error + 'static) = &err;
        assert_eq!(ErrorChain(top).to_string(), "internal error: writing photo p1: disk full");
    }
}
