//! Points in time. The core never reads a clock: callers pass `now` in (the edge from
//! `Date.now()`, the origin from the system clock), which keeps every decision testable.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant as unix milliseconds (UTC). On the wire it is an RFC 3339 string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// A string that is not an RFC 3339 date-time (or is out of range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z")]
pub struct TimestampError;

impl Timestamp {
    /// From unix milliseconds.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// From unix seconds.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(1000))
    }

    /// Unix milliseconds.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Unix seconds, rounded down.
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant moved by `seconds` (negative moves back); saturates instead of overflowing.
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2025-01-31T12:00:00.250Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(at) => at.format(&Rfc3339).unwrap_or_else(|_| self.0.to_string()),
            // Outside year 1..=9999: cannot be written as RFC 3339. Such values are only
            // reachable through saturating arithmetic on absurd inputs; print the raw number.
            Err(_) => self.0.to_string(),
        }
    }

    /// Parses RFC 3339 (any offset), keeping millisecond precision.
    ///
    /// # Errors
    /// [`TimestampError`] when the string is not RFC 3339.
    pub fn parse_rfc3339(input: &str) -> Result<Self, TimestampError> {
        let at = OffsetDateTime::parse(input, &Rfc3339).map_err(|_| TimestampError)?;
        let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis).map(Self).map_err(|_| TimestampError)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse_rfc3339(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_milliseconds() {
        let at = Timestamp::from_unix_millis(1_738_324_800_250);
        assert_eq!(at.to_rfc3339(), "2025-01-31T12:00:00.25Z");
        assert_eq!(Timestamp::parse_rfc3339(&at.to_rfc3339()), Ok(at));
        assert_eq!(
            Timestamp::parse_rfc3339("2025-01-31T20:00:00+08:00"),
            Ok(Timestamp::from_unix_seconds(1_738_324_800))
        );
    }

    #[test]
    fn seconds_arithmetic_is_consistent() {
        let at = Timestamp::from_unix_seconds(100).plus_seconds(-1);
        assert_eq!(at.unix_seconds(), 99);
        assert_eq!(Timestamp::from_unix_millis(-1).unix_seconds(), -1);
        assert_eq!(
            Timestamp::from_unix_millis(i64::MAX)
                .plus_seconds(10)
                .unix_millis(),
            i64::MAX
        );
    }

    #[test]
    fn serde_uses_rfc3339_and_rejects_other_strings() {
        let at = Timestamp::from_unix_seconds(0);
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            "\"1970-01-01T00:00:00Z\""
        );
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }
}
