//! Buyer bodies: registration, addresses and the buyer's own profile.

use serde::{Deserialize, Serialize};

use crate::contact::{AddressLabel, PersonName, PhoneNumber, PostalAddress};
use crate::ids::{AddressId, BuyerId, HubId, OrderId, PlatformId, ReleaseId, SellerId};
use crate::sealed_box::{BoxPublicKey, SealedBox};
use crate::time::Timestamp;

use super::errors::FieldError;
use super::fields::platform;

/// The `address` object of buyer requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// ISO country code: `CN`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::country_code))]
    pub country: String,
    /// A known district code (GB/T 2260), or a city code where the city has no districts.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::region_code))]
    pub region: String,
    /// Street line.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::address_line))]
    pub line: String,
    /// 6 digits.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::postal_code))]
    pub postal_code: String,
    /// The buyer's label for it, e.g. `home`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::address_label))]
    pub label: String,
    /// Who receives parcels here, when not the buyer (a gift to a company address); absent:
    /// the buyer's own name and phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInput>,
}

/// The `recipient` object of an address: a name and a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    /// The recipient's name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::person_name))]
    pub name: String,
    /// The recipient's phone.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::phone_number))]
    pub phone: String,
}

/// A parsed [`RecipientInput`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    /// Name.
    pub name: PersonName,
    /// Phone.
    pub phone: PhoneNumber,
}

impl RecipientInput {
    /// Parses both fields; errors name `<prefix>recipient.<field>`.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self, prefix: &str) -> Result<NewRecipient, FieldError> {
        let prefix = format!("{prefix}recipient.");
        Ok(NewRecipient {
            name: PersonName::parse(&self.name)
                .map_err(|e| FieldError::from_contact(&prefix, &e))?,
            phone: PhoneNumber::parse(&self.phone)
                .map_err(|e| FieldError::from_contact(&prefix, &e))?,
        })
    }
}

/// Who registered or last changed a record, through which channel, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provenance {
    /// `shop` (the contract's plaintext path), `page` (sealed in the buyer's browser), `ops`.
    #[cfg_attr(feature = "openapi", schema(examples("shop")))]
    pub channel: String,
    /// The acting id (`b_…`) or `ops`.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A parsed address input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAddress {
    /// The address.
    pub address: PostalAddress,
    /// The buyer's label for it.
    pub label: AddressLabel,
    /// Who receives parcels there, when not the buyer.
    pub recipient: Option<NewRecipient>,
}

impl AddressInput {
    /// Parses every field; errors name `address.<field>`.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewAddress, FieldError> {
        let address =
            PostalAddress::parse(&self.country, &self.region, &self.line, &self.postal_code)
                .map_err(|e| FieldError::from_contact("address.", &e))?;
        let label = AddressLabel::parse(&self.label)
            .map_err(|e| FieldError::from_contact("address.", &e))?;
        let recipient = self
            .recipient
            .as_ref()
            .map(|r| r.parse("address."))
            .transpose()?;
        Ok(NewAddress {
            address,
            label,
            recipient,
        })
    }
}

/// `POST /v1/buyers` (and `/internal/v1/buyers`) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterBuyerRequest {
    /// The shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// The buyer's name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::person_name))]
    pub name: String,
    /// The buyer's phone.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::phone_number))]
    pub phone: String,
    /// The first address.
    pub address: AddressInput,
}

/// A parsed [`RegisterBuyerRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuyer {
    /// The shop.
    pub platform_id: PlatformId,
    /// Name.
    pub name: PersonName,
    /// Phone.
    pub phone: PhoneNumber,
    /// First address.
    pub address: NewAddress,
}

impl RegisterBuyerRequest {
    /// Parses every field.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewBuyer, FieldError> {
        Ok(NewBuyer {
            platform_id: platform("platform_id", &self.platform_id)?,
            name: PersonName::parse(&self.name).map_err(|e| FieldError::from_contact("", &e))?,
            phone: PhoneNumber::parse(&self.phone).map_err(|e| FieldError::from_contact("", &e))?,
            address: self.address.parse()?,
        })
    }
}

/// `201` answer to buyer registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterBuyerResponse {
    /// The new buyer.
    pub buyer_id: BuyerId,
    /// The first address's number.
    pub address_id: AddressId,
    /// Session credential for the buyer (`lh1.…`), sent as `Authorization: Bearer`.
    pub buyer_token: String,
}

/// `POST /v1/buyers/me/addresses` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddAddressRequest {
    /// The address.
    pub address: AddressInput,
}

impl AddAddressRequest {
    /// Parses the address.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self) -> Result<NewAddress, FieldError> {
        self.address.parse()
    }
}

/// `201` answer to adding an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddAddressResponse {
    /// The buyer's id for this address (the same for an address identical to one of this
    /// buyer's; it says nothing about other buyers).
    pub address_id: AddressId,
}

/// One address in the buyer's own profile (plaintext, to its owner only): the full record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressView {
    /// The buyer's id for this address.
    pub address_id: AddressId,
    /// The buyer's label.
    #[cfg_attr(feature = "openapi", schema(examples("home")))]
    pub label: String,
    /// `CN`.
    #[cfg_attr(feature = "openapi", schema(examples("CN")))]
    pub country: String,
    /// Delivery region code.
    #[cfg_attr(feature = "openapi", schema(examples("110105")))]
    pub region: String,
    /// Region codes from the province down to the delivery region.
    pub region_levels: Vec<String>,
    /// Street line, as this buyer spelled it.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
    /// Who receives parcels here.
    pub recipient_name: String,
    /// The recipient's phone.
    pub recipient_phone: String,
    /// The registration.
    pub registered: Provenance,
    /// The last modification (the registration until the first).
    pub modified: Provenance,
}

/// Who saw which address for which order, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLogEntry {
    /// The final hub.
    pub hub_id: HubId,
    /// Its region code.
    #[cfg_attr(feature = "openapi", schema(examples("110105")))]
    pub hub_code: String,
    /// The address released.
    pub address_id: AddressId,
    /// The order.
    pub order_id: OrderId,
    /// The release.
    pub release_id: ReleaseId,
    /// Why the address was released.
    pub purpose: ReleasePurpose,
    /// When.
    pub at: Timestamp,
}

/// Why a recipient was released to a hub, as the audit records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleasePurpose {
    /// To hand the parcel to the buyer (the only purpose so far).
    Delivery,
}

impl ReleasePurpose {
    /// The word stored and sent (`delivery`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Delivery => "delivery",
        }
    }

    /// Reads the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        (word == Self::Delivery.as_str()).then_some(Self::Delivery)
    }
}

/// One of the buyer's own orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyerOrder {
    /// The order.
    pub order_id: OrderId,
    /// Who sells it.
    pub seller_id: SellerId,
    /// Where it goes.
    pub address_id: AddressId,
    /// When it was placed.
    pub created_at: Timestamp,
    /// What its carriage costs, as stored when it was placed (addition; absent for orders
    /// placed before fees existed). The buyer's own: it tells the buyer's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<super::OrderFee>,
}

/// `GET /v1/buyers/me` answer (and, sealed, `GET /v1/buyers/me/sealed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyerProfile {
    /// The buyer.
    pub buyer_id: BuyerId,
    /// The shop.
    pub platform_id: PlatformId,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Addresses.
    pub addresses: Vec<AddressView>,
    /// Access log.
    pub access_log: Vec<AccessLogEntry>,
    /// The buyer's orders, newest first (ids only; status comes from tracking).
    #[serde(default)]
    pub orders: Vec<BuyerOrder>,
}

/// `GET /v1/vault/intake-key` answer: the vault's public key that pages seal personal data to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntakeKeyResponse {
    /// The master key version the key belongs to; sealed bodies name it back.
    pub key_version: u32,
    /// X25519 public key, base64url without padding.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: BoxPublicKey,
}

/// `POST /v1/buyers/sealed` body: registration with name, phone, address and the page's
/// profile key sealed in the browser (HPKE, info `lasthop/intake/v1`) to the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealedRegisterBuyerRequest {
    /// The shop.
    #[cfg_attr(feature = "openapi", schema(value_type = PlatformId))]
    pub platform_id: String,
    /// The `key_version` of the intake key the box was sealed to.
    pub key_version: u32,
    /// `{"name","phone","address","profile_key"}` sealed to the vault.
    pub sealed: SealedBox,
}

/// `POST /v1/buyers/me/addresses/sealed` body: an address sealed in the browser to the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealedAddressRequest {
    /// The `key_version` of the intake key the box was sealed to.
    pub key_version: u32,
    /// `{"address"}` sealed to the vault, bound to the buyer's id.
    pub sealed: SealedBox,
}

/// `GET /v1/buyers/me/sealed` answer: the profile sealed to the key the buyer's page made at
/// registration (HPKE, info `lasthop/profile/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealedProfileResponse {
    /// The [`BuyerProfile`] as JSON, sealed.
    pub profile: SealedBox,
}
