//! Record-bound tokens. For each order the origin computes one keyed HMAC-SHA256 per level
//! of the buyer's region path, bound to the platform, the order and the level, so a tag of
//! one order says nothing about another order to the same address. The binding tag lets the
//! edge check a buyer id against an order without storing buyer ids. Each record names the
//! key version that made it, so keys can rotate while parcels are in flight.
//!
//! Messages (`‖` is concatenation, `0` a zero byte):
//! - region: `"lasthop/region\0" ‖ platform ‖ 0 ‖ order ‖ 0 ‖ level ‖ 0 ‖ code`, level
//!   `province`, `city` or `delivery`;
//! - route expectation: `"lasthop/route\0" ‖ platform ‖ 0 ‖ order ‖ 0 ‖ hub level ‖ 0 ‖ code`;
//! - binding: `"lasthop/binding\0" ‖ platform ‖ 0 ‖ order ‖ 0 ‖ buyer`.

use std::fmt;

use hmac::Mac;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

use crate::carrier::Carriage;
use crate::ids::{BuyerId, OrderId, PlatformId, SellerId};
use crate::keys::{BindingKeys, HmacSha256, KeyVersion, RegionKeys};
use crate::region::{DeliveryRegion, HubRegion, RegionCode};

/// An HMAC-SHA256 output. Equality is constant-time. Hex on the wire.
#[derive(Clone, Copy)]
pub struct Tag([u8; 32]);

impl Tag {
    /// From raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn from_mac(mac: HmacSha256) -> Self {
        Self(mac.finalize().into_bytes().into())
    }
}

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Tag {}

impl ConstantTimeEq for Tag {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({}…)", &self.to_hex()[..8])
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(raw.as_bytes(), &mut bytes)
            .map_err(|_| serde::de::Error::custom("tag must be 64 hex characters"))?;
        Ok(Self(bytes))
    }
}

/// The level a region tag is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagLevel {
    /// The buyer's province.
    Province,
    /// The buyer's city.
    City,
    /// The delivery region: the district, or the city where it has no districts.
    Delivery,
}

impl TagLevel {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::City => "city",
            Self::Delivery => "delivery",
        }
    }
}

/// An order as the edge knows it: ids and tags, no plaintext region or buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenisedOrder {
    /// The shop.
    pub platform_id: PlatformId,
    /// The order.
    pub order_id: OrderId,
    /// The seller (not personal data of the buyer).
    pub seller_id: SellerId,
    /// Which key version made the tags.
    pub key_version: KeyVersion,
    /// Tag of the buyer's province.
    pub province: Tag,
    /// Tag of the buyer's city.
    pub city: Tag,
    /// Tag of the delivery region.
    pub delivery: Tag,
    /// Buyer-to-order binding tag.
    pub binding: Tag,
    /// Its carrier and the seller's ship-from region (a record made before carriers existed
    /// has the default carrier's).
    #[serde(default)]
    pub carriage: Carriage,
}

/// Tokenising failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The keys do not hold the version needed.
    #[error("no key for version {0}")]
    UnknownKeyVersion(KeyVersion),
}

/// Computes the region tags of one order, counting HMACs. Keys the MAC and absorbs the
/// order-specific prefix once, then clones that state per tag: the hop decision computes up
/// to ~50 tags for one order.
pub(crate) struct OrderTagger {
    region: HmacSha256,
    route: HmacSha256,
    count: u32,
}

impl OrderTagger {
    pub(crate) fn new(
        keys: &RegionKeys,
        version: KeyVersion,
        platform: &PlatformId,
        order: &OrderId,
    ) -> Result<Self, TokenError> {
        let base = keys
            .hmac(version)
            .ok_or(TokenError::UnknownKeyVersion(version))?;
        let prefixed = |domain: &[u8]| {
            let mut mac = base.clone();
            mac.update(domain);
            mac.update(platform.as_str().as_bytes());
            mac.update(&[0]);
            mac.update(order.as_str().as_bytes());
            mac.update(&[0]);
            mac
        };
        Ok(Self {
            region: prefixed(b"lasthop/region\0"),
            route: prefixed(b"lasthop/route\0"),
            count: 0,
        })
    }

    pub(crate) fn region(&mut self, level: TagLevel, code: RegionCode) -> Tag {
        self.count += 1;
        let mut mac = self.region.clone();
        mac.update(level.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(code.to_string().as_bytes());
        Tag::from_mac(mac)
    }

    pub(crate) fn route(&mut self, hub: &HubRegion) -> Tag {
        self.count += 1;
        let mut mac = self.route.clone();
        mac.update(hub.level().as_str().as_bytes());
        mac.update(&[0]);
        mac.update(hub.code().to_string().as_bytes());
        Tag::from_mac(mac)
    }

    /// HMACs computed so far.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }
}

/// The tag of one level of a region for one order.
///
/// # Errors
/// [`TokenError::UnknownKeyVersion`] when `keys` lacks `version`.
pub fn region_tag(
    keys: &RegionKeys,
    version: KeyVersion,
    platform: &PlatformId,
    order: &OrderId,
    level: TagLevel,
    code: RegionCode,
) -> Result<Tag, TokenError> {
    Ok(OrderTagger::new(keys, version, platform, order)?.region(level, code))
}

/// The route-expectation tag of a hub region for one order.
///
/// # Errors
/// [`TokenError::UnknownKeyVersion`] when `keys` lacks `version`.
pub fn route_tag(
    keys: &RegionKeys,
    version: KeyVersion,
    platform: &PlatformId,
    order: &OrderId,
    hub: &HubRegion,
) -> Result<Tag, TokenError> {
    Ok(OrderTagger::new(keys, version, platform, order)?.route(hub))
}

/// The buyer-to-order binding tag.
///
/// # Errors
/// [`TokenError::UnknownKeyVersion`] when `keys` lacks `version`.
pub fn binding_tag(
    keys: &BindingKeys,
    version: KeyVersion,
    platform: &PlatformId,
    order: &OrderId,
    buyer: &BuyerId,
) -> Result<Tag, TokenError> {
    let mut mac = keys
        .hmac(version)
        .ok_or(TokenError::UnknownKeyVersion(version))?;
    mac.update(b"lasthop/binding\0");
    mac.update(platform.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(order.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(buyer.as_str().as_bytes());
    Ok(Tag::from_mac(mac))
}

/// Tokenises an order with the current key version of `region_keys`.
///
/// # Errors
/// [`TokenError::UnknownKeyVersion`] when `binding_keys` lacks that version (they come from
/// the same ring, so this means mismatched key sets).
pub fn tokenise_order(
    region_keys: &RegionKeys,
    binding_keys: &BindingKeys,
    platform: &PlatformId,
    order: &OrderId,
    seller: &SellerId,
    buyer: &BuyerId,
    region: &DeliveryRegion,
) -> Result<TokenisedOrder, TokenError> {
    let version = region_keys.current();
    let mut tagger = OrderTagger::new(region_keys, version, platform, order)?;
    Ok(TokenisedOrder {
        platform_id: platform.clone(),
        order_id: order.clone(),
        seller_id: seller.clone(),
        key_version: version,
        province: tagger.region(TagLevel::Province, region.province()),
        city: tagger.region(TagLevel::City, region.city()),
        delivery: tagger.region(TagLevel::Delivery, region.code()),
        binding: binding_tag(binding_keys, version, platform, order, buyer)?,
        carriage: Carriage::default(),
    })
}

/// What a delivered order keeps of its record: who may see its status (the buyer, through the
/// binding tag; the seller, by id). No region tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyerBinding {
    /// The shop.
    pub platform_id: PlatformId,
    /// The order.
    pub order_id: OrderId,
    /// The seller.
    pub seller_id: SellerId,
    /// Which key version made the tag.
    pub key_version: KeyVersion,
    /// Buyer-to-order binding tag.
    pub binding: Tag,
    /// Its carrier (shown in tracking after delivery too).
    #[serde(default)]
    pub carriage: Carriage,
}

impl BuyerBinding {
    /// Whether `buyer` is the order's buyer, in constant time. An unknown key version is a
    /// mismatch.
    pub fn matches(&self, keys: &BindingKeys, buyer: &BuyerId) -> bool {
        binding_tag(
            keys,
            self.key_version,
            &self.platform_id,
            &self.order_id,
            buyer,
        )
        .map(|tag| bool::from(tag.ct_eq(&self.binding)))
        .unwrap_or(false)
    }
}

impl TokenisedOrder {
    /// The record without its region tags.
    pub fn buyer_binding(&self) -> BuyerBinding {
        BuyerBinding {
            platform_id: self.platform_id.clone(),
            order_id: self.order_id.clone(),
            seller_id: self.seller_id.clone(),
            key_version: self.key_version,
            binding: self.binding,
            carriage: self.carriage.clone(),
        }
    }
}

/// Whether `buyer` is the order's buyer, in constant time, with the record's key version.
/// An unknown key version is a mismatch.
pub fn binding_matches(keys: &BindingKeys, record: &TokenisedOrder, buyer: &BuyerId) -> bool {
    record.buyer_binding().matches(keys, buyer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKeyRing, OriginKeys};
    use crate::region::Directory;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    struct Fixture {
        keys: OriginKeys,
        platform: PlatformId,
        seller: SellerId,
        buyer: BuyerId,
        region: DeliveryRegion,
        rng: StdRng,
    }

    fn fixture() -> Fixture {
        let mut rng = StdRng::seed_from_u64(11);
        Fixture {
            keys: OriginKeys::derive(&MasterKeyRing::generate(&mut rng)),
            platform: PlatformId::parse("demo").unwrap(),
            seller: SellerId::generate(&mut rng),
            buyer: BuyerId::generate(&mut rng),
            region: Directory::china()
                .delivery_region(RegionCode::parse("110105").unwrap())
                .unwrap(),
            rng,
        }
    }

    fn tokenise(f: &mut Fixture) -> TokenisedOrder {
        let order = OrderId::generate(&mut f.rng);
        tokenise_order(
            &f.keys.region,
            &f.keys.binding,
            &f.platform,
            &order,
            &f.seller,
            &f.buyer,
            &f.region,
        )
        .unwrap()
    }

    #[test]
    fn two_orders_to_the_same_address_share_no_tag() {
        let mut f = fixture();
        let a = tokenise(&mut f);
        let b = tokenise(&mut f);
        let tags_a = [a.province, a.city, a.delivery, a.binding];
        let tags_b = [b.province, b.city, b.delivery, b.binding];
        for x in &tags_a {
            assert!(!tags_b.contains(x));
        }
        assert_ne!(a.province, a.city);
    }

    #[test]
    fn tags_recompute_from_the_record_for_the_right_region_only() {
        let mut f = fixture();
        let record = tokenise(&mut f);
        let tag = |code: &str, level| {
            region_tag(
                &f.keys.region,
                record.key_version,
                &record.platform_id,
                &record.order_id,
                level,
                RegionCode::parse(code).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(tag("11", TagLevel::Province), record.province);
        assert_eq!(tag("1101", TagLevel::City), record.city);
        assert_eq!(tag("110105", TagLevel::Delivery), record.delivery);
        assert_ne!(tag("110106", TagLevel::Delivery), record.delivery);
        assert_ne!(
            tag("1101", TagLevel::Delivery),
            record.city,
            "levels are bound into the tag"
        );
    }

    #[test]
    fn binding_matches_only_the_orders_buyer() {
        let mut f = fixture();
        let record = tokenise(&mut f);
        assert!(binding_matches(&f.keys.binding, &record, &f.buyer));
        let other = BuyerId::generate(&mut f.rng);
        assert!(!binding_matches(&f.keys.binding, &record, &other));
        let mut unknown_version = record.clone();
        unknown_version.key_version = KeyVersion(99);
        assert!(!binding_matches(
            &f.keys.binding,
            &unknown_version,
            &f.buyer
        ));
    }

    #[test]
    fn records_made_before_a_rotation_still_verify_after_it() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut ring = MasterKeyRing::generate(&mut rng);
        let old = OriginKeys::derive(&ring);
        let mut f = fixture();
        f.keys = old;
        let record = tokenise(&mut f);
        ring.rotate(&mut rng);
        let new = OriginKeys::derive(&ring);
        assert_eq!(new.region.current(), KeyVersion(2));
        assert!(binding_matches(&new.binding, &record, &f.buyer));
        f.keys = new;
        assert_eq!(tokenise(&mut f).key_version, KeyVersion(2));
    }

    #[test]
    fn tokenised_orders_round_trip_through_serde() {
        let mut f = fixture();
        let record = tokenise(&mut f);
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("\"110105\"") && !json.contains(f.buyer.as_str()));
        assert_eq!(
            serde_json::from_str::<TokenisedOrder>(&json).unwrap(),
            record
        );
        assert!(serde_json::from_str::<Tag>("\"00\"").is_err());
    }
}
