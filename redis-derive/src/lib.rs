//! Implementation detail of `redis-runtime`: the `#[derive(RedisModel)]` macro.
//! Its documentation, the attribute reference, is on the re-export
//! `redis_runtime::RedisModel`.

mod ast;
mod attr;
mod check;
mod collection;
mod ctxt;
mod duration;
mod expand;
mod fallback;
mod key_part;
mod key_template;
mod key_tokens;
#[cfg(test)]
mod lease_tests;
mod raw_commands;
mod suggest;
mod symbol;
#[cfg(test)]
mod tests;

#[doc = include_str!("../README.md")]
#[proc_macro_derive(RedisModel, attributes(redis))]
pub fn derive_redis_model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Derives `redis_runtime::KeyPart` for an id newtype: a struct with exactly one
/// field renders into keys and parses back as that field, with its shape.
///
/// ```rust,ignore
/// #[derive(Debug, Clone, PartialEq, Eq, Hash, redis_runtime::KeyPart)]
/// pub struct TenantId(String);
/// ```
#[proc_macro_derive(KeyPart, attributes(redis))]
pub fn derive_key_part(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    key_part::derive(&input).into()
}

/// Derives `redis_runtime::RedisSet`: a set per key. The struct's fields are
/// the key template's placeholders; `member = T` names the members' type.
/// Documented on the re-export `redis_runtime::RedisSet`.
#[proc_macro_derive(RedisSet, attributes(redis))]
pub fn derive_redis_set(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Set).into()
}

/// Derives `redis_runtime::RedisSortedSet`: a sorted set per key, with
/// `member = T` and `score = S`. Documented on the re-export.
#[proc_macro_derive(RedisSortedSet, attributes(redis))]
pub fn derive_redis_sorted_set(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::SortedSet).into()
}

/// Derives `redis_runtime::RedisCounter`: an integer counter per key.
/// Documented on the re-export.
#[proc_macro_derive(RedisCounter, attributes(redis))]
pub fn derive_redis_counter(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Counter).into()
}

/// Derives `redis_runtime::collection::RedisList`: a list per key, with
/// `item = T` (serde), an optional `cap`, and `queue` for a reliable queue.
/// Documented on the re-export.
#[proc_macro_derive(RedisList, attributes(redis))]
pub fn derive_redis_list(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::List).into()
}

/// Derives `redis_runtime::collection::RedisMap`: a hash of typed fields and
/// values per key, with `field = K` and `value = V`. Documented on the re-export.
#[proc_macro_derive(RedisMap, attributes(redis))]
pub fn derive_redis_map(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Map).into()
}

/// Derives `redis_runtime::RedisLock`: a lease per key, with a required
/// `ttl`, and its generated fencing-token family `{Name}Fence`.
/// Documented on the re-export.
#[proc_macro_derive(RedisLock, attributes(redis))]
pub fn derive_redis_lock(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Lock).into()
}

/// Derives `redis_runtime::RedisRateLimit`: a rate limiter per key, with
/// `limit`, `per`, `algorithm` (`fixed`, `sliding` or `gcra`) and, for
/// GCRA, an optional `burst`. Documented on the re-export.
#[proc_macro_derive(RedisRateLimit, attributes(redis))]
pub fn derive_redis_rate_limit(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::RateLimit).into()
}

/// Derives `redis_runtime::RedisStream`: an event stream per key, with
/// `event = T` (serde), optional `maxlen`/`minid` trimming and `ttl`, and its
/// generated dead-letter (`{Name}DeadLetter`) and processed-id
/// (`{Name}Processed`) families. Documented on the re-export.
#[proc_macro_derive(RedisStream, attributes(redis))]
pub fn derive_redis_stream(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Stream).into()
}

/// Derives `redis_runtime::RedisChannel`: a pub/sub channel per name, with
/// `channel = "..."` (a name template, checked like a key template) and
/// `message = T` (serde). Documented on the re-export.
#[proc_macro_derive(RedisChannel, attributes(redis))]
pub fn derive_redis_channel(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Channel).into()
}

/// Derives `redis_runtime::RedisRaw`: a key family the application still
/// reaches by hand (through `Store::raw_access`), declared with `key`,
/// `redis_type` (`string`, `hash`, `list`, `set`, `zset` or `stream`),
/// `commands` (the commands its code sends, checked against Redis's) and an
/// optional `ttl`, so the manifest, the ACL rule and doctor cover it. It has
/// no typed operations. Documented on the re-export.
#[proc_macro_derive(RedisRaw, attributes(redis))]
pub fn derive_redis_raw(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    collection::derive(&input, collection::CollectionKind::Raw).into()
}
