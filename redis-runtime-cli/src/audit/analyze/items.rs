//! The crate item index: the structs and free functions of every scanned
//! crate, so that a field access or a call in one file is classified by a
//! declaration in another.

use std::collections::HashMap;

use syn::{Item, Type};

use crate::audit::layout::{CrateKey, SourceFile};
use crate::audit::resolve::ModKey;

/// A struct (or enum) of a scanned crate: where it is declared, and its
/// fields (an enum's as `Variant.field`).
pub(super) struct StructDef<'a> {
    pub(super) module: ModKey,
    pub(super) fields: Vec<(String, &'a Type)>,
}

/// A free function of a scanned crate: where it is declared, and what it
/// returns.
pub(super) struct FnDef<'a> {
    pub(super) module: ModKey,
    pub(super) output: &'a syn::ReturnType,
}

/// A trait of a scanned crate: where it is declared, and its methods by
/// name and number of arguments after the receiver.
pub(super) struct TraitDef<'a> {
    pub(super) module: ModKey,
    pub(super) methods: Vec<(String, usize)>,
    pub(super) supertraits: Vec<&'a syn::TypeParamBound>,
}

/// An impl of a scanned crate's trait (by the trait's last path segment)
/// for a type: what the trait's methods are called on.
pub(super) struct TraitImpl<'a> {
    pub(super) module: ModKey,
    pub(super) trait_name: String,
    pub(super) self_ty: &'a Type,
}

/// The structs and free functions of every scanned crate, by crate and
/// name, so that a field access or a call in one file is classified by a
/// declaration in another (`state.sessions` with `AppState` declared in
/// `state.rs`).
#[derive(Default)]
pub(crate) struct CrateItems<'a> {
    pub(super) structs: HashMap<(CrateKey, String), Vec<StructDef<'a>>>,
    pub(super) fns: HashMap<(CrateKey, String), Vec<FnDef<'a>>>,
    pub(super) traits: HashMap<(CrateKey, String), Vec<TraitDef<'a>>>,
    pub(super) trait_impls: HashMap<CrateKey, Vec<TraitImpl<'a>>>,
    /// The crates of each package (library, binaries, tests, examples).
    pub(super) packages: HashMap<std::path::PathBuf, Vec<CrateKey>>,
}

impl<'a> CrateItems<'a> {
    pub(crate) fn build(files: &'a [(SourceFile, syn::File)]) -> CrateItems<'a> {
        let mut out = CrateItems::default();
        for (file, ast) in files {
            let module = ModKey {
                krate: file.krate.clone(),
                path: file.module.clone(),
            };
            out.collect(&module, &ast.items);
            let crates = out
                .packages
                .entry(file.krate.package_root.clone())
                .or_default();
            if !crates.contains(&file.krate) {
                crates.push(file.krate.clone());
            }
        }
        out
    }

    /// The declarations named `name` in `krate` (see [`CrateItems::lookup`]),
    /// or, when it has none, in the other crates of its package: an
    /// integration test or a binary naming the library's `RedisManager`.
    pub(super) fn lookup_related<'m, T>(
        &self,
        map: &'m HashMap<(CrateKey, String), Vec<T>>,
        krate: &CrateKey,
        name: &str,
    ) -> Vec<&'m T> {
        let own: Vec<&T> = Self::lookup(map, krate, name).collect();
        if !own.is_empty() {
            return own;
        }
        self.packages
            .get(&krate.package_root)
            .into_iter()
            .flatten()
            .filter(|k| *k != krate)
            .filter_map(|k| map.get(&(k.clone(), name.to_owned())))
            .flatten()
            .collect()
    }

    fn collect(&mut self, module: &ModKey, items: &'a [Item]) {
        for item in items {
            match item {
                Item::Struct(s) => {
                    let fields = s
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let name = f
                                .ident
                                .as_ref()
                                .map_or_else(|| i.to_string(), ToString::to_string);
                            (name, &f.ty)
                        })
                        .collect();
                    self.structs
                        .entry((module.krate.clone(), s.ident.to_string()))
                        .or_default()
                        .push(StructDef {
                            module: module.clone(),
                            fields,
                        });
                }
                // An enum's variants' fields, so that an enum holding a
                // connection (`enum Conn { Single(ConnectionManager), Pool(Pool) }`)
                // is known to hold Redis. They are named `Variant.field`, which
                // no field access can name.
                Item::Enum(e) => {
                    let fields = e
                        .variants
                        .iter()
                        .flat_map(|v| {
                            v.fields.iter().enumerate().map(move |(i, f)| {
                                let name = f
                                    .ident
                                    .as_ref()
                                    .map_or_else(|| i.to_string(), ToString::to_string);
                                (format!("{}.{name}", v.ident), &f.ty)
                            })
                        })
                        .collect();
                    self.structs
                        .entry((module.krate.clone(), e.ident.to_string()))
                        .or_default()
                        .push(StructDef {
                            module: module.clone(),
                            fields,
                        });
                }
                Item::Fn(f) => self
                    .fns
                    .entry((module.krate.clone(), f.sig.ident.to_string()))
                    .or_default()
                    .push(FnDef {
                        module: module.clone(),
                        output: &f.sig.output,
                    }),
                Item::Trait(t) => {
                    let methods = t
                        .items
                        .iter()
                        .filter_map(|i| match i {
                            syn::TraitItem::Fn(f) => Some(method_arity(&f.sig)),
                            _ => None,
                        })
                        .collect();
                    self.traits
                        .entry((module.krate.clone(), t.ident.to_string()))
                        .or_default()
                        .push(TraitDef {
                            module: module.clone(),
                            methods,
                            supertraits: t.supertraits.iter().collect(),
                        });
                }
                Item::Impl(imp) => {
                    if let Some((path, _)) = imp.trait_.as_ref()
                        && let Some(last) = path.segments.last()
                    {
                        self.trait_impls
                            .entry(module.krate.clone())
                            .or_default()
                            .push(TraitImpl {
                                module: module.clone(),
                                trait_name: last.ident.to_string(),
                                self_ty: &imp.self_ty,
                            });
                    }
                }
                Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        let mut path = module.path.clone();
                        path.push(m.ident.to_string());
                        let child = ModKey {
                            krate: module.krate.clone(),
                            path,
                        };
                        self.collect(&child, inner);
                    }
                }
                _ => {}
            }
        }
    }

    /// The declarations named `name` in `krate` (and in the directory its
    /// modules share with other crates, `tests/common/`).
    pub(super) fn lookup<'m, T>(
        map: &'m HashMap<(CrateKey, String), Vec<T>>,
        krate: &CrateKey,
        name: &str,
    ) -> impl Iterator<Item = &'m T> {
        let own = map.get(&(krate.clone(), name.to_owned()));
        let shared = krate
            .shared()
            .and_then(|shared| map.get(&(shared, name.to_owned())));
        own.into_iter().chain(shared).flatten()
    }
}

/// A method's name and the number of its arguments after the receiver.
fn method_arity(sig: &syn::Signature) -> (String, usize) {
    let receiver = usize::from(sig.receiver().is_some());
    (sig.ident.to_string(), sig.inputs.len() - receiver)
}
