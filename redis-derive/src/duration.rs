//! The TTL literal parser. Plain Rust, no syn: `"45s"`, `"30m"`, `"1h30m"`,
//! `"7d"`, `"250ms"` into milliseconds. A TTL written in words (`"30 days"`,
//! `"2hrs"`, `"1 hour 30 minutes"`, `"2 weeks"`) is refused with the literal it
//! means.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    Empty,
    MissingUnit {
        number: String,
    },
    UnknownUnit {
        unit: String,
    },
    MissingNumber {
        unit: String,
    },
    Order {
        unit: String,
    },
    Zero,
    Overflow,
    Unexpected {
        ch: char,
    },
    /// A duration in words, and the literal that means it.
    LongForm {
        written: String,
        literal: String,
        weeks: bool,
    },
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
            DurationError::LongForm {
                written,
                literal,
                weeks,
            } => write!(
                f,
                "TTL `{written}` is not a duration literal; write `{literal}` ({}units: d, h, m, s, ms, largest first)",
                if *weeks { "there is no week unit; " } else { "" }
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

/// Parses a TTL literal into milliseconds (at most [`MAX_MILLIS`]). A duration
/// in words is refused with the literal it means ([`DurationError::LongForm`]).
pub(crate) fn parse_millis(source: &str) -> Result<u64, DurationError> {
    parse_literal(source).map_err(|err| match err {
        // Only these can come from words, spaces or long unit names; a literal
        // with its units out of order is reported as such.
        DurationError::MissingUnit { .. }
        | DurationError::UnknownUnit { .. }
        | DurationError::Unexpected { .. } => long_form(source).unwrap_or(err),
        _ => err,
    })
}

/// Parses a TTL literal: `1*( 1*DIGIT unit )`, units largest first.
fn parse_literal(source: &str) -> Result<u64, DurationError> {
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

/// The unit a word names, as its rank in [`UNITS`] and how many of that unit
/// one of it is. Weeks are 7 days: there is no week unit. Case is ignored, but
/// `M` is not taken for minutes (it reads as months).
fn unit_word(word: &str) -> Option<(usize, u128)> {
    if word == "M" {
        return None;
    }
    Some(match word.to_ascii_lowercase().as_str() {
        "w" | "wk" | "wks" | "week" | "weeks" => (0, 7),
        "d" | "day" | "days" => (0, 1),
        "h" | "hr" | "hrs" | "hour" | "hours" => (1, 1),
        "m" | "min" | "mins" | "minute" | "minutes" => (2, 1),
        "s" | "sec" | "secs" | "second" | "seconds" => (3, 1),
        "ms" | "msec" | "msecs" | "milli" | "millis" | "millisecond" | "milliseconds" => (4, 1),
        _ => return None,
    })
}

/// Reads `source` as a duration in words: numbers each followed by a unit
/// name, with spaces, commas or `and` between them (`30 days`, `2hrs`,
/// `1 hour and 30 minutes`). Returns the error to report: the literal it means,
/// or why that literal is not a TTL, or an unknown unit name. `None` when
/// `source` does not read as numbers and words.
fn long_form(source: &str) -> Option<DurationError> {
    // Per unit of `UNITS`, the amount written (repeats add up).
    let mut amounts = [0u128; UNITS.len()];
    let mut weeks = false;
    let mut rest = source.trim_start();
    loop {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let after = rest[digits..].trim_start();
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters == 0 {
            return None;
        }
        let word = &after[..letters];
        let Some((rank, per)) = unit_word(word) else {
            return Some(DurationError::UnknownUnit { unit: word.into() });
        };
        weeks |= per == 7;
        let Some(amount) = rest[..digits]
            .parse::<u128>()
            .ok()
            .and_then(|number| number.checked_mul(per))
            .and_then(|n| amounts[rank].checked_add(n))
        else {
            return Some(DurationError::Overflow);
        };
        amounts[rank] = amount;
        rest = after[letters..].trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if let Some(next) = rest.strip_prefix("and")
            && next.starts_with(char::is_whitespace)
        {
            rest = next.trim_start();
        }
        if rest.is_empty() {
            break;
        }
    }
    let literal: String = amounts
        .iter()
        .zip(UNITS)
        .filter(|(amount, _)| **amount > 0)
        .map(|(amount, (unit, _))| format!("{amount}{unit}"))
        .collect();
    if literal.is_empty() {
        return Some(DurationError::Zero);
    }
    Some(match parse_literal(&literal) {
        Ok(_) => DurationError::LongForm {
            written: source.into(),
            literal,
            weeks,
        },
        Err(err) => err,
    })
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
            Err(long_form_error("1 h", "1h", false))
        );
        assert_eq!(
            parse_millis("-1s"),
            Err(DurationError::Unexpected { ch: '-' })
        );
    }

    fn long_form_error(written: &str, literal: &str, weeks: bool) -> DurationError {
        DurationError::LongForm {
            written: written.into(),
            literal: literal.into(),
            weeks,
        }
    }

    /// Asserts that each of `written` is refused with `literal` as the fix,
    /// and that `literal` itself parses.
    #[track_caller]
    fn suggests(written: &[&str], literal: &str) {
        assert!(parse_millis(literal).is_ok(), "{literal} does not parse");
        for w in written {
            let weeks = w.contains('w') || w.contains('W');
            assert_eq!(
                parse_millis(w),
                Err(long_form_error(w, literal, weeks)),
                "{w}"
            );
        }
    }

    #[test]
    fn suggests_the_literal_for_long_unit_names() {
        suggests(&["30 days", "30days", "30 day", "30 d", "30 Days"], "30d");
        suggests(&["1 day"], "1d");
        suggests(&["2 hours", "2hrs", "2hr", "2 h", "2 hour", "2HOURS"], "2h");
        suggests(
            &["15 minutes", "15 mins", "15min", "15 minute", "15 m"],
            "15m",
        );
        suggests(
            &["10 seconds", "10 secs", "10sec", "10 second", "10 s"],
            "10s",
        );
        suggests(
            &[
                "500 milliseconds",
                "500 millis",
                "500msec",
                "500 msecs",
                "500 ms",
            ],
            "500ms",
        );
    }

    #[test]
    fn suggests_one_literal_for_combinations() {
        suggests(
            &[
                "1 hour 30 minutes",
                "1 hour, 30 minutes",
                "1 hour and 30 minutes",
                "1hour30minutes",
                "1h 30m",
                " 1h30m ",
                "30 minutes 1 hour",
            ],
            "1h30m",
        );
        suggests(
            &["1 day 2 hours 3 minutes 4 seconds 5 millis"],
            "1d2h3m4s5ms",
        );
        // Repeats add up; zero parts are left out.
        suggests(&["1 hour 1 hour", "2 hours 0 minutes"], "2h");
        // Amounts are kept as written, not carried into larger units.
        suggests(&["90 minutes"], "90m");
    }

    #[test]
    fn counts_weeks_as_days() {
        suggests(
            &["2 weeks", "2weeks", "2 week", "2wk", "2 wks", "2w"],
            "14d",
        );
        suggests(&["1 week 3 days"], "10d");
        suggests(&["1 week 12 hours"], "7d12h");
        assert_eq!(
            parse_millis("2 weeks").unwrap_err().to_string(),
            "TTL `2 weeks` is not a duration literal; write `14d` (there is no week unit; \
             units: d, h, m, s, ms, largest first)"
        );
    }

    #[test]
    fn long_form_message() {
        assert_eq!(
            parse_millis("30 days").unwrap_err().to_string(),
            "TTL `30 days` is not a duration literal; write `30d` (units: d, h, m, s, ms, largest first)"
        );
    }

    #[test]
    fn long_forms_that_are_no_ttl() {
        // Words that name no unit: months and years have no fixed length.
        assert_eq!(
            parse_millis("1 month"),
            Err(DurationError::UnknownUnit {
                unit: "month".into()
            })
        );
        assert_eq!(
            parse_millis("2 hours 3 fortnights"),
            Err(DurationError::UnknownUnit {
                unit: "fortnights".into()
            })
        );
        // `M` reads as months, not minutes.
        assert_eq!(
            parse_millis("5 M"),
            Err(DurationError::UnknownUnit { unit: "M".into() })
        );
        assert_eq!(parse_millis("0 days"), Err(DurationError::Zero));
        assert_eq!(
            parse_millis("100000000000 days"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_millis("99999999999999999999999999999999999999999 weeks"),
            Err(DurationError::Overflow)
        );
        // Not numbers and words: the literal's own error.
        assert_eq!(
            parse_millis("1h30"),
            Err(DurationError::MissingUnit {
                number: "30".into()
            })
        );
        assert_eq!(
            parse_millis("1 hour and"),
            Err(DurationError::MissingUnit { number: "1".into() })
        );
        assert_eq!(
            parse_millis("an hour"),
            Err(DurationError::MissingNumber { unit: "an".into() })
        );
        // A literal with its units out of order says so, words or not aside.
        assert_eq!(
            parse_millis("30m1h"),
            Err(DurationError::Order { unit: "h".into() })
        );
    }
}
