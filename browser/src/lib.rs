//! `lasthop-browser`: the pure core (`lasthop-core`) for the pages, compiled to wasm32 and
//! bound to JavaScript with `wasm-bindgen` (values cross as plain objects through
//! `serde-wasm-bindgen`). The pages never re-implement a decision or a cipher: whatever the
//! core does for the origin, the edge or the command-line terminal, the browser does with the
//! same code here.
//!
//! Built by `cargo xtask build-edge` (`cargo build --target wasm32-unknown-unknown --release`,
//! then `wasm-bindgen --target web` and `wasm-opt`) into `pages/pkg/`, which the edge serves
//! with the pages. The logic behind every export is plain Rust with native unit tests
//! (`cargo test -p lasthop-browser`); this file only converts values at the boundary. Errors
//! reach JavaScript as `{field, message}` objects (a field name, never a value).
//!
//! # Layout
//! - [`labels`]: QR codes as SVG, and reading a scanned label back into its ids.
//! - [`buyer`]: sealing registration and addresses to the vault, opening the sealed profile.
//! - [`device`]: the terminal's receiving key, signed-scan text, its credential, the recipient.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap: a panic there is a failing test.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod buyer;
pub mod device;
pub mod labels;

use lasthop_core::api::{AddressInput, FieldError, IntakeKeyResponse};
use lasthop_core::intake::IntakeError;
use lasthop_core::sealed_box::SealedBox;
use rand_core::OsRng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// An error for the page: which field (if any) and a sentence without any value in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageError {
    /// The field at fault, e.g. `address.region`.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl PageError {
    /// A bad field.
    pub fn field(field: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: format!("`{field}` is not valid"),
        }
    }

    /// Anything else.
    pub fn message(message: &str) -> Self {
        Self {
            field: None,
            message: message.to_owned(),
        }
    }
}

impl From<IntakeError> for PageError {
    fn from(error: IntakeError) -> Self {
        let field = FieldError::from(error);
        Self {
            message: field.to_string(),
            field: Some(field.field),
        }
    }
}

impl From<PageError> for JsValue {
    fn from(error: PageError) -> Self {
        to_value(&error).unwrap_or_else(|_| JsValue::from_str(&error.message))
    }
}

/// A QR code (SVG text) for `text`.
///
/// # Errors
/// When the text is too long for a QR code.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsValue> {
    labels::qr_svg(text).map_err(|e| PageError::message(&e.to_string()).into())
}

/// Reads a scanned label: `{platform_id, order_id, buyer_id}`.
///
/// # Errors
/// When the text is not a lasthop label.
#[wasm_bindgen(js_name = readLabel)]
pub fn read_label(text: &str) -> Result<JsValue, JsValue> {
    let label = labels::read_label(text).map_err(|e| PageError::message(&e.to_string()))?;
    to_value(&label)
}

/// Seals a registration: `key` is `GET /v1/vault/intake-key`'s answer, `form` is
/// `{name, phone, address}`. Returns `{body, profile_secret}`.
///
/// # Errors
/// `{field, message}` for the first field the core refuses.
#[wasm_bindgen(js_name = sealRegistration)]
pub fn seal_registration(
    key: JsValue,
    platform_id: &str,
    form: JsValue,
) -> Result<JsValue, JsValue> {
    let key: IntakeKeyResponse = from_value(key, "key")?;
    let form: buyer::RegistrationForm = from_value(form, "form")?;
    to_value(&buyer::seal_registration(
        &key,
        platform_id,
        form,
        &mut OsRng,
    )?)
}

/// Seals a new address for `buyer_id`; returns the `POST /v1/buyers/me/addresses/sealed` body.
///
/// # Errors
/// `{field, message}` for the first field the core refuses.
#[wasm_bindgen(js_name = sealAddress)]
pub fn seal_address(key: JsValue, buyer_id: &str, address: JsValue) -> Result<JsValue, JsValue> {
    let key: IntakeKeyResponse = from_value(key, "key")?;
    let address: AddressInput = from_value(address, "address")?;
    to_value(&buyer::seal_address(&key, buyer_id, &address, &mut OsRng)?)
}

/// Seals a modification of `address_id` for `buyer_id`; returns the `PUT
/// /v1/buyers/me/addresses/{address_id}/sealed` body.
///
/// # Errors
/// `{field, message}` for the first field the core refuses.
#[wasm_bindgen(js_name = sealAddressChange)]
pub fn seal_address_change(
    key: JsValue,
    buyer_id: &str,
    address_id: &str,
    address: JsValue,
) -> Result<JsValue, JsValue> {
    let key: IntakeKeyResponse = from_value(key, "key")?;
    let address: AddressInput = from_value(address, "address")?;
    to_value(&buyer::seal_address_change(
        &key, buyer_id, address_id, &address, &mut OsRng,
    )?)
}

/// Opens `GET /v1/buyers/me/sealed`'s `profile` with the page's profile key.
///
/// # Errors
/// When it is not this buyer's profile sealed to this key.
#[wasm_bindgen(js_name = openProfile)]
pub fn open_profile(
    profile_secret: &str,
    buyer_id: &str,
    sealed: JsValue,
) -> Result<JsValue, JsValue> {
    let sealed: SealedBox = from_value(sealed, "profile")?;
    to_value(&buyer::open_profile(profile_secret, buyer_id, sealed)?)
}

/// A fresh receiving key for the terminal: `{secret, public_key}`.
#[wasm_bindgen(js_name = newBoxKey)]
pub fn new_box_key() -> Result<JsValue, JsValue> {
    to_value(&device::new_box_key(&mut OsRng))
}

/// The `device` object ops enrols, as JSON text (shown as a QR code).
///
/// # Errors
/// When a key is not a valid public key.
#[wasm_bindgen(js_name = enrolmentPayload)]
pub fn enrolment_payload(sign_key: &str, box_key: &str) -> Result<String, JsValue> {
    Ok(device::enrolment_payload(sign_key, box_key)?)
}

/// The text a courier request's device signature covers.
///
/// # Errors
/// For a malformed token id or nonce.
#[wasm_bindgen(js_name = scanText)]
pub fn scan_text(
    method: &str,
    path: &str,
    body: &[u8],
    token_id: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<String, JsValue> {
    Ok(device::signed_text(
        method, path, body, token_id, timestamp, nonce,
    )?)
}

/// Reads the terminal's own scanner credential, checking it names this device's signing key.
///
/// # Errors
/// For anything but a scanner credential bound to `sign_key`.
#[wasm_bindgen(js_name = readScannerCredential)]
pub fn read_scanner_credential(token: &str, sign_key: &str) -> Result<JsValue, JsValue> {
    to_value(&device::read_credential(token, sign_key)?)
}

/// Opens the `sealed_recipient` of a `deliver` verdict on this device.
///
/// # Errors
/// When the box is not for this device, release and order.
#[wasm_bindgen(js_name = openRecipient)]
pub fn open_recipient(
    box_secret: &str,
    release_id: &str,
    order_id: &str,
    sealed: JsValue,
) -> Result<JsValue, JsValue> {
    let sealed: SealedBox = from_value(sealed, "sealed_recipient")?;
    to_value(&device::open_recipient(
        box_secret, release_id, order_id, &sealed,
    )?)
}

/// A Rust value as a plain JavaScript object (maps as objects, not `Map`s).
fn to_value<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| PageError::message("cannot hand the value to the page").into())
}

/// A JavaScript value as a Rust value; `what` names it in the error.
fn from_value<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, PageError> {
    serde_wasm_bindgen::from_value(value).map_err(|_| PageError::field(what))
}
