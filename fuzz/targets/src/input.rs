//! Structured inputs from the fuzzer's bytes ([`Unstructured`]), biased
//! towards what the parsers treat specially: the reserved and glob bytes,
//! `%` escapes, whitespace, control bytes and multi-byte characters.

use arbitrary::{Result, Unstructured};
use redis_runtime::redis::{PushKind, Value, VerbatimFormat};

/// Bytes the key layer escapes, the glob characters, and some that it does not.
const SPECIAL: &[&str] = &[
    ":",
    "{",
    "}",
    "*",
    "?",
    "[",
    "]",
    "\\",
    "%",
    " ",
    "\t",
    "\n",
    "\r",
    "\0",
    "\u{7f}",
    "^",
    "-",
    "%3A",
    "%25",
    "%7B",
    "%3a",
    "%41",
    "%",
    "é",
    "\u{2028}",
    "\u{feff}",
    "a",
    "Z",
    "0",
    "9",
    "_",
    ".",
    "#",
    "r#",
    "{id}",
    "user",
    "::",
    "\"",
    "\u{10ffff}",
];

/// A string of at most `max` pieces, each a special piece or an arbitrary char.
pub(crate) fn text(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let mut out = String::new();
    let len = u.int_in_range(0..=max)?;
    for _ in 0..len {
        if u.ratio(1u8, 2)? {
            out.push_str(u.choose(SPECIAL)?);
        } else {
            out.push(u.arbitrary::<char>()?);
        }
    }
    Ok(out)
}

/// Bytes of at most `max` pieces: [`text`]'s pieces, or arbitrary bytes (not UTF-8).
pub(crate) fn bytes(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let len = u.int_in_range(0..=max)?;
    for _ in 0..len {
        match u.int_in_range(0u8..=3)? {
            0 => out.push(u.arbitrary::<u8>()?),
            1 => out.push(u.int_in_range(0x80..=0xff)?),
            _ => out.extend_from_slice(u.choose(SPECIAL)?.as_bytes()),
        }
    }
    Ok(out)
}

/// Sometimes a long run of one byte, to reach the 1024-byte part limit.
pub(crate) fn maybe_long(u: &mut Unstructured<'_>, mut value: Vec<u8>) -> Result<Vec<u8>> {
    if u.ratio(1u8, 8)? {
        let fill = *u.choose(b"a:%\0")?;
        let n = u.int_in_range(300..=1100)?;
        value.extend(std::iter::repeat_n(fill, n));
    }
    Ok(value)
}

/// `original` with a few byte-level edits, or arbitrary bytes: the "other
/// key" a property compares against.
pub(crate) fn mutate(u: &mut Unstructured<'_>, original: &[u8]) -> Result<Vec<u8>> {
    if u.ratio(1u8, 4)? {
        return bytes(u, 24);
    }
    let mut out = original.to_vec();
    for _ in 0..u.int_in_range(1..=3)? {
        let at = u.int_in_range(0..=out.len())?;
        match u.int_in_range(0u8..=2)? {
            0 => {
                let piece = bytes(u, 2)?;
                out.splice(at..at, piece);
            }
            1 if at < out.len() => {
                out.remove(at);
            }
            _ if at < out.len() => out[at] = u.arbitrary()?,
            _ => out.push(u.arbitrary()?),
        }
    }
    Ok(out)
}

/// A redis-rs reply of at most `depth` levels of aggregates, every variant
/// the parser can produce.
pub(crate) fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let leaves = 10;
    let kind = if depth == 0 {
        u.int_in_range(0..=leaves - 1)?
    } else {
        u.int_in_range(0..=leaves + 4)?
    };
    let items = |u: &mut Unstructured<'_>| -> Result<Vec<Value>> {
        let n = u.int_in_range(0..=6)?;
        (0..n).map(|_| value(u, depth - 1)).collect()
    };
    let pairs = |u: &mut Unstructured<'_>| -> Result<Vec<(Value, Value)>> {
        let n = u.int_in_range(0..=4)?;
        (0..n)
            .map(|_| Ok((value(u, depth - 1)?, value(u, depth - 1)?)))
            .collect()
    };
    Ok(match kind {
        0 => Value::Nil,
        1 => Value::Int(u.arbitrary()?),
        2 | 3 => Value::BulkString(bytes(u, 12)?),
        4 => Value::SimpleString(text(u, 8)?),
        5 => Value::Okay,
        6 => Value::Double(u.arbitrary()?),
        7 => Value::Boolean(u.arbitrary()?),
        8 => Value::VerbatimString {
            format: match u.int_in_range(0u8..=2)? {
                0 => VerbatimFormat::Text,
                1 => VerbatimFormat::Markdown,
                _ => VerbatimFormat::Unknown(text(u, 3)?),
            },
            text: text(u, 8)?,
        },
        9 => parsed(u)?,
        10 => Value::Array(items(u)?),
        11 => Value::Set(items(u)?),
        12 => Value::Map(pairs(u)?),
        13 => Value::Attribute {
            data: Box::new(value(u, depth - 1)?),
            attributes: pairs(u)?,
        },
        _ => Value::Push {
            kind: match u.int_in_range(0u8..=2)? {
                0 => PushKind::Message,
                1 => PushKind::Invalidate,
                _ => PushKind::Other(text(u, 3)?),
            },
            data: items(u)?,
        },
    })
}

/// The variants only redis-rs's parser builds: a server error and a big number.
fn parsed(u: &mut Unstructured<'_>) -> Result<Value> {
    let resp = match u.int_in_range(0u8..=3)? {
        0 => b"-ERR wrong\r\n".to_vec(),
        1 => b"-WRONGTYPE Operation against a key\r\n".to_vec(),
        2 => b"(3492890328409238509324850943850943825024385\r\n".to_vec(),
        _ => {
            let mut resp = b"-".to_vec();
            resp.extend(text(u, 6)?.bytes().filter(|b| !matches!(b, b'\r' | b'\n')));
            resp.extend_from_slice(b"\r\n");
            resp
        }
    };
    Ok(redis_runtime::redis::parse_redis_value(&resp).unwrap_or(Value::Nil))
}
