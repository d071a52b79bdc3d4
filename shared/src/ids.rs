//! Identifiers. A platform id is a readable slug chosen by an operator; every other id is
//! `<prefix>_` followed by 16 Crockford base32 characters (80 random bits): unguessable, yet
//! short enough to write by hand on a parcel. Parsing accepts upper case and the Crockford
//! look-alikes (`o`→`0`, `i`/`l`→`1`) and normalises to lower case.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Crockford's base32 alphabet in lower case (no `i`, `l`, `o`, `u`).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters after the prefix: 16 × 5 bits = 80 bits.
pub const ID_BODY_LEN: usize = 16;

/// Why an id was rejected. Ids are not personal data, but messages still do not echo input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string was empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which kind of id was expected, e.g. "order id".
        kind: &'static str,
    },
    /// The prefix was missing or belonged to another kind of id.
    #[error("{kind} must start with `{prefix}`")]
    WrongPrefix {
        /// Which kind of id was expected.
        kind: &'static str,
        /// The required prefix, e.g. `o_`.
        prefix: &'static str,
    },
    /// The part after the prefix had the wrong length.
    #[error("{kind} must have {expected} characters after `{prefix}`, found {found}")]
    WrongLength {
        /// Which kind of id was expected.
        kind: &'static str,
        /// The required prefix.
        prefix: &'static str,
        /// Required length of the body.
        expected: usize,
        /// Actual length of the body.
        found: usize,
    },
    /// A character outside Crockford base32.
    #[error("{kind} may only contain the letters and digits of Crockford base32 after `{prefix}`")]
    BadCharacter {
        /// Which kind of id was expected.
        kind: &'static str,
        /// The required prefix.
        prefix: &'static str,
    },
    /// A platform id that is not a slug.
    #[error("platform id must be 1 to 32 characters of a-z, 0-9 and `-`, starting with a letter or digit")]
    BadPlatform,
}

/// A platform (shop) slug: `[a-z0-9][a-z0-9-]{0,31}`, e.g. `demo`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformId(String);

impl PlatformId {
    /// Parses a platform slug. Upper case is rejected, not folded: slugs are typed by operators.
    ///
    /// # Errors
    /// [`IdError::BadPlatform`] unless the input is a slug.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let bytes = input.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 32
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(IdError::BadPlatform)
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Decodes an id body into the canonical lower-case form, or says what is wrong.
fn parse_body(input: &str, kind: &'static str, prefix: &'static str) -> Result<String, IdError> {
    if input.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let lower = input.to_ascii_lowercase();
    let Some(body) = lower.strip_prefix(prefix) else {
        return Err(IdError::WrongPrefix { kind, prefix });
    };
    let found = body.chars().count();
    if found != ID_BODY_LEN {
        return Err(IdError::WrongLength {
            kind,
            prefix,
            expected: ID_BODY_LEN,
            found,
        });
    }
    let mut out = String::with_capacity(prefix.len() + ID_BODY_LEN);
    out.push_str(prefix);
    for c in body.chars() {
        let c = match c {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return Err(IdError::BadCharacter { kind, prefix });
        }
        out.push(c);
    }
    Ok(out)
}

/// 80 random bits as 16 Crockford base32 characters after the prefix.
fn generate_body(rng: &mut impl CryptoRngCore, prefix: &str) -> String {
    let mut bytes = [0u8; 10];
    rng.fill_bytes(&mut bytes);
    let bits = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let mut out = String::with_capacity(prefix.len() + ID_BODY_LEN);
    out.push_str(prefix);
    for i in (0..ID_BODY_LEN).rev() {
        let index = ((bits >> (i * 5)) & 0x1f) as usize;
        out.push(char::from(ALPHABET[index]));
    }
    out
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id with 80 random bits.
            pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
                Self(generate_body(rng, $prefix))
            }

            /// Parses an id, accepting upper case and Crockford look-alikes, normalising to lower case.
            ///
            /// # Errors
            /// An [`IdError`] saying whether the prefix, length or a character is wrong.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_body(input, $kind, $prefix).map(Self)
            }

            /// The canonical lower-case form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl_string_traits!($name);
    };
}

macro_rules! impl_string_traits {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
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

impl_string_traits!(PlatformId);

prefixed_id!(
    /// A buyer: `b_` + 16 characters.
    BuyerId, "b_", "buyer id"
);
prefixed_id!(
    /// A seller: `s_` + 16 characters.
    SellerId, "s_", "seller id"
);
prefixed_id!(
    /// An order: `o_` + 16 characters.
    OrderId, "o_", "order id"
);
prefixed_id!(
    /// An address number (shared by identical addresses): `a_` + 16 characters.
    AddressId, "a_", "address id"
);
prefixed_id!(
    /// A hub (distribution centre): `h_` + 16 characters.
    HubId, "h_", "hub id"
);
prefixed_id!(
    /// A carrier (logistics company): `ca_` + 16 characters.
    CarrierId, "ca_", "carrier id"
);

impl CarrierId {
    /// The platform's default carrier, which every store has from migration 1101 on: hubs,
    /// scanners, sellers and orders that name no carrier belong to it, and scanner credentials
    /// and order records made before carriers existed are read as its. Carrier ids are printed
    /// on labels and are not secrets, so a well-known id costs nothing.
    pub fn platform_default() -> Self {
        Self(DEFAULT_CARRIER.to_owned())
    }
}

/// The id of [`CarrierId::platform_default`].
pub const DEFAULT_CARRIER: &str = "ca_0000000000000000";

prefixed_id!(
    /// A scanner (courier terminal): `sc_` + 16 characters.
    ScannerId, "sc_", "scanner id"
);
prefixed_id!(
    /// A release of a recipient's address to the final hub: `r_` + 16 characters.
    ReleaseId, "r_", "release id"
);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn generated_ids_have_prefix_and_sixteen_crockford_characters() {
        let mut rng = StdRng::seed_from_u64(1);
        let id = OrderId::generate(&mut rng);
        assert!(id.as_str().starts_with("o_"));
        assert_eq!(id.as_str().len(), 2 + ID_BODY_LEN);
        assert_eq!(OrderId::parse(id.as_str()), Ok(id.clone()));
        let other = OrderId::generate(&mut rng);
        assert_ne!(id, other);
        let scanner = ScannerId::generate(&mut rng);
        assert!(scanner.as_str().starts_with("sc_"));
        assert_eq!(scanner.as_str().len(), 3 + ID_BODY_LEN);
    }

    #[test]
    fn the_default_carrier_id_is_a_valid_carrier_id() {
        assert_eq!(
            CarrierId::parse(DEFAULT_CARRIER),
            Ok(CarrierId::platform_default())
        );
    }

    #[test]
    fn parse_accepts_upper_case_and_lookalikes_and_normalises() {
        let id = BuyerId::parse("B_0123456789ABCDEF").unwrap();
        assert_eq!(id.as_str(), "b_0123456789abcdef");
        let id = BuyerId::parse("b_O1IL456789abcdef").unwrap();
        assert_eq!(id.as_str(), "b_0111456789abcdef");
    }

    #[test]
    fn parse_says_what_is_wrong() {
        assert_eq!(OrderId::parse(""), Err(IdError::Empty { kind: "order id" }));
        assert!(matches!(
            OrderId::parse("b_0123456789abcdef"),
            Err(IdError::WrongPrefix { prefix: "o_", .. })
        ));
        assert!(matches!(
            OrderId::parse("o_0123"),
            Err(IdError::WrongLength {
                expected: 16,
                found: 4,
                ..
            })
        ));
        assert!(matches!(
            OrderId::parse("o_0123456789abcdeu"),
            Err(IdError::BadCharacter { .. })
        ));
        assert!(matches!(
            OrderId::parse("o_0123456789abcd€f"),
            Err(IdError::BadCharacter { .. })
        ));
        let message = OrderId::parse("o_0123").unwrap_err().to_string();
        assert!(
            message.contains("order id") && message.contains("16"),
            "{message}"
        );
    }

    #[test]
    fn platform_ids_are_slugs() {
        assert!(PlatformId::parse("demo").is_ok());
        assert!(PlatformId::parse("shop-2").is_ok());
        assert!(PlatformId::parse("-shop").is_err());
        assert!(PlatformId::parse("Demo").is_err());
        assert!(PlatformId::parse("").is_err());
        assert!(PlatformId::parse(&"a".repeat(33)).is_err());
        assert!(PlatformId::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn ids_round_trip_through_serde_and_reject_bad_strings() {
        let id: HubId = serde_json::from_str("\"H_0123456789ABCDEF\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"h_0123456789abcdef\""
        );
        assert!(serde_json::from_str::<HubId>("\"h_short\"").is_err());
        assert!(serde_json::from_str::<PlatformId>("\"demo\"").is_ok());
    }
}
