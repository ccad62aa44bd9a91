//! Cross-cutting checks: rules that relate attributes to each other and to the
//! fields. Each rule is one function that reports to the [`Ctxt`]; all of them
//! run, so every problem is reported in one compile.

use crate::ast::Container;
use crate::attr::Encoding;
use crate::ctxt::Ctxt;
use crate::duration;
use crate::key_template::{self, Segment, Template};

/// What the checks established, for expansion.
pub(crate) struct Checked {
    pub(crate) key_source: String,
    pub(crate) template: Template,
    /// The field index each placeholder names, in template order.
    pub(crate) placeholder_fields: Vec<usize>,
    pub(crate) hash_tag: Option<String>,
    pub(crate) ttl_millis: Option<u64>,
}

pub(crate) fn check(cx: &Ctxt, cont: &Container<'_>) -> Option<Checked> {
    check_generics(cx, cont);
    check_field_attrs(cx, cont);
    let ttl_millis = check_ttl(cx, cont);
    let (key_source, template) = check_key(cx, cont)?;
    let placeholder_fields = check_placeholders(cx, cont, &template);
    let hash_tag = check_hash_tag(cx, cont, &template);
    Some(Checked {
        key_source,
        template,
        placeholder_fields: placeholder_fields?,
        hash_tag,
        ttl_millis,
    })
}

/// Models are concrete types: their key template and field encoding are fixed at
/// compile time, so type and lifetime parameters are not supported.
fn check_generics(cx: &Ctxt, cont: &Container<'_>) {
    let generics = &cont.original.generics;
    if !generics.params.is_empty() {
        cx.error_spanned_by(
            generics,
            "RedisModel cannot be derived for generic structs; declare a concrete struct per stored type",
        );
    }
}

/// A model declares its key template with `key = "..."`, and the template parses.
fn check_key(cx: &Ctxt, cont: &Container<'_>) -> Option<(String, Template)> {
    let Some(lit) = &cont.attrs.key else {
        cx.error_spanned_by(
            cont.ident,
            "missing key template: add `#[redis(key = \"...\")]`, e.g. `#[redis(key = \"user:{id}\")]`",
        );
        return None;
    };
    let source = lit.value();
    match key_template::parse(&source) {
        Ok(template) => Some((source, template)),
        Err(errors) => {
            for err in errors {
                cx.error_spanned_by(lit, format!("invalid key template `{source}`: {err}"));
            }
            None
        }
    }
}

/// Each placeholder names a distinct field that is stored (not `skip`) and is
/// encoded as a key part (not `json`).
fn check_placeholders(cx: &Ctxt, cont: &Container<'_>, template: &Template) -> Option<Vec<usize>> {
    let lit = cont.attrs.key.as_ref()?;
    let mut indices = Vec::new();
    let mut ok = true;
    for (position, name) in template.placeholders().enumerate() {
        if template
            .placeholders()
            .take(position)
            .any(|earlier| earlier == name)
        {
            cx.error_spanned_by(
                lit,
                format!(
                    "placeholder `{{{name}}}` appears more than once in the key template; each field may be used once"
                ),
            );
            ok = false;
            continue;
        }
        let Some(index) = cont.fields.iter().position(|f| f.name() == name) else {
            let names: Vec<String> = cont.fields.iter().map(|f| f.name()).collect();
            let hint = match closest(name, &names) {
                Some(best) => format!("; did you mean `{best}`?"),
                None if names.is_empty() => String::new(),
                None => format!("; fields are {}", list(&names)),
            };
            cx.error_spanned_by(
                lit,
                format!(
                    "key placeholder `{{{name}}}` names no field of `{}`{hint}",
                    cont.ident
                ),
            );
            ok = false;
            continue;
        };
        let field = &cont.fields[index];
        if let Some(skip) = &field.attrs.skip {
            cx.error_spanned_by(
                skip,
                format!(
                    "field `{name}` is named by the key template, so it cannot be `#[redis(skip)]`"
                ),
            );
            ok = false;
        }
        if let Some(json) = &field.attrs.json {
            cx.error_spanned_by(
                json,
                format!(
                    "field `{name}` is named by the key template and stored as a key part, so it cannot be `#[redis(json)]`"
                ),
            );
            ok = false;
        }
        if field.option_inner.is_some() {
            cx.error_spanned_by(
                field.ty,
                format!(
                    "field `{name}` is named by the key template, so it cannot be an `Option`: every key needs a value"
                ),
            );
            ok = false;
        }
        indices.push(index);
    }
    ok.then_some(indices)
}

/// `hash_tag` names one of the template's placeholders.
fn check_hash_tag(cx: &Ctxt, cont: &Container<'_>, template: &Template) -> Option<String> {
    let lit = cont.attrs.hash_tag.as_ref()?;
    let name = lit.value();
    if template.placeholders().any(|p| p == name) {
        return Some(name);
    }
    let placeholders: Vec<String> = template.placeholders().map(str::to_owned).collect();
    let hint = if placeholders.is_empty() {
        "; the template has no placeholders to tag".to_owned()
    } else {
        format!("; expected one of {}", list(&placeholders))
    };
    cx.error_spanned_by(
        lit,
        format!("hash_tag `{name}` is not a placeholder of the key template{hint}"),
    );
    None
}

/// `ttl` is a positive duration literal.
fn check_ttl(cx: &Ctxt, cont: &Container<'_>) -> Option<u64> {
    let lit = cont.attrs.ttl.as_ref()?;
    match duration::parse_millis(&lit.value()) {
        Ok(ms) => Some(ms),
        Err(err) => {
            cx.error_spanned_by(lit, err);
            None
        }
    }
}

/// Field attributes shape the hash encoding only, and combine sensibly.
fn check_field_attrs(cx: &Ctxt, cont: &Container<'_>) {
    let encoding = cont.attrs.encoding();
    for field in &cont.fields {
        let attrs = &field.attrs;
        if encoding != Encoding::Hash {
            let enc = encoding.as_str();
            if let Some(json) = &attrs.json {
                cx.error_spanned_by(
                    json,
                    format!(
                        "`#[redis(json)]` applies to hash models; with `encoding = \"{enc}\"` the whole struct is already serialized, so remove it"
                    ),
                );
            }
            for (tokens, name, serde) in [
                (
                    attrs.rename.as_ref().map(quote::ToTokens::to_token_stream),
                    "rename",
                    "#[serde(rename = \"...\")]",
                ),
                (attrs.skip.clone(), "skip", "#[serde(skip)]"),
                (attrs.default.clone(), "default", "#[serde(default)]"),
            ] {
                if let Some(tokens) = tokens {
                    cx.error_spanned_by(
                        tokens,
                        format!(
                            "`#[redis({name})]` applies to hash models; with `encoding = \"{enc}\"` serde encodes the struct, so use `{serde}`"
                        ),
                    );
                }
            }
            continue;
        }
        if let (Some(skip), true) = (
            &attrs.skip,
            attrs.json.is_some() || attrs.rename.is_some() || attrs.default.is_some(),
        ) {
            cx.error_spanned_by(
                skip,
                "a `#[redis(skip)]` field is not stored, so `rename`, `json` and `default` do not apply to it",
            );
        }
        if let (Some(default), Some(_)) = (&attrs.default, field.option_inner) {
            cx.error_spanned_by(
                default,
                "`#[redis(default)]` is implied for `Option` fields (a missing field reads as `None`); remove it",
            );
        }
    }
    check_stored_names(cx, cont);
}

/// Two fields never share a stored hash field name.
fn check_stored_names(cx: &Ctxt, cont: &Container<'_>) {
    if cont.attrs.encoding() != Encoding::Hash {
        return;
    }
    let stored: Vec<_> = cont
        .fields
        .iter()
        .filter(|f| f.attrs.skip.is_none())
        .map(|f| (f, f.stored_as()))
        .collect();
    for (i, (field, name)) in stored.iter().enumerate() {
        if let Some((first, _)) = stored[..i].iter().find(|(_, n)| n == name) {
            cx.error_spanned_by(
                field.original,
                format!(
                    "fields `{}` and `{}` are both stored as hash field `{name}`; rename one",
                    first.name(),
                    field.name()
                ),
            );
        }
    }
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
fn closest<'n>(name: &str, candidates: &'n [String]) -> Option<&'n str> {
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Whether the template's segment at `index` is the hash-tagged placeholder.
pub(crate) fn is_tagged(checked: &Checked, segment: &Segment) -> bool {
    matches!((segment, &checked.hash_tag), (Segment::Placeholder(p), Some(tag)) if p == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = vec!["id".to_owned(), "tenant".to_owned(), "email".to_owned()];
        assert_eq!(closest("idd", &names), Some("id"));
        assert_eq!(closest("tennant", &names), Some("tenant"));
        assert_eq!(closest("zzzzzz", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
