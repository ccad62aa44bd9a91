//! Cross-cutting checks: rules that relate attributes to each other and to the
//! fields. Each rule is one function that reports to the [`Ctxt`]; all of them
//! run, so every problem is reported in one compile.

use quote::ToTokens;

use crate::ast::Container;
use crate::attr::Encoding;
use crate::ctxt::Ctxt;
use crate::duration;
use crate::key_template::{self, Segment, Template};
use crate::suggest::{closest, list, one_of};

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
    check_always_stored(cx, cont, &template);
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
        if cont.attrs.key_written {
            // Its bad value was reported where it was parsed.
            return None;
        }
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
            // Escaped, so a control character in the template shows as `\u{1}`.
            let shown = match source.as_str() {
                "" => String::new(),
                _ => format!(" `{}`", source.escape_debug()),
            };
            for err in errors {
                cx.error_spanned_by(lit, format!("invalid key template{shown}: {err}"));
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
                    "placeholder `{{{name}}}` appears more than once in the key template; each field may be named once, so remove the repeat"
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
                    "field `{name}` is named by the key template, so it cannot be `#[redis(skip)]`: every key part is stored; remove `skip`"
                ),
            );
            ok = false;
        }
        if let Some(json) = &field.attrs.json {
            cx.error_spanned_by(
                json,
                format!(
                    "field `{name}` is named by the key template and stored as a key part, so it cannot be `#[redis(json)]`; remove `json` (implement `redis_runtime::KeyPart` for its type instead)"
                ),
            );
            ok = false;
        }
        if let Some(inner) = field.option_inner {
            let inner = crate::ast::type_name(inner);
            cx.error_spanned_by(
                field.ty,
                format!(
                    "field `{name}` is named by the key template, so it cannot be an `Option`: every key needs a value for each placeholder; declare it as `{inner}`"
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
    let written = lit.value();
    let name = written.strip_prefix("r#").unwrap_or(&written).to_owned();
    if template.placeholders().any(|p| p == name) {
        return Some(name);
    }
    let placeholders: Vec<String> = template.placeholders().map(str::to_owned).collect();
    let hint = if placeholders.is_empty() {
        "; the template has no placeholders to tag, so remove `hash_tag`".to_owned()
    } else if let Some(best) = closest(&name, &placeholders) {
        format!("; did you mean `{best}`?")
    } else {
        format!("; expected {}", one_of(&placeholders))
    };
    cx.error_spanned_by(
        lit,
        format!("hash_tag `{name}` is not a placeholder of the key template{hint}"),
    );
    None
}

/// Redis has no empty hash, so a hash model needs a field that is always
/// stored: a placeholder field (those are stored too) or a field that is not
/// an `Option`. Otherwise saving an instance whose fields are all `None` could
/// only fail.
fn check_always_stored(cx: &Ctxt, cont: &Container<'_>, template: &Template) {
    let hash = matches!(cont.attrs.encoding, None | Some((_, Encoding::Hash)));
    let always_stored = template.placeholders().next().is_some()
        || cont
            .fields
            .iter()
            .any(|f| f.attrs.skip.is_none() && f.option_inner.is_none());
    if hash && !always_stored {
        let span: &dyn ToTokens = match &cont.attrs.key {
            Some(lit) => lit,
            None => cont.ident,
        };
        cx.error_spanned_by(
            span,
            "this hash model has no field that is always stored: Redis cannot keep an empty hash, \
             so saving it with every `Option` field `None` would fail; \
             make one field non-`Option`, or use `encoding = \"json\"`",
        );
    }
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
    if encoding != Encoding::Hash {
        check_serde_encoded(cx, cont, encoding);
        return;
    }
    for field in &cont.fields {
        let attrs = &field.attrs;
        if attrs.skip.is_some() {
            // A skipped field is not stored, so attributes about storage are
            // contradictions, each reported where it is written.
            for (tokens, name) in [
                (
                    attrs.rename.as_ref().map(ToTokens::to_token_stream),
                    "rename",
                ),
                (attrs.json.clone(), "json"),
                (attrs.default.clone(), "default"),
            ] {
                if let Some(tokens) = tokens {
                    cx.error_spanned_by(
                        tokens,
                        format!(
                            "`{name}` does not apply to a `#[redis(skip)]` field, which is not stored; remove `{name}` or `skip`"
                        ),
                    );
                }
            }
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

/// With `encoding = "json"` or `"msgpack"` serde encodes the whole struct, so
/// the hash-only attributes have no effect and are rejected rather than ignored.
fn check_serde_encoded(cx: &Ctxt, cont: &Container<'_>, encoding: Encoding) {
    let enc = encoding.as_str();
    if let Some(deny) = &cont.attrs.deny_unknown_fields {
        cx.error_spanned_by(
            deny,
            format!(
                "`deny_unknown_fields` applies to hash models; with `encoding = \"{enc}\"` serde decodes the struct, so use `#[serde(deny_unknown_fields)]`"
            ),
        );
    }
    for field in &cont.fields {
        let attrs = &field.attrs;
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
                attrs.rename.as_ref().map(ToTokens::to_token_stream),
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
    }
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
            let span = field
                .attrs
                .rename
                .as_ref()
                .map_or_else(|| field.ident.to_token_stream(), ToTokens::to_token_stream);
            cx.error_spanned_by(
                span,
                format!(
                    "fields `{}` and `{}` are both stored as hash field `{name}`; give one of them a distinct `#[redis(rename = \"...\")]`",
                    first.name(),
                    field.name()
                ),
            );
        }
    }
}

/// Whether the template's segment at `index` is the hash-tagged placeholder.
pub(crate) fn is_tagged(checked: &Checked, segment: &Segment) -> bool {
    matches!((segment, &checked.hash_tag), (Segment::Placeholder(p), Some(tag)) if p == tag)
}
