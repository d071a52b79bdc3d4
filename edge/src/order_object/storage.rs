//! What an order's object stores, as one JSON value under one key so every write is atomic.
//! While the order is open: the tokenised record, the core `Progress`, the waybill and the
//! sealed route and chain. Once delivered only the status and its time are kept, with what
//! the buyer's and the seller's tracking checks need (the binding tag and the seller id): no
//! hub id, release id, final-hub flag, route, chain or region tag.

use lasthop_core::progress::{OrderStatus, Progress};
use lasthop_core::time::Timestamp;
use lasthop_core::tokens::{BuyerBinding, TokenisedOrder};
use serde::{Deserialize, Serialize};
use worker::State;

use crate::error::EdgeError;

const ORDER_KEY: &str = "order";

/// An order on its way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenOrder {
    pub(super) record: TokenisedOrder,
    pub(super) progress: Progress,
    pub(super) waybill: Option<String>,
    /// The route (see `log`), sealed.
    pub(super) sealed_route: Option<String>,
    /// The chain of custody (see `log`), sealed.
    #[serde(default)]
    pub(super) sealed_chain: Option<String>,
}

/// A delivered order: status and time only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveredOrder {
    pub(super) binding: BuyerBinding,
    pub(super) delivered_at: Timestamp,
    /// The carrier's waybill (not personal data; tracking shows it after delivery too).
    #[serde(default)]
    pub(super) waybill: Option<String>,
}

/// The stored order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum StoredOrder {
    /// On its way.
    Open(Box<OpenOrder>),
    /// Delivered.
    Delivered(DeliveredOrder),
}

impl StoredOrder {
    pub(super) fn status(&self) -> OrderStatus {
        match self {
            Self::Open(order) => order.progress.status(),
            Self::Delivered(_) => OrderStatus::Delivered,
        }
    }

    pub(super) fn binding(&self) -> BuyerBinding {
        match self {
            Self::Open(order) => order.record.buyer_binding(),
            Self::Delivered(order) => order.binding.clone(),
        }
    }

    pub(super) fn waybill(&self) -> Option<&str> {
        match self {
            Self::Open(order) => order.waybill.as_deref(),
            Self::Delivered(order) => order.waybill.as_deref(),
        }
    }
}

pub(super) async fn load(state: &State) -> Result<Option<StoredOrder>, EdgeError> {
    let Some(text) = state.storage().get::<String>(ORDER_KEY).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|_| EdgeError::internal("the stored order does not parse"))
}

pub(super) async fn save(state: &State, order: &StoredOrder) -> Result<(), EdgeError> {
    let text =
        serde_json::to_string(order).map_err(|_| EdgeError::internal("encoding the order"))?;
    state.storage().put(ORDER_KEY, text).await?;
    Ok(())
}
