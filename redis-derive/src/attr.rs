//! Parsing of `#[redis(...)]` attributes.
//!
//! Nothing here returns early: a bad attribute is reported to the [`Ctxt`] and
//! otherwise ignored, so the user sees every bad attribute in one compile.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{LitStr, Token};

use crate::ctxt::Ctxt;
use crate::symbol::*;

/// A slot for an attribute that may appear once; a second setting is reported
/// at the duplicate.
pub(crate) struct Attr<'c, T> {
    cx: &'c Ctxt,
    name: Symbol,
    tokens: TokenStream,
    value: Option<T>,
}

impl<'c, T> Attr<'c, T> {
    fn none(cx: &'c Ctxt, name: Symbol) -> Self {
        Attr {
            cx,
            name,
            tokens: TokenStream::new(),
            value: None,
        }
    }

    fn set<A: ToTokens>(&mut self, obj: A, value: T) {
        let tokens = obj.into_token_stream();
        if self.value.is_some() {
            self.cx
                .error_spanned_by(tokens, format!("duplicate redis attribute `{}`", self.name));
        } else {
            self.tokens = tokens;
            self.value = Some(value);
        }
    }

    fn get(self) -> Option<T> {
        self.value
    }

    fn get_with_tokens(self) -> Option<(TokenStream, T)> {
        self.value.map(|v| (self.tokens, v))
    }
}

/// `#[redis(encoding = "...")]`, or (`Codec`, `Raw`) `#[redis(codec = ...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Hash,
    Json,
    Msgpack,
    /// `codec = path::To::Codec`.
    Codec,
    /// `codec = raw`.
    Raw,
}

impl Encoding {
    /// The attribute that chose the encoding, as the user wrote it.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Encoding::Hash => "encoding = \"hash\"",
            Encoding::Json => "encoding = \"json\"",
            Encoding::Msgpack => "encoding = \"msgpack\"",
            Encoding::Codec => "codec = ...",
            Encoding::Raw => "codec = raw",
        }
    }
}

/// `#[redis(codec = ...)]`.
pub(crate) enum CodecAttr {
    /// `codec = raw`: the one value field, byte for byte.
    Raw,
    /// A type implementing `ValueCodec<Model>`.
    Path(syn::Path),
}

/// Container attributes.
pub(crate) struct Container {
    /// The key template literal.
    pub(crate) key: Option<LitStr>,
    /// Whether `key` was written at all, even with a bad value: a key that is
    /// there but wrong is reported once, not also as missing.
    pub(crate) key_written: bool,
    /// The encoding and the tokens that set it (for spans), if set.
    pub(crate) encoding: Option<(TokenStream, Encoding)>,
    /// `codec = ...` and the tokens that set it, if set.
    pub(crate) codec: Option<(TokenStream, CodecAttr)>,
    /// The TTL literal.
    pub(crate) ttl: Option<LitStr>,
    /// The hash tag placeholder.
    pub(crate) hash_tag: Option<LitStr>,
    /// `separator = "/"`: what separates the key template's segments.
    pub(crate) separator: Option<LitStr>,
    /// `deny_unknown_fields` and the tokens that set it.
    pub(crate) deny_unknown_fields: Option<TokenStream>,
    /// `crate = "..."`: the path the runtime is reachable at, for a user who
    /// renamed the dependency (default `::redis_runtime`).
    pub(crate) krate: Option<syn::Path>,
    /// `client_cache` or `client_cache(ttl = "...", max_entries = N, max_bytes = N)`.
    pub(crate) client_cache: Option<ClientCache>,
}

/// Parses `client_cache` or `client_cache(ttl = "...", max_entries = N,
/// max_bytes = N)` (models and collection declarations alike).
pub(crate) fn parse_client_cache(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<ClientCache> {
    let mut bounds = ClientCache::default();
    if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| {
            if inner.path == TTL {
                if let Some(s) = get_lit_str(cx, TTL, &inner)? {
                    set_once(cx, &mut bounds.ttl, &inner, s);
                }
            } else if inner.path == MAX_ENTRIES {
                if let Some(n) = get_lit_int(cx, MAX_ENTRIES, &inner)? {
                    set_once(cx, &mut bounds.max_entries, &inner, n);
                }
            } else if inner.path == MAX_BYTES {
                if let Some(n) = get_lit_int(cx, MAX_BYTES, &inner)? {
                    set_once(cx, &mut bounds.max_bytes, &inner, n);
                }
            } else {
                unknown(cx, &inner, "client_cache", &[TTL, MAX_ENTRIES, MAX_BYTES])?;
            }
            Ok(())
        })?;
    }
    Ok(bounds)
}

/// `client_cache(...)`: each bound, if given.
#[derive(Default)]
pub(crate) struct ClientCache {
    pub(crate) ttl: Option<LitStr>,
    pub(crate) max_entries: Option<syn::LitInt>,
    pub(crate) max_bytes: Option<syn::LitInt>,
}

impl Container {
    pub(crate) fn from_ast(cx: &Ctxt, item: &syn::DeriveInput) -> Self {
        let mut key = Attr::none(cx, KEY);
        let mut encoding = Attr::none(cx, ENCODING);
        let mut codec = Attr::none(cx, CODEC);
        let mut ttl = Attr::none(cx, TTL);
        let mut hash_tag = Attr::none(cx, HASH_TAG);
        let mut separator = Attr::none(cx, SEPARATOR);
        let mut deny_unknown_fields = Attr::none(cx, DENY_UNKNOWN_FIELDS);
        let mut krate = Attr::none(cx, CRATE);
        let mut client_cache = Attr::none(cx, CLIENT_CACHE);
        let mut key_written = false;

        for attr in &item.attrs {
            if attr.path() != &REDIS {
                continue;
            }
            if let syn::Meta::List(list) = &attr.meta
                && list.tokens.is_empty()
            {
                continue;
            }
            if let Err(err) = attr.parse_nested_meta(|meta| {
                if meta.path == KEY {
                    key_written = true;
                    if let Some(s) = get_lit_str(cx, KEY, &meta)? {
                        key.set(&meta.path, s);
                    }
                } else if meta.path == ENCODING {
                    if let Some(s) = get_lit_str(cx, ENCODING, &meta)? {
                        match s.value().as_str() {
                            "hash" => encoding.set(&s, Encoding::Hash),
                            "json" => encoding.set(&s, Encoding::Json),
                            "msgpack" => encoding.set(&s, Encoding::Msgpack),
                            other => cx.error_spanned_by(
                                &s,
                                format!(
                                    "unknown encoding `{other}`; expected `hash`, `json` or `msgpack`"
                                ),
                            ),
                        }
                    }
                } else if meta.path == CODEC {
                    if !meta.input.peek(Token![=]) {
                        cx.error_spanned_by(
                            &meta.path,
                            "expected `codec = path::To::Codec` (a type implementing `ValueCodec`) or `codec = raw`",
                        );
                    } else if meta.value()?.peek(LitStr) {
                        let s: LitStr = meta.input.parse()?;
                        cx.error_spanned_by(
                            &s,
                            format!(
                                "`codec` takes a path, not a string: `codec = {}`",
                                s.value()
                            ),
                        );
                    } else {
                        let path: syn::Path = meta.input.parse()?;
                        let tokens = path.to_token_stream();
                        if path.is_ident("raw") {
                            codec.set(tokens, CodecAttr::Raw);
                        } else {
                            codec.set(tokens, CodecAttr::Path(path));
                        }
                    }
                } else if meta.path == TTL {
                    if let Some(s) = get_lit_str(cx, TTL, &meta)? {
                        ttl.set(&meta.path, s);
                    }
                } else if meta.path == HASH_TAG {
                    if let Some(s) = get_lit_str(cx, HASH_TAG, &meta)? {
                        hash_tag.set(&meta.path, s);
                    }
                } else if meta.path == SEPARATOR {
                    if let Some(s) = get_lit_str(cx, SEPARATOR, &meta)? {
                        separator.set(&meta.path, s);
                    }
                } else if meta.path == DENY_UNKNOWN_FIELDS {
                    deny_unknown_fields.set(&meta.path, meta.path.to_token_stream());
                } else if meta.path == CLIENT_CACHE {
                    let bounds = parse_client_cache(cx, &meta)?;
                    client_cache.set(&meta.path, bounds);
                } else if meta.path == CRATE {
                    if let Some(s) = get_lit_str(cx, CRATE, &meta)? {
                        match s.parse::<syn::Path>() {
                            Ok(path) => krate.set(&meta.path, path),
                            Err(_) => cx.error_spanned_by(
                                &s,
                                format!(
                                    "`crate` must be a path to the runtime, e.g. `crate = \"my_redis\"`, got `{}`",
                                    s.value()
                                ),
                            ),
                        }
                    }
                } else {
                    unknown(
                        cx,
                        &meta,
                        "container",
                        &[
                            KEY,
                            ENCODING,
                            CODEC,
                            TTL,
                            HASH_TAG,
                            SEPARATOR,
                            DENY_UNKNOWN_FIELDS,
                            CRATE,
                            CLIENT_CACHE,
                        ],
                    )?;
                }
                Ok(())
            }) {
                cx.syn_error(err);
            }
        }

        Container {
            key: key.get(),
            key_written,
            encoding: encoding.get_with_tokens(),
            codec: codec.get_with_tokens(),
            ttl: ttl.get(),
            hash_tag: hash_tag.get(),
            separator: separator.get(),
            deny_unknown_fields: deny_unknown_fields.get(),
            krate: krate.get(),
            client_cache: client_cache.get(),
        }
    }

    /// The encoding: `codec` wins over `encoding` (the two together are
    /// reported by the checks).
    pub(crate) fn encoding(&self) -> Encoding {
        match &self.codec {
            Some((_, CodecAttr::Raw)) => Encoding::Raw,
            Some((_, CodecAttr::Path(_))) => Encoding::Codec,
            None => self.encoding.as_ref().map_or(Encoding::Hash, |(_, e)| *e),
        }
    }
}

/// Field attributes. Each flag keeps the tokens that set it, for spans.
pub(crate) struct Field {
    pub(crate) rename: Option<LitStr>,
    pub(crate) skip: Option<TokenStream>,
    pub(crate) json: Option<TokenStream>,
    pub(crate) default: Option<TokenStream>,
    /// `unique`: one entity per value within the hash tag.
    pub(crate) unique: Option<TokenStream>,
    /// `index` (`false`) or `index(range)` (`true`).
    pub(crate) index: Option<(TokenStream, bool)>,
    /// `version`: the compare-and-set version of the entity.
    pub(crate) version: Option<TokenStream>,
}

impl Field {
    pub(crate) fn from_ast(cx: &Ctxt, field: &syn::Field) -> Self {
        let mut rename = Attr::none(cx, RENAME);
        let mut skip = Attr::none(cx, SKIP);
        let mut json = Attr::none(cx, JSON);
        let mut default = Attr::none(cx, DEFAULT);
        let mut unique = Attr::none(cx, UNIQUE);
        let mut index = Attr::none(cx, INDEX);
        let mut version = Attr::none(cx, VERSION);

        for attr in &field.attrs {
            if attr.path() != &REDIS {
                continue;
            }
            if let Err(err) = attr.parse_nested_meta(|meta| {
                if meta.path == RENAME {
                    if let Some(s) = get_lit_str(cx, RENAME, &meta)? {
                        let value = s.value();
                        if value.is_empty() {
                            cx.error_spanned_by(
                                &s,
                                "`rename` needs a non-empty hash field name, e.g. `rename = \"mail\"`",
                            );
                        } else {
                            rename.set(&meta.path, s);
                        }
                    }
                } else if meta.path == SKIP {
                    skip.set(&meta.path, meta.path.to_token_stream());
                } else if meta.path == JSON {
                    json.set(&meta.path, meta.path.to_token_stream());
                } else if meta.path == DEFAULT {
                    default.set(&meta.path, meta.path.to_token_stream());
                } else if meta.path == UNIQUE {
                    unique.set(&meta.path, meta.path.to_token_stream());
                } else if meta.path == VERSION {
                    version.set(&meta.path, meta.path.to_token_stream());
                } else if meta.path == INDEX {
                    let mut range = false;
                    if meta.input.peek(syn::token::Paren) {
                        meta.parse_nested_meta(|inner| {
                            if inner.path == RANGE {
                                range = true;
                            } else {
                                let path = inner.path.to_token_stream().to_string().replace(' ', "");
                                cx.error_spanned_by(
                                    &inner.path,
                                    format!("unknown index kind `{path}`; expected `index` (equality) or `index(range)`"),
                                );
                            }
                            Ok(())
                        })?;
                    }
                    index.set(&meta.path, (meta.path.to_token_stream(), range));
                } else {
                    unknown(
                        cx,
                        &meta,
                        "field",
                        &[RENAME, SKIP, JSON, DEFAULT, UNIQUE, INDEX, VERSION],
                    )?;
                }
                Ok(())
            }) {
                cx.syn_error(err);
            }
        }

        Field {
            rename: rename.get(),
            skip: skip.get(),
            json: json.get(),
            default: default.get(),
            unique: unique.get(),
            index: index.get(),
            version: version.get(),
        }
    }
}

/// Reports an unknown attribute and skips its value, so the attributes after
/// it in the same list are still read (an unknown attribute before `key` must
/// not also make the key look missing).
fn unknown(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    kind: &str,
    expected: &[Symbol],
) -> syn::Result<()> {
    let path = meta.path.to_token_stream().to_string().replace(' ', "");
    let names: Vec<String> = expected.iter().map(|s| s.0.to_owned()).collect();
    let hint = match crate::suggest::closest(&path, &names) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("expected {}", crate::suggest::one_of(&names)),
    };
    cx.error_spanned_by(
        &meta.path,
        format!("unknown redis {kind} attribute `{path}`; {hint}"),
    );
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// Reads `name = "string"`, reporting a non-string value (and returning `None`).
fn get_lit_str(cx: &Ctxt, name: Symbol, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    let expr: syn::Expr = if meta.input.peek(Token![=]) {
        meta.value()?.parse()?
    } else {
        cx.error_spanned_by(
            &meta.path,
            format!("expected redis attribute `{name}` to have a value: `{name} = \"...\"`"),
        );
        return Ok(None);
    };
    let mut value = &expr;
    while let syn::Expr::Group(e) = value {
        value = &e.expr;
    }
    if let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(lit),
        ..
    }) = value
    {
        if !lit.suffix().is_empty() {
            cx.error_spanned_by(
                lit,
                format!("unexpected suffix `{}` on string literal", lit.suffix()),
            );
        }
        Ok(Some(lit.clone()))
    } else {
        cx.error_spanned_by(
            expr,
            format!("expected redis attribute `{name}` to be a string: `{name} = \"...\"`"),
        );
        Ok(None)
    }
}

/// Sets an attribute of a nested list once, reporting a duplicate.
fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, meta: &ParseNestedMeta<'_>, value: T) {
    if slot.is_some() {
        let path = meta.path.to_token_stream().to_string();
        cx.error_spanned_by(&meta.path, format!("duplicate redis attribute `{path}`"));
    } else {
        *slot = Some(value);
    }
}

/// Reads `name = 123`, reporting a value that is not an integer literal.
fn get_lit_int(
    cx: &Ctxt,
    name: Symbol,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<Option<syn::LitInt>> {
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("expected redis attribute `{name}` to have a value: `{name} = 10_000`"),
        );
        return Ok(None);
    }
    let expr: syn::Expr = meta.value()?.parse()?;
    let mut value = &expr;
    while let syn::Expr::Group(e) = value {
        value = &e.expr;
    }
    match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => Ok(Some(lit.clone())),
        _ => {
            cx.error_spanned_by(
                expr,
                format!("expected redis attribute `{name}` to be an integer: `{name} = 10_000`"),
            );
            Ok(None)
        }
    }
}
