//! The origin's logic behind the handlers: what `routes` parses and answers, these do.
//!
//! - [`vault`]: address numbers, sealed address and contact records, the recipient.
//! - [`custody`]: releases (the chain of custody), deliveries and scanner renewals, with every
//!   refusal counted and audited.

pub mod custody;
pub mod vault;
