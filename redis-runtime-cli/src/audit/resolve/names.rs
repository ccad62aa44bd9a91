//! What a module or a block declares and imports, as written: its `use`
//! leaves, `extern crate` items, type aliases and item names, collected the
//! same way for both (the one place that reads these items).

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Item, UseTree};

use super::Binding;

/// One leaf of a `use` tree, flattened.
#[derive(Clone, Debug)]
pub(crate) struct UseLeaf {
    /// Whether the path started with `::`.
    pub(crate) leading_colon: bool,
    /// The path up to the leaf (`redis::aio` for `use redis::aio::ConnectionLike`).
    pub(crate) prefix: Vec<String>,
    /// The leaf.
    pub(crate) kind: LeafKind,
    /// Where the leaf is written (its name, or the `*`).
    pub(crate) span: Span,
    /// Whether the `use` is `pub` (any `pub(..)`): what it imports is seen
    /// by glob imports of its module from outside it.
    pub(crate) public: bool,
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
                span: n.ident.span(),
                public: false,
            }),
            UseTree::Rename(r) => out.push(UseLeaf {
                leading_colon,
                prefix: prefix.clone(),
                kind: LeafKind::Name {
                    name: r.ident.to_string(),
                    alias: Some(r.rename.to_string()),
                },
                span: r.ident.span(),
                public: false,
            }),
            UseTree::Glob(g) => out.push(UseLeaf {
                leading_colon,
                prefix: prefix.clone(),
                kind: LeafKind::Glob,
                span: g.star_token.span(),
                public: false,
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

/// What one module or block declares and imports. Modules and blocks are
/// collected by [`Names::declare`], resolved by
/// [`super::ModuleTable::resolve_uses`] and
/// [`super::ModuleTable::resolve_alias`], and looked up by
/// [`super::ModuleTable::lookup_in_names`]: one resolver for both.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    /// Items declared here, by name (a type alias of a redis item, once
    /// resolved, binds its name to that item).
    pub(crate) items: HashMap<String, Binding>,
    /// `extern crate x as y;` items, by the name they bind.
    pub(crate) extern_crates: HashMap<String, String>,
    /// The `use` leaves, unresolved.
    pub(crate) uses: Vec<UseLeaf>,
    /// The type aliases declared here.
    pub(crate) aliases: Vec<Alias>,
    /// What the `use` leaves resolved to.
    pub(crate) imports: Imports,
}

/// What the `use` leaves of a module or block resolved to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Imports {
    /// Names bound by `use` leaves.
    pub(crate) named: HashMap<String, Binding>,
    /// Things imported anonymously (`use redis::Commands as _;`).
    pub(crate) anonymous: Vec<Binding>,
    /// Sources of glob imports.
    pub(crate) globs: Vec<Binding>,
    /// The names bound by a `pub use` (seen from outside the module).
    pub(crate) public_named: std::collections::HashSet<String>,
    /// Whether each anonymous import is `pub`.
    pub(crate) public_anonymous: Vec<bool>,
    /// Whether each glob import is `pub`.
    pub(crate) public_globs: Vec<bool>,
}

/// A type alias: `type C = redis::Cmd;`.
#[derive(Clone, Debug)]
pub(crate) struct Alias {
    /// The name it declares.
    pub(crate) name: String,
    /// The path it aliases (with whether it starts with `::`), when the
    /// aliased type is a path.
    pub(crate) target: Option<(bool, Vec<String>)>,
    /// Whether that path has no generic arguments (`serde_json::Value`, not
    /// `Arc<Connection>`): then the alias is exactly the type it names.
    pub(crate) plain: bool,
}

impl Names {
    /// Note what `item` declares or imports: its `use` leaves, the name an
    /// `extern crate` binds, a type alias, or the item's own name.
    pub(crate) fn declare(&mut self, item: &Item) {
        match item {
            Item::Use(u) => {
                let public = !matches!(u.vis, syn::Visibility::Inherited);
                self.uses.extend(
                    use_leaves(u.leading_colon.is_some(), &u.tree)
                        .into_iter()
                        .map(|leaf| UseLeaf { public, ..leaf }),
                );
            }
            Item::ExternCrate(e) => {
                let (name, krate) = extern_crate_binds(e);
                self.extern_crates.insert(name, krate);
            }
            Item::Type(alias) => {
                let name = alias.ident.to_string();
                self.items
                    .insert(name.clone(), Binding::Local(name.clone()));
                self.aliases.push(Alias {
                    name,
                    target: type_path(&alias.ty),
                    plain: matches!(&*alias.ty, syn::Type::Path(p) if p.path.segments.iter().all(|s| s.arguments.is_none())),
                });
            }
            other => {
                if let Some(name) = item_name(other) {
                    self.items.insert(name.clone(), Binding::Local(name));
                }
            }
        }
    }
}

/// The name an `extern crate` item binds, and the crate it names:
/// `extern crate redis as foo;` binds `foo` to `redis`.
pub(super) fn extern_crate_binds(e: &syn::ItemExternCrate) -> (String, String) {
    let krate = e.ident.to_string();
    let name = e
        .rename
        .as_ref()
        .map_or_else(|| krate.clone(), |(_, r)| r.to_string());
    (name, krate)
}

/// A block scope around a path, as the resolver sees it: what the block
/// declares and imports, and which local variables it binds (in an
/// expression, a variable shadows an item of the same name).
pub(crate) trait Lexical {
    /// What the block declares and imports.
    fn names(&self) -> &Names;
    /// Whether the block binds a local variable `name`.
    fn binds_variable(&self, name: &str) -> bool;
}

impl Lexical for Names {
    fn names(&self) -> &Names {
        self
    }

    fn binds_variable(&self, _: &str) -> bool {
        false
    }
}

/// The path of a type, through references and parentheses.
fn type_path(ty: &syn::Type) -> Option<(bool, Vec<String>)> {
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

/// The name an item declares, for the items that declare one.
fn item_name(item: &Item) -> Option<String> {
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
