//! The JSON bodies of the origin's endpoints. They are the core's [`lasthop_core::api`] DTOs,
//! the same types the edge sends and reads, so the wire format and the OpenAPI schemas have one
//! source; this module names the ones the origin's handlers use. Request bodies reject unknown
//! fields and keep plain strings; the handlers parse them into core newtypes and name the
//! offending field on failure.

pub use lasthop_core::api::{
    AccessLogEntry, AddAddressRequest, AddAddressResponse, AddressInput, AddressView, AuditEntry,
    AuditQuery, AuditResponse, BuyerOrder, BuyerProfile, CarrierRef, CarriersResponse,
    CreateCarrierRequest, CreateHubRequest, CreateHubResponse, CreateOrderRequest,
    CreateScannerRequest, CreateScannerResponse, DeliveryRequest, ErrorBody, IntakeKeyResponse,
    InternalCreateOrderResponse, InternalSellerOrder, InternalSellerOrdersResponse, Recipient,
    RegisterBuyerRequest, RegisterBuyerResponse, RegisterSellerRequest, RegisterSellerResponse,
    ReleasePurpose, ReleaseRequest, ReleaseResponse, RotateAddressResponse, ScannerRenewalRequest,
    ScannerRenewalResponse, SealedAddressRequest, SealedProfileResponse,
    SealedRegisterBuyerRequest, StatusResponse,
};

/// A value read back from the directory as the core type it was written from. Rows are only
/// written after parsing, so a failure here means a damaged store, not bad input.
///
/// # Errors
/// [`crate::error::ApiError::Internal`].
pub(crate) fn stored<T: std::str::FromStr>(raw: &str) -> Result<T, crate::error::ApiError> {
    raw.parse().map_err(|_| crate::error::ApiError::Internal)
}
