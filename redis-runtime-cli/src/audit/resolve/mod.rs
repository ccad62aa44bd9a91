//! Name resolution: what a path means, given the `use` items, `extern
//! crate` items and item declarations of the modules and blocks around it.
//!
//! Every module of every scanned crate gets its [`Names`] in a
//! [`ModuleTable`]; its `use` items are resolved to a fixpoint across files, so
//! `use crate::prelude::*` sees what `prelude.rs` re-exports, `use
//! deadpool_redis::redis; use redis::AsyncCommands;` sees the alias, and a
//! local `mod redis` shadows the crate. A block's items (`fn f() { use
//! redis::Commands; .. }`) are collected and resolved by the same code
//! ([`ModuleTable::block_names`]), inside the modules and blocks around it.
//!
//! `names.rs` reads what a module or block declares and imports; this file
//! resolves it.

mod names;

use std::collections::{BTreeMap, HashMap, HashSet};

use syn::Item;

use super::commands::{self, Families};
use super::layout::{CrateKey, SourceFile};

use names::extern_crate_binds;
pub(crate) use names::{Alias, Imports, LeafKind, Lexical, Names, UseLeaf, type_name, use_leaves};

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
            // A module of the crate the audit did not read (a partial
            // scan): a type-like name in it (`super::Cache`) is still the
            // crate's own item, not the redis crate's nor another crate's;
            // anything else stays unknown.
            Binding::Module(key) if table.module(key).is_none() => {
                if segment.starts_with(|c: char| c.is_ascii_uppercase()) {
                    Binding::Local(segment.to_owned())
                } else {
                    let mut path = key.path.clone();
                    path.push(segment.to_owned());
                    Binding::Module(ModKey {
                        krate: key.krate.clone(),
                        path,
                    })
                }
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

/// Every module of every scanned crate, plus what is known crate-wide.
#[derive(Debug, Default)]
pub(crate) struct ModuleTable {
    pub(crate) modules: BTreeMap<ModKey, Names>,
    /// Names bound crate-wide by `extern crate x as y;` in a crate root.
    pub(crate) extern_prelude: HashMap<CrateKey, HashMap<String, String>>,
    /// Library crates by the name other crates use for them.
    pub(crate) libraries: HashMap<String, CrateKey>,
    /// Names of types that implement a redis trait, per crate.
    pub(crate) redis_types: HashMap<CrateKey, HashSet<String>>,
    /// Trait impls whose trait is resolved once imports are.
    pending_impls: Vec<PendingImpl>,
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
        let mut names = Names::default();
        for item in items {
            names.declare(item);
            match item {
                Item::ExternCrate(e) if is_root => {
                    let (name, krate) = extern_crate_binds(e);
                    self.extern_prelude
                        .entry(key.krate.clone())
                        .or_default()
                        .insert(name, krate);
                }
                Item::Mod(m) => {
                    let mut path = key.path.clone();
                    path.push(m.ident.to_string());
                    let child = ModKey {
                        krate: key.krate.clone(),
                        path,
                    };
                    names
                        .items
                        .insert(m.ident.to_string(), Binding::Module(child.clone()));
                    if let Some((_, inner)) = &m.content {
                        self.collect_module(child, inner, false);
                    }
                }
                Item::Impl(imp) => self.note_impl(&key, imp),
                _ => {}
            }
        }
        // A file module and an inline module of the same path merge (the
        // file wins for items it declares).
        let entry = self.modules.entry(key).or_default();
        entry.items.extend(names.items);
        entry.extern_crates.extend(names.extern_crates);
        entry.uses.extend(names.uses);
        entry.aliases.extend(names.aliases);
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
        let keys: Vec<ModKey> = self.modules.keys().cloned().collect();
        for key in &keys {
            for i in 0..self.modules[key].aliases.len() {
                let alias = &self.modules[key].aliases[i];
                let Some(binding) = self.resolve_alias(key, &[], alias) else {
                    continue;
                };
                let name = alias.name.clone();
                let names = self.modules.get_mut(key).expect("module exists");
                if names.items.get(&name) != Some(&binding) {
                    names.items.insert(name, binding);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Once imports are resolved: which type aliases name a redis type
    /// (`type Conn = redis::aio::MultiplexedConnection;`).
    fn resolve_aliases(&mut self) {
        let mut found: Vec<(Option<bool>, CrateKey, String)> = Vec::new();
        for (key, names) in &self.modules {
            for alias in &names.aliases {
                let binding = alias.target.as_ref().map(|(leading_colon, path)| {
                    self.resolve_path(key, &[], *leading_colon, path, Namespace::Type)
                });
                // Some(true): a redis type; Some(false): may be one (not
                // known, or a wrapper whose argument says); None: known
                // not to be (a plain alias of another crate's type, such
                // as `type JobData = serde_json::Value`).
                let redis = match &binding {
                    Some(Binding::Redis(_)) => Some(true),
                    Some(Binding::External(p))
                        if commands::WRAPPER_CRATES.contains(&p[0].as_str()) =>
                    {
                        Some(true)
                    }
                    Some(Binding::External(_)) if alias.plain => None,
                    _ => Some(false),
                };
                found.push((redis, key.krate.clone(), alias.name.clone()));
            }
        }
        for (redis, krate, name) in found {
            let set = match redis {
                Some(true) => &mut self.redis_types,
                Some(false) => &mut self.deref_types,
                None => continue,
            };
            set.entry(krate).or_default().insert(name);
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
                let imports = self.resolve_uses(key, &[], &self.modules[key]);
                let names = self.modules.get_mut(key).expect("module exists");
                if names.imports != imports {
                    names.imports = imports;
                    changed = true;
                }
            }
            changed |= self.resolve_redis_aliases();
            if !changed {
                break;
            }
        }
    }

    /// The names a block declares and imports (its items, `use` and
    /// `extern crate` items, type aliases), resolved like a module's, in
    /// `module` inside the block scopes `outer` (innermost last).
    pub(crate) fn block_names<'i>(
        &self,
        module: &ModKey,
        outer: &[&dyn Lexical],
        items: impl Iterator<Item = &'i Item>,
    ) -> Names {
        let mut names = Names::default();
        for item in items {
            names.declare(item);
        }
        if names.uses.is_empty() && names.aliases.is_empty() {
            return names;
        }
        // Two rounds so that one `use` in the block can name another.
        for _ in 0..2 {
            let mut scopes = outer.to_vec();
            scopes.push(&names);
            let imports = self.resolve_uses(module, &scopes, &names);
            let aliases: Vec<(String, Binding)> = names
                .aliases
                .iter()
                .filter_map(|alias| {
                    Some((
                        alias.name.clone(),
                        self.resolve_alias(module, &scopes, alias)?,
                    ))
                })
                .collect();
            names.imports = imports;
            names.items.extend(aliases);
        }
        names
    }

    /// One round of the resolver: what the `use` leaves of `names`, seen in
    /// `module` inside the block scopes `scopes` (innermost last), resolve
    /// to now.
    pub(crate) fn resolve_uses(
        &self,
        module: &ModKey,
        scopes: &[&dyn Lexical],
        names: &Names,
    ) -> Imports {
        let mut imports = Imports::default();
        for leaf in &names.uses {
            let target = self.resolve_use(module, scopes, leaf);
            match (&leaf.kind, leaf.bound_name()) {
                (LeafKind::Glob, _) => {
                    imports.globs.push(target);
                    imports.public_globs.push(leaf.public);
                }
                (_, Some(name)) => {
                    if leaf.public {
                        imports.public_named.insert(name.clone());
                    }
                    imports.named.insert(name, target);
                }
                (_, None) => {
                    imports.anonymous.push(target);
                    imports.public_anonymous.push(leaf.public);
                }
            }
        }
        imports
    }

    /// What a type alias binds its name to, when it aliases a redis item:
    /// that item (`type C = redis::Cmd;` makes `C::new()` a `Cmd::new()`).
    pub(crate) fn resolve_alias(
        &self,
        module: &ModKey,
        scopes: &[&dyn Lexical],
        alias: &Alias,
    ) -> Option<Binding> {
        let (leading_colon, path) = alias.target.as_ref()?;
        let binding = self.resolve_path(module, scopes, *leading_colon, path, Namespace::Type);
        matches!(binding, Binding::Redis(_)).then_some(binding)
    }

    /// Resolve a `use` leaf seen in `module` (inside the block scopes
    /// `scopes`, innermost last).
    pub(crate) fn resolve_use(
        &self,
        module: &ModKey,
        scopes: &[&dyn Lexical],
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
        scopes: &[&dyn Lexical],
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
        scopes: &[&dyn Lexical],
        name: &str,
        single: bool,
        namespace: Namespace,
    ) -> Binding {
        for scope in scopes.iter().rev() {
            if single && namespace == Namespace::Value && scope.binds_variable(name) {
                // A local variable: nothing the audit resolves further.
                return Binding::Local(String::new());
            }
            if let Some(b) = self.lookup_in_names(scope.names(), name, &mut HashSet::new()) {
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
        self.lookup_in_names(self.module(module)?, name, seen)
    }

    /// Look `name` up among what a module or block declares and imports:
    /// its items, its `extern crate` items, its named imports, then its
    /// glob imports.
    pub(crate) fn lookup_in_names(
        &self,
        names: &Names,
        name: &str,
        seen: &mut HashSet<ModKey>,
    ) -> Option<Binding> {
        if let Some(b) = names.items.get(name) {
            return Some(b.clone());
        }
        if let Some(krate) = names.extern_crates.get(name) {
            return Some(self.extern_crate_named(krate));
        }
        if let Some(b) = names.imports.named.get(name) {
            return Some(b.clone());
        }
        self.lookup_globs(&names.imports.globs, name, seen)
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

    /// What the module `key` declares and imports, falling back to the
    /// crate's shared module directory (`tests/common/` for every test
    /// crate).
    pub(crate) fn module(&self, key: &ModKey) -> Option<&Names> {
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
        self.module_families_for(key, key, seen)
    }

    /// What of `key`'s imports `viewer` sees through a glob import of `key`:
    /// all of them from inside `key` (`use super::*` in a child module),
    /// only its `pub use`s from elsewhere (`use crate::repo::*` does not
    /// bring `repo`'s private `use redis::Commands` into scope).
    fn module_families_for(
        &self,
        viewer: &ModKey,
        key: &ModKey,
        seen: &mut HashSet<ModKey>,
    ) -> Families {
        if !seen.insert(key.clone()) {
            return 0;
        }
        let inside = viewer.krate == key.krate && viewer.path.starts_with(&key.path);
        match self.module(key) {
            Some(names) => self.families_seen(viewer, names, inside, seen),
            None => 0,
        }
    }

    /// The command-trait families the imports of a block in `viewer` bring
    /// into scope.
    pub(crate) fn families_of(
        &self,
        viewer: &ModKey,
        names: &Names,
        seen: &mut HashSet<ModKey>,
    ) -> Families {
        self.families_seen(viewer, names, true, seen)
    }

    fn families_seen(
        &self,
        viewer: &ModKey,
        names: &Names,
        inside: bool,
        seen: &mut HashSet<ModKey>,
    ) -> Families {
        let imports = &names.imports;
        let mut families = 0;
        for (name, binding) in &imports.named {
            if inside || imports.public_named.contains(name) {
                families |= binding.trait_family().unwrap_or(0);
            }
        }
        for (i, binding) in imports.anonymous.iter().enumerate() {
            if inside || imports.public_anonymous.get(i).copied().unwrap_or(false) {
                families |= binding.trait_family().unwrap_or(0);
            }
        }
        for (i, glob) in imports.globs.iter().enumerate() {
            if inside || imports.public_globs.get(i).copied().unwrap_or(false) {
                families |= match glob {
                    Binding::Redis(path) => commands::glob_families(path),
                    Binding::Module(key) => self.module_families_for(viewer, key, seen),
                    _ => 0,
                };
            }
        }
        families
    }

    /// Whether `name` is a type of `krate` known to implement a redis trait.
    pub(crate) fn is_redis_type(&self, krate: &CrateKey, name: &str) -> bool {
        Self::in_package(&self.redis_types, krate, name)
    }

    /// Whether `name` is in the set of `krate` or of another crate of its
    /// package: an integration test or a binary naming the library's
    /// connection type.
    fn in_package(sets: &HashMap<CrateKey, HashSet<String>>, krate: &CrateKey, name: &str) -> bool {
        sets.iter().any(|(k, names)| {
            (k == krate || k.package_root == krate.package_root) && names.contains(name)
        })
    }

    /// Whether `name` is a type of `krate` that implements `Deref`, or an
    /// alias of a type that is not known.
    pub(crate) fn is_deref_type(&self, krate: &CrateKey, name: &str) -> bool {
        Self::in_package(&self.deref_types, krate, name)
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
