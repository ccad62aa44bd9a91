//! The key template parser. Plain Rust, no syn: `"tenant:{tenant}:user:{id}"`
//! into literal and placeholder segments, or every problem found, each with the
//! column where it starts (stable Rust cannot point inside a string literal, so
//! messages name the column).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    Placeholder(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Placeholder(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    /// 1-based column (in characters) where the problem starts.
    pub(crate) column: usize,
    pub(crate) kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Empty,
    LeadingSeparator,
    TrailingSeparator,
    DoubleSeparator,
    Whitespace(char),
    Glob(char),
    Control(char),
    LiteralChar(char),
    UnclosedBrace,
    UnopenedBrace,
    NestedBrace,
    EmptyPlaceholder,
    PartialPlaceholder,
    PlaceholderName(String),
}

/// The problem, without the template itself (the caller shows it): "invalid
/// key template `user::{id}`: " comes before it.
impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LITERALS: &str = "literal segments use ASCII letters, digits, `_`, `-` and `.`";
        let col = self.column;
        match &self.kind {
            ErrorKind::Empty => {
                f.write_str("it is empty; write segments separated by `:`, e.g. `user:{id}`")
            }
            ErrorKind::LeadingSeparator => write!(
                f,
                "it starts with `:` (column {col}); remove it, the namespace prefix is added at run time"
            ),
            ErrorKind::TrailingSeparator => write!(
                f,
                "it ends with `:` (column {col}); remove the trailing separator"
            ),
            ErrorKind::DoubleSeparator => write!(
                f,
                "empty segment (`::` at column {col}); separate segments with a single `:`"
            ),
            ErrorKind::Whitespace(c) => write!(
                f,
                "whitespace {c:?} at column {col}; keys cannot contain whitespace, and {LITERALS}"
            ),
            ErrorKind::Glob(c) => write!(
                f,
                "glob character `{c}` at column {col}; `*`, `?`, `[` and `]` would make SCAN patterns ambiguous, and {LITERALS}"
            ),
            ErrorKind::Control(c) => {
                write!(f, "control character {c:?} at column {col}; {LITERALS}")
            }
            ErrorKind::LiteralChar(c) => write!(f, "unexpected `{c}` at column {col}; {LITERALS}"),
            ErrorKind::UnclosedBrace => write!(
                f,
                "unclosed `{{` at column {col}; write placeholders as `{{field}}`"
            ),
            ErrorKind::UnopenedBrace => write!(
                f,
                "`}}` at column {col} has no matching `{{`; write placeholders as `{{field}}`"
            ),
            ErrorKind::NestedBrace => write!(
                f,
                "nested `{{` at column {col}; a placeholder is one field name in single braces, `{{field}}`"
            ),
            ErrorKind::EmptyPlaceholder => write!(
                f,
                "empty placeholder `{{}}` at column {col}; name a field, e.g. `{{id}}`"
            ),
            ErrorKind::PartialPlaceholder => write!(
                f,
                "placeholder at column {col} is not a whole segment; a segment is either a literal or exactly one `{{field}}` (write `user:{{id}}`, not `user-{{id}}`)"
            ),
            ErrorKind::PlaceholderName(name) => write!(
                f,
                "`{{{name}}}` at column {col} is not a field name; a placeholder names a field of the struct, e.g. `{{id}}`"
            ),
        }
    }
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn is_identifier(name: &str) -> bool {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    name != "_" && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Parses a key template, reporting every problem found (at most one per segment
/// for structural problems, so the list stays readable).
pub(crate) fn parse(source: &str) -> Result<Template, Vec<TemplateError>> {
    if source.is_empty() {
        return Err(vec![TemplateError {
            column: 1,
            kind: ErrorKind::Empty,
        }]);
    }
    let chars: Vec<char> = source.chars().collect();
    let mut errors = Vec::new();
    let mut segments = Vec::new();

    // Split on `:` while tracking each segment's starting column.
    let mut start = 0;
    let mut pieces = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c == ':' {
            pieces.push((start, i));
            start = i + 1;
        }
    }
    pieces.push((start, chars.len()));
    let last = pieces.len() - 1;

    for (index, &(from, to)) in pieces.iter().enumerate() {
        if from == to {
            let kind = if index == 0 {
                ErrorKind::LeadingSeparator
            } else if index == last {
                ErrorKind::TrailingSeparator
            } else {
                ErrorKind::DoubleSeparator
            };
            // The separator that produced the empty segment.
            let column = if index == 0 { 1 } else { from };
            errors.push(TemplateError { column, kind });
            continue;
        }
        match parse_segment(&chars[from..to], from) {
            Ok(segment) => segments.push(segment),
            Err(err) => errors.push(err),
        }
    }
    if errors.is_empty() {
        Ok(Template { segments })
    } else {
        Err(errors)
    }
}

/// Parses one non-empty segment starting at character index `offset`.
fn parse_segment(chars: &[char], offset: usize) -> Result<Segment, TemplateError> {
    let err = |i: usize, kind| TemplateError {
        column: offset + i + 1,
        kind,
    };
    // Characters that are wrong anywhere come first: they explain more than a
    // structural complaint would.
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            return Err(err(i, ErrorKind::Whitespace(c)));
        }
        if c.is_control() {
            return Err(err(i, ErrorKind::Control(c)));
        }
        if matches!(c, '*' | '?' | '[' | ']') {
            return Err(err(i, ErrorKind::Glob(c)));
        }
    }
    let open = chars.iter().position(|c| *c == '{');
    let close = chars.iter().position(|c| *c == '}');
    match (open, close) {
        (None, None) => {
            if let Some(i) = chars.iter().position(|c| !is_literal_char(*c)) {
                return Err(err(i, ErrorKind::LiteralChar(chars[i])));
            }
            Ok(Segment::Literal(chars.iter().collect()))
        }
        (None, Some(c)) => Err(err(c, ErrorKind::UnopenedBrace)),
        (Some(o), None) => Err(err(o, ErrorKind::UnclosedBrace)),
        (Some(o), Some(c)) if c < o => Err(err(c, ErrorKind::UnopenedBrace)),
        (Some(o), Some(c)) => {
            if let Some(nested) = chars[o + 1..c].iter().position(|ch| *ch == '{') {
                return Err(err(o + 1 + nested, ErrorKind::NestedBrace));
            }
            if let Some(extra) = chars[c + 1..]
                .iter()
                .position(|ch| *ch == '{' || *ch == '}')
            {
                let at = c + 1 + extra;
                let kind = if chars[at] == '}' {
                    ErrorKind::UnopenedBrace
                } else {
                    ErrorKind::PartialPlaceholder
                };
                return Err(err(at, kind));
            }
            if o != 0 || c != chars.len() - 1 {
                return Err(err(o, ErrorKind::PartialPlaceholder));
            }
            let name: String = chars[o + 1..c].iter().collect();
            if name.is_empty() {
                return Err(err(o, ErrorKind::EmptyPlaceholder));
            }
            if !is_identifier(&name) {
                return Err(err(o, ErrorKind::PlaceholderName(name)));
            }
            // `{r#type}` names the field `r#type`, whose name is `type`.
            let name = match name.strip_prefix("r#") {
                Some(bare) => bare.to_owned(),
                None => name,
            };
            Ok(Segment::Placeholder(name))
        }
    }
}

/// The names written inside braces in a template that may not parse, in order:
/// what the fallback impl guesses the placeholders are, so that code using a
/// model with a broken template still sees the id type it expects.
pub(crate) fn guess_placeholders(source: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find('{') {
        let inner = rest[open..].trim_start_matches('{');
        let len = inner
            .find(|c: char| !(c == '_' || c == '#' || c.is_alphanumeric()))
            .unwrap_or(inner.len());
        if len > 0 && inner[len..].starts_with('}') {
            names.push(&inner[..len]);
        }
        rest = &inner[len..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(usize, ErrorKind)> {
        parse(source)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.column, e.kind))
            .collect()
    }

    #[test]
    fn parses_literals_and_placeholders() {
        let t = parse("tenant:{tenant}:user:{id}").unwrap();
        assert_eq!(
            t.segments,
            vec![
                Segment::Literal("tenant".into()),
                Segment::Placeholder("tenant".into()),
                Segment::Literal("user".into()),
                Segment::Placeholder("id".into()),
            ]
        );
        assert_eq!(t.placeholders().collect::<Vec<_>>(), ["tenant", "id"]);
        assert_eq!(
            parse("v1.cache-entry:{r#type}").unwrap().segments,
            parse("v1.cache-entry:{type}").unwrap().segments
        );
        assert!(parse("config").is_ok());
    }

    #[test]
    fn reports_separators_with_columns() {
        assert_eq!(kinds(""), vec![(1, ErrorKind::Empty)]);
        assert_eq!(kinds(":user"), vec![(1, ErrorKind::LeadingSeparator)]);
        assert_eq!(kinds("user:"), vec![(5, ErrorKind::TrailingSeparator)]);
        assert_eq!(kinds("user::{id}"), vec![(5, ErrorKind::DoubleSeparator)]);
        assert_eq!(
            kinds(":a::b:"),
            vec![
                (1, ErrorKind::LeadingSeparator),
                (3, ErrorKind::DoubleSeparator),
                (6, ErrorKind::TrailingSeparator)
            ]
        );
    }

    #[test]
    fn reports_bad_characters() {
        assert_eq!(kinds("user: {id}"), vec![(6, ErrorKind::Whitespace(' '))]);
        assert_eq!(kinds("us*er:{id}"), vec![(3, ErrorKind::Glob('*'))]);
        assert_eq!(kinds("user:[id]"), vec![(6, ErrorKind::Glob('['))]);
        assert_eq!(kinds("a\u{1}:{id}"), vec![(2, ErrorKind::Control('\u{1}'))]);
        assert_eq!(kinds("user/x:{id}"), vec![(5, ErrorKind::LiteralChar('/'))]);
        assert_eq!(kinds("café:{id}"), vec![(4, ErrorKind::LiteralChar('é'))]);
    }

    #[test]
    fn reports_brace_problems() {
        assert_eq!(kinds("user:{id"), vec![(6, ErrorKind::UnclosedBrace)]);
        assert_eq!(kinds("user:id}"), vec![(8, ErrorKind::UnopenedBrace)]);
        assert_eq!(kinds("user:}id{"), vec![(6, ErrorKind::UnopenedBrace)]);
        assert_eq!(kinds("user:{{id}}"), vec![(7, ErrorKind::NestedBrace)]);
        assert_eq!(kinds("user:{}"), vec![(6, ErrorKind::EmptyPlaceholder)]);
        assert_eq!(kinds("user-{id}"), vec![(6, ErrorKind::PartialPlaceholder)]);
        assert_eq!(kinds("{id}x"), vec![(1, ErrorKind::PartialPlaceholder)]);
        assert_eq!(kinds("{a}{b}"), vec![(4, ErrorKind::PartialPlaceholder)]);
        assert_eq!(
            kinds("user:{1d}"),
            vec![(6, ErrorKind::PlaceholderName("1d".into()))]
        );
    }

    #[test]
    fn guesses_placeholders_of_broken_templates() {
        assert_eq!(guess_placeholders("user-{id}"), ["id"]);
        assert_eq!(guess_placeholders("t:{tenant}::u:{{id}}"), ["tenant", "id"]);
        assert_eq!(guess_placeholders("user:{id"), Vec::<&str>::new());
        assert_eq!(guess_placeholders("{a b}:{}"), Vec::<&str>::new());
    }

    #[test]
    fn messages_say_how_to_fix() {
        let msg = parse("user-{id}").unwrap_err()[0].to_string();
        assert!(msg.contains("not a whole segment"), "{msg}");
        assert!(msg.contains("user:{id}"), "{msg}");
    }
}
