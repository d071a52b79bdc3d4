//! `lasthop-browser`: the pure core (`lasthop-core`) for the pages, compiled to wasm32 and
//! bound to JavaScript with `wasm-bindgen` (values cross as plain objects through
//! `serde-wasm-bindgen`). The pages never re-implement a decision or a cipher: whatever the
//! core does for the origin, the edge or the command-line terminal, the browser does with the
//! same code here.
//!
//! Built by `cargo xtask build-edge` (`cargo build --target wasm32-unknown-unknown --release`,
//! then `wasm-bindgen --target web` and `wasm-opt`) into `pages/pkg/`, which the edge serves
//! with the pages. The logic behind every export is plain Rust with native unit tests:
//! `cargo test -p lasthop-browser`.
//!
//! # Layout
//! - [`labels`]: QR codes as SVG, and reading a scanned label back into its ids.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap: a panic there is a failing test.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod labels;

use serde::Serialize;
use wasm_bindgen::prelude::*;

/// A QR code (SVG text) for `text`.
///
/// # Errors
/// When the text is too long for a QR code.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsError> {
    labels::qr_svg(text).map_err(to_js)
}

/// Reads a scanned label: `{platform_id, order_id, buyer_id}`.
///
/// # Errors
/// When the text is not a lasthop label.
#[wasm_bindgen(js_name = readLabel)]
pub fn read_label(text: &str) -> Result<JsValue, JsError> {
    to_value(&labels::read_label(text).map_err(to_js)?)
}

/// A Rust value as a plain JavaScript object (maps as objects, not `Map`s).
fn to_value<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

fn to_js(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}
