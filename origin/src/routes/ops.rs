//! The ops API (`/v1/ops/*`, ops bearer token): hubs, scanners, audit, address renumbering.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lasthop_core::api::{NewHub, NewScanner};
use lasthop_core::credential::ScannerClaims;
use lasthop_core::device::TokenId;
use lasthop_core::ids::{AddressId, CarrierId, HubId, OrderId, ScannerId};
use lasthop_core::region::{Directory, HubLevel, RegionCode};
use lasthop_core::time::Timestamp;
use rand::rngs::OsRng;

use crate::error::ApiError;
use crate::extract::{Json, Ops};
use crate::numbers::{self, RotationError};
use crate::records::Provenance;
use crate::routes::dto::{
    stored, AuditEntry, AuditQuery, AuditResponse, CarrierRef, CarriersResponse,
    CreateCarrierRequest, CreateHubRequest, CreateHubResponse, CreateScannerRequest,
    CreateScannerResponse, ErrorBody, RotateAddressResponse,
};
use crate::services::carriers::carrier_ref;
use crate::startup::no_store;
use crate::state::AppState;
use crate::store::{CarrierRow, HubRow, ScannerRow};

/// Registers a distribution centre.
#[utoipa::path(post, path = "/v1/ops/hubs", tag = "ops", security(("ops_token" = [])),
    request_body = CreateHubRequest,
    responses((status = 201, body = CreateHubResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_hub(
    _: Ops,
    State(state): State<AppState>,
    Json(body): Json<CreateHubRequest>,
) -> Result<Response, ApiError> {
    let NewHub {
        hub: region,
        name,
        carrier_id,
    } = body.parse()?;
    let directory = &state.stores().directory;
    if directory.carrier(carrier_id.as_str()).await?.is_none() {
        return Err(ApiError::NotFound("no such carrier"));
    }
    // As every other name the core parses (and as the document declares): no control
    // characters, which would reach the ops tools' output verbatim.
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    let hub_id = HubId::generate(&mut OsRng);
    let row = HubRow {
        hub_id: hub_id.to_string(),
        level: region.level().as_str().to_owned(),
        code: region.code().to_string(),
        name,
    };
    // The carrier first: a hub row without one would belong to the default carrier.
    directory
        .insert_hub_carrier(&row.hub_id, carrier_id.as_str())
        .await?;
    directory
        .insert_hub(&row, state.now().unix_millis())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreateHubResponse { hub_id }),
    )
        .into_response())
}

/// Registers a carrier (a logistics company); hubs, sellers and orders then name it.
#[utoipa::path(post, path = "/v1/ops/carriers", tag = "ops", security(("ops_token" = [])),
    request_body = CreateCarrierRequest,
    responses((status = 201, body = CarrierRef), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_carrier(
    _: Ops,
    State(state): State<AppState>,
    Json(body): Json<CreateCarrierRequest>,
) -> Result<Response, ApiError> {
    let name = body.parse()?;
    let carrier_id = CarrierId::generate(&mut OsRng);
    state
        .stores()
        .directory
        .insert_carrier(
            &CarrierRow {
                carrier_id: carrier_id.to_string(),
                name: name.to_string(),
            },
            state.now().unix_millis(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CarrierRef { carrier_id, name }),
    )
        .into_response())
}

/// Every carrier, the platform's default one included.
#[utoipa::path(get, path = "/v1/ops/carriers", tag = "ops", security(("ops_token" = [])),
    responses((status = 200, body = CarriersResponse), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_carriers(_: Ops, State(state): State<AppState>) -> Result<Response, ApiError> {
    let rows = state.stores().directory.carriers().await?;
    let carriers = rows
        .into_iter()
        .map(|row| carrier_ref(&row))
        .collect::<Result<_, _>>()?;
    Ok(axum::Json(CarriersResponse { carriers }).into_response())
}

/// Issues a scanner credential bound to one hub and role.
#[utoipa::path(post, path = "/v1/ops/scanners", tag = "ops", security(("ops_token" = [])),
    request_body = CreateScannerRequest,
    responses((status = 201, body = CreateScannerResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn issue_scanner(
    _: Ops,
    State(state): State<AppState>,
    Json(body): Json<CreateScannerRequest>,
) -> Result<Response, ApiError> {
    let NewScanner {
        hub_id,
        role,
        device,
    } = body.parse()?;
    let hub = state
        .stores()
        .directory
        .hub(hub_id.as_str())
        .await?
        .ok_or(ApiError::NotFound("no such hub"))?;
    let region = hub_region(&hub)?;
    let carrier_id = stored(&state.stores().directory.hub_carrier(&hub.hub_id).await?)?;
    let now = state.now();
    // A device-bound credential lives one shift and is renewed by its device; without a device
    // (legacy) the long lifetime stays.
    let expires_at = crate::services::custody::credential_lifetime(&state, device.is_some());
    let scanner_id = ScannerId::generate(&mut OsRng);
    let token = state.keys().credentials.issue_scanner(&ScannerClaims {
        scanner_id: scanner_id.clone(),
        hub_id,
        hub: region,
        role,
        expires_at,
        token_id: TokenId::generate(&mut OsRng),
        device: device.as_ref().map(|d| d.sign_key),
        carrier_id,
    });
    let row = ScannerRow {
        scanner_id: scanner_id.to_string(),
        hub_id: hub.hub_id,
        role: role.as_str().to_owned(),
        expires_at: expires_at.unix_millis(),
        revoked_at: None,
        sign_key: device.as_ref().map(|d| d.sign_key.to_base64()),
        box_key: device.as_ref().map(|d| d.box_key.to_base64()),
    };
    state
        .stores()
        .directory
        .insert_scanner(&row, now.unix_millis())
        .await?;
    let body = CreateScannerResponse { scanner_id, token };
    Ok(no_store(
        (StatusCode::CREATED, axum::Json(body)).into_response(),
    ))
}

/// The region of a stored hub. Rows are written only after parsing, so failure means a
/// damaged store.
pub(crate) fn hub_region(hub: &HubRow) -> Result<lasthop_core::region::HubRegion, ApiError> {
    let level = HubLevel::parse(&hub.level).map_err(|_| ApiError::Internal)?;
    let code = RegionCode::parse(&hub.code).map_err(|_| ApiError::Internal)?;
    Directory::china()
        .hub_region(level, code)
        .map_err(|_| ApiError::Internal)
}

/// Revokes a scanner: releases are refused from now on and the edge is told.
#[utoipa::path(delete, path = "/v1/ops/scanners/{scanner_id}", tag = "ops", security(("ops_token" = [])),
    params(("scanner_id" = ScannerId, Path, description = "The scanner to revoke")),
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn revoke_scanner(
    _: Ops,
    State(state): State<AppState>,
    Path(scanner_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scanner_id =
        ScannerId::parse(&scanner_id).map_err(|e| ApiError::invalid("scanner_id", e))?;
    if state
        .stores()
        .directory
        .revoke_scanner(scanner_id.as_str(), state.now().unix_millis())
        .await?
    {
        state.wake_outbox();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such scanner"))
    }
}

/// The audit trail of an order's releases.
#[utoipa::path(get, path = "/v1/ops/audit", tag = "ops", security(("ops_token" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn audit(
    _: Ops,
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid("order_id", "is required as a query parameter"))?;
    let order_id = query
        .order_id
        .ok_or_else(|| ApiError::invalid("order_id", "is required as a query parameter"))?;
    let order_id = OrderId::parse(&order_id).map_err(|e| ApiError::invalid("order_id", e))?;
    let rows = state
        .stores()
        .directory
        .audit_for_order(order_id.as_str())
        .await?;
    let releases = rows
        .into_iter()
        .map(|row| {
            Ok(AuditEntry {
                release_id: stored(&row.release_id)?,
                order_id: stored(&row.order_id)?,
                hub_id: stored(&row.hub_id)?,
                scanner_id: stored(&row.scanner_id)?,
                at: Timestamp::from_unix_millis(row.at),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(axum::Json(AuditResponse { releases }).into_response())
}

/// Gives a shared address record a new number now, through the same crash-safe steps as the
/// periodic rotation (`--rotate-numbers-every`): the record is re-sealed under the new id, the buyers' entries move to
/// it (orders name entries, which keep their ids), and the old number stops existing. The path names the vault number, or a buyer's entry id (as the audit shows
/// it), which stands for the number behind it.
#[utoipa::path(post, path = "/v1/ops/addresses/{address_id}/rotate", tag = "ops", security(("ops_token" = [])),
    params(("address_id" = AddressId, Path, description = "The address number to replace")),
    responses((status = 200, body = RotateAddressResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn rotate_address(
    _: Ops,
    State(state): State<AppState>,
    Path(address_id): Path<String>,
) -> Result<Response, ApiError> {
    let named = AddressId::parse(&address_id).map_err(|e| ApiError::invalid("address_id", e))?;
    let old = match state.stores().directory.entry(named.as_str()).await? {
        Some(entry) if entry.entry_id != entry.address_id => {
            AddressId::parse(&entry.address_id).map_err(|_| ApiError::Internal)?
        }
        _ => named,
    };
    // Crash-safe across the two stores: an interrupted rotation is finished by the job.
    let modified = Provenance {
        channel: "ops".to_owned(),
        by: "ops".to_owned(),
        at: state.now(),
    };
    let new = match numbers::rotate(&state, old.as_str(), Some(modified)).await {
        Ok(new) => new,
        Err(RotationError::NoSuchNumber) => return Err(ApiError::NotFound("no such address")),
        Err(RotationError::Unreadable) => return Err(ApiError::Internal),
        Err(RotationError::Store(err)) => return Err(err.into()),
    };
    Ok(axum::Json(RotateAddressResponse { address_id: new }).into_response())
}
