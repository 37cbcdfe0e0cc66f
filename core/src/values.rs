//! Domain values beyond text: exact decimal money and quantities (never floats), ISO 4217
//! currency codes, timestamps within a sane range, durations, and `text_enum!` for the closed
//! sets of strings (statuses, message types) that the database guards with CHECK constraints.

use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer};

use crate::fields::FieldError;

/// A decimal number as a client sent it: a JSON string (`"19.99"`, the documented form) or a
/// JSON number. It stays text until parsed, so no value ever passes through a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalInput(pub String);

impl<'de> Deserialize<'de> for DecimalInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DecimalInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number written as a string, such as \"19.99\"")
            }
            fn visit_str<E>(self, v: &str) -> Result<DecimalInput, E> {
                Ok(DecimalInput(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<DecimalInput, E> {
                Ok(DecimalInput(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<DecimalInput, E> {
                Ok(DecimalInput(v.to_string()))
            }
            // A JSON number with a fraction would be a binary float: decimals come as strings
            // (`"19.99"`). A whole number written `5.0` is still the integer 5.
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DecimalInput, E> {
                if v.fract() == 0.0 && v.is_finite() {
                    Ok(DecimalInput(format!("{v:.0}")))
                } else {
                    Err(E::custom(
                        "must be a decimal number written as a string, such as \"19.99\"",
                    ))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The largest amount a price (`NUMERIC(10,2)`) can hold.
pub fn price_max() -> Decimal {
    Decimal::new(9_999_999_999, 2)
}

/// The largest amount a line or invoice total (`NUMERIC(12,2)`) can hold.
pub fn total_max() -> Decimal {
    Decimal::new(999_999_999_999, 2)
}

fn decimal(input: &DecimalInput) -> Result<Decimal, FieldError> {
    let text = input.0.trim();
    // Digits with an optional sign and fraction, nothing else (no exponent, no `_`): the
    // grammar the OpenAPI document states (`api/src/openapi_constraints.rs`).
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "1"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if text.is_empty() || text.len() > 40 || !digits(whole) || !digits(fraction) {
        return Err(FieldError::new(
            "must be a decimal number such as \"19.99\"",
        ));
    }
    Decimal::from_str_exact(text)
        .map(|d| d.normalize())
        .map_err(|_| FieldError::new("must be a decimal number such as \"19.99\""))
}

fn at_scale(mut d: Decimal, scale: u32) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d.rescale(scale);
    d
}

/// Money: not negative, at most two decimal places, at most `max`; returned with scale 2.
pub fn money(input: DecimalInput, max: Decimal) -> Result<Decimal, FieldError> {
    let d = decimal(&input)?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(FieldError::new("must not be negative"));
    }
    if d.scale() > 2 {
        return Err(FieldError::new("must have at most 2 decimal places"));
    }
    if d > max {
        return Err(FieldError::new(format!("must be at most {max}")));
    }
    Ok(at_scale(d, 2))
}

/// A quantity: greater than zero, at most three decimal places, at most 1,000,000.
pub fn quantity(input: DecimalInput) -> Result<Decimal, FieldError> {
    let d = decimal(&input)?;
    if d <= Decimal::ZERO {
        return Err(FieldError::new("must be greater than 0"));
    }
    if d.scale() > 3 {
        return Err(FieldError::new("must have at most 3 decimal places"));
    }
    if d > Decimal::new(1_000_000, 0) {
        return Err(FieldError::new("must be at most 1000000"));
    }
    Ok(at_scale(d, 3))
}

/// quantity × unit price, rounded to cents half away from zero (as Postgres' `round` does).
pub fn line_amount(quantity: Decimal, unit_price: Decimal) -> Option<Decimal> {
    let exact = quantity.checked_mul(unit_price)?;
    Some(at_scale(
        exact.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        2,
    ))
}

/// An ISO 4217 code: three letters, upper-cased (`usd` → `USD`).
pub fn currency(value: String) -> Result<String, FieldError> {
    let v = value.trim().to_ascii_uppercase();
    if v.len() == 3 && v.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err(FieldError::new(
            "must be a three-letter ISO 4217 currency code such as USD",
        ))
    }
}

/// A point in time between the years 2000 and 2100 (anything else is a typo).
pub fn timestamp(value: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    if (2000..=2100).contains(&value.year()) {
        Ok(value)
    } else {
        Err(FieldError::new("must be between the years 2000 and 2100"))
    }
}

/// A whole number of minutes as JSON writes it: `90` or `90.0` (JSON Schema's `integer`
/// includes numbers with a zero fraction, and clients generated from the document may send
/// them so). A fraction or an out-of-range number is a decoding error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutes(pub i32);

impl<'de> Deserialize<'de> for Minutes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Minutes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of minutes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Minutes, E> {
                i32::try_from(v)
                    .map(Minutes)
                    .map_err(|_| E::custom("must be from 1 to 10080 minutes"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Minutes, E> {
                i32::try_from(v)
                    .map(Minutes)
                    .map_err(|_| E::custom("must be from 1 to 10080 minutes"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Minutes, E> {
                if v.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v) {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(Minutes(v as i32))
                } else {
                    Err(E::custom("must be a whole number of minutes"))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A duration in whole minutes, one minute to one week.
pub fn duration_minutes(value: i32) -> Result<i32, FieldError> {
    if (1..=10_080).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new("must be from 1 to 10080 minutes"))
    }
}

/// A stored string that is not one of an enum's values (a bug or a hand-edited row).
#[derive(Debug, thiserror::Error)]
#[error("unexpected value {0:?}")]
pub struct UnknownVariant(pub String);

/// A closed set of values stored as text (implemented by `text_enum!`).
pub trait TextEnum: Copy + Sized {
    fn from_text(text: &str) -> Option<Self>;
    fn as_text(self) -> &'static str;
}

/// Gives a fieldless enum its text form: `as_str`, `ALL`, and `TryFrom<String>` (for
/// `#[sqlx(try_from = "String")]`). Serde and OpenAPI derive their own snake_case names; a
/// unit test per enum checks both agree.
macro_rules! text_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the stored text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::values::TextEnum for $name {
            fn from_text(text: &str) -> Option<$name> {
                $name::parse(text)
            }
            fn as_text(self) -> &'static str {
                self.as_str()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::values::UnknownVariant;
            fn try_from(text: String) -> Result<$name, Self::Error> {
                $name::parse(&text).ok_or($crate::values::UnknownVariant(text))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DecimalInput {
        DecimalInput(s.to_owned())
    }

    #[test]
    fn money_is_exact_with_two_places() {
        assert_eq!(money(d("19.99"), price_max()).unwrap().to_string(), "19.99");
        assert_eq!(money(d("5"), price_max()).unwrap().to_string(), "5.00");
        assert_eq!(money(d("1.50"), price_max()).unwrap().to_string(), "1.50");
        assert_eq!(money(d("-0"), price_max()).unwrap().to_string(), "0.00");
        for bad in ["-1", "1.999", "abc", "", "1e3", "NaN", "100000000.00"] {
            assert!(money(d(bad), price_max()).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_are_strings_and_json_numbers_only_whole_ones() {
        let v: DecimalInput = serde_json::from_str("\"19.99\"").unwrap();
        assert_eq!(v, d("19.99"));
        let v: DecimalInput = serde_json::from_str("3").unwrap();
        assert_eq!(v, d("3"));
        let v: DecimalInput = serde_json::from_str("3.0").unwrap();
        assert_eq!(v, d("3"));
        assert!(serde_json::from_str::<DecimalInput>("19.99").is_err());
        assert!(serde_json::from_str::<DecimalInput>("true").is_err());
        for bad in ["1_000", "1e3", ".5", "5.", "+5", "0x10"] {
            assert!(money(d(bad), price_max()).is_err(), "{bad}");
        }
    }

    #[test]
    fn three_times_19_99_plus_a_cent_is_59_98() {
        let three = quantity(d("3")).unwrap();
        let one = quantity(d("1")).unwrap();
        let a = line_amount(three, money(d("19.99"), price_max()).unwrap()).unwrap();
        let b = line_amount(one, money(d("0.01"), price_max()).unwrap()).unwrap();
        assert_eq!((a + b).to_string(), "59.98");
        // Half a cent rounds away from zero, like Postgres' round(numeric, 2).
        let half = line_amount(
            quantity(d("0.5")).unwrap(),
            money(d("0.01"), price_max()).unwrap(),
        );
        assert_eq!(half.unwrap().to_string(), "0.01");
    }

    #[test]
    fn quantities_are_positive() {
        assert!(quantity(d("0")).is_err());
        assert!(quantity(d("-2")).is_err());
        assert!(quantity(d("0.0001")).is_err());
        assert_eq!(quantity(d("1.5")).unwrap().to_string(), "1.500");
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(currency(" eur ".into()).unwrap(), "EUR");
        for bad in ["", "US", "USDX", "U$D", "12A"] {
            assert!(currency(bad.into()).is_err(), "{bad}");
        }
    }
}
