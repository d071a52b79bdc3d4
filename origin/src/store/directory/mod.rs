//! The directory store: ids and relations only, never plaintext personal data. One file per
//! aggregate; each adds its own `impl Directory` block.

mod audit;
mod carriers;
mod custody;
mod fees;
mod hubs;
mod keys;
mod nonces;
mod numbers;
mod orders;
mod outbox;
mod pending;
mod people;
mod releases;

use sqlx::AnyPool;

use super::pool::StorePool;
use super::StoreError;

pub use audit::{AuditChain, ChainRecord, KIND_REFUSAL, KIND_RELEASE, PURPOSE_DELIVERY};
pub use carriers::{CarrierRow, SellerShipping};
pub use custody::RefusalRow;
pub use fees::{FeeTableRow, OrderFeeRow};
pub use hubs::{HubRow, ScannerRow};
pub use numbers::RotationRow;
pub use orders::{NewOrder, OrderRow};
pub use pending::{AddressSlot, NewBuyer, PendingRecord, PendingSummary};
pub use people::{BuyerRow, EntryRow, SellerRow};
pub use releases::{AuditRow, Recorded, ReleaseRow};

type Result<T> = std::result::Result<T, StoreError>;

/// Handle on the directory pool.
#[derive(Clone)]
pub struct Directory {
    store: StorePool,
}

impl Directory {
    pub(super) fn new(store: StorePool) -> Self {
        Self { store }
    }

    /// The pool, for tests that need a side connection (e.g. to inject a fault).
    pub fn pool(&self) -> &AnyPool {
        self.store.pool()
    }
}
