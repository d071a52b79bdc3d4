//! Shipping fees: the pure rules. The ops API imports tables (`api::FeeTableInput`, or the CSV
//! form read by [`prices_from_csv`]), the origin stores them and prices orders with them.
//!
//! Each carrier has versioned fee tables. A table prices a parcel by **zone** — from the
//! seller's ship-from region and the buyer's delivery region, computed at the origin from
//! plaintext regions — and by **weight step**: the first step costs `first_fen`, every further
//! started step `additional_fen`. Amounts are fen (1/100 yuan) in `u64`, integer arithmetic
//! only, overflow refused.
//!
//! Zones, narrowest first: same district, same city, same province, other province, remote.
//! **Remote** is any trip between two provinces of which one is in [`REMOTE_PROVINCES`]:
//! Inner Mongolia (15), Tibet (54), Gansu (62), Qinghai (63), Ningxia (64) and Xinjiang (65)
//! (GB/T 2260 codes), the provinces Chinese express carriers commonly surcharge as 偏远地区 for
//! their sparse networks and long trunk routes. Within one of them the ordinary zones apply.
//!
//! A [`FeeBook`] holds every imported table. A `(carrier, version)` is written once: importing
//! the same table again changes nothing, a different table under an existing version is
//! refused, so an order that stored its table version is always priced by that same table, and
//! the current table of a carrier is its highest version whatever order tables arrived in.

use std::collections::BTreeMap;

use crate::ids::CarrierId;
use crate::region::{DeliveryRegion, RegionCode};

/// GB/T 2260 province codes of the remote zone (see the module docs for why these).
pub const REMOTE_PROVINCES: [u32; 6] = [15, 54, 62, 63, 64, 65];

/// Where a parcel goes relative to where it is sent from (its wire word is its snake_case name).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// Same district (or the same city without districts).
    SameDistrict,
    /// Same city.
    SameCity,
    /// Same province.
    SameProvince,
    /// Another province, neither of them remote.
    OtherProvince,
    /// Between two provinces, one of them remote.
    Remote,
}

impl Zone {
    /// Every zone, narrowest first.
    pub const ALL: [Self; 5] = [
        Self::SameDistrict,
        Self::SameCity,
        Self::SameProvince,
        Self::OtherProvince,
        Self::Remote,
    ];

    /// The wire word, e.g. `same_city`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SameDistrict => "same_district",
            Self::SameCity => "same_city",
            Self::SameProvince => "same_province",
            Self::OtherProvince => "other_province",
            Self::Remote => "remote",
        }
    }

    /// The zone of a parcel from `from` to `to`.
    pub fn between(from: &DeliveryRegion, to: &DeliveryRegion) -> Self {
        let remote = |code: RegionCode| REMOTE_PROVINCES.contains(&code.value());
        if from.code() == to.code() {
            Self::SameDistrict
        } else if from.city() == to.city() {
            Self::SameCity
        } else if from.province() == to.province() {
            Self::SameProvince
        } else if remote(from.province()) || remote(to.province()) {
            Self::Remote
        } else {
            Self::OtherProvince
        }
    }
}

/// The largest amount a table may name, in fen: 2^53 − 1, so every client (a browser's
/// JavaScript numbers included) reads amounts exactly.
pub const MAX_FEN: u64 = (1 << 53) - 1;

/// The price of one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZonePrice {
    /// The first weight step, in fen.
    pub first_fen: u64,
    /// Each further started step, in fen.
    pub additional_fen: u64,
}

/// One carrier's fee table, one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeTable {
    /// The carrier.
    pub carrier_id: CarrierId,
    /// The version (higher is newer).
    pub version: u32,
    /// The weight step in grams (at least 1).
    pub step_grams: u32,
    /// A price per zone, each zone priced.
    pub prices: BTreeMap<Zone, ZonePrice>,
}

/// Why a fee could not be computed or a table not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// A table without a price for every zone, or with a zero step.
    #[error("a fee table needs a weight step of at least 1 gram and a price for every zone")]
    Incomplete,
    /// Another table was imported before under this carrier and version.
    #[error("this carrier already has a different table under this version")]
    VersionTaken,
    /// No table for the carrier (or version).
    #[error("no fee table for this carrier")]
    NoTable,
    /// A weight of zero grams.
    #[error("the weight must be at least 1 gram")]
    NoWeight,
    /// The amount is above [`MAX_FEN`].
    #[error("the fee is too large")]
    Overflow,
}

/// Why an imported table's text was refused (never echoing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Line `line` (1-based) is not `zone,first_fen,additional_fen`.
    #[error(
        "line {line} must be `zone,first_fen,additional_fen` with a known zone and amounts in fen"
    )]
    BadLine {
        /// The line.
        line: usize,
    },
    /// A zone priced twice.
    #[error("line {line} prices a zone already priced")]
    Repeated {
        /// The line.
        line: usize,
    },
}

impl Zone {
    /// The zone of a wire word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|z| z.as_str() == word)
    }
}

/// Reads the CSV form of a table's prices: an optional header `zone,first_fen,additional_fen`,
/// then one line per zone; blank lines are skipped. Whether every zone is priced is checked at
/// import ([`FeeBook::import`]).
///
/// # Errors
/// [`ImportError`] naming the first bad line.
pub fn prices_from_csv(text: &str) -> Result<BTreeMap<Zone, ZonePrice>, ImportError> {
    let mut prices = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        if fields.iter().all(|f| f.is_empty()) || (line == 1 && fields[0] == "zone") {
            continue;
        }
        let [zone, first, additional] = fields[..] else {
            return Err(ImportError::BadLine { line });
        };
        let bad = || ImportError::BadLine { line };
        let zone = Zone::parse(zone).ok_or_else(bad)?;
        let amount = |raw: &str| raw.parse().ok().filter(|fen| *fen <= MAX_FEN);
        let price = ZonePrice {
            first_fen: amount(first).ok_or_else(bad)?,
            additional_fen: amount(additional).ok_or_else(bad)?,
        };
        if prices.insert(zone, price).is_some() {
            return Err(ImportError::Repeated { line });
        }
    }
    Ok(prices)
}

impl FeeTable {
    /// The fee of a parcel of `grams` in `zone`: the first step, plus each further started
    /// step.
    ///
    /// # Errors
    /// [`FeeError::NoWeight`], [`FeeError::Incomplete`], [`FeeError::Overflow`].
    pub fn fee(&self, zone: Zone, grams: u32) -> Result<u64, FeeError> {
        if grams == 0 {
            return Err(FeeError::NoWeight);
        }
        if self.step_grams == 0 {
            return Err(FeeError::Incomplete);
        }
        let price = self.prices.get(&zone).ok_or(FeeError::Incomplete)?;
        let steps = u64::from(grams.div_ceil(self.step_grams));
        price
            .additional_fen
            .checked_mul(steps - 1)
            .and_then(|extra| extra.checked_add(price.first_fen))
            .filter(|fee| *fee <= MAX_FEN)
            .ok_or(FeeError::Overflow)
    }

    fn complete(&self) -> bool {
        self.step_grams > 0 && Zone::ALL.iter().all(|z| self.prices.contains_key(z))
    }
}

/// Every imported table, by carrier and version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeeBook {
    tables: BTreeMap<(CarrierId, u32), FeeTable>,
}

impl FeeBook {
    /// Imports a table. The same table again is accepted and changes nothing.
    ///
    /// # Errors
    /// [`FeeError::Incomplete`], [`FeeError::VersionTaken`].
    pub fn import(&mut self, table: FeeTable) -> Result<(), FeeError> {
        if !table.complete() {
            return Err(FeeError::Incomplete);
        }
        let key = (table.carrier_id.clone(), table.version);
        match self.tables.get(&key) {
            Some(existing) if *existing == table => Ok(()),
            Some(_) => Err(FeeError::VersionTaken),
            None => {
                self.tables.insert(key, table);
                Ok(())
            }
        }
    }

    /// The carrier's current table: its highest version.
    pub fn current(&self, carrier: &CarrierId) -> Option<&FeeTable> {
        self.tables
            .range((carrier.clone(), 0)..=(carrier.clone(), u32::MAX))
            .next_back()
            .map(|(_, table)| table)
    }

    /// The carrier's table of one version (the one an order stored).
    pub fn version(&self, carrier: &CarrierId, version: u32) -> Option<&FeeTable> {
        self.tables.get(&(carrier.clone(), version))
    }

    /// A quote with the carrier's current table: the fee and the version it came from.
    ///
    /// # Errors
    /// [`FeeError::NoTable`] and those of [`FeeTable::fee`].
    pub fn quote(
        &self,
        carrier: &CarrierId,
        from: &DeliveryRegion,
        to: &DeliveryRegion,
        grams: u32,
    ) -> Result<(u64, u32), FeeError> {
        let table = self.current(carrier).ok_or(FeeError::NoTable)?;
        Ok((table.fee(Zone::between(from, to), grams)?, table.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Directory;
    use proptest::prelude::*;

    fn region(code: &str) -> DeliveryRegion {
        Directory::china()
            .delivery_region(RegionCode::parse(code).unwrap())
            .unwrap()
    }

    fn carrier(n: u8) -> CarrierId {
        CarrierId::parse(&format!("ca_000000000000000{n}")).unwrap()
    }

    fn table(carrier_id: CarrierId, version: u32, base: u64) -> FeeTable {
        FeeTable {
            carrier_id,
            version,
            step_grams: 500,
            prices: Zone::ALL
                .iter()
                .zip(0..)
                .map(|(zone, i)| {
                    (
                        *zone,
                        ZonePrice {
                            first_fen: base + 100 * i,
                            additional_fen: 50 + 10 * i,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn zones_come_from_the_two_regions_with_remote_provinces_between_provinces_only() {
        let binjiang = region("330108");
        assert_eq!(Zone::between(&binjiang, &binjiang), Zone::SameDistrict);
        assert_eq!(Zone::between(&binjiang, &region("330106")), Zone::SameCity);
        assert_eq!(
            Zone::between(&binjiang, &region("330203")),
            Zone::SameProvince
        );
        assert_eq!(
            Zone::between(&binjiang, &region("110105")),
            Zone::OtherProvince
        );
        assert_eq!(Zone::between(&binjiang, &region("540102")), Zone::Remote);
        assert_eq!(Zone::between(&region("650102"), &binjiang), Zone::Remote);
        assert_eq!(
            Zone::between(&region("540102"), &region("540103")),
            Zone::SameCity
        );
    }

    #[test]
    fn a_fee_is_the_first_step_plus_each_further_started_step() {
        let t = table(carrier(1), 1, 1000);
        assert_eq!(t.fee(Zone::SameDistrict, 1), Ok(1000));
        assert_eq!(t.fee(Zone::SameDistrict, 500), Ok(1000));
        assert_eq!(t.fee(Zone::SameDistrict, 501), Ok(1050));
        assert_eq!(t.fee(Zone::Remote, 1500), Ok(1400 + 2 * 90));
        assert_eq!(t.fee(Zone::Remote, 0), Err(FeeError::NoWeight));
        let mut huge = t.clone();
        huge.prices.insert(
            Zone::Remote,
            ZonePrice {
                first_fen: u64::MAX,
                additional_fen: 1,
            },
        );
        assert_eq!(huge.fee(Zone::Remote, 501), Err(FeeError::Overflow));
    }

    #[test]
    fn a_version_is_written_once_and_incomplete_tables_are_refused() {
        let mut book = FeeBook::default();
        book.import(table(carrier(1), 1, 1000)).unwrap();
        assert_eq!(book.import(table(carrier(1), 1, 1000)), Ok(()));
        assert_eq!(
            book.import(table(carrier(1), 1, 900)),
            Err(FeeError::VersionTaken)
        );
        let mut partial = table(carrier(1), 2, 1000);
        partial.prices.remove(&Zone::Remote);
        assert_eq!(book.import(partial), Err(FeeError::Incomplete));
    }

    #[test]
    fn csv_prices_read_every_zone_and_name_the_bad_line() {
        let csv = "zone,first_fen,additional_fen\nsame_district,800,100\nsame_city, 900 ,120\n\n\
                   same_province,1000,150\nother_province,1200,200\nremote,2000,500\n";
        let prices = prices_from_csv(csv).unwrap();
        assert_eq!(prices.len(), 5);
        assert_eq!(
            prices[&Zone::SameCity],
            ZonePrice {
                first_fen: 900,
                additional_fen: 120
            }
        );
        let mut book = FeeBook::default();
        let t = FeeTable {
            carrier_id: carrier(1),
            version: 1,
            step_grams: 1000,
            prices,
        };
        book.import(t).unwrap();
        assert_eq!(
            prices_from_csv("same_city,9.5,1"),
            Err(ImportError::BadLine { line: 1 })
        );
        assert_eq!(
            prices_from_csv("zone,first_fen,additional_fen\nmoon,1,1"),
            Err(ImportError::BadLine { line: 2 })
        );
        assert_eq!(
            prices_from_csv("remote,1,1\nremote,2,2"),
            Err(ImportError::Repeated { line: 2 })
        );
        assert_eq!(
            prices_from_csv("remote,-1,1"),
            Err(ImportError::BadLine { line: 1 })
        );
    }

    fn tables() -> impl Strategy<Value = Vec<FeeTable>> {
        proptest::collection::btree_map((1u8..4, 1u32..6), 1u64..5000, 1..12).prop_map(|m| {
            m.into_iter()
                .map(|((c, v), base)| table(carrier(c), v, base))
                .collect()
        })
    }

    const REGIONS: [&str; 6] = ["330108", "330106", "330203", "110105", "540102", "4419"];

    proptest! {
        #[test]
        fn the_fee_does_not_depend_on_the_order_tables_were_imported_in(
            tables in tables(),
            seed in any::<u64>(),
            from in 0..REGIONS.len(),
            to in 0..REGIONS.len(),
            grams in 1u32..30_000,
        ) {
            let mut shuffled = tables.clone();
            // A permutation from the seed (Fisher–Yates with a small LCG).
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let j = usize::try_from(state >> 33).unwrap() % (i + 1);
                shuffled.swap(i, j);
            }
            let mut in_order = FeeBook::default();
            let mut reordered = FeeBook::default();
            for t in tables { in_order.import(t).unwrap(); }
            for t in shuffled { reordered.import(t).unwrap(); }
            let (from, to) = (region(REGIONS[from]), region(REGIONS[to]));
            for c in 1..4 {
                prop_assert_eq!(
                    in_order.quote(&carrier(c), &from, &to, grams),
                    reordered.quote(&carrier(c), &from, &to, grams)
                );
            }
        }

        #[test]
        fn a_csv_table_reads_the_same_whatever_order_its_lines_are_in(
            base in 1u64..5000,
            rotation in 0usize..5,
        ) {
            let t = table(carrier(1), 1, base);
            let mut lines: Vec<String> = t
                .prices
                .iter()
                .map(|(z, p)| format!("{},{},{}", z.as_str(), p.first_fen, p.additional_fen))
                .collect();
            lines.rotate_left(rotation);
            lines.reverse();
            prop_assert_eq!(prices_from_csv(&lines.join("\n")).unwrap(), t.prices);
        }

        #[test]
        fn an_update_never_changes_the_fee_of_an_order_already_placed(
            tables in tables(),
            update in 1u64..5000,
            new_version in 1u32..10,
            from in 0..REGIONS.len(),
            to in 0..REGIONS.len(),
            grams in 1u32..30_000,
        ) {
            let mut book = FeeBook::default();
            for t in tables { book.import(t).unwrap(); }
            let (from, to) = (region(REGIONS[from]), region(REGIONS[to]));
            // The order stores the fee and the version it was quoted with.
            let Ok((fee, version)) = book.quote(&carrier(1), &from, &to, grams) else {
                return Ok(());
            };
            // Any update: a new version, or a different table under a taken one (refused).
            let _ = book.import(table(carrier(1), new_version, update));
            let again = book
                .version(&carrier(1), version)
                .unwrap()
                .fee(Zone::between(&from, &to), grams);
            prop_assert_eq!(again, Ok(fee));
        }
    }
}
