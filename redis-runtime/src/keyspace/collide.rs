//! The compile-time collision check behind `keyspace!`: whether two templates
//! can render a common key, and a key they share for the error message (the
//! rules are in the [module documentation](super)).

use crate::key::{KeyTemplate, Segment};

/// Whether two templates can render a common key.
pub const fn collide(a: &KeyTemplate, b: &KeyTemplate) -> bool {
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
        let bytes = s.as_bytes();
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
