//! The record kinds the vault numbers and de-duplicates: one declaration per kind — the prefix
//! of its shared numbers, how a value is parsed and normalised into the key its blind index is
//! made of, and what the shared record seals. Identical values of one kind share one shared
//! record (and one number); each buyer's own spelling lives in their entry. Keys of different
//! kinds never meet: the domain word is part of the indexed text.

use crate::contact::{ContactError, IdCardNumber, PhoneNumber};

/// A kind of personal value the vault keeps shared records of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A postal address (country, delivery region, street line, postal code).
    Address,
    /// A phone number.
    Phone,
    /// A resident identity card number (GB 11643), for customs.
    IdCard,
}

/// The registry: every kind, each declared once.
pub const KINDS: [RecordKind; 3] = [RecordKind::Address, RecordKind::Phone, RecordKind::IdCard];

impl RecordKind {
    /// The prefix of the kind's shared numbers (`a_` addresses keep theirs).
    pub const fn number_prefix(self) -> &'static str {
        match self {
            Self::Address => "a_",
            Self::Phone => "ph_",
            Self::IdCard => "ic_",
        }
    }

    /// The word that keeps the kind's blind indexes apart from every other kind's.
    pub const fn domain(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Phone => "phone",
            Self::IdCard => "id_card",
        }
    }

    /// What the shared record seals (the normalised value only; the buyer's own spelling and
    /// everything about the buyer stay in their entry).
    pub const fn sealed(self) -> &'static str {
        match self {
            Self::Address => "country, region path, normalised street line, postal code",
            Self::Phone => "the number in its canonical form (+86 for Chinese mobiles)",
            Self::IdCard => "the 18-character number (upper-case X)",
        }
    }

    /// The text a single-field value's blind index is made of: `<domain>|<normalised value>`.
    /// Addresses have several fields: use [`crate::contact::PostalAddress::normalised_key`]
    /// (prefixed the same way by [`RecordKind::indexed`]).
    ///
    /// # Errors
    /// The field's [`ContactError`]; for [`RecordKind::Address`] always (it is not one field).
    pub fn normalise(self, input: &str) -> Result<String, ContactError> {
        let key = match self {
            Self::Address => {
                return Err(ContactError {
                    field: "address",
                    reason: "has several fields",
                })
            }
            Self::Phone => PhoneNumber::parse(input)?.normalised_key(),
            Self::IdCard => IdCardNumber::parse(input)?.as_str().to_owned(),
        };
        Ok(self.indexed(&key))
    }

    /// `<domain>|<key>`: the indexed text of a normalised key of this kind.
    pub fn indexed(self, key: &str) -> String {
        format!("{}|{key}", self.domain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_prefix_and_domain() {
        let prefixes: std::collections::BTreeSet<_> =
            KINDS.iter().map(|k| k.number_prefix()).collect();
        let domains: std::collections::BTreeSet<_> = KINDS.iter().map(|k| k.domain()).collect();
        assert_eq!(prefixes.len(), KINDS.len());
        assert_eq!(domains.len(), KINDS.len());
        for kind in KINDS {
            assert!(!kind.sealed().is_empty());
        }
    }

    #[test]
    fn spellings_of_one_value_share_a_key_and_kinds_never_share_one() {
        let phone = RecordKind::Phone;
        assert_eq!(
            phone.normalise("138 0000 0000").unwrap(),
            phone.normalise("+86 138-0000-0000").unwrap()
        );
        let card = RecordKind::IdCard;
        assert_eq!(
            card.normalise("11010519491231002x").unwrap(),
            card.normalise("110105 19491231 002X").unwrap()
        );
        assert_ne!(
            RecordKind::Phone.indexed("x"),
            RecordKind::IdCard.indexed("x")
        );
        assert_eq!(
            card.normalise("110105194912310021").unwrap_err().field,
            "id_card"
        );
        assert!(RecordKind::Address.normalise("anything").is_err());
    }
}
