//! The buyer endpoints the pages use, where personal data crosses the edge sealed: the vault's
//! intake key, registration and new addresses sealed in the browser to that key, and the
//! profile sealed back to the key the buyer's page registered (see `lasthop_core::intake`).
//! Opened boxes go through the same registration and address code as the contract's plaintext
//! bodies, so there is one set of rules.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lasthop_core::api::FieldError;
use lasthop_core::ids::AddressId;
use lasthop_core::intake;
use lasthop_core::sealed_box::BoxPublicKey;
use rand::rngs::OsRng;

use crate::auth::BuyerSession;
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::dto::{
    AddAddressResponse, ErrorBody, IntakeKeyResponse, RegisterBuyerResponse, SealedAddressRequest,
    SealedProfileResponse, SealedRegisterBuyerRequest,
};
use crate::routes::internal::{
    add_address_for, buyer_row, modify_address_for, path_address_id, profile_of, register,
};
use crate::startup::no_store;
use crate::state::AppState;

/// The vault's current intake key (public).
#[utoipa::path(get, path = "/internal/v1/vault/intake-key", tag = "internal",
    responses((status = 200, body = IntakeKeyResponse)))]
#[tracing::instrument(skip_all)]
pub async fn intake_key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (version, public_key) = state.keys().intake.current_public();
    Ok(axum::Json(IntakeKeyResponse {
        key_version: version.0,
        public_key,
    })
    .into_response())
}

/// Registers a buyer from a registration sealed in their browser.
#[utoipa::path(post, path = "/internal/v1/buyers/sealed", tag = "internal",
    request_body = SealedRegisterBuyerRequest,
    responses((status = 201, body = RegisterBuyerResponse), (status = 400, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn register_buyer(
    State(state): State<AppState>,
    Json(request): Json<SealedRegisterBuyerRequest>,
) -> Result<Response, ApiError> {
    let (body, profile_key) =
        intake::open_registration(&state.keys().intake, &request).map_err(FieldError::from)?;
    let created = register(&state, &body, Some(&profile_key)).await?;
    Ok(no_store(
        (StatusCode::CREATED, axum::Json(created)).into_response(),
    ))
}

/// Adds an address sealed in the calling buyer's browser (bound to that buyer).
#[utoipa::path(post, path = "/internal/v1/buyers/me/addresses/sealed", tag = "internal",
    request_body = SealedAddressRequest, security(("session_token" = [])),
    responses((status = 201, body = AddAddressResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn add_address(
    buyer: BuyerSession,
    State(state): State<AppState>,
    Json(request): Json<SealedAddressRequest>,
) -> Result<Response, ApiError> {
    let aad = intake::address_aad(&buyer.buyer_id);
    let body =
        intake::open_address(&state.keys().intake, &aad, &request).map_err(FieldError::from)?;
    let address_id = add_address_for(&state, &buyer.buyer_id, &body, true).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AddAddressResponse { address_id }),
    )
        .into_response())
}

/// Modifies one of the calling buyer's addresses with an address sealed in their browser (bound
/// to that buyer and that address).
#[utoipa::path(put, path = "/internal/v1/buyers/me/addresses/{address_id}/sealed", tag = "internal",
    request_body = SealedAddressRequest, security(("session_token" = [])),
    params(("address_id" = AddressId, Path, description = "The buyer's id for the address")),
    responses((status = 200, body = AddAddressResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn modify_address(
    buyer: BuyerSession,
    State(state): State<AppState>,
    Path(address_id): Path<String>,
    Json(request): Json<SealedAddressRequest>,
) -> Result<Response, ApiError> {
    let parsed = path_address_id(&address_id)?;
    let aad = intake::address_change_aad(&buyer.buyer_id, &parsed);
    let body =
        intake::open_address(&state.keys().intake, &aad, &request).map_err(FieldError::from)?;
    let address_id =
        modify_address_for(&state, &buyer.buyer_id, parsed.as_str(), &body, true).await?;
    Ok(axum::Json(AddAddressResponse { address_id }).into_response())
}

/// The calling buyer's profile, sealed to the key their page registered.
#[utoipa::path(get, path = "/internal/v1/buyers/me/sealed", tag = "internal",
    security(("session_token" = [])),
    responses((status = 200, body = SealedProfileResponse), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn buyer_profile(
    buyer: BuyerSession,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let row = buyer_row(&state, &buyer.buyer_id).await?;
    let key = row
        .profile_key
        .as_deref()
        .ok_or(ApiError::WrongState(
            "this buyer registered without a profile key; the profile is at GET /v1/buyers/me",
        ))
        .and_then(|key| BoxPublicKey::parse(key).map_err(|_| ApiError::Internal))?;
    let profile = profile_of(&state, &row).await?;
    let sealed =
        intake::seal_profile(&key, &profile, &mut OsRng).map_err(|_| ApiError::Internal)?;
    Ok(no_store(axum::Json(sealed).into_response()))
}
