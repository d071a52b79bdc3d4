//! `lasthop-terminal`: a distribution centre's scanning terminal. It makes and keeps the
//! device's keys (Ed25519 signs every scan, X25519 receives the recipient), signs each courier
//! request as the shared scheme says, opens the recipient sealed to it at the final hop, and
//! keeps that recipient only until the parcel is delivered or its `erase_after` has passed,
//! whichever comes first.
//!
//! Run it as `lasthop-terminal --state DIR --edge URL <command>` (see `--help`); test it with
//! `cargo test -p lasthop-terminal`. The journey through a real stack is in
//! `tests/tests/dev_command.rs`.
//!
//! # Layout
//! - [`scan`]: the pure part, reusable by a browser terminal: signed courier requests and the
//!   opening of a `deliver` verdict's sealed recipient.
//! - [`state`]: the device file (keys and credential, mode 0600) and the recipients kept until
//!   delivery, erased by overwriting then removing.
//! - [`client`]: the HTTP calls to the edge (reqwest with rustls).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod client;
pub mod scan;
pub mod state;
