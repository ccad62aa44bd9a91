//! Entry points for the fuzz targets in `fuzz/` (not public API).
//!
//! The key layer's template-generic functions, the `SCAN MATCH` pattern
//! builder and the key splitter, are crate-internal: the public ones take a
//! compiled `&'static` [`KeyTemplate`](crate::key::KeyTemplate). A fuzz target
//! tries a new template on every input (arbitrary literals and namespaces, as
//! a keyspace manifest read from disk can hold), which a `'static` template
//! could only do by leaking one per input. These thin wrappers take the
//! segments from the caller instead and call the very same functions that
//! [`KeyTemplate::scan_pattern`](crate::key::KeyTemplate::scan_pattern),
//! [`KeyTemplate::split`](crate::key::KeyTemplate::split) and the manifest
//! use. Nothing here adds behaviour.

use crate::key::{self, PartShape, SegmentView};

/// One segment of a key template given at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// A literal segment. The derive only admits ASCII letters, digits and
    /// `_ - . / = @ + , ~ | #` (never `:`); here it may be any text.
    Literal(&'a str),
    /// A placeholder.
    Placeholder {
        /// Whether it is the hash tag (rendered as `{…}`).
        hash_tag: bool,
        /// What its values can look like.
        shape: PartShape,
    },
}

fn views<'a>(segments: &'a [Segment<'a>]) -> impl ExactSizeIterator<Item = SegmentView<'a>> {
    segments.iter().map(|segment| match *segment {
        Segment::Literal(lit) => SegmentView::Literal(lit),
        Segment::Placeholder { hash_tag, shape } => SegmentView::Placeholder {
            hash_tag,
            shape,
            prefix: "",
            suffix: "",
        },
    })
}

/// The `SCAN MATCH` pattern of the template `segments` under `namespace`,
/// as [`KeyTemplate::scan_pattern`](crate::key::KeyTemplate::scan_pattern)
/// builds it.
pub fn scan_pattern(namespace: &str, segments: &[Segment<'_>]) -> String {
    key::scan_pattern_of(namespace, b':', views(segments))
}

/// Splits `key` under `namespace` by the template `segments` into its
/// decoded placeholder parts, as [`KeyTemplate::split`](crate::key::KeyTemplate::split)
/// does; `None` when the renderer could not have produced it.
pub fn split_key(segments: &[Segment<'_>], namespace: &str, key: &[u8]) -> Option<Vec<Vec<u8>>> {
    key::split_key(views(segments), b':', namespace, key)
}
