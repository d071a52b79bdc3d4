//! A buyer's contact data: name, phone, postal address. Each type trims and checks its
//! input once; every error names the field and never echoes the value (it is personal data).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

use crate::region::{DeliveryRegion, Directory, RegionCode};

/// A contact field was rejected. `field` is the JSON field name; `reason` never contains the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct ContactError {
    /// The field, e.g. `phone`.
    pub field: &'static str,
    /// What is wrong, e.g. `must have 5 to 20 digits`.
    pub reason: &'static str,
}

fn error(field: &'static str, reason: &'static str) -> ContactError {
    ContactError { field, reason }
}

/// Trimmed text of `min..=max` characters without control characters.
fn text(
    input: &str,
    field: &'static str,
    max: usize,
    reason: &'static str,
) -> Result<String, ContactError> {
    let trimmed = input.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > max {
        return Err(error(field, reason));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(error(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal, $reason:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses and trims the value.
            ///
            /// # Errors
            /// A [`ContactError`] naming the field.
            pub fn parse(input: &str) -> Result<Self, ContactError> {
                text(input, $field, $max, $reason).map(Self)
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        personal_traits!($name);
    };
}

/// Serde as a string, `Debug` redacted (personal data must not reach logs by accident).
macro_rules! personal_traits {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_type!(
    /// A person's name: 1 to 100 characters after trimming.
    PersonName, "name", 100, "must be 1 to 100 characters"
);
text_type!(
    /// The street part of an address: 1 to 200 characters after trimming.
    AddressLine, "line", 200, "must be 1 to 200 characters"
);
text_type!(
    /// A buyer's label for an address, e.g. `home`: 1 to 32 characters.
    AddressLabel, "label", 32, "must be 1 to 32 characters"
);

/// A phone number: optional leading `+` and 5 to 20 digits; spaces and dashes are dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalises (`+86 138-0000-0000` → `+8613800000000`).
    ///
    /// # Errors
    /// A [`ContactError`] for the field `phone`.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => {
                    return Err(error(
                        "phone",
                        "may only contain digits, spaces, dashes and a leading +",
                    ))
                }
            }
        }
        if !(5..=20).contains(&digits.len()) {
            return Err(error("phone", "must have 5 to 20 digits"));
        }
        Ok(Self(format!("{plus}{digits}")))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

personal_traits!(PhoneNumber);

/// A Chinese postal code: 6 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PostalCode(String);

impl PostalCode {
    /// Parses 6 ASCII digits (surrounding space trimmed).
    ///
    /// # Errors
    /// A [`ContactError`] for the field `postal_code`.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let trimmed = input.trim();
        if trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(error("postal_code", "must be 6 digits"))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

personal_traits!(PostalCode);

/// A country. Only China (`CN`) for now: the region directory is GB/T 2260.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CountryCode {
    /// China.
    #[serde(rename = "CN")]
    Cn,
}

impl CountryCode {
    /// Parses `CN` (case-insensitive).
    ///
    /// # Errors
    /// A [`ContactError`] for the field `country`.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        if input.trim().eq_ignore_ascii_case("CN") {
            Ok(Self::Cn)
        } else {
            Err(error("country", "must be CN (the only country supported)"))
        }
    }

    /// `CN`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cn => "CN",
        }
    }
}

/// A postal address that can be delivered to.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    country: CountryCode,
    region: DeliveryRegion,
    line: AddressLine,
    postal_code: PostalCode,
}

impl fmt::Debug for PostalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PostalAddress([redacted])")
    }
}

impl PostalAddress {
    /// Combines parsed parts.
    pub fn new(
        country: CountryCode,
        region: DeliveryRegion,
        line: AddressLine,
        postal_code: PostalCode,
    ) -> Self {
        Self {
            country,
            region,
            line,
            postal_code,
        }
    }

    /// Parses raw fields; the region must be a delivery region of the China directory.
    ///
    /// # Errors
    /// A [`ContactError`] naming the first bad field (`country`, `region`, `line`, `postal_code`).
    pub fn parse(
        country: &str,
        region: &str,
        line: &str,
        postal_code: &str,
    ) -> Result<Self, ContactError> {
        let country = CountryCode::parse(country)?;
        let code = RegionCode::parse(region.trim())
            .map_err(|_| error("region", "must be a GB/T 2260 code of 2, 4 or 6 digits"))?;
        let region = Directory::china().delivery_region(code).map_err(|_| {
            error(
                "region",
                "must be a known district code, or a city code where the city has no districts",
            )
        })?;
        Ok(Self::new(
            country,
            region,
            AddressLine::parse(line)?,
            PostalCode::parse(postal_code)?,
        ))
    }

    /// The country.
    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// The delivery region.
    pub fn region(&self) -> &DeliveryRegion {
        &self.region
    }

    /// The street line.
    pub fn line(&self) -> &AddressLine {
        &self.line
    }

    /// The postal code.
    pub fn postal_code(&self) -> &PostalCode {
        &self.postal_code
    }

    /// A canonical form for deduplication: NFKC (which also folds full-width forms to
    /// half-width), lower case, whitespace collapsed to single spaces, fields separated by `|`.
    /// Feed it to a keyed blind index, never store it.
    pub fn normalised_key(&self) -> String {
        normalised_key(
            self.country.as_str(),
            &self.region.code().to_string(),
            self.line.as_str(),
            self.postal_code.as_str(),
        )
    }
}

/// A resident identity card number of the People's Republic of China (GB 11643-1999): 17
/// digits and an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`). Spaces are dropped and a
/// lower-case `x` is read as `X`; the birth date in it must be a plausible calendar date.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNumber(String);

/// The MOD 11-2 weights of the 17 digits: 2^(17 − i) mod 11.
const ID_CARD_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

impl IdCardNumber {
    /// Parses and normalises.
    ///
    /// # Errors
    /// A [`ContactError`] for the field `id_card`.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let text: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let shape = "must be 17 digits and a check digit or X";
        let bytes = text.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(error("id_card", shape));
        }
        let digit = |i: usize| u32::from(bytes[i] - b'0');
        let number = |from: usize, to: usize| (from..to).fold(0, |n, i| n * 10 + digit(i));
        let (year, month, day) = (number(6, 10), number(10, 12), number(12, 14));
        if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day)
        {
            return Err(error("id_card", "must hold a valid birth date"));
        }
        let sum: u32 = (0..17).map(|i| digit(i) * ID_CARD_WEIGHTS[i]).sum();
        let check = (12 - sum % 11) % 11;
        let expected = if check == 10 {
            b'X'
        } else {
            b'0' + u8::try_from(check).unwrap_or(0)
        };
        if bytes[17] != expected {
            return Err(error("id_card", "has a wrong check digit"));
        }
        Ok(Self(text))
    }

    /// The normalised number (18 characters, upper-case `X`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

personal_traits!(IdCardNumber);

impl PhoneNumber {
    /// A canonical form for deduplication: a Chinese mobile number written without the country
    /// code (`138…`, 11 digits) or with `0086` gets `+86`, so every spelling of one number has
    /// one key. Feed it to a keyed blind index, never store it.
    pub fn normalised_key(&self) -> String {
        let number = self.as_str();
        if let Some(rest) = number.strip_prefix("0086") {
            return format!("+86{rest}");
        }
        if number.len() == 11 && number.starts_with('1') {
            return format!("+86{number}");
        }
        number.to_owned()
    }
}

/// The normalised key of an address from its parts (see [`PostalAddress::normalised_key`]);
/// a line already normalised stays as it is, so the vault can index a stored record again.
pub fn normalised_key(country: &str, region: &str, line: &str, postal_code: &str) -> String {
    let line: String = line.nfkc().collect::<String>().to_lowercase();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{country}|{region}|{}|{postal_code}",
        line.replace('|', "/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_card_numbers_need_their_mod_11_2_check_digit() {
        // GB 11643's own example, and one whose check character is X.
        let card = IdCardNumber::parse(" 11010519491231002x ").unwrap();
        assert_eq!(card.as_str(), "11010519491231002X");
        assert_eq!(
            IdCardNumber::parse("440524198001010013").unwrap().as_str(),
            "440524198001010013"
        );
        for (bad, reason) in [
            ("110105194912310021", "has a wrong check digit"),
            (
                "11010519491231002",
                "must be 17 digits and a check digit or X",
            ),
            (
                "1101051949123100X2",
                "must be 17 digits and a check digit or X",
            ),
            ("110105194913310025", "must hold a valid birth date"),
        ] {
            let err = IdCardNumber::parse(bad).unwrap_err();
            assert_eq!((err.field, err.reason), ("id_card", reason), "{bad}");
            assert!(!err.to_string().contains(bad));
        }
        assert_eq!(format!("{card:?}"), "IdCardNumber([redacted])");
    }

    #[test]
    fn every_spelling_of_a_chinese_mobile_number_has_one_key() {
        let key = |text: &str| PhoneNumber::parse(text).unwrap().normalised_key();
        assert_eq!(key("138 0000 0000"), "+8613800000000");
        assert_eq!(key("+86 138-0000-0000"), "+8613800000000");
        assert_eq!(key("0086 13800000000"), "+8613800000000");
        assert_ne!(key("+44 20 7946 0000"), key("+8613800000000"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  王小明 ").unwrap().as_str(), "王小明");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"名".repeat(100)).is_ok());
        assert!(PersonName::parse(&"名".repeat(101)).is_err());
        assert_eq!(
            PersonName::parse("a\u{7}b").unwrap_err().reason,
            "must not contain control characters"
        );
    }

    #[test]
    fn phone_numbers_drop_spaces_and_dashes() {
        assert_eq!(
            PhoneNumber::parse("+86 138-0000-0000").unwrap().as_str(),
            "+8613800000000"
        );
        assert!(PhoneNumber::parse("1234").is_err());
        assert!(PhoneNumber::parse(&"1".repeat(21)).is_err());
        assert!(PhoneNumber::parse("12a45").is_err());
        assert!(PhoneNumber::parse("1+2345").is_err());
    }

    #[test]
    fn errors_name_the_field_and_never_echo_the_value() {
        let secret = "13800000000x";
        let err = PhoneNumber::parse(secret).unwrap_err();
        assert_eq!(err.field, "phone");
        assert!(!err.to_string().contains(secret));
        let err = PostalAddress::parse("CN", "3301", "Some street 1", "100020").unwrap_err();
        assert_eq!(err.field, "region");
        assert!(!err.to_string().contains("3301"));
        let err = PostalAddress::parse("CN", "110105", "Some street 1", "1000").unwrap_err();
        assert_eq!(err.field, "postal_code");
        assert!(!err.to_string().contains("1000"));
        assert_eq!(
            PostalAddress::parse("US", "110105", "x", "100020")
                .unwrap_err()
                .field,
            "country"
        );
        assert_eq!(
            PostalAddress::parse("CN", "110105", " ", "100020")
                .unwrap_err()
                .field,
            "line"
        );
    }

    #[test]
    fn normalised_key_folds_width_case_and_spaces() {
        let a =
            PostalAddress::parse("CN", "110105", "Ｃｈａｏｙａｎｇ　Road  ８号", "100020").unwrap();
        let b = PostalAddress::parse("cn", "110105", " chaoyang road 8号 ", "100020").unwrap();
        assert_eq!(a.normalised_key(), b.normalised_key());
        let c = PostalAddress::parse("CN", "110106", "chaoyang road 8号", "100020").unwrap();
        assert_ne!(a.normalised_key(), c.normalised_key());
    }

    #[test]
    fn addresses_round_trip_through_serde_and_debug_is_redacted() {
        let a = PostalAddress::parse("CN", "4419", "Dongguan street 1", "523000").unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<PostalAddress>(&json).unwrap(), a);
        assert!(!format!("{a:?}").contains("Dongguan"));
        assert!(!format!("{:?}", PhoneNumber::parse("12345").unwrap()).contains("12345"));
    }
}
