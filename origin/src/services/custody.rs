//! The chain of custody at the origin: the final hop's release, the delivery and a device's
//! credential renewal.
//!
//! - A release needs a device-bound hub scanner whose chain of custody holds
//!   ([`lasthop_core::custody::verify_chain`]) and ends in this scanner's fresh scan with a
//!   nonce never seen before. It belongs to one order and one hub, answers only until its
//!   `erase_after`, writes an audit row for every answer, and seals the recipient with HPKE to
//!   the device's X25519 key. A scanner without a device gets the recipient in the clear only
//!   when the origin runs with its legacy switch (and only at the order's final hub).
//! - Releases are rate-limited per scanner (GCRA, `governor`).
//! - A delivery needs the release's hub and that device's signed deliver scan; a retry with
//!   the same release and proof answers 200 again, so a lost answer never strands an order.
//! - A renewal gives a device-bound scanner a fresh shift-long credential, never to a revoked
//!   one: a revoked scanner keeps working at an edge no push reached for at most one shift.
//!
//! Every refusal is counted (`lasthop_origin_custody_refusals`) and audited
//! (`custody_refusals`) with a fixed reason word, never request data.

use std::collections::HashMap;

use lasthop_core::api::paths::{SCANNER_RENEW, SCAN_DELIVER};
use lasthop_core::api::{
    parse_json, DeliverScanRequest, DeliveryRequest, ReleaseRequest, ReleaseResponse,
    ScannerRenewalRequest, ScannerRenewalResponse,
};
use lasthop_core::credential::{ScannerClaims, ScannerRole};
use lasthop_core::custody::{verify_chain, ChainScanner, CustodyOrder};
use lasthop_core::device::{DevicePublicKey, SignedScan, TokenId, SCAN_WINDOW_SECS};
use lasthop_core::ids::{BuyerId, OrderId, PlatformId, ReleaseId, ScannerId};
use lasthop_core::sealed_box::{recipient_aad, seal, BoxPublicKey, Purpose};
use lasthop_core::signing::within_window;
use lasthop_core::time::Timestamp;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};

use crate::auth;
use crate::error::ApiError;
use crate::metrics::RefusalLabels;
use crate::routes::dto::stored;
use crate::services::{carriers, vault};
use crate::state::AppState;
use crate::store::{OrderRow, Recorded, RefusalRow, ReleaseRow, ScannerRow};

/// A refused call: the answer, and the word it is counted and audited under.
#[derive(Debug)]
pub struct Refused {
    /// What the caller gets.
    pub error: ApiError,
    /// Why, as a fixed word.
    pub reason: &'static str,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        let reason = error.code();
        Self { error, reason }
    }
}

impl From<crate::store::StoreError> for Refused {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

fn refuse(error: ApiError, reason: &'static str) -> Refused {
    Refused { error, reason }
}

/// What is known about a call so far, for its refusal's audit row.
#[derive(Debug, Default)]
struct Context {
    order_id: Option<String>,
    scanner_id: Option<String>,
}

/// Counts and audits a refusal; the audit write failing is logged, never hides the refusal.
async fn account(state: &AppState, endpoint: &'static str, context: Context, refused: &Refused) {
    state
        .metrics()
        .custody_refusals
        .get_or_create(&RefusalLabels {
            endpoint: endpoint.to_owned(),
            reason: refused.reason.to_owned(),
        })
        .inc();
    tracing::warn!(
        endpoint,
        reason = refused.reason,
        code = refused.error.code(),
        "custody call refused"
    );
    let row = RefusalRow {
        endpoint: endpoint.to_owned(),
        order_id: context.order_id,
        scanner_id: context.scanner_id,
        code: refused.error.code().to_owned(),
        reason: refused.reason.to_owned(),
        at: state.now().unix_millis(),
    };
    if let Err(err) = state.stores().directory.record_refusal(&row).await {
        tracing::error!(error = %err, "auditing a refused custody call failed");
    }
}

/// `POST /internal/v1/releases`.
///
/// # Errors
/// The refusal, already counted and audited.
pub async fn release(state: &AppState, body: &ReleaseRequest) -> Result<ReleaseResponse, ApiError> {
    let mut context = Context::default();
    match release_recipient(state, body, &mut context).await {
        Ok(released) => Ok(released),
        Err(refused) => {
            account(state, "release", context, &refused).await;
            Err(refused.error)
        }
    }
}

async fn release_recipient(
    state: &AppState,
    body: &ReleaseRequest,
    context: &mut Context,
) -> Result<ReleaseResponse, Refused> {
    let request = body.parse().map_err(ApiError::from)?;
    context.order_id = Some(request.order_id.to_string());
    served(state, &request.platform_id)?;
    let (claims, row) = auth::hub_scanner(state, &request.scanner_token).await?;
    context.scanner_id = Some(claims.scanner_id.to_string());
    rate_limit(state, &claims.scanner_id)?;
    let order = order_of(state, &request.platform_id, &request.order_id).await?;
    if order.status == "delivered" {
        return Err(ApiError::OrderClosed("the order has been delivered").into());
    }
    let entry = vault::order_entry(state, &order).await?;
    let region = vault::delivery_region(&entry)?;
    let box_key =
        match claims.device {
            Some(_) => {
                let buyer = stored::<BuyerId>(&order.buyer_id)?;
                let carriage = carriers::carriage_of(state, &order).await?;
                let custody = CustodyOrder {
                    platform_id: &request.platform_id,
                    order_id: &request.order_id,
                    buyer_id: &buyer,
                    delivery: &region,
                    carriage: &carriage,
                };
                let scanners = chain_scanners(state, &request.chain).await?;
                let now = state.now();
                let last = verify_chain(
                    &custody,
                    &request.chain,
                    |id| scanners.get(id).cloned(),
                    now,
                    SCAN_WINDOW_SECS,
                )
                .map_err(|err| refuse(chain_error(err.code()), err.reason()))?;
                if last.scanner_id != claims.scanner_id || last.token_id != claims.token_id {
                    return Err(refuse(
                        ApiError::Forbidden("the final scan is not this scanner's"),
                        "final_scan_not_presenter",
                    ));
                }
                note_nonce(state, &claims.scanner_id, &last.nonce.to_hex(), now).await?;
                Some(box_key_of(&row)?)
            }
            None if state.custody().legacy_plaintext_recipients => {
                // Legacy: the hub is checked against the plaintext region, nothing more.
                if region.final_hub() != claims.hub {
                    return Err(refuse(
                        ApiError::OffRoute("this hub is not the order's final hub"),
                        "not_final_hub",
                    ));
                }
                None
            }
            None => return Err(refuse(
                ApiError::Forbidden(
                    "this scanner has no enrolled device; recipients are only released to devices",
                ),
                "no_device",
            )),
        };
    let now = state.now();
    let ttl = i64::try_from(state.release_ttl().as_secs()).unwrap_or(i64::MAX);
    let fresh = ReleaseRow {
        release_id: ReleaseId::generate(&mut OsRng).to_string(),
        order_id: order.order_id.clone(),
        hub_id: claims.hub_id.to_string(),
        scanner_id: claims.scanner_id.to_string(),
        created_at: now.unix_millis(),
        erase_after: now.plus_seconds(ttl).unix_millis(),
    };
    // Fail closed: without a committed audit row nothing is released.
    let outcome = state
        .stores()
        .directory
        .record_release(&fresh, &order.address_id, now.unix_millis())
        .await
        .map_err(|_| {
            ApiError::Unavailable(
                "the release could not be audited, nothing was released; try again shortly",
            )
        })?;
    let release = match outcome {
        Recorded::Released(release) => release,
        Recorded::Closed => {
            return Err(ApiError::OrderClosed("the order has been delivered").into());
        }
        Recorded::OtherHub => {
            return Err(refuse(
                ApiError::Forbidden("the order is released to another hub"),
                "released_to_another_hub",
            ))
        }
        Recorded::Expired => {
            return Err(refuse(
                ApiError::WrongState(
                    "the release has expired; its recipient is no longer given out",
                ),
                "release_expired",
            ))
        }
    };
    let release_id = stored::<ReleaseId>(&release.release_id)?;
    let recipient = vault::recipient(state, &order, &entry).await?;
    let (recipient, sealed_recipient) = match box_key {
        Some(box_key) => {
            let plain = serde_json::to_vec(&recipient).map_err(|_| ApiError::Internal)?;
            let plain = zeroize::Zeroizing::new(plain);
            let aad = recipient_aad(&release_id, &request.order_id);
            let sealed =
                seal(&box_key, Purpose::Recipient, &aad, &plain, &mut OsRng).map_err(|_| {
                    refuse(
                        ApiError::Forbidden("the device's box key is unusable"),
                        "bad_box_key",
                    )
                })?;
            (None, Some(sealed))
        }
        None => (Some(recipient), None),
    };
    Ok(ReleaseResponse {
        release_id,
        erase_after: Timestamp::from_unix_millis(release.erase_after),
        recipient,
        sealed_recipient,
    })
}

/// `POST /internal/v1/deliveries`: closes the order.
///
/// # Errors
/// The refusal, already counted and audited.
pub async fn deliver(state: &AppState, body: &DeliveryRequest) -> Result<(), ApiError> {
    let mut context = Context::default();
    match close_order(state, body, &mut context).await {
        Ok(()) => Ok(()),
        Err(refused) => {
            account(state, "delivery", context, &refused).await;
            Err(refused.error)
        }
    }
}

async fn close_order(
    state: &AppState,
    body: &DeliveryRequest,
    context: &mut Context,
) -> Result<(), Refused> {
    let request = body.parse().map_err(ApiError::from)?;
    context.order_id = Some(request.order_id.to_string());
    served(state, &request.platform_id)?;
    let (claims, _) = auth::hub_scanner(state, &request.scanner_token).await?;
    context.scanner_id = Some(claims.scanner_id.to_string());
    let order = order_of(state, &request.platform_id, &request.order_id).await?;
    let directory = &state.stores().directory;
    match directory.release(request.release_id.as_str()).await? {
        Some(release) if release.order_id == order.order_id => {
            if release.hub_id != claims.hub_id.as_str() {
                return Err(ApiError::Forbidden(
                    "only the hub the order was released to can deliver it",
                )
                .into());
            }
        }
        _ => return Err(ApiError::NotFound("no such release for this order").into()),
    }
    match (&claims.device, &request.scan) {
        (Some(key), Some(scan)) => {
            check_device_scan(state, &claims, key, scan, SCAN_DELIVER)?;
            let signed: DeliverScanRequest = parse_json(scan.body.as_bytes()).map_err(|_| {
                refuse(
                    ApiError::Forbidden("the signed scan is not this delivery"),
                    "foreign_scan",
                )
            })?;
            let signed = signed.parse().map_err(|_| {
                refuse(
                    ApiError::Forbidden("the signed scan is not this delivery"),
                    "foreign_scan",
                )
            })?;
            if signed.platform_id != request.platform_id
                || signed.order_id != request.order_id
                || signed.release_id != request.release_id
                || signed.signature != request.signature
            {
                return Err(refuse(
                    ApiError::Forbidden("the signed scan is not this delivery"),
                    "foreign_scan",
                ));
            }
            note_nonce(state, &claims.scanner_id, &scan.nonce, state.now()).await?;
        }
        (Some(_), None) => {
            return Err(refuse(
                ApiError::Unauthorized("the delivery carries no device signature"),
                "unsigned_scan",
            ))
        }
        (None, _) if state.custody().legacy_plaintext_recipients => {}
        (None, _) => {
            return Err(refuse(
                ApiError::Forbidden("this scanner has no enrolled device"),
                "no_device",
            ))
        }
    }
    // Only a digest of the proof is kept: enough to match a retry or a later dispute.
    let digest = hex::encode(Sha256::digest(request.signature.as_bytes()));
    if order.status != "delivered"
        && directory
            .deliver(order.order_id.as_str(), &digest, state.now().unix_millis())
            .await?
    {
        return Ok(());
    }
    // Delivered already: the same release and proof again is a retry whose answer was lost.
    match directory.delivered_receipt(order.order_id.as_str()).await? {
        Some(receipt) if receipt == digest => Ok(()),
        _ => Err(refuse(
            ApiError::OrderClosed("the order has already been delivered"),
            "already_delivered",
        )),
    }
}

/// `POST /internal/v1/scanner-renewals`: a fresh shift-long credential for a device-bound
/// scanner, signed by its device, while its current one is valid and it is not revoked.
///
/// # Errors
/// The refusal, already counted and audited.
pub async fn renew(
    state: &AppState,
    body: &ScannerRenewalRequest,
) -> Result<ScannerRenewalResponse, ApiError> {
    let mut context = Context::default();
    match renew_credential(state, body, &mut context).await {
        Ok(renewed) => Ok(renewed),
        Err(refused) => {
            account(state, "renewal", context, &refused).await;
            Err(refused.error)
        }
    }
}

async fn renew_credential(
    state: &AppState,
    body: &ScannerRenewalRequest,
    context: &mut Context,
) -> Result<ScannerRenewalResponse, Refused> {
    let (claims, _) = auth::scanner(state, body.scanner_token.trim()).await?;
    context.scanner_id = Some(claims.scanner_id.to_string());
    let Some(key) = claims.device else {
        return Err(refuse(
            ApiError::Forbidden("only a device-bound scanner renews its credential"),
            "no_device",
        ));
    };
    check_device_scan(state, &claims, &key, &body.scan, SCANNER_RENEW)?;
    let now = state.now();
    note_nonce(state, &claims.scanner_id, &body.scan.nonce, now).await?;
    let ttl = i64::try_from(state.custody().device_scanner_ttl.as_secs()).unwrap_or(i64::MAX);
    let expires_at = now.plus_seconds(ttl);
    let token = state.keys().credentials.issue_scanner(&ScannerClaims {
        expires_at,
        token_id: TokenId::generate(&mut OsRng),
        ..claims
    });
    Ok(ScannerRenewalResponse { token, expires_at })
}

/// The expiry of a new credential: one shift for a device-bound scanner, the legacy lifetime
/// otherwise.
pub fn credential_lifetime(state: &AppState, device_bound: bool) -> Timestamp {
    let ttl = if device_bound {
        state.custody().device_scanner_ttl
    } else {
        state.scanner_ttl()
    };
    state
        .now()
        .plus_seconds(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

/// Checks a relayed device-signed scan: this scanner's, this credential's, this path, signed by
/// the enrolled device, fresh.
fn check_device_scan(
    state: &AppState,
    claims: &ScannerClaims,
    key: &DevicePublicKey,
    scan: &SignedScan,
    path: &str,
) -> Result<(), Refused> {
    let wrong = |reason| {
        refuse(
            ApiError::Unauthorized("the device signature is not valid"),
            reason,
        )
    };
    if scan.scanner_id != claims.scanner_id || scan.tid != claims.token_id {
        return Err(wrong("foreign_scan"));
    }
    if scan.method != "POST" || scan.path != path {
        return Err(wrong("wrong_scan"));
    }
    scan.verify_signature(key)
        .map_err(|_| wrong("bad_signature"))?;
    if !within_window(state.now(), scan.timestamp, SCAN_WINDOW_SECS) {
        return Err(wrong("stale_scan"));
    }
    Ok(())
}

async fn note_nonce(
    state: &AppState,
    scanner_id: &ScannerId,
    nonce: &str,
    now: Timestamp,
) -> Result<(), Refused> {
    if state
        .stores()
        .directory
        .note_device_nonce(scanner_id.as_str(), nonce, now.unix_millis())
        .await?
    {
        Ok(())
    } else {
        Err(refuse(
            ApiError::Unauthorized("this device signature was used before"),
            "replayed_scan",
        ))
    }
}

fn rate_limit(state: &AppState, scanner_id: &ScannerId) -> Result<(), Refused> {
    state
        .release_limiter()
        .check_key(&scanner_id.to_string())
        .map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let seconds = u32::try_from(wait.as_secs().saturating_add(1)).unwrap_or(u32::MAX);
            refuse(ApiError::RateLimited(seconds), "rate_limited")
        })
}

fn served(state: &AppState, platform: &PlatformId) -> Result<(), Refused> {
    if state.serves_platform(platform.as_str()) {
        Ok(())
    } else {
        Err(ApiError::invalid("platform_id", "is not a platform served here").into())
    }
}

async fn order_of(
    state: &AppState,
    platform: &PlatformId,
    order_id: &OrderId,
) -> Result<OrderRow, Refused> {
    match state.stores().directory.order(order_id.as_str()).await? {
        Some(order) if order.platform_id == platform.as_str() => Ok(order),
        _ => Err(ApiError::NotFound("no such order").into()),
    }
}

/// The enrolled, unrevoked, device-bound scanners a chain names, with their hubs' regions.
async fn chain_scanners(
    state: &AppState,
    chain: &[SignedScan],
) -> Result<HashMap<ScannerId, ChainScanner>, Refused> {
    let directory = &state.stores().directory;
    let mut found = HashMap::new();
    for scan in chain.iter().take(lasthop_core::custody::MAX_CHAIN_LINKS) {
        if found.contains_key(&scan.scanner_id) {
            continue;
        }
        let Some(row) = directory.scanner(scan.scanner_id.as_str()).await? else {
            continue;
        };
        let (Some(sign_key), None) = (&row.sign_key, row.revoked_at) else {
            continue;
        };
        let Some(hub) = directory.hub(&row.hub_id).await? else {
            continue;
        };
        let role = match row.role.as_str() {
            "pickup" => ScannerRole::Pickup,
            "hub" => ScannerRole::Hub,
            _ => return Err(ApiError::Internal.into()),
        };
        found.insert(
            scan.scanner_id.clone(),
            ChainScanner {
                hub_id: stored(&row.hub_id)?,
                hub: crate::routes::ops::hub_region(&hub)?,
                role,
                sign_key: DevicePublicKey::parse(sign_key).map_err(|_| ApiError::Internal)?,
                carrier_id: stored(&directory.hub_carrier(&row.hub_id).await?)?,
            },
        );
    }
    Ok(found)
}

fn box_key_of(row: &ScannerRow) -> Result<BoxPublicKey, Refused> {
    row.box_key
        .as_deref()
        .and_then(|key| BoxPublicKey::parse(key).ok())
        .ok_or_else(|| ApiError::Internal.into())
}

fn chain_error(code: lasthop_core::api::ErrorCode) -> ApiError {
    use lasthop_core::api::ErrorCode;
    match code {
        ErrorCode::Unauthorized => {
            ApiError::Unauthorized("the chain of custody is not signed by enrolled devices")
        }
        ErrorCode::OffRoute => ApiError::OffRoute("the chain of custody does not reach this hub"),
        _ => ApiError::Forbidden("the chain of custody does not hold"),
    }
}
