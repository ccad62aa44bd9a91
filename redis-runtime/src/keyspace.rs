//! The keyspace as the single source of truth: the declaration of an
//! application's models ([`keyspace!`](crate::keyspace!)), the compile-time
//! check that no two of them can render the same key, the key manifest, and the
//! ACL rule derived from it.
//!
//! # When two templates collide
//!
//! Two templates collide when some key can be rendered from both. Because
//! placeholder values are escaped (they never contain `:`, `{` or `}`), keys
//! split into segments exactly, and the rule is segment by segment:
//!
//! - templates with different segment counts never collide, so `user:{id}` and
//!   `user:{id}:profile` may coexist (a prefix is not a collision: stores' scans
//!   check every key against the template, not just the glob);
//! - two literals match only when equal;
//! - a literal and a placeholder match when the placeholder's type can render
//!   that literal: any string can, an integer only renders digits, so
//!   `user:{id}` with `id: u64` and `user:admin` may coexist but `user:{name}`
//!   with `name: String` and `user:admin` collide;
//! - two placeholders match when their types can render a common value (a
//!   `String` and a `u64` can; a `u64` and a `bool` cannot);
//! - a hash-tagged placeholder renders `{value}`, which neither a literal nor an
//!   untagged placeholder can produce, so it only matches another tagged one.
//!
//! The namespace is a property of the store, applied to every model alike; it
//! neither causes nor prevents collisions inside one keyspace.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::key::{KeyTemplate, PartShape, Segment, SegmentView};
use crate::model::{Encoding, FieldStorage, ModelMeta};

/// The models of an application, declared with [`keyspace!`](crate::keyspace!).
#[derive(Debug, Clone, Copy)]
pub struct Keyspace {
    /// The declared models.
    pub models: &'static [&'static ModelMeta],
}

/// Declares an application's keyspace: a `const` [`Keyspace`] listing its
/// models, checked at compile time so that no two of them can render the same
/// key (see [the rules](mod@crate::keyspace)).
///
/// ```
/// use redis_runtime::{keyspace, RedisModel};
///
/// #[derive(RedisModel)]
/// #[redis(key = "user:{id}")]
/// struct User { id: u64, email: String }
///
/// #[derive(RedisModel)]
/// #[redis(key = "user:{id}:profile")]
/// struct Profile { id: u64, bio: String }
///
/// keyspace! {
///     /// Everything this service keeps in Redis.
///     pub APP = [User, Profile];
/// }
///
/// assert_eq!(APP.models.len(), 2);
/// ```
///
/// Two models that can render the same key fail to compile, naming both:
///
/// ```compile_fail
/// use redis_runtime::{keyspace, RedisModel};
///
/// #[derive(RedisModel)]
/// #[redis(key = "user:{name}")]
/// struct User { name: String }
///
/// #[derive(RedisModel)]
/// #[redis(key = "user:admin")]
/// struct Admin { level: u8 }
///
/// keyspace! { APP = [User, Admin]; }
/// ```
#[macro_export]
macro_rules! keyspace {
    ($(#[$attr:meta])* $vis:vis $name:ident = [$($model:ty),* $(,)?];) => {
        $(#[$attr])*
        $vis const $name: $crate::Keyspace = $crate::Keyspace {
            models: &[$(<$model as $crate::RedisModel>::META),*],
        };
        const _: () = $name.assert_disjoint();
    };
}

impl Keyspace {
    /// Panics (at compile time, when called in a `const`) if two models can
    /// render the same key or one model is listed twice. The message names both
    /// models and templates and shows a key they share.
    pub const fn assert_disjoint(&self) {
        let models = self.models;
        let mut i = 0;
        while i < models.len() {
            let mut j = i + 1;
            while j < models.len() {
                if collide(&models[i].key, &models[j].key) {
                    let mut msg = Message::new();
                    if str_eq(models[i].name, models[j].name)
                        && str_eq(models[i].key.source, models[j].key.source)
                    {
                        msg.push("model `");
                        msg.push(models[i].name);
                        msg.push("` is listed twice in the keyspace");
                    } else {
                        msg.push("models `");
                        msg.push(models[i].name);
                        msg.push("` (key `");
                        msg.push(models[i].key.source);
                        msg.push("`) and `");
                        msg.push(models[j].name);
                        msg.push("` (key `");
                        msg.push(models[j].key.source);
                        msg.push("`) can render the same key, e.g. `");
                        shared_key(&models[i].key, &models[j].key, &mut msg);
                        msg.push("`; give one of them a literal segment the other cannot render");
                    }
                    msg.panic();
                }
                j += 1;
            }
            i += 1;
        }
    }

    /// The manifest of this keyspace under `namespace` (empty, or ending in `:`).
    pub fn manifest(&self, namespace: &str) -> Manifest {
        // As `Config` does: `app` and `app:` are the same namespace.
        let namespace = match namespace.trim_end_matches(':') {
            "" => String::new(),
            ns => format!("{ns}:"),
        };
        let namespace = namespace.as_str();
        Manifest {
            version: Manifest::VERSION,
            namespace: namespace.to_owned(),
            families: self
                .models
                .iter()
                .map(|meta| KeyFamily::from_meta(meta, namespace))
                .collect(),
        }
    }
}

/// A model's registration: every `#[derive(RedisModel)]` submits one, so the
/// application can list every model it declares, in a keyspace or not.
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelRegistration(pub &'static ModelMeta);

inventory::collect!(ModelRegistration);

/// Every model linked into this program, in no particular order.
pub fn registered_models() -> impl Iterator<Item = &'static ModelMeta> {
    inventory::iter::<ModelRegistration>
        .into_iter()
        .map(|registration| registration.0)
}

impl Keyspace {
    /// Models linked into this program that this keyspace does not list: a
    /// declaration someone forgot, whose keys the manifest, the ACL rule and
    /// doctor would not know. Tests can assert it is empty.
    pub fn unlisted(&self) -> Vec<&'static ModelMeta> {
        let mut unlisted: Vec<&'static ModelMeta> = registered_models()
            .filter(|meta| {
                !self
                    .models
                    .iter()
                    .any(|listed| std::ptr::eq(*listed, *meta) || **listed == **meta)
            })
            .collect();
        unlisted.sort_by_key(|meta| (meta.module_path, meta.name));
        unlisted.dedup_by(|a, b| a == b);
        unlisted
    }
}

/// Whether two templates can render a common key.
pub const fn collide(a: &KeyTemplate, b: &KeyTemplate) -> bool {
    if a.segments.len() != b.segments.len() {
        return false;
    }
    let mut i = 0;
    while i < a.segments.len() {
        if !segments_overlap(&a.segments[i], &b.segments[i]) {
            return false;
        }
        i += 1;
    }
    true
}

const fn segments_overlap(a: &Segment, b: &Segment) -> bool {
    match (a, b) {
        (Segment::Literal(x), Segment::Literal(y)) => str_eq(x, y),
        (
            Segment::Literal(lit),
            Segment::Placeholder {
                hash_tag, shape, ..
            },
        )
        | (
            Segment::Placeholder {
                hash_tag, shape, ..
            },
            Segment::Literal(lit),
        ) => !*hash_tag && shape.can_render(lit),
        (
            Segment::Placeholder {
                hash_tag: ta,
                shape: sa,
                ..
            },
            Segment::Placeholder {
                hash_tag: tb,
                shape: sb,
                ..
            },
        ) => *ta == *tb && sa.overlaps(sb),
    }
}

/// Writes a key both templates render (they are known to collide).
const fn shared_key(a: &KeyTemplate, b: &KeyTemplate, out: &mut Message) {
    let mut i = 0;
    while i < a.segments.len() {
        if i > 0 {
            out.push(":");
        }
        match (&a.segments[i], &b.segments[i]) {
            (Segment::Literal(lit), _) | (_, Segment::Literal(lit)) => out.push(lit),
            (
                Segment::Placeholder {
                    hash_tag, shape, ..
                },
                Segment::Placeholder { shape: other, .. },
            ) => {
                if *hash_tag {
                    out.push("{");
                }
                out.push(shape.common_sample(other));
                if *hash_tag {
                    out.push("}");
                }
            }
        }
        i += 1;
    }
}

pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A message built at compile time, for a `const` panic.
struct Message {
    buf: [u8; 1024],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Message {
            buf: [0; 1024],
            len: 0,
        }
    }

    const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut i = 0;
        // Truncate at a character boundary if the message would overflow.
        while i < bytes.len() && self.len < self.buf.len() - 4 {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        while self.len > 0 && (self.buf[self.len - 1] & 0xC0) == 0x80 && i < bytes.len() {
            self.len -= 1;
        }
    }

    const fn panic(&self) -> ! {
        let (head, _) = self.buf.split_at(self.len);
        match std::str::from_utf8(head) {
            Ok(message) => panic!("{}", message),
            Err(_) => panic!("two models of the keyspace can render the same key"),
        }
    }
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
    /// The template's segments.
    pub segments: Vec<ManifestSegment>,
    /// A glob matching every key of the family, namespace included (also what
    /// the ACL rule grants). It may match keys of longer templates too.
    pub pattern: String,
    /// The Redis type of each key: `hash` or `string`.
    pub redis_type: String,
    /// `hash`, `json` or `msgpack`.
    pub encoding: String,
    /// The TTL a full save applies, in milliseconds; `None` when keys never expire.
    pub ttl_ms: Option<u64>,
    /// What updates do to the TTL.
    pub ttl_policy: String,
    /// The placeholder wrapped in `{…}` so a family shares a cluster slot.
    pub hash_tag: Option<String>,
    /// The struct's fields and how each is stored.
    pub fields: Vec<ManifestField>,
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
        #[serde(default = "text_shape", with = "shape_name")]
        shape: PartShape,
    },
}

fn text_shape() -> PartShape {
    PartShape::Text
}

/// `PartShape` by name in the manifest's JSON.
mod shape_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::key::PartShape;

    pub(super) fn serialize<S: Serializer>(shape: &PartShape, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match shape {
            PartShape::Integer { signed: false } => "integer",
            PartShape::Integer { signed: true } => "signed_integer",
            PartShape::Bool => "bool",
            PartShape::Uuid => "uuid",
            PartShape::Text => "text",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PartShape, D::Error> {
        let name = String::deserialize(d)?;
        Ok(match name.as_str() {
            "text" => PartShape::Text,
            "integer" => PartShape::Integer { signed: false },
            "signed_integer" => PartShape::Integer { signed: true },
            "bool" => PartShape::Bool,
            "uuid" => PartShape::Uuid,
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["text", "integer", "signed_integer", "bool", "uuid"],
                ));
            }
        })
    }
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

const TTL_POLICY: &str = "a full save applies the model TTL; partial writes and increments keep the current TTL; expire, persist and refresh_ttl change it explicitly";

impl KeyFamily {
    fn from_meta(meta: &ModelMeta, namespace: &str) -> KeyFamily {
        let placeholders: Vec<&str> = meta.key.placeholders().collect();
        KeyFamily {
            model: meta.name.to_owned(),
            module: meta.module_path.to_owned(),
            template: meta.key.source.to_owned(),
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
                    } => ManifestSegment::Placeholder {
                        field: (*field).to_owned(),
                        hash_tag: *hash_tag,
                        shape: *shape,
                    },
                })
                .collect(),
            pattern: meta.key.scan_pattern(namespace),
            redis_type: meta.encoding.redis_type().to_owned(),
            encoding: meta.encoding.as_str().to_owned(),
            ttl_ms: meta
                .ttl
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ttl_policy: TTL_POLICY.to_owned(),
            hash_tag: meta.key.hash_tag().map(str::to_owned),
            fields: meta
                .fields
                .iter()
                .map(|f| {
                    let is_key = placeholders.contains(&f.name);
                    let hash = meta.encoding == Encoding::Hash;
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

    /// Whether `key` (under `namespace`) is one this family's template renders.
    pub fn matches(&self, namespace: &str, key: &[u8]) -> bool {
        let shape = self.segments.iter().map(|s| match s {
            ManifestSegment::Literal { text } => SegmentView::Literal(text),
            ManifestSegment::Placeholder {
                hash_tag, shape, ..
            } => SegmentView::Placeholder {
                hash_tag: *hash_tag,
                shape: *shape,
            },
        });
        crate::key::split_key(shape, namespace, key).is_some()
    }

    /// The TTL a full save applies.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl_ms.map(Duration::from_millis)
    }
}

impl Manifest {
    /// The current schema version of the JSON form.
    ///
    /// Version 2 added each placeholder's `shape`; version 1 manifests are
    /// still read (their placeholders count as text).
    pub const VERSION: u32 = 2;

    /// The manifest as pretty-printed JSON (stable field order).
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    /// Reads a manifest written by [`Manifest::to_json`].
    pub fn from_json(json: &str) -> Result<Manifest, crate::Error> {
        let manifest: Manifest = serde_json::from_str(json)
            .map_err(|e| crate::Error::Config(format!("invalid key manifest: {e}")))?;
        if !(1..=Manifest::VERSION).contains(&manifest.version) {
            return Err(crate::Error::Config(format!(
                "key manifest version {} is not supported (expected {})",
                manifest.version,
                Manifest::VERSION
            )));
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
        let _ = writeln!(out, "\nTTL policy: {TTL_POLICY}.");
        for f in &self.families {
            let _ = writeln!(out, "\n## {}\n", f.model);
            let _ = writeln!(
                out,
                "Key `{}{}`, matched by `{}`.\n",
                self.namespace, f.template, f.pattern
            );
            let _ = writeln!(out, "| field | Rust type | stored as | optional |");
            let _ = writeln!(out, "|---|---|---|---|");
            for field in &f.fields {
                let stored = match (&field.stored_as, field.storage.as_str()) {
                    (_, "skipped") => "not stored".to_owned(),
                    (Some(name), "key") => format!("hash field `{name}` and the key"),
                    (Some(name), "json") => format!("hash field `{name}` (JSON)"),
                    (Some(name), _) => format!("hash field `{name}`"),
                    (None, "key") => "the key and the document".to_owned(),
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
    /// manifest's keys, with exactly the commands the runtime sends.
    pub fn acl_rule(&self) -> AclRule {
        AclRule {
            key_patterns: self.families.iter().map(|f| f.pattern.clone()).collect(),
            commands: RUNTIME_COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
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

/// Every command the runtime sends, including those its Lua scripts call (the
/// server checks those against the ACL too) and those redis-rs sends when it
/// connects.
pub const RUNTIME_COMMANDS: &[&str] = &[
    // Connection set-up and health. (redis-rs also sends `CLIENT SETINFO`,
    // which Redis 7.0 lacks and redis-rs lets fail; it is not required.)
    "ping", "hello", "select", // Entities.
    "multi", "exec", "discard", "del", "hset", "hdel", "hget", "hgetall", "hincrby", "get", "set",
    "mget", "exists", "pexpire", "persist", "pttl", "scan", // The script runner.
    "evalsha", "eval",
];

/// An ACL rule derived from a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    /// Key patterns the user may touch.
    pub key_patterns: Vec<String>,
    /// Commands the user may run (lower case; `parent|sub` for subcommands).
    pub commands: Vec<String>,
}

impl AclRule {
    /// The rule's arguments for `ACL SETUSER <user> ...`: resets keys, channels
    /// and commands, then allows exactly this rule's keys and commands. Add `on`
    /// and a password (`>secret`) when creating the user.
    pub fn setuser_args(&self) -> Vec<String> {
        let mut args = vec![
            "resetkeys".to_owned(),
            "resetchannels".to_owned(),
            "-@all".to_owned(),
        ];
        args.extend(self.key_patterns.iter().map(|p| format!("~{p}")));
        args.extend(self.commands.iter().map(|c| format!("+{c}")));
        args
    }

    /// The key patterns that begin with a placeholder's glob (no namespace, and
    /// a template starting with a placeholder, like `{tenant}:user:{id}`):
    /// `?*` also matches `:`, so such a pattern grants other applications'
    /// keys too (`~?*` is every key). Give the application a namespace.
    pub fn broad_patterns(&self) -> Vec<&str> {
        self.key_patterns
            .iter()
            .filter(|p| p.starts_with('?') || p.starts_with("{?*}"))
            .map(String::as_str)
            .collect()
    }

    /// The full `ACL SETUSER` command line for `user`, for a `users.acl` file or
    /// `redis-cli`. The password is not included; append `>password` or `#sha256`.
    pub fn setuser_command(&self, user: &str) -> String {
        let mut line = format!("ACL SETUSER {user} on");
        for arg in self.setuser_args() {
            line.push(' ');
            line.push_str(&arg);
        }
        line
    }
}

/// Compile-time: two shapes can render a common value.
impl PartShape {
    const fn overlaps(&self, other: &PartShape) -> bool {
        match (self, other) {
            (PartShape::Text, _) | (_, PartShape::Text) => true,
            (PartShape::Integer { signed: a }, PartShape::Integer { signed: b }) => {
                // Both render non-negative numbers; only signed ones render `-1`.
                let _ = (a, b);
                true
            }
            (PartShape::Bool, PartShape::Bool) | (PartShape::Uuid, PartShape::Uuid) => true,
            _ => false,
        }
    }

    /// Whether a value of this shape can render as `lit`.
    pub(crate) const fn can_render(&self, lit: &str) -> bool {
        let b = lit.as_bytes();
        match self {
            PartShape::Text => true,
            PartShape::Bool => str_eq(lit, "true") || str_eq(lit, "false"),
            PartShape::Integer { signed } => {
                let start = if *signed && b.len() > 1 && b[0] == b'-' {
                    1
                } else {
                    0
                };
                if b.len() == start {
                    return false;
                }
                // Canonical decimal: no leading zero (except `0` itself), no `-0`.
                if b[start] == b'0' && (b.len() > start + 1 || start == 1) {
                    return false;
                }
                let mut i = start;
                while i < b.len() {
                    if !b[i].is_ascii_digit() {
                        return false;
                    }
                    i += 1;
                }
                true
            }
            PartShape::Uuid => {
                if b.len() != 36 {
                    return false;
                }
                let mut i = 0;
                while i < 36 {
                    let ok = if i == 8 || i == 13 || i == 18 || i == 23 {
                        b[i] == b'-'
                    } else {
                        b[i].is_ascii_digit() || (b[i] >= b'a' && b[i] <= b'f')
                    };
                    if !ok {
                        return false;
                    }
                    i += 1;
                }
                true
            }
        }
    }

    /// A value both shapes render (they are known to overlap).
    const fn common_sample(&self, other: &PartShape) -> &'static str {
        match (self, other) {
            (PartShape::Text, PartShape::Text) => "x",
            (PartShape::Bool, _) | (_, PartShape::Bool) => "true",
            (PartShape::Uuid, _) | (_, PartShape::Uuid) => "00000000-0000-0000-0000-000000000000",
            _ => "1",
        }
    }
}
