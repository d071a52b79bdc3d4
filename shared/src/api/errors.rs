//! Error codes, the contract's error body, field errors and the JSON-body parser that maps
//! serde's failures to the contract's 400s.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::contact::ContactError;
use crate::ids::IdError;

/// Every error code of the contract and design, and the origin's last-resort `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a field is missing or invalid (the message names it), or the body is not JSON.
    InvalidInput,
    /// 400: the body has a field the contract does not know.
    UnknownField,
    /// 401: missing or bad credential.
    Unauthorized,
    /// 403: credential valid but not allowed.
    Forbidden,
    /// 403: a scanner credential of the other role.
    WrongRole,
    /// 403: a hub the parcel was not sent to.
    OffRoute,
    /// 404: unknown id.
    NotFound,
    /// 405: a known path, with a method it does not answer (`Allow` lists those it does).
    MethodNotAllowed,
    /// 409: the buyer id does not belong to the order.
    LabelMismatch,
    /// 409: the order is not in a state that allows this.
    WrongState,
    /// 409: scanned at a hub before pickup.
    NotPickedUp,
    /// 410: delivered; closed.
    OrderClosed,
    /// 413: body too large.
    PayloadTooLarge,
    /// 429: rate limited (send `Retry-After`).
    RateLimited,
    /// 503: a dependency is down (send `Retry-After`).
    Unavailable,
    /// 500: a fault on the service's side (a bug or a damaged store), never bad input; the
    /// last resort, which the contract's endpoints avoid.
    Internal,
}

impl ErrorCode {
    /// The snake_case wire word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::UnknownField => "unknown_field",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::WrongRole => "wrong_role",
            Self::OffRoute => "off_route",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::LabelMismatch => "label_mismatch",
            Self::WrongState => "wrong_state",
            Self::NotPickedUp => "not_picked_up",
            Self::OrderClosed => "order_closed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidInput | Self::UnknownField => 400,
            Self::Unauthorized => 401,
            Self::Forbidden | Self::WrongRole | Self::OffRoute => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::LabelMismatch | Self::WrongState | Self::NotPickedUp => 409,
            Self::OrderClosed => 410,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// A generic sentence for the code, for when there is nothing more precise to say.
    pub const fn default_message(self) -> &'static str {
        match self {
            Self::InvalidInput => "The request body is not valid.",
            Self::UnknownField => "The request body has a field this API does not know.",
            Self::Unauthorized => "A valid credential is required.",
            Self::Forbidden => "This credential is not allowed to do that.",
            Self::WrongRole => "This scanner's role does not allow that scan.",
            Self::OffRoute => "This hub is not on the parcel's route.",
            Self::NotFound => "Nothing was found with that id.",
            Self::MethodNotAllowed => "This path does not answer that method.",
            Self::LabelMismatch => {
                "The buyer id does not match the order; ask the seller to check the label."
            }
            Self::WrongState => "The order is not in a state that allows this.",
            Self::NotPickedUp => "The parcel has not been picked up yet.",
            Self::OrderClosed => "The order has been delivered and is closed.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::RateLimited => "Too many requests; retry later.",
            Self::Unavailable => "A service this request needs is unavailable; retry later.",
            Self::Internal => "Something went wrong on our side.",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The contract's error body: `{"error":"<code>","message":"<sentence>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The code.
    pub error: ErrorCode,
    /// One human sentence, without personal data or internals.
    pub message: String,
}

impl ErrorBody {
    /// A body with a specific message.
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
        }
    }

    /// A body with the code's default message.
    pub fn from_code(error: ErrorCode) -> Self {
        Self::new(error, error.default_message())
    }

    /// The HTTP status to send.
    pub fn status(&self) -> u16 {
        self.error.status()
    }
}

impl From<ErrorCode> for ErrorBody {
    fn from(code: ErrorCode) -> Self {
        Self::from_code(code)
    }
}

/// A request field that did not parse. Becomes `invalid_input` naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Field `{field}` {reason}.")]
pub struct FieldError {
    /// The field path, e.g. `address.region`.
    pub field: String,
    /// What is wrong; never the value.
    pub reason: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn from_id(field: &str, error: &IdError) -> Self {
        Self::new(field, format!("is not valid: {error}"))
    }

    pub(crate) fn from_contact(prefix: &str, error: &ContactError) -> Self {
        Self::new(format!("{prefix}{}", error.field), error.reason)
    }
}

impl From<FieldError> for ErrorBody {
    fn from(error: FieldError) -> Self {
        Self::new(ErrorCode::InvalidInput, error.to_string())
    }
}

/// Deserialises a JSON body, mapping failures to the contract's 400s: `unknown_field` naming
/// the field, `invalid_input` naming a missing or mistyped field, or saying the body is not JSON.
///
/// # Errors
/// An [`ErrorBody`] with status 400.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ErrorBody> {
    serde_json::from_slice(body).map_err(|error| json_error(&error))
}

fn json_error(error: &serde_json::Error) -> ErrorBody {
    let text = error.to_string();
    // serde names the field between backticks; field names come from the body, so keep only
    // short identifier-like names and never echo values.
    let field = text
        .split('`')
        .nth(1)
        .filter(|f| f.len() <= 64 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if text.starts_with("unknown field") {
        let message = match field {
            Some(field) => format!("Field `{field}` is not part of this request."),
            None => "The body has a field that is not part of this request.".to_owned(),
        };
        return ErrorBody::new(ErrorCode::UnknownField, message);
    }
    if text.starts_with("missing field") {
        if let Some(field) = field {
            return ErrorBody::new(
                ErrorCode::InvalidInput,
                format!("Field `{field}` is required."),
            );
        }
    }
    let message = match error.classify() {
        serde_json::error::Category::Data => {
            "The body has a field of the wrong type or with an invalid value."
        }
        serde_json::error::Category::Eof => "The body is empty or cut short.",
        _ => "The body is not valid JSON.",
    };
    ErrorBody::new(ErrorCode::InvalidInput, message)
}
