//! One error type for the Worker and its objects, answered in the contract's format
//! `{"error":"<code>","message":"<sentence>"}`. Internal faults are logged with a fixed context
//! string and answered as `unavailable` without details, so no message ever carries internals
//! or personal data.

use lasthop_core::api::{ErrorBody, ErrorCode, FieldError};
use lasthop_core::progress::ProgressError;
use worker::{console_error, Response};

use crate::http;

/// Seconds a client should wait before retrying after a 503 from a dependency.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u32 = 5;

/// Everything a request can fail with.
#[derive(Debug)]
pub enum EdgeError {
    /// A contract error with its status.
    Api(ErrorBody),
    /// 429 or 503, with `Retry-After` seconds.
    RetryLater {
        /// The body.
        body: ErrorBody,
        /// `Retry-After` in seconds.
        retry_after: u32,
    },
    /// A fault of the runtime, a binding or the origin's answer. The context is a fixed string
    /// written here, never data from a request or a response.
    Internal(&'static str),
}

impl EdgeError {
    /// A contract error with the code's default message.
    pub fn code(code: ErrorCode) -> Self {
        Self::Api(ErrorBody::from_code(code))
    }

    /// A contract error with a specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Api(ErrorBody::new(code, message))
    }

    /// An internal fault; `context` says what was being done.
    pub fn internal(context: &'static str) -> Self {
        Self::Internal(context)
    }

    /// 503 `unavailable` with `Retry-After`.
    pub fn unavailable(message: &str) -> Self {
        Self::RetryLater {
            body: ErrorBody::new(ErrorCode::Unavailable, message),
            retry_after: RETRY_AFTER_UNAVAILABLE_SECS,
        }
    }

    /// 429 `rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after: u32) -> Self {
        Self::RetryLater {
            body: ErrorBody::from_code(ErrorCode::RateLimited),
            retry_after,
        }
    }

    /// The HTTP answer. Never fails: if the runtime cannot build the JSON answer, a plain
    /// status is returned instead.
    pub fn into_response(self) -> Response {
        let (body, retry_after) = match self {
            Self::Api(body) => (body, None),
            Self::RetryLater { body, retry_after } => (body, Some(retry_after)),
            Self::Internal(context) => {
                console_error!("{{\"level\":\"error\",\"fault\":\"{context}\"}}");
                (
                    ErrorBody::new(
                        ErrorCode::Unavailable,
                        "The edge could not complete the request; retry later.",
                    ),
                    Some(RETRY_AFTER_UNAVAILABLE_SECS),
                )
            }
        };
        let status = body.status();
        let mut response = http::json(status, &body);
        if let Some(seconds) = retry_after {
            // Header names and a number: setting them cannot fail on a fresh response.
            let _ = response
                .headers_mut()
                .set("retry-after", &seconds.to_string());
        }
        response
    }
}

impl From<ErrorBody> for EdgeError {
    fn from(body: ErrorBody) -> Self {
        Self::Api(body)
    }
}

impl From<FieldError> for EdgeError {
    fn from(error: FieldError) -> Self {
        Self::Api(error.into())
    }
}

impl From<ProgressError> for EdgeError {
    fn from(error: ProgressError) -> Self {
        match error {
            ProgressError::UnknownKeyVersion(_) => Self::unavailable(
                "The edge does not hold the keys for this order yet; retry later.",
            ),
            ProgressError::LabelMismatch => Self::code(ErrorCode::LabelMismatch),
            other => Self::code(other.code()),
        }
    }
}

impl From<worker::Error> for EdgeError {
    fn from(error: worker::Error) -> Self {
        // Only the variant's name: JS error texts may quote values.
        let variant: &'static str = (&error).into();
        Self::Internal(variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: EdgeError) -> Option<ErrorCode> {
        match error {
            EdgeError::Api(body) | EdgeError::RetryLater { body, .. } => Some(body.error),
            EdgeError::Internal(_) => None,
        }
    }

    #[test]
    fn progress_refusals_become_the_contracts_codes() {
        assert_eq!(
            code_of(ProgressError::OffRoute.into()),
            Some(ErrorCode::OffRoute)
        );
        assert_eq!(
            code_of(ProgressError::NotPickedUp.into()),
            Some(ErrorCode::NotPickedUp)
        );
        assert_eq!(
            code_of(ProgressError::Closed.into()),
            Some(ErrorCode::OrderClosed)
        );
        assert_eq!(
            code_of(ProgressError::LabelMismatch.into()),
            Some(ErrorCode::LabelMismatch)
        );
        assert_eq!(
            code_of(ProgressError::WrongState.into()),
            Some(ErrorCode::WrongState)
        );
    }

    #[test]
    fn an_unknown_key_version_asks_the_client_to_retry_later() {
        let error = EdgeError::from(ProgressError::UnknownKeyVersion(
            lasthop_core::keys::KeyVersion(9),
        ));
        assert!(matches!(error, EdgeError::RetryLater { retry_after, .. } if retry_after > 0));
    }
}
