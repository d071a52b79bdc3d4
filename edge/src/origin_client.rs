//! Signed calls from the edge to the origin's `/internal/v1` endpoints (HMAC-SHA256 with the
//! `edge-request` key over method, path, timestamp, nonce, body hash and the relayed
//! `Authorization` header; the origin rejects replayed nonces). An unreachable origin, one answering 5xx, or one that has not answered
//! within the configured timeout (var `ORIGIN_TIMEOUT_MS`, default 10 s) becomes 503 with `Retry-After`; the origin's 4xx answers are in
//! the contract's format and are passed on.

use std::time::Duration;

use futures_util::future::{select, Either};

use lasthop_core::api::ErrorBody;
use lasthop_core::keys::RequestKey;
use lasthop_core::signing::{sign_request, RequestNonce, SignedRequest};
use rand_core::OsRng;
use serde::de::DeserializeOwned;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::error::EdgeError;
use crate::http;

/// A client for one request's origin calls.
pub struct OriginClient<'a> {
    base_url: &'a str,
    key: &'a RequestKey,
    // A courier at the final hub is better served by a prompt 503 and a retry than by a
    // scan that hangs on a stalled vault.
    timeout: Duration,
}

/// The origin's answer: status and raw body.
pub struct OriginReply {
    /// HTTP status (2xx or 4xx; 5xx never gets here).
    pub status: u16,
    /// The body bytes (may carry personal data: never log them).
    pub body: Vec<u8>,
}

impl OriginReply {
    /// The 2xx body parsed, or the origin's 4xx error passed on.
    ///
    /// # Errors
    /// The origin's contract error, or an internal fault for a body that does not parse.
    pub fn into_json<T: DeserializeOwned>(self) -> Result<T, EdgeError> {
        if (200..300).contains(&self.status) {
            serde_json::from_slice(&self.body)
                .map_err(|_| EdgeError::internal("the origin's answer does not parse"))
        } else {
            Err(self.into_error())
        }
    }

    /// The origin's 4xx as an edge error (only a well-formed contract error body is passed on).
    pub fn into_error(self) -> EdgeError {
        match serde_json::from_slice::<ErrorBody>(&self.body) {
            Ok(body) if body.status() == self.status => EdgeError::Api(body),
            _ => EdgeError::internal("the origin answered an error without a contract body"),
        }
    }
}

impl<'a> OriginClient<'a> {
    /// A client for `base_url` signing with `key`, giving up after `timeout`.
    pub fn new(base_url: &'a str, key: &'a RequestKey, timeout: Duration) -> Self {
        Self {
            base_url,
            key,
            timeout,
        }
    }

    /// Sends a signed request. `path` starts with `/internal/v1/`. `bearer` forwards a buyer's
    /// or seller's token so the origin verifies it too.
    ///
    /// # Errors
    /// 503 `unavailable` when the origin cannot be reached or answers 5xx.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        bearer: Option<&str>,
    ) -> Result<OriginReply, EdgeError> {
        let payload = body.unwrap_or_default();
        let nonce = RequestNonce::generate(&mut OsRng);
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        // The signature covers the relayed token too: it cannot be moved to another request.
        let signed = sign_request(
            self.key,
            &SignedRequest {
                method: method.as_ref(),
                path_and_query: path,
                body: payload,
                authorization: authorization.as_deref(),
            },
            http::now(),
            &nonce,
        );
        let headers = Headers::new();
        for (name, value) in signed.pairs() {
            headers.set(name, value)?;
        }
        if body.is_some() {
            headers.set("content-type", "application/json")?;
        }
        if let Some(value) = &authorization {
            headers.set("authorization", value)?;
        }
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if let Some(bytes) = body {
            init.with_body(Some(js_sys_bytes(bytes)));
        }
        let url = format!("{}{}", self.base_url, path);
        let request = Request::new_with_init(&url, &init)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = Box::pin(async {
            let mut response = Fetch::Request(request)
                .send_with_signal(&signal)
                .await
                .map_err(|_| EdgeError::unavailable("The vault is unreachable; retry later."))?;
            let status = response.status_code();
            if status >= 500 {
                return Err(EdgeError::unavailable(
                    "The vault is unavailable; retry later.",
                ));
            }
            let body = response.bytes().await.map_err(|_| {
                EdgeError::unavailable("The vault's answer was cut short; retry later.")
            })?;
            Ok((status, body))
        });
        let (status, body) = match select(exchange, Delay::from(self.timeout)).await {
            Either::Left((answer, _)) => answer?,
            Either::Right(_) => {
                controller.abort();
                return Err(EdgeError::unavailable(
                    "The vault did not answer in time; retry later.",
                ));
            }
        };
        Ok(OriginReply { status, body })
    }
}

fn js_sys_bytes(bytes: &[u8]) -> wasm_bindgen::JsValue {
    worker::js_sys::Uint8Array::from(bytes).into()
}
