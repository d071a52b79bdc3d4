//! `lasthop-core`: the pure core of lasthop — the decisions the edge takes on tokenised data,
//! written once as synchronous Rust with no I/O, so the same code runs natively in the origin
//! (axum) and as wasm32 in the Cloudflare Worker. The edge and the origin are thin adapters
//! over it. Run its tests with `cargo test -p lasthop-core` and its benchmark with
//! `cargo bench -p lasthop-core --bench hop`; check the wasm build with
//! `cargo check -p lasthop-core --target wasm32-unknown-unknown`.
//!
//! # Layout
//!
//! - [`ids`]: platform slugs and the unguessable `b_`/`s_`/`o_`/`a_`/`h_`/`sc_`/`r_` ids.
//! - [`time`]: [`time::Timestamp`], unix milliseconds with RFC 3339 on the wire.
//! - [`region`]: GB/T 2260 region codes and the codes-only [`region::Directory`] built at compile time.
//! - [`contact`]: buyer names, phones, postal addresses and their deduplication key.
//! - [`keys`]: the master key ring and every purpose-derived key (HKDF-SHA256), zeroized.
//! - [`tokens`]: record-bound region tags and the buyer-to-order binding tag.
//! - [`carrier`]: carriers, the order's carriage and which scanners may scan an order.
//! - [`credential`]: Ed25519-signed scanner and session credentials (`lh1.…`).
//! - [`intake`]: personal data sealed in the buyer's browser for the vault, and the profile
//!   sealed back to the browser (HPKE through [`sealed_box`]).
//! - [`signing`]: HMAC-signed internal requests between edge and origin.
//! - [`seal`]: XChaCha20-Poly1305 sealing for the vault and the edge's route log.
//! - [`sealed_box`]: HPKE (RFC 9180) sealing to a device's or browser's public key.
//! - [`device`]: scanner device keys, device-signed scans and the chain links they make.
//! - [`fees`]: carriers' versioned fee tables: zones from two regions × weight steps, in fen.
//! - [`custody`]: the chain of custody the origin checks before it releases a recipient.
//! - [`progress`]: the order state machine and the hop decision.
//! - [`bench`]: benchmark inputs built with the real keys and decision (the costliest hop).
//! - [`api`]: serde DTOs of every JSON body, error codes and the error body.
//! - [`label`]: the shipping label as SVG with a QR code.
//! - `openapi` (feature `openapi`): schemas of the DTOs and the edge's OpenAPI document.
//!
//! API overview for the other crates: `shared/API.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap: a panic there is a failing test, which is what we want.
#![cfg_attr(test, allow(clippy::unwrap_used))]

/// `Serialize`/`Deserialize` for a type written on the wire as one string: serialises with the
/// given `&self -> String` method and parses with `parse(&str) -> Result<Self, impl Display>`.
macro_rules! serde_as_string {
    ($ty:ty, $to_string:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.$to_string())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod api;
pub mod bench;
pub mod carrier;
pub mod contact;
pub mod credential;
pub mod custody;
pub mod device;
pub mod fees;
pub mod ids;
pub mod intake;
pub mod keys;
pub mod kinds;
pub mod label;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod progress;
pub mod region;
pub mod seal;
pub mod sealed_box;
pub mod signing;
pub mod time;
pub mod tokens;
