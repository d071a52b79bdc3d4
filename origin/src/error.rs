//! The one error type every handler returns, and its conversion to the contract's
//! `{"error": "<code>", "message": "<sentence>"}` body. Messages are fixed sentences or
//! name a field; they never carry personal data, SQL or other internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
    /// 503 `unavailable`, with `Retry-After`.
    #[error("{0}")]
    Unavailable(&'static str),
    /// 500 `internal`: a bug, never bad input.
    #[error("something went wrong on our side")]
    Internal,
}

impl ApiError {
    /// The contract's snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "invalid_input",
            Self::UnknownField(_) => "unknown_field",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::WrongRole(_) => "wrong_role",
            Self::OffRoute(_) => "off_route",
            Self::NotFound(_) => "not_found",
            Self::WrongState(_) => "wrong_state",
            Self::OrderClosed(_) => "order_closed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidInput(_) | Self::UnknownField(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::WrongRole(_) | Self::OffRoute(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::WrongState(_) => StatusCode::CONFLICT,
            Self::OrderClosed(_) => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// 400 naming a field, e.g. `invalid("address.region", "must be a known district code")`.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::InvalidInput(format!("`{field}` {problem}"))
    }
}

/// The contract's error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// snake_case error code, e.g. `invalid_input`.
    pub error: String,
    /// One human sentence; names the field for `invalid_input`.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, Self::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
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
    fn invalid_names_the_field() {
        let err = ApiError::invalid("address.line", "must not be empty");
        assert_eq!(err.to_string(), "`address.line` must not be empty");
        assert_eq!(err.code(), "invalid_input");
    }
}
