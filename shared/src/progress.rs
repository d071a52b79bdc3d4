//! The order state machine and the hop decision.
//!
//! States: `created → picked_up → in_transit → released → delivered` (closed). The edge keeps a
//! [`Progress`] per order next to its [`TokenisedOrder`]. At each scan, [`Progress::hop`]
//! decides from tags alone where the parcel goes next:
//!
//! - a district hub that is not the delivery region → `forward_up` (next: its city);
//! - a city hub outside the buyer's city → `route_to` the buyer's city, found by comparing
//!   tags over the provinces, then that province's cities;
//! - the buyer's city hub → `route_to` the buyer's district, found among its districts;
//! - the delivery region's own hub → `deliver`;
//! - a hub whose region is not the one the parcel was sent to → [`ProgressError::OffRoute`].
//!
//! The expected next hub is stored only as a route tag, never as a plaintext code. A verdict
//! never names anything finer than the next hop.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::api::{ErrorCode, HopResponse, NextHop};
use crate::ids::{BuyerId, HubId, ReleaseId};
use crate::keys::{BindingKeys, KeyVersion, RegionKeys};
use crate::region::{DeliveryRegion, Directory, HubLevel, HubRegion, RegionCode};
use crate::tokens::{binding_matches, OrderTagger, Tag, TagLevel, TokenError, TokenisedOrder};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Ordered, not yet collected.
    Created,
    /// Collected by a pickup scanner; no hub has scanned it yet.
    PickedUp,
    /// Scanned by at least one hub.
    InTransit,
    /// The final hub holds a release of the recipient's address.
    Released,
    /// Delivered; closed.
    Delivered,
}

impl OrderStatus {
    /// The wire word, e.g. `picked_up`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::PickedUp => "picked_up",
            Self::InTransit => "in_transit",
            Self::Released => "released",
            Self::Delivered => "delivered",
        }
    }
}

/// A hub's instruction for the parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it to this district hub's city hub.
    ForwardUp,
    /// Send it to this hub (the buyer's city, or the buyer's district).
    RouteTo(HubRegion),
    /// This is the final hub: ask the origin for the recipient and deliver.
    Deliver,
}

impl Verdict {
    /// `forward_up`, `route_to` or `deliver`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::ForwardUp => "forward_up",
            Self::RouteTo(_) => "route_to",
            Self::Deliver => "deliver",
        }
    }

    /// The API body for `forward_up` and `route_to`; `None` for `deliver`, whose body needs
    /// the origin's release (build it with [`HopResponse::Deliver`]).
    pub fn to_response(&self) -> Option<HopResponse> {
        match self {
            Self::ForwardUp => Some(HopResponse::ForwardUp),
            Self::RouteTo(hub) => Some(HopResponse::RouteTo {
                next_hop: NextHop {
                    level: hub.level(),
                    code: hub.code().to_string(),
                },
            }),
            Self::Deliver => None,
        }
    }
}

/// The outcome of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopDecision {
    /// What the hub must do.
    pub verdict: Verdict,
    /// True when the hub that scanned last scanned again: same verdict, no hop added.
    pub repeat: bool,
    /// HMAC-SHA256 computations this decision took (for the benchmark).
    pub hmac_count: u32,
    next_expected: Option<Tag>,
    hub_tag: Tag,
}

/// Why a transition or scan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    /// The hub is not where the parcel was sent.
    #[error("this hub is not on the parcel's route")]
    OffRoute,
    /// No pickup yet.
    #[error("the parcel has not been picked up")]
    NotPickedUp,
    /// Delivered already.
    #[error("the order is closed")]
    Closed,
    /// The buyer id does not belong to the order.
    #[error("the buyer id does not match the order; ask the seller to check the label")]
    LabelMismatch,
    /// The transition is not allowed from the current state.
    #[error("the order is not in a state that allows this")]
    WrongState,
    /// The record was tokenised with a key version the holder does not have.
    #[error("no key for the order's key version {0}")]
    UnknownKeyVersion(KeyVersion),
    /// The record's tags match no region of the directory (corrupt or foreign record).
    #[error("the order's tokens do not match any region")]
    UnresolvableRecord,
}

impl ProgressError {
    /// The API error code for this refusal.
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::OffRoute => ErrorCode::OffRoute,
            Self::NotPickedUp => ErrorCode::NotPickedUp,
            Self::Closed => ErrorCode::OrderClosed,
            Self::LabelMismatch => ErrorCode::LabelMismatch,
            Self::WrongState | Self::UnresolvableRecord => ErrorCode::WrongState,
            Self::UnknownKeyVersion(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<TokenError> for ProgressError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::UnknownKeyVersion(v) => Self::UnknownKeyVersion(v),
        }
    }
}

/// An order's progress as the edge stores it. Holds no plaintext region: the expected next
/// hub is a route tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    status: OrderStatus,
    /// Route tag of the hub region the parcel was sent to next.
    expected: Option<Tag>,
    /// Route tag of the last scanning hub's region, so its repeated scan gets the same verdict.
    last_hub_tag: Option<Tag>,
    last_hub: Option<HubId>,
    /// Whether the last hub's verdict was `deliver`.
    at_final_hub: bool,
    release_id: Option<ReleaseId>,
    hops: u32,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A new order: `created`.
    pub const fn new() -> Self {
        Self {
            status: OrderStatus::Created,
            expected: None,
            last_hub_tag: None,
            last_hub: None,
            at_final_hub: false,
            release_id: None,
            hops: 0,
        }
    }

    /// The current status.
    pub const fn status(&self) -> OrderStatus {
        self.status
    }

    /// Hub scans that moved the parcel (repeats not counted).
    pub const fn hops(&self) -> u32 {
        self.hops
    }

    /// The hub that scanned last.
    pub fn last_hub(&self) -> Option<&HubId> {
        self.last_hub.as_ref()
    }

    /// The release id, once released.
    pub fn release_id(&self) -> Option<&ReleaseId> {
        self.release_id.as_ref()
    }

    /// Collects the parcel at a pickup hub. The buyer id from the label must match the order;
    /// the first expected hop is the pickup hub's own region. Repeating the same pickup
    /// before any hub scan is accepted and changes nothing.
    ///
    /// # Errors
    /// [`ProgressError::LabelMismatch`], [`ProgressError::Closed`], [`ProgressError::WrongState`]
    /// (already in transit), [`ProgressError::UnknownKeyVersion`].
    pub fn pickup(
        &mut self,
        region_keys: &RegionKeys,
        binding_keys: &BindingKeys,
        record: &TokenisedOrder,
        buyer: &BuyerId,
        pickup_hub: &HubRegion,
    ) -> Result<(), ProgressError> {
        match self.status {
            OrderStatus::Created | OrderStatus::PickedUp => {}
            OrderStatus::Delivered => return Err(ProgressError::Closed),
            _ => return Err(ProgressError::WrongState),
        }
        if !binding_keys.has_version(record.key_version)
            || !region_keys.has_version(record.key_version)
        {
            return Err(ProgressError::UnknownKeyVersion(record.key_version));
        }
        if !binding_matches(binding_keys, record, buyer) {
            return Err(ProgressError::LabelMismatch);
        }
        let mut tagger = tagger(region_keys, record)?;
        let expected = tagger.route(pickup_hub);
        if self.status == OrderStatus::PickedUp {
            return if self.expected == Some(expected) {
                Ok(())
            } else {
                Err(ProgressError::WrongState)
            };
        }
        self.status = OrderStatus::PickedUp;
        self.expected = Some(expected);
        Ok(())
    }

    /// Decides a hub's scan without changing anything; apply it with [`Progress::apply_hop`].
    ///
    /// # Errors
    /// [`ProgressError::NotPickedUp`], [`ProgressError::Closed`], [`ProgressError::OffRoute`],
    /// [`ProgressError::UnknownKeyVersion`], [`ProgressError::UnresolvableRecord`].
    pub fn hop(
        &self,
        keys: &RegionKeys,
        record: &TokenisedOrder,
        hub_id: &HubId,
        hub: &HubRegion,
    ) -> Result<HopDecision, ProgressError> {
        match self.status {
            OrderStatus::Created => return Err(ProgressError::NotPickedUp),
            OrderStatus::Delivered => return Err(ProgressError::Closed),
            OrderStatus::PickedUp | OrderStatus::InTransit | OrderStatus::Released => {}
        }
        let mut tagger = tagger(keys, record)?;
        let hub_tag = tagger.route(hub);
        let repeat = self.last_hub.as_ref() == Some(hub_id)
            && self
                .last_hub_tag
                .is_some_and(|t| bool::from(t.ct_eq(&hub_tag)));
        if self.status == OrderStatus::Released && !repeat {
            // Only the final hub may scan a released parcel again.
            return Err(ProgressError::OffRoute);
        }
        if !repeat && !self.expected.is_some_and(|t| bool::from(t.ct_eq(&hub_tag))) {
            return Err(ProgressError::OffRoute);
        }
        let (verdict, next) = decide(
            &mut TagAnswers {
                tagger: &mut tagger,
                record,
            },
            hub,
        )?;
        let next_expected = next.map(|next| tagger.route(&next));
        Ok(HopDecision {
            verdict,
            repeat,
            hmac_count: tagger.count(),
            next_expected,
            hub_tag,
        })
    }

    /// Decides a scan and records it: a new hop moves the expectation to the next hub; a
    /// repeat by the last hub changes nothing.
    ///
    /// # Errors
    /// As [`Progress::hop`].
    pub fn apply_hop(
        &mut self,
        keys: &RegionKeys,
        record: &TokenisedOrder,
        hub_id: &HubId,
        hub: &HubRegion,
    ) -> Result<HopDecision, ProgressError> {
        let decision = self.hop(keys, record, hub_id, hub)?;
        if !decision.repeat {
            self.status = OrderStatus::InTransit;
            self.expected = decision.next_expected;
            self.last_hub_tag = Some(decision.hub_tag);
            self.last_hub = Some(hub_id.clone());
            self.at_final_hub = decision.verdict == Verdict::Deliver;
            self.hops += 1;
        }
        Ok(decision)
    }

    /// Records the origin's release of the recipient to the final hub. Repeating it with the
    /// same release id is accepted.
    ///
    /// # Errors
    /// [`ProgressError::OffRoute`] for another hub, [`ProgressError::WrongState`] before a
    /// `deliver` verdict or with a different release id, [`ProgressError::Closed`].
    pub fn release(&mut self, hub_id: &HubId, release_id: &ReleaseId) -> Result<(), ProgressError> {
        match self.status {
            OrderStatus::Delivered => return Err(ProgressError::Closed),
            OrderStatus::Created => return Err(ProgressError::NotPickedUp),
            OrderStatus::PickedUp => return Err(ProgressError::WrongState),
            OrderStatus::InTransit | OrderStatus::Released => {}
        }
        if !self.at_final_hub {
            return Err(ProgressError::WrongState);
        }
        if self.last_hub.as_ref() != Some(hub_id) {
            return Err(ProgressError::OffRoute);
        }
        if self.status == OrderStatus::Released {
            return if self.release_id.as_ref() == Some(release_id) {
                Ok(())
            } else {
                Err(ProgressError::WrongState)
            };
        }
        self.status = OrderStatus::Released;
        self.release_id = Some(release_id.clone());
        Ok(())
    }

    /// Closes the order after the final hub delivered it.
    ///
    /// # Errors
    /// [`ProgressError::Closed`] when delivered already, [`ProgressError::OffRoute`] for another
    /// hub, [`ProgressError::WrongState`] before release or with another release id.
    pub fn deliver(&mut self, hub_id: &HubId, release_id: &ReleaseId) -> Result<(), ProgressError> {
        match self.status {
            OrderStatus::Delivered => return Err(ProgressError::Closed),
            OrderStatus::Created => return Err(ProgressError::NotPickedUp),
            OrderStatus::Released => {}
            _ => return Err(ProgressError::WrongState),
        }
        if self.last_hub.as_ref() != Some(hub_id) {
            return Err(ProgressError::OffRoute);
        }
        let matches = self.release_id.as_ref().is_some_and(|r| {
            bool::from(r.as_str().as_bytes().ct_eq(release_id.as_str().as_bytes()))
        });
        if !matches {
            return Err(ProgressError::WrongState);
        }
        self.status = OrderStatus::Delivered;
        self.expected = None;
        Ok(())
    }
}

fn tagger(keys: &RegionKeys, record: &TokenisedOrder) -> Result<OrderTagger, ProgressError> {
    Ok(OrderTagger::new(
        keys,
        record.key_version,
        &record.platform_id,
        &record.order_id,
    )?)
}

/// What the routing rules ask about the buyer's delivery region. The edge answers by comparing
/// tags ([`TagAnswers`]), the origin by comparing plaintext codes ([`DeliveryRegion`]); both go
/// through the one [`decide`], so the origin recomputes exactly the verdicts the edge gave.
trait RegionQuestions {
    /// Whether `code` is the delivery region (district, or city without districts).
    fn is_delivery(&mut self, code: RegionCode) -> bool;
    /// Whether `code` is the buyer's city.
    fn is_city(&mut self, code: RegionCode) -> bool;
    /// Whether `code` is the buyer's province.
    fn is_province(&mut self, code: RegionCode) -> bool;
}

/// The edge's answers: tags of the asked codes against the record's tags, in constant time.
struct TagAnswers<'a> {
    tagger: &'a mut OrderTagger,
    record: &'a TokenisedOrder,
}

impl RegionQuestions for TagAnswers<'_> {
    fn is_delivery(&mut self, code: RegionCode) -> bool {
        bool::from(
            self.tagger
                .region(TagLevel::Delivery, code)
                .ct_eq(&self.record.delivery),
        )
    }

    fn is_city(&mut self, code: RegionCode) -> bool {
        bool::from(
            self.tagger
                .region(TagLevel::City, code)
                .ct_eq(&self.record.city),
        )
    }

    fn is_province(&mut self, code: RegionCode) -> bool {
        bool::from(
            self.tagger
                .region(TagLevel::Province, code)
                .ct_eq(&self.record.province),
        )
    }
}

impl RegionQuestions for DeliveryRegion {
    fn is_delivery(&mut self, code: RegionCode) -> bool {
        self.code() == code
    }

    fn is_city(&mut self, code: RegionCode) -> bool {
        self.city() == code
    }

    fn is_province(&mut self, code: RegionCode) -> bool {
        self.province() == code
    }
}

/// The verdict a hub gets for a parcel to `delivery`, and the hub it sends the parcel to next,
/// computed on the plaintext region with the same rules the edge applies to tags (the origin
/// uses it to check a chain of custody).
///
/// # Errors
/// [`ProgressError::UnresolvableRecord`] only for a region outside the directory.
pub fn route_step(
    delivery: &DeliveryRegion,
    hub: &HubRegion,
) -> Result<(Verdict, Option<HubRegion>), ProgressError> {
    decide(&mut delivery.clone(), hub)
}

/// The verdict for a hub already known to be on the route, and the next expected hub.
fn decide(
    region: &mut impl RegionQuestions,
    hub: &HubRegion,
) -> Result<(Verdict, Option<HubRegion>), ProgressError> {
    let directory = Directory::china();
    if region.is_delivery(hub.code()) {
        return Ok((Verdict::Deliver, None));
    }
    match hub.level() {
        HubLevel::District => {
            let city = hub
                .code()
                .truncated_parent()
                .ok_or(ProgressError::UnresolvableRecord)?;
            let next = directory
                .hub_region(HubLevel::City, city)
                .map_err(|_| ProgressError::UnresolvableRecord)?;
            Ok((Verdict::ForwardUp, Some(next)))
        }
        HubLevel::City if region.is_city(hub.code()) => {
            // The buyer's city, and it has districts (else the delivery region matched above).
            let district = find(directory.children(hub.code()), |code| {
                region.is_delivery(code)
            })?;
            let next = directory
                .hub_region(HubLevel::District, district)
                .map_err(|_| ProgressError::UnresolvableRecord)?;
            Ok((Verdict::RouteTo(next), Some(next)))
        }
        HubLevel::City => {
            let province = find(directory.provinces(), |code| region.is_province(code))?;
            let city = find(directory.children(province), |code| region.is_city(code))?;
            let next = directory
                .hub_region(HubLevel::City, city)
                .map_err(|_| ProgressError::UnresolvableRecord)?;
            Ok((Verdict::RouteTo(next), Some(next)))
        }
    }
}

/// The first candidate the question answers yes for. Stops at the first match: the scanning
/// hub learns that region from the verdict anyway.
fn find(
    candidates: &[RegionCode],
    mut matches: impl FnMut(RegionCode) -> bool,
) -> Result<RegionCode, ProgressError> {
    candidates
        .iter()
        .copied()
        .find(|code| matches(*code))
        .ok_or(ProgressError::UnresolvableRecord)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderId, PlatformId, SellerId};
    use crate::keys::{MasterKeyRing, OriginKeys};
    use crate::tokens::tokenise_order;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    struct World {
        keys: OriginKeys,
        record: TokenisedOrder,
        buyer: BuyerId,
        rng: StdRng,
    }

    fn world(buyer_region: &str) -> World {
        let mut rng = StdRng::seed_from_u64(21);
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut rng));
        let buyer = BuyerId::generate(&mut rng);
        let region = Directory::china()
            .delivery_region(RegionCode::parse(buyer_region).unwrap())
            .unwrap();
        let record = tokenise_order(
            &keys.region,
            &keys.binding,
            &PlatformId::parse("demo").unwrap(),
            &OrderId::generate(&mut rng),
            &SellerId::generate(&mut rng),
            &buyer,
            &region,
        )
        .unwrap();
        World {
            keys,
            record,
            buyer,
            rng,
        }
    }

    fn hub(level: HubLevel, code: &str) -> HubRegion {
        Directory::china()
            .hub_region(level, RegionCode::parse(code).unwrap())
            .unwrap()
    }

    #[test]
    fn longest_route_takes_four_hops_and_names_only_the_next_hop() {
        let mut w = world("110105");
        let mut progress = Progress::new();
        let pickup = hub(HubLevel::District, "330108");
        progress
            .pickup(
                &w.keys.region,
                &w.keys.binding,
                &w.record,
                &w.buyer,
                &pickup,
            )
            .unwrap();
        assert_eq!(progress.status(), OrderStatus::PickedUp);
        let route = [
            (hub(HubLevel::District, "330108"), Verdict::ForwardUp),
            (
                hub(HubLevel::City, "3301"),
                Verdict::RouteTo(hub(HubLevel::City, "1101")),
            ),
            (
                hub(HubLevel::City, "1101"),
                Verdict::RouteTo(hub(HubLevel::District, "110105")),
            ),
            (hub(HubLevel::District, "110105"), Verdict::Deliver),
        ];
        for (region, expected) in route {
            let id = HubId::generate(&mut w.rng);
            let decision = progress
                .apply_hop(&w.keys.region, &w.record, &id, &region)
                .unwrap();
            assert_eq!(decision.verdict, expected);
            assert!(!decision.repeat);
        }
        assert_eq!(progress.hops(), 4);
        assert_eq!(progress.status(), OrderStatus::InTransit);
    }

    #[test]
    fn hop_before_pickup_is_refused() {
        let mut w = world("110105");
        let id = HubId::generate(&mut w.rng);
        let err = Progress::new().hop(&w.keys.region, &w.record, &id, &hub(HubLevel::City, "1101"));
        assert_eq!(err, Err(ProgressError::NotPickedUp));
    }

    #[test]
    fn pickup_with_wrong_buyer_id_returns_label_mismatch() {
        let mut w = world("110105");
        let other = BuyerId::generate(&mut w.rng);
        let mut progress = Progress::new();
        let result = progress.pickup(
            &w.keys.region,
            &w.keys.binding,
            &w.record,
            &other,
            &hub(HubLevel::City, "1101"),
        );
        assert_eq!(result, Err(ProgressError::LabelMismatch));
        assert_eq!(progress.status(), OrderStatus::Created);
    }

    #[test]
    fn a_hub_the_parcel_was_not_sent_to_is_off_route() {
        let mut w = world("110105");
        let mut progress = Progress::new();
        progress
            .pickup(
                &w.keys.region,
                &w.keys.binding,
                &w.record,
                &w.buyer,
                &hub(HubLevel::District, "330108"),
            )
            .unwrap();
        let id = HubId::generate(&mut w.rng);
        let err = progress.hop(
            &w.keys.region,
            &w.record,
            &id,
            &hub(HubLevel::District, "110105"),
        );
        assert_eq!(err, Err(ProgressError::OffRoute));
        let err = progress.hop(&w.keys.region, &w.record, &id, &hub(HubLevel::City, "3301"));
        assert_eq!(err, Err(ProgressError::OffRoute));
    }

    #[test]
    fn repeated_scan_by_the_last_hub_returns_the_same_verdict_without_a_hop() {
        let mut w = world("110105");
        let mut progress = Progress::new();
        let city = hub(HubLevel::City, "3301");
        progress
            .pickup(&w.keys.region, &w.keys.binding, &w.record, &w.buyer, &city)
            .unwrap();
        let id = HubId::generate(&mut w.rng);
        let first = progress
            .apply_hop(&w.keys.region, &w.record, &id, &city)
            .unwrap();
        let again = progress
            .apply_hop(&w.keys.region, &w.record, &id, &city)
            .unwrap();
        assert_eq!(first.verdict, again.verdict);
        assert!(again.repeat);
        assert_eq!(progress.hops(), 1);
        // Another hub in the same region is not the last hub and not the next expected one.
        let other = HubId::generate(&mut w.rng);
        assert_eq!(
            progress.hop(&w.keys.region, &w.record, &other, &city),
            Err(ProgressError::OffRoute)
        );
    }

    #[test]
    fn city_without_districts_is_delivered_by_its_city_hub() {
        let mut w = world("4419");
        let mut progress = Progress::new();
        let dongguan = hub(HubLevel::City, "4419");
        progress
            .pickup(
                &w.keys.region,
                &w.keys.binding,
                &w.record,
                &w.buyer,
                &hub(HubLevel::City, "1101"),
            )
            .unwrap();
        let id = HubId::generate(&mut w.rng);
        let decision = progress
            .apply_hop(&w.keys.region, &w.record, &id, &hub(HubLevel::City, "1101"))
            .unwrap();
        assert_eq!(decision.verdict, Verdict::RouteTo(dongguan));
        let id = HubId::generate(&mut w.rng);
        let decision = progress
            .apply_hop(&w.keys.region, &w.record, &id, &dongguan)
            .unwrap();
        assert_eq!(decision.verdict, Verdict::Deliver);
    }

    #[test]
    fn release_and_delivery_close_the_order() {
        let mut w = world("110105");
        let mut progress = Progress::new();
        let final_hub = hub(HubLevel::District, "110105");
        progress
            .pickup(
                &w.keys.region,
                &w.keys.binding,
                &w.record,
                &w.buyer,
                &final_hub,
            )
            .unwrap();
        let id = HubId::generate(&mut w.rng);
        let release = ReleaseId::generate(&mut w.rng);
        assert_eq!(
            progress.release(&id, &release),
            Err(ProgressError::WrongState)
        );
        let decision = progress
            .apply_hop(&w.keys.region, &w.record, &id, &final_hub)
            .unwrap();
        assert_eq!(decision.verdict, Verdict::Deliver);
        let stranger = HubId::generate(&mut w.rng);
        assert_eq!(
            progress.release(&stranger, &release),
            Err(ProgressError::OffRoute)
        );
        progress.release(&id, &release).unwrap();
        progress.release(&id, &release).unwrap();
        assert_eq!(progress.status(), OrderStatus::Released);
        let again = progress
            .hop(&w.keys.region, &w.record, &id, &final_hub)
            .unwrap();
        assert_eq!((again.verdict, again.repeat), (Verdict::Deliver, true));
        let other_release = ReleaseId::generate(&mut w.rng);
        assert_eq!(
            progress.deliver(&id, &other_release),
            Err(ProgressError::WrongState)
        );
        progress.deliver(&id, &release).unwrap();
        assert_eq!(progress.status(), OrderStatus::Delivered);
        assert_eq!(progress.deliver(&id, &release), Err(ProgressError::Closed));
        assert_eq!(
            progress.hop(&w.keys.region, &w.record, &id, &final_hub),
            Err(ProgressError::Closed)
        );
        assert_eq!(
            progress.pickup(
                &w.keys.region,
                &w.keys.binding,
                &w.record,
                &w.buyer,
                &final_hub
            ),
            Err(ProgressError::Closed)
        );
    }

    #[test]
    fn illegal_transitions_are_rejected() {
        let mut w = world("110105");
        let id = HubId::generate(&mut w.rng);
        let release = ReleaseId::generate(&mut w.rng);
        let mut progress = Progress::new();
        assert_eq!(
            progress.release(&id, &release),
            Err(ProgressError::NotPickedUp)
        );
        assert_eq!(
            progress.deliver(&id, &release),
            Err(ProgressError::NotPickedUp)
        );
        let city = hub(HubLevel::City, "3301");
        progress
            .pickup(&w.keys.region, &w.keys.binding, &w.record, &w.buyer, &city)
            .unwrap();
        // The same pickup again is harmless; a different pickup hub is not.
        progress
            .pickup(&w.keys.region, &w.keys.binding, &w.record, &w.buyer, &city)
            .unwrap();
        assert_eq!(
            progress.pickup(
                &w.keys.region,
                &w.keys.binding,
                &w.record,
                &w.buyer,
                &hub(HubLevel::City, "1101")
            ),
            Err(ProgressError::WrongState)
        );
        assert_eq!(
            progress.deliver(&id, &release),
            Err(ProgressError::WrongState)
        );
        progress
            .apply_hop(&w.keys.region, &w.record, &id, &city)
            .unwrap();
        assert_eq!(
            progress.pickup(&w.keys.region, &w.keys.binding, &w.record, &w.buyer, &city),
            Err(ProgressError::WrongState)
        );
        assert_eq!(
            progress.release(&id, &release),
            Err(ProgressError::WrongState)
        );
    }

    #[test]
    fn unknown_key_version_is_reported() {
        let mut w = world("110105");
        w.record.key_version = KeyVersion(7);
        let mut progress = Progress::new();
        let result = progress.pickup(
            &w.keys.region,
            &w.keys.binding,
            &w.record,
            &w.buyer,
            &hub(HubLevel::City, "1101"),
        );
        assert_eq!(result, Err(ProgressError::UnknownKeyVersion(KeyVersion(7))));
    }

    #[test]
    fn progress_round_trips_through_serde_without_plaintext_regions() {
        let mut w = world("110105");
        let mut progress = Progress::new();
        let city = hub(HubLevel::City, "3301");
        progress
            .pickup(&w.keys.region, &w.keys.binding, &w.record, &w.buyer, &city)
            .unwrap();
        let id = HubId::generate(&mut w.rng);
        progress
            .apply_hop(&w.keys.region, &w.record, &id, &city)
            .unwrap();
        let json = serde_json::to_string(&progress).unwrap();
        assert!(
            !json.contains("\"1101\"") && !json.contains("\"110105\""),
            "{json}"
        );
        assert!(json.contains("\"in_transit\""));
        assert_eq!(serde_json::from_str::<Progress>(&json).unwrap(), progress);
    }

    #[test]
    fn verdicts_convert_to_api_bodies() {
        let body = Verdict::RouteTo(hub(HubLevel::City, "1101"))
            .to_response()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"verdict":"route_to","next_hop":{"level":"city","code":"1101"}})
        );
        let body = Verdict::ForwardUp.to_response().unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"verdict":"forward_up"})
        );
        assert!(Verdict::Deliver.to_response().is_none());
    }
}
