//! Small HTTP helpers shared by the handlers and the Durable Objects: bounded body reading,
//! JSON answers, bearer tokens and the clock.

use futures_util::StreamExt as _;
use lasthop_core::api::parse_json;
use lasthop_core::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Date, Request, Response};

use crate::config::MAX_BODY_BYTES;
use crate::error::EdgeError;
use lasthop_core::api::ErrorCode;

/// Now, from the runtime's clock.
pub fn now() -> Timestamp {
    // Milliseconds since 1970 fit an i64 for the next 290 million years.
    Timestamp::from_unix_millis(i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX))
}

/// Reads the body, refusing more than [`MAX_BODY_BYTES`] with 413: at once for a declared
/// length above it, and for a chunked body as soon as the chunks read pass it (the body is
/// streamed, never buffered whole first).
///
/// # Errors
/// `payload_too_large`, or an internal fault when the body cannot be read.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, EdgeError> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(EdgeError::code(ErrorCode::PayloadTooLarge));
    }
    // No body at all (a GET) is an empty one.
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new());
    };
    let mut body = BoundedBody::new(MAX_BODY_BYTES);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| EdgeError::internal("reading the request body"))?;
        // Dropping the stream here cancels the rest of the upload.
        body.push(&chunk)
            .map_err(|TooLarge| EdgeError::code(ErrorCode::PayloadTooLarge))?;
    }
    Ok(body.into_bytes())
}

/// A body that grew past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// Bytes read so far, never more than a limit.
#[derive(Debug)]
pub struct BoundedBody {
    bytes: Vec<u8>,
    limit: usize,
}

impl BoundedBody {
    /// An empty body allowed up to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
        }
    }

    /// Appends a chunk.
    ///
    /// # Errors
    /// [`TooLarge`] when it would pass the limit (nothing is appended).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if self.bytes.len().saturating_add(chunk.len()) > self.limit {
            return Err(TooLarge);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads and parses a JSON body: unknown fields → `unknown_field`, bad JSON → `invalid_input`.
///
/// # Errors
/// As [`read_body`] and [`parse_json`].
pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<(T, Vec<u8>), EdgeError> {
    let bytes = read_body(req).await?;
    let value = parse_json(&bytes)?;
    Ok((value, bytes))
}

/// The bearer token of `Authorization`, if any.
pub fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("authorization").ok().flatten()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The bearer token, or 401.
///
/// # Errors
/// `unauthorized` when absent.
pub fn require_bearer(req: &Request) -> Result<String, EdgeError> {
    bearer(req).ok_or_else(|| EdgeError::code(ErrorCode::Unauthorized))
}

/// A JSON answer. Falls back to an empty answer with the same status if the runtime refuses
/// to build it (it never does for our DTOs).
pub fn json<T: Serialize>(status: u16, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    raw_json(status, body)
}

/// A JSON answer from bytes already serialised.
pub fn raw_json(status: u16, body: Vec<u8>) -> Response {
    let response = Response::from_bytes(body)
        .or_else(|_| Response::empty())
        .map(|r| r.with_status(status));
    match response {
        Ok(mut response) => {
            let _ = response
                .headers_mut()
                .set("content-type", "application/json");
            response
        }
        // Response::empty cannot fail; keep the type total anyway.
        Err(_) => Response::builder().with_status(status).empty(),
    }
}

/// Marks an answer as never to be stored by caches (personal data, or a parcel's progress).
pub fn no_store(mut response: Response) -> Response {
    let _ = response.headers_mut().set("cache-control", "no-store");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_refused_as_soon_as_it_passes_its_limit() {
        let mut body = BoundedBody::new(10);
        assert_eq!(body.push(b"01234"), Ok(()));
        assert_eq!(body.push(b"56789"), Ok(()));
        assert_eq!(body.push(b"a"), Err(TooLarge));
        assert_eq!(body.into_bytes(), b"0123456789");
        let mut huge = BoundedBody::new(MAX_BODY_BYTES);
        let chunk = vec![0u8; 16 * 1024];
        for _ in 0..4 {
            assert_eq!(huge.push(&chunk), Ok(()));
        }
        assert_eq!(huge.push(b"x"), Err(TooLarge));
    }
}
