//! Fee tables through the ops API (`/v1/ops/carriers/{carrier_id}/fees`), and the buyer's
//! quotes. The rules are [`crate::fees`]'s; these are the bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fees::{FeeTable, Zone, ZonePrice, MAX_FEN};
use crate::ids::{AddressId, CarrierId, SellerId};

use super::errors::FieldError;
use super::fields::{address_id, seller_id};
use super::ops::CarrierRef;

/// The weight of an order that names none, in grams: 1 kg, the first weight step (首重) of
/// most Chinese express tariffs, so an order without a weight pays the first step.
pub const DEFAULT_WEIGHT_G: u32 = 1_000;

/// The heaviest parcel an order or quote may name, in grams (100 kg).
pub const MAX_WEIGHT_G: u32 = 100_000;

/// A weight field: 1 to [`MAX_WEIGHT_G`] grams.
///
/// # Errors
/// A [`FieldError`] naming `weight_g`.
pub fn weight_g(grams: u32) -> Result<u32, FieldError> {
    if (1..=MAX_WEIGHT_G).contains(&grams) {
        Ok(grams)
    } else {
        Err(FieldError::new(
            "weight_g",
            format!("must be 1 to {MAX_WEIGHT_G} grams"),
        ))
    }
}

/// A query parameter the document declares required (kept optional in the type so that its
/// absence is the contract's 400 naming it).
fn required<'a>(field: &str, raw: &'a Option<String>) -> Result<&'a str, FieldError> {
    raw.as_deref()
        .ok_or_else(|| FieldError::new(field, "is required as a query parameter"))
}

/// The query of `GET /v1/buyers/me/quotes` (and its internal twin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct QuoteQuery {
    // Strings, so that a missing or bad one is the contract's 400 naming it.
    /// The seller to order from.
    #[cfg_attr(feature = "openapi", param(value_type = SellerId, required = true))]
    pub seller_id: Option<String>,
    /// One of the buyer's address numbers.
    #[cfg_attr(feature = "openapi", param(value_type = AddressId, required = true))]
    pub address_id: Option<String>,
    /// The parcel's weight in grams, 1 to 100000; 1000 when absent, as for an order.
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<u32>, minimum = 1, maximum = 100_000)
    )]
    pub weight_g: Option<String>,
}

/// A parsed [`QuoteQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteFor {
    /// The seller.
    pub seller_id: SellerId,
    /// The buyer's address.
    pub address_id: AddressId,
    /// Grams.
    pub weight_g: u32,
}

impl QuoteQuery {
    /// Parses every field.
    ///
    /// # Errors
    /// The first missing or bad field.
    pub fn parse(&self) -> Result<QuoteFor, FieldError> {
        Ok(QuoteFor {
            seller_id: seller_id("seller_id", required("seller_id", &self.seller_id)?)?,
            address_id: address_id("address_id", required("address_id", &self.address_id)?)?,
            weight_g: match &self.weight_g {
                None => DEFAULT_WEIGHT_G,
                Some(raw) => raw
                    .trim()
                    .parse()
                    .map_err(|_| {
                        FieldError::new("weight_g", format!("must be 1 to {MAX_WEIGHT_G} grams"))
                    })
                    .and_then(weight_g)?,
            },
        })
    }
}

/// One carrier's fee in a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeQuote {
    /// The carrier.
    pub carrier: CarrierRef,
    /// The fee in fen; `null` when the carrier has no fee table yet or the seller has no
    /// ship-from region (the order is then placed without a fee).
    pub fee_fen: Option<u64>,
    /// The version of the carrier's table the fee comes from; `null` with `fee_fen`.
    pub fee_version: Option<u32>,
}

/// An order's carriage cost as the order stored it, in the buyer's own profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderFee {
    /// The order's carrier.
    pub carrier_id: CarrierId,
    /// The parcel's weight in grams.
    pub weight_g: u32,
    /// The fee in fen; `null` when the order was placed without one (no table, or a seller
    /// without a ship-from region).
    pub fee_fen: Option<u64>,
    /// The table version the fee came from; `null` with `fee_fen`.
    pub fee_version: Option<u32>,
}

/// `GET /v1/buyers/me/quotes` answer: each of the seller's carriers, in the seller's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotesResponse {
    /// The weight quoted, in grams.
    pub weight_g: u32,
    /// One quote per carrier of the seller.
    pub quotes: Vec<FeeQuote>,
}

/// The largest weight step a table may name, in grams (100 kg).
pub const MAX_STEP_GRAMS: u32 = 100_000;

/// One zone's price, in a table's body and in its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ZonePriceEntry {
    /// The zone.
    #[cfg_attr(feature = "openapi", schema(value_type = Zone))]
    pub zone: String,
    /// The first weight step, in fen (at most 2^53 − 1).
    #[cfg_attr(feature = "openapi", schema(maximum = 9_007_199_254_740_991_u64))]
    pub first_fen: u64,
    /// Each further started step, in fen (at most 2^53 − 1).
    #[cfg_attr(feature = "openapi", schema(maximum = 9_007_199_254_740_991_u64))]
    pub additional_fen: u64,
}

/// `POST /v1/ops/carriers/{carrier_id}/fees` body: one version of a carrier's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeeTableInput {
    /// The version, from 1; the highest imported is the current one.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: u32,
    /// The weight step in grams, 1 to 100000.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub step_grams: u32,
    /// One price for each of the five zones.
    pub prices: Vec<ZonePriceEntry>,
}

/// The query of the CSV twin `POST /v1/ops/carriers/{carrier_id}/fees/csv`, whose body is the
/// prices as `text/csv` ([`crate::fees::prices_from_csv`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct FeeCsvQuery {
    // Strings, so that a missing or bad one is the contract's 400 naming it; the document
    // says both are required integers.
    /// The version, from 1.
    #[cfg_attr(feature = "openapi", param(value_type = u32, minimum = 1, required = true))]
    pub version: Option<String>,
    /// The weight step in grams, 1 to 100000.
    #[cfg_attr(
        feature = "openapi",
        param(value_type = u32, minimum = 1, maximum = 100_000, required = true)
    )]
    pub step_grams: Option<String>,
}

/// The query of `GET /v1/ops/carriers/{carrier_id}/fees`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct FeeTableQuery {
    /// An earlier version to read; without it, the current table.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1))]
    pub version: Option<String>,
}

/// A stored table: the answer to an import and to `GET …/fees`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeTableResponse {
    /// The carrier.
    pub carrier_id: CarrierId,
    /// The version.
    pub version: u32,
    /// The weight step in grams.
    pub step_grams: u32,
    /// The five zones' prices, narrowest zone first.
    pub prices: Vec<ZonePriceEntry>,
}

/// A version field: 1 or more.
///
/// # Errors
/// A [`FieldError`] naming `field`.
pub fn fee_version(field: &str, raw: &str) -> Result<u32, FieldError> {
    raw.trim()
        .parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| FieldError::new(field, "must be an integer from 1"))
}

fn step(raw: u32) -> Result<u32, FieldError> {
    if (1..=MAX_STEP_GRAMS).contains(&raw) {
        Ok(raw)
    } else {
        Err(FieldError::new(
            "step_grams",
            format!("must be 1 to {MAX_STEP_GRAMS}"),
        ))
    }
}

/// Checks a table's shape: a price for each zone, nothing else.
///
/// # Errors
/// A [`FieldError`] naming `prices`.
fn complete(prices: &BTreeMap<Zone, ZonePrice>) -> Result<(), FieldError> {
    if Zone::ALL.iter().all(|z| prices.contains_key(z)) {
        Ok(())
    } else {
        Err(FieldError::new(
            "prices",
            "must price each of the zones same_district, same_city, same_province, \
             other_province and remote",
        ))
    }
}

impl FeeTableInput {
    /// The table for `carrier_id`.
    ///
    /// # Errors
    /// The first bad field.
    pub fn parse(&self, carrier_id: CarrierId) -> Result<FeeTable, FieldError> {
        let version = if self.version >= 1 {
            self.version
        } else {
            return Err(FieldError::new("version", "must be an integer from 1"));
        };
        let mut prices = BTreeMap::new();
        for (i, entry) in self.prices.iter().enumerate() {
            let zone = Zone::parse(entry.zone.trim()).ok_or_else(|| {
                FieldError::new(
                    format!("prices[{i}].zone"),
                    "must be same_district, same_city, same_province, other_province or remote",
                )
            })?;
            for (name, amount) in [
                ("first_fen", entry.first_fen),
                ("additional_fen", entry.additional_fen),
            ] {
                if amount > MAX_FEN {
                    return Err(FieldError::new(
                        format!("prices[{i}].{name}"),
                        "must be at most 9007199254740991",
                    ));
                }
            }
            let price = ZonePrice {
                first_fen: entry.first_fen,
                additional_fen: entry.additional_fen,
            };
            if prices.insert(zone, price).is_some() {
                return Err(FieldError::new(
                    format!("prices[{i}].zone"),
                    "prices a zone already priced",
                ));
            }
        }
        complete(&prices)?;
        Ok(FeeTable {
            carrier_id,
            version,
            step_grams: step(self.step_grams)?,
            prices,
        })
    }
}

impl FeeCsvQuery {
    /// The table for `carrier_id` from this query and the CSV body.
    ///
    /// # Errors
    /// The first bad field; a bad CSV line is named as `body` with its line number.
    pub fn parse(&self, carrier_id: CarrierId, csv: &str) -> Result<FeeTable, FieldError> {
        let version = fee_version("version", required("version", &self.version)?)?;
        let step_grams = required("step_grams", &self.step_grams)?
            .trim()
            .parse()
            .map_err(|_| FieldError::new("step_grams", format!("must be 1 to {MAX_STEP_GRAMS}")))
            .and_then(step)?;
        let prices = crate::fees::prices_from_csv(csv)
            .map_err(|e| FieldError::new("body", e.to_string()))?;
        complete(&prices)?;
        Ok(FeeTable {
            carrier_id,
            version,
            step_grams,
            prices,
        })
    }
}

impl From<&FeeTable> for FeeTableResponse {
    fn from(table: &FeeTable) -> Self {
        Self {
            carrier_id: table.carrier_id.clone(),
            version: table.version,
            step_grams: table.step_grams,
            prices: table
                .prices
                .iter()
                .map(|(zone, price)| ZonePriceEntry {
                    zone: zone.as_str().to_owned(),
                    first_fen: price.first_fen,
                    additional_fen: price.additional_fen,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carrier() -> CarrierId {
        CarrierId::parse("ca_0000000000000001").unwrap()
    }

    fn input() -> FeeTableInput {
        FeeTableInput {
            version: 3,
            step_grams: 500,
            prices: Zone::ALL
                .iter()
                .zip(1..)
                .map(|(z, i)| ZonePriceEntry {
                    zone: z.as_str().to_owned(),
                    first_fen: 100 * i,
                    additional_fen: 10 * i,
                })
                .collect(),
        }
    }

    #[test]
    fn a_json_table_and_its_csv_twin_read_as_the_same_table_and_answer_back_as_sent() {
        let table = input().parse(carrier()).unwrap();
        assert_eq!(FeeTableResponse::from(&table).prices, input().prices);
        let csv = "zone,first_fen,additional_fen\nremote,500,50\nsame_district,100,10\n\
                   same_city,200,20\nsame_province,300,30\nother_province,400,40\n";
        let query = FeeCsvQuery {
            version: Some("3".into()),
            step_grams: Some("500".into()),
        };
        assert_eq!(query.parse(carrier(), csv), Ok(table));
    }

    #[test]
    fn bad_tables_name_the_field() {
        let field = |input: FeeTableInput| input.parse(carrier()).unwrap_err().field;
        let mut missing = input();
        missing.prices.pop();
        assert_eq!(field(missing), "prices");
        let mut twice = input();
        twice.prices[1].zone = "same_district".into();
        assert_eq!(field(twice), "prices[1].zone");
        let mut moon = input();
        moon.prices[0].zone = "moon".into();
        assert_eq!(field(moon), "prices[0].zone");
        let mut huge = input();
        huge.prices[4].additional_fen = MAX_FEN + 1;
        assert_eq!(field(huge), "prices[4].additional_fen");
        let mut zero = input();
        zero.version = 0;
        assert_eq!(field(zero), "version");
        let mut step = input();
        step.step_grams = 0;
        assert_eq!(field(step), "step_grams");
        let query = |v: Option<&str>, s: Option<&str>, csv: &str| {
            FeeCsvQuery {
                version: v.map(Into::into),
                step_grams: s.map(Into::into),
            }
            .parse(carrier(), csv)
            .unwrap_err()
            .field
        };
        assert_eq!(query(None, Some("1"), ""), "version");
        assert_eq!(query(Some("x"), Some("1"), ""), "version");
        assert_eq!(query(Some("1"), Some("100001"), ""), "step_grams");
        assert_eq!(query(Some("1"), Some("1"), "remote,1"), "body");
        assert_eq!(query(Some("1"), Some("1"), "remote,1,1"), "prices");
    }
}
