//! China's GB/T 2260 administrative regions: province (`33`) → city (`3301`) → district
//! (`330108`). The directory is generated at build time from `data/regions/cn/*.csv` into a
//! codes-only table (no names), so the Worker embeds it without disk I/O. Cities without
//! districts (Dongguan `4419`, Zhongshan `4420`, Danzhou `4604`) deliver at city level.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/regions_cn.rs"));
}

/// Why a region code or a region was rejected. Messages never echo the code: a buyer's
/// region is personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// Not 2, 4 or 6 ASCII digits.
    #[error("region must be a GB/T 2260 code of 2, 4 or 6 digits")]
    Malformed,
    /// Well formed but not in the directory.
    #[error("region is not a known GB/T 2260 code")]
    Unknown,
    /// A province, or a city that has districts: parcels are delivered to a district, or to a
    /// city only where the city has no districts.
    #[error("region must be a district code, or a city code where the city has no districts")]
    NotDeliverable,
    /// A hub level that does not fit the code (district hubs have 6 digits, city hubs 4).
    #[error("a district hub needs a 6-digit district code and a city hub a 4-digit city code")]
    LevelMismatch,
}

/// The depth of a region in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// 2 digits.
    Province,
    /// 4 digits.
    City,
    /// 6 digits.
    District,
}

impl RegionLevel {
    /// `province`, `city` or `district`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::City => "city",
            Self::District => "district",
        }
    }

    const fn digits(self) -> usize {
        match self {
            Self::Province => 2,
            Self::City => 4,
            Self::District => 6,
        }
    }
}

/// A syntactically valid GB/T 2260 code of 2, 4 or 6 digits. Whether it exists is the
/// [`Directory`]'s business.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode {
    value: u32,
    level: RegionLevel,
}

impl RegionCode {
    /// Parses 2, 4 or 6 ASCII digits.
    ///
    /// # Errors
    /// [`RegionError::Malformed`] otherwise.
    pub fn parse(input: &str) -> Result<Self, RegionError> {
        let level = match input.len() {
            2 => RegionLevel::Province,
            4 => RegionLevel::City,
            6 => RegionLevel::District,
            _ => return Err(RegionError::Malformed),
        };
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionError::Malformed);
        }
        let value = input.parse().map_err(|_| RegionError::Malformed)?;
        Ok(Self { value, level })
    }

    const fn new(value: u32, level: RegionLevel) -> Self {
        Self { value, level }
    }

    /// The level implied by the number of digits.
    pub const fn level(self) -> RegionLevel {
        self.level
    }

    /// The code as a number (leading zeros are impossible in GB/T 2260 but kept by `Display`).
    pub const fn value(self) -> u32 {
        self.value
    }

    /// The code one level up by truncation (`330108` → `3301` → `33`), whether or not it exists.
    pub const fn truncated_parent(self) -> Option<Self> {
        match self.level {
            RegionLevel::Province => None,
            RegionLevel::City => Some(Self::new(self.value / 100, RegionLevel::Province)),
            RegionLevel::District => Some(Self::new(self.value / 100, RegionLevel::City)),
        }
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.value, width = self.level.digits())
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({self})")
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;
    fn from_str(s: &str) -> Result<Self, RegionError> {
        Self::parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The level of a hub: a district's distribution centre or a city's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HubLevel {
    /// Serves one district (6-digit code).
    District,
    /// Serves one city (4-digit code); the final hub where the city has no districts.
    City,
}

impl HubLevel {
    /// `district` or `city`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::City => "city",
        }
    }

    /// Parses `district` or `city`.
    ///
    /// # Errors
    /// [`RegionError::LevelMismatch`] for anything else.
    pub fn parse(input: &str) -> Result<Self, RegionError> {
        match input {
            "district" => Ok(Self::District),
            "city" => Ok(Self::City),
            _ => Err(RegionError::LevelMismatch),
        }
    }

    /// The matching region level.
    pub const fn region_level(self) -> RegionLevel {
        match self {
            Self::District => RegionLevel::District,
            Self::City => RegionLevel::City,
        }
    }
}

/// A hub's region: a known district (district hub) or a known city (city hub).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HubRegion {
    level: HubLevel,
    code: RegionCode,
}

impl HubRegion {
    /// The hub's level.
    pub const fn level(self) -> HubLevel {
        self.level
    }

    /// The hub's region code (6 digits for a district hub, 4 for a city hub).
    pub const fn code(self) -> RegionCode {
        self.code
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HubRegionWire {
    level: HubLevel,
    code: RegionCode,
}

impl Serialize for HubRegion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        HubRegionWire {
            level: self.level,
            code: self.code,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HubRegion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = HubRegionWire::deserialize(deserializer)?;
        Directory::china()
            .hub_region(wire.level, wire.code)
            .map_err(serde::de::Error::custom)
    }
}

/// Where a parcel is delivered: a known district, or a known city without districts. Knows
/// its full path, so the tokeniser can tag every level.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryRegion {
    province: RegionCode,
    city: RegionCode,
    district: Option<RegionCode>,
}

impl DeliveryRegion {
    /// The delivery code: the district, or the city where it has no districts.
    pub fn code(&self) -> RegionCode {
        self.district.unwrap_or(self.city)
    }

    /// District or city.
    pub fn level(&self) -> RegionLevel {
        self.code().level()
    }

    /// Province, city and (where the city has districts) district.
    pub fn path(&self) -> (RegionCode, RegionCode, Option<RegionCode>) {
        (self.province, self.city, self.district)
    }

    /// The province.
    pub fn province(&self) -> RegionCode {
        self.province
    }

    /// The city.
    pub fn city(&self) -> RegionCode {
        self.city
    }

    /// The district, unless the city has none.
    pub fn district(&self) -> Option<RegionCode> {
        self.district
    }

    /// The hub that makes the final delivery: the district's hub, or the city's hub.
    pub fn final_hub(&self) -> HubRegion {
        match self.district {
            Some(code) => HubRegion {
                level: HubLevel::District,
                code,
            },
            None => HubRegion {
                level: HubLevel::City,
                code: self.city,
            },
        }
    }
}

impl fmt::Debug for DeliveryRegion {
    // A delivery region is a buyer's region: keep it out of debug output and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeliveryRegion([redacted])")
    }
}

impl Serialize for DeliveryRegion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.code().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DeliveryRegion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = RegionCode::deserialize(deserializer)?;
        Directory::china()
            .delivery_region(code)
            .map_err(serde::de::Error::custom)
    }
}

/// The region hierarchy, codes only. Lookups are hash-map and slice operations.
#[derive(Debug, Clone)]
pub struct Directory {
    provinces: Vec<RegionCode>,
    children: HashMap<RegionCode, Vec<RegionCode>>,
    known: HashSet<RegionCode>,
}

impl Directory {
    /// China's GB/T 2260 directory, built once from the table embedded at compile time.
    pub fn china() -> &'static Directory {
        static CHINA: OnceLock<Directory> = OnceLock::new();
        CHINA.get_or_init(|| {
            let codes = generated::PROVINCES
                .iter()
                .map(|&p| RegionCode::new(u32::from(p), RegionLevel::Province))
                .chain(
                    generated::CITIES
                        .iter()
                        .map(|&c| RegionCode::new(u32::from(c), RegionLevel::City)),
                )
                .chain(
                    generated::DISTRICTS
                        .iter()
                        .map(|&d| RegionCode::new(d, RegionLevel::District)),
                );
            // build.rs has already checked that every city and district sits under a listed
            // parent, so this cannot fail for the embedded table.
            #[allow(clippy::expect_used)]
            Directory::from_codes(codes).expect("embedded region table is consistent")
        })
    }

    /// A directory from a set of codes (for tests and other countries' data later).
    ///
    /// # Errors
    /// [`RegionError::Unknown`] when a city's province or a district's city is missing.
    pub fn from_codes(codes: impl IntoIterator<Item = RegionCode>) -> Result<Self, RegionError> {
        let mut codes: Vec<RegionCode> = codes.into_iter().collect();
        codes.sort();
        codes.dedup();
        let known: HashSet<RegionCode> = codes.iter().copied().collect();
        let mut children: HashMap<RegionCode, Vec<RegionCode>> = HashMap::new();
        let mut provinces = Vec::new();
        for code in codes {
            match code.truncated_parent() {
                None => provinces.push(code),
                Some(parent) if known.contains(&parent) => {
                    children.entry(parent).or_default().push(code);
                }
                Some(_) => return Err(RegionError::Unknown),
            }
        }
        Ok(Self {
            provinces,
            children,
            known,
        })
    }

    /// Whether the code is in the directory.
    pub fn contains(&self, code: RegionCode) -> bool {
        self.known.contains(&code)
    }

    /// The parent of a known city or district; `None` for provinces and unknown codes.
    pub fn parent(&self, code: RegionCode) -> Option<RegionCode> {
        if self.contains(code) {
            code.truncated_parent()
        } else {
            None
        }
    }

    /// The children of a known code, sorted; empty for districts, childless cities and unknown codes.
    pub fn children(&self, code: RegionCode) -> &[RegionCode] {
        self.children.get(&code).map_or(&[], Vec::as_slice)
    }

    /// All provinces, sorted.
    pub fn provinces(&self) -> &[RegionCode] {
        &self.provinces
    }

    /// Whether `ancestor` is a strict ancestor of `descendant` (both known).
    pub fn is_ancestor(&self, ancestor: RegionCode, descendant: RegionCode) -> bool {
        if !self.contains(ancestor) || !self.contains(descendant) {
            return false;
        }
        let mut current = descendant.truncated_parent();
        while let Some(code) = current {
            if code == ancestor {
                return true;
            }
            current = code.truncated_parent();
        }
        false
    }

    /// Whether a known city has districts.
    pub fn has_districts(&self, city: RegionCode) -> bool {
        city.level() == RegionLevel::City && !self.children(city).is_empty()
    }

    /// The delivery region for a code: a known district, or a known city without districts.
    ///
    /// # Errors
    /// [`RegionError::Unknown`] for codes not in the directory, [`RegionError::NotDeliverable`]
    /// for provinces and cities with districts.
    pub fn delivery_region(&self, code: RegionCode) -> Result<DeliveryRegion, RegionError> {
        if !self.contains(code) {
            return Err(RegionError::Unknown);
        }
        match code.level() {
            RegionLevel::Province => Err(RegionError::NotDeliverable),
            RegionLevel::City if self.has_districts(code) => Err(RegionError::NotDeliverable),
            RegionLevel::City => Ok(DeliveryRegion {
                province: RegionCode::new(code.value() / 100, RegionLevel::Province),
                city: code,
                district: None,
            }),
            RegionLevel::District => Ok(DeliveryRegion {
                province: RegionCode::new(code.value() / 10_000, RegionLevel::Province),
                city: RegionCode::new(code.value() / 100, RegionLevel::City),
                district: Some(code),
            }),
        }
    }

    /// A hub region: a known district for a district hub, a known city for a city hub.
    ///
    /// # Errors
    /// [`RegionError::LevelMismatch`] when the code's length does not fit the level,
    /// [`RegionError::Unknown`] when the code is not in the directory.
    pub fn hub_region(&self, level: HubLevel, code: RegionCode) -> Result<HubRegion, RegionError> {
        if code.level() != level.region_level() {
            return Err(RegionError::LevelMismatch);
        }
        if !self.contains(code) {
            return Err(RegionError::Unknown);
        }
        Ok(HubRegion { level, code })
    }

    /// Every delivery region, in code order (for tests, sampling and benches).
    pub fn delivery_regions(&self) -> Vec<DeliveryRegion> {
        let mut out = Vec::new();
        for &province in &self.provinces {
            for &city in self.children(province) {
                let districts = self.children(city);
                if districts.is_empty() {
                    out.push(DeliveryRegion {
                        province,
                        city,
                        district: None,
                    });
                }
                for &district in districts {
                    out.push(DeliveryRegion {
                        province,
                        city,
                        district: Some(district),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn region_codes_parse_two_four_or_six_digits_only() {
        assert_eq!(code("33").level(), RegionLevel::Province);
        assert_eq!(code("3301").level(), RegionLevel::City);
        assert_eq!(code("330108").level(), RegionLevel::District);
        for bad in ["", "3", "330", "33010", "3301081", "33a1", "３３", "-3301"] {
            assert_eq!(RegionCode::parse(bad), Err(RegionError::Malformed), "{bad}");
        }
        assert_eq!(code("330108").to_string(), "330108");
    }

    #[test]
    fn china_directory_has_the_expected_shape() {
        let dir = Directory::china();
        assert_eq!(dir.provinces().len(), 31);
        assert!(dir.contains(code("33")));
        assert!(dir.contains(code("3301")));
        assert!(dir.contains(code("330108")));
        assert!(!dir.contains(code("330199")));
        assert_eq!(dir.parent(code("330108")), Some(code("3301")));
        assert_eq!(dir.parent(code("3301")), Some(code("33")));
        assert_eq!(dir.parent(code("33")), None);
        assert!(dir.children(code("3301")).contains(&code("330108")));
        assert!(dir.is_ancestor(code("33"), code("330108")));
        assert!(dir.is_ancestor(code("3301"), code("330108")));
        assert!(!dir.is_ancestor(code("3302"), code("330108")));
        assert!(!dir.is_ancestor(code("330108"), code("330108")));
    }

    #[test]
    fn dongguan_has_no_districts_and_delivers_at_city_level() {
        let dir = Directory::china();
        let dongguan = code("4419");
        assert!(dir.contains(dongguan));
        assert!(!dir.has_districts(dongguan));
        assert!(
            !dir.contains(code("441900")),
            "the placeholder row is not a district"
        );
        let region = dir.delivery_region(dongguan).unwrap();
        assert_eq!(region.level(), RegionLevel::City);
        assert_eq!(region.path(), (code("44"), dongguan, None));
        assert_eq!(region.final_hub().level(), HubLevel::City);
    }

    #[test]
    fn province_administered_county_groups_are_ordinary_cities() {
        let dir = Directory::china();
        assert!(dir.has_districts(code("4190")));
        assert!(dir.delivery_region(code("4190")).is_err());
    }

    #[test]
    fn delivery_region_rejects_provinces_cities_with_districts_and_unknown_codes() {
        let dir = Directory::china();
        assert_eq!(
            dir.delivery_region(code("33")),
            Err(RegionError::NotDeliverable)
        );
        assert_eq!(
            dir.delivery_region(code("3301")),
            Err(RegionError::NotDeliverable)
        );
        assert_eq!(
            dir.delivery_region(code("339999")),
            Err(RegionError::Unknown)
        );
        let region = dir.delivery_region(code("110105")).unwrap();
        assert_eq!(
            region.path(),
            (code("11"), code("1101"), Some(code("110105")))
        );
    }

    #[test]
    fn hub_regions_need_matching_level_and_known_code() {
        let dir = Directory::china();
        assert!(dir.hub_region(HubLevel::District, code("110105")).is_ok());
        assert!(dir.hub_region(HubLevel::City, code("1101")).is_ok());
        assert_eq!(
            dir.hub_region(HubLevel::City, code("110105")),
            Err(RegionError::LevelMismatch)
        );
        assert_eq!(
            dir.hub_region(HubLevel::District, code("11")),
            Err(RegionError::LevelMismatch)
        );
        assert_eq!(
            dir.hub_region(HubLevel::City, code("1199")),
            Err(RegionError::Unknown)
        );
    }

    #[test]
    fn region_types_round_trip_through_serde() {
        let hub: HubRegion = serde_json::from_str(r#"{"level":"city","code":"1101"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&hub).unwrap(),
            r#"{"level":"city","code":"1101"}"#
        );
        assert!(
            serde_json::from_str::<HubRegion>(r#"{"level":"district","code":"1101"}"#).is_err()
        );
        let region: DeliveryRegion = serde_json::from_str("\"4419\"").unwrap();
        assert_eq!(region.code(), code("4419"));
        assert!(serde_json::from_str::<DeliveryRegion>("\"3301\"").is_err());
        assert_eq!(format!("{region:?}"), "DeliveryRegion([redacted])");
    }

    #[test]
    fn every_delivery_region_is_listed_once() {
        let dir = Directory::china();
        let all = dir.delivery_regions();
        let districts = all.iter().filter(|r| r.district().is_some()).count();
        assert_eq!(districts, 2978 - 3);
        assert_eq!(all.len() - districts, 3);
    }
}
