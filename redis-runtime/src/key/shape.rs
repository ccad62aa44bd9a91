//! [`PartShape`]: what a key part's rendered values can look like, and every
//! question asked of it (parsing keys back, the compile-time collision check,
//! the manifest's names).

/// What values of a [`KeyPart`](super::KeyPart) type can look like once rendered, so that the
/// keyspace check can tell `user:{id}` (an integer) from `user:admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartShape {
    /// Any text: it may render as any literal segment.
    Text,
    /// Canonical decimal integers (`0`, `42`, and `-7` when signed).
    Integer {
        /// Whether negative values exist.
        signed: bool,
    },
    /// `true` or `false`.
    Bool,
    /// A hyphenated lower-case UUID.
    Uuid,
}

impl PartShape {
    /// Whether a value of this shape can render as the (unescaped) key part
    /// `part`: any part for text, canonical decimal for integers, and so on.
    pub fn admits(&self, part: &[u8]) -> bool {
        match self {
            PartShape::Text => true,
            _ => std::str::from_utf8(part).is_ok_and(|lit| self.can_render(lit)),
        }
    }
}

/// What the keyspace's compile-time collision check asks of shapes.
impl PartShape {
    /// Whether two shapes can render a common value.
    pub(crate) const fn overlaps(&self, other: &PartShape) -> bool {
        match (self, other) {
            (PartShape::Text, _) | (_, PartShape::Text) => true,
            (PartShape::Integer { signed: a }, PartShape::Integer { signed: b }) => {
                // Both render non-negative numbers; only signed ones render `-1`.
                let _ = (a, b);
                true
            }
            (PartShape::Bool, PartShape::Bool) | (PartShape::Uuid, PartShape::Uuid) => true,
            _ => false,
        }
    }

    /// Whether a value of this shape can render as `lit`.
    pub(crate) const fn can_render(&self, lit: &str) -> bool {
        let b = lit.as_bytes();
        match self {
            PartShape::Text => true,
            PartShape::Bool => super::str_eq(lit, "true") || super::str_eq(lit, "false"),
            PartShape::Integer { signed } => {
                let start = if *signed && b.len() > 1 && b[0] == b'-' {
                    1
                } else {
                    0
                };
                if b.len() == start {
                    return false;
                }
                // Canonical decimal: no leading zero (except `0` itself), no `-0`.
                if b[start] == b'0' && (b.len() > start + 1 || start == 1) {
                    return false;
                }
                let mut i = start;
                while i < b.len() {
                    if !b[i].is_ascii_digit() {
                        return false;
                    }
                    i += 1;
                }
                true
            }
            PartShape::Uuid => {
                if b.len() != 36 {
                    return false;
                }
                let mut i = 0;
                while i < 36 {
                    let ok = if i == 8 || i == 13 || i == 18 || i == 23 {
                        b[i] == b'-'
                    } else {
                        b[i].is_ascii_digit() || (b[i] >= b'a' && b[i] <= b'f')
                    };
                    if !ok {
                        return false;
                    }
                    i += 1;
                }
                true
            }
        }
    }

    /// A value both shapes render (they are known to overlap).
    pub(crate) const fn common_sample(&self, other: &PartShape) -> &'static str {
        match (self, other) {
            (PartShape::Text, PartShape::Text) => "x",
            (PartShape::Bool, _) | (_, PartShape::Bool) => "true",
            (PartShape::Uuid, _) | (_, PartShape::Uuid) => "00000000-0000-0000-0000-000000000000",
            _ => "1",
        }
    }
}

/// `PartShape` by name in the manifest's JSON.
pub(crate) mod by_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::PartShape;

    pub(crate) fn serialize<S: Serializer>(shape: &PartShape, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match shape {
            PartShape::Integer { signed: false } => "integer",
            PartShape::Integer { signed: true } => "signed_integer",
            PartShape::Bool => "bool",
            PartShape::Uuid => "uuid",
            PartShape::Text => "text",
        })
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PartShape, D::Error> {
        let name = String::deserialize(d)?;
        Ok(match name.as_str() {
            "text" => PartShape::Text,
            "integer" => PartShape::Integer { signed: false },
            "signed_integer" => PartShape::Integer { signed: true },
            "bool" => PartShape::Bool,
            "uuid" => PartShape::Uuid,
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["text", "integer", "signed_integer", "bool", "uuid"],
                ));
            }
        })
    }
}
