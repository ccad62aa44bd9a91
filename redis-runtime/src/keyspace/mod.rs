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
//! Templates of other layouts (declared with `separator = "/"` or `"."`, or
//! with literal text around a placeholder inside a segment, `room={room}`)
//! are compared byte by byte instead: each is a sequence of literal bytes
//! (separators and braces included) and parts, a part being one or more of
//! the characters its type renders (any byte but the reserved ones and the
//! template's separator for text, which are escaped as `%XX`; digits and `-`
//! for integers; the letters of `true` and `false`; lower-case hex and `-`
//! for UUIDs), and a search looks for one key both accept. Two such
//! templates collide when it finds one; the error shows it. So
//! `game/{id}/state` (separator `/`) and `game:{id}` coexist, while the one
//! `:`-separated segment `game/{rest}` collides with it: its part may hold a
//! `/` as is. For integers, booleans and UUIDs this compares characters, not
//! canonical forms (`{n}.json` with `n: u64` and `007.json` are refused,
//! although the number never renders with a leading zero); it never misses a
//! collision. Templates of more than 127 bytes are not searched: they are
//! reported as colliding with any template of another layout.
//!
//! The namespace is a property of the store, applied to every model alike; it
//! neither causes nor prevents collisions inside one keyspace.

mod acl;
mod collide;
pub mod commands;
mod manifest;
mod registry;

pub use acl::{AclRule, AclSelector};
pub use collide::collide;
pub use manifest::{KeyFamily, Manifest, ManifestError, ManifestField, ManifestSegment};
pub use registry::{ModelRegistration, registered_models};

use crate::model::ModelMeta;
use collide::{Message, shared_key};

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
            models: &[$(<$model as $crate::model::Family>::META),*],
        };
        const _: () = $name.assert_disjoint();
    };
}

impl Keyspace {
    /// Panics (at compile time, when called in a `const`) if two models can
    /// render the same key or one model is listed twice. The message names both
    /// models and templates and shows a key they share.
    ///
    /// A model's index and unique-constraint families
    /// ([`ModelMeta::families`]) take part like declared models.
    pub const fn assert_disjoint(&self) {
        let count = family_count(self.models);
        let mut i = 0;
        while i < count {
            let mut j = i + 1;
            while j < count {
                let (a, b) = (family_at(self.models, i), family_at(self.models, j));
                // Channel names and keys never meet.
                let apart = matches!(a.kind, crate::model::Kind::Channel)
                    != matches!(b.kind, crate::model::Kind::Channel);
                if !apart && collide(&a.key, &b.key) {
                    let mut msg = Message::new();
                    if crate::key::str_eq(a.name, b.name)
                        && crate::key::str_eq(a.key.source, b.key.source)
                    {
                        msg.push("model `");
                        msg.push(a.name);
                        msg.push("` is listed twice in the keyspace");
                    } else {
                        msg.push("models `");
                        msg.push(a.name);
                        msg.push("` (key `");
                        msg.push(a.key.source);
                        msg.push("`) and `");
                        msg.push(b.name);
                        msg.push("` (key `");
                        msg.push(b.key.source);
                        msg.push("`) can render the same key, e.g. `");
                        shared_key(&a.key, &b.key, &mut msg);
                        msg.push("`; give one of them a literal segment the other cannot render");
                    }
                    msg.panic();
                }
                j += 1;
            }
            i += 1;
        }
    }

    /// Every key family of the keyspace: each declared model followed by its
    /// index and unique-constraint families ([`ModelMeta::families`]).
    pub fn families(&self) -> impl Iterator<Item = &'static ModelMeta> + '_ {
        self.models.iter().flat_map(|meta| meta.families())
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
                .families()
                .map(|meta| KeyFamily::from_meta(meta, namespace))
                .collect(),
        }
    }
}

/// How many key families `models` declare, constraint families included.
const fn family_count(models: &[&'static ModelMeta]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < models.len() {
        n += 1;
        if let Some(c) = models[i].coordination {
            n += c.constraints.len();
        }
        i += 1;
    }
    n
}

/// The `n`th key family of `models`, in [`Keyspace::families`] order.
const fn family_at(models: &[&'static ModelMeta], mut n: usize) -> &'static ModelMeta {
    let mut i = 0;
    while i < models.len() {
        if n == 0 {
            return models[i];
        }
        n -= 1;
        if let Some(c) = models[i].coordination {
            if n < c.constraints.len() {
                return &c.constraints[n].family;
            }
            n -= c.constraints.len();
        }
        i += 1;
    }
    panic!("family index out of range")
}
