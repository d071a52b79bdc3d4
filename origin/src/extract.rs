//! Request extractors: a JSON body parser that answers in the contract's error format, and
//! the ops-token check. Session and edge-signature checks live in [`crate::auth`].

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Like `axum::Json`, but malformed, unknown-field and wrong-type bodies become a 400 that
/// names the field, and an oversized body a 413, all in the contract's format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) => {
                return Err(
                    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge
                    } else {
                        ApiError::InvalidInput("the request body could not be read".to_owned())
                    },
                )
            }
        };
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON body, describing the first problem by field path.
///
/// # Errors
/// `invalid_input` or `unknown_field` naming the field; the input itself is never echoed.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| describe(&err))?;
    // Trailing bytes after the object make the body invalid as a whole.
    de.end()
        .map_err(|_| ApiError::InvalidInput("the request body is not valid JSON".to_owned()))?;
    Ok(value)
}

fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.inner();
    let text = inner.to_string();
    if text.starts_with("unknown field `") {
        // serde_path_to_error's path already ends with the unknown field's name.
        return ApiError::UnknownField(format!("`{path}` is not a known field"));
    }
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return ApiError::invalid(field.trim_start_matches('.'), "is required");
    }
    match inner.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => {
            ApiError::InvalidInput("the request body is not valid JSON".to_owned())
        }
        serde_json::error::Category::Data => {
            if path == "." {
                ApiError::InvalidInput(
                    "the request body must be a JSON object of the documented shape".to_owned(),
                )
            } else {
                // serde's message says which type was expected, and for our field types
                // (strings and enums) never echoes a value longer than a variant name.
                ApiError::invalid(&path, "has the wrong type or value")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(_: JsonRejection) -> Self {
        ApiError::InvalidInput("the request body is not valid JSON".to_owned())
    }
}

/// The `Authorization: Bearer <token>` value, if present and well-formed.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Proof that the request carried the ops token (compared in constant time).
#[derive(Debug, Clone, Copy)]
pub struct Ops;

impl FromRequestParts<AppState> for Ops {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = bearer(parts).ok_or(ApiError::Unauthorized("an ops token is required"))?;
        if bool::from(presented.as_bytes().ct_eq(state.ops_token().as_bytes())) {
            Ok(Ops)
        } else {
            Err(ApiError::Unauthorized("the ops token is not valid"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        region: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        address: Inner,
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Outer>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn unknown_nested_field_is_named_with_its_path() {
        let e = err(r#"{"name":"x","address":{"region":"1","street":"y"}}"#);
        assert_eq!(e.code(), "unknown_field");
        assert_eq!(e.to_string(), "`address.street` is not a known field");
    }

    #[test]
    fn missing_field_is_named() {
        let e = err(r#"{"name":"x"}"#);
        assert_eq!(e.code(), "invalid_input");
        assert!(e.to_string().contains("`address`"), "{e}");
    }

    #[test]
    fn wrong_type_is_named_without_echoing_the_value() {
        let e = err(r#"{"name":"secret-name-123","address":{"region":5}}"#);
        assert_eq!(
            e.to_string(),
            "`address.region` has the wrong type or value"
        );
    }

    #[test]
    fn broken_json_is_invalid_input() {
        assert_eq!(err("{").code(), "invalid_input");
        assert_eq!(err("[]").code(), "invalid_input");
        assert_eq!(
            err(r#"{"name":"x","address":{"region":"1"}} trailing"#).code(),
            "invalid_input"
        );
    }
}
