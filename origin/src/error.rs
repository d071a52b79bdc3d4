//! The one error type every handler returns, and its conversion to the contract's
//! `{"error": "<code>", "message": "<sentence>"}` body, the core's [`ErrorBody`] with the
//! core's [`ErrorCode`] (so the origin and the edge share one list of codes and statuses).
//! Messages are fixed sentences or name a field; they never carry personal data, SQL or other
//! internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lasthop_core::api::{ErrorBody, ErrorCode};

use crate::store::StoreError;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// Everything a request can fail with, by contract error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_input`; the message names the field.
    #[error("{0}")]
    InvalidInput(String),
    /// 400 `unknown_field`.
    #[error("{0}")]
    UnknownField(String),
    /// 401 `unauthorized`.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403 `wrong_role`.
    #[error("{0}")]
    WrongRole(&'static str),
    /// 403 `off_route`: the hub is not the buyer's delivery region.
    #[error("{0}")]
    OffRoute(&'static str),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409 `wrong_state`.
    #[error("{0}")]
    WrongState(&'static str),
    /// 410 `order_closed`.
    #[error("{0}")]
    OrderClosed(&'static str),
    /// 413 `payload_too_large`.
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    /// 429 `rate_limited`, with `Retry-After` (seconds).
    #[error("too many requests from this scanner; retry later")]
    RateLimited(u32),
    /// 503 `unavailable`, with `Retry-After`.
    #[error("{0}")]
    Unavailable(&'static str),
    /// 500 `internal`: a bug, never bad input.
    #[error("something went wrong on our side")]
    Internal,
}

impl ApiError {
    /// The core's error code for this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::UnknownField(_) => ErrorCode::UnknownField,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::WrongRole(_) => ErrorCode::WrongRole,
            Self::OffRoute(_) => ErrorCode::OffRoute,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::WrongState(_) => ErrorCode::WrongState,
            Self::OrderClosed(_) => ErrorCode::OrderClosed,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal => ErrorCode::Internal,
        }
    }

    /// The contract's snake_case code (also the `outcome` label of the release metric).
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The HTTP status that goes with the code, as the core defines it.
    pub fn status(&self) -> StatusCode {
        // Every status the core defines is a valid 4xx or 5xx, so the fallback never applies.
        StatusCode::from_u16(self.error_code().status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 400 naming a field, e.g. `invalid("address.region", "must be a known district code")`.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::InvalidInput(format!("`{field}` {problem}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody::new(self.error_code(), self.to_string());
        let mut response = (self.status(), axum::Json(body)).into_response();
        let retry_after = match self {
            Self::Unavailable(_) => Some(RETRY_AFTER_SECONDS),
            Self::RateLimited(seconds) => Some(seconds.max(1)),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<lasthop_core::api::FieldError> for ApiError {
    fn from(error: lasthop_core::api::FieldError) -> Self {
        Self::InvalidInput(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            // A conflict that reaches a handler means two random 80-bit ids collided or a
            // race lost; retrying is the right advice either way.
            StoreError::Conflict | StoreError::Unavailable => {
                Self::Unavailable("the store is unavailable, try again shortly")
            }
            StoreError::Corrupt => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_carries_retry_after_and_contract_body() {
        let response = ApiError::Unavailable("down").into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn every_error_keeps_its_contract_code_and_status() {
        let expected = [
            (
                ApiError::InvalidInput("x".into()),
                "invalid_input",
                StatusCode::BAD_REQUEST,
            ),
            (
                ApiError::UnknownField("x".into()),
                "unknown_field",
                StatusCode::BAD_REQUEST,
            ),
            (
                ApiError::Unauthorized("x"),
                "unauthorized",
                StatusCode::UNAUTHORIZED,
            ),
            (ApiError::Forbidden("x"), "forbidden", StatusCode::FORBIDDEN),
            (
                ApiError::WrongRole("x"),
                "wrong_role",
                StatusCode::FORBIDDEN,
            ),
            (ApiError::OffRoute("x"), "off_route", StatusCode::FORBIDDEN),
            (ApiError::NotFound("x"), "not_found", StatusCode::NOT_FOUND),
            (
                ApiError::WrongState("x"),
                "wrong_state",
                StatusCode::CONFLICT,
            ),
            (ApiError::OrderClosed("x"), "order_closed", StatusCode::GONE),
            (
                ApiError::PayloadTooLarge,
                "payload_too_large",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                ApiError::Unavailable("x"),
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                ApiError::Internal,
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, code, status) in expected {
            assert_eq!(error.code(), code, "{error:?}");
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.into_response().status(), status);
        }
    }

    #[tokio::test]
    async fn internal_answers_the_core_error_body_without_details() {
        let response = ApiError::Internal.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"error":"internal","message":"something went wrong on our side"}"#
        );
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.error, ErrorCode::Internal);
    }

    #[test]
    fn invalid_names_the_field() {
        let err = ApiError::invalid("address.line", "must not be empty");
        assert_eq!(err.to_string(), "`address.line` must not be empty");
        assert_eq!(err.code(), "invalid_input");
    }
}
