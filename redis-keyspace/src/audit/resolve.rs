//! Name resolution: what a path means, given the `use` items, `extern
//! crate` items and item declarations of the modules around it.
//!
//! Every module of every scanned crate gets a [`ModuleData`] in a
//! [`ModuleTable`]; its `use` items are resolved to a fixpoint across files, so
//! `use crate::prelude::*` sees what `prelude.rs` re-exports, `use
//! deadpool_redis::redis; use redis::AsyncCommands;` sees the alias, and a
//! local `mod redis` shadows the crate.

use std::collections::{BTreeMap, HashMap, HashSet};

use syn::{Item, UseTree};

use super::commands::{self, Families};
use super::layout::{CrateKey, SourceFile};

/// A module of a scanned crate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ModKey {
    pub(crate) krate: CrateKey,
    pub(crate) path: Vec<String>,
}

/// What a name or path refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Binding {
    /// An item of the redis crate: the path below the crate root (empty for
    /// the root itself, wherever it came from: `redis`, an alias,
    /// `deadpool_redis::redis`, ...).
    Redis(Vec<String>),
    /// A module of a scanned crate.
    Module(ModKey),
    /// An item declared in scanned code (fn, struct, enum, const, ...).
    Local(String),
    /// An item of another crate (`std`, `serde`, `redis_runtime`, ...).
    External(Vec<String>),
    /// Could not be resolved (a name from a glob import of code that was not
    /// scanned, say).
    Unknown,
}

impl Binding {
    /// Follow one more path segment.
    pub(crate) fn child(&self, table: &ModuleTable, segment: &str) -> Binding {
        match self {
            Binding::Redis(path) => {
                let mut path = path.clone();
                path.push(segment.to_owned());
                Binding::Redis(path)
            }
            Binding::Module(key) => table
                .lookup_in_module(key, segment, &mut HashSet::new())
                .unwrap_or(Binding::Unknown),
            Binding::External(path) => {
                if segment == "redis" {
                    return Binding::Redis(Vec::new());
                }
                let mut path = path.clone();
                path.push(segment.to_owned());
                Binding::External(path)
            }
            Binding::Local(name) => Binding::Local(name.clone()),
            Binding::Unknown => Binding::Unknown,
        }
    }

    /// The command-trait family this binding names, if it is one.
    pub(crate) fn trait_family(&self) -> Option<Families> {
        match self {
            Binding::Redis(path) => path.last().and_then(|name| commands::trait_family(name)),
            _ => None,
        }
    }
}

/// One leaf of a `use` tree, flattened.
#[derive(Clone, Debug)]
pub(crate) struct UseLeaf {
    /// Whether the path started with `::`.
    pub(crate) leading_colon: bool,
    /// The path up to the leaf (`redis::aio` for `use redis::aio::ConnectionLike`).
    pub(crate) prefix: Vec<String>,
    /// The leaf.
    pub(crate) kind: LeafKind,
}

/// The end of a `use` path.
#[derive(Clone, Debug)]
pub(crate) enum LeafKind {
    /// `name` or `name as alias` (`self` for `{self}` and `{self as x}`).
    /// An alias of `_` imports a trait anonymously.
    Name { name: String, alias: Option<String> },
    /// `*`.
    Glob,
}

impl UseLeaf {
    /// The full path of a named leaf (`{self}` resolves to its prefix).
    pub(crate) fn full_path(&self) -> Vec<String> {
        let mut path = self.prefix.clone();
        if let LeafKind::Name { name, .. } = &self.kind
            && name != "self"
        {
            path.push(name.clone());
        }
        path
    }

    /// The name this leaf binds, if any (`None` for globs and `as _`).
    pub(crate) fn bound_name(&self) -> Option<String> {
        match &self.kind {
            LeafKind::Name { alias: Some(a), .. } if a == "_" => None,
            LeafKind::Name { alias: Some(a), .. } => Some(a.clone()),
            LeafKind::Name { name, .. } if name == "self" => self.prefix.last().cloned(),
            LeafKind::Name { name, .. } => Some(name.clone()),
            LeafKind::Glob => None,
        }
    }
}

/// Flatten a `use` tree into its leaves.
pub(crate) fn use_leaves(leading_colon: bool, tree: &UseTree) -> Vec<UseLeaf> {
    fn walk(tree: &UseTree, leading_colon: bool, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, leading_colon, prefix, out);
                prefix.pop();
            }
            UseTree::Name(n) => out.push(UseLeaf {
                leading_colon,
                prefix: prefix.clone(),
                kind: LeafKind::Name {
                    name: n.ident.to_string(),
                    alias: None,
                },
            }),
            UseTree::Rename(r) => out.push(UseLeaf {
                leading_colon,
                prefix: prefix.clone(),
                kind: LeafKind::Name {
                    name: r.ident.to_string(),
                    alias: Some(r.rename.to_string()),
                },
            }),
            UseTree::Glob(_) => out.push(UseLeaf {
                leading_colon,
                prefix: prefix.clone(),
                kind: LeafKind::Glob,
            }),
            UseTree::Group(g) => {
                for item in &g.items {
                    walk(item, leading_colon, prefix, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, leading_colon, &mut Vec::new(), &mut out);
    out
}

/// What one module declares and imports.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModuleData {
    /// Items declared here, by name.
    pub(crate) items: HashMap<String, Binding>,
    /// `extern crate x as y;` items, by the name they bind.
    pub(crate) extern_crates: HashMap<String, String>,
    /// The module's `use` leaves, unresolved.
    pub(crate) uses: Vec<UseLeaf>,
    /// Names bound by resolved `use` leaves.
    pub(crate) imports: HashMap<String, Binding>,
    /// Things imported anonymously (`use redis::Commands as _;`).
    pub(crate) anonymous: Vec<Binding>,
    /// Sources of glob imports.
    pub(crate) globs: Vec<Binding>,
    /// Whether the module is a crate root.
    pub(crate) is_root: bool,
}

/// Every module of every scanned crate, plus what is known crate-wide.
#[derive(Debug, Default)]
pub(crate) struct ModuleTable {
    pub(crate) modules: BTreeMap<ModKey, ModuleData>,
    /// Names bound crate-wide by `extern crate x as y;` in a crate root.
    pub(crate) extern_prelude: HashMap<CrateKey, HashMap<String, String>>,
    /// Library crates by the name other crates use for them.
    pub(crate) libraries: HashMap<String, CrateKey>,
    /// Names of types that implement a redis trait, per crate.
    pub(crate) redis_types: HashMap<CrateKey, HashSet<String>>,
    /// Trait impls whose trait is resolved once imports are.
    pending_impls: Vec<PendingImpl>,
    /// Type aliases whose target is resolved once imports are.
    pending_aliases: Vec<PendingAlias>,
    /// Names of types that implement `Deref` or alias a type that is not
    /// known, per crate (they may be or deref to a connection, so method
    /// calls on them are not known to be non-Redis).
    pub(crate) deref_types: HashMap<CrateKey, HashSet<String>>,
}

#[derive(Debug)]
struct PendingImpl {
    module: ModKey,
    leading_colon: bool,
    trait_path: Vec<String>,
    self_name: String,
}

#[derive(Debug)]
struct PendingAlias {
    module: ModKey,
    name: String,
    target: Option<(bool, Vec<String>)>,
}

/// The path of a type, through references and parentheses.
pub(crate) fn type_path(ty: &syn::Type) -> Option<(bool, Vec<String>)> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => Some((
            p.path.leading_colon.is_some(),
            p.path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect(),
        )),
        syn::Type::Reference(r) => type_path(&r.elem),
        syn::Type::Paren(p) => type_path(&p.elem),
        syn::Type::Group(g) => type_path(&g.elem),
        _ => None,
    }
}

/// Standard-prelude names (the `std` side of a single-segment path that no
/// `use` binds).
const STD_PRELUDE: &[&str] = &[
    "Vec",
    "String",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Box",
    "ToString",
    "ToOwned",
    "Clone",
    "Copy",
    "Default",
    "Iterator",
    "IntoIterator",
    "Extend",
    "From",
    "Into",
    "TryFrom",
    "TryInto",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Send",
    "Sync",
    "Sized",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "AsRef",
    "AsMut",
    "bool",
    "char",
    "str",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "std",
    "core",
    "alloc",
    "drop",
];

impl ModuleTable {
    /// Build the table for `files` and resolve every `use` to a fixpoint.
    pub(crate) fn build(files: &[(SourceFile, syn::File)]) -> ModuleTable {
        let mut table = ModuleTable::default();
        for (file, ast) in files {
            if file.module.is_empty() && file.krate.target == "src" {
                table
                    .libraries
                    .insert(file.crate_name.clone(), file.krate.clone());
            }
            // `myredis = { package = "redis" }` in Cargo.toml binds
            // `myredis` crate-wide, like `extern crate redis as myredis;`.
            if !file.renames.is_empty() {
                let prelude = table.extern_prelude.entry(file.krate.clone()).or_default();
                for (name, krate) in &file.renames {
                    prelude.entry(name.clone()).or_insert_with(|| krate.clone());
                }
            }
            let key = ModKey {
                krate: file.krate.clone(),
                path: file.module.clone(),
            };
            table.collect_module(key, &ast.items, file.module.is_empty());
        }
        table.resolve_all();
        table.resolve_impls();
        table.resolve_aliases();
        table
    }

    fn collect_module(&mut self, key: ModKey, items: &[Item], is_root: bool) {
        let mut data = ModuleData {
            is_root,
            ..ModuleData::default()
        };
        for item in items {
            match item {
                Item::Use(u) => data
                    .uses
                    .extend(use_leaves(u.leading_colon.is_some(), &u.tree)),
                Item::ExternCrate(e) => {
                    let krate = e.ident.to_string();
                    let name = e
                        .rename
                        .as_ref()
                        .map_or_else(|| krate.clone(), |(_, r)| r.to_string());
                    if is_root {
                        self.extern_prelude
                            .entry(key.krate.clone())
                            .or_default()
                            .insert(name.clone(), krate.clone());
                    }
                    data.extern_crates.insert(name, krate);
                }
                Item::Mod(m) => {
                    let mut path = key.path.clone();
                    path.push(m.ident.to_string());
                    let child = ModKey {
                        krate: key.krate.clone(),
                        path,
                    };
                    data.items
                        .insert(m.ident.to_string(), Binding::Module(child.clone()));
                    if let Some((_, inner)) = &m.content {
                        self.collect_module(child, inner, false);
                    }
                }
                Item::Impl(imp) => self.note_impl(&key, imp),
                Item::Type(alias) => {
                    let name = alias.ident.to_string();
                    data.items
                        .insert(name.clone(), Binding::Local(name.clone()));
                    self.pending_aliases.push(PendingAlias {
                        module: key.clone(),
                        name,
                        target: type_path(&alias.ty),
                    });
                }
                other => {
                    if let Some(name) = item_name(other) {
                        data.items.insert(name.clone(), Binding::Local(name));
                    }
                }
            }
        }
        // A file module and an inline module of the same path merge (the
        // file wins for items it declares).
        let entry = self.modules.entry(key).or_default();
        entry.is_root |= data.is_root;
        entry.items.extend(data.items);
        entry.extern_crates.extend(data.extern_crates);
        entry.uses.extend(data.uses);
    }

    fn note_impl(&mut self, module: &ModKey, imp: &syn::ItemImpl) {
        let Some((trait_path, _)) = &imp.trait_ else {
            return;
        };
        let Some(self_name) = type_name(&imp.self_ty) else {
            return;
        };
        let segments: Vec<String> = trait_path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if matches!(
            segments.last().map(String::as_str),
            Some("Deref" | "DerefMut")
        ) {
            self.deref_types
                .entry(module.krate.clone())
                .or_default()
                .insert(self_name);
        } else {
            self.pending_impls.push(PendingImpl {
                module: module.clone(),
                leading_colon: trait_path.leading_colon.is_some(),
                trait_path: segments,
                self_name,
            });
        }
    }

    /// A type alias of a redis item (`type R = redis::Cmd;`) binds its name
    /// to that item, so `R::new()` is `redis::Cmd::new()`. Returns whether
    /// a binding changed.
    fn resolve_redis_aliases(&mut self) -> bool {
        let mut changed = false;
        for i in 0..self.pending_aliases.len() {
            let alias = &self.pending_aliases[i];
            let Some((leading_colon, path)) = &alias.target else {
                continue;
            };
            let binding =
                self.resolve_path(&alias.module, &[], *leading_colon, path, Namespace::Type);
            if !matches!(binding, Binding::Redis(_)) {
                continue;
            }
            let (module, name) = (alias.module.clone(), alias.name.clone());
            if let Some(data) = self.modules.get_mut(&module)
                && data.items.get(&name) != Some(&binding)
            {
                data.items.insert(name, binding);
                changed = true;
            }
        }
        changed
    }

    /// Once imports are resolved: which type aliases name a redis type
    /// (`type Conn = redis::aio::MultiplexedConnection;`).
    fn resolve_aliases(&mut self) {
        let pending = std::mem::take(&mut self.pending_aliases);
        for alias in pending {
            let binding = alias.target.as_ref().map(|(leading_colon, path)| {
                self.resolve_path(&alias.module, &[], *leading_colon, path, Namespace::Type)
            });
            let redis = match &binding {
                Some(Binding::Redis(_)) => true,
                Some(Binding::External(p)) => commands::WRAPPER_CRATES.contains(&p[0].as_str()),
                _ => false,
            };
            let set = if redis {
                &mut self.redis_types
            } else {
                &mut self.deref_types
            };
            set.entry(alias.module.krate.clone())
                .or_default()
                .insert(alias.name);
        }
    }

    /// Once imports are resolved: which impls are of a redis trait.
    fn resolve_impls(&mut self) {
        let pending = std::mem::take(&mut self.pending_impls);
        for imp in pending {
            let binding = self.resolve_path(
                &imp.module,
                &[],
                imp.leading_colon,
                &imp.trait_path,
                Namespace::Type,
            );
            if binding.trait_family().is_some() {
                self.redis_types
                    .entry(imp.module.krate.clone())
                    .or_default()
                    .insert(imp.self_name);
            }
        }
    }

    fn resolve_all(&mut self) {
        for _ in 0..8 {
            let mut changed = false;
            let keys: Vec<ModKey> = self.modules.keys().cloned().collect();
            for key in &keys {
                let leaves = self.modules[key].uses.clone();
                let mut imports = HashMap::new();
                let mut anonymous = Vec::new();
                let mut globs = Vec::new();
                for leaf in &leaves {
                    let target = self.resolve_use(key, &[], leaf);
                    match (&leaf.kind, leaf.bound_name()) {
                        (LeafKind::Glob, _) => globs.push(target),
                        (_, Some(name)) => {
                            imports.insert(name, target);
                        }
                        (_, None) => anonymous.push(target),
                    }
                }
                let data = self.modules.get_mut(key).expect("module exists");
                if data.imports != imports || data.globs != globs || data.anonymous != anonymous {
                    data.imports = imports;
                    data.globs = globs;
                    data.anonymous = anonymous;
                    changed = true;
                }
            }
            changed |= self.resolve_redis_aliases();
            if !changed {
                break;
            }
        }
    }

    /// Resolve a `use` leaf seen in `module` (inside the block scopes
    /// `scopes`, innermost last).
    pub(crate) fn resolve_use(
        &self,
        module: &ModKey,
        scopes: &[&Scope],
        leaf: &UseLeaf,
    ) -> Binding {
        let path = match &leaf.kind {
            LeafKind::Glob => leaf.prefix.clone(),
            LeafKind::Name { .. } => leaf.full_path(),
        };
        if path.is_empty() {
            return Binding::Unknown;
        }
        self.resolve_path(module, scopes, leaf.leading_colon, &path, Namespace::Use)
    }

    /// Resolve a path seen in `module` inside the block scopes `scopes`
    /// (innermost last).
    pub(crate) fn resolve_path(
        &self,
        module: &ModKey,
        scopes: &[&Scope],
        leading_colon: bool,
        segments: &[String],
        namespace: Namespace,
    ) -> Binding {
        let Some((first, rest)) = segments.split_first() else {
            return Binding::Unknown;
        };
        let mut binding = if leading_colon {
            self.extern_crate(&module.krate, first)
        } else {
            match first.as_str() {
                "crate" => Binding::Module(ModKey {
                    krate: module.krate.clone(),
                    path: Vec::new(),
                }),
                "self" => Binding::Module(module.clone()),
                "Self" => Binding::Unknown,
                "super" => Binding::Module(ModKey {
                    krate: module.krate.clone(),
                    path: module.path[..module.path.len().saturating_sub(1)].to_vec(),
                }),
                _ => self.lookup_first(module, scopes, first, rest.is_empty(), namespace),
            }
        };
        let mut rest = rest;
        // `super::super::x`
        while let (Binding::Module(key), Some((seg, tail))) = (&binding, rest.split_first()) {
            if seg != "super" {
                break;
            }
            binding = Binding::Module(ModKey {
                krate: key.krate.clone(),
                path: key.path[..key.path.len().saturating_sub(1)].to_vec(),
            });
            rest = tail;
        }
        for segment in rest {
            binding = binding.child(self, segment);
        }
        binding
    }

    fn extern_crate(&self, krate: &CrateKey, name: &str) -> Binding {
        if name == "redis" {
            return Binding::Redis(Vec::new());
        }
        if let Some(real) = self
            .extern_prelude
            .get(krate)
            .and_then(|aliases| aliases.get(name))
        {
            return self.extern_crate_named(real);
        }
        self.extern_crate_named(name)
    }

    fn extern_crate_named(&self, name: &str) -> Binding {
        if name == "redis" {
            return Binding::Redis(Vec::new());
        }
        match self.libraries.get(name) {
            Some(krate) => Binding::Module(ModKey {
                krate: krate.clone(),
                path: Vec::new(),
            }),
            None => Binding::External(vec![name.to_owned()]),
        }
    }

    /// The first segment of a path: block scopes, then the module, then the
    /// extern prelude.
    fn lookup_first(
        &self,
        module: &ModKey,
        scopes: &[&Scope],
        name: &str,
        single: bool,
        namespace: Namespace,
    ) -> Binding {
        for scope in scopes.iter().rev() {
            if single
                && namespace == Namespace::Value
                && let Some(var) = scope.vars.get(name)
            {
                return var.binding();
            }
            if let Some(b) = scope.bindings.get(name) {
                return b.clone();
            }
            if let Some(b) = self.lookup_globs(&scope.globs, name, &mut HashSet::new()) {
                return b;
            }
        }
        if let Some(b) = self.lookup_in_module(module, name, &mut HashSet::new()) {
            return b;
        }
        if let Some(real) = self
            .extern_prelude
            .get(&module.krate)
            .and_then(|aliases| aliases.get(name))
        {
            return self.extern_crate_named(real);
        }
        if name == "redis" {
            return Binding::Redis(Vec::new());
        }
        if STD_PRELUDE.contains(&name) {
            return Binding::External(vec!["std".to_owned(), name.to_owned()]);
        }
        if !single || namespace == Namespace::Use {
            // The first segment of a longer path that nothing binds is an
            // extern crate.
            return self.extern_crate_named(name);
        }
        Binding::Unknown
    }

    /// Look `name` up among what `module` declares and imports (explicit
    /// names first, then glob imports).
    pub(crate) fn lookup_in_module(
        &self,
        module: &ModKey,
        name: &str,
        seen: &mut HashSet<ModKey>,
    ) -> Option<Binding> {
        if !seen.insert(module.clone()) {
            return None;
        }
        let data = self.module(module)?;
        if let Some(b) = data.items.get(name) {
            return Some(b.clone());
        }
        if let Some(krate) = data.extern_crates.get(name) {
            return Some(self.extern_crate_named(krate));
        }
        if let Some(b) = data.imports.get(name) {
            return Some(b.clone());
        }
        self.lookup_globs(&data.globs, name, seen)
    }

    fn lookup_globs(
        &self,
        globs: &[Binding],
        name: &str,
        seen: &mut HashSet<ModKey>,
    ) -> Option<Binding> {
        for glob in globs {
            match glob {
                Binding::Redis(path) => {
                    let exported = match path.as_slice() {
                        [] => commands::ROOT_NAMES.contains(&name),
                        [m] if m == "aio" => commands::AIO_NAMES.contains(&name),
                        _ => false,
                    };
                    if exported {
                        let mut path = path.clone();
                        path.push(name.to_owned());
                        return Some(Binding::Redis(path));
                    }
                }
                Binding::Module(key) => {
                    if let Some(b) = self.lookup_in_module(key, name, seen) {
                        return Some(b);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The module data for `key`, falling back to the crate's shared
    /// module directory (`tests/common/` for every test crate).
    pub(crate) fn module(&self, key: &ModKey) -> Option<&ModuleData> {
        self.modules.get(key).or_else(|| {
            let shared = key.krate.shared()?;
            self.modules.get(&ModKey {
                krate: shared,
                path: key.path.clone(),
            })
        })
    }

    /// The command-trait families a module brings into scope, through its
    /// imports and glob imports.
    pub(crate) fn module_families(&self, key: &ModKey, seen: &mut HashSet<ModKey>) -> Families {
        if !seen.insert(key.clone()) {
            return 0;
        }
        let Some(data) = self.module(key) else {
            return 0;
        };
        let mut families = 0;
        for binding in data.imports.values().chain(&data.anonymous) {
            families |= binding.trait_family().unwrap_or(0);
        }
        for glob in &data.globs {
            families |= self.glob_families(glob, seen);
        }
        families
    }

    /// The families a glob import of `source` brings into scope.
    pub(crate) fn glob_families(&self, source: &Binding, seen: &mut HashSet<ModKey>) -> Families {
        match source {
            Binding::Redis(path) => commands::glob_families(path),
            Binding::Module(key) => self.module_families(key, seen),
            _ => 0,
        }
    }

    /// Whether `name` is a type of `krate` known to implement a redis trait.
    pub(crate) fn is_redis_type(&self, krate: &CrateKey, name: &str) -> bool {
        self.redis_types
            .get(krate)
            .is_some_and(|names| names.contains(name))
    }

    /// Whether `name` is a type of `krate` that implements `Deref`, or an
    /// alias of a type that is not known.
    pub(crate) fn is_deref_type(&self, krate: &CrateKey, name: &str) -> bool {
        self.deref_types
            .get(krate)
            .is_some_and(|names| names.contains(name))
    }
}

/// Which namespace a single-segment path is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Namespace {
    /// An expression: local variables shadow items.
    Value,
    /// A type or trait.
    Type,
    /// A `use` path: the first segment may be an extern crate.
    Use,
}

/// What is known about the type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A redis connection, client, pool or generic bounded by a redis trait.
    Redis,
    /// Known not to be Redis (`HashMap`, `Vec`, `Cell`, `Store`, ...).
    NonRedis,
    /// Not known.
    Unknown,
}

/// A local variable.
#[derive(Clone, Debug)]
pub(crate) struct Var {
    /// What is known about its type.
    pub(crate) class: Class,
    /// Set when the variable holds a raw construct: built here (`let mut c
    /// = redis::cmd("GET")`, calls on it belong to that construct) or
    /// received (a parameter of type `&Cmd`: sending it is counted).
    pub(crate) raw: Raw,
    /// Set when the variable holds a hand-built key (`let key =
    /// format!("user:{id}")`): where it was built, and its text.
    pub(crate) key: Option<(proc_macro2::Span, String)>,
    /// The name of its type, when that is a plain path (`AppState` for
    /// `state: &AppState`): field accesses look the field up in the struct.
    pub(crate) struct_name: Option<String>,
    /// Whether a value not itself Redis may hold Redis values (a `Vec` of
    /// connections, a struct with a client field): then what is taken out
    /// of it (`for c in &conns`, `conns.iter().map(|c| ..)`) is not known.
    pub(crate) holds_redis: bool,
}

impl Var {
    /// A variable of this class, nothing else known.
    pub(crate) fn of(class: Class) -> Var {
        Var {
            class,
            raw: Raw::No,
            key: None,
            struct_name: None,
            holds_redis: false,
        }
    }

    fn binding(&self) -> Binding {
        Binding::Local(String::new())
    }
}

/// Whether a value is a raw construct (`Cmd`, `Pipeline`, `Script`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Raw {
    /// Not a raw construct (or not known to be one).
    No,
    /// Built in this function, where it was counted.
    Built,
    /// Received from elsewhere (a parameter or a typed binding), so it was
    /// counted where it was built and sending it is a connection call.
    Received,
}

/// A block, function or closure scope inside a module.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    /// Items and imports declared in the block.
    pub(crate) bindings: HashMap<String, Binding>,
    /// Glob imports in the block.
    pub(crate) globs: Vec<Binding>,
    /// Command-trait families brought into scope by the block's imports or
    /// by the enclosing function's trait bounds.
    pub(crate) families: Families,
    /// Local variables.
    pub(crate) vars: HashMap<String, Var>,
    /// Type parameters bounded by a redis trait.
    pub(crate) redis_generics: HashSet<String>,
    /// Type parameters without a redis bound.
    pub(crate) other_generics: HashSet<String>,
}

/// The name an item declares, for the items that declare one.
pub(crate) fn item_name(item: &Item) -> Option<String> {
    Some(match item {
        Item::Const(i) => i.ident.to_string(),
        Item::Enum(i) => i.ident.to_string(),
        Item::Fn(i) => i.sig.ident.to_string(),
        Item::Macro(i) => i.ident.as_ref()?.to_string(),
        Item::Mod(i) => i.ident.to_string(),
        Item::Static(i) => i.ident.to_string(),
        Item::Struct(i) => i.ident.to_string(),
        Item::Trait(i) => i.ident.to_string(),
        Item::TraitAlias(i) => i.ident.to_string(),
        Item::Type(i) => i.ident.to_string(),
        Item::Union(i) => i.ident.to_string(),
        _ => return None,
    })
}

/// The last identifier of a type path (`Repo` for `crate::repo::Repo<C>`).
pub(crate) fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        syn::Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}
