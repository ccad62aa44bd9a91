//! Cross-cutting checks: rules that relate attributes to each other and to the
//! fields. Each rule is one function that reports to the [`Ctxt`]; all of them
//! run, so every problem is reported in one compile.

use proc_macro2::TokenStream;
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
    /// The version field, unique constraints and indexes, if any.
    pub(crate) coordination: Option<Coordination>,
    /// `client_cache`, if declared.
    pub(crate) client_cache: Option<ClientCache>,
}

/// What `#[redis(version)]`, `#[redis(unique)]` and `#[redis(index)]` declared.
pub(crate) struct Coordination {
    /// The version field's index.
    pub(crate) version: Option<usize>,
    /// Each constrained field's index and kind, in declaration order.
    pub(crate) constraints: Vec<(usize, ConstraintKind)>,
    /// How many template segments the constraint keys share with the
    /// entity's: those up to and including the hash tag.
    pub(crate) scope_segments: usize,
    /// The index of the hash tag's field.
    pub(crate) tag_field: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstraintKind {
    Unique,
    Index,
    Range,
}

impl ConstraintKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::Index => "index",
            ConstraintKind::Range => "range",
        }
    }
}

const INTEGERS: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];
const FLOATS: &[&str] = &["f32", "f64"];

/// The name of a primitive type as written (`u64`, `core::primitive::u64`).
fn primitive(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if !last.arguments.is_none() {
        return None;
    }
    let name = last.ident.to_string();
    (INTEGERS.contains(&name.as_str()) || FLOATS.contains(&name.as_str())).then_some(name)
}

pub(crate) fn check(cx: &Ctxt, cont: &Container<'_>) -> Option<Checked> {
    check_generics(cx, cont);
    check_field_attrs(cx, cont);
    let ttl_millis = check_ttl(cx, cont);
    let (key_source, template) = check_key(cx, cont)?;
    let placeholder_fields = check_placeholders(cx, cont, &template);
    let hash_tag = check_hash_tag(cx, cont, &template);
    check_always_stored(cx, cont, &template);
    if let Some(placeholders) = &placeholder_fields {
        check_raw(cx, cont, placeholders);
    }
    let coordination = check_coordination(cx, cont, &template, hash_tag.as_deref());
    let client_cache = check_client_cache(cx, cont);
    Some(Checked {
        key_source,
        template,
        placeholder_fields: placeholder_fields?,
        hash_tag,
        ttl_millis,
        coordination,
        client_cache,
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
    let separator = crate::key_tokens::separator(cx, cont.attrs.separator.as_ref())?;
    match key_template::parse(&source, separator) {
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
    let hash = cont.attrs.encoding() == Encoding::Hash;
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

/// A checked `client_cache`: the local TTL bound in milliseconds, the
/// most entries and the most bytes.
pub(crate) struct ClientCache {
    pub(crate) ttl_millis: u64,
    pub(crate) max_entries: u64,
    pub(crate) max_bytes: u64,
}

/// `client_cache`'s bounds are a positive duration and positive integers
/// (the runtime's defaults where not given).
fn check_client_cache(cx: &Ctxt, cont: &Container<'_>) -> Option<ClientCache> {
    let attr = cont.attrs.client_cache.as_ref()?;
    Some(check_client_cache_bounds(cx, attr))
}

/// A parsed `client_cache`'s bounds, checked (models and collections).
pub(crate) fn check_client_cache_bounds(cx: &Ctxt, attr: &crate::attr::ClientCache) -> ClientCache {
    let mut checked = ClientCache {
        ttl_millis: 300_000,
        max_entries: 10_000,
        max_bytes: 64 << 20,
    };
    if let Some(lit) = &attr.ttl {
        match duration::parse_millis(&lit.value()) {
            Ok(ms) => checked.ttl_millis = ms,
            Err(err) => cx.error_spanned_by(lit, err),
        }
    }
    for (lit, slot, name) in [
        (&attr.max_entries, &mut checked.max_entries, "max_entries"),
        (&attr.max_bytes, &mut checked.max_bytes, "max_bytes"),
    ] {
        if let Some(lit) = lit {
            match lit.base10_parse::<u64>() {
                Ok(n) if n > 0 && usize::try_from(n).is_ok() => *slot = n,
                _ => cx.error_spanned_by(
                    lit,
                    format!("`{name}` must be a positive integer, e.g. `{name} = 10_000`"),
                ),
            }
        }
    }
    checked
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
    if matches!(encoding, Encoding::Codec | Encoding::Raw) {
        check_codec_encoded(cx, cont, encoding);
        return;
    }
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

/// With `codec = ...` the codec encodes the whole struct (`codec = raw`: the
/// one value field), so `encoding` contradicts it and the hash-only
/// attributes have no effect: each is rejected rather than ignored.
fn check_codec_encoded(cx: &Ctxt, cont: &Container<'_>, encoding: Encoding) {
    let codec = encoding.attr();
    let what = if encoding == Encoding::Raw {
        "the value field is stored byte for byte"
    } else {
        "the codec encodes the whole struct"
    };
    if let Some((tokens, enc)) = &cont.attrs.encoding {
        cx.error_spanned_by(
            tokens,
            format!(
                "`{}` and `{codec}` both choose how the value is stored; `codec` stores one Redis string by the codec, so remove `encoding`",
                enc.attr()
            ),
        );
    }
    if let Some(deny) = &cont.attrs.deny_unknown_fields {
        cx.error_spanned_by(
            deny,
            format!(
                "`deny_unknown_fields` applies to hash models; with `{codec}` {what}, so remove it"
            ),
        );
    }
    for field in &cont.fields {
        let attrs = &field.attrs;
        for (tokens, name) in [
            (attrs.json.clone(), "json"),
            (
                attrs.rename.as_ref().map(ToTokens::to_token_stream),
                "rename",
            ),
            (attrs.skip.clone(), "skip"),
            (attrs.default.clone(), "default"),
        ] {
            if let Some(tokens) = tokens {
                cx.error_spanned_by(
                    tokens,
                    format!(
                        "`#[redis({name})]` applies to hash models; with `{codec}` {what}, so remove it"
                    ),
                );
            }
        }
    }
}

/// A `codec = raw` model stores exactly one field besides its key fields.
fn check_raw(cx: &Ctxt, cont: &Container<'_>, placeholders: &[usize]) {
    if cont.attrs.encoding() != Encoding::Raw {
        return;
    }
    let values: Vec<String> = cont
        .fields
        .iter()
        .enumerate()
        .filter(|(i, _)| !placeholders.contains(i))
        .map(|(_, f)| f.name().to_string())
        .collect();
    if values.len() == 1 {
        return;
    }
    let tokens = cont
        .attrs
        .codec
        .as_ref()
        .map_or_else(|| cont.ident.to_token_stream(), |(t, _)| t.clone());
    let found = if values.is_empty() {
        "it has none".to_owned()
    } else {
        format!("it has {} ({})", values.len(), list(&values))
    };
    cx.error_spanned_by(
        tokens,
        format!(
            "`codec = raw` stores one value field (a `String` or `Vec<u8>`) besides the key fields, and {found}; \
             use a custom `codec = ...` or `encoding = \"json\"` for several fields"
        ),
    );
}

/// With `encoding = "json"` or `"msgpack"` serde encodes the whole struct, so
/// the hash-only attributes have no effect and are rejected rather than ignored.
fn check_serde_encoded(cx: &Ctxt, cont: &Container<'_>, encoding: Encoding) {
    let enc = encoding.attr();
    if let Some(deny) = &cont.attrs.deny_unknown_fields {
        cx.error_spanned_by(
            deny,
            format!(
                "`deny_unknown_fields` applies to hash models; with `{enc}` serde decodes the struct, so use `#[serde(deny_unknown_fields)]`"
            ),
        );
    }
    for field in &cont.fields {
        let attrs = &field.attrs;
        if let Some(json) = &attrs.json {
            cx.error_spanned_by(
                json,
                format!(
                    "`#[redis(json)]` applies to hash models; with `{enc}` the whole struct is already serialized, so remove it"
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
                        "`#[redis({name})]` applies to hash models; with `{enc}` serde encodes the struct, so use `{serde}`"
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

/// `version`, `unique` and `index`: on stored value fields of a hash model
/// with a hash tag that scopes them, each on a type it can work with.
fn check_coordination(
    cx: &Ctxt,
    cont: &Container<'_>,
    template: &Template,
    hash_tag: Option<&str>,
) -> Option<Coordination> {
    let declared: Vec<(usize, TokenStream, &str)> = cont
        .fields
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            let a = &f.attrs;
            [
                a.version.clone().map(|t| (i, t, "version")),
                a.unique.clone().map(|t| (i, t, "unique")),
                a.index
                    .clone()
                    .map(|(t, range)| (i, t, if range { "index(range)" } else { "index" })),
            ]
        })
        .flatten()
        .collect();
    if declared.is_empty() {
        return None;
    }
    let encoding = cont.attrs.encoding();
    if encoding != Encoding::Hash {
        for (_, tokens, name) in &declared {
            cx.error_spanned_by(
                tokens,
                format!(
                    "`#[redis({name})]` needs a hash model: the scripts that keep versions, unique values and indexes exact read and write single fields, which `{}` does not store; remove `{}`",
                    encoding.attr(),
                    if matches!(encoding, Encoding::Codec | Encoding::Raw) { "codec" } else { "encoding" }
                ),
            );
        }
        return None;
    }
    let mut ok = true;
    let mut version = None;
    let mut constraints = Vec::new();
    for (i, tokens, name) in &declared {
        let field = &cont.fields[*i];
        let fname = field.name();
        if template.placeholders().any(|p| p == fname) {
            cx.error_spanned_by(
                tokens,
                format!("field `{fname}` is part of the key, so it cannot be `#[redis({name})]`: the key already identifies the entity"),
            );
            ok = false;
            continue;
        }
        if field.attrs.skip.is_some() || field.attrs.json.is_some() {
            let what = if field.attrs.skip.is_some() {
                "skip"
            } else {
                "json"
            };
            cx.error_spanned_by(
                tokens,
                format!("`#[redis({name})]` does not apply to a `#[redis({what})]` field: it needs the field stored as its own hash value; remove one of them"),
            );
            ok = false;
            continue;
        }
        let value_ty = field.option_inner.unwrap_or(field.ty);
        let ty_name = crate::ast::type_name(field.ty);
        let prim = primitive(value_ty);
        match *name {
            "version" => {
                if version.is_some() {
                    cx.error_spanned_by(
                        tokens,
                        "a model has at most one `#[redis(version)]` field; remove this one",
                    );
                    ok = false;
                    continue;
                }
                if field.option_inner.is_some() || prim.as_deref() != Some("u64") {
                    cx.error_spanned_by(
                        field.ty,
                        format!("a `#[redis(version)]` field must be a `u64` (a new entity's version is the server's clock in microseconds, and every write adds one), found `{ty_name}`"),
                    );
                    ok = false;
                    continue;
                }
                if field.attrs.unique.is_some() || field.attrs.index.is_some() {
                    cx.error_spanned_by(
                        tokens,
                        "the version field changes with every write, so it cannot also be `unique` or `index`",
                    );
                    ok = false;
                    continue;
                }
                version = Some(*i);
            }
            _ => {
                let kind = match *name {
                    "unique" => ConstraintKind::Unique,
                    "index" => ConstraintKind::Index,
                    _ => ConstraintKind::Range,
                };
                if kind != ConstraintKind::Unique && field.attrs.unique.is_some() {
                    cx.error_spanned_by(
                        tokens,
                        format!("field `{fname}` is `unique`, which already finds entities by it; remove `{name}`"),
                    );
                    ok = false;
                    continue;
                }
                let is_float = prim.as_deref().is_some_and(|p| FLOATS.contains(&p));
                if kind == ConstraintKind::Range && prim.is_none() {
                    cx.error_spanned_by(
                        field.ty,
                        format!("`#[redis(index(range))]` orders entities by a number, and `{ty_name}` is not a numeric type (an integer or a float); use `#[redis(index)]` to find by equal values"),
                    );
                    ok = false;
                    continue;
                }
                if kind != ConstraintKind::Range && is_float {
                    cx.error_spanned_by(
                        field.ty,
                        format!("`#[redis({name})]` compares stored values for equality, and floats (`{ty_name}`) cannot be index values: `0.0` and `-0.0`, or a value and its rounding, are equal numbers stored differently; use `#[redis(index(range))]`"),
                    );
                    ok = false;
                    continue;
                }
                let stored = field.stored_as();
                if !stored
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    cx.error_spanned_by(
                        tokens,
                        format!("the stored name `{stored}` of a `{name}` field names its key (letters, digits, `_`, `-` and `.` only); rename it"),
                    );
                    ok = false;
                    continue;
                }
                constraints.push((*i, kind));
            }
        }
    }
    let mut scope_segments = 0;
    let mut tag_field = 0;
    if let Some((_, tokens, name)) = declared.iter().find(|(_, _, n)| *n != "version") {
        let Some(tag) = hash_tag else {
            cx.error_spanned_by(
                tokens,
                format!("`#[redis({name})]` needs a `hash_tag`: unique values and indexes are kept per value of the tagged placeholder (an org, a tenant), in keys of its hash slot, so every write is one script on one slot; add e.g. `hash_tag = \"org\"` naming the placeholder that groups the entities"),
            );
            return None;
        };
        if template.separator != ':' {
            cx.error_spanned_by(
                tokens,
                format!("`#[redis({name})]` keeps its index and unique keys next to the model's, `:`-separated; it needs the default separator, so remove `separator` or keep the index in a model of its own"),
            );
            return None;
        }
        let position = template
            .segments
            .iter()
            .position(|s| matches!(s, Segment::Placeholder(p, _) if p == tag))?;
        if template.segments[..position]
            .iter()
            .any(|s| matches!(s, Segment::Placeholder(..)))
        {
            cx.error_spanned_by(
                tokens,
                format!("`#[redis({name})]` keeps its keys per value of the hash tag `{tag}`, so no placeholder may come before it in the key template; move `{{{tag}}}` first"),
            );
            return None;
        }
        if template.segments.len() == position + 2
            && matches!(template.segments[position + 1], Segment::Placeholder(..))
        {
            cx.error_spanned_by(
                tokens,
                format!("the index keys of this model (the template up to `{{{tag}}}`, then one literal) would have the shape of its own keys; add a literal after `{{{tag}}}`, e.g. `...:{{{tag}}}:{}:{{...}}`", cont.ident.to_string().to_lowercase()),
            );
            return None;
        }
        scope_segments = position + 1;
        tag_field = cont.fields.iter().position(|f| f.name() == tag)?;
    }
    ok.then_some(Coordination {
        version,
        constraints,
        scope_segments,
        tag_field,
    })
}
