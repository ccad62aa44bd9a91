//! The key manifest: every key family of a keyspace, as versioned JSON for
//! tools and Markdown for people.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AclRule;
use super::commands;
use crate::key::{PartShape, Segment, SegmentView};
use crate::model::{Encoding, FieldStorage, Kind, ModelMeta};

/// A manifest that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is not a manifest's JSON.
    #[error("invalid key manifest: {0}")]
    Invalid(String),
    /// The manifest was written by a newer version of the runtime.
    #[error(
        "key manifest version {found} is not supported (this runtime reads versions 1 to {supported})"
    )]
    UnsupportedVersion {
        /// The manifest's version.
        found: u32,
        /// The newest version this runtime reads ([`Manifest::VERSION`]).
        supported: u32,
    },
}

/// A key manifest: every key family of a keyspace, for people (Markdown) and
/// tools (JSON, with a versioned schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The schema version ([`Manifest::VERSION`]).
    pub version: u32,
    /// The namespace prefix every key carries (empty, or ending in `:`).
    pub namespace: String,
    /// One entry per model.
    pub families: Vec<KeyFamily>,
}

/// One key family: the keys of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFamily {
    /// The model's type name.
    pub model: String,
    /// The module that declares it.
    pub module: String,
    /// The key template as declared, without the namespace.
    pub template: String,
    /// The text between the template's segments: `:`, `/` or `.` (version
    /// 4 on; `:` when an older manifest is read).
    #[serde(default = "colon")]
    pub separator: String,
    /// The template's segments.
    pub segments: Vec<ManifestSegment>,
    /// A glob matching every key of the family, namespace included (also what
    /// the ACL rule grants). It may match keys of longer templates too.
    pub pattern: String,
    /// The Redis type of each key, as `TYPE` names it (`hash`, `string`,
    /// `list`, `set`, `zset`, `stream`; `channel` for a pub/sub family).
    pub redis_type: String,
    /// What the family holds ([`Kind::as_str`]): an entity's encoding
    /// (`hash`, `json`, `msgpack`, `raw` for `codec = raw`, or `codec:<NAME>`
    /// for a custom codec's [`NAME`](crate::codec::ValueCodec::NAME)), a
    /// collection kind, or `raw_family` with [`KeyFamily::is_raw`] for a family the
    /// application reaches by hand (`#[derive(RedisRaw)]`, version 4 on).
    pub encoding: String,
    /// The TTL a full save applies, in milliseconds; `None` when keys never expire.
    pub ttl_ms: Option<u64>,
    /// What updates do to the TTL.
    pub ttl_policy: String,
    /// The placeholder wrapped in `{…}` so a family shares a cluster slot.
    pub hash_tag: Option<String>,
    /// The struct's fields and how each is stored.
    pub fields: Vec<ManifestField>,
    /// Every command the runtime sends to the family's keys or calls on them
    /// from a script, lower case (from the runtime's command table; version 3
    /// on, filled from the table when an older manifest is read). For a raw
    /// family, the commands it declares, which the hand-written code sends.
    #[serde(default)]
    pub commands: Vec<String>,
}

/// One segment of a key template in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ManifestSegment {
    /// A literal segment.
    Literal {
        /// Its text.
        text: String,
    },
    /// A placeholder segment.
    Placeholder {
        /// The field it names.
        field: String,
        /// Whether it is the hash tag.
        hash_tag: bool,
        /// What the field's values render as: `text`, `integer`,
        /// `signed_integer`, `bool` or `uuid` (`text` in version 1 manifests,
        /// which did not record it).
        #[serde(default = "text_shape", with = "crate::key::shape::by_name")]
        shape: PartShape,
        /// Literal text before the placeholder inside its segment (`room=`
        /// in `room={room}`); absent when empty (version 4 on).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        prefix: String,
        /// Literal text after the placeholder inside its segment (`.json` in
        /// `{id}.json`); absent when empty (version 4 on).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        suffix: String,
    },
}

fn text_shape() -> PartShape {
    PartShape::Text
}

fn colon() -> String {
    ":".to_owned()
}

/// One field of a model in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestField {
    /// The Rust field name.
    pub name: String,
    /// The Rust type as written.
    pub rust_type: String,
    /// The hash field it is stored in (hash models; `None` when skipped).
    pub stored_as: Option<String>,
    /// `value`, `json` (a JSON hash field), `key` (an id field) or `skipped`.
    pub storage: String,
    /// Whether the field may be absent.
    pub optional: bool,
}

const COLLECTION_TTL_POLICY: &str = "the write that creates the key applies the declared TTL, in the same transaction; later writes never extend it; a store form of set algebra gives its destination the TTL; expire, persist and refresh_ttl change it explicitly";

const LEASE_TTL_POLICY: &str =
    "an acquire sets the declared TTL; the holder's extend re-arms it; release deletes the key";

const LEASE_FENCE_TTL_POLICY: &str =
    "never expires: the fencing token must never go back, also after its lease expired";

const RATE_LIMIT_TTL_POLICY: &str = "each counted request arms (fixed: the first of a window) or re-arms the TTL, so the key vanishes once it no longer limits anything";

const CONSTRAINT_TTL_POLICY: &str = "no TTL: the model's write scripts add and remove members with the entity; a member whose entity expired is dropped by the query that meets it and by the model's repair, and a unique value whose holder expired is taken over by the next write that claims it";
const RAW_TTL_POLICY: &str = "written by hand (`#[derive(RedisRaw)]`): the application's own code sets and keeps the TTL; doctor reports keys without one when a TTL is declared";
const TTL_POLICY: &str = "a full save, insert and replace apply the model TTL, and incr_or_insert applies it when it creates the entity; partial writes, updates and increments keep the current TTL; expire, persist, refresh_ttl and get_and_refresh change it explicitly";

impl KeyFamily {
    pub(super) fn from_meta(meta: &ModelMeta, namespace: &str) -> KeyFamily {
        let placeholders: Vec<&str> = meta.key.placeholders().collect();
        KeyFamily {
            model: meta.name.to_owned(),
            module: meta.module_path.to_owned(),
            template: meta.key.source.to_owned(),
            separator: char::from(meta.key.separator).to_string(),
            segments: meta
                .key
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(text) => ManifestSegment::Literal {
                        text: (*text).to_owned(),
                    },
                    Segment::Placeholder {
                        field,
                        hash_tag,
                        shape,
                        prefix,
                        suffix,
                    } => ManifestSegment::Placeholder {
                        field: (*field).to_owned(),
                        hash_tag: *hash_tag,
                        shape: *shape,
                        prefix: (*prefix).to_owned(),
                        suffix: (*suffix).to_owned(),
                    },
                })
                .collect(),
            pattern: meta.key.scan_pattern(namespace),
            redis_type: meta.kind.redis_type().to_owned(),
            encoding: match meta.kind {
                Kind::Entity(encoding) => encoding.describe().into_owned(),
                kind => kind.as_str().to_owned(),
            },
            ttl_ms: meta
                .ttl
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ttl_policy: match meta.kind {
                Kind::Entity(_) => TTL_POLICY,
                Kind::Lease => LEASE_TTL_POLICY,
                Kind::LeaseFence => LEASE_FENCE_TTL_POLICY,
                Kind::RateLimit(_) => RATE_LIMIT_TTL_POLICY,
                Kind::Index | Kind::RangeIndex | Kind::Unique => CONSTRAINT_TTL_POLICY,
                Kind::Raw { .. } => RAW_TTL_POLICY,
                _ => COLLECTION_TTL_POLICY,
            }
            .to_owned(),
            hash_tag: meta.key.hash_tag().map(str::to_owned),
            commands: match meta.kind.raw_commands() {
                Some(declared) => declared.iter().map(|c| (*c).to_owned()).collect(),
                None => family_commands(meta.kind),
            },
            fields: meta
                .fields
                .iter()
                .map(|f| {
                    let is_key = placeholders.contains(&f.name);
                    let hash = meta.kind == Kind::Entity(Encoding::Hash);
                    ManifestField {
                        name: f.name.to_owned(),
                        rust_type: f.rust_type.to_owned(),
                        stored_as: (hash && f.storage != FieldStorage::Skipped)
                            .then(|| f.stored_as.to_owned()),
                        storage: match f.storage {
                            FieldStorage::Skipped => "skipped",
                            _ if is_key => "key",
                            FieldStorage::Json => "json",
                            _ => "value",
                        }
                        .to_owned(),
                        optional: f.optional,
                    }
                })
                .collect(),
        }
    }

    /// Whether the family is a raw family (`#[derive(RedisRaw)]`): reached by
    /// the application's own code, its commands declared.
    pub fn is_raw(&self) -> bool {
        self.encoding == "raw_family"
    }

    /// Whether `key` (under `namespace`) is one this family's template renders.
    pub fn matches(&self, namespace: &str, key: &[u8]) -> bool {
        crate::key::split_key(self.views(), self.separator_byte(), namespace, key).is_some()
    }

    /// The separator as a byte (`:` for a manifest whose separator is not
    /// one of `:`, `/`, `.`: [`Manifest::from_json`] refuses those).
    pub fn separator_byte(&self) -> u8 {
        match self.separator.as_bytes() {
            [b] if crate::key::SEPARATORS.contains(b) => *b,
            _ => b':',
        }
    }

    /// The pattern the family's segments give under `namespace`: what
    /// [`KeyFamily::pattern`] must be.
    fn derived_pattern(&self, namespace: &str) -> String {
        crate::key::scan_pattern_of(namespace, self.separator_byte(), self.views())
    }

    fn views(&self) -> impl ExactSizeIterator<Item = SegmentView<'_>> + Clone {
        self.segments.iter().map(|s| match s {
            ManifestSegment::Literal { text } => SegmentView::Literal(text),
            ManifestSegment::Placeholder {
                hash_tag,
                shape,
                prefix,
                suffix,
                ..
            } => SegmentView::Placeholder {
                hash_tag: *hash_tag,
                shape: *shape,
                prefix,
                suffix,
            },
        })
    }

    /// A key of this family with every placeholder written as `part` (a
    /// hash-tagged one as `{part}`), under `namespace`: what doctor probes.
    pub fn sample_key(&self, namespace: &str, part: &str) -> String {
        let mut key = namespace.to_owned();
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                key.push_str(&self.separator);
            }
            match seg {
                ManifestSegment::Literal { text } => key.push_str(text),
                ManifestSegment::Placeholder {
                    hash_tag,
                    prefix,
                    suffix,
                    ..
                } => {
                    key.push_str(prefix);
                    if *hash_tag {
                        key.push('{');
                    }
                    key.push_str(part);
                    if *hash_tag {
                        key.push('}');
                    }
                    key.push_str(suffix);
                }
            }
        }
        key
    }

    /// The TTL a full save applies.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl_ms.map(Duration::from_millis)
    }
}

impl Manifest {
    /// The current schema version of the JSON form.
    ///
    /// Version 2 added each placeholder's `shape`, version 3 each family's
    /// `commands`, version 4 each family's `separator`, a placeholder's
    /// `prefix` and `suffix` inside its segment, and raw families (whose
    /// `commands` are the ones they declare and which the ACL rule grants in
    /// a selector of their own); older manifests are still read (their
    /// placeholders count as text, their commands come from the runtime's
    /// table, their separator is `:`).
    pub const VERSION: u32 = 4;

    /// The manifest as pretty-printed JSON (stable field order).
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    /// Reads a manifest written by [`Manifest::to_json`] (this version or an
    /// older one).
    pub fn from_json(json: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            serde_json::from_str(json).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        if !(1..=Manifest::VERSION).contains(&manifest.version) {
            return Err(ManifestError::UnsupportedVersion {
                found: manifest.version,
                supported: Manifest::VERSION,
            });
        }
        let mut manifest = manifest;
        for family in &mut manifest.families {
            if family.commands.is_empty() {
                family.commands = kind_commands(&family.encoding);
            }
            if !matches!(family.separator.as_str(), ":" | "/" | ".") {
                return Err(ManifestError::Invalid(format!(
                    "family `{}`: separator `{}` is not one of `:`, `/` and `.`",
                    family.model, family.separator
                )));
            }
            // The ACL rule grants `pattern`: it must be what the template
            // gives, not whatever the file says.
            let derived = family.derived_pattern(&manifest.namespace);
            if family.pattern != derived {
                return Err(ManifestError::Invalid(format!(
                    "family `{}`: pattern `{}` is not the one its template `{}` gives under namespace `{}` (`{derived}`)",
                    family.model, family.pattern, family.template, manifest.namespace
                )));
            }
        }
        Ok(manifest)
    }

    /// The family a key belongs to, if any.
    pub fn family_of(&self, key: &[u8]) -> Option<&KeyFamily> {
        self.families
            .iter()
            .find(|f| f.matches(&self.namespace, key))
    }

    /// The manifest as Markdown, for people.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let ns = if self.namespace.is_empty() {
            "(none)".to_owned()
        } else {
            format!("`{}`", self.namespace)
        };
        let _ = writeln!(out, "# Key manifest\n");
        let _ = writeln!(
            out,
            "Generated from the models' declarations (schema version {}); namespace {ns}.\n",
            self.version
        );
        let _ = writeln!(
            out,
            "| model | key | Redis type | encoding | TTL | hash tag | module |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for f in &self.families {
            let _ = writeln!(
                out,
                "| {} | `{}{}` | {} | {} | {} | {} | `{}` |",
                f.model,
                self.namespace,
                f.template,
                f.redis_type,
                f.encoding,
                f.ttl_ms.map_or("none".to_owned(), format_ttl),
                f.hash_tag
                    .as_deref()
                    .map_or("none".to_owned(), |t| format!("`{t}`")),
                f.module
            );
        }
        let _ = writeln!(out, "\nTTL policy of entities: {TTL_POLICY}.");
        if self
            .families
            .iter()
            .any(|f| f.ttl_policy == COLLECTION_TTL_POLICY)
        {
            let _ = writeln!(
                out,
                "\nTTL policy of collections and counters: {COLLECTION_TTL_POLICY}."
            );
        }
        for policy in [
            LEASE_TTL_POLICY,
            LEASE_FENCE_TTL_POLICY,
            RATE_LIMIT_TTL_POLICY,
        ] {
            let families: Vec<String> = self
                .families
                .iter()
                .filter(|f| f.ttl_policy == policy)
                .map(|f| format!("`{}`", f.model))
                .collect();
            if !families.is_empty() {
                let _ = writeln!(out, "\nTTL policy of {}: {policy}.", families.join(", "));
            }
        }
        let raw: Vec<String> = self
            .families
            .iter()
            .filter(|f| f.is_raw())
            .map(|f| format!("`{}`", f.model))
            .collect();
        if !raw.is_empty() {
            let _ = writeln!(
                out,
                "\nRaw families, reached by the application's own code (`#[derive(RedisRaw)]`): {}. TTL policy: {RAW_TTL_POLICY}.",
                raw.join(", ")
            );
        }
        if self
            .families
            .iter()
            .any(|f| f.ttl_policy == CONSTRAINT_TTL_POLICY)
        {
            let _ = writeln!(
                out,
                "\nTTL policy of indexes and unique constraints: {CONSTRAINT_TTL_POLICY}."
            );
        }
        for f in &self.families {
            let _ = writeln!(out, "\n## {}\n", f.model);
            let _ = writeln!(
                out,
                "Key `{}{}`, matched by `{}`.\n",
                self.namespace, f.template, f.pattern
            );
            if !f.commands.is_empty() {
                let commands: Vec<String> = f.commands.iter().map(|c| format!("`{c}`")).collect();
                let _ = writeln!(
                    out,
                    "{}: {}.\n",
                    if f.is_raw() {
                        "Raw family (kind `raw_family`, Redis type `".to_owned()
                            + &f.redis_type
                            + "`); commands the application's own code sends to it, the only ones its ACL selector grants"
                    } else {
                        "Commands the runtime uses on it".to_owned()
                    },
                    commands.join(", ")
                );
            }
            let _ = writeln!(out, "| field | Rust type | stored as | optional |");
            let _ = writeln!(out, "|---|---|---|---|");
            for field in &f.fields {
                let stored = match (&field.stored_as, field.storage.as_str()) {
                    (_, "skipped") => "not stored".to_owned(),
                    (Some(name), "key") => format!("hash field `{name}` and the key"),
                    (Some(name), "json") => format!("hash field `{name}` (JSON)"),
                    (Some(name), _) => format!("hash field `{name}`"),
                    (None, "key") if f.encoding == "raw" => "the key".to_owned(),
                    (None, "key") => "the key and the document".to_owned(),
                    (None, _) if f.encoding == "raw" => "the value, byte for byte".to_owned(),
                    (None, _) => format!("the {} document", f.encoding),
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} |",
                    field.name,
                    field.rust_type,
                    stored,
                    if field.optional { "yes" } else { "no" }
                );
            }
        }
        out
    }

    /// The ACL rule that lets an application user touch exactly this
    /// manifest's keys, with exactly the commands the runtime sends; each
    /// raw family's keys only with the commands it declares, in a selector of
    /// its own ([`AclRule::selectors`]).
    pub fn acl_rule(&self) -> AclRule {
        let channel = |f: &&KeyFamily| f.redis_type == "channel";
        AclRule {
            key_patterns: self
                .families
                .iter()
                .filter(|f| !channel(f) && !f.is_raw())
                .map(|f| f.pattern.clone())
                .collect(),
            selectors: self
                .families
                .iter()
                .filter(|f| f.is_raw())
                .map(|f| super::AclSelector {
                    model: f.model.clone(),
                    key_patterns: vec![f.pattern.clone()],
                    commands: f.commands.clone(),
                })
                .collect(),
            channel_patterns: self
                .families
                .iter()
                .filter(channel)
                .map(|f| f.pattern.clone())
                .collect(),
            commands: commands::runtime_commands()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The commands of the runtime's table for keys of `redis_type`.
fn family_commands(kind: Kind) -> Vec<String> {
    kind_commands(kind.as_str())
}

fn kind_commands(kind: &str) -> Vec<String> {
    commands::commands_for_kind(kind)
        .iter()
        .map(|c| c.name.to_owned())
        .collect()
}

fn format_ttl(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    let secs = d.as_secs();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
