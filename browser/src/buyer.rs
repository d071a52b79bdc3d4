//! The buyer's page: registration and addresses sealed to the vault's intake key, the profile
//! opened with the key the page made at registration. Every rule is the core's
//! (`lasthop_core::intake`): the same parsers as the origin check each field before anything is
//! sealed, so a bad field is named here and nothing leaves the browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lasthop_core::api::{
    AddressInput, BuyerProfile, IntakeKeyResponse, SealedAddressRequest, SealedProfileResponse,
    SealedRegisterBuyerRequest,
};
use lasthop_core::ids::{AddressId, BuyerId};
use lasthop_core::intake::{self, RegistrationIntake};
use lasthop_core::sealed_box::{BoxSecretKey, SealedBox};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::PageError;

/// What the registration form holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationForm {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// First address.
    pub address: AddressInput,
}

/// A sealed registration: the body to send, and the profile key's secret half for the page to
/// keep (base64url).
#[derive(Debug, Serialize)]
pub struct SealedRegistration {
    /// `POST /v1/buyers/sealed` body.
    pub body: SealedRegisterBuyerRequest,
    /// The profile key (secret half) the page keeps to open its profile.
    pub profile_secret: String,
}

/// Seals a registration for `platform_id` with a fresh profile key.
///
/// # Errors
/// [`PageError`] naming the first bad field, or a key the vault would not have.
pub fn seal_registration(
    vault: &IntakeKeyResponse,
    platform_id: &str,
    form: RegistrationForm,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedRegistration, PageError> {
    let profile_key = BoxSecretKey::generate(rng);
    let intake = RegistrationIntake {
        name: form.name,
        phone: form.phone,
        address: form.address,
        profile_key: profile_key.public_key(),
    };
    let body = intake::seal_registration(vault, platform_id, &intake, rng)?;
    Ok(SealedRegistration {
        body,
        profile_secret: URL_SAFE_NO_PAD.encode(*profile_key.to_bytes()),
    })
}

/// Seals a new address for `buyer_id`.
///
/// # Errors
/// [`PageError`] naming the first bad field, or a malformed buyer id.
pub fn seal_address(
    vault: &IntakeKeyResponse,
    buyer_id: &str,
    address: &AddressInput,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedAddressRequest, PageError> {
    let buyer = BuyerId::parse(buyer_id).map_err(|_| PageError::field("buyer_id"))?;
    Ok(intake::seal_address(
        vault,
        &intake::address_aad(&buyer),
        address,
        rng,
    )?)
}

/// Seals a modification of `address_id` (one of `buyer_id`'s addresses), bound to both.
///
/// # Errors
/// [`PageError`] naming the first bad field, or a malformed buyer or address id.
pub fn seal_address_change(
    vault: &IntakeKeyResponse,
    buyer_id: &str,
    address_id: &str,
    address: &AddressInput,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedAddressRequest, PageError> {
    let buyer = BuyerId::parse(buyer_id).map_err(|_| PageError::field("buyer_id"))?;
    let address_id = AddressId::parse(address_id).map_err(|_| PageError::field("address_id"))?;
    Ok(intake::seal_address(
        vault,
        &intake::address_change_aad(&buyer, &address_id),
        address,
        rng,
    )?)
}

/// Opens the sealed profile with the page's profile key.
///
/// # Errors
/// [`PageError`] when the key, the buyer or the box is not the right one.
pub fn open_profile(
    profile_secret: &str,
    buyer_id: &str,
    sealed: SealedBox,
) -> Result<BuyerProfile, PageError> {
    let key = secret_key(profile_secret)?;
    let buyer = BuyerId::parse(buyer_id).map_err(|_| PageError::field("buyer_id"))?;
    Ok(intake::open_profile(
        &key,
        &buyer,
        &SealedProfileResponse { profile: sealed },
    )?)
}

/// An X25519 secret key kept by the page as base64url.
///
/// # Errors
/// [`PageError`] for anything but 32 bytes of base64url.
pub fn secret_key(text: &str) -> Result<BoxSecretKey, PageError> {
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| PageError::message("the stored key is damaged"))?,
    );
    let array: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| PageError::message("the stored key is damaged"))?;
    Ok(BoxSecretKey::from_bytes(array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_core::keys::{MasterKeyRing, OriginKeys};
    use rand_core::OsRng;

    fn vault() -> (OriginKeys, IntakeKeyResponse) {
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut OsRng));
        let (version, public_key) = keys.intake.current_public();
        (
            keys,
            IntakeKeyResponse {
                key_version: version.0,
                public_key,
            },
        )
    }

    fn form() -> RegistrationForm {
        serde_json::from_value(serde_json::json!({
            "name": "李秀英", "phone": "+86 138 0013 8000",
            "address": {"country": "CN", "region": "110105", "line": "酒仙桥路 8 号",
                        "postal_code": "100015", "label": "home"}
        }))
        .unwrap()
    }

    #[test]
    fn a_page_registration_opens_at_the_vault_and_the_profile_opens_with_the_kept_key() {
        let (keys, public) = vault();
        let sealed = seal_registration(&public, "demo", form(), &mut OsRng).unwrap();
        let (request, profile_key) = intake::open_registration(&keys.intake, &sealed.body).unwrap();
        assert_eq!(request.name, "李秀英");
        let kept = secret_key(&sealed.profile_secret).unwrap();
        assert_eq!(kept.public_key(), profile_key);

        let buyer = "b_0123456789abcdef";
        let profile = BuyerProfile {
            buyer_id: BuyerId::parse(buyer).unwrap(),
            platform_id: lasthop_core::ids::PlatformId::parse("demo").unwrap(),
            name: request.name,
            phone: request.phone,
            addresses: Vec::new(),
            access_log: Vec::new(),
            orders: Vec::new(),
        };
        let response = intake::seal_profile(&profile_key, &profile, &mut OsRng).unwrap();
        let opened = open_profile(&sealed.profile_secret, buyer, response.profile).unwrap();
        assert_eq!(opened, profile);
    }

    #[test]
    fn a_bad_field_is_named_and_nothing_is_sealed() {
        let (_, public) = vault();
        let mut bad = form();
        bad.address.postal_code = "1000".into();
        let err = seal_registration(&public, "demo", bad, &mut OsRng).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("address.postal_code"));
        assert!(!err.message.contains("1000"));
        let err =
            seal_address(&public, "s_0123456789abcdef", &form().address, &mut OsRng).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("buyer_id"));
    }

    #[test]
    fn a_damaged_stored_key_is_refused() {
        assert!(secret_key("not base64!").is_err());
        assert!(secret_key("AAAA").is_err());
    }
}
