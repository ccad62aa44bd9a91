//! The key template parser. Plain Rust, no syn: `"tenant:{tenant}:user:{id}"`
//! into literal and placeholder segments, or every problem found, each with the
//! column where it starts (stable Rust cannot point inside a string literal, so
//! messages name the column).
//!
//! Segments are separated by the template's separator (`:` unless the
//! declaration says `separator = "/"` or `"."`). A segment is a literal, or
//! one placeholder with optional literal text before and after it inside the
//! segment (`room={room}`, `{id}.json`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    /// A placeholder's field name, and the literal text around it in its segment.
    Placeholder(String, Affixes),
}

/// Literal text before and after a placeholder inside its segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Affixes {
    pub(crate) prefix: String,
    pub(crate) suffix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) separator: char,
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Placeholder(name, _) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

/// The separators a template may declare.
pub(crate) const SEPARATORS: [char; 3] = [':', '/', '.'];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    /// 1-based column (in characters) where the problem starts.
    pub(crate) column: usize,
    pub(crate) kind: ErrorKind,
    /// The template's separator, for the message.
    pub(crate) separator: char,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Empty,
    /// Two placeholders in one segment; `hint` is a separator the segment
    /// holds that the declaration may have meant.
    TwoPlaceholders {
        hint: Option<char>,
    },
    /// `:` in a template with another separator.
    Colon,
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
    PlaceholderName(String),
}

/// The problem, without the template itself (the caller shows it): "invalid
/// key template `user::{id}`: " comes before it.
impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LITERALS: &str = "literals use ASCII letters, digits and `_ - . / = @ + , ~ | #` (but not the separator)";
        let col = self.column;
        let sep = self.separator;
        match &self.kind {
            ErrorKind::Empty => {
                f.write_str("it is empty; write segments separated by `:`, e.g. `user:{id}`")
            }
            ErrorKind::LeadingSeparator => write!(
                f,
                "it starts with `{sep}` (column {col}); remove it, the namespace prefix is added at run time"
            ),
            ErrorKind::TrailingSeparator => write!(
                f,
                "it ends with `{sep}` (column {col}); remove the trailing separator"
            ),
            ErrorKind::DoubleSeparator => write!(
                f,
                "empty segment (`{sep}{sep}` at column {col}); separate segments with a single `{sep}`"
            ),
            ErrorKind::Colon => write!(
                f,
                "`:` at column {col} in a template whose separator is `{sep}`; `:` only separates segments (it is escaped in every key part), so a key of this layout cannot hold one"
            ),
            ErrorKind::TwoPlaceholders { hint } => {
                write!(
                    f,
                    "a second placeholder in one segment at column {col}; a segment holds at most one placeholder, with literal text around it if needed (`room={{room}}`), so that every key parses back into its parts; separate placeholders with `{sep}`"
                )?;
                match hint {
                    Some(other) => write!(
                        f,
                        ", or, if `{other}` separates this key's segments, declare `separator = \"{other}\"`"
                    ),
                    None => Ok(()),
                }
            }
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
            ErrorKind::PlaceholderName(name) => write!(
                f,
                "`{{{name}}}` at column {col} is not a field name; a placeholder names a field of the struct, e.g. `{{id}}`"
            ),
        }
    }
}

/// Whether `c` may appear in literal text of a template separated by `separator`.
pub(crate) fn is_literal_char(c: char, separator: char) -> bool {
    c != separator
        && (c.is_ascii_alphanumeric()
            || matches!(
                c,
                '_' | '-' | '.' | '/' | '=' | '@' | '+' | ',' | '~' | '|' | '#'
            ))
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

/// Parses a key template whose segments are separated by `separator`,
/// reporting every problem found (at most one per segment for structural
/// problems, so the list stays readable).
pub(crate) fn parse(source: &str, separator: char) -> Result<Template, Vec<TemplateError>> {
    let error = |column, kind| TemplateError {
        column,
        kind,
        separator,
    };
    if source.is_empty() {
        return Err(vec![error(1, ErrorKind::Empty)]);
    }
    let chars: Vec<char> = source.chars().collect();
    let mut errors = Vec::new();
    let mut segments = Vec::new();

    // Split on the separator while tracking each segment's starting column.
    let mut start = 0;
    let mut pieces = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c == separator {
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
            errors.push(error(column, kind));
            continue;
        }
        match parse_segment(&chars[from..to], from, separator) {
            Ok(segment) => segments.push(segment),
            Err(err) => errors.push(err),
        }
    }
    if errors.is_empty() {
        Ok(Template {
            separator,
            segments,
        })
    } else {
        Err(errors)
    }
}

/// Parses one non-empty segment starting at character index `offset`.
fn parse_segment(chars: &[char], offset: usize, separator: char) -> Result<Segment, TemplateError> {
    let err = |i: usize, kind| TemplateError {
        column: offset + i + 1,
        kind,
        separator,
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
    let Some(open) = chars.iter().position(|c| *c == '{') else {
        if let Some(close) = chars.iter().position(|c| *c == '}') {
            return Err(err(close, ErrorKind::UnopenedBrace));
        }
        literal(chars, 0, separator).map_err(|(i, kind)| err(i, kind))?;
        return Ok(Segment::Literal(chars.iter().collect()));
    };
    let Some(len) = chars[open + 1..].iter().position(|c| *c == '}') else {
        return Err(err(open, ErrorKind::UnclosedBrace));
    };
    let close = open + 1 + len;
    if let Some(c) = chars[..open].iter().position(|c| *c == '}') {
        return Err(err(c, ErrorKind::UnopenedBrace));
    }
    if let Some(nested) = chars[open + 1..close].iter().position(|ch| *ch == '{') {
        return Err(err(open + 1 + nested, ErrorKind::NestedBrace));
    }
    if let Some(extra) = chars[close + 1..]
        .iter()
        .position(|ch| *ch == '{' || *ch == '}')
    {
        let at = close + 1 + extra;
        let kind = if chars[at] == '}' {
            ErrorKind::UnopenedBrace
        } else {
            // Was another separator meant? The first one the segment holds.
            let hint = chars
                .iter()
                .copied()
                .find(|c| SEPARATORS.contains(c) && *c != separator);
            ErrorKind::TwoPlaceholders { hint }
        };
        return Err(err(at, kind));
    }
    let prefix = literal(&chars[..open], 0, separator).map_err(|(i, kind)| err(i, kind))?;
    let suffix =
        literal(&chars[close + 1..], close + 1, separator).map_err(|(i, kind)| err(i, kind))?;
    let name: String = chars[open + 1..close].iter().collect();
    if name.is_empty() {
        return Err(err(open, ErrorKind::EmptyPlaceholder));
    }
    if !is_identifier(&name) {
        return Err(err(open, ErrorKind::PlaceholderName(name)));
    }
    // `{r#type}` names the field `r#type`, whose name is `type`.
    let name = match name.strip_prefix("r#") {
        Some(bare) => bare.to_owned(),
        None => name,
    };
    Ok(Segment::Placeholder(name, Affixes { prefix, suffix }))
}

/// Literal text (possibly empty, around a placeholder) starting at index
/// `at` of its segment, or the index and kind of its first bad character.
fn literal(chars: &[char], at: usize, separator: char) -> Result<String, (usize, ErrorKind)> {
    match chars.iter().position(|c| !is_literal_char(*c, separator)) {
        Some(i) if chars[i] == ':' => Err((at + i, ErrorKind::Colon)),
        Some(i) => Err((at + i, ErrorKind::LiteralChar(chars[i]))),
        None => Ok(chars.iter().collect()),
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
        kinds_with(source, ':')
    }

    fn kinds_with(source: &str, separator: char) -> Vec<(usize, ErrorKind)> {
        parse(source, separator)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.column, e.kind))
            .collect()
    }

    fn placeholder(name: &str, prefix: &str, suffix: &str) -> Segment {
        Segment::Placeholder(
            name.into(),
            Affixes {
                prefix: prefix.into(),
                suffix: suffix.into(),
            },
        )
    }

    #[test]
    fn parses_literals_and_placeholders() {
        let t = parse("tenant:{tenant}:user:{id}", ':').unwrap();
        assert_eq!(
            t.segments,
            vec![
                Segment::Literal("tenant".into()),
                placeholder("tenant", "", ""),
                Segment::Literal("user".into()),
                placeholder("id", "", ""),
            ]
        );
        assert_eq!(t.placeholders().collect::<Vec<_>>(), ["tenant", "id"]);
        assert_eq!(
            parse("v1.cache-entry:{r#type}", ':').unwrap().segments,
            parse("v1.cache-entry:{type}", ':').unwrap().segments
        );
        assert!(parse("config", ':').is_ok());
    }

    #[test]
    fn parses_literal_text_around_a_placeholder() {
        let t = parse("k3k-signaling:room={room}:polls:config", ':').unwrap();
        assert_eq!(t.segments[1], placeholder("room", "room=", ""));
        let t = parse("blob:{id}.json", ':').unwrap();
        assert_eq!(t.segments[1], placeholder("id", "", ".json"));
        let t = parse("msgbus.{cmd}", ':').unwrap();
        assert_eq!(t.segments, vec![placeholder("cmd", "msgbus.", "")]);
        let t = parse("v{version}-{id}", '/');
        assert!(t.is_err(), "two placeholders in one segment");
    }

    #[test]
    fn parses_other_separators() {
        let t = parse("game/{id}/state", '/').unwrap();
        assert_eq!(t.separator, '/');
        assert_eq!(
            t.segments,
            vec![
                Segment::Literal("game".into()),
                placeholder("id", "", ""),
                Segment::Literal("state".into()),
            ]
        );
        let t = parse("msgbus.{cmd}.reply", '.').unwrap();
        assert_eq!(t.segments.len(), 3);
        // `.` is literal text in a `/` template, `/` in a `.` one.
        assert!(parse("v1.2/{id}", '/').is_ok());
        assert!(parse("a/b.{id}", '.').is_ok());
        assert_eq!(kinds_with("game/{id}:x", '/'), vec![(10, ErrorKind::Colon)]);
        assert_eq!(
            kinds_with("game//{id}", '/'),
            vec![(5, ErrorKind::DoubleSeparator)]
        );
        let msg = parse("game//{id}", '/').unwrap_err()[0].to_string();
        assert!(msg.contains("`//`"), "{msg}");
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
        assert_eq!(kinds("user%x:{id}"), vec![(5, ErrorKind::LiteralChar('%'))]);
        assert_eq!(kinds("café:{id}"), vec![(4, ErrorKind::LiteralChar('é'))]);
        assert_eq!(kinds("r\"{id}"), vec![(2, ErrorKind::LiteralChar('"'))]);
        assert_eq!(kinds("x:{id}\\y"), vec![(7, ErrorKind::LiteralChar('\\'))]);
    }

    #[test]
    fn reports_brace_problems() {
        assert_eq!(kinds("user:{id"), vec![(6, ErrorKind::UnclosedBrace)]);
        assert_eq!(kinds("user:id}"), vec![(8, ErrorKind::UnopenedBrace)]);
        assert_eq!(kinds("user:}id{"), vec![(9, ErrorKind::UnclosedBrace)]);
        assert_eq!(kinds("user:}{id}"), vec![(6, ErrorKind::UnopenedBrace)]);
        assert_eq!(kinds("user:{{id}}"), vec![(7, ErrorKind::NestedBrace)]);
        assert_eq!(kinds("user:{}"), vec![(6, ErrorKind::EmptyPlaceholder)]);
        assert_eq!(
            kinds("{a}{b}"),
            vec![(4, ErrorKind::TwoPlaceholders { hint: None })]
        );
        assert_eq!(
            kinds("game/{a}/{b}"),
            vec![(10, ErrorKind::TwoPlaceholders { hint: Some('/') })]
        );
        assert_eq!(
            kinds("user:{1d}"),
            vec![(6, ErrorKind::PlaceholderName("1d".into()))]
        );
    }

    #[test]
    fn guesses_placeholders_of_broken_templates() {
        assert_eq!(guess_placeholders("user-{id"), Vec::<&str>::new());
        assert_eq!(guess_placeholders("t:{tenant}::u:{{id}}"), ["tenant", "id"]);
        assert_eq!(guess_placeholders("user:{id"), Vec::<&str>::new());
        assert_eq!(guess_placeholders("{a b}:{}"), Vec::<&str>::new());
    }

    #[test]
    fn messages_say_how_to_fix() {
        let msg = parse("game/{id}/{player}", ':').unwrap_err()[0].to_string();
        assert!(msg.contains("at most one placeholder"), "{msg}");
        assert!(msg.contains("separator = \"/\""), "{msg}");
    }
}
