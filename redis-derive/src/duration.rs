//! The TTL literal parser. Plain Rust, no syn: `"45s"`, `"30m"`, `"1h30m"`,
//! `"7d"`, `"250ms"` into milliseconds.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    Empty,
    MissingUnit { number: String },
    UnknownUnit { unit: String },
    MissingNumber { unit: String },
    Order { unit: String },
    Zero,
    Overflow,
    Unexpected { ch: char },
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => f.write_str(
                "TTL is empty; write a duration such as `45s`, `30m`, `1h30m` or `7d`, or omit `ttl` for no expiry",
            ),
            DurationError::MissingUnit { number } => {
                write!(f, "TTL `{number}` has no unit; write e.g. `{number}s` (units: d, h, m, s, ms)")
            }
            DurationError::UnknownUnit { unit } => {
                write!(f, "unknown TTL unit `{unit}`; use d, h, m, s or ms (e.g. `1h30m`)")
            }
            DurationError::MissingNumber { unit } => {
                write!(f, "TTL unit `{unit}` has no number before it; write e.g. `30{unit}`")
            }
            DurationError::Order { unit } => write!(
                f,
                "TTL unit `{unit}` is repeated or out of order; write units from largest to smallest, each once (e.g. `1d12h`)"
            ),
            DurationError::Zero => f.write_str(
                "TTL must be greater than zero; omit `ttl` for entities that never expire",
            ),
            DurationError::Overflow => write!(
                f,
                "TTL is too large; the longest accepted is `{MAX_DAYS}d` (about 146 million years)"
            ),
            DurationError::Unexpected { ch } => write!(
                f,
                "unexpected {ch:?} in TTL; write a duration such as `45s`, `30m`, `1h30m` or `7d`"
            ),
        }
    }
}

const UNITS: [(&str, u128); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// The longest TTL, in milliseconds. Redis adds a TTL to the current Unix time
/// in milliseconds and rejects sums beyond `i64::MAX`; half of that leaves room
/// for any clock.
const MAX_MILLIS: u128 = i64::MAX as u128 / 2;
/// The longest TTL in whole days, for the error message.
const MAX_DAYS: u128 = MAX_MILLIS / 86_400_000;

/// Parses a TTL literal into milliseconds (at most [`MAX_MILLIS`]).
pub(crate) fn parse_millis(source: &str) -> Result<u64, DurationError> {
    if source.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = source;
    let mut total: u128 = 0;
    let mut last_rank = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if number.is_empty() && unit.is_empty() {
            let ch = rest.chars().next().unwrap_or(' ');
            return Err(DurationError::Unexpected { ch });
        }
        if number.is_empty() {
            return Err(DurationError::MissingNumber { unit: unit.into() });
        }
        if unit.is_empty() {
            return Err(DurationError::MissingUnit {
                number: number.into(),
            });
        }
        let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit { unit: unit.into() });
        };
        if last_rank.is_some_and(|last| rank <= last) {
            return Err(DurationError::Order { unit: unit.into() });
        }
        last_rank = Some(rank);
        let value: u128 = number.parse().map_err(|_| DurationError::Overflow)?;
        total = value
            .checked_mul(UNITS[rank].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or(DurationError::Overflow)?;
        if total > MAX_MILLIS {
            return Err(DurationError::Overflow);
        }
        rest = after;
    }
    if total == 0 {
        return Err(DurationError::Zero);
    }
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit_and_combinations() {
        assert_eq!(parse_millis("45s"), Ok(45_000));
        assert_eq!(parse_millis("30m"), Ok(1_800_000));
        assert_eq!(parse_millis("1h30m"), Ok(5_400_000));
        assert_eq!(parse_millis("7d"), Ok(604_800_000));
        assert_eq!(parse_millis("250ms"), Ok(250));
        assert_eq!(parse_millis("1d2h3m4s5ms"), Ok(93_784_005));
    }

    #[test]
    fn rejects_bad_literals() {
        assert_eq!(parse_millis(""), Err(DurationError::Empty));
        assert_eq!(
            parse_millis("30"),
            Err(DurationError::MissingUnit {
                number: "30".into()
            })
        );
        assert_eq!(
            parse_millis("30x"),
            Err(DurationError::UnknownUnit { unit: "x".into() })
        );
        assert_eq!(
            parse_millis("h"),
            Err(DurationError::MissingNumber { unit: "h".into() })
        );
        assert_eq!(
            parse_millis("30m1h"),
            Err(DurationError::Order { unit: "h".into() })
        );
        assert_eq!(
            parse_millis("1s1s"),
            Err(DurationError::Order { unit: "s".into() })
        );
        assert_eq!(parse_millis("0s"), Err(DurationError::Zero));
        assert_eq!(parse_millis("0h0m"), Err(DurationError::Zero));
        assert_eq!(
            parse_millis("99999999999999999999999999999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert_eq!(parse_millis("53375995583d"), Ok(4_611_686_018_371_200_000));
        assert_eq!(parse_millis("53375995584d"), Err(DurationError::Overflow));
        assert_eq!(
            parse_millis("1 h"),
            Err(DurationError::MissingUnit { number: "1".into() })
        );
        assert_eq!(
            parse_millis("-1s"),
            Err(DurationError::Unexpected { ch: '-' })
        );
    }
}
