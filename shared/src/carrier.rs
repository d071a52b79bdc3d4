//! Carriers (logistics companies) and who may scan an order.
//!
//! Every hub belongs to one carrier, and so does every scanner (its hub's carrier, named in
//! its credential). Every order is carried by one carrier, chosen when it is created among
//! the seller's carriers; its record ([`Carriage`]) names that carrier and the seller's
//! ship-from region. [`admit_scanner`] is the rule the edge applies at every scan and the
//! origin again for every link of the chain of custody:
//!
//! - only the order's carrier's scanners may pick it up, hop-scan it or deliver it;
//! - a pickup is accepted only from a hub that serves the seller's ship-from region
//!   ([`serves`]): the ship-from district's own hub, or the city hub of its city.
//!
//! So a scanner of another carrier, or a pickup scanner far from the seller, that has seen a
//! label can no longer pick the parcel up first and strand it.
//!
//! The ship-from region is the seller's, not personal data of any buyer. Nothing here depends
//! on the buyer's region.

use serde::{Deserialize, Serialize};

use crate::credential::ScannerRole;
use crate::ids::CarrierId;
use crate::region::{DeliveryRegion, Directory, HubLevel, HubRegion, RegionCode};

/// The longest carrier name, in characters.
pub const MAX_CARRIER_NAME_CHARS: usize = 64;

/// A carrier's display name: 1 to 64 characters after trimming, no control characters.
/// Printed on labels and shown in tracking.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CarrierName(String);

impl CarrierName {
    /// Parses a name.
    ///
    /// # Errors
    /// [`CarrierError::BadName`] for an empty, too long or control-character name.
    pub fn parse(input: &str) -> Result<Self, CarrierError> {
        let trimmed = input.trim();
        let count = trimmed.chars().count();
        if count == 0 || count > MAX_CARRIER_NAME_CHARS || trimmed.chars().any(char::is_control) {
            return Err(CarrierError::BadName);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The default carrier's name.
    pub fn platform_default() -> Self {
        Self("lasthop".to_owned())
    }
}

serde_as_string!(CarrierName, to_string);

impl std::fmt::Display for CarrierName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a carrier input was refused (never echoing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// Not a usable carrier name.
    #[error("must be 1 to 64 characters without control characters")]
    BadName,
    /// Not a known district (or city without districts) of the directory.
    #[error("must be a known district code (or a city code where that city has no districts)")]
    BadShipFrom,
}

/// A seller's ship-from region: a known district, or a known city without districts.
///
/// # Errors
/// [`CarrierError::BadShipFrom`].
pub fn parse_ship_from(input: &str) -> Result<DeliveryRegion, CarrierError> {
    let code = RegionCode::parse(input).map_err(|_| CarrierError::BadShipFrom)?;
    Directory::china()
        .delivery_region(code)
        .map_err(|_| CarrierError::BadShipFrom)
}

/// Who carries an order, as its record names it: the carrier and the seller's ship-from
/// region (`None` for a seller registered without one: then any pickup hub of the carrier
/// is accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Carriage {
    /// The order's carrier.
    pub carrier_id: CarrierId,
    /// Its name, for tracking.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub carrier_name: CarrierName,
    /// The seller's ship-from region (a delivery-region code), if the seller has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, examples("330108")))]
    pub ship_from: Option<RegionCode>,
}

impl Default for Carriage {
    /// The carriage of records made before carriers existed: the default carrier, no
    /// ship-from.
    fn default() -> Self {
        Self {
            carrier_id: CarrierId::platform_default(),
            carrier_name: CarrierName::platform_default(),
            ship_from: None,
        }
    }
}

/// Why a scanner may not scan an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanRefusal {
    /// The scanner belongs to another carrier.
    #[error("this scanner's carrier does not carry this order")]
    ForeignCarrier,
    /// A pickup by a hub that does not serve the seller's ship-from region.
    #[error("this pickup hub does not serve the seller's ship-from region")]
    NotServingShipFrom,
}

impl ScanRefusal {
    /// A fixed word for metrics and the refusal audit.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::ForeignCarrier => "foreign_carrier",
            Self::NotServingShipFrom => "pickup_not_serving_ship_from",
        }
    }
}

/// Whether `hub` serves `ship_from` for pickups: the ship-from region's own hub (its district
/// hub, or its city hub for a city without districts), or the city hub of its city.
pub fn serves(hub: &HubRegion, ship_from: &DeliveryRegion) -> bool {
    *hub == ship_from.final_hub()
        || (hub.level() == HubLevel::City && hub.code() == ship_from.city())
}

/// Whether a scanner of `carrier` at `hub`, in `role`, may scan the order carried as
/// `carriage`. Pickups also need a hub that [`serves`] the ship-from region.
///
/// # Errors
/// [`ScanRefusal`].
pub fn admit_scanner(
    carriage: &Carriage,
    carrier: &CarrierId,
    role: ScannerRole,
    hub: &HubRegion,
) -> Result<(), ScanRefusal> {
    if carriage.carrier_id != *carrier {
        return Err(ScanRefusal::ForeignCarrier);
    }
    if role == ScannerRole::Pickup {
        if let Some(code) = carriage.ship_from {
            // A ship-from code that is no longer a delivery region serves nobody.
            let served = Directory::china()
                .delivery_region(code)
                .is_ok_and(|region| serves(hub, &region));
            if !served {
                return Err(ScanRefusal::NotServingShipFrom);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn hub(level: HubLevel, code: &str) -> HubRegion {
        Directory::china()
            .hub_region(level, RegionCode::parse(code).unwrap())
            .unwrap()
    }

    fn carriage(ship_from: Option<&str>) -> Carriage {
        Carriage {
            carrier_id: CarrierId::generate(&mut StdRng::seed_from_u64(7)),
            carrier_name: CarrierName::parse("Yunda").unwrap(),
            ship_from: ship_from.map(|c| RegionCode::parse(c).unwrap()),
        }
    }

    #[test]
    fn a_district_is_served_by_its_own_hub_and_its_city_hub_only() {
        let xihu = parse_ship_from("330106").unwrap();
        assert!(serves(&hub(HubLevel::District, "330106"), &xihu));
        assert!(serves(&hub(HubLevel::City, "3301"), &xihu));
        assert!(!serves(&hub(HubLevel::District, "330108"), &xihu));
        assert!(!serves(&hub(HubLevel::City, "3302"), &xihu));
        assert!(!serves(&hub(HubLevel::District, "110105"), &xihu));
    }

    #[test]
    fn another_carriers_scanner_is_refused_in_every_role() {
        let order = carriage(None);
        let other = CarrierId::generate(&mut StdRng::seed_from_u64(8));
        for role in [ScannerRole::Pickup, ScannerRole::Hub] {
            assert_eq!(
                admit_scanner(&order, &other, role, &hub(HubLevel::City, "3301")),
                Err(ScanRefusal::ForeignCarrier)
            );
            assert_eq!(
                admit_scanner(
                    &order,
                    &order.carrier_id,
                    role,
                    &hub(HubLevel::City, "3301")
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn a_pickup_far_from_the_ship_from_region_is_refused_but_hub_scans_are_not() {
        let order = carriage(Some("330106"));
        let far = hub(HubLevel::District, "110105");
        assert_eq!(
            admit_scanner(&order, &order.carrier_id, ScannerRole::Pickup, &far),
            Err(ScanRefusal::NotServingShipFrom)
        );
        assert_eq!(
            admit_scanner(&order, &order.carrier_id, ScannerRole::Hub, &far),
            Ok(())
        );
        let near = hub(HubLevel::District, "330106");
        assert_eq!(
            admit_scanner(&order, &order.carrier_id, ScannerRole::Pickup, &near),
            Ok(())
        );
    }

    #[test]
    fn carrier_names_are_trimmed_and_bounded() {
        assert_eq!(
            CarrierName::parse("  SF Express ").unwrap().as_str(),
            "SF Express"
        );
        assert_eq!(CarrierName::parse(" "), Err(CarrierError::BadName));
        assert_eq!(CarrierName::parse("a\nb"), Err(CarrierError::BadName));
        assert_eq!(
            CarrierName::parse(&"x".repeat(MAX_CARRIER_NAME_CHARS + 1)),
            Err(CarrierError::BadName)
        );
    }

    #[test]
    fn records_without_a_carriage_read_as_the_default_carrier() {
        let none: Carriage = Carriage::default();
        assert_eq!(none.carrier_id, CarrierId::platform_default());
        assert_eq!(none.ship_from, None);
    }
}
