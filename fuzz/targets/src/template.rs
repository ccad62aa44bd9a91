//! Target `key_template`: the derive's key template parser.
//!
//! The parser lives in the proc-macro crate `redis-derive`, which cannot
//! export functions to other crates, so its module file is compiled into this
//! crate by `#[path]`: the very source the derive compiles, not a copy. That
//! works while `key_template.rs` stays self-contained (it uses only `std`);
//! if it ever imports another module of the derive, this include stops
//! compiling and says so, rather than fuzzing something stale. (Driving the
//! derive itself would need a compiler per input; a feature-gated copy would
//! drift.)

use redis_runtime::key::glob_escape_into;

#[path = "../../../redis-derive/src/key_template.rs"]
mod parser;

use parser::{ErrorKind, Segment, Template, TemplateError};

/// Parses the input (as UTF-8, invalid sequences replaced) as a key template.
///
/// Properties: the parser and its fallback guesser never panic; a template
/// that parses renders back to itself (up to `r#`), reparses to the same
/// segments, has literals the runtime accepts and that need no glob escaping,
/// placeholder names that are identifiers, and the placeholders the fallback
/// guesses; a template that does not parse has one or more errors (at most one per
/// segment), in column order, each pointing at the character it names, with a message free of
/// control characters.
pub fn key_template(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let guessed = parser::guess_placeholders(&source);
    for name in &guessed {
        assert!(!name.is_empty(), "empty guess in {source:?}");
        assert!(source.contains(name), "guess {name:?} not in {source:?}");
        assert!(
            name.chars()
                .all(|c| c == '_' || c == '#' || c.is_alphanumeric()),
            "guess {name:?} in {source:?}"
        );
    }
    for separator in [':', '/', '.'] {
        match parser::parse(&source, separator) {
            Ok(template) => check_parsed(&source, &template, &guessed),
            Err(errors) => check_errors(&source, separator, &errors),
        }
    }
}

/// Whether `lit` is literal text a template separated by `separator` may hold.
fn is_literal(lit: &str, separator: char) -> bool {
    lit.chars().all(|c| parser::is_literal_char(c, separator))
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && name != "_"
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn render(template: &Template) -> String {
    let parts: Vec<String> = template
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Literal(lit) => lit.clone(),
            Segment::Placeholder(name, affixes) => {
                format!("{}{{{name}}}{}", affixes.prefix, affixes.suffix)
            }
        })
        .collect();
    parts.join(&template.separator.to_string())
}

fn check_parsed(source: &str, template: &Template, guessed: &[&str]) {
    assert!(!template.segments.is_empty(), "{source:?}");
    for segment in &template.segments {
        match segment {
            Segment::Literal(lit) => {
                assert!(
                    !lit.is_empty() && is_literal(lit, template.separator),
                    "literal {lit:?} of {source:?}"
                );
                let mut escaped = String::new();
                glob_escape_into(lit, &mut escaped);
                assert_eq!(&escaped, lit, "literal of {source:?} needs glob escaping");
            }
            Segment::Placeholder(name, affixes) => {
                assert!(is_identifier(name), "placeholder {name:?} of {source:?}");
                for text in [&affixes.prefix, &affixes.suffix] {
                    assert!(
                        is_literal(text, template.separator),
                        "literal text {text:?} of {source:?}"
                    );
                    let mut escaped = String::new();
                    glob_escape_into(text, &mut escaped);
                    assert_eq!(&escaped, text, "literal of {source:?} needs glob escaping");
                }
            }
        }
    }
    let rendered = render(template);
    assert_eq!(rendered, source.replace("{r#", "{"), "{source:?}");
    let reparsed =
        parser::parse(&rendered, template.separator).expect("a rendered template parses");
    assert_eq!(&reparsed, template, "{source:?}");
    let names: Vec<&str> = template.placeholders().collect();
    let guessed: Vec<&str> = guessed
        .iter()
        .map(|g| g.strip_prefix("r#").unwrap_or(g))
        .collect();
    assert_eq!(names, guessed, "fallback guesses differ for {source:?}");
}

fn check_errors(source: &str, separator: char, errors: &[TemplateError]) {
    let chars: Vec<char> = source.chars().collect();
    assert!(!errors.is_empty(), "{source:?}");
    assert!(
        errors.len() <= source.split(separator).count(),
        "more errors than segments in {source:?}: {errors:?}"
    );
    // In column order (`:` alone is both a leading and a trailing separator,
    // both at column 1).
    for pair in errors.windows(2) {
        assert!(pair[0].column <= pair[1].column, "{source:?}: {errors:?}");
    }
    for error in errors {
        let message = error.to_string();
        assert!(
            !message.chars().any(char::is_control),
            "control character in {message:?}"
        );
        if error.kind == ErrorKind::Empty {
            assert!(source.is_empty());
            assert_eq!(error.column, 1);
            continue;
        }
        assert!(
            (1..=chars.len()).contains(&error.column),
            "column {} of {source:?}",
            error.column
        );
        let at = chars[error.column - 1];
        let expected = match &error.kind {
            ErrorKind::Empty => unreachable!(),
            ErrorKind::LeadingSeparator
            | ErrorKind::TrailingSeparator
            | ErrorKind::DoubleSeparator => separator,
            ErrorKind::Colon => ':',
            ErrorKind::Whitespace(c)
            | ErrorKind::Glob(c)
            | ErrorKind::Control(c)
            | ErrorKind::LiteralChar(c) => *c,
            ErrorKind::UnopenedBrace => '}',
            ErrorKind::UnclosedBrace
            | ErrorKind::NestedBrace
            | ErrorKind::EmptyPlaceholder
            | ErrorKind::TwoPlaceholders { .. }
            | ErrorKind::PlaceholderName(_) => '{',
        };
        assert_eq!(at, expected, "{source:?}: {error:?}");
        match &error.kind {
            ErrorKind::Whitespace(c) => assert!(c.is_whitespace()),
            ErrorKind::Control(c) => assert!(c.is_control()),
            ErrorKind::Glob(c) => assert!(matches!(c, '*' | '?' | '[' | ']')),
            ErrorKind::LiteralChar(c) => assert!(!parser::is_literal_char(*c, separator)),
            ErrorKind::PlaceholderName(name) => assert!(!is_identifier(name)),
            _ => {}
        }
    }
}
