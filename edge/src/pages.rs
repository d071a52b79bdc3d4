//! The pages people use (buyer, seller, hub terminal): static files from `pages/`, served
//! through the Workers assets binding (`[assets]` in `wrangler.toml`, `run_worker_first`), so
//! every answer passes here and gets the same security headers: a strict
//! Content-Security-Policy (own scripts and wasm only, no inline code, no third party),
//! `no-store` on every HTML page (they show personal data once filled in), and no sniffing,
//! framing or referrers.
//!
//! The header policy is a pure function ([`page_headers`]) with native unit tests; the Worker
//! glue ([`serve`]) only fetches the asset and copies it with those headers.

use lasthop_core::api::ErrorCode;
use worker::{Headers, Method, Request, Response, RouteContext};

use crate::config;
use crate::error::EdgeError;
use crate::NO_ENDPOINT_MESSAGE;

/// The Content-Security-Policy of every page: scripts and wasm from this origin only (no
/// inline script, no `eval`), styles from this origin, images from this origin or made in the
/// page (`blob:` for the label and the QR codes), calls to this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob:; \
connect-src 'self'; manifest-src 'self'; worker-src 'self'; media-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Paths the pages never answer: the API's own (so an unknown API path keeps the contract's
/// JSON 404).
const API_PREFIXES: [&str; 2] = ["/v1/", "/internal/"];

/// The headers added to every asset answer, given the asset's content type.
pub fn page_headers(content_type: &str) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        // The terminal may use the camera to read labels; nothing else may.
        (
            "permissions-policy",
            "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
        ),
    ];
    let is_document = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"));
    // Documents show personal data once the scripts fill them in: never stored by any cache.
    // Code, styles and the wasm carry none; they are revalidated on every load so a fix
    // reaches every browser at once.
    headers.push((
        "cache-control",
        if is_document { "no-store" } else { "no-cache" },
    ));
    headers
}

/// Whether `path` may name a page or one of its files (not an API path).
pub fn is_page_path(path: &str) -> bool {
    !API_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) && path != "/internal"
}

/// `GET`/`HEAD` of a page or one of its files; anything else, and any file that does not
/// exist, gets the contract's JSON 404.
///
/// # Errors
/// 404 for unknown paths and other methods; an internal fault when the assets binding is
/// missing.
pub async fn serve(req: Request, ctx: RouteContext<()>) -> Result<Response, EdgeError> {
    let path = req.path();
    if !matches!(req.method(), Method::Get | Method::Head) || !is_page_path(&path) {
        return Err(no_endpoint());
    }
    let assets = ctx
        .env
        .assets(config::ASSETS)
        .map_err(|_| EdgeError::internal("the ASSETS binding is missing"))?;
    let response = assets
        .fetch_request(req)
        .await
        .map_err(|_| EdgeError::internal("fetching a page from the assets binding"))?;
    let status = response.status_code();
    if status == 404 {
        return Err(no_endpoint());
    }
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        // Ours replace whatever the asset server chose.
        if name != "cache-control" {
            let _ = headers.set(&name, &value);
        }
    }
    let content_type = response
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    for (name, value) in page_headers(&content_type) {
        headers
            .set(name, value)
            .map_err(|_| EdgeError::internal("setting a page header"))?;
    }
    Ok(response.with_headers(headers))
}

fn no_endpoint() -> EdgeError {
    EdgeError::with_message(ErrorCode::NotFound, NO_ENDPOINT_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(headers: &[(&'static str, &'static str)], name: &str) -> &'static str {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }

    #[test]
    fn documents_are_never_stored_and_code_is_revalidated() {
        assert_eq!(
            header(&page_headers("text/html; charset=utf-8"), "cache-control"),
            "no-store"
        );
        assert_eq!(
            header(&page_headers("text/javascript"), "cache-control"),
            "no-cache"
        );
        assert_eq!(
            header(&page_headers("application/wasm"), "cache-control"),
            "no-cache"
        );
    }

    #[test]
    fn the_policy_allows_only_own_scripts_and_wasm_and_no_inline_code() {
        let csp = header(&page_headers("text/html"), "content-security-policy");
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self' 'wasm-unsafe-eval'");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
        assert!(!csp.contains("http:") && !csp.contains("https:") && !csp.contains('*'));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self'"));
    }

    #[test]
    fn every_answer_forbids_sniffing_framing_and_referrers() {
        let headers = page_headers("image/svg+xml");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
        assert_eq!(header(&headers, "x-frame-options"), "DENY");
    }

    #[test]
    fn api_paths_are_never_pages() {
        assert!(is_page_path("/"));
        assert!(is_page_path("/buyer"));
        assert!(is_page_path("/pkg/lasthop_browser_bg.wasm"));
        assert!(!is_page_path("/v1/buyers"));
        assert!(!is_page_path("/v1/"));
        assert!(!is_page_path("/internal/v1/revocations"));
        assert!(!is_page_path("/internal"));
    }
}
