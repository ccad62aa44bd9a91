//! The compile-time collision check behind `keyspace!`: whether two templates
//! can render a common key, and a key they share for the error message (the
//! rules are in the [module documentation](super)).
//!
//! Two templates of `:`-separated whole segments are compared segment by
//! segment, with each placeholder type's exact shape. Any other pair (another
//! separator, or literal text around a placeholder inside a segment) is
//! compared byte by byte: each template is a sequence of literal bytes and
//! placeholder parts, a part being one or more bytes of the characters its
//! type can render, and a depth-first search over both at once looks for one
//! key both accept.

use crate::key::{KeyTemplate, PartShape, Segment, is_reserved};

/// Whether two templates can render a common key.
pub const fn collide(a: &KeyTemplate, b: &KeyTemplate) -> bool {
    if !(plain(a) && plain(b)) {
        return search(a, b, &mut Message::new());
    }
    if a.segments.len() != b.segments.len() {
        return false;
    }
    let mut i = 0;
    while i < a.segments.len() {
        if !segments_overlap(&a.segments[i], &b.segments[i]) {
            return false;
        }
        i += 1;
    }
    true
}

const fn segments_overlap(a: &Segment, b: &Segment) -> bool {
    match (a, b) {
        (Segment::Literal(x), Segment::Literal(y)) => crate::key::str_eq(x, y),
        (
            Segment::Literal(lit),
            Segment::Placeholder {
                hash_tag, shape, ..
            },
        )
        | (
            Segment::Placeholder {
                hash_tag, shape, ..
            },
            Segment::Literal(lit),
        ) => !*hash_tag && shape.can_render(lit),
        (
            Segment::Placeholder {
                hash_tag: ta,
                shape: sa,
                ..
            },
            Segment::Placeholder {
                hash_tag: tb,
                shape: sb,
                ..
            },
        ) => *ta == *tb && sa.overlaps(sb),
    }
}

/// Writes a key both templates render (they are known to collide).
pub(super) const fn shared_key(a: &KeyTemplate, b: &KeyTemplate, out: &mut Message) {
    if !(plain(a) && plain(b)) {
        search(a, b, out);
        return;
    }
    let mut i = 0;
    while i < a.segments.len() {
        if i > 0 {
            out.push(":");
        }
        match (&a.segments[i], &b.segments[i]) {
            (Segment::Literal(lit), _) | (_, Segment::Literal(lit)) => out.push(lit),
            (
                Segment::Placeholder {
                    hash_tag, shape, ..
                },
                Segment::Placeholder { shape: other, .. },
            ) => {
                if *hash_tag {
                    out.push("{");
                }
                out.push(shape.common_sample(other));
                if *hash_tag {
                    out.push("}");
                }
            }
        }
        i += 1;
    }
}

/// A message built at compile time, for a `const` panic.
pub(super) struct Message {
    buf: [u8; 1024],
    len: usize,
}

impl Message {
    pub(super) const fn new() -> Self {
        Message {
            buf: [0; 1024],
            len: 0,
        }
    }

    pub(super) const fn push(&mut self, s: &str) {
        self.push_bytes(s.as_bytes());
    }

    /// Appends ASCII bytes.
    const fn push_bytes(&mut self, bytes: &[u8]) {
        let mut i = 0;
        // Truncate at a character boundary if the message would overflow.
        while i < bytes.len() && self.len < self.buf.len() - 4 {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        while self.len > 0 && (self.buf[self.len - 1] & 0xC0) == 0x80 && i < bytes.len() {
            self.len -= 1;
        }
    }

    pub(super) const fn panic(&self) -> ! {
        let (head, _) = self.buf.split_at(self.len);
        match std::str::from_utf8(head) {
            Ok(message) => panic!("{}", message),
            Err(_) => panic!("two models of the keyspace can render the same key"),
        }
    }
}

/// Whether a template is `:`-separated whole segments: the segment-by-segment
/// rule applies.
const fn plain(t: &KeyTemplate) -> bool {
    if t.separator != b':' {
        return false;
    }
    let mut i = 0;
    while i < t.segments.len() {
        if let Segment::Placeholder { prefix, suffix, .. } = &t.segments[i]
            && (!prefix.is_empty() || !suffix.is_empty())
        {
            return false;
        }
        i += 1;
    }
    true
}

/// The most bytes (literal bytes, separators, braces and parts) a template
/// may have for the byte-by-byte search; a longer one is compared as if
/// every byte could match (it collides with anything it may share a key with,
/// and the message says so).
const MAX_TOKENS: usize = 127;

/// One step of a template: a literal byte, or a placeholder's part.
#[derive(Clone, Copy)]
struct Token {
    part: bool,
    byte: u8,
    /// The part's characters: 0 text, 1 unsigned integer, 2 signed integer,
    /// 3 bool, 4 UUID.
    class: u8,
}

struct Tokens {
    tokens: [Token; MAX_TOKENS],
    len: usize,
    separator: u8,
    overflow: bool,
}

impl Tokens {
    const fn push(&mut self, token: Token) {
        if self.len == MAX_TOKENS {
            self.overflow = true;
        } else {
            self.tokens[self.len] = token;
            self.len += 1;
        }
    }

    const fn push_literal(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            self.push(Token {
                part: false,
                byte: bytes[i],
                class: 0,
            });
            i += 1;
        }
    }

    const fn of(t: &KeyTemplate) -> Tokens {
        let mut out = Tokens {
            tokens: [Token {
                part: false,
                byte: 0,
                class: 0,
            }; MAX_TOKENS],
            len: 0,
            separator: t.separator,
            overflow: false,
        };
        let mut i = 0;
        while i < t.segments.len() {
            if i > 0 {
                out.push(Token {
                    part: false,
                    byte: t.separator,
                    class: 0,
                });
            }
            match &t.segments[i] {
                Segment::Literal(lit) => out.push_literal(lit),
                Segment::Placeholder {
                    hash_tag,
                    shape,
                    prefix,
                    suffix,
                    ..
                } => {
                    out.push_literal(prefix);
                    if *hash_tag {
                        out.push_literal("{");
                    }
                    out.push(Token {
                        part: true,
                        byte: 0,
                        class: match shape {
                            PartShape::Integer { signed: false } => 1,
                            PartShape::Integer { signed: true } => 2,
                            PartShape::Bool => 3,
                            PartShape::Uuid => 4,
                            _ => 0,
                        },
                    });
                    if *hash_tag {
                        out.push_literal("}");
                    }
                    out.push_literal(suffix);
                }
            }
            i += 1;
        }
        out
    }

    /// Whether a part of class `class` can hold the byte `c` (a superset for
    /// integers, booleans and UUIDs: their characters, not their grammar).
    const fn admits(&self, class: u8, c: u8) -> bool {
        match class {
            1 => c.is_ascii_digit(),
            2 => c.is_ascii_digit() || c == b'-',
            3 => matches!(c, b't' | b'r' | b'u' | b'e' | b'f' | b'a' | b'l' | b's'),
            4 => c.is_ascii_digit() || matches!(c, b'a'..=b'f' | b'-'),
            // Text: any byte but the reserved ones and the separator, which
            // are escaped as `%XX` (so `%` itself does appear).
            _ => c == b'%' || (c > 0x20 && c < 0x7f && !is_reserved(c) && c != self.separator),
        }
    }

    /// The positions after consuming `c` from position `(i, inside)`
    /// (`inside`: within part `i`, at least one byte consumed), as up to two
    /// `(i, inside)` pairs; `None` for no position.
    const fn step(&self, i: usize, inside: bool, c: u8) -> [Option<(usize, bool)>; 2] {
        let mut out = [None, None];
        if inside {
            // Go on within the part, or (closing it) continue after it.
            if self.admits(self.tokens[i].class, c) {
                out[0] = Some((i, true));
            }
            out[1] = self.enter(i + 1, c);
        } else {
            out[0] = self.enter(i, c);
        }
        out
    }

    /// The position after consuming `c` at the start of token `i`.
    const fn enter(&self, i: usize, c: u8) -> Option<(usize, bool)> {
        if i >= self.len {
            return None;
        }
        let token = self.tokens[i];
        if token.part {
            if self.admits(token.class, c) {
                Some((i, true))
            } else {
                None
            }
        } else if token.byte == c {
            Some((i + 1, false))
        } else {
            None
        }
    }

    /// Whether the whole template has been read at position `(i, inside)`.
    const fn done(&self, i: usize, inside: bool) -> bool {
        if inside {
            i + 1 == self.len
        } else {
            i == self.len
        }
    }

    /// The literal bytes that can come next at `(i, inside)`.
    const fn next_literals(&self, i: usize, inside: bool) -> [Option<u8>; 2] {
        let at = if inside { i + 1 } else { i };
        let mut out = [None, None];
        if at < self.len && !self.tokens[at].part {
            out[0] = Some(self.tokens[at].byte);
        }
        out
    }
}

/// Bytes that stand for every way the part characters differ: each set of
/// classes a byte can belong to has one here.
const REPRESENTATIVES: [u8; 10] = [b'0', b'-', b'a', b'b', b't', b'x', b'/', b'.', b'%', b'='];

/// Searches a key both templates render; writes it to `out` when found.
const fn search(a: &KeyTemplate, b: &KeyTemplate, out: &mut Message) -> bool {
    let ta = Tokens::of(a);
    let tb = Tokens::of(b);
    if ta.overflow || tb.overflow {
        out.push("(a key of templates too long for the keyspace check)");
        return true;
    }
    // A state is both positions: ((ia * 2 + inside_a) * (len_b + 1) + ib) * 2 + inside_b.
    let width = (tb.len + 1) * 2;
    let mut visited = [0u64; 1024];
    // The path: states and the byte that led to each.
    let mut states = [0usize; 512];
    let mut bytes = [0u8; 512];
    let mut next = [0usize; 512];
    let mut depth = 1;
    states[0] = 0;
    visited[0] = 1;
    while depth > 0 {
        let state = states[depth - 1];
        let ib_inside = state % 2 == 1;
        let ib = (state / 2) % (tb.len + 1);
        let ia_inside = (state / width) % 2 == 1;
        let ia = state / width / 2;
        if ta.done(ia, ia_inside) && tb.done(ib, ib_inside) {
            out.push_bytes(bytes.split_at(depth).0.split_at(1).1);
            return true;
        }
        // Candidate bytes: the literals either side expects, then one byte
        // per set of part classes.
        let la = ta.next_literals(ia, ia_inside);
        let lb = tb.next_literals(ib, ib_inside);
        let candidates = [
            la[0],
            lb[0],
            Some(REPRESENTATIVES[0]),
            Some(REPRESENTATIVES[1]),
            Some(REPRESENTATIVES[2]),
            Some(REPRESENTATIVES[3]),
            Some(REPRESENTATIVES[4]),
            Some(REPRESENTATIVES[5]),
            Some(REPRESENTATIVES[6]),
            Some(REPRESENTATIVES[7]),
            Some(REPRESENTATIVES[8]),
            Some(REPRESENTATIVES[9]),
        ];
        // Each (candidate, successor in `a`, successor in `b`) once.
        let combos = candidates.len() * 4;
        let mut pushed = false;
        while next[depth - 1] < combos && !pushed {
            let n = next[depth - 1];
            next[depth - 1] += 1;
            let Some(c) = candidates[n / 4] else {
                continue;
            };
            let (Some((na, na_inside)), Some((nb, nb_inside))) = (
                ta.step(ia, ia_inside, c)[(n % 4) / 2],
                tb.step(ib, ib_inside, c)[n % 2],
            ) else {
                continue;
            };
            let s = ((na * 2 + na_inside as usize) * (tb.len + 1) + nb) * 2 + nb_inside as usize;
            if visited[s / 64] & (1 << (s % 64)) == 0 {
                visited[s / 64] |= 1 << (s % 64);
                if depth == states.len() {
                    // Deeper than any key of two short templates.
                    out.push("(a key too long to show)");
                    return true;
                }
                states[depth] = s;
                bytes[depth] = c;
                next[depth] = 0;
                depth += 1;
                pushed = true;
            }
        }
        if !pushed {
            depth -= 1;
        }
    }
    false
}
