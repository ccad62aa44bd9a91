//! `#[derive(RedisSet)]`, `#[derive(RedisSortedSet)]`,
//! `#[derive(RedisCounter)]`, `#[derive(RedisList)]`, `#[derive(RedisMap)]`,
//! and the leases and rate limits (`#[derive(RedisLock)]`,
//! `#[derive(RedisRateLimit)]`): declarations of one key per id. The
//! struct's fields are the key template's placeholders; the element types
//! are named in the container attribute (`member = T`, `score = S`), with
//! `json` for serde elements.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Token};

use crate::ctxt::Ctxt;
use crate::key_template::{self, Template};
use crate::suggest::{closest, list, one_of};

/// The collection kinds the derives declare.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollectionKind {
    Set,
    SortedSet,
    Counter,
    List,
    Map,
    Lock,
    RateLimit,
    Stream,
    Channel,
    Raw,
}

impl CollectionKind {
    fn derive_name(self) -> &'static str {
        match self {
            CollectionKind::Set => "RedisSet",
            CollectionKind::SortedSet => "RedisSortedSet",
            CollectionKind::Counter => "RedisCounter",
            CollectionKind::List => "RedisList",
            CollectionKind::Map => "RedisMap",
            CollectionKind::Lock => "RedisLock",
            CollectionKind::RateLimit => "RedisRateLimit",
            CollectionKind::Stream => "RedisStream",
            CollectionKind::Channel => "RedisChannel",
            CollectionKind::Raw => "RedisRaw",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            CollectionKind::Set => "set",
            CollectionKind::SortedSet => "sorted set",
            CollectionKind::Counter => "counter",
            CollectionKind::List => "list",
            CollectionKind::Map => "map",
            CollectionKind::Lock => "lease",
            CollectionKind::RateLimit => "rate limit",
            CollectionKind::Stream => "stream",
            CollectionKind::Channel => "channel",
            CollectionKind::Raw => "raw family",
        }
    }

    /// The element attributes the kind takes.
    fn elements(self) -> &'static [&'static str] {
        match self {
            CollectionKind::Set => &["member"],
            CollectionKind::SortedSet => &["member", "score"],
            CollectionKind::Counter
            | CollectionKind::Lock
            | CollectionKind::RateLimit
            | CollectionKind::Raw => &[],
            CollectionKind::List => &["item"],
            CollectionKind::Map => &["field", "value"],
            CollectionKind::Stream => &["event"],
            CollectionKind::Channel => &["message"],
        }
    }

    fn example(self) -> &'static str {
        match self {
            CollectionKind::Set => "#[redis(key = \"room:{room}:members\", member = UserId)]",
            CollectionKind::SortedSet => {
                "#[redis(key = \"game:{game}:scores\", member = PlayerId, score = f64)]"
            }
            CollectionKind::Counter => "#[redis(key = \"views:{page}\", ttl = \"1d\")]",
            CollectionKind::List => {
                "#[redis(key = \"room:{room}:history\", item = Line, cap = 500)]"
            }
            CollectionKind::Map => {
                "#[redis(key = \"room:{room}:read\", field = UserId, value = u64)]"
            }
            CollectionKind::Lock => {
                "#[redis(key = \"room:{room}:lock\", hash_tag = \"room\", ttl = \"30s\")]"
            }
            CollectionKind::RateLimit => {
                "#[redis(key = \"limit:login:{user}\", limit = 5, per = \"1m\", algorithm = \"gcra\")]"
            }
            CollectionKind::Stream => {
                "#[redis(key = \"room:{room}:events\", hash_tag = \"room\", event = RoomEvent, maxlen = \"~10000\")]"
            }
            CollectionKind::Channel => {
                "#[redis(channel = \"room:{room}:typing\", message = Typing)]"
            }
            CollectionKind::Raw => {
                "#[redis(key = \"legacy:queue:{name}\", redis_type = \"list\", commands = \"lpush brpop llen\")]"
            }
        }
    }
}

/// The container attribute of a collection declaration.
#[derive(Default)]
struct Attrs {
    key: Option<LitStr>,
    key_written: bool,
    hash_tag: Option<LitStr>,
    separator: Option<LitStr>,
    ttl: Option<LitStr>,
    krate: Option<syn::Path>,
    member: Option<syn::Type>,
    score: Option<syn::Type>,
    item: Option<syn::Type>,
    field: Option<syn::Type>,
    value: Option<syn::Type>,
    json: Option<syn::Path>,
    cap: Option<syn::LitInt>,
    queue: Option<syn::Path>,
    limit: Option<syn::LitInt>,
    limit_written: bool,
    /// An attribute was not recognised: requirements it may have meant to
    /// meet are not reported on top of it.
    unknown: bool,
    per: Option<LitStr>,
    algorithm: Option<LitStr>,
    burst: Option<syn::LitInt>,
    event: Option<syn::Type>,
    message: Option<syn::Type>,
    maxlen: Option<LitStr>,
    minid: Option<LitStr>,
    redis_type: Option<LitStr>,
    commands: Option<LitStr>,
    /// `client_cache` or `client_cache(ttl = "...", max_entries = N, max_bytes = N)`.
    client_cache: Option<crate::attr::ClientCache>,
}

const ATTRS: &[&str] = &[
    "key",
    "hash_tag",
    "separator",
    "ttl",
    "crate",
    "member",
    "score",
    "item",
    "field",
    "value",
    "json",
    "cap",
    "queue",
    "limit",
    "per",
    "algorithm",
    "burst",
    "event",
    "message",
    "maxlen",
    "minid",
    "channel",
    "redis_type",
    "commands",
    "client_cache",
];

/// The rate-limit algorithms, as `algorithm = "..."` names them.
const ALGORITHMS: &[&str] = &["fixed", "sliding", "gcra"];

fn parse_attrs(cx: &Ctxt, item: &syn::DeriveInput, kind: CollectionKind) -> Attrs {
    let mut attrs = Attrs::default();
    for attr in &item.attrs {
        if !attr.path().is_ident("redis") {
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            let duplicate = |cx: &Ctxt| {
                cx.error_spanned_by(&meta.path, format!("duplicate redis attribute `{name}`"));
            };
            match name.as_str() {
                "key" if kind == CollectionKind::Channel => {
                    attrs.key_written = true;
                    cx.error_spanned_by(
                        &meta.path,
                        "a channel declaration names its channel, not a key: write `channel = \"...\"`",
                    );
                    meta.value()?.parse::<syn::Expr>()?;
                }
                "channel" if kind != CollectionKind::Channel => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`channel` applies to pub/sub channels (`#[derive(RedisChannel)]`); a {} takes `key = \"...\"`", kind.noun()),
                    );
                    meta.value()?.parse::<syn::Expr>()?;
                }
                "ttl" if kind == CollectionKind::Channel => {
                    cx.error_spanned_by(
                        &meta.path,
                        "a channel holds nothing, so it has no TTL; remove `ttl`",
                    );
                    meta.value()?.parse::<syn::Expr>()?;
                }
                "redis_type" | "commands" if kind != CollectionKind::Raw => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`{name}` applies to raw families (`#[derive(RedisRaw)]`); remove it from this {}", kind.noun()),
                    );
                    meta.value()?.parse::<syn::Expr>()?;
                }
                "redis_type" | "commands" => {
                    let value: syn::Expr = meta.value()?.parse()?;
                    let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    }) = &value
                    else {
                        cx.error_spanned_by(
                            &value,
                            format!("expected redis attribute `{name}` to be a string: `{name} = \"...\"`"),
                        );
                        return Ok(());
                    };
                    let slot = if name == "redis_type" { &mut attrs.redis_type } else { &mut attrs.commands };
                    if slot.is_some() {
                        duplicate(cx);
                    } else {
                        *slot = Some(lit.clone());
                    }
                }
                "maxlen" | "minid" if kind != CollectionKind::Stream => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`{name}` applies to streams (`#[derive(RedisStream)]`); remove it from this {}", kind.noun()),
                    );
                    meta.value()?.parse::<syn::Expr>()?;
                }
                "maxlen" | "minid" => {
                    let value: syn::Expr = meta.value()?.parse()?;
                    let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    }) = &value
                    else {
                        cx.error_spanned_by(
                            &value,
                            format!("expected redis attribute `{name}` to be a string: `{name} = \"~10000\"`"),
                        );
                        return Ok(());
                    };
                    let slot = if name == "maxlen" { &mut attrs.maxlen } else { &mut attrs.minid };
                    if slot.is_some() {
                        duplicate(cx);
                    } else {
                        *slot = Some(lit.clone());
                    }
                }
                "key" | "channel" | "hash_tag" | "separator" | "ttl" | "crate" => {
                    if name == "key" || name == "channel" {
                        attrs.key_written = true;
                    }
                    let value: syn::Expr = meta.value()?.parse()?;
                    let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    }) = &value
                    else {
                        cx.error_spanned_by(
                            &value,
                            format!("expected redis attribute `{name}` to be a string: `{name} = \"...\"`"),
                        );
                        return Ok(());
                    };
                    let slot = match name.as_str() {
                        "key" | "channel" => &mut attrs.key,
                        "hash_tag" => &mut attrs.hash_tag,
                        "separator" => &mut attrs.separator,
                        "ttl" => &mut attrs.ttl,
                        _ => {
                            match lit.parse::<syn::Path>() {
                                Ok(path) if attrs.krate.is_none() => attrs.krate = Some(path),
                                Ok(_) => duplicate(cx),
                                Err(_) => cx.error_spanned_by(
                                    lit,
                                    "`crate` must be a path to the runtime, e.g. `crate = \"my_redis\"`",
                                ),
                            }
                            return Ok(());
                        }
                    };
                    if slot.is_some() {
                        duplicate(cx);
                    } else {
                        *slot = Some(lit.clone());
                    }
                }
                "member" | "score" | "item" | "field" | "value" | "event" | "message" => {
                    let ty: syn::Type = meta.value()?.parse()?;
                    if !kind.elements().contains(&name.as_str()) {
                        cx.error_spanned_by(
                            &meta.path,
                            format!(
                                "`{name}` does not apply to a {}: {}",
                                kind.noun(),
                                match kind {
                                    CollectionKind::Counter => "a counter holds one integer".to_owned(),
                                    CollectionKind::Lock => "a lease holds its holder's token".to_owned(),
                                    CollectionKind::RateLimit => "a rate limit holds its own count".to_owned(),
                                    CollectionKind::Stream => "a stream's entries are events: `event = T`".to_owned(),
                                    CollectionKind::Channel => "a channel carries messages: `message = T`".to_owned(),
                                    CollectionKind::Raw => "a raw family's keys are read and written by the application's own code, so it declares no element types".to_owned(),
                                    _ => format!("a {} takes {}", kind.noun(), one_of(&kind.elements().iter().map(|e| format!("{e} = T")).collect::<Vec<_>>())),
                                }
                            ),
                        );
                        return Ok(());
                    }
                    let slot = match name.as_str() {
                        "member" => &mut attrs.member,
                        "score" => &mut attrs.score,
                        "item" => &mut attrs.item,
                        "field" => &mut attrs.field,
                        "event" => &mut attrs.event,
                        "message" => &mut attrs.message,
                        _ => &mut attrs.value,
                    };
                    if slot.is_some() {
                        duplicate(cx);
                    } else {
                        *slot = Some(ty);
                    }
                }
                "limit" | "per" | "algorithm" | "burst" if kind != CollectionKind::RateLimit => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`{name}` applies to rate limits (`#[derive(RedisRateLimit)]`); remove it from this {}", kind.noun()),
                    );
                    if meta.input.peek(Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    }
                }
                "limit" | "burst" => {
                    attrs.limit_written |= name == "limit";
                    let lit: syn::LitInt = meta.value()?.parse()?;
                    let slot = if name == "limit" { &mut attrs.limit } else { &mut attrs.burst };
                    match lit.base10_parse::<u64>() {
                        Ok(n) if n > 0 => {
                            if slot.is_some() {
                                duplicate(cx);
                            } else {
                                *slot = Some(lit);
                            }
                        }
                        Ok(_) if name == "limit" => cx.error_spanned_by(
                            &lit,
                            "`limit = 0` would refuse every request: `limit` is how many requests pass per `per`, a positive integer, e.g. `limit = 5`",
                        ),
                        Ok(_) => cx.error_spanned_by(
                            &lit,
                            "`burst = 0` would refuse every request: `burst` is how many requests may pass at once, a positive integer (omit it for `limit`)",
                        ),
                        Err(_) => cx.error_spanned_by(
                            &lit,
                            format!("`{name}` must be a positive integer that fits in u64, e.g. `{name} = 5`"),
                        ),
                    }
                }
                "per" | "algorithm" => {
                    let value: syn::Expr = meta.value()?.parse()?;
                    let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    }) = &value
                    else {
                        cx.error_spanned_by(
                            &value,
                            format!("expected redis attribute `{name}` to be a string: `{name} = \"...\"`"),
                        );
                        return Ok(());
                    };
                    let slot = if name == "per" { &mut attrs.per } else { &mut attrs.algorithm };
                    if slot.is_some() {
                        duplicate(cx);
                    } else {
                        *slot = Some(lit.clone());
                    }
                }
                "cap" | "queue" if kind != CollectionKind::List => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`{name}` applies to lists; remove it from this {}", kind.noun()),
                    );
                    if meta.input.peek(Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    }
                }
                "client_cache" => {
                    let bounds = crate::attr::parse_client_cache(cx, &meta)?;
                    if !matches!(
                        kind,
                        CollectionKind::Set
                            | CollectionKind::SortedSet
                            | CollectionKind::Counter
                            | CollectionKind::List
                            | CollectionKind::Map
                    ) {
                        cx.error_spanned_by(
                            &meta.path,
                            format!(
                                "`client_cache` applies to models, sets, sorted sets, maps, lists and counters, whose reads the client cache can keep; a {}'s cannot be: remove it",
                                kind.noun()
                            ),
                        );
                    } else if attrs.client_cache.is_some() {
                        duplicate(cx);
                    } else {
                        attrs.client_cache = Some(bounds);
                    }
                }
                "cap" => {
                    let lit: syn::LitInt = meta.value()?.parse()?;
                    match lit.base10_parse::<u64>() {
                        Ok(n) if n > 0 => {
                            if attrs.cap.is_some() {
                                duplicate(cx);
                            } else {
                                attrs.cap = Some(lit);
                            }
                        }
                        _ => cx.error_spanned_by(
                            &lit,
                            "`cap` is the most items the list keeps: a positive integer, e.g. `cap = 500`",
                        ),
                    }
                }
                "queue" => {
                    if attrs.queue.is_some() {
                        duplicate(cx);
                    } else {
                        attrs.queue = Some(meta.path.clone());
                    }
                }
                "json" => {
                    if kind == CollectionKind::List {
                        cx.error_spanned_by(
                            &meta.path,
                            "list items are always serde JSON; remove `json`",
                        );
                    } else if kind == CollectionKind::Counter {
                        cx.error_spanned_by(
                            &meta.path,
                            "`json` does not apply to a counter, which holds one integer; remove it",
                        );
                    } else if matches!(kind, CollectionKind::Stream | CollectionKind::Channel) {
                        cx.error_spanned_by(
                            &meta.path,
                            format!("a {}'s {} are always serde JSON; remove `json`", kind.noun(), if kind == CollectionKind::Stream { "events" } else { "messages" }),
                        );
                    } else if matches!(kind, CollectionKind::Lock | CollectionKind::RateLimit | CollectionKind::Raw) {
                        cx.error_spanned_by(
                            &meta.path,
                            format!("`json` does not apply to a {}, which stores no values of yours; remove it", kind.noun()),
                        );
                    } else if attrs.json.is_some() {
                        duplicate(cx);
                    } else {
                        attrs.json = Some(meta.path.clone());
                    }
                }
                _ => {
                    attrs.unknown = true;
                    let names: Vec<String> = ATTRS.iter().map(|s| (*s).to_owned()).collect();
                    let hint = match closest(&name, &names) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("expected {}", one_of(&names)),
                    };
                    cx.error_spanned_by(
                        &meta.path,
                        format!("unknown redis {} attribute `{name}`; {hint}", kind.noun()),
                    );
                    if meta.input.peek(Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    }
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    attrs
}

/// Expands one collection derive.
pub(crate) fn derive(input: &syn::DeriveInput, kind: CollectionKind) -> TokenStream {
    let cx = Ctxt::new();
    let expanded = expand(&cx, input, kind);
    match (cx.check(), expanded) {
        (Ok(()), Some(tokens)) => tokens,
        (Err(err), _) => err.into_compile_error(),
        (Ok(()), None) => syn::Error::new(
            Span::call_site(),
            format!("{} could not be derived", kind.derive_name()),
        )
        .into_compile_error(),
    }
}

fn expand(cx: &Ctxt, input: &syn::DeriveInput, kind: CollectionKind) -> Option<TokenStream> {
    let derive = kind.derive_name();
    let fields: Vec<&syn::Field> = match &input.data {
        syn::Data::Struct(data) => match &data.fields {
            syn::Fields::Named(named) => named.named.iter().collect(),
            syn::Fields::Unit => Vec::new(),
            syn::Fields::Unnamed(_) => {
                cx.error_spanned_by(
                    &input.ident,
                    format!("{derive} cannot be derived for tuple structs: its fields are the key template's placeholders and need names"),
                );
                return None;
            }
        },
        _ => {
            cx.error_spanned_by(
                &input.ident,
                format!("{derive} can only be derived for a struct whose fields are the key's placeholders"),
            );
            return None;
        }
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            format!("{derive} cannot be derived for generic structs; declare a concrete struct per key family"),
        );
    }
    for field in &fields {
        for attr in &field.attrs {
            if attr.path().is_ident("redis") {
                cx.error_spanned_by(
                    attr,
                    format!("a {} declaration's fields take no `#[redis(...)]` attributes: they are its key's parts", kind.noun()),
                );
            }
        }
    }
    let attrs = parse_attrs(cx, input, kind);
    let rr = match &attrs.krate {
        Some(krate) => quote!(#krate::__private),
        None => quote!(::redis_runtime::__private),
    };

    // Elements.
    let example = kind.example();
    if matches!(kind, CollectionKind::Set | CollectionKind::SortedSet) && attrs.member.is_none() {
        cx.error_spanned_by(
            &input.ident,
            format!(
                "a {} needs its member type: add `member = T`, e.g. `{example}`",
                kind.noun()
            ),
        );
    }
    if kind == CollectionKind::List && attrs.item.is_none() {
        cx.error_spanned_by(
            &input.ident,
            format!("a list needs its item type: add `item = T` (a serde type), e.g. `{example}`"),
        );
    }
    if kind == CollectionKind::Map && (attrs.field.is_none() || attrs.value.is_none()) {
        cx.error_spanned_by(
            &input.ident,
            format!("a map needs a field type and a value type: add `field = K, value = V`, e.g. `{example}`"),
        );
    }
    if let (Some(_), Some(cap)) = (&attrs.queue, &attrs.cap) {
        cx.error_spanned_by(
            cap,
            format!(
                "a reliable queue cannot be capped: trimming would drop jobs no one took; remove `cap = {}` (or `queue`)",
                cap
            ),
        );
    }
    if let (Some(queue), None) = (&attrs.queue, &attrs.hash_tag) {
        cx.error_spanned_by(
            queue,
            "a reliable queue moves items between its list and each consumer's in-flight list in one command, so they must share a hash slot: add `hash_tag = \"...\"` naming a placeholder",
        );
    }
    if kind == CollectionKind::Stream && attrs.event.is_none() {
        cx.error_spanned_by(
            &input.ident,
            format!("a stream needs its event type: add `event = T` (a serde type; an enum of event variants works), e.g. `{example}`"),
        );
    }
    if kind == CollectionKind::Channel && attrs.message.is_none() {
        cx.error_spanned_by(
            &input.ident,
            format!("a channel needs its message type: add `message = T` (a serde type), e.g. `{example}`"),
        );
    }
    if let (Some(_), Some(minid)) = (&attrs.maxlen, &attrs.minid) {
        cx.error_spanned_by(
            minid,
            "a stream is trimmed by length (`maxlen`) or by age (`minid`), not both; keep one",
        );
    }
    let trim = stream_trim(cx, &attrs);
    let raw = if kind == CollectionKind::Raw {
        raw_family(cx, input, &attrs, example)
    } else {
        None
    };
    if kind == CollectionKind::SortedSet && attrs.score.is_none() {
        cx.error_spanned_by(
            &input.ident,
            format!("a sorted set needs exactly one score type: add `score = f64` (or an integer type), e.g. `{example}`"),
        );
    }

    let mut ttl_millis =
        attrs
            .ttl
            .as_ref()
            .and_then(|lit| match crate::duration::parse_millis(&lit.value()) {
                Ok(ms) => Some(ms),
                Err(err) => {
                    cx.error_spanned_by(lit, err);
                    None
                }
            });
    if kind == CollectionKind::Lock && attrs.ttl.is_none() && !attrs.unknown {
        cx.error_spanned_by(
            &input.ident,
            format!("a lease needs a `ttl`: how long a holder keeps it without extending it, so that a holder that crashed blocks the others for at most that long; add e.g. `ttl = \"30s\"`: `{example}`"),
        );
    }
    let rate = if kind == CollectionKind::RateLimit {
        let rate = rate_limit(cx, input, &attrs, example);
        ttl_millis = rate.as_ref().map(|r| r.ttl_ms);
        rate
    } else {
        None
    };

    // The key template.
    let Some(lit) = &attrs.key else {
        if !attrs.key_written && kind == CollectionKind::Channel {
            cx.error_spanned_by(
                &input.ident,
                format!("missing channel name template: add `#[redis(channel = \"...\")]`, e.g. `{example}`"),
            );
        } else if !attrs.key_written {
            cx.error_spanned_by(
                &input.ident,
                format!("missing key template: add `#[redis(key = \"...\")]`, e.g. `{example}`"),
            );
        }
        return None;
    };
    let source = lit.value();
    let separator = crate::key_tokens::separator(cx, attrs.separator.as_ref())?;
    let template: Template = match key_template::parse(&source, separator) {
        Ok(template) => template,
        Err(errors) => {
            for err in errors {
                cx.error_spanned_by(
                    lit,
                    format!("invalid key template `{}`: {err}", source.escape_debug()),
                );
            }
            return None;
        }
    };
    let names: Vec<String> = fields
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())
        .collect();
    let placeholders: Vec<String> = template.placeholders().map(str::to_owned).collect();
    let mut ok = true;
    for (i, p) in placeholders.iter().enumerate() {
        if placeholders[..i].contains(p) {
            cx.error_spanned_by(lit, format!("placeholder `{{{p}}}` appears more than once in the key template; remove the repeat"));
            ok = false;
        } else if !names.contains(p) {
            let hint = match closest(p, &names) {
                Some(best) => format!("; did you mean `{best}`?"),
                None if names.is_empty() => format!("; add a field `{p}` to `{}`", input.ident),
                None => format!("; fields are {}", list(&names)),
            };
            cx.error_spanned_by(
                lit,
                format!(
                    "key placeholder `{{{p}}}` names no field of `{}`{hint}",
                    input.ident
                ),
            );
            ok = false;
        }
    }
    for (field, name) in fields.iter().zip(&names) {
        if !placeholders.contains(name) {
            let element = match kind {
                CollectionKind::Set => "; the member type goes in `member = T`",
                CollectionKind::SortedSet => {
                    "; the member and score types go in `member = T, score = S`"
                }
                CollectionKind::Counter => "",
                CollectionKind::List => "; the item type goes in `item = T`",
                CollectionKind::Map => "; the field and value types go in `field = K, value = V`",
                CollectionKind::Lock | CollectionKind::RateLimit => "",
                CollectionKind::Stream => "; the event type goes in `event = T`",
                CollectionKind::Channel => "; the message type goes in `message = T`",
                CollectionKind::Raw => "",
            };
            cx.error_spanned_by(
                field.ident.as_ref().map_or_else(|| field.to_token_stream(), ToTokens::to_token_stream),
                if kind == CollectionKind::Channel {
                    format!("field `{name}` is not a placeholder of the channel name template `{source}`: a channel declaration's fields are its name's parts{element}")
                } else {
                    format!(
                        "field `{name}` is not a placeholder of the key template `{source}`: a {} declaration's fields are its key's parts{element}",
                        kind.noun()
                    )
                },
            );
            ok = false;
        }
    }
    let hash_tag = attrs.hash_tag.as_ref().and_then(|tag| {
        let name = tag.value();
        if placeholders.contains(&name) {
            Some(name)
        } else {
            let hint = match closest(&name, &placeholders) {
                Some(best) => format!("; did you mean `{best}`?"),
                None if placeholders.is_empty() => {
                    "; the template has no placeholders to tag, so remove `hash_tag`".to_owned()
                }
                None => format!("; expected {}", one_of(&placeholders)),
            };
            cx.error_spanned_by(
                tag,
                format!("hash_tag `{name}` is not a placeholder of the key template{hint}"),
            );
            None
        }
    });
    if kind == CollectionKind::Lock
        && hash_tag.is_none()
        && placeholders.iter().any(|p| p == "slot_tag")
    {
        cx.error_spanned_by(
            lit,
            "a lease without a `hash_tag` has a fence key ending in `:fence:{slot_tag}`; rename the placeholder `slot_tag`, or give the template a `hash_tag`",
        );
        ok = false;
    }
    if !ok {
        return None;
    }

    // Placeholder fields in template order.
    let ordered: Vec<&syn::Field> = placeholders
        .iter()
        .map(|p| fields[names.iter().position(|n| n == p).unwrap_or_default()])
        .collect();
    let ident = &input.ident;
    let name = ident.to_string();
    let mut types = ordered.iter().map(|f| &f.ty);
    let key_template = template.tokens(&rr, &source, |p| {
        let tagged = hash_tag.as_deref() == Some(p);
        let shape = match types.next() {
            Some(ty) => quote_spanned!(ty.span()=> #rr::assert_key_part::<#ty>()),
            None => quote!(#rr::PartShape::Text),
        };
        (tagged, shape)
    });
    let ttl = match ttl_millis {
        Some(ms) => quote!(#rr::Some(#rr::Duration::from_millis(#ms))),
        None => quote!(#rr::None),
    };
    let field_metas = fields.iter().zip(&names).map(|(f, fname)| {
        let rust_type = crate::ast::type_name(&f.ty);
        quote!(#rr::FieldMeta { name: #fname, stored_as: #fname, rust_type: #rust_type, storage: #rr::FieldStorage::KeyPart, optional: false })
    });
    let kind_tokens = match kind {
        CollectionKind::Set => quote!(#rr::Kind::Set),
        CollectionKind::SortedSet => quote!(#rr::Kind::SortedSet),
        CollectionKind::Counter => quote!(#rr::Kind::Counter),
        CollectionKind::List => quote!(#rr::Kind::List),
        CollectionKind::Map => quote!(#rr::Kind::Map),
        CollectionKind::Lock => quote!(#rr::Kind::Lease),
        CollectionKind::Stream => quote!(#rr::Kind::Stream),
        CollectionKind::Channel => quote!(#rr::Kind::Channel),
        CollectionKind::Raw => {
            let (redis_type, commands) = raw.as_ref()?;
            quote!(#rr::Kind::Raw { redis_type: #redis_type, commands: &[#(#commands),*] })
        }
        CollectionKind::RateLimit => {
            let algorithm = rate.as_ref()?.algorithm_tokens(&rr);
            quote!(#rr::Kind::RateLimit(#algorithm))
        }
    };
    let result = quote!(#rr::Result<(), #rr::InvalidKeyPart>);
    let idents: Vec<&syn::Ident> = ordered.iter().filter_map(|f| f.ident.as_ref()).collect();
    let tys: Vec<&syn::Type> = ordered.iter().map(|f| &f.ty).collect();
    let (id_ty, methods) = match (idents.as_slice(), tys.as_slice()) {
        ([], _) => (
            quote!(()),
            quote! {
                fn write_id_key(_: &Self::Id, _: &mut #rr::KeyWriter<'_>) -> #result { #rr::Ok(()) }
                fn parse_id(_: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> { #rr::Ok(()) }
            },
        ),
        ([_], [ty]) => (
            quote!(#ty),
            quote! {
                fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #result {
                    key.part::<#ty>(id)
                }
                fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    parts.part::<#ty>()
                }
            },
        ),
        _ => (
            quote!(#ident),
            quote! {
                fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #result {
                    #(key.part::<#tys>(&id.#idents)?;)*
                    #rr::Ok(())
                }
                fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    // Fields are read in template order, the order of the parts.
                    #rr::Ok(#ident { #(#idents: parts.part::<#tys>()?,)* })
                }
            },
        ),
    };

    let member_codec = |ty: &syn::Type| -> (TokenStream, TokenStream) {
        if let Some(json) = &attrs.json {
            (
                quote_spanned!(json.span()=> #rr::JsonElement),
                quote_spanned!(ty.span()=> const _: () = #rr::assert_json_element::<#ty>();),
            )
        } else {
            (
                respan(quote!(#rr::KeyPartElement), ty.span()),
                quote_spanned!(ty.span()=> const _: () = #rr::assert_member::<#ty>();),
            )
        }
    };
    let (kind_impl, asserts) = match kind {
        CollectionKind::Set => {
            let ty = attrs.member.as_ref()?;
            let (codec, assert) = member_codec(ty);
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisSet for #ident {
                        type Member = #ty;
                        type MemberCodec = #codec;
                    }
                },
                assert,
            )
        }
        CollectionKind::SortedSet => {
            let ty = attrs.member.as_ref()?;
            let score = attrs.score.as_ref()?;
            let (codec, assert) = member_codec(ty);
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisSortedSet for #ident {
                        type Member = #ty;
                        type MemberCodec = #codec;
                        type Score = #score;
                    }
                },
                // The score type's bound (`Score`) is reported at `score = ...`.
                assert,
            )
        }
        CollectionKind::Counter => (
            quote! {
                #[automatically_derived]
                impl #rr::RedisCounter for #ident {}
            },
            TokenStream::new(),
        ),
        CollectionKind::List => {
            let ty = attrs.item.as_ref()?;
            let cap = match &attrs.cap {
                Some(cap) => quote!(#rr::Some(#cap)),
                None => quote!(#rr::None),
            };
            let assert =
                quote_spanned!(ty.span()=> const _: () = #rr::assert_json_element::<#ty>(););
            let codec = respan(quote!(#rr::JsonElement), ty.span());
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisList for #ident {
                        type Item = #ty;
                        type ItemCodec = #codec;
                        const CAP: #rr::Option<u64> = #cap;
                    }
                },
                assert,
            )
        }
        CollectionKind::Map => {
            let field = attrs.field.as_ref()?;
            let value = attrs.value.as_ref()?;
            let field_assert =
                quote_spanned!(field.span()=> const _: () = #rr::assert_member::<#field>(););
            let (codec, value_assert) = match &attrs.json {
                Some(json) => (
                    quote_spanned!(json.span()=> #rr::JsonElement),
                    quote_spanned!(value.span()=> const _: () = #rr::assert_json_element::<#value>();),
                ),
                None => (
                    quote!(#rr::ValueElement),
                    quote_spanned!(value.span()=> const _: () = #rr::assert_hash_value::<#value>();),
                ),
            };
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisMap for #ident {
                        type Field = #field;
                        type FieldCodec = #rr::KeyPartElement;
                        type Value = #value;
                        type ValueCodec = #codec;
                    }
                },
                quote!(#field_assert #value_assert),
            )
        }
        CollectionKind::Lock => {
            let fence = quote::format_ident!("{}Fence", ident);
            let from_id = match idents.as_slice() {
                [] => quote!(#fence {}),
                [single] => quote!(#fence { #single: ::core::clone::Clone::clone(id) }),
                many => quote!(#fence { #(#many: ::core::clone::Clone::clone(&id.#many),)* }),
            };
            (
                quote! {
                                    #[automatically_derived]
                                    impl #rr::RedisLock for #ident {
                                        type Fence = #fence;
                fn fence(id: &Self::Id) -> #fence {
                                            #from_id
                                        }
                                    }
                                },
                TokenStream::new(),
            )
        }
        CollectionKind::Stream => {
            let ty = attrs.event.as_ref()?;
            let dead = quote::format_ident!("{}DeadLetter", ident);
            let processed = quote::format_ident!("{}Processed", ident);
            let from = |target: &syn::Ident| match idents.as_slice() {
                [] => quote!(#target {}),
                [single] => quote!(#target { #single: ::core::clone::Clone::clone(id) }),
                many => quote!(#target { #(#many: ::core::clone::Clone::clone(&id.#many),)* }),
            };
            let (to_dead, to_processed) = (from(&dead), from(&processed));
            let trim = match trim? {
                None => quote!(#rr::None),
                Some(StreamTrim::MaxLen(len, approximate)) => {
                    quote!(#rr::Some(#rr::Trim::MaxLen { len: #len, approximate: #approximate }))
                }
                Some(StreamTrim::MinAge(ms, approximate)) => {
                    quote!(#rr::Some(#rr::Trim::MinAge { age: #rr::Duration::from_millis(#ms), approximate: #approximate }))
                }
            };
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisStream for #ident {
                        type Event = #ty;
                        type DeadLetter = #dead;
                        type Processed = #processed;
                        const TRIM: #rr::Option<#rr::Trim> = #trim;
                        fn dead_letter(id: &Self::Id) -> #dead {
                            #to_dead
                        }
                        fn processed(id: &Self::Id) -> #processed {
                            #to_processed
                        }
                    }
                },
                quote_spanned!(ty.span()=> const _: () = #rr::assert_json_element::<#ty>();),
            )
        }
        CollectionKind::Channel => {
            let ty = attrs.message.as_ref()?;
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisChannel for #ident {
                        type Message = #ty;
                    }
                },
                quote_spanned!(ty.span()=> const _: () = #rr::assert_json_element::<#ty>();),
            )
        }
        CollectionKind::Raw => (
            quote! {
                #[automatically_derived]
                impl #rr::RedisRaw for #ident {}
            },
            TokenStream::new(),
        ),
        CollectionKind::RateLimit => {
            let rate = rate.as_ref()?;
            let (limit, per, burst) = (rate.limit, rate.per_ms, rate.burst);
            let algorithm = rate.algorithm_tokens(&rr);
            (
                quote! {
                    #[automatically_derived]
                    impl #rr::RedisRateLimit for #ident {
                        const LIMIT: u64 = #limit;
                        const PER: #rr::Duration = #rr::Duration::from_millis(#per);
                        const ALGORITHM: #rr::RateAlgorithm = #algorithm;
                        const BURST: u64 = #burst;
                    }
                },
                TokenStream::new(),
            )
        }
    };
    let queue = match &attrs.queue {
        Some(_) => in_flight(
            &rr,
            input,
            &source,
            separator,
            hash_tag.as_deref(),
            &ordered,
            &names,
            &fields,
        ),
        None if kind == CollectionKind::Lock => fence(
            &rr,
            input,
            &source,
            separator,
            hash_tag.as_deref(),
            &ordered,
            &names,
            &fields,
        ),
        None if kind == CollectionKind::Stream => {
            let companion = |suffix: &str, what: &str, kind: TokenStream, doc: &str| {
                companion(
                    &rr,
                    input,
                    &source,
                    separator,
                    hash_tag.as_deref(),
                    &ordered,
                    &names,
                    &fields,
                    Companion {
                        suffix,
                        name: what,
                        kind,
                        doc,
                    },
                )
            };
            let dead = companion(
                "dead",
                "DeadLetter",
                quote!(#rr::Kind::StreamDeadLetter),
                "The dead-letter stream of the stream",
            );
            let processed = companion(
                "processed",
                "Processed",
                quote!(#rr::Kind::StreamProcessed),
                "The processed-id set (consumer groups' idempotency records) of the stream",
            );
            quote!(#dead #processed)
        }
        None => TokenStream::new(),
    };

    let client_cache = match &attrs.client_cache {
        Some(bounds) => {
            let c = crate::check::check_client_cache_bounds(cx, bounds);
            let (ms, entries, bytes) = (c.ttl_millis, c.max_entries as usize, c.max_bytes as usize);
            quote! {
                const CLIENT_CACHE: #rr::Option<#rr::ClientCachePolicy> = #rr::Some(
                    #rr::ClientCachePolicy::new(#rr::Duration::from_millis(#ms), #entries, #bytes),
                );
            }
        }
        None => TokenStream::new(),
    };
    Some(quote! {
        #[doc(hidden)]
        const _: () = {
            #rr::inventory::submit! {
                #rr::ModelRegistration(<#ident as #rr::Family>::META)
            }

            #asserts

            #[automatically_derived]
            impl #rr::Family for #ident {
                type Id = #id_ty;
                const META: &'static #rr::ModelMeta = &#rr::ModelMeta {
                    name: #name,
                    module_path: ::core::module_path!(),
                    key: #key_template,
                    kind: #kind_tokens,
                    ttl: #ttl,
                    fields: &[#(#field_metas),*],
                    coordination: #rr::None,
                };
                #client_cache

                #methods
            }

            #kind_impl

            // The key's fields are read through the id (`write_id_key`); a
            // declaration with one placeholder is never built, and this
            // keeps rustc from calling its field unread.
            #[automatically_derived]
            impl #rr::ReadsFields for #ident {
                fn reads_fields(&self) {
                    #(let _ = &self.#idents;)*
                }
            }
        };
        #queue
    })
}

/// Checks a raw family's `redis_type` and `commands`: both required, the
/// type one of [`REDIS_TYPES`](crate::raw_commands::REDIS_TYPES), each
/// command one Redis has for keys of that type (or of any type), once.
/// Returns the type and the commands, lower case.
fn raw_family(
    cx: &Ctxt,
    input: &syn::DeriveInput,
    attrs: &Attrs,
    example: &str,
) -> Option<(String, Vec<String>)> {
    use crate::raw_commands::{REDIS_TYPES, all, applies, types_of};
    let types: Vec<String> = REDIS_TYPES.iter().map(|t| (*t).to_owned()).collect();
    let redis_type = match &attrs.redis_type {
        None => {
            if !attrs.unknown {
                cx.error_spanned_by(
                    &input.ident,
                    format!("a raw family needs the Redis type of its keys: add `redis_type = \"...\"` ({}), e.g. `{example}`", one_of(&types)),
                );
            }
            None
        }
        Some(lit) => {
            let written = lit.value();
            let lower = written.to_ascii_lowercase();
            if types.contains(&lower) {
                Some(lower)
            } else {
                let hint = match (lower.as_str(), closest(&lower, &types)) {
                    ("sorted_set" | "sortedset" | "sorted set", _) => {
                        "; a sorted set is `zset`, as `TYPE` names it".to_owned()
                    }
                    (_, Some(best)) => format!("; did you mean `{best}`?"),
                    (_, None) => format!("; expected {}", one_of(&types)),
                };
                cx.error_spanned_by(
                    lit,
                    format!("unknown redis_type `{}`: a raw family's keys hold a string, hash, list, set, zset or stream{hint}", written.escape_debug()),
                );
                None
            }
        }
    };
    let Some(lit) = &attrs.commands else {
        if !attrs.unknown {
            cx.error_spanned_by(
                &input.ident,
                format!("a raw family needs the commands its code sends to its keys: add `commands = \"...\"` (space-separated, as the ACL names them), e.g. `{example}`"),
            );
        }
        return None;
    };
    let known = all();
    let mut commands: Vec<String> = Vec::new();
    let mut ok = true;
    for written in lit
        .value()
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|c| !c.is_empty())
    {
        let command = written.to_ascii_lowercase();
        if !known.contains(&command) {
            let hint = match closest(&command, &known) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "write the commands as the ACL names them, lower case, `xgroup|create` for a subcommand".to_owned(),
            };
            cx.error_spanned_by(
                lit,
                format!(
                    "unknown command `{}` for a raw family's keys; {hint}",
                    written.escape_debug()
                ),
            );
            ok = false;
        } else if commands.contains(&command) {
            cx.error_spanned_by(
                lit,
                format!("command `{command}` is listed twice; remove the repeat"),
            );
            ok = false;
        } else {
            if let Some(redis_type) = &redis_type
                && !applies(&command, redis_type)
            {
                let of: Vec<String> = types_of(&command).iter().map(|t| (*t).to_owned()).collect();
                cx.error_spanned_by(
                    lit,
                    format!("command `{command}` operates on {} keys, and this family's keys hold a {redis_type} (`redis_type = \"{redis_type}\"`); remove it or fix `redis_type`", one_of(&of)),
                );
                ok = false;
            }
            commands.push(command);
        }
    }
    if commands.is_empty() && ok {
        cx.error_spanned_by(
            lit,
            format!("a raw family declares at least one command, e.g. `{example}`"),
        );
        ok = false;
    }
    if ok {
        Some((redis_type?, commands))
    } else {
        None
    }
}

/// A rate limit's parameters, checked.
struct Rate {
    limit: u64,
    per_ms: u64,
    burst: u64,
    algorithm: &'static str,
    /// The longest TTL its keys get, in milliseconds.
    ttl_ms: u64,
}

impl Rate {
    fn algorithm_tokens(&self, rr: &TokenStream) -> TokenStream {
        match self.algorithm {
            "fixed" => quote!(#rr::RateAlgorithm::Fixed),
            "sliding" => quote!(#rr::RateAlgorithm::Sliding),
            _ => quote!(#rr::RateAlgorithm::Gcra),
        }
    }
}

/// Checks a rate limit's attributes: `limit`, `per` and `algorithm` are
/// required, `burst` applies to GCRA, `ttl` to nothing (the keys' TTL
/// follows `per`).
fn rate_limit(cx: &Ctxt, input: &syn::DeriveInput, attrs: &Attrs, example: &str) -> Option<Rate> {
    if let Some(ttl) = &attrs.ttl {
        cx.error_spanned_by(
            ttl,
            "a rate limit's keys expire by themselves (their TTL follows `per`); remove `ttl`",
        );
    }
    let limit = match &attrs.limit {
        Some(lit) => lit.base10_parse::<u64>().ok(),
        None => {
            if !attrs.limit_written && !attrs.unknown {
                cx.error_spanned_by(
                    &input.ident,
                    format!("a rate limit needs its `limit`: how many requests pass per `per`, e.g. `{example}`"),
                );
            }
            None
        }
    };
    let per_ms = match &attrs.per {
        Some(lit) => match crate::duration::parse_millis(&lit.value()) {
            Ok(ms) => Some(ms),
            Err(err) => {
                cx.error_spanned_by(lit, format!("invalid `per`: {err}"));
                None
            }
        },
        None => {
            if !attrs.unknown {
                cx.error_spanned_by(
                &input.ident,
                format!("a rate limit needs its window: add `per = \"1m\"` (units d, h, m, s, ms), the period `limit` requests are allowed in, e.g. `{example}`"),
            );
            }
            None
        }
    };
    let names: Vec<String> = ALGORITHMS.iter().map(|a| (*a).to_owned()).collect();
    let algorithm = match &attrs.algorithm {
        Some(lit) => {
            let written = lit.value();
            match ALGORITHMS.iter().find(|a| **a == written) {
                Some(a) => Some(*a),
                None => {
                    let hint = match closest(&written.to_ascii_lowercase(), &names)
                        .or_else(|| algorithm_meant(&written))
                    {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("expected {}", one_of(&names)),
                    };
                    cx.error_spanned_by(
                        lit,
                        format!("unknown rate-limit algorithm `{}`; {hint} (`fixed`: a fixed window, `sliding`: a sliding-window log, `gcra`: the generic cell rate algorithm, with `burst`)", written.escape_debug()),
                    );
                    None
                }
            }
        }
        None => {
            if !attrs.unknown {
                cx.error_spanned_by(
                &input.ident,
                format!("a rate limit needs its `algorithm`: `\"fixed\"` (a fixed window), `\"sliding\"` (a sliding-window log) or `\"gcra\"` (the generic cell rate algorithm), e.g. `{example}`"),
            );
            }
            None
        }
    };
    if let (Some(burst), Some(a)) = (&attrs.burst, algorithm)
        && a != "gcra"
    {
        cx.error_spanned_by(
            burst,
            format!("`burst` applies to `algorithm = \"gcra\"`: a {a} window allows up to `limit` at once; remove `burst`"),
        );
    }
    let burst = match &attrs.burst {
        Some(lit) => lit.base10_parse::<u64>().ok()?,
        None => limit?,
    };
    let (limit, per_ms, algorithm) = (limit?, per_ms?, algorithm?);
    // GCRA's key lives until its arrival time, at most `burst` requests of
    // `per / limit` ahead.
    let ttl_ms = if algorithm == "gcra" {
        let ms = (u128::from(per_ms) * u128::from(burst)).div_ceil(u128::from(limit));
        u64::try_from(ms).unwrap_or(u64::MAX)
    } else {
        per_ms
    };
    Some(Rate {
        limit,
        per_ms,
        burst: if algorithm == "gcra" { burst } else { limit },
        algorithm,
        ttl_ms,
    })
}

/// The algorithm a misspelt or otherwise named `algorithm` means: the same
/// letters in another order (`gcar`), or a common name of it
/// (`token_bucket`, `sliding_window`, `fixed-window`...).
pub(crate) fn algorithm_meant(written: &str) -> Option<&'static str> {
    let lower = written.to_ascii_lowercase().replace(['-', ' '], "_");
    let mut letters: Vec<char> = lower.chars().collect();
    letters.sort_unstable();
    for name in ALGORITHMS {
        let mut theirs: Vec<char> = name.chars().collect();
        theirs.sort_unstable();
        if theirs == letters {
            return Some(name);
        }
    }
    if lower.contains("bucket") || lower.contains("cell") || lower.contains("gcr") {
        Some("gcra")
    } else if lower.contains("slid") || lower.contains("rolling") || lower.contains("log") {
        Some("sliding")
    } else if lower.contains("fix") || lower.contains("window") || lower.contains("counter") {
        Some("fixed")
    } else {
        None
    }
}

/// A lock's fence family: a public `{Lock}Fence` struct with the lock's
/// placeholder fields, whose template is the lock's with `:fence` appended
/// when the lock has a hash tag (same tag, so one slot), or
/// `:fence:{slot_tag}` without one, `slot_tag` a hash-tagged number whose
/// digits hash to the lease key's slot (written by the runtime).
#[allow(clippy::too_many_arguments)]
fn fence(
    rr: &TokenStream,
    input: &syn::DeriveInput,
    source: &str,
    separator: char,
    hash_tag: Option<&str>,
    ordered: &[&syn::Field],
    names: &[String],
    fields: &[&syn::Field],
) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    let fence = quote::format_ident!("{}Fence", ident);
    let fence_name = fence.to_string();
    let fence_source = match hash_tag {
        Some(_) => format!("{source}{separator}fence"),
        None => format!("{source}{separator}fence{separator}{{slot_tag}}"),
    };
    let Ok(template) = key_template::parse(&fence_source, separator) else {
        return TokenStream::new();
    };
    let mut types = ordered.iter().map(|f| &f.ty);
    let key_template = template.tokens(rr, &fence_source, |p| match types.next() {
        Some(ty) => (hash_tag == Some(p), quote!(#rr::assert_key_part::<#ty>())),
        None => (true, quote!(#rr::assert_key_part::<u32>())),
    });
    let idents: Vec<&syn::Ident> = ordered.iter().filter_map(|f| f.ident.as_ref()).collect();
    let tys: Vec<&syn::Type> = ordered.iter().map(|f| &f.ty).collect();
    let mut field_metas: Vec<TokenStream> = fields
        .iter()
        .zip(names)
        .map(|(f, fname)| {
            let rust_type = crate::ast::type_name(&f.ty);
            quote!(#rr::FieldMeta { name: #fname, stored_as: #fname, rust_type: #rust_type, storage: #rr::FieldStorage::KeyPart, optional: false })
        })
        .collect();
    let (write_tag, parse_tag) = if hash_tag.is_some() {
        (quote!(#rr::Ok(())), TokenStream::new())
    } else {
        field_metas.push(quote!(#rr::FieldMeta { name: "slot_tag", stored_as: "slot_tag", rust_type: "u32", storage: #rr::FieldStorage::KeyPart, optional: false }));
        (
            quote!(#rr::write_fence_tag(key)),
            quote!(parts.part::<u32>()?;),
        )
    };
    let doc = format!(
        "The fencing-token counter of the lock [`{ident}`] (key `{fence_source}`, in the lease key's hash slot, without a TTL): every acquire of the lock increments it. List it in `keyspace!` next to `{ident}`."
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct #fence {
            #(#[doc = "A part of the lock's key."] pub #idents: #tys,)*
        }

        #[doc(hidden)]
        const _: () = {
            #rr::inventory::submit! {
                #rr::ModelRegistration(<#fence as #rr::Family>::META)
            }

            #[automatically_derived]
            impl #rr::Family for #fence {
                type Id = #fence;
                const META: &'static #rr::ModelMeta = &#rr::ModelMeta {
                    name: #fence_name,
                    module_path: ::core::module_path!(),
                    key: #key_template,
                    kind: #rr::Kind::LeaseFence,
                    ttl: #rr::None,
                    fields: &[#(#field_metas),*],
                    coordination: #rr::None,
                };

                fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    #(key.part::<#tys>(&id.#idents)?;)*
                    #write_tag
                }

                fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    let id = #fence { #(#idents: parts.part::<#tys>()?,)* };
                    #parse_tag
                    #rr::Ok(id)
                }
            }
        };
    }
}

/// A reliable queue's in-flight family: a public `{Queue}InFlight` struct
/// with the queue's placeholder fields and `consumer`, whose template is the
/// queue's with `:inflight:{consumer}` appended (same hash tag, so one slot),
/// and the `RedisQueue` impl tying them together.
#[allow(clippy::too_many_arguments)]
fn in_flight(
    rr: &TokenStream,
    input: &syn::DeriveInput,
    source: &str,
    separator: char,
    hash_tag: Option<&str>,
    ordered: &[&syn::Field],
    names: &[String],
    fields: &[&syn::Field],
) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    let flight = quote::format_ident!("{}InFlight", ident);
    let flight_name = flight.to_string();
    let flight_source = format!("{source}{separator}inflight{separator}{{consumer}}");
    let Ok(template) = key_template::parse(&flight_source, separator) else {
        return TokenStream::new();
    };
    let mut types = ordered.iter().map(|f| &f.ty);
    let key_template = template.tokens(rr, &flight_source, |p| {
        let shape = match types.next() {
            Some(ty) => quote!(#rr::assert_key_part::<#ty>()),
            None => quote!(#rr::assert_key_part::<#rr::String>()),
        };
        (hash_tag == Some(p), shape)
    });
    let idents: Vec<&syn::Ident> = ordered.iter().filter_map(|f| f.ident.as_ref()).collect();
    let tys: Vec<&syn::Type> = ordered.iter().map(|f| &f.ty).collect();
    let field_metas = fields.iter().zip(names).map(|(f, fname)| {
        let rust_type = crate::ast::type_name(&f.ty);
        quote!(#rr::FieldMeta { name: #fname, stored_as: #fname, rust_type: #rust_type, storage: #rr::FieldStorage::KeyPart, optional: false })
    });
    let from_id = match idents.as_slice() {
        [] => quote!(#flight { consumer }),
        [single] => quote!(#flight { #single: ::core::clone::Clone::clone(id), consumer }),
        many => quote!(#flight { #(#many: ::core::clone::Clone::clone(&id.#many),)* consumer }),
    };
    let doc = format!(
        "The in-flight list of one consumer of the reliable queue [`{ident}`] (key `{flight_source}`): items it has taken and not yet acknowledged. List it in `keyspace!` next to `{ident}`."
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct #flight {
            #(#[doc = "A part of the queue's key."] pub #idents: #tys,)*
            /// The consumer holding the items.
            pub consumer: #rr::String,
        }

        #[doc(hidden)]
        const _: () = {
            #rr::inventory::submit! {
                #rr::ModelRegistration(<#flight as #rr::Family>::META)
            }

            #[automatically_derived]
            impl #rr::Family for #flight {
                type Id = #flight;
                const META: &'static #rr::ModelMeta = &#rr::ModelMeta {
                    name: #flight_name,
                    module_path: ::core::module_path!(),
                    key: #key_template,
                    kind: #rr::Kind::List,
                    ttl: #rr::None,
                    fields: &[#(#field_metas,)* #rr::FieldMeta { name: "consumer", stored_as: "consumer", rust_type: "String", storage: #rr::FieldStorage::KeyPart, optional: false }],
                    coordination: #rr::None,
                };

                fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    #(key.part::<#tys>(&id.#idents)?;)*
                    key.part::<#rr::String>(&id.consumer)
                }

                fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    #rr::Ok(#flight { #(#idents: parts.part::<#tys>()?,)* consumer: parts.part::<#rr::String>()? })
                }
            }

            #[automatically_derived]
            impl #rr::RedisQueue for #ident {
                type InFlight = #flight;
                fn in_flight(id: &Self::Id, consumer: #rr::String) -> #flight {
                    #from_id
                }
            }
        };
    }
}

/// How a stream declaration trims.
enum StreamTrim {
    MaxLen(u64, bool),
    MinAge(u64, bool),
}

/// `maxlen = "~N"` or `minid = "~7d"`: `Some(None)` without either, `None`
/// after an error.
fn stream_trim(cx: &Ctxt, attrs: &Attrs) -> Option<Option<StreamTrim>> {
    if let Some(lit) = &attrs.maxlen {
        let text = lit.value();
        let (approximate, number) = match text.trim().strip_prefix('~') {
            Some(rest) => (true, rest.trim()),
            None => (false, text.trim()),
        };
        return match number.parse::<u64>() {
            Ok(n) if n > 0 => Some(Some(StreamTrim::MaxLen(n, approximate))),
            _ => {
                cx.error_spanned_by(
                    lit,
                    "`maxlen` is the most entries a stream keeps: a positive integer, `~` first to trim approximately (cheaper), e.g. `maxlen = \"~10000\"`",
                );
                None
            }
        };
    }
    if let Some(lit) = &attrs.minid {
        let text = lit.value();
        let (approximate, age) = match text.trim().strip_prefix('~') {
            Some(rest) => (true, rest.trim().to_owned()),
            None => (false, text.trim().to_owned()),
        };
        return match crate::duration::parse_millis(&age) {
            Ok(ms) => Some(Some(StreamTrim::MinAge(ms, approximate))),
            Err(err) => {
                cx.error_spanned_by(
                    lit,
                    format!("`minid` is the age after which entries are trimmed, `~` first to trim approximately, e.g. `minid = \"~7d\"`: {err}"),
                );
                None
            }
        };
    }
    Some(None)
}

/// What a generated companion family of a declaration is.
struct Companion<'a> {
    suffix: &'a str,
    name: &'a str,
    kind: TokenStream,
    doc: &'a str,
}

/// A companion family in its declaration's hash slot: a public
/// `{Decl}{name}` struct with the declaration's placeholder fields, whose
/// template is the declaration's with `:{suffix}` appended when it has a
/// hash tag, or `:{suffix}:{slot_tag}` without one (`slot_tag` a number
/// hashing to the main key's slot, written by the runtime).
#[allow(clippy::too_many_arguments)]
fn companion(
    rr: &TokenStream,
    input: &syn::DeriveInput,
    source: &str,
    separator: char,
    hash_tag: Option<&str>,
    ordered: &[&syn::Field],
    names: &[String],
    fields: &[&syn::Field],
    what: Companion<'_>,
) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    let family = quote::format_ident!("{}{}", ident, what.name);
    let family_name = family.to_string();
    let suffix = what.suffix;
    let family_source = match hash_tag {
        Some(_) => format!("{source}{separator}{suffix}"),
        None => format!("{source}{separator}{suffix}{separator}{{slot_tag}}"),
    };
    let Ok(template) = key_template::parse(&family_source, separator) else {
        return TokenStream::new();
    };
    let mut types = ordered.iter().map(|f| &f.ty);
    let key_template = template.tokens(rr, &family_source, |p| match types.next() {
        Some(ty) => (hash_tag == Some(p), quote!(#rr::assert_key_part::<#ty>())),
        None => (true, quote!(#rr::assert_key_part::<u32>())),
    });
    let idents: Vec<&syn::Ident> = ordered.iter().filter_map(|f| f.ident.as_ref()).collect();
    let tys: Vec<&syn::Type> = ordered.iter().map(|f| &f.ty).collect();
    let mut field_metas: Vec<TokenStream> = fields
        .iter()
        .zip(names)
        .map(|(f, fname)| {
            let rust_type = crate::ast::type_name(&f.ty);
            quote!(#rr::FieldMeta { name: #fname, stored_as: #fname, rust_type: #rust_type, storage: #rr::FieldStorage::KeyPart, optional: false })
        })
        .collect();
    let suffix_bytes = syn::LitByteStr::new(format!(":{suffix}").as_bytes(), Span::call_site());
    let (write_tag, parse_tag) = if hash_tag.is_some() {
        (quote!(#rr::Ok(())), TokenStream::new())
    } else {
        field_metas.push(quote!(#rr::FieldMeta { name: "slot_tag", stored_as: "slot_tag", rust_type: "u32", storage: #rr::FieldStorage::KeyPart, optional: false }));
        (
            quote!(#rr::write_slot_tag(key, #suffix_bytes)),
            quote!(parts.part::<u32>()?;),
        )
    };
    let doc = format!(
        "{} [`{ident}`] (key `{family_source}`, in the stream key's hash slot; generated). List it in `keyspace!` next to `{ident}`.",
        what.doc
    );
    let kind = &what.kind;
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct #family {
            #(#[doc = "A part of the stream's key."] pub #idents: #tys,)*
        }

        #[doc(hidden)]
        const _: () = {
            #rr::inventory::submit! {
                #rr::ModelRegistration(<#family as #rr::Family>::META)
            }

            #[automatically_derived]
            impl #rr::Family for #family {
                type Id = #family;
                const META: &'static #rr::ModelMeta = &#rr::ModelMeta {
                    name: #family_name,
                    module_path: ::core::module_path!(),
                    key: #key_template,
                    kind: #kind,
                    ttl: #rr::None,
                    fields: &[#(#field_metas),*],
                    coordination: #rr::None,
                };

                fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    #(key.part::<#tys>(&id.#idents)?;)*
                    #write_tag
                }

                fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    let id = #family { #(#idents: parts.part::<#tys>()?,)* };
                    #parse_tag
                    #rr::Ok(id)
                }
            }
        };
    }
}

/// `tokens` with every token spanned at `span`, so an unsatisfied bound on
/// them is reported at the attribute that chose them.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            tree.set_span(span);
            tree
        })
        .collect()
}
