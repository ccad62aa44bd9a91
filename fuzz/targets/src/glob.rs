//! Target `glob_escape`: the glob escaping of literals and namespaces, and the
//! `SCAN MATCH` pattern of a template, against a port of Redis's matcher.

use arbitrary::{Result, Unstructured};
use redis_runtime::fuzzing::{self, Segment};
use redis_runtime::key::{PartShape, escape_into, glob_escape_into};

use crate::input;

/// Whether the glob `pattern` matches `string` as `SCAN MATCH` (and `KEYS`,
/// and ACL key patterns) decide it: a port of `stringmatchlen` from Redis's
/// `util.c` (case-sensitive), reading past the end of the pattern as the C
/// code reads its terminating NUL.
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, &mut skip_longer, 0)
}

fn match_impl(pat: &[u8], s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > 1000 {
        return false;
    }
    let at = |i: usize| pat.get(i).copied().unwrap_or(0);
    // `int start = pattern[0]` of a (signed) `char`.
    let signed = |b: u8| i32::from(b as i8);
    let (mut p, mut si) = (0usize, 0usize);
    while p < pat.len() && si < s.len() {
        match pat[p] {
            b'*' => {
                while p < pat.len() && at(p + 1) == b'*' {
                    p += 1;
                }
                if pat.len() - p == 1 {
                    return true;
                }
                while si < s.len() {
                    if match_impl(&pat[p + 1..], &s[si..], skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => si += 1,
            b'[' => {
                p += 1;
                let not = at(p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    let remaining = pat.len().saturating_sub(p);
                    if at(p) == b'\\' && remaining >= 2 {
                        p += 1;
                        if at(p) == s[si] {
                            matched = true;
                        }
                    } else if at(p) == b']' {
                        break;
                    } else if remaining == 0 {
                        p -= 1;
                        break;
                    } else if remaining >= 3 && at(p + 1) == b'-' {
                        let (mut start, mut end) = (signed(at(p)), signed(at(p + 2)));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let c = signed(s[si]);
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if at(p) == s[si] {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            c => {
                let c = if c == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pat[p]
                } else {
                    c
                };
                if c != s[si] {
                    return false;
                }
                si += 1;
            }
        }
        p += 1;
        if si == s.len() {
            while at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && si == s.len()
}

/// One piece of the language a template's pattern is meant to denote.
enum Token<'a> {
    /// Exactly these bytes.
    Literal(&'a [u8]),
    /// One or more arbitrary bytes (`?*`).
    Some,
}

/// The reference: whether `key` is in the language the pattern of `segments`
/// under `namespace` should denote — the namespace, the literals and the `:`
/// separators exactly, one or more bytes per placeholder, in braces for the
/// hash tag. A set-of-positions walk, no globbing.
fn denotes(namespace: &str, segments: &[Segment<'_>], key: &[u8]) -> bool {
    let mut tokens = vec![Token::Literal(namespace.as_bytes())];
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            tokens.push(Token::Literal(b":"));
        }
        match segment {
            Segment::Literal(lit) => tokens.push(Token::Literal(lit.as_bytes())),
            Segment::Placeholder { hash_tag: true, .. } => {
                tokens.extend([Token::Literal(b"{"), Token::Some, Token::Literal(b"}")]);
            }
            Segment::Placeholder { .. } => tokens.push(Token::Some),
        }
    }
    let mut reach = vec![false; key.len() + 1];
    reach[0] = true;
    for token in &tokens {
        let mut next = vec![false; key.len() + 1];
        match token {
            Token::Literal(lit) => {
                for i in (0..=key.len()).filter(|&i| reach[i]) {
                    if key[i..].starts_with(lit) {
                        next[i + lit.len()] = true;
                    }
                }
            }
            Token::Some => {
                if let Some(first) = reach.iter().position(|r| *r) {
                    next[first + 1..].iter_mut().for_each(|n| *n = true);
                }
            }
        }
        reach = next;
    }
    reach[key.len()]
}

fn shape(u: &mut Unstructured<'_>) -> Result<PartShape> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => PartShape::Integer { signed: false },
        1 => PartShape::Integer { signed: true },
        2 => PartShape::Bool,
        3 => PartShape::Uuid,
        _ => PartShape::Text,
    })
}

/// A raw (unescaped) value of `shape`.
fn part(u: &mut Unstructured<'_>, shape: PartShape) -> Result<Vec<u8>> {
    Ok(match shape {
        PartShape::Integer { signed: false } => u.arbitrary::<u64>()?.to_string().into_bytes(),
        PartShape::Integer { signed: true } => u.arbitrary::<i64>()?.to_string().into_bytes(),
        PartShape::Bool => if u.arbitrary()? { "true" } else { "false" }.into(),
        PartShape::Uuid => uuid::Uuid::from_u128(u.arbitrary()?)
            .hyphenated()
            .to_string()
            .into_bytes(),
        _ => {
            let raw = input::bytes(u, 10)?;
            input::maybe_long(u, raw)?
        }
    })
}

/// Checks glob escaping and `SCAN MATCH` patterns on one input.
///
/// Properties: an escaped string matches exactly itself; a template's pattern
/// (arbitrary namespace and literals) matches every key rendered from it, and
/// matches an arbitrary other key exactly when an exact reference (no
/// globbing: the namespace, literals and separators, one or more bytes per
/// placeholder) says it should;
/// every key the splitter accepts matches the pattern (a scan misses none).
pub fn glob_escape(data: &[u8]) {
    let _ = run(&mut Unstructured::new(data));
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    // A literal alone: its escaped form matches it and nothing else.
    let literal = input::text(u, 8)?;
    let other = input::mutate(u, literal.as_bytes())?;
    let mut escaped = String::new();
    glob_escape_into(&literal, &mut escaped);
    assert!(
        glob_match(escaped.as_bytes(), literal.as_bytes()),
        "{escaped:?} does not match {literal:?}"
    );
    assert_eq!(
        glob_match(escaped.as_bytes(), &other),
        literal.as_bytes() == other.as_slice(),
        "{escaped:?} against {other:?}"
    );

    // A template with arbitrary namespace and literals.
    let namespace = input::text(u, 6)?;
    let mut literals = Vec::new();
    let mut kinds = Vec::new();
    for _ in 0..u.int_in_range(0..=5)? {
        if u.ratio(1u8, 2)? {
            literals.push(input::text(u, 5)?);
            kinds.push(None);
        } else {
            kinds.push(Some((u.ratio(1u8, 4)?, shape(u)?)));
        }
    }
    let mut literal_iter = literals.iter();
    let segments: Vec<Segment<'_>> = kinds
        .iter()
        .map(|kind| match *kind {
            None => Segment::Literal(literal_iter.next().expect("one per literal")),
            Some((hash_tag, shape)) => Segment::Placeholder { hash_tag, shape },
        })
        .collect();
    let pattern = fuzzing::scan_pattern(&namespace, &segments);

    // A key rendered from it, as the renderer writes one.
    let mut key = namespace.as_bytes().to_vec();
    let mut raw_parts = Vec::new();
    // A template has at least one segment (the derive and the manifest refuse none).
    let mut splittable = !segments.is_empty();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            key.push(b':');
        }
        match *segment {
            Segment::Literal(lit) => {
                key.extend_from_slice(lit.as_bytes());
                // Real literals never contain `:` (the derive and the manifest refuse it).
                splittable &= !lit.contains(':');
            }
            Segment::Placeholder { hash_tag, shape } => {
                let raw = part(u, shape)?;
                let start = key.len() + usize::from(hash_tag);
                if hash_tag {
                    key.push(b'{');
                }
                escape_into(&raw, &mut key);
                let len = key.len() - start;
                splittable &= (1..=1024).contains(&len) && shape.admits(&raw);
                if hash_tag {
                    key.push(b'}');
                }
                raw_parts.push(raw);
            }
        }
    }
    let nonempty = raw_parts.iter().all(|p| !p.is_empty());
    if nonempty {
        assert!(
            glob_match(pattern.as_bytes(), &key),
            "{pattern:?} does not match its own key {key:?}"
        );
    }
    if splittable {
        assert_eq!(
            fuzzing::split_key(&segments, &namespace, &key),
            Some(raw_parts),
            "{segments:?} under {namespace:?}: {key:?}"
        );
    }
    assert_eq!(
        glob_match(pattern.as_bytes(), &key),
        denotes(&namespace, &segments, &key)
    );

    // Another key: the pattern matches it exactly when the reference says so,
    // and every key that splits is matched.
    let other = input::mutate(u, &key)?;
    let matched = glob_match(pattern.as_bytes(), &other);
    assert_eq!(
        matched,
        denotes(&namespace, &segments, &other),
        "{pattern:?} against {other:?}"
    );
    if fuzzing::split_key(&segments, &namespace, &other).is_some() {
        assert!(
            matched,
            "{pattern:?} misses the key {other:?}, which splits"
        );
    }
    Ok(())
}
