//! The names of `#[redis(...)]` attributes.

use std::fmt;

use syn::{Ident, Path};

#[derive(Copy, Clone)]
pub(crate) struct Symbol(pub(crate) &'static str);

pub(crate) const REDIS: Symbol = Symbol("redis");
pub(crate) const KEY: Symbol = Symbol("key");
pub(crate) const ENCODING: Symbol = Symbol("encoding");
pub(crate) const CODEC: Symbol = Symbol("codec");
pub(crate) const TTL: Symbol = Symbol("ttl");
pub(crate) const HASH_TAG: Symbol = Symbol("hash_tag");
pub(crate) const SEPARATOR: Symbol = Symbol("separator");
pub(crate) const DENY_UNKNOWN_FIELDS: Symbol = Symbol("deny_unknown_fields");
pub(crate) const CRATE: Symbol = Symbol("crate");
pub(crate) const RENAME: Symbol = Symbol("rename");
pub(crate) const SKIP: Symbol = Symbol("skip");
pub(crate) const JSON: Symbol = Symbol("json");
pub(crate) const DEFAULT: Symbol = Symbol("default");
pub(crate) const UNIQUE: Symbol = Symbol("unique");
pub(crate) const INDEX: Symbol = Symbol("index");
pub(crate) const RANGE: Symbol = Symbol("range");
pub(crate) const VERSION: Symbol = Symbol("version");
pub(crate) const CLIENT_CACHE: Symbol = Symbol("client_cache");
pub(crate) const MAX_ENTRIES: Symbol = Symbol("max_entries");
pub(crate) const MAX_BYTES: Symbol = Symbol("max_bytes");

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
