//! [`StoredTime`]: a `timestamptz` as PostgreSQL stored it, decoded without failing.
//!
//! PostgreSQL accepts `'infinity'`, `'-infinity'` and years up to 294276; chrono stops at
//! year 262143, and sqlx's chrono decoding panics on an overflow. Every stored time Herald
//! reads is a `StoredTime`: decoding never fails or panics for any value the column can
//! hold, and `StoredTime::get` says whether the value converts. A row whose time does
//! not convert is that row's problem (shown as e.g. `infinity (out of range)`), never the
//! reading loop's or command's.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::{Decode, Postgres, Type};

/// Microseconds PostgreSQL stores for `'infinity'`.
const PG_INFINITY: i64 = i64::MAX;
/// Microseconds PostgreSQL stores for `'-infinity'`.
const PG_NEG_INFINITY: i64 = i64::MIN;

/// A stored `timestamptz`: PostgreSQL's own value (microseconds since 2000-01-01 UTC,
/// `i64::MAX`/`i64::MIN` for ±infinity), ordered as PostgreSQL orders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoredTime(i64);

/// Why a [`StoredTime`] has no `DateTime<Utc>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum OutOfRange {
    /// The stored value is `'infinity'`.
    #[error("infinity (out of range)")]
    Infinity,
    /// The stored value is `'-infinity'`.
    #[error("-infinity (out of range)")]
    NegInfinity,
    /// A finite value beyond chrono's years (-262143..=262143).
    #[error("beyond year 262143 (out of range)")]
    Beyond,
}

fn pg_epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::days(10_957)
}

impl StoredTime {
    /// The time, or why it cannot be represented.
    pub(crate) fn get(self) -> Result<DateTime<Utc>, OutOfRange> {
        match self.0 {
            PG_INFINITY => Err(OutOfRange::Infinity),
            PG_NEG_INFINITY => Err(OutOfRange::NegInfinity),
            us => pg_epoch()
                .checked_add_signed(TimeDelta::microseconds(us))
                .ok_or(OutOfRange::Beyond),
        }
    }

    /// The time, `None` when it is out of range.
    pub fn ok(self) -> Option<DateTime<Utc>> {
        self.get().ok()
    }

    /// The time formatted by `format`, or the out-of-range text
    /// (`infinity (out of range)`, ...).
    pub fn shown(self, format: impl Fn(DateTime<Utc>) -> String) -> String {
        self.get().map_or_else(|e| e.to_string(), format)
    }
}

impl From<DateTime<Utc>> for StoredTime {
    fn from(at: DateTime<Utc>) -> Self {
        // Every chrono time is within i64 microseconds of 2000 (±292,000 years).
        let us = (at - pg_epoch()).num_microseconds().unwrap_or(0);
        Self(us.clamp(PG_NEG_INFINITY + 1, PG_INFINITY - 1))
    }
}

impl fmt::Display for StoredTime {
    /// RFC 3339 when in range, else the `OutOfRange` text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Ok(at) => write!(f, "{}", at.to_rfc3339()),
            Err(e) => write!(f, "{e}"),
        }
    }
}

impl serde::Serialize for StoredTime {
    /// As `DateTime<Utc>` when in range, else the `OutOfRange` text.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.get() {
            Ok(at) => at.serialize(s),
            Err(e) => s.collect_str(&e),
        }
    }
}

impl Type<Postgres> for StoredTime {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for StoredTime {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => Ok(Self(<i64 as Decode<Postgres>>::decode(value)?)),
            PgValueFormat::Text => match value.as_str()? {
                "infinity" => Ok(Self(PG_INFINITY)),
                "-infinity" => Ok(Self(PG_NEG_INFINITY)),
                text => {
                    let at = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
                        .map_err(|e| format!("unreadable timestamptz {text:?}: {e}"))?;
                    Ok(Self::from(at.with_timezone(&Utc)))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_and_far_years_are_out_of_range_not_errors() {
        assert_eq!(StoredTime(i64::MAX).get(), Err(OutOfRange::Infinity));
        assert_eq!(StoredTime(i64::MIN).get(), Err(OutOfRange::NegInfinity));
        assert_eq!(StoredTime(i64::MAX - 1).get(), Err(OutOfRange::Beyond));
        assert_eq!(StoredTime(i64::MIN + 1).get(), Err(OutOfRange::Beyond));
        assert_eq!(
            StoredTime(i64::MAX).shown(|_| "x".into()),
            "infinity (out of range)"
        );
    }

    #[test]
    fn a_chrono_time_round_trips_and_keeps_its_order() {
        // PostgreSQL keeps microseconds.
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        let later = now + TimeDelta::seconds(1);
        let (a, b) = (StoredTime::from(now), StoredTime::from(later));
        assert_eq!(a.get(), Ok(now));
        assert!(a < b && b < StoredTime(i64::MAX) && StoredTime(i64::MIN) < a);
        assert_eq!(StoredTime(0).get(), Ok(pg_epoch()));
        assert_eq!(pg_epoch().to_rfc3339(), "2000-01-01T00:00:00+00:00");
    }
}
