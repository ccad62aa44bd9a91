//! Receiver classification: what is known, from declarations and not
//! inference, about the value a method is called on (a redis connection,
//! known not to be one, or not known), and whether a value is a raw
//! construct built elsewhere.

use syn::punctuated::Punctuated;
use syn::{Expr, Token, Type, TypeParamBound};

use crate::audit::commands::{self, Families, is_connection_type, is_raw_type};
use crate::audit::resolve::{Binding, ModKey, Namespace, type_name};

use super::Analyzer;
use super::items::FnDef;
use super::paths::{NamedPath, named_path};
use super::tables::{PASSTHROUGH, TRANSPARENT, hands_out_connection, names_connection};

/// What is known about the type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// A redis connection, client, pool or generic bounded by a redis trait.
    Redis,
    /// Known not to be Redis (`HashMap`, `Vec`, `Cell`, `Store`, ...).
    NonRedis,
    /// Not known.
    Unknown,
}

/// Whether a value is a raw construct (`Cmd`, `Pipeline`, `Script`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Raw {
    /// Not a raw construct (or not known to be one).
    No,
    /// Built in this expression (or handed to a transaction's closure),
    /// where it was counted: sending it is part of that one violation.
    Built,
    /// Built in this function and bound to a variable: it was counted where
    /// it was built, and sending it (in another statement) is a site of its
    /// own.
    Bound,
    /// Received from elsewhere (a parameter or a typed binding), so it was
    /// counted where it was built and sending it is a connection call.
    Received,
}

/// The expression inside parentheses, `&x`, `x?`, `x.await`, `*x` or `!x`:
/// what the audit knows of it holds for the whole.
fn see_through(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Paren(e) => Some(&e.expr),
        Expr::Group(e) => Some(&e.expr),
        Expr::Reference(e) => Some(&e.expr),
        Expr::Try(e) => Some(&e.expr),
        Expr::Await(e) => Some(&e.base),
        Expr::Unary(e) => Some(&e.expr),
        _ => None,
    }
}

/// How deep the audit follows types into their fields and arguments before
/// it assumes the value may hold a connection (an enum of structs of
/// generic wrappers is already 5 deep).
const MAX_DEPTH: usize = 12;

/// The class of a type of the redis crate: a connection or client is
/// Redis, a value type (`Value`, `Cmd`, `ConnectionInfo`) is not.
fn redis_type_class(name: &str) -> Class {
    if is_connection_type(name) {
        Class::Redis
    } else {
        Class::NonRedis
    }
}

/// The class of a type `ty` of another crate (`path` is where it was
/// found): Redis for the wrapper crates' types, `None` for a generic
/// wrapper (`Arc`, `Mutex`, ...) whose content says, not Redis otherwise.
fn external_type_class(path: &[String], ty: Option<&str>) -> Option<Class> {
    if commands::WRAPPER_CRATES.contains(&path[0].as_str()) {
        Some(Class::Redis)
    } else if ty.is_some_and(|ty| PASSTHROUGH.contains(&ty)) {
        None
    } else {
        Some(Class::NonRedis)
    }
}

impl<'a> Analyzer<'a> {
    /// Whether `expr` is (a method chain on) a raw construct: a call of a raw
    /// constructor, or a variable bound to one.
    pub(super) fn raw_chain(&mut self, expr: &Expr) -> Raw {
        match expr {
            // What an executor returns is a reply, not the construct.
            Expr::MethodCall(m) if commands::EXECUTORS.contains(&m.method.to_string().as_str()) => {
                Raw::No
            }
            Expr::MethodCall(m) => self.raw_chain(&m.receiver),
            // A field declared as a construct (`cmd: Cmd`, `script:
            // Option<Script>`): it was counted where it was built.
            Expr::Field(_) => match self.type_of_expr(expr) {
                Some((module, ty)) => {
                    let raw = self.class_in(&module, |a| {
                        a.is_raw_typed(ty)
                            || first_type_arg(ty).is_some_and(|inner| a.is_raw_typed(inner))
                    });
                    if raw { Raw::Received } else { Raw::No }
                }
                None => Raw::No,
            },
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => match named_path(p).map(|path| {
                    self.resolve_segments(path.leading_colon, &path.segments, Namespace::Value)
                }) {
                    Some(Binding::Redis(path)) if commands::raw_constructor(&path).is_some() => {
                        Raw::Built
                    }
                    Some(Binding::Local(name)) if self.local_fn_returns_raw(&name) => Raw::Received,
                    _ => Raw::No,
                },
                _ => Raw::No,
            },
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.var(&i.to_string()))
                .map_or(Raw::No, |v| v.raw),
            _ => match see_through(expr) {
                Some(inner) => self.raw_chain(inner),
                None => Raw::No,
            },
        }
    }

    fn self_class(&self) -> Class {
        let Some(ctx) = self.impls.last() else {
            return Class::Unknown;
        };
        if ctx.redis_self {
            return Class::Redis;
        }
        match &ctx.self_name {
            Some(name) => self.local_type_class(name),
            None => Class::Unknown,
        }
    }

    fn local_type_class(&self, name: &str) -> Class {
        if self.table.is_redis_type(&self.module.krate, name) {
            Class::Redis
        } else if self.table.is_deref_type(&self.module.krate, name) {
            Class::Unknown
        } else {
            Class::NonRedis
        }
    }

    pub(super) fn class_of_expr(&mut self, expr: &Expr) -> Class {
        if let Some(inner) = see_through(expr) {
            return self.class_of_expr(inner);
        }
        match expr {
            Expr::MethodCall(m) if TRANSPARENT.contains(&m.method.to_string().as_str()) => {
                self.class_of_expr(&m.receiver)
            }
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if !hands_out_connection(&name, m.args.len()) || self.is_reply(expr) {
                    Class::NonRedis
                } else if !names_connection(&name)
                    && self.element_class(&m.receiver) == Class::NonRedis
                {
                    // `value.get("a")` on a `serde_json::Value`, a `HashMap`
                    // of strings: not a pool checkout.
                    Class::NonRedis
                } else {
                    Class::Unknown
                }
            }
            Expr::Index(_) => Class::NonRedis,
            Expr::Path(p) if p.qself.is_none() => {
                if let Some(ident) = p.path.get_ident() {
                    let name = ident.to_string();
                    if name == "self" {
                        return self.self_class();
                    }
                    if let Some(var) = self.var(&name) {
                        return var.class;
                    }
                }
                Class::Unknown
            }
            Expr::Field(f) => match self.type_of_expr(expr) {
                Some((module, ty)) => self.class_in(&module, |a| a.class_of_type(ty)),
                // A field of a value that neither is nor holds Redis (a
                // reply's `keys`, a `StreamKey`'s `ids`): not Redis either.
                None => self.element_class(&f.base),
            },
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => match named_path(p) {
                    Some(path) => self.class_of_callee(&path, &c.args),
                    None => Class::Unknown,
                },
                _ => Class::Unknown,
            },
            Expr::Struct(s) => self.class_of_path_type(&s.path),
            Expr::Lit(_)
            | Expr::Array(_)
            | Expr::Tuple(_)
            | Expr::Range(_)
            | Expr::Binary(_)
            | Expr::Closure(_)
            | Expr::Repeat(_)
            | Expr::Macro(_) => Class::NonRedis,
            _ => Class::Unknown,
        }
    }

    fn class_of_callee(&mut self, path: &NamedPath, args: &Punctuated<Expr, Token![,]>) -> Class {
        match self.resolve_segments(path.leading_colon, &path.segments, Namespace::Value) {
            Binding::Redis(p) => {
                let owner = match p.as_slice() {
                    [.., owner, _] => owner.as_str(),
                    [function] => function.as_str(),
                    [] => "",
                };
                if owner.contains("conn") {
                    Class::Redis
                } else {
                    redis_type_class(owner)
                }
            }
            Binding::External(p) => {
                let owner = p.len().checked_sub(2).map(|i| p[i].as_str());
                match external_type_class(&p, owner) {
                    Some(class) => class,
                    // `Arc::new(con)`: what it wraps says.
                    None => args
                        .first()
                        .map_or(Class::Unknown, |a| self.class_of_expr(a)),
                }
            }
            Binding::Local(name) => match self.local_fn_class(&name) {
                Some(class) => class,
                None if path.segments.len() >= 2 => self.local_type_class(&name),
                None => Class::Unknown,
            },
            _ => Class::Unknown,
        }
    }

    /// What a free function of the crate named `name` returns: Redis when
    /// its declared return type is (a `Result` or `Option` of) a Redis
    /// type, not Redis when it is something else (`HashMap`, `()`).
    /// `None` when the crate declares no such function.
    fn local_fn_class(&mut self, name: &str) -> Option<Class> {
        let items = self.items;
        let defs: Vec<&FnDef<'_>> = items.lookup_related(&items.fns, &self.module.krate, name);
        if defs.is_empty() {
            return None;
        }
        let mut class = Class::NonRedis;
        for def in defs {
            let c = match def.output {
                syn::ReturnType::Default => Class::NonRedis,
                syn::ReturnType::Type(_, ty) => {
                    self.class_in(&def.module, |a| a.class_of_return(ty))
                }
            };
            match c {
                Class::Redis => return Some(Class::Redis),
                Class::Unknown => class = Class::Unknown,
                Class::NonRedis => {}
            }
        }
        Some(class)
    }

    /// The class of a function's return type, looking through `Result`
    /// (`RedisResult<MultiplexedConnection>` is a connection).
    fn class_of_return(&mut self, ty: &Type) -> Class {
        if let Type::Path(p) = ty
            && p.qself.is_none()
            && let Some(last) = p.path.segments.last()
            && last.ident.to_string().ends_with("Result")
            && let Some(inner) = first_type_arg(ty)
        {
            return self.class_of_type(inner);
        }
        self.class_of_type(ty)
    }

    /// Run `f` with paths resolved in `module` (where a field's or a
    /// function's type was written), not in the current one.
    fn class_in<R>(&mut self, module: &ModKey, f: impl FnOnce(&mut Self) -> R) -> R {
        if *module == self.module {
            return f(self);
        }
        let saved_module = std::mem::replace(&mut self.module, module.clone());
        let saved_scopes = std::mem::take(&mut self.scopes);
        let saved_touch = self.touches_redis;
        let out = f(self);
        self.module = saved_module;
        self.scopes = saved_scopes;
        self.touches_redis = saved_touch;
        out
    }

    /// Whether a free function of the crate named `name` returns a raw
    /// construct (`fn read_cmd(..) -> redis::Cmd`): what it returns was
    /// counted where it was built, and sending it is a connection call.
    fn local_fn_returns_raw(&mut self, name: &str) -> bool {
        let items = self.items;
        let defs: Vec<&FnDef<'_>> = items.lookup_related(&items.fns, &self.module.krate, name);
        defs.into_iter().any(|def| match def.output {
            syn::ReturnType::Default => false,
            syn::ReturnType::Type(_, ty) => self.class_in(&def.module, |a| {
                a.is_raw_typed(ty) || first_type_arg(ty).is_some_and(|inner| a.is_raw_typed(inner))
            }),
        })
    }

    /// What is taken out of `expr` (its elements, what a closure passed to
    /// its methods receives, what `if let` or `match` binds): not Redis
    /// when `expr` is known not to be Redis nor to hold Redis values.
    pub(super) fn element_class(&mut self, expr: &Expr) -> Class {
        if self.class_of_expr(expr) == Class::NonRedis && !self.may_hold_redis(expr, 0) {
            Class::NonRedis
        } else {
            Class::Unknown
        }
    }

    /// Whether a value (not itself Redis) may hold Redis values: a
    /// collection of connections, a struct with a connection field.
    pub(super) fn may_hold_redis(&mut self, expr: &Expr, depth: usize) -> bool {
        if self.is_reply(expr) {
            return false;
        }
        let root = chain_root(expr);
        match root {
            Expr::Path(p) => {
                let Some(ident) = p.path.get_ident() else {
                    return false;
                };
                let name = ident.to_string();
                if name == "self" {
                    return match self.impls.last().and_then(|ctx| ctx.self_name.clone()) {
                        Some(name) => self.struct_holds_redis(&name, depth),
                        None => true,
                    };
                }
                match self.var(&name) {
                    Some(var) => var.holds_redis,
                    None => false,
                }
            }
            Expr::Field(f) => match self.type_of_expr(root) {
                Some((module, ty)) => self.holds_in(&module, ty, depth),
                // Of a value known to be plain, the field is plain too.
                None => self.element_class(&f.base) != Class::NonRedis,
            },
            Expr::Paren(e) => self.may_hold_redis(&e.expr, depth),
            Expr::Group(e) => self.may_hold_redis(&e.expr, depth),
            Expr::Unary(e) => self.may_hold_redis(&e.expr, depth),
            // `Manager::new(..)`, `Manager { .. }`: a type of the crate, by
            // its declaration (an enum whose variants hold pools, say).
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => match named_path(p) {
                    // A free function of the crate, by its declared return
                    // type (`fn pool() -> Manager`).
                    Some(path) if path.segments.len() == 1 => {
                        match self.resolve_segments(
                            path.leading_colon,
                            &path.segments,
                            Namespace::Value,
                        ) {
                            Binding::Local(name) if !name.is_empty() => {
                                self.local_fn_holds_redis(&name, depth)
                            }
                            _ => false,
                        }
                    }
                    Some(path) if path.segments.len() >= 2 => {
                        let owner = &path.segments[..path.segments.len() - 1];
                        match self.resolve_segments(path.leading_colon, owner, Namespace::Type) {
                            Binding::Local(name) => self.struct_holds_redis(&name, depth),
                            _ => false,
                        }
                    }
                    _ => false,
                },
                _ => false,
            },
            Expr::Struct(s) => match self.resolve(&s.path, Namespace::Type) {
                Binding::Local(name) => self.struct_holds_redis(&name, depth),
                _ => false,
            },
            _ => false,
        }
    }

    fn holds_in(&mut self, module: &ModKey, ty: &Type, depth: usize) -> bool {
        self.class_in(module, |a| {
            if a.type_holds_redis(ty, depth) {
                Class::Redis
            } else {
                Class::NonRedis
            }
        }) == Class::Redis
    }

    /// Whether `expr` is a decoded reply: what an executor (`query_async`)
    /// or a command method called on something that may be a connection
    /// (`con.hgetall(k).await?`, `con.get(k)`) returns. It holds no
    /// connection, and what is taken out of it is plain data.
    pub(super) fn is_reply(&mut self, expr: &Expr) -> bool {
        if let Some(inner) = see_through(expr) {
            return self.is_reply(inner);
        }
        let Expr::MethodCall(m) = expr else {
            return false;
        };
        let name = m.method.to_string();
        if commands::EXECUTORS.contains(&name.as_str()) {
            return true;
        }
        if TRANSPARENT.contains(&name.as_str()) {
            return self.is_reply(&m.receiver);
        }
        commands::command_method(
            commands::F_ALL & !commands::F_CONNECTION_LIKE,
            &name,
            m.args.len(),
        )
        .is_some()
            && self.class_of_expr(&m.receiver) != Class::NonRedis
    }

    /// Whether a type is or holds a Redis type: `Vec<Connection>`,
    /// `HashMap<String, Client>`, a struct of the crate with such a field.
    pub(super) fn type_holds_redis(&mut self, ty: &Type, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return true;
        }
        match ty {
            Type::Reference(r) => self.type_holds_redis(&r.elem, depth),
            Type::Paren(p) => self.type_holds_redis(&p.elem, depth),
            Type::Group(g) => self.type_holds_redis(&g.elem, depth),
            Type::Array(a) => self.type_holds_redis(&a.elem, depth + 1),
            Type::Slice(a) => self.type_holds_redis(&a.elem, depth + 1),
            Type::Tuple(t) => t.elems.iter().any(|e| self.type_holds_redis(e, depth + 1)),
            Type::Path(p) if p.qself.is_none() => {
                if self.class_of_path_type(&p.path) != Class::NonRedis {
                    return true;
                }
                let args = p.path.segments.iter().flat_map(|s| match &s.arguments {
                    syn::PathArguments::AngleBracketed(a) => a.args.iter().collect(),
                    _ => Vec::new(),
                });
                let mut arg_types: Vec<&Type> = args
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                // A map's keys and a set's elements are `Hash`/`Ord`
                // values, which no connection is: only a map's values may
                // hold one.
                let last = p.path.segments.last().map(|s| s.ident.to_string());
                match last.as_deref() {
                    Some("HashSet" | "BTreeSet" | "IndexSet") => arg_types.clear(),
                    Some("HashMap" | "BTreeMap" | "IndexMap") if !arg_types.is_empty() => {
                        arg_types.remove(0);
                    }
                    _ => {}
                }
                if arg_types
                    .into_iter()
                    .any(|t| self.type_holds_redis(t, depth + 1))
                {
                    return true;
                }
                match self.resolve(&p.path, Namespace::Type) {
                    // A construct: `&[Cmd]` holds commands to send. Other
                    // redis value types (`StreamReadReply`, `Value`) hold
                    // decoded data only.
                    Binding::Redis(path) => is_raw_type(&path),
                    Binding::Local(name) => self.struct_holds_redis(&name, depth + 1),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Whether a free function of the crate named `name` returns (a
    /// `Result` or `Option` of) something that is or holds Redis.
    fn local_fn_holds_redis(&mut self, name: &str, depth: usize) -> bool {
        let items = self.items;
        let defs: Vec<&FnDef<'_>> = items.lookup_related(&items.fns, &self.module.krate, name);
        defs.into_iter().any(|def| match def.output {
            syn::ReturnType::Default => false,
            syn::ReturnType::Type(_, ty) => self.holds_in(&def.module, ty, depth + 1),
        })
    }

    /// Whether a struct of the crate has a field that is or holds Redis.
    fn struct_holds_redis(&mut self, name: &str, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return true;
        }
        // A type met again inside itself (`struct Node { next:
        // Option<Box<Node>> }`) adds nothing its other fields do not say.
        if self.holding.iter().any(|n| n == name) {
            return false;
        }
        let items = self.items;
        let fields: Vec<(ModKey, &Type)> = items
            .lookup_related(&items.structs, &self.module.krate, name)
            .into_iter()
            .flat_map(|def| def.fields.iter().map(|(_, ty)| (def.module.clone(), *ty)))
            .collect();
        self.holding.push(name.to_owned());
        let holds = fields
            .into_iter()
            .any(|(module, ty)| self.holds_in(&module, ty, depth + 1));
        self.holding.pop();
        holds
    }

    /// The name of the struct (declared in this file) an expression is an
    /// instance of: `self` in its impl, a variable, or a field of either.
    fn struct_of_expr(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Paren(e) => self.struct_of_expr(&e.expr),
            Expr::Reference(e) => self.struct_of_expr(&e.expr),
            Expr::Unary(e) => self.struct_of_expr(&e.expr),
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                if name == "self" {
                    return self.impls.last()?.self_name.clone();
                }
                self.var(&name)?.struct_name.clone()
            }
            Expr::Field(_) => type_name(self.type_of_expr(expr)?.1),
            _ => None,
        }
    }

    /// The declared type of a field access (`self.con`, `state.store.inner`),
    /// and the module it was declared in. The struct is looked up by name
    /// in the crate: the one declared in this module if there is one, else
    /// the only one with that field.
    fn type_of_expr(&self, expr: &Expr) -> Option<(ModKey, &'a Type)> {
        let Expr::Field(f) = expr else {
            return None;
        };
        let owner = self.struct_of_expr(&f.base)?;
        let member = match &f.member {
            syn::Member::Named(i) => i.to_string(),
            syn::Member::Unnamed(i) => i.index.to_string(),
        };
        let items = self.items;
        let candidates: Vec<(&ModKey, &'a Type)> = items
            .lookup_related(&items.structs, &self.module.krate, &owner)
            .into_iter()
            .filter_map(|def| {
                def.fields
                    .iter()
                    .find(|(n, _)| *n == member)
                    .map(|(_, ty)| (&def.module, *ty))
            })
            .collect();
        let found = candidates
            .iter()
            .find(|(module, _)| **module == self.module)
            .copied()
            .or(match candidates.as_slice() {
                [one] => Some(*one),
                _ => None,
            })?;
        Some((found.0.clone(), found.1))
    }

    fn class_of_path_type(&mut self, path: &syn::Path) -> Class {
        if let Some(ident) = path.get_ident() {
            let name = ident.to_string();
            if name == "Self" {
                return self.self_class();
            }
            match self.is_redis_generic(&name) {
                Some(true) => return Class::Redis,
                Some(false) => return Class::Unknown,
                None => {}
            }
        }
        match self.resolve(path, Namespace::Type) {
            Binding::Redis(p) => p
                .last()
                .map_or(Class::NonRedis, |name| redis_type_class(name)),
            Binding::External(p) => match external_type_class(&p, p.last().map(String::as_str)) {
                Some(class) => class,
                // `Arc<Mutex<Connection>>`: what it wraps says.
                None => self.class_of_type_args(path),
            },
            Binding::Local(name) => self.local_type_class(&name),
            Binding::Module(_) | Binding::Unknown => Class::Unknown,
        }
    }

    fn class_of_type_args(&mut self, path: &syn::Path) -> Class {
        let Some(last) = path.segments.last() else {
            return Class::Unknown;
        };
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return Class::Unknown;
        };
        let mut class = Class::Unknown;
        for (i, arg) in args.args.iter().enumerate() {
            if let syn::GenericArgument::Type(ty) = arg {
                let c = self.class_of_type(ty);
                if c == Class::Redis {
                    return Class::Redis;
                }
                if i == 0 || class == Class::Unknown {
                    class = c;
                }
            }
        }
        class
    }

    pub(super) fn class_of_type(&mut self, ty: &Type) -> Class {
        match ty {
            Type::Reference(r) => self.class_of_type(&r.elem),
            Type::Paren(p) => self.class_of_type(&p.elem),
            Type::Group(g) => self.class_of_type(&g.elem),
            Type::Ptr(p) => self.class_of_type(&p.elem),
            Type::Path(p) if p.qself.is_none() => self.class_of_path_type(&p.path),
            Type::ImplTrait(t) => self.class_of_bounds(t.bounds.iter()),
            Type::TraitObject(t) => self.class_of_bounds(t.bounds.iter()),
            Type::Array(_) | Type::Slice(_) | Type::Tuple(_) | Type::FnPtr(_) => Class::NonRedis,
            _ => Class::Unknown,
        }
    }

    pub(super) fn class_of_bounds<'b>(
        &mut self,
        bounds: impl Iterator<Item = &'b TypeParamBound>,
    ) -> Class {
        let mut class = Class::NonRedis;
        for bound in bounds {
            if let TypeParamBound::Trait(t) = bound {
                match self.resolve(&t.path, Namespace::Type) {
                    Binding::Redis(_) => return Class::Redis,
                    // A trait of the crate: only what its supertraits say
                    // (`dyn CacheDriver` has CacheDriver's methods, none of
                    // them a command, unless it extends a redis trait).
                    Binding::Local(name) => match self.own_trait_class(&name) {
                        Class::Redis => return Class::Redis,
                        Class::NonRedis => {}
                        Class::Unknown => class = Class::Unknown,
                    },
                    Binding::Module(_) | Binding::Unknown => class = Class::Unknown,
                    Binding::External(_) => {}
                }
            }
        }
        class
    }

    /// The class of a value known only by a trait of the scanned crate
    /// (`dyn Trait`, `impl Trait`): by the trait's supertraits. A trait of
    /// the crate that was not scanned is, like the crate's other own items,
    /// not Redis.
    fn own_trait_class(&mut self, name: &str) -> Class {
        let key = format!("trait {name}");
        if self.holding.contains(&key) {
            return Class::NonRedis;
        }
        let items = self.items;
        let defs = items.lookup_related(&items.traits, &self.module.krate, name);
        if defs.is_empty() {
            return Class::NonRedis;
        }
        self.holding.push(key);
        let mut class = Class::NonRedis;
        for def in defs {
            let c = self.class_in(&def.module, |a| {
                a.class_of_bounds(def.supertraits.iter().copied())
            });
            match c {
                Class::Redis => {
                    class = Class::Redis;
                    break;
                }
                Class::Unknown => class = Class::Unknown,
                Class::NonRedis => {}
            }
        }
        self.holding.pop();
        class
    }

    pub(super) fn bound_families<'b>(
        &mut self,
        bounds: impl Iterator<Item = &'b TypeParamBound>,
    ) -> Families {
        let mut families = 0;
        for bound in bounds {
            if let TypeParamBound::Trait(t) = bound {
                families |= self
                    .resolve(&t.path, Namespace::Type)
                    .trait_family()
                    .unwrap_or(0);
            }
        }
        families
    }

    /// Families that `impl Trait` / `dyn Trait` in a parameter type bring
    /// into scope.
    pub(super) fn type_families(&mut self, ty: &Type) -> Families {
        match ty {
            Type::Reference(r) => self.type_families(&r.elem),
            Type::Paren(p) => self.type_families(&p.elem),
            Type::ImplTrait(t) => self.bound_families(t.bounds.iter()),
            Type::TraitObject(t) => self.bound_families(t.bounds.iter()),
            _ => 0,
        }
    }

    /// The core type name (see [`core_type_name`]) of what `expr` is, when a
    /// declaration says: a variable's or a field's declared type, `self`.
    fn core_name_of_expr(&self, expr: &Expr) -> Option<String> {
        if let Some(inner) = see_through(expr) {
            return self.core_name_of_expr(inner);
        }
        match expr {
            Expr::MethodCall(m) if TRANSPARENT.contains(&m.method.to_string().as_str()) => {
                self.core_name_of_expr(&m.receiver)
            }
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                if name == "self" {
                    return self.impls.last()?.self_core.clone();
                }
                self.var(&name)?.core_name.clone()
            }
            Expr::Field(_) => core_type_name(self.type_of_expr(expr)?.1),
            _ => None,
        }
    }

    /// Whether `receiver.name(..)` (with `nargs` arguments) calls a method of
    /// a trait of the scanned crate rather than a redis command: the trait
    /// is in scope here, declares the method, and is implemented for a
    /// redis type (`impl OrderRepo for Rc<redis::Client>`) that the
    /// receiver may be. The raw access is inside that impl, where it is
    /// counted; its callers are not.
    pub(super) fn own_trait_applies(&mut self, receiver: &Expr, name: &str, nargs: usize) -> bool {
        let items = self.items;
        let krate = self.module.krate.clone();
        let receiver_core = self.core_name_of_expr(receiver);
        let traits: Vec<String> = items
            .traits
            .iter()
            .filter(|((k, _), defs)| {
                *k == krate
                    && defs
                        .iter()
                        .any(|d| d.methods.iter().any(|(m, n)| m == name && *n == nargs))
            })
            .map(|((_, t), _)| t.clone())
            .collect();
        for trait_name in traits {
            let in_scope = matches!(
                self.resolve_segments(false, std::slice::from_ref(&trait_name), Namespace::Type),
                Binding::Local(ref n) if *n == trait_name
            );
            if !in_scope {
                continue;
            }
            for imp in items.trait_impls.get(&krate).into_iter().flatten() {
                if imp.trait_name != trait_name {
                    continue;
                }
                let redis =
                    self.class_in(&imp.module, |a| a.class_of_type(imp.self_ty)) == Class::Redis;
                let same = match (&receiver_core, core_type_name(imp.self_ty)) {
                    (Some(a), Some(b)) => *a == b,
                    _ => true,
                };
                if redis && same {
                    return true;
                }
            }
        }
        false
    }

    /// Whether a type is a redis pub/sub connection (`redis::PubSub`,
    /// `redis::aio::PubSub`, or one in a `Box`, a `Mutex`, ...).
    pub(super) fn is_pubsub_type(&mut self, ty: &Type) -> bool {
        match ty {
            Type::Reference(r) => self.is_pubsub_type(&r.elem),
            Type::Paren(p) => self.is_pubsub_type(&p.elem),
            Type::Path(p) if p.qself.is_none() => match self.resolve(&p.path, Namespace::Type) {
                Binding::Redis(path) => path.last().is_some_and(|n| n == "PubSub"),
                Binding::External(path)
                    if path
                        .last()
                        .is_some_and(|n| PASSTHROUGH.contains(&n.as_str())) =>
                {
                    first_type_arg(ty).is_some_and(|inner| self.is_pubsub_type(inner))
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether an expression is a redis pub/sub connection: a variable or
    /// field of that type, or what `as_pubsub()`, `into_pubsub()` or
    /// `get_async_pubsub()` hand out.
    pub(super) fn is_pubsub_expr(&mut self, expr: &Expr) -> bool {
        if let Some(inner) = see_through(expr) {
            return self.is_pubsub_expr(inner);
        }
        match expr {
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if commands::PUBSUB_OPENERS.contains(&name.as_str()) {
                    true
                } else if TRANSPARENT.contains(&name.as_str()) {
                    self.is_pubsub_expr(&m.receiver)
                } else {
                    false
                }
            }
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.var(&i.to_string()))
                .is_some_and(|v| v.pubsub),
            Expr::Field(_) => match self.type_of_expr(expr) {
                Some((module, ty)) => self.class_in(&module, |a| a.is_pubsub_type(ty)),
                None => false,
            },
            _ => false,
        }
    }

    pub(super) fn is_raw_typed(&mut self, ty: &Type) -> bool {
        match ty {
            Type::Reference(r) => self.is_raw_typed(&r.elem),
            Type::Paren(p) => self.is_raw_typed(&p.elem),
            Type::Path(p) if p.qself.is_none() => matches!(
                self.resolve(&p.path, Namespace::Type),
                Binding::Redis(path) if is_raw_type(&path)
            ),
            _ => false,
        }
    }
}

/// Where a method chain starts: `RATE` in `RATE.key(k).arg(1)`.
pub(super) fn chain_root(expr: &Expr) -> &Expr {
    match expr {
        Expr::MethodCall(m) => chain_root(&m.receiver),
        Expr::Try(e) => chain_root(&e.expr),
        Expr::Await(e) => chain_root(&e.base),
        Expr::Paren(e) => chain_root(&e.expr),
        Expr::Reference(e) => chain_root(&e.expr),
        other => other,
    }
}

/// The name of the type a value of type `ty` is, under references and the
/// generic wrappers (`Client` for `&Rc<redis::Client>`).
pub(super) fn core_type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => core_type_name(&r.elem),
        Type::Paren(p) => core_type_name(&p.elem),
        Type::Group(g) => core_type_name(&g.elem),
        Type::Path(p) => {
            let name = p.path.segments.last()?.ident.to_string();
            match first_type_arg(ty) {
                Some(inner) if PASSTHROUGH.contains(&name.as_str()) => core_type_name(inner),
                _ => Some(name),
            }
        }
        _ => None,
    }
}

/// `T` in `Wrapper<T>`.
pub(super) fn first_type_arg(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}
