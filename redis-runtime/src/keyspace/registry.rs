//! The registry of every model linked into the program (each derive submits
//! one registration), and the check that a keyspace lists them all.

use super::Keyspace;
use crate::model::ModelMeta;

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
