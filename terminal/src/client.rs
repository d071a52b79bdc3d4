//! The terminal's calls to the edge: one signed courier request at a time, through reqwest
//! with rustls (the system's roots, plus a CA the operator names for a private edge).

use std::path::Path;
use std::time::Duration;

use lasthop_core::api::ErrorBody;
use serde::de::DeserializeOwned;

use crate::scan::SignedCall;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer (network, TLS, timeout).
    #[error("the edge could not be reached: {0}")]
    Transport(String),
    /// The edge refused, in the contract's format.
    #[error("{status} {}: {}", .body.error.as_str(), .body.message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The contract's error body.
        body: ErrorBody,
    },
    /// An answer that is not what the contract says.
    #[error("the edge answered {status} with a body that does not parse")]
    Unexpected {
        /// HTTP status.
        status: u16,
    },
    /// A CA file that cannot be used.
    #[error("the CA file cannot be used: {0}")]
    Ca(String),
}

/// The edge, as the terminal calls it.
#[derive(Debug, Clone)]
pub struct Edge {
    base_url: String,
    http: reqwest::blocking::Client,
}

impl Edge {
    /// A client for `base_url`, trusting `ca_file` (PEM) besides the system's roots.
    ///
    /// # Errors
    /// [`CallError::Ca`] or a client that cannot be built.
    pub fn new(base_url: &str, ca_file: Option<&Path>) -> Result<Self, CallError> {
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| CallError::Ca(e.to_string()))?;
            let certificate =
                reqwest::Certificate::from_pem(&pem).map_err(|e| CallError::Ca(e.to_string()))?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder
            .build()
            .map_err(|e| CallError::Transport(e.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// Sends a signed call and parses the 2xx answer.
    ///
    /// # Errors
    /// [`CallError`].
    pub fn send<T: DeserializeOwned>(&self, call: &SignedCall) -> Result<T, CallError> {
        let mut request = self
            .http
            .post(format!("{}{}", self.base_url, call.path))
            .header("content-type", "application/json")
            .body(call.body.clone());
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let response = request
            .send()
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .map_err(|e| CallError::Transport(e.to_string()))?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&bytes).map_err(|_| CallError::Unexpected { status })
        } else {
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => Err(CallError::Refused { status, body }),
                Err(_) => Err(CallError::Unexpected { status }),
            }
        }
    }
}
