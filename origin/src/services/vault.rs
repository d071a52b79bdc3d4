//! The vault's records as the handlers need them: a postal address sealed for the stores (which
//! give one number per distinct address, found through the keyed blind index, whether the
//! vault or the temporary table keeps it), opened address and contact records, and the
//! recipient of an order assembled from both.

use lasthop_core::api::Recipient;
use lasthop_core::contact::PostalAddress;
use lasthop_core::ids::AddressId;
use lasthop_core::region::{DeliveryRegion, Directory, RegionCode};
use rand::rngs::OsRng;

use crate::error::ApiError;
use crate::records::{self, AddressPlain, ContactPlain, Provenance};
use crate::state::AppState;
use crate::store::{NewAddress, OrderRow};

/// A new sealed record for `postal` under a new number, with its keyed blind index. The
/// stores keep it unless the same address (after normalisation) is stored or waiting already,
/// by anyone, and then answer that number instead; the lookup goes through the blind index
/// only, so two registrations of one address share one number.
pub fn seal_address(state: &AppState, postal: &PostalAddress, by: &str) -> NewAddress {
    let blind_index = state.keys().blind_index.index(&postal.normalised_key());
    let provenance = Provenance {
        channel: "shop".to_owned(),
        by: by.to_owned(),
        at: state.now(),
    };
    let (province, city, district) = postal.region().path();
    let mut region_path = vec![province.to_string(), city.to_string()];
    if let Some(district) = district {
        region_path.push(district.to_string());
    }
    let plain = AddressPlain {
        country: postal.country().as_str().to_owned(),
        region_path,
        line: postal.line().as_str().to_owned(),
        postal_code: postal.postal_code().as_str().to_owned(),
        registered: provenance.clone(),
        modified: provenance,
    };
    let address_id = AddressId::generate(&mut OsRng);
    let record = records::seal(&state.keys().vault, address_id.as_str(), &plain);
    NewAddress {
        address_id: address_id.to_string(),
        blind_index,
        record,
    }
}

/// An address number the stores answered.
///
/// # Errors
/// `internal` for a number that does not parse (a damaged store).
pub fn stored_number(number: &str) -> Result<AddressId, ApiError> {
    AddressId::parse(number).map_err(|_| ApiError::Internal)
}

/// An address record, opened.
///
/// # Errors
/// `not_found` for an unknown number; a store fault; `internal` for a record that does not open.
pub async fn open_address(state: &AppState, address_id: &str) -> Result<AddressPlain, ApiError> {
    // Sealed under the number it is stored as (another one when it was merged at a flush).
    let (sealed_as, sealed) = state
        .stores()
        .address(address_id)
        .await?
        .ok_or(ApiError::NotFound("no such address"))?;
    records::open(&state.keys().vault, &sealed_as, &sealed).map_err(|_| ApiError::Internal)
}

/// A contact record (buyer or seller), opened.
///
/// # Errors
/// A store fault; `internal` for a missing record or one that does not open.
pub async fn open_contact(state: &AppState, contact_id: &str) -> Result<ContactPlain, ApiError> {
    let sealed = state
        .stores()
        .contact(contact_id)
        .await?
        .ok_or(ApiError::Internal)?;
    records::open(&state.keys().vault, contact_id, &sealed).map_err(|_| ApiError::Internal)
}

/// The delivery code of an opened address.
///
/// # Errors
/// `internal` for a record without one (written only after parsing, so a damaged store).
pub fn delivery_code(plain: &AddressPlain) -> Result<RegionCode, ApiError> {
    plain
        .delivery_code()
        .and_then(|c| RegionCode::parse(c).ok())
        .ok_or(ApiError::Internal)
}

/// The delivery region of an opened address.
///
/// # Errors
/// As [`delivery_code`].
pub fn delivery_region(plain: &AddressPlain) -> Result<DeliveryRegion, ApiError> {
    Directory::china()
        .delivery_region(delivery_code(plain)?)
        .map_err(|_| ApiError::Internal)
}

/// An order's recipient: its buyer's name and phone with the order's address. Plaintext
/// personal data: the caller seals it or answers it only where the rules allow.
///
/// # Errors
/// A store fault or a record that does not open.
pub async fn recipient(
    state: &AppState,
    order: &OrderRow,
    address: &AddressPlain,
) -> Result<Recipient, ApiError> {
    let contact = open_contact(state, &order.buyer_id).await?;
    Ok(Recipient {
        name: contact.name.clone(),
        phone: contact.phone.clone().unwrap_or_default(),
        country: address.country.clone(),
        region: delivery_code(address)?.to_string(),
        line: address.line.clone(),
        postal_code: address.postal_code.clone(),
    })
}
