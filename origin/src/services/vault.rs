//! The vault's records as the handlers need them: a postal address sealed for the stores as a
//! shared record (one number per distinct address, found through the keyed blind index,
//! whether the vault or the temporary table keeps it), a buyer's own entry for it (their
//! spelling, label, recipient and provenance, under the entry's own id), the opened records,
//! and the recipient of an order, which comes from the order's entry.

use lasthop_core::api::Recipient;
use lasthop_core::contact::PostalAddress;
use lasthop_core::ids::AddressId;
use lasthop_core::region::{DeliveryRegion, Directory, RegionCode};
use rand::rngs::OsRng;

use crate::error::ApiError;
use crate::records::{self, AddressPlain, ContactPlain, EntryPlain, Provenance, RecipientPlain};
use crate::state::AppState;
use crate::store::{ByIdKind, EntryRow, NewAddress, NewEntry, OrderRow};

/// A new shared record for `postal` under a new number, with its keyed blind index. The
/// stores keep it unless the same address (after normalisation) is stored or waiting already,
/// by anyone, and then answer that number instead; the lookup goes through the blind index
/// only, so two registrations of one address share one number. It holds the normalised
/// address and nothing of the buyer who first registered it, since it serves every buyer.
pub fn seal_address(state: &AppState, postal: &PostalAddress) -> NewAddress {
    let normalised = postal.normalised_key();
    let mut indexes = state.keys().blind_index.indexes(&normalised).into_iter();
    let blind_index = indexes.next().unwrap_or_default();
    let older_indexes = indexes.collect();
    let provenance = Provenance {
        channel: "vault".to_owned(),
        by: "vault".to_owned(),
        at: state.now(),
    };
    let line = normalised.split('|').nth(2).unwrap_or_default().to_owned();
    let plain = AddressPlain {
        country: postal.country().as_str().to_owned(),
        region_path: region_path(postal),
        line,
        postal_code: postal.postal_code().as_str().to_owned(),
        registered: provenance.clone(),
        modified: provenance,
    };
    let address_id = AddressId::generate(&mut OsRng);
    let record = records::seal(&state.keys().vault, address_id.as_str(), &plain);
    NewAddress {
        address_id: address_id.to_string(),
        blind_index,
        older_indexes,
        record,
    }
}

/// Region codes of an address from the province down to its delivery region.
fn region_path(postal: &PostalAddress) -> Vec<String> {
    let (province, city, district) = postal.region().path();
    let mut path = vec![province.to_string(), city.to_string()];
    if let Some(district) = district {
        path.push(district.to_string());
    }
    path
}

/// A buyer's entry for `postal` as they spelled it, first registered with `provenance`; the
/// recipient is the buyer unless `recipient` names someone else.
pub fn entry_plain(
    postal: &PostalAddress,
    label: &str,
    recipient: Option<RecipientPlain>,
    provenance: Provenance,
) -> EntryPlain {
    EntryPlain {
        country: postal.country().as_str().to_owned(),
        region_path: region_path(postal),
        line: postal.line().as_str().to_owned(),
        postal_code: postal.postal_code().as_str().to_owned(),
        label: label.to_owned(),
        recipient,
        registered: provenance.clone(),
        modified: provenance,
    }
}

/// An entry sealed under its own id (the id is in the associated data).
pub fn seal_entry(state: &AppState, entry_id: &str, plain: &EntryPlain) -> NewEntry {
    NewEntry {
        entry_id: entry_id.to_owned(),
        record: records::seal(&state.keys().vault, entry_id, plain),
    }
}

/// A buyer's entry, opened. An entry from before entries were sealed (no record under its id)
/// is read from its shared record and the directory's label.
///
/// # Errors
/// A store fault; `internal` for a record that does not open.
pub async fn open_entry(state: &AppState, entry: &EntryRow) -> Result<EntryPlain, ApiError> {
    if let Some(sealed) = state
        .stores()
        .record(ByIdKind::Entry, &entry.entry_id)
        .await?
    {
        return records::open(&state.keys().vault, &entry.entry_id, &sealed)
            .map_err(|_| ApiError::Internal);
    }
    let shared = open_address(state, &entry.address_id).await?;
    Ok(EntryPlain {
        country: shared.country,
        region_path: shared.region_path,
        line: shared.line,
        postal_code: shared.postal_code,
        label: entry.label.clone(),
        recipient: None,
        registered: shared.registered,
        modified: shared.modified,
    })
}

/// The entry an order goes to, opened.
///
/// # Errors
/// `not_found` when the order names no entry; as [`open_entry`].
pub async fn order_entry(state: &AppState, order: &OrderRow) -> Result<EntryPlain, ApiError> {
    let entry = state
        .stores()
        .directory
        .entry(&order.address_id)
        .await?
        .ok_or(ApiError::NotFound("no such address"))?;
    open_entry(state, &entry).await
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
        .record(ByIdKind::Contact, contact_id)
        .await?
        .ok_or(ApiError::Internal)?;
    records::open(&state.keys().vault, contact_id, &sealed).map_err(|_| ApiError::Internal)
}

/// The delivery code of an opened entry.
///
/// # Errors
/// `internal` for a record without one (written only after parsing, so a damaged store).
pub fn delivery_code(plain: &EntryPlain) -> Result<RegionCode, ApiError> {
    plain
        .delivery_code()
        .and_then(|c| RegionCode::parse(c).ok())
        .ok_or(ApiError::Internal)
}

/// The delivery region of an opened entry.
///
/// # Errors
/// As [`delivery_code`].
pub fn delivery_region(plain: &EntryPlain) -> Result<DeliveryRegion, ApiError> {
    Directory::china()
        .delivery_region(delivery_code(plain)?)
        .map_err(|_| ApiError::Internal)
}

/// The recipient named in an entry: someone the buyer named, else the buyer (from `contact`).
pub fn recipient_of(entry: &EntryPlain, contact: &ContactPlain) -> RecipientPlain {
    entry.recipient.clone().unwrap_or_else(|| RecipientPlain {
        name: contact.name.clone(),
        phone: contact.phone.clone().unwrap_or_default(),
    })
}

/// An order's recipient, from its entry: the recipient named there (the buyer, unless they gave
/// another) at the address as the buyer spelled it. Plaintext personal data: the caller seals
/// it or answers it only where the rules allow.
///
/// # Errors
/// A store fault; `internal` for an entry without a delivery region.
pub async fn recipient(
    state: &AppState,
    order: &OrderRow,
    entry: &EntryPlain,
) -> Result<Recipient, ApiError> {
    let who = match &entry.recipient {
        Some(named) => named.clone(),
        None => recipient_of(entry, &open_contact(state, &order.buyer_id).await?),
    };
    Ok(Recipient {
        name: who.name,
        phone: who.phone,
        country: entry.country.clone(),
        region: delivery_code(entry)?.to_string(),
        line: entry.line.clone(),
        postal_code: entry.postal_code.clone(),
    })
}
