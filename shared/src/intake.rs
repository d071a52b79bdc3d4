//! Personal data sealed in the buyer's browser for the vault, and the buyer's profile sealed
//! back to the browser: the edge in between relays ciphertext only, both ways.
//!
//! - **Intake** (browser → vault, HPKE info `lasthop/intake/v1`): the page seals name, phone
//!   and address to the vault's intake key ([`crate::keys::IntakeKeys`], derived at the origin
//!   for purpose `vault-intake`). A registration also carries the page's own X25519 *profile
//!   key*, inside the box, so an edge that swaps keys on the way cannot make the vault seal the
//!   profile to the edge's key instead.
//! - **Profile** (vault → browser, HPKE info `lasthop/profile/v1`): the vault seals the
//!   [`BuyerProfile`] to the profile key registered with the buyer.
//!
//! Every plaintext is padded with JSON white space to a multiple of [`PAD_BLOCK`] bytes before
//! it is sealed, so the length of a box does not tell a name or an address apart from a
//! slightly longer one.
//!
//! The associated data binds every box to where it may be used: a registration to its
//! platform, an address to the buyer it was sealed for (so an edge cannot replay buyer A's
//! sealed address into an account it controls and read it back from that account's profile),
//! a profile to its buyer. The browser validates with the very parsers the origin uses before
//! anything leaves it ([`seal_registration`] and [`seal_address`] refuse a bad field by name);
//! the origin opens ([`open_registration`], [`open_address`]) and registers through its one
//! plaintext path.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::api::{
    AddAddressRequest, AddressInput, BuyerProfile, FieldError, IntakeKeyResponse,
    RegisterBuyerRequest, SealedAddressRequest, SealedProfileResponse, SealedRegisterBuyerRequest,
};
use crate::ids::{AddressId, BuyerId};
use crate::keys::{IntakeKeys, KeyVersion};
use crate::sealed_box::{self, BoxPublicKey, BoxSecretKey, Purpose, SealedBox};

/// Plaintexts are padded to a multiple of this many bytes (white space, which JSON ignores).
pub const PAD_BLOCK: usize = 256;

/// What a sealed registration holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationIntake {
    /// The buyer's name.
    pub name: String,
    /// The buyer's phone.
    pub phone: String,
    /// The first address.
    pub address: AddressInput,
    /// The page's X25519 public key: the vault seals the profile to it.
    pub profile_key: BoxPublicKey,
}

/// What a sealed address holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressIntake {
    /// The address.
    pub address: AddressInput,
}

/// Why sealing or opening failed. Carries field names, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// A field inside the box (or the platform) is not valid.
    #[error("{0}")]
    Field(FieldError),
    /// The box does not open with the vault's key for this use, or holds no valid JSON.
    #[error("the sealed data does not open for this use")]
    Sealed,
    /// The named intake key version is not the vault's.
    #[error("the intake key version is unknown")]
    UnknownVersion,
    /// The public key cannot be sealed to.
    #[error("the public key cannot be sealed to")]
    BadKey,
}

impl From<IntakeError> for FieldError {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::Field(field) => field,
            IntakeError::Sealed => FieldError::new("sealed", "does not open for this use"),
            IntakeError::UnknownVersion => FieldError::new("key_version", "is not a current key"),
            IntakeError::BadKey => FieldError::new("public_key", "cannot be sealed to"),
        }
    }
}

/// Associated data of a sealed registration: the platform it is for.
pub fn registration_aad(platform_id: &str) -> Vec<u8> {
    format!("lasthop/intake/register\0{platform_id}").into_bytes()
}

/// Associated data of a sealed new address: the buyer it is for.
pub fn address_aad(buyer_id: &BuyerId) -> Vec<u8> {
    format!("lasthop/intake/address\0{buyer_id}").into_bytes()
}

/// Associated data of a sealed change to one of the buyer's addresses.
pub fn address_change_aad(buyer_id: &BuyerId, address_id: &AddressId) -> Vec<u8> {
    format!("lasthop/intake/address\0{buyer_id}\0{address_id}").into_bytes()
}

/// Associated data of a sealed profile: the buyer it belongs to.
pub fn profile_aad(buyer_id: &BuyerId) -> Vec<u8> {
    format!("lasthop/profile\0{buyer_id}").into_bytes()
}

impl RegistrationIntake {
    /// The contract's plaintext registration body for `platform_id` (same parser, same rules).
    pub fn to_request(&self, platform_id: &str) -> RegisterBuyerRequest {
        RegisterBuyerRequest {
            platform_id: platform_id.to_owned(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
        }
    }
}

/// Browser side: checks every field with the origin's parser, then seals the registration to
/// the vault's intake key.
///
/// # Errors
/// [`IntakeError::Field`] naming the first bad field; [`IntakeError::BadKey`].
pub fn seal_registration(
    vault: &IntakeKeyResponse,
    platform_id: &str,
    intake: &RegistrationIntake,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedRegisterBuyerRequest, IntakeError> {
    intake
        .to_request(platform_id)
        .parse()
        .map_err(IntakeError::Field)?;
    let sealed = seal_json(
        &vault.public_key,
        &registration_aad(platform_id),
        intake,
        rng,
    )?;
    Ok(SealedRegisterBuyerRequest {
        platform_id: platform_id.to_owned(),
        key_version: vault.key_version,
        sealed,
    })
}

/// Vault side: opens a sealed registration into the plaintext body and the profile key.
///
/// # Errors
/// [`IntakeError::UnknownVersion`], [`IntakeError::Sealed`] (wrong key, platform or tampering).
pub fn open_registration(
    keys: &IntakeKeys,
    request: &SealedRegisterBuyerRequest,
) -> Result<(RegisterBuyerRequest, BoxPublicKey), IntakeError> {
    let intake: RegistrationIntake = open_json(
        keys,
        request.key_version,
        &registration_aad(&request.platform_id),
        &request.sealed,
    )?;
    Ok((intake.to_request(&request.platform_id), intake.profile_key))
}

/// Browser side: checks the address with the origin's parser, then seals it to the vault,
/// bound to `aad` ([`address_aad`] or [`address_change_aad`]).
///
/// # Errors
/// [`IntakeError::Field`] naming the first bad field; [`IntakeError::BadKey`].
pub fn seal_address(
    vault: &IntakeKeyResponse,
    aad: &[u8],
    address: &AddressInput,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedAddressRequest, IntakeError> {
    address.parse().map_err(IntakeError::Field)?;
    let intake = AddressIntake {
        address: address.clone(),
    };
    Ok(SealedAddressRequest {
        key_version: vault.key_version,
        sealed: seal_json(&vault.public_key, aad, &intake, rng)?,
    })
}

/// Vault side: opens a sealed address bound to `aad`.
///
/// # Errors
/// [`IntakeError::UnknownVersion`], [`IntakeError::Sealed`] (also when sealed for another
/// buyer or address).
pub fn open_address(
    keys: &IntakeKeys,
    aad: &[u8],
    request: &SealedAddressRequest,
) -> Result<AddAddressRequest, IntakeError> {
    let intake: AddressIntake = open_json(keys, request.key_version, aad, &request.sealed)?;
    Ok(AddAddressRequest {
        address: intake.address,
    })
}

/// Vault side: seals the profile to the buyer's registered profile key.
///
/// # Errors
/// [`IntakeError::BadKey`].
pub fn seal_profile(
    profile_key: &BoxPublicKey,
    profile: &BuyerProfile,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedProfileResponse, IntakeError> {
    let sealed = sealed_box::seal(
        profile_key,
        Purpose::Profile,
        &profile_aad(&profile.buyer_id),
        &json(profile)?,
        rng,
    )
    .map_err(|_| IntakeError::BadKey)?;
    Ok(SealedProfileResponse { profile: sealed })
}

/// Browser side: opens the profile with the page's profile key.
///
/// # Errors
/// [`IntakeError::Sealed`] for another buyer's profile, another key or tampering.
pub fn open_profile(
    profile_key: &BoxSecretKey,
    buyer_id: &BuyerId,
    response: &SealedProfileResponse,
) -> Result<BuyerProfile, IntakeError> {
    let plain = sealed_box::open(
        profile_key,
        Purpose::Profile,
        &profile_aad(buyer_id),
        &response.profile,
    )
    .map_err(|_| IntakeError::Sealed)?;
    let profile: BuyerProfile = serde_json::from_slice(&plain).map_err(|_| IntakeError::Sealed)?;
    if &profile.buyer_id != buyer_id {
        return Err(IntakeError::Sealed);
    }
    Ok(profile)
}

/// `value` as JSON, padded with spaces to a multiple of [`PAD_BLOCK`].
fn json(value: &impl Serialize) -> Result<Zeroizing<Vec<u8>>, IntakeError> {
    let mut bytes = Zeroizing::new(serde_json::to_vec(value).map_err(|_| IntakeError::Sealed)?);
    let padded = bytes.len().div_ceil(PAD_BLOCK) * PAD_BLOCK;
    bytes.resize(padded, b' ');
    Ok(bytes)
}

fn seal_json(
    key: &BoxPublicKey,
    aad: &[u8],
    value: &impl Serialize,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedBox, IntakeError> {
    sealed_box::seal(key, Purpose::Intake, aad, &json(value)?, rng).map_err(|_| IntakeError::BadKey)
}

fn open_json<T: for<'de> Deserialize<'de>>(
    keys: &IntakeKeys,
    version: u32,
    aad: &[u8],
    sealed: &SealedBox,
) -> Result<T, IntakeError> {
    let version = KeyVersion(version);
    if !keys.has_version(version) {
        return Err(IntakeError::UnknownVersion);
    }
    let plain = keys
        .open(version, aad, sealed)
        .map_err(|_| IntakeError::Sealed)?;
    serde_json::from_slice(&plain).map_err(|_| IntakeError::Sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PlatformId;
    use crate::keys::{MasterKeyRing, OriginKeys};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn vault() -> (OriginKeys, IntakeKeyResponse) {
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut StdRng::seed_from_u64(1)));
        let (version, public_key) = keys.intake.current_public();
        (
            keys,
            IntakeKeyResponse {
                key_version: version.0,
                public_key,
            },
        )
    }

    fn address() -> AddressInput {
        AddressInput {
            country: "CN".into(),
            region: "110105".into(),
            line: "酒仙桥路 8 号".into(),
            postal_code: "100015".into(),
            label: "home".into(),
            recipient: None,
        }
    }

    fn intake(profile_key: BoxPublicKey) -> RegistrationIntake {
        RegistrationIntake {
            name: "李秀英".into(),
            phone: "+86 138 0013 8000".into(),
            address: address(),
            profile_key,
        }
    }

    fn buyer(n: u8) -> BuyerId {
        BuyerId::parse(&format!("b_0123456789abcde{n}")).unwrap()
    }

    #[test]
    fn a_sealed_registration_opens_at_the_vault_with_its_profile_key_and_carries_no_plaintext() {
        let mut rng = StdRng::seed_from_u64(2);
        let (keys, public) = vault();
        let profile = BoxSecretKey::generate(&mut rng);
        let sealed =
            seal_registration(&public, "demo", &intake(profile.public_key()), &mut rng).unwrap();
        let wire = serde_json::to_string(&sealed).unwrap();
        for plain in ["李秀英", "138", "酒仙桥", "100015", "110105"] {
            assert!(!wire.contains(plain), "{plain} in {wire}");
        }
        let (request, key) = open_registration(&keys.intake, &sealed).unwrap();
        assert_eq!(key, profile.public_key());
        assert_eq!(request.name, "李秀英");
        assert_eq!(request.platform_id, "demo");
        assert!(request.parse().is_ok());
    }

    #[test]
    fn a_registration_moved_to_another_platform_or_version_does_not_open() {
        let mut rng = StdRng::seed_from_u64(3);
        let (keys, public) = vault();
        let key = BoxSecretKey::generate(&mut rng).public_key();
        let mut sealed = seal_registration(&public, "demo", &intake(key), &mut rng).unwrap();
        sealed.platform_id = "other".into();
        assert_eq!(
            open_registration(&keys.intake, &sealed),
            Err(IntakeError::Sealed)
        );
        sealed.platform_id = "demo".into();
        sealed.key_version = 7;
        assert_eq!(
            open_registration(&keys.intake, &sealed),
            Err(IntakeError::UnknownVersion)
        );
        sealed.key_version = public.key_version;
        sealed.sealed.ciphertext[0] ^= 1;
        assert_eq!(
            open_registration(&keys.intake, &sealed),
            Err(IntakeError::Sealed)
        );
    }

    #[test]
    fn the_browser_refuses_a_bad_field_by_name_before_sealing() {
        let mut rng = StdRng::seed_from_u64(4);
        let (_, public) = vault();
        let key = BoxSecretKey::generate(&mut rng).public_key();
        let mut bad = intake(key);
        bad.address.region = "3301".into();
        let err = seal_registration(&public, "demo", &bad, &mut rng).unwrap_err();
        let field = FieldError::from(err);
        assert_eq!(field.field, "address.region");
        assert!(!field.to_string().contains("3301"));
        bad.address.region = "110105".into();
        bad.phone = "call me".into();
        assert_eq!(
            FieldError::from(seal_registration(&public, "demo", &bad, &mut rng).unwrap_err()).field,
            "phone"
        );
        let mut bad_address = address();
        bad_address.postal_code = "12".into();
        let err = seal_address(&public, &address_aad(&buyer(1)), &bad_address, &mut rng);
        assert_eq!(
            FieldError::from(err.unwrap_err()).field,
            "address.postal_code"
        );
    }

    #[test]
    fn an_address_sealed_for_one_buyer_does_not_open_for_another() {
        let mut rng = StdRng::seed_from_u64(5);
        let (keys, public) = vault();
        let sealed = seal_address(&public, &address_aad(&buyer(1)), &address(), &mut rng).unwrap();
        let opened = open_address(&keys.intake, &address_aad(&buyer(1)), &sealed).unwrap();
        assert_eq!(opened.address, address());
        assert_eq!(
            open_address(&keys.intake, &address_aad(&buyer(2)), &sealed),
            Err(IntakeError::Sealed)
        );
        let change =
            address_change_aad(&buyer(1), &AddressId::parse("a_0123456789abcdef").unwrap());
        assert_eq!(
            open_address(&keys.intake, &change, &sealed),
            Err(IntakeError::Sealed)
        );
    }

    #[test]
    fn a_profile_opens_only_with_its_buyers_key_and_id() {
        let mut rng = StdRng::seed_from_u64(6);
        let key = BoxSecretKey::generate(&mut rng);
        let profile = BuyerProfile {
            buyer_id: buyer(1),
            platform_id: PlatformId::parse("demo").unwrap(),
            name: "李秀英".into(),
            phone: "+8613800138000".into(),
            addresses: Vec::new(),
            access_log: Vec::new(),
            orders: Vec::new(),
        };
        let sealed = seal_profile(&key.public_key(), &profile, &mut rng).unwrap();
        assert!(!serde_json::to_string(&sealed).unwrap().contains("李秀英"));
        assert_eq!(open_profile(&key, &buyer(1), &sealed).unwrap(), profile);
        assert_eq!(
            open_profile(&key, &buyer(2), &sealed),
            Err(IntakeError::Sealed)
        );
        let other = BoxSecretKey::generate(&mut rng);
        assert_eq!(
            open_profile(&other, &buyer(1), &sealed),
            Err(IntakeError::Sealed)
        );
    }

    #[test]
    fn a_box_does_not_tell_a_short_name_or_address_from_a_longer_one() {
        let mut rng = StdRng::seed_from_u64(8);
        let (keys, public) = vault();
        let key = BoxSecretKey::generate(&mut rng).public_key();
        let short = intake(key.clone());
        let mut long = intake(key);
        long.name = "欧阳娜娜娜娜".into();
        long.address.line = "酒仙桥路甲 8 号院 3 单元 1201 室".into();
        let a = seal_registration(&public, "demo", &short, &mut rng).unwrap();
        let b = seal_registration(&public, "demo", &long, &mut rng).unwrap();
        assert_eq!(a.sealed.ciphertext.len(), b.sealed.ciphertext.len());
        assert_eq!(
            open_registration(&keys.intake, &b).unwrap().0.name,
            long.name
        );
    }

    #[test]
    fn an_intake_box_never_opens_as_a_profile_or_a_recipient() {
        let mut rng = StdRng::seed_from_u64(7);
        let secret = BoxSecretKey::generate(&mut rng);
        let as_vault = IntakeKeyResponse {
            key_version: 1,
            public_key: secret.public_key(),
        };
        let sealed =
            seal_address(&as_vault, &profile_aad(&buyer(1)), &address(), &mut rng).unwrap();
        let response = SealedProfileResponse {
            profile: sealed.sealed,
        };
        assert_eq!(
            open_profile(&secret, &buyer(1), &response),
            Err(IntakeError::Sealed)
        );
    }
}
