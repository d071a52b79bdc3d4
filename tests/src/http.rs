//! A small blocking HTTP client for tests, and the readiness probe.
//!
//! Replies of any status come back as a [`Reply`]: a 4xx from the contract is something to
//! assert on, not an error. Only failures below HTTP (refused connection, timeout) are errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use serde::Serialize;

use crate::group::ProcessGroup;
use crate::LaunchError;

/// A client bound to one base URL such as `http://127.0.0.1:8787`.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

/// TLS for `https://` URLs that trusts exactly the certificates in `pem` (a self-signed
/// certificate a local server was started with), nothing else.
///
/// # Errors
/// When `pem` holds no certificate or one rustls refuses.
pub fn trusting(pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, LaunchError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| LaunchError::Layout(format!("a PEM certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| LaunchError::Layout(format!("a trusted certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(LaunchError::Layout("no certificate to trust".to_owned()));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| LaunchError::Layout(format!("TLS versions: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

fn agent(timeout: Duration, tls: Option<&Arc<rustls::ClientConfig>>) -> ureq::Agent {
    let builder = ureq::AgentBuilder::new().timeout(timeout).redirects(0);
    match tls {
        Some(config) => builder.tls_config(Arc::clone(config)).build(),
        None => builder.build(),
    }
}

impl Client {
    /// A client for `base_url` (no trailing slash needed) with a 30 s per-request timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_tls(base_url, None)
    }

    /// As [`Client::new`], with `tls` for an `https://` base URL (see [`trusting`]).
    pub fn with_tls(base_url: impl Into<String>, tls: Option<&Arc<rustls::ClientConfig>>) -> Self {
        let base: String = base_url.into();
        Self {
            agent: agent(Duration::from_secs(30), tls),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET base + path`.
    pub fn get(&self, path: &str) -> Request {
        self.request("GET", path)
    }

    /// `POST base + path`.
    pub fn post(&self, path: &str) -> Request {
        self.request("POST", path)
    }

    /// Any method on `base + path` (`path` starts with `/`, may carry a query).
    pub fn request(&self, method: &str, path: &str) -> Request {
        let url = format!("{}{path}", self.base);
        Request {
            inner: self.agent.request(method, &url),
            method: method.to_string(),
            url,
            body: None,
        }
    }
}

/// A request being built; finish it with [`Request::send`].
#[derive(Debug)]
pub struct Request {
    inner: ureq::Request,
    method: String,
    url: String,
    body: Option<Vec<u8>>,
}

impl Request {
    /// Set a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.set(name, value);
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A JSON body with `content-type: application/json`.
    pub fn json(self, body: &impl Serialize) -> Self {
        // Serialising a `serde_json::Value` or a derived struct cannot fail; fall back to an
        // empty body rather than panic if a caller's custom `Serialize` does.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.header("content-type", "application/json").body(bytes)
    }

    /// A raw body, sent as is (for malformed-input tests).
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some(bytes.into());
        self
    }

    /// Send it and read the whole reply.
    ///
    /// # Errors
    /// Only when no HTTP reply arrived (connection refused, timeout, unreadable body).
    pub fn send(self) -> Result<Reply, LaunchError> {
        let result = match &self.body {
            Some(bytes) => self.inner.clone().send_bytes(bytes),
            None => self.inner.clone().call(),
        };
        self.finish(result)
    }

    /// Send `reader` as a chunked body (no `Content-Length`) and read the whole reply.
    ///
    /// # Errors
    /// As [`Request::send`].
    pub fn send_chunked(self, reader: impl std::io::Read) -> Result<Reply, LaunchError> {
        let result = self.inner.clone().send(reader);
        self.finish(result)
    }

    fn finish(self, result: Result<ureq::Response, ureq::Error>) -> Result<Reply, LaunchError> {
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(t)) => {
                return Err(LaunchError::Http {
                    method: self.method,
                    url: self.url,
                    detail: t.to_string(),
                })
            }
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| {
                let value = response.header(&name)?.to_string();
                Some((name, value))
            })
            .collect();
        let body = response.into_string().map_err(|e| LaunchError::Http {
            method: self.method.clone(),
            url: self.url.clone(),
            detail: format!("reading the body: {e}"),
        })?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A complete HTTP reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When the body is not JSON.
    pub fn json(&self) -> Result<serde_json::Value, LaunchError> {
        serde_json::from_str(&self.body).map_err(|e| LaunchError::Http {
            method: String::new(),
            url: String::new(),
            detail: format!(
                "status {} body is not JSON ({e}): {}",
                self.status, self.body
            ),
        })
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The contract's error code (`{"error": "..."}`), when the body carries one.
    pub fn error_code(&self) -> Option<String> {
        self.json().ok()?.get("error")?.as_str().map(str::to_string)
    }
}

/// Poll `url` until it answers 200, the child exits, or `timeout` passes.
pub(crate) fn wait_until_healthy(
    group: &mut ProcessGroup,
    name: &str,
    url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    log: &std::path::Path,
    timeout: Duration,
    cancel: Option<&AtomicBool>,
) -> Result<(), LaunchError> {
    let agent = agent(Duration::from_secs(5), tls);
    let started = Instant::now();
    loop {
        if let Some(status) = group.exit_status() {
            return Err(group.exited_error(status));
        }
        if cancel.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
            return Err(LaunchError::Cancelled(name.to_string()));
        }
        let last = match agent.get(url).call() {
            Ok(r) if r.status() == 200 => return Ok(()),
            Ok(r) | Err(ureq::Error::Status(_, r)) => format!("status {}", r.status()),
            Err(ureq::Error::Transport(t)) => t.to_string(),
        };
        if started.elapsed() >= timeout {
            return Err(LaunchError::NotReady {
                name: name.to_string(),
                detail: format!(
                    "{url} did not answer 200 within {:?} (last: {last}); last lines of {}:\n{}",
                    started.elapsed(),
                    log.display(),
                    crate::log_tail(log, 40)
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Answer one request with a canned response and hand back what was received.
    fn one_shot_server(status_line: &str, body: &str) -> (String, std::thread::JoinHandle<String>) {
        let response = format!(
            "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // The client may send the head and the body in separate segments: read until
            // the whole declared body is in before answering.
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            while !request_complete(&received) {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed before its request was complete");
                received.extend_from_slice(&buf[..n]);
            }
            stream.write_all(response.as_bytes()).unwrap();
            String::from_utf8_lossy(&received).to_string()
        });
        (url, handle)
    }

    /// Whether `received` holds a request head and as many body bytes as it declares.
    fn request_complete(received: &[u8]) -> bool {
        let text = String::from_utf8_lossy(received);
        let Some(head_end) = text.find("\r\n\r\n") else {
            return false;
        };
        let declared = text[..head_end]
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, value)| value.trim().parse::<usize>().unwrap());
        received.len() >= head_end + 4 + declared
    }

    #[test]
    fn a_4xx_reply_is_returned_with_its_error_code_not_as_an_error() {
        let (url, server) = one_shot_server(
            "HTTP/1.1 409 Conflict",
            r#"{"error":"label_mismatch","message":"Not this."}"#,
        );
        let reply = Client::new(url)
            .post("/v1/x")
            .bearer("tok")
            .json(&serde_json::json!({"a": 1}))
            .send()
            .unwrap();
        let seen = server.join().unwrap();
        assert_eq!(reply.status, 409);
        assert_eq!(reply.error_code().as_deref(), Some("label_mismatch"));
        assert_eq!(reply.header("Content-Type"), Some("application/json"));
        assert!(seen.starts_with("POST /v1/x HTTP/1.1"), "{seen}");
        assert!(
            seen.to_ascii_lowercase()
                .contains("authorization: bearer tok"),
            "{seen}"
        );
        assert!(seen.ends_with("{\"a\":1}"), "{seen}");
    }

    #[test]
    fn a_refused_connection_is_an_error() {
        let port = crate::free_port().unwrap();
        let err = Client::new(format!("http://127.0.0.1:{port}"))
            .get("/healthz")
            .send()
            .unwrap_err();
        assert!(matches!(err, LaunchError::Http { .. }), "{err}");
    }
}
