//! The origin's logic behind the handlers: what `routes` parses and answers, these do.
//!
//! - [`vault`]: address numbers, sealed address and contact records, the recipient.
//! - [`carriers`]: sellers' ship-from regions and carriers, an order's carriage.
//! - [`fees`]: carriers' fee tables, imported and read.
//! - [`custody`]: releases (the chain of custody), deliveries and scanner renewals, with every
//!   refusal counted and audited.

pub mod carriers;
pub mod custody;
pub mod fees;
pub mod vault;
