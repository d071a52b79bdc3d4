//! Vault records in the clear (only ever in memory) and their sealing. The associated
//! data of every ciphertext is (record id, key version), via the core's `VaultKeys`, so a
//! ciphertext copied onto another record id fails to open.

use lasthop_core::keys::{KeyVersion, VaultKeys};
use rand::rngs::OsRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::store::SealedRecord;

pub use lasthop_core::api::Provenance;

/// A shared address record's plaintext: the normalised address under its vault number, shared
/// by every buyer who registered the same address. Nothing of any one buyer's: their spelling,
/// label and recipient are in their [`EntryPlain`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPlain {
    /// ISO country code, e.g. `CN`.
    pub country: String,
    /// Region codes from province down to the delivery region.
    pub region_path: Vec<String>,
    /// Street line.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
    /// First registration.
    pub registered: Provenance,
    /// Last change.
    pub modified: Provenance,
}

/// A buyer entry's plaintext: one buyer's full record of one address (FIG. 2).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPlain {
    /// ISO country code, e.g. `CN`.
    pub country: String,
    /// Region codes from province down to the delivery region.
    pub region_path: Vec<String>,
    /// Street line as this buyer spelled it.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
    /// The buyer's label.
    pub label: String,
    /// Who receives parcels here when the buyer named someone else; `None`: the buyer, read
    /// from their contact when needed (so an entry can be written without reading it, and
    /// follows the buyer's own name and phone).
    #[serde(default)]
    pub recipient: Option<RecipientPlain>,
    /// Registration.
    pub registered: Provenance,
    /// Last modification (the registration until the first).
    pub modified: Provenance,
}

/// A recipient other than the buyer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientPlain {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
}

impl EntryPlain {
    /// The delivery region: the last code of the path.
    pub fn delivery_code(&self) -> Option<&str> {
        self.region_path.last().map(String::as_str)
    }
}

impl std::fmt::Debug for EntryPlain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntryPlain([redacted])")
    }
}

impl AddressPlain {
    /// The delivery region: the last code of the path.
    pub fn delivery_code(&self) -> Option<&str> {
        self.region_path.last().map(String::as_str)
    }

    /// The normalised key its blind index is made of, as at registration.
    pub fn normalised_key(&self) -> String {
        lasthop_core::contact::normalised_key(
            &self.country,
            self.delivery_code().unwrap_or_default(),
            &self.line,
            &self.postal_code,
        )
    }
}

impl std::fmt::Debug for AddressPlain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressPlain([redacted])")
    }
}

/// A contact record's plaintext: a buyer's name and phone, or a seller's name.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPlain {
    /// Name.
    pub name: String,
    /// Phone (buyers only).
    pub phone: Option<String>,
    /// First registration.
    pub registered: Provenance,
    /// Last change.
    pub modified: Provenance,
}

impl std::fmt::Debug for ContactPlain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactPlain([redacted])")
    }
}

/// A sealed record could not be opened or parsed: wrong key, tampering, or a record moved
/// to another id.
#[derive(Debug, thiserror::Error)]
#[error("a vault record could not be opened")]
pub struct RecordError;

/// Seals a record under the current vault key with `record_id` in the associated data.
pub fn seal<T: Serialize>(keys: &VaultKeys, record_id: &str, plain: &T) -> SealedRecord {
    // Serialising these plain structs of strings cannot fail.
    let json = Zeroizing::new(serde_json::to_vec(plain).unwrap_or_default());
    let (version, ciphertext) = keys.seal_record(record_id, &json, &mut OsRng);
    SealedRecord {
        key_version: i64::from(version.0),
        ciphertext,
    }
}

/// Opens a record sealed by [`seal`] for the same `record_id`.
///
/// # Errors
/// [`RecordError`] when the version is unknown, the id differs or the bytes were altered.
pub fn open<T: DeserializeOwned>(
    keys: &VaultKeys,
    record_id: &str,
    sealed: &SealedRecord,
) -> Result<T, RecordError> {
    let version = u32::try_from(sealed.key_version).map_err(|_| RecordError)?;
    let json = Zeroizing::new(
        keys.open_record(KeyVersion(version), record_id, &sealed.ciphertext)
            .map_err(|_| RecordError)?,
    );
    serde_json::from_slice(&json).map_err(|_| RecordError)
}
