//! Inputs for benchmarks, built with the real keys and the real decision so that every
//! benchmark of the hop decision (native criterion, and inside wasm on workerd) times the
//! same case.
//!
//! The costliest hop decision is a city hub scanning a parcel for a buyer in another
//! province: the decision searches province tags up to the buyer's province, then that
//! province's city tags up to the buyer's city. [`costliest_hop`] finds the order whose
//! search is the longest by running the decision for one buyer region per city and keeping
//! the one with the most HMAC computations.

use rand_core::CryptoRngCore;

use crate::ids::{BuyerId, HubId, OrderId, PlatformId, SellerId};
use crate::keys::{BindingKeys, RegionKeys};
use crate::progress::{Progress, ProgressError, Verdict};
use crate::region::{Directory, HubLevel, HubRegion, RegionCode};
use crate::tokens::{tokenise_order, TokenError, TokenisedOrder};

/// The city hub the costliest decision is taken at (Beijing, as in the contract's examples).
const HUB_CITY: u32 = 1101;

/// One order picked up and waiting at a hub, ready for [`Progress::hop`].
#[derive(Debug, Clone)]
pub struct HopCase {
    /// The order's tokenised record.
    pub record: TokenisedOrder,
    /// Its progress: picked up, expected at [`HopCase::hub`].
    pub progress: Progress,
    /// The scanning hub's id.
    pub hub_id: HubId,
    /// The scanning hub's region.
    pub hub: HubRegion,
    /// HMAC-SHA256 computations the decision takes.
    pub hmacs: u32,
}

impl HopCase {
    /// Takes the decision once (without recording it).
    ///
    /// # Errors
    /// As [`Progress::hop`]; never for a case this module built.
    pub fn decide(&self, keys: &RegionKeys) -> Result<Verdict, ProgressError> {
        self.progress
            .hop(keys, &self.record, &self.hub_id, &self.hub)
            .map(|decision| decision.verdict)
    }
}

/// Why a case could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The key sets do not share a version.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The decision refused the case (a bug: the case is built to be on route).
    #[error(transparent)]
    Progress(#[from] ProgressError),
    /// The region directory has no such hub or no region outside its province.
    #[error("the region directory cannot provide the benchmark's hub or buyer regions")]
    Directory,
}

/// The order whose decision at the city hub 1101 costs the most HMACs, over one buyer region
/// in every city outside the hub's province (the search cost depends on the buyer's province
/// and city, not on the district).
///
/// # Errors
/// [`BenchError`] when the keys do not belong together (the caller's fault) or the directory
/// lacks the hub.
pub fn costliest_hop(
    region_keys: &RegionKeys,
    binding_keys: &BindingKeys,
    rng: &mut impl CryptoRngCore,
) -> Result<HopCase, BenchError> {
    let directory = Directory::china();
    let hub_code = RegionCode::parse(&HUB_CITY.to_string()).map_err(|_| BenchError::Directory)?;
    let hub = directory
        .hub_region(HubLevel::City, hub_code)
        .map_err(|_| BenchError::Directory)?;
    let hub_province = hub_code.truncated_parent().ok_or(BenchError::Directory)?;
    let platform = PlatformId::parse("demo").map_err(|_| BenchError::Directory)?;
    let mut seen_cities = Vec::new();
    let mut worst: Option<HopCase> = None;
    for region in directory.delivery_regions() {
        if region.province() == hub_province || seen_cities.contains(&region.city()) {
            continue;
        }
        seen_cities.push(region.city());
        let buyer = BuyerId::generate(rng);
        let record = tokenise_order(
            region_keys,
            binding_keys,
            &platform,
            &OrderId::generate(rng),
            &SellerId::generate(rng),
            &buyer,
            &region,
        )?;
        let mut progress = Progress::new();
        progress.pickup(region_keys, binding_keys, &record, &buyer, &hub)?;
        let hub_id = HubId::generate(rng);
        let decision = progress.hop(region_keys, &record, &hub_id, &hub)?;
        if worst.as_ref().is_none_or(|w| decision.hmac_count > w.hmacs) {
            worst = Some(HopCase {
                record,
                progress,
                hub_id,
                hub,
                hmacs: decision.hmac_count,
            });
        }
    }
    worst.ok_or(BenchError::Directory)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::keys::{MasterKeyRing, OriginKeys};
    use crate::region::RegionLevel;

    #[test]
    fn the_costliest_hop_routes_a_far_parcel_and_searches_more_than_every_other_city() {
        let mut rng = StdRng::seed_from_u64(13);
        let keys = OriginKeys::derive(&MasterKeyRing::generate(&mut rng));
        let case = costliest_hop(&keys.region, &keys.binding, &mut rng).unwrap();
        let verdict = case.decide(&keys.region).unwrap();
        let Verdict::RouteTo(next) = verdict else {
            panic!("expected route_to, got {verdict:?}")
        };
        assert_eq!(next.level(), HubLevel::City);
        assert_ne!(
            next.code().truncated_parent(),
            Some(case.hub.code().truncated_parent().unwrap())
        );
        // Every province before the buyer's and every city before the buyer's city is tried.
        let directory = Directory::china();
        let province = next.code().truncated_parent().unwrap();
        let province_rank = directory
            .provinces()
            .iter()
            .position(|p| *p == province)
            .unwrap();
        let city_rank = directory
            .children(province)
            .iter()
            .position(|c| *c == next.code())
            .unwrap();
        assert!(
            case.hmacs as usize >= province_rank + city_rank + 2,
            "{}",
            case.hmacs
        );
        assert_eq!(next.code().level(), RegionLevel::City);
    }
}
