//! The per-file pass: walks one parsed file with the resolved module table
//! at hand and records every raw Redis access, by the counting rules of
//! [`super`].

use std::collections::{HashMap, HashSet};

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{
    Block, Expr, ExprCall, ExprClosure, ExprMethodCall, ExprPath, FnArg, GenericParam, Generics,
    ImplItemFn, Item, ItemFn, ItemImpl, ItemMod, ItemTrait, ItemUse, Lit, Local, Macro, Pat,
    Signature, Stmt, Token, TraitItemFn, Type, TypeParamBound, TypePath, WherePredicate,
};

use super::Kind;
use super::commands::{self, Families};
use super::layout::{CrateKey, SourceFile};
use super::resolve::{
    Binding, LeafKind, Lexical, ModKey, ModuleTable, Names, Namespace, UseLeaf, type_name,
    use_leaves,
};

/// One violation found in a file, before allowlists and reporting.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) kind: Kind,
    /// `module::Type::method`, the fn name, or `<top-level>`.
    pub(crate) function: String,
    /// `crate::module::Type::method` (what module allowlist patterns match).
    pub(crate) item_path: String,
    /// The enclosing module, `crate::a::b`.
    pub(crate) module: String,
    pub(crate) message: String,
}

/// Methods that hand back (a guard, reference, or `Result`/`Option` of)
/// the value they are called on, so the receiver's type carries through.
const TRANSPARENT: &[&str] = &[
    "lock",
    "unwrap",
    "expect",
    "borrow",
    "borrow_mut",
    "as_mut",
    "as_ref",
    "clone",
    "read",
    "write",
    "deref",
    "deref_mut",
    "get_mut",
    "to_owned",
    "map_err",
    "context",
    "with_context",
    "wrap_err",
    "unwrap_or_else",
    "ok",
    "ok_or",
    "ok_or_else",
];

/// The framework's escape hatch, `Store::raw_access()`.
const ESCAPE_HATCH: &str = "raw_access";

/// Generic wrappers whose first type argument says what they hold.
const PASSTHROUGH: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Mutex",
    "RwLock",
    "RefCell",
    "Option",
    "Pin",
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "RefMut",
    "Ref",
    "PooledConnection",
    "Pool",
    "Object",
];

/// Whether a redis-rs type is a connection or client (`Connection`,
/// `MultiplexedConnection`, `ConnectionManager`, `Client`, `ClusterClient`,
/// ...), as opposed to a value type (`Value`, `ConnectionInfo`, `Cmd`).
fn is_connection_type(name: &str) -> bool {
    (name.contains("Connection") && !name.ends_with("Info") && !name.ends_with("Addr"))
        || name.contains("Client")
        || name == "PubSub"
}

/// Whether a method whose result is a receiver plausibly hands out a
/// connection (`get_multiplexed_async_connection()`, `pool.get()`,
/// `self.redis()`); other method results (`req.headers()`, `res.json()`)
/// are not Redis.
fn hands_out_connection(method: &str, args: usize) -> bool {
    names_connection(method)
        || (args <= 1
            && matches!(
                method,
                "get" | "get_owned" | "try_get" | "get_timeout" | "acquire" | "checkout" | "pull"
            ))
}

/// Whether a method's name says it hands out a connection (`conn`,
/// `get_connection`, `redis`, `pool`, ...), whatever it is called on.
fn names_connection(method: &str) -> bool {
    ["conn", "redis", "pool", "client", "manager"]
        .iter()
        .any(|part| method.contains(part))
}

/// Redis types that are raw constructs themselves: values of these types
/// carry the violation of the place that built them.
fn is_raw_type(path: &[String]) -> bool {
    matches!(
        path.last().map(String::as_str),
        Some("Cmd" | "Pipeline" | "Script" | "ScriptInvocation" | "ClusterPipeline")
    )
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
    pub(crate) key: Option<(Span, String)>,
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
    /// What the block declares and imports.
    pub(crate) names: Names,
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

impl Lexical for Scope {
    fn names(&self) -> &Names {
        &self.names
    }

    fn binds_variable(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }
}

struct ImplCtx {
    self_name: Option<String>,
    /// The impl (or trait) is of a redis trait, so `self` is a connection.
    redis_self: bool,
    families: Families,
    redis_generics: HashSet<String>,
}

struct Analyzer<'a> {
    table: &'a ModuleTable,
    module: ModKey,
    scopes: Vec<Scope>,
    names: Vec<String>,
    fn_depth: usize,
    impls: Vec<ImplCtx>,
    items: &'a CrateItems<'a>,
    module_families: HashMap<ModKey, Families>,
    raw_closures: HashSet<usize>,
    /// Closures passed to a method of a value known not to be (or hold)
    /// Redis: their untyped parameters are not Redis either.
    plain_closures: HashSet<usize>,
    findings: Vec<Finding>,
    deferred: Vec<Finding>,
    touches_redis: bool,
}

/// A struct of a scanned crate: where it is declared, and its fields.
struct StructDef<'a> {
    module: ModKey,
    fields: Vec<(String, &'a Type)>,
}

/// A free function of a scanned crate: where it is declared, and what it
/// returns.
struct FnDef<'a> {
    module: ModKey,
    output: &'a syn::ReturnType,
}

/// The structs and free functions of every scanned crate, by crate and
/// name, so that a field access or a call in one file is classified by a
/// declaration in another (`state.sessions` with `AppState` declared in
/// `state.rs`).
#[derive(Default)]
pub(crate) struct CrateItems<'a> {
    structs: HashMap<(CrateKey, String), Vec<StructDef<'a>>>,
    fns: HashMap<(CrateKey, String), Vec<FnDef<'a>>>,
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
        }
        out
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
                Item::Fn(f) => self
                    .fns
                    .entry((module.krate.clone(), f.sig.ident.to_string()))
                    .or_default()
                    .push(FnDef {
                        module: module.clone(),
                        output: &f.sig.output,
                    }),
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
    fn lookup<'m, T>(
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

/// Audit one parsed file.
pub(crate) fn analyze<'a>(
    table: &'a ModuleTable,
    items: &'a CrateItems<'a>,
    file: &'a SourceFile,
    ast: &'a syn::File,
) -> Vec<Finding> {
    let mut analyzer = Analyzer {
        table,
        module: ModKey {
            krate: file.krate.clone(),
            path: file.module.clone(),
        },
        scopes: Vec::new(),
        names: Vec::new(),
        fn_depth: 0,
        impls: Vec::new(),
        items,
        module_families: HashMap::new(),
        raw_closures: HashSet::new(),
        plain_closures: HashSet::new(),
        findings: Vec::new(),
        deferred: Vec::new(),
        touches_redis: false,
    };
    for item in &ast.items {
        analyzer.visit_item(item);
    }
    let mut findings = analyzer.findings;
    if analyzer.touches_redis {
        findings.extend(analyzer.deferred);
    }
    findings.sort_by_key(|f| (f.line, f.column, f.kind));
    findings.dedup_by(|a, b| (a.line, a.column, a.kind) == (b.line, b.column, b.kind));
    findings
}

/// A path as written, by its segments.
struct NamedPath {
    leading_colon: bool,
    segments: Vec<String>,
    span: Span,
}

/// The path an expression path names, qualified-self paths included:
/// `<C as redis::AsyncCommands>::get` names `redis::AsyncCommands::get`,
/// `<redis::Cmd>::new` names `redis::Cmd::new`.
fn named_path(p: &ExprPath) -> Option<NamedPath> {
    let own = || NamedPath {
        leading_colon: p.path.leading_colon.is_some(),
        segments: path_segments(&p.path),
        span: p.path.span(),
    };
    match &p.qself {
        None => Some(own()),
        Some(q) if q.position > 0 => Some(own()),
        Some(q) => {
            let Type::Path(ty) = &*q.ty else {
                return None;
            };
            if ty.qself.is_some() {
                return None;
            }
            let mut segments = path_segments(&ty.path);
            segments.extend(path_segments(&p.path));
            Some(NamedPath {
                leading_colon: ty.path.leading_colon.is_some(),
                segments,
                span: p.span(),
            })
        }
    }
}

fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// "`r::cmd` (redis::cmd) builds a raw command": the path as written, and
/// what it resolved to when that differs.
fn written_as(leading_colon: bool, written: &[String], resolved: &[String], what: &str) -> String {
    let mut text = String::new();
    if leading_colon {
        text.push_str("::");
    }
    text.push_str(&written.join("::"));
    let canonical = redis_display(resolved);
    if text == canonical {
        format!("`{text}` {what}")
    } else {
        format!("`{text}` ({canonical}) {what}")
    }
}

fn redis_display(path: &[String]) -> String {
    if path.is_empty() {
        "redis".to_owned()
    } else {
        format!("redis::{}", path.join("::"))
    }
}

impl<'a> Analyzer<'a> {
    // ----- scopes and resolution -------------------------------------------------

    fn resolve(&mut self, path: &syn::Path, namespace: Namespace) -> Binding {
        self.resolve_segments(
            path.leading_colon.is_some(),
            &path_segments(path),
            namespace,
        )
    }

    fn resolve_segments(
        &mut self,
        leading_colon: bool,
        segments: &[String],
        namespace: Namespace,
    ) -> Binding {
        let binding = self.table.resolve_path(
            &self.module,
            &self.lexical(),
            leading_colon,
            segments,
            namespace,
        );
        if matches!(binding, Binding::Redis(_)) {
            self.touches_redis = true;
        }
        binding
    }

    /// The block scopes around the current place, as the resolver sees
    /// them (innermost last).
    fn lexical(&self) -> Vec<&dyn Lexical> {
        self.scopes.iter().map(|s| s as &dyn Lexical).collect()
    }

    fn var(&self, name: &str) -> Option<&Var> {
        self.scopes.iter().rev().find_map(|s| s.vars.get(name))
    }

    fn families(&mut self) -> Families {
        let module = self.module.clone();
        let table = self.table;
        let mut families = *self
            .module_families
            .entry(module.clone())
            .or_insert_with(|| table.module_families(&module, &mut HashSet::new()));
        for scope in &self.scopes {
            families |= scope.families;
        }
        if let Some(ctx) = self.impls.last() {
            families |= ctx.families;
        }
        families
    }

    fn is_redis_generic(&self, name: &str) -> Option<bool> {
        for scope in self.scopes.iter().rev() {
            if scope.redis_generics.contains(name) {
                return Some(true);
            }
            if scope.other_generics.contains(name) {
                return Some(false);
            }
        }
        if self
            .impls
            .last()
            .is_some_and(|ctx| ctx.redis_generics.contains(name))
        {
            return Some(true);
        }
        None
    }

    fn function(&self) -> (String, String, String) {
        let module = std::iter::once("crate".to_owned())
            .chain(self.module.path.iter().cloned())
            .collect::<Vec<_>>()
            .join("::");
        let mut full: Vec<String> = self.module.path.clone();
        full.extend(self.names.iter().cloned());
        let function = if self.fn_depth == 0 || full.is_empty() {
            "<top-level>".to_owned()
        } else {
            full.join("::")
        };
        let mut item = vec!["crate".to_owned()];
        item.extend(self.module.path.iter().cloned());
        item.extend(self.names.iter().cloned());
        (function, item.join("::"), module)
    }

    fn finding(&self, span: Span, kind: Kind, message: String) -> Finding {
        let start = span.start();
        let (function, item_path, module) = self.function();
        Finding {
            line: start.line,
            column: start.column + 1,
            kind,
            function,
            item_path,
            module,
            message,
        }
    }

    fn report(&mut self, span: Span, kind: Kind, message: String) {
        let finding = self.finding(span, kind, message);
        self.findings.push(finding);
    }

    /// Whether a path names the framework's escape hatch, `Store::raw_access`
    /// (`redis_runtime::Store::raw_access`, `Store` imported under another
    /// name, or not resolved at all), and not the method of a `struct Store`
    /// the scanned crate declares itself.
    fn is_escape_hatch_path(&mut self, leading_colon: bool, segments: &[String]) -> bool {
        if segments.len() < 2 || segments.last().is_none_or(|s| s != ESCAPE_HATCH) {
            return false;
        }
        let written_store = segments[segments.len() - 2] == "Store";
        match self.resolve_segments(leading_colon, segments, Namespace::Value) {
            Binding::External(p) => {
                p.len() >= 2 && p[p.len() - 2] == "Store" && p[p.len() - 1] == ESCAPE_HATCH
            }
            // `Store` from a scanned copy of the framework, or an alias of
            // it: not a struct of this crate.
            Binding::Local(name) => {
                let items = self.items;
                name == "Store"
                    && CrateItems::lookup(&items.structs, &self.module.krate, &name)
                        .next()
                        .is_none()
            }
            Binding::Unknown => written_store,
            Binding::Redis(_) | Binding::Module(_) => false,
        }
    }

    fn report_escape_hatch(&mut self, span: Span, written: &str) {
        self.report(
            span,
            Kind::EscapeHatch,
            format!(
                "`{written}` opens the framework's escape hatch (commands the typed operations do not cover, over the store's connection)"
            ),
        );
    }

    // ----- classification --------------------------------------------------------

    /// Whether `expr` is (a method chain on) a raw construct: a call of a raw
    /// constructor, or a variable bound to one.
    fn raw_chain(&mut self, expr: &Expr) -> Raw {
        match expr {
            Expr::MethodCall(m) => self.raw_chain(&m.receiver),
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
            Expr::Paren(e) => self.raw_chain(&e.expr),
            Expr::Group(e) => self.raw_chain(&e.expr),
            Expr::Reference(e) => self.raw_chain(&e.expr),
            Expr::Try(e) => self.raw_chain(&e.expr),
            Expr::Await(e) => self.raw_chain(&e.base),
            Expr::Unary(e) => self.raw_chain(&e.expr),
            _ => Raw::No,
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

    fn class_of_expr(&mut self, expr: &Expr) -> Class {
        match expr {
            Expr::Paren(e) => self.class_of_expr(&e.expr),
            Expr::Group(e) => self.class_of_expr(&e.expr),
            Expr::Reference(e) => self.class_of_expr(&e.expr),
            Expr::Try(e) => self.class_of_expr(&e.expr),
            Expr::Await(e) => self.class_of_expr(&e.base),
            Expr::Unary(e) => self.class_of_expr(&e.expr),
            Expr::MethodCall(m) if TRANSPARENT.contains(&m.method.to_string().as_str()) => {
                self.class_of_expr(&m.receiver)
            }
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if !hands_out_connection(&name, m.args.len()) {
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
            Expr::Field(_) => match self.type_of_expr(expr) {
                Some((module, ty)) => self.class_in(&module, |a| a.class_of_type(ty)),
                None => Class::Unknown,
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
                if is_connection_type(owner) || owner.contains("conn") {
                    Class::Redis
                } else {
                    Class::NonRedis
                }
            }
            Binding::External(p) => {
                if commands::WRAPPER_CRATES.contains(&p[0].as_str()) {
                    return Class::Redis;
                }
                let owner = p.len().checked_sub(2).map(|i| p[i].as_str());
                if owner.is_some_and(|o| PASSTHROUGH.contains(&o)) {
                    return args
                        .first()
                        .map_or(Class::Unknown, |a| self.class_of_expr(a));
                }
                Class::NonRedis
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
        let defs: Vec<&FnDef<'_>> =
            CrateItems::lookup(&items.fns, &self.module.krate, name).collect();
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
        let defs: Vec<&FnDef<'_>> =
            CrateItems::lookup(&items.fns, &self.module.krate, name).collect();
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
    fn element_class(&mut self, expr: &Expr) -> Class {
        if self.class_of_expr(expr) == Class::NonRedis && !self.may_hold_redis(expr, 0) {
            Class::NonRedis
        } else {
            Class::Unknown
        }
    }

    /// Whether a value (not itself Redis) may hold Redis values: a
    /// collection of connections, a struct with a connection field.
    fn may_hold_redis(&mut self, expr: &Expr, depth: usize) -> bool {
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
            Expr::Field(_) => match self.type_of_expr(root) {
                Some((module, ty)) => self.holds_in(&module, ty, depth),
                None => true,
            },
            Expr::Paren(e) => self.may_hold_redis(&e.expr, depth),
            Expr::Group(e) => self.may_hold_redis(&e.expr, depth),
            Expr::Unary(e) => self.may_hold_redis(&e.expr, depth),
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

    /// Whether a type is or holds a Redis type: `Vec<Connection>`,
    /// `HashMap<String, Client>`, a struct of the crate with such a field.
    fn type_holds_redis(&mut self, ty: &Type, depth: usize) -> bool {
        if depth > 4 {
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
                let arg_types: Vec<&Type> = args
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                if arg_types
                    .into_iter()
                    .any(|t| self.type_holds_redis(t, depth + 1))
                {
                    return true;
                }
                match self.resolve(&p.path, Namespace::Type) {
                    // Any redis type: `&[Cmd]` holds commands to send.
                    Binding::Redis(_) => true,
                    Binding::Local(name) => self.struct_holds_redis(&name, depth + 1),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Whether a struct of the crate has a field that is or holds Redis.
    fn struct_holds_redis(&mut self, name: &str, depth: usize) -> bool {
        if depth > 4 {
            return true;
        }
        let items = self.items;
        let fields: Vec<(ModKey, &Type)> =
            CrateItems::lookup(&items.structs, &self.module.krate, name)
                .flat_map(|def| def.fields.iter().map(|(_, ty)| (def.module.clone(), *ty)))
                .collect();
        fields
            .into_iter()
            .any(|(module, ty)| self.holds_in(&module, ty, depth + 1))
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
        let candidates: Vec<(&ModKey, &'a Type)> =
            CrateItems::lookup(&items.structs, &self.module.krate, &owner)
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
            Binding::Redis(p) => {
                if p.last().is_some_and(|name| is_connection_type(name)) {
                    Class::Redis
                } else {
                    Class::NonRedis
                }
            }
            Binding::External(p) => {
                if commands::WRAPPER_CRATES.contains(&p[0].as_str()) {
                    return Class::Redis;
                }
                let last = p.last().map(String::as_str).unwrap_or_default();
                if PASSTHROUGH.contains(&last) {
                    return self.class_of_type_args(path);
                }
                Class::NonRedis
            }
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

    fn class_of_type(&mut self, ty: &Type) -> Class {
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

    fn class_of_bounds<'b>(&mut self, bounds: impl Iterator<Item = &'b TypeParamBound>) -> Class {
        let mut class = Class::NonRedis;
        for bound in bounds {
            if let TypeParamBound::Trait(t) = bound {
                match self.resolve(&t.path, Namespace::Type) {
                    Binding::Redis(_) => return Class::Redis,
                    Binding::Local(_) | Binding::Module(_) | Binding::Unknown => {
                        class = Class::Unknown;
                    }
                    Binding::External(_) => {}
                }
            }
        }
        class
    }

    fn bound_families<'b>(&mut self, bounds: impl Iterator<Item = &'b TypeParamBound>) -> Families {
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
    fn type_families(&mut self, ty: &Type) -> Families {
        match ty {
            Type::Reference(r) => self.type_families(&r.elem),
            Type::Paren(p) => self.type_families(&p.elem),
            Type::ImplTrait(t) => self.bound_families(t.bounds.iter()),
            Type::TraitObject(t) => self.bound_families(t.bounds.iter()),
            _ => 0,
        }
    }

    fn is_raw_typed(&mut self, ty: &Type) -> bool {
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

    // ----- scopes for items ------------------------------------------------------

    /// Trait bounds of generics: which parameters are redis-bounded, and
    /// the families they bring into scope.
    fn generics_scope(&mut self, generics: &Generics, scope: &mut Scope) {
        for param in &generics.params {
            if let GenericParam::Type(tp) = param {
                let families = self.bound_families(tp.bounds.iter());
                scope.families |= families;
                if families != 0 || self.class_of_bounds(tp.bounds.iter()) == Class::Redis {
                    scope.redis_generics.insert(tp.ident.to_string());
                } else {
                    scope.other_generics.insert(tp.ident.to_string());
                }
            }
        }
        if let Some(clause) = &generics.where_clause {
            for predicate in &clause.predicates {
                if let WherePredicate::Type(pt) = predicate {
                    let families = self.bound_families(pt.bounds.iter());
                    scope.families |= families;
                    if families != 0
                        && let Some(name) = type_name(&pt.bounded_ty)
                    {
                        scope.other_generics.remove(&name);
                        scope.redis_generics.insert(name);
                    }
                }
            }
        }
    }

    fn enter_fn(&mut self, sig: &Signature) {
        self.names.push(sig.ident.to_string());
        self.fn_depth += 1;
        let mut scope = Scope::default();
        self.generics_scope(&sig.generics, &mut scope);
        self.scopes.push(scope);
        for input in &sig.inputs {
            let FnArg::Typed(pt) = input else {
                continue;
            };
            let families = self.type_families(&pt.ty);
            self.scopes.last_mut().expect("fn scope").families |= families;
            self.bind_typed(&pt.pat, &pt.ty);
        }
    }

    /// Bind the variables of a pattern of a known type, in the innermost
    /// scope. A one-field tuple-struct pattern over a generic newtype, as in
    /// `State(state): State<AppState>` or `Json(body): Json<T>`, binds its
    /// field as the type argument.
    fn bind_typed(&mut self, pat: &Pat, ty: &Type) {
        if let Pat::TupleStruct(ts) = pat
            && ts.elems.len() == 1
            && let Some(inner_ty) = first_type_arg(ty)
        {
            let inner = ts.elems.first().expect("one element");
            self.bind_typed(inner, inner_ty);
            return;
        }
        let var = Var {
            class: self.class_of_type(ty),
            raw: if self.is_raw_typed(ty) {
                Raw::Received
            } else {
                Raw::No
            },
            key: None,
            struct_name: type_name(ty),
            holds_redis: self.type_holds_redis(ty, 0),
        };
        if let Some(scope) = self.scopes.last_mut() {
            bind_pattern(pat, scope, var);
        }
    }

    fn leave_fn(&mut self) {
        self.scopes.pop();
        self.fn_depth -= 1;
        self.names.pop();
    }

    /// Build the scope of a block from the items declared in it.
    fn block_scope(&mut self, stmts: &[Stmt]) -> Scope {
        let items = stmts.iter().filter_map(|stmt| match stmt {
            Stmt::Item(item) => Some(item),
            _ => None,
        });
        let names = self.table.block_names(&self.module, &self.lexical(), items);
        Scope {
            families: self.table.families_of(&names, &mut HashSet::new()),
            names,
            ..Scope::default()
        }
    }

    // ----- checks ----------------------------------------------------------------

    /// A hand-built key in `expr`: a string literal, `format!` or `concat!`
    /// whose literal text contains `:`. Returns where and what.
    /// A variable bound to such a key (`let key = format!("user:{id}");`)
    /// counts at the place the key was built.
    fn hand_built_key(&self, expr: &Expr) -> Option<(Span, String)> {
        match expr {
            Expr::Path(p) => {
                let ident = p.path.get_ident()?;
                self.var(&ident.to_string())?.key.clone()
            }
            _ => literal_key(expr),
        }
        .or_else(|| match expr {
            Expr::Reference(e) => self.hand_built_key(&e.expr),
            Expr::Paren(e) => self.hand_built_key(&e.expr),
            Expr::Group(e) => self.hand_built_key(&e.expr),
            Expr::Array(a) => a.elems.iter().find_map(|e| self.hand_built_key(e)),
            Expr::Tuple(t) => t.elems.iter().find_map(|e| self.hand_built_key(e)),
            Expr::MethodCall(m) => self
                .hand_built_key(&m.receiver)
                .or_else(|| m.args.iter().find_map(|e| self.hand_built_key(e))),
            Expr::Call(c) => c.args.iter().find_map(|e| self.hand_built_key(e)),
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => self
                .hand_built_key(&b.left)
                .or_else(|| self.hand_built_key(&b.right)),
            _ => None,
        })
    }

    /// Hand-built keys in the method chain of a command, pipeline or
    /// script built elsewhere and sent here (`SCRIPT.key(format!(..))
    /// .invoke_async(&mut con)`).
    fn chain_keys(&self, receiver: &Expr) -> Vec<Finding> {
        let mut found = Vec::new();
        let mut expr = receiver;
        while let Expr::MethodCall(m) = expr {
            let name = m.method.to_string();
            let args: Vec<&Expr> = match name.as_str() {
                "arg" | "cursor_arg" if raw_arg_is_key(&m.receiver) => m.args.iter().collect(),
                "key" => m.args.iter().collect(),
                _ => match commands::command_method(commands::F_COMMANDS, &name, m.args.len()) {
                    Some((method, _)) => Self::key_args(method, &m.args, 0),
                    None => Vec::new(),
                },
            };
            for arg in args {
                if let Some((span, text)) = self.hand_built_key(arg) {
                    found.push(self.finding(
                        span,
                        Kind::HandBuiltKey,
                        format!("hand-built key {text} passed to a raw Redis call"),
                    ));
                }
            }
            expr = &m.receiver;
        }
        found
    }

    fn check_keys<'e>(&mut self, args: impl Iterator<Item = &'e Expr>, context: &str) {
        for arg in args {
            if let Some((span, text)) = self.hand_built_key(arg) {
                self.report(
                    span,
                    Kind::HandBuiltKey,
                    format!("hand-built key {text} passed to {context}"),
                );
            }
        }
    }

    fn key_args<'e>(
        method: &commands::CommandMethod,
        args: &'e Punctuated<Expr, Token![,]>,
        skip: usize,
    ) -> Vec<&'e Expr> {
        args.iter()
            .skip(skip)
            .enumerate()
            .filter(|(i, _)| method.key_args.contains(i))
            .map(|(_, a)| a)
            .collect()
    }

    /// Whether a turbofish on a command-trait call fits the method: the
    /// untyped traits take the key types plus `RV`, the typed ones the key
    /// types only. `store.get::<User>(&id)` fits neither `Commands::get`.
    fn turbofish_fits(
        call: &ExprMethodCall,
        method: &commands::CommandMethod,
        families: Families,
    ) -> bool {
        let Some(turbofish) = &call.turbofish else {
            return true;
        };
        let n = turbofish
            .args
            .iter()
            .filter(|a| !matches!(a, syn::GenericArgument::Lifetime(_)))
            .count();
        n == method.generics + 1 || (families & commands::F_TYPED != 0 && n == method.generics)
    }

    fn visit_macro_body(&mut self, tokens: TokenStream) {
        if let Ok(exprs) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone()) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
            return;
        }
        if let Ok(stmts) = Block::parse_within.parse2(tokens.clone()) {
            let block = Block {
                brace_token: Default::default(),
                stmts,
            };
            self.visit_block(&block);
            return;
        }
        // A macro with its own grammar (`tokio::select!`, `lazy_static!`):
        // audit whatever parses as an expression between its separators.
        for chunk in split_chunks(tokens) {
            if let Ok(expr) = syn::parse2::<Expr>(chunk.clone()) {
                self.visit_expr(&expr);
                continue;
            }
            if let Some(rhs) = after_assignment(&chunk)
                && let Ok(expr) = syn::parse2::<Expr>(rhs)
            {
                self.visit_expr(&expr);
                continue;
            }
            for tree in chunk {
                if let TokenTree::Group(g) = tree
                    && g.delimiter() != Delimiter::None
                {
                    self.visit_macro_body(g.stream());
                }
            }
        }
    }

    /// Report a path into the redis crate that builds a raw construct
    /// (`redis::cmd`) or names a command-trait method (`redis::Commands::get`).
    fn report_redis_path(
        &mut self,
        span: Span,
        leading_colon: bool,
        written: &[String],
        path: &[String],
    ) {
        if let Some(kind) = commands::raw_constructor(path) {
            let what = match kind {
                Kind::RawPipeline => "builds a raw pipeline",
                Kind::RawScript => "builds a raw Lua script",
                _ => "builds a raw command",
            };
            let message = written_as(leading_colon, written, path, what);
            self.report(span, kind, message);
            return;
        }
        if let [.., trait_name, method] = path
            && let Some(family) = commands::trait_family(trait_name)
        {
            let known = [
                commands::COMMANDS,
                commands::JSON_COMMANDS,
                commands::PUBSUB_COMMANDS,
            ]
            .iter()
            .any(|table| table.iter().any(|m| m.name == method))
                || commands::CONNECTION_METHODS.contains(&method.as_str());
            if known {
                let kind = if family == commands::F_CONNECTION_LIKE {
                    Kind::RawConnectionCall
                } else {
                    Kind::CommandTraitCall
                };
                let message = written_as(leading_colon, written, path, "is called directly");
                self.report(span, kind, message);
            }
        }
    }

    /// A `macro_rules!` body is not Rust until it is expanded, so it is
    /// walked as tokens: every path in it that resolves (where the macro
    /// is defined) to a raw constructor or a command-trait method, and
    /// every `.req_packed_command(..)`-style call, is reported where it is
    /// written.
    fn scan_macro_rules(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.scan_macro_rules(g.stream());
                    i += 1;
                }
                // `.name(..)`: a method call; only the always-raw
                // connection methods are known without the receiver.
                TokenTree::Punct(p) if p.as_char() == '.' => {
                    if let Some(TokenTree::Ident(method)) = trees.get(i + 1) {
                        let name = method.to_string();
                        if name == ESCAPE_HATCH
                            && let Some(TokenTree::Group(args)) = trees.get(i + 2)
                            && args.delimiter() == Delimiter::Parenthesis
                            && args.stream().is_empty()
                        {
                            self.report_escape_hatch(method.span(), ".raw_access()");
                        } else if commands::CONNECTION_METHODS.contains(&name.as_str())
                            && is_paren_group(trees.get(i + 2))
                        {
                            self.report(
                                method.span(),
                                Kind::RawConnectionCall,
                                format!(
                                    "`.{name}(..)` sends raw bytes or commands over the connection"
                                ),
                            );
                        }
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                // `$x` is a macro variable, `$crate` the defining crate.
                TokenTree::Punct(p) if p.as_char() == '$' => match trees.get(i + 1) {
                    Some(TokenTree::Ident(id)) if id == "crate" => {
                        i = self.scan_path(&trees, i + 1)
                    }
                    Some(TokenTree::Ident(_)) => i += 2,
                    _ => i += 1,
                },
                TokenTree::Punct(p) if p.as_char() == ':' && is_path_sep(&trees, i) => {
                    i = self.scan_path(&trees, i);
                }
                TokenTree::Ident(_) => i = self.scan_path(&trees, i),
                TokenTree::Punct(_) | TokenTree::Literal(_) => i += 1,
            }
        }
    }

    /// Read the path starting at `trees[start]` (`::a::b`, `a::b`, `a`),
    /// report it if it is raw Redis access, and return the index after it.
    fn scan_path(&mut self, trees: &[TokenTree], start: usize) -> usize {
        let mut i = start;
        let leading_colon = is_path_sep(trees, i);
        if leading_colon {
            i += 2;
        }
        let mut segments = Vec::new();
        let mut span = None;
        while let Some(TokenTree::Ident(id)) = trees.get(i) {
            span.get_or_insert(id.span());
            segments.push(id.to_string());
            i += 1;
            if is_path_sep(trees, i) && matches!(trees.get(i + 2), Some(TokenTree::Ident(_))) {
                i += 2;
            } else {
                break;
            }
        }
        let Some(span) = span else {
            return i.max(start + 1);
        };
        // A lone name counts only when called (`cmd("GET")`), and not
        // where it is declared (`fn cmd(..)`, `let cmd = ..`).
        let declared = start
            .checked_sub(1)
            .and_then(|j| match &trees[j] {
                TokenTree::Ident(prev) => Some(prev.to_string()),
                _ => None,
            })
            .is_some_and(|prev| matches!(prev.as_str(), "fn" | "let" | "mut" | "struct" | "use"));
        if declared || (segments.len() == 1 && !is_paren_group(trees.get(i))) {
            return i;
        }
        if self.is_escape_hatch_path(leading_colon, &segments) {
            let mut written = if leading_colon { "::" } else { "" }.to_owned();
            written.push_str(&segments.join("::"));
            self.report_escape_hatch(span, &written);
            return i;
        }
        let binding = self.resolve_segments(leading_colon, &segments, Namespace::Value);
        if let Binding::Redis(path) = binding {
            self.report_redis_path(span, leading_colon, &segments, &path);
        }
        i
    }

    fn report_use_leaf(&mut self, leaf: &UseLeaf) {
        let span = leaf.span;
        let target = self.table.resolve_use(&self.module, &self.lexical(), leaf);
        let Binding::Redis(path) = &target else {
            return;
        };
        self.touches_redis = true;
        match &leaf.kind {
            LeafKind::Glob => {
                if commands::glob_families(path) != 0 {
                    self.report(
                        span,
                        Kind::CommandTraitImport,
                        format!(
                            "glob import of `{}` brings the redis command traits into scope",
                            redis_display(path)
                        ),
                    );
                }
            }
            LeafKind::Name { .. } => {
                if target.trait_family().is_some() {
                    self.report(
                        span,
                        Kind::CommandTraitImport,
                        format!("imports redis command trait `{}`", redis_display(path)),
                    );
                }
            }
        }
    }
}

/// A string literal, `format!` or `concat!` with `:` in its literal text,
/// looking through references, `.to_string()`, `String::from(..)`, `+`.
fn literal_key(expr: &Expr) -> Option<(Span, String)> {
    match expr {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) if s.value().contains(':') => Some((s.span(), format!("{:?}", s.value()))),
            _ => None,
        },
        Expr::Macro(m) => macro_key(&m.mac),
        Expr::Reference(e) => literal_key(&e.expr),
        Expr::Paren(e) => literal_key(&e.expr),
        Expr::Group(e) => literal_key(&e.expr),
        Expr::MethodCall(m) => {
            literal_key(&m.receiver).or_else(|| m.args.iter().find_map(literal_key))
        }
        Expr::Call(c) => c.args.iter().find_map(literal_key),
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
            literal_key(&b.left).or_else(|| literal_key(&b.right))
        }
        _ => None,
    }
}

/// Whether the `.arg(..)` called on `receiver` may be a key. When the
/// chain starts at `cmd("NAME")` (or a pipeline's `.cmd("NAME")`) with a
/// command redis-rs knows, only its key positions are keys (`SET key value
/// EX 10`: the first); otherwise every argument may be one.
fn raw_arg_is_key(receiver: &Expr) -> bool {
    let mut index = 0;
    let mut expr = receiver;
    let command = loop {
        match expr {
            Expr::MethodCall(m) if m.method == "arg" || m.method == "cursor_arg" => {
                index += 1;
                expr = &m.receiver;
            }
            Expr::MethodCall(m) if m.method == "cmd" => break m.args.first(),
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "cmd") => {
                    break c.args.first();
                }
                _ => return true,
            },
            Expr::Paren(e) => expr = &e.expr,
            Expr::Reference(e) => expr = &e.expr,
            _ => return true,
        }
    };
    let Some(Expr::Lit(syn::ExprLit {
        lit: Lit::Str(name),
        ..
    })) = command
    else {
        return true;
    };
    let name = name.value().to_ascii_lowercase();
    let Some(method) = commands::COMMANDS.iter().find(|m| m.name == name) else {
        return true;
    };
    if name.starts_with("mset") {
        return index % 2 == 0;
    }
    method.key_args.contains(&index)
        || (index >= method.args && method.args > 0 && method.key_args.contains(&(method.args - 1)))
}

/// `format!("user:{}", id)` / `concat!("user:", ...)`: the literal text.
fn macro_key(mac: &Macro) -> Option<(Span, String)> {
    let name = mac.path.segments.last()?.ident.to_string();
    let args = Punctuated::<Expr, Token![,]>::parse_terminated
        .parse2(mac.tokens.clone())
        .ok()?;
    let literal = |e: &Expr| match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        _ => None,
    };
    let span = mac.path.span();
    match name.as_str() {
        "format" | "format_args" => {
            let template = literal(args.first()?)?;
            has_separator_outside_placeholders(&template)
                .then(|| (span, format!("format!({template:?})")))
        }
        "concat" => {
            let text: String = args.iter().filter_map(literal).collect();
            text.contains(':')
                .then(|| (span, format!("concat!(..) = {text:?}")))
        }
        _ => None,
    }
}

/// Whether a format template has `:` in its literal text (not inside a
/// `{name:?}` placeholder).
fn has_separator_outside_placeholders(template: &str) -> bool {
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => {
                for inner in chars.by_ref() {
                    if inner == '}' {
                        break;
                    }
                }
            }
            ':' => return true,
            _ => {}
        }
    }
    false
}

/// Split a macro body at top-level `,`, `;` and `=>`.
fn split_chunks(tokens: TokenStream) -> Vec<TokenStream> {
    let mut chunks = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        if let TokenTree::Punct(p) = &tree {
            let ch = p.as_char();
            if ch == ',' || ch == ';' {
                chunks.push(current.drain(..).collect());
                continue;
            }
            if ch == '='
                && p.spacing() == Spacing::Joint
                && matches!(trees.peek(), Some(TokenTree::Punct(n)) if n.as_char() == '>')
            {
                trees.next();
                chunks.push(current.drain(..).collect());
                continue;
            }
        }
        current.push(tree);
    }
    if !current.is_empty() {
        chunks.push(current.into_iter().collect());
    }
    chunks
}

/// The tokens after the first lone `=` of `static ref X: T = expr`.
fn after_assignment(chunk: &TokenStream) -> Option<TokenStream> {
    let trees: Vec<TokenTree> = chunk.clone().into_iter().collect();
    let at = trees.iter().enumerate().position(|(i, t)| {
        matches!(t, TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Alone)
            && !matches!(
                i.checked_sub(1).map(|j| &trees[j]),
                Some(TokenTree::Punct(prev)) if prev.spacing() == Spacing::Joint
            )
    })?;
    Some(trees[at + 1..].iter().cloned().collect())
}

/// Whether `trees[i..]` starts with `::`.
fn is_path_sep(trees: &[TokenTree], i: usize) -> bool {
    matches!(
        (trees.get(i), trees.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

fn is_paren_group(tree: Option<&TokenTree>) -> bool {
    matches!(tree, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
}

/// Where a method chain starts: `RATE` in `RATE.key(k).arg(1)`.
fn chain_root(expr: &Expr) -> &Expr {
    match expr {
        Expr::MethodCall(m) => chain_root(&m.receiver),
        Expr::Try(e) => chain_root(&e.expr),
        Expr::Await(e) => chain_root(&e.base),
        Expr::Paren(e) => chain_root(&e.expr),
        Expr::Reference(e) => chain_root(&e.expr),
        other => other,
    }
}

/// `T` in `Wrapper<T>`.
fn first_type_arg(ty: &Type) -> Option<&Type> {
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

fn bind_pattern(pat: &Pat, scope: &mut Scope, var: Var) {
    match pat {
        Pat::Ident(i) => {
            scope.vars.insert(i.ident.to_string(), var);
        }
        Pat::Type(t) => bind_pattern(&t.pat, scope, var),
        Pat::Reference(r) => bind_pattern(&r.pat, scope, var),
        Pat::Paren(p) => bind_pattern(&p.pat, scope, var),
        other => {
            // Destructuring: the parts' types are not known.
            let mut names = Vec::new();
            pattern_idents(other, &mut names);
            for name in names {
                scope.vars.insert(name, Var::of(Class::Unknown));
            }
        }
    }
}

/// Bind every variable of a pattern matched against a value of class
/// `class` (`for x in &list`, `if let Some(first) = list.first()`): not
/// Redis when the value is not; not known otherwise.
fn bind_derived(pat: &Pat, scope: &mut Scope, class: Class) {
    let class = if class == Class::NonRedis {
        Class::NonRedis
    } else {
        Class::Unknown
    };
    let mut names = Vec::new();
    pattern_idents(pat, &mut names);
    for name in names {
        scope.vars.insert(name, Var::of(class));
    }
}

fn pattern_idents(pat: &Pat, out: &mut Vec<String>) {
    struct Idents<'o>(&'o mut Vec<String>);
    impl<'ast> Visit<'ast> for Idents<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
            visit::visit_pat_ident(self, i);
        }
    }
    Idents(out).visit_pat(pat);
}

impl<'ast> Visit<'ast> for Analyzer<'_> {
    fn visit_item_mod(&mut self, m: &'ast ItemMod) {
        let Some((_, items)) = &m.content else {
            return;
        };
        let mut path = self.module.path.clone();
        if self.fn_depth == 0 {
            path.push(m.ident.to_string());
        }
        let module = ModKey {
            krate: self.module.krate.clone(),
            path,
        };
        let saved_module = std::mem::replace(&mut self.module, module);
        let saved_scopes = std::mem::take(&mut self.scopes);
        let saved_names = std::mem::take(&mut self.names);
        let saved_impls = std::mem::take(&mut self.impls);
        let saved_depth = std::mem::replace(&mut self.fn_depth, 0);
        for item in items {
            self.visit_item(item);
        }
        self.module = saved_module;
        self.scopes = saved_scopes;
        self.names = saved_names;
        self.impls = saved_impls;
        self.fn_depth = saved_depth;
    }

    fn visit_item_use(&mut self, u: &'ast ItemUse) {
        for leaf in use_leaves(u.leading_colon.is_some(), &u.tree) {
            self.report_use_leaf(&leaf);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast ItemFn) {
        self.enter_fn(&f.sig);
        self.visit_block(&f.block);
        self.leave_fn();
    }

    fn visit_impl_item_fn(&mut self, f: &'ast ImplItemFn) {
        self.enter_fn(&f.sig);
        self.visit_block(&f.block);
        self.leave_fn();
    }

    fn visit_trait_item_fn(&mut self, f: &'ast TraitItemFn) {
        if let Some(block) = &f.default {
            self.enter_fn(&f.sig);
            self.visit_block(block);
            self.leave_fn();
        }
    }

    fn visit_item_impl(&mut self, imp: &'ast ItemImpl) {
        let mut scope = Scope::default();
        self.generics_scope(&imp.generics, &mut scope);
        let trait_family = imp.trait_.as_ref().and_then(|(path, _)| {
            let binding = self.resolve(path, Namespace::Type);
            binding.trait_family()
        });
        let self_name = type_name(&imp.self_ty);
        self.impls.push(ImplCtx {
            self_name: self_name.clone(),
            redis_self: trait_family.is_some(),
            families: scope.families | trait_family.unwrap_or(0),
            redis_generics: scope.redis_generics,
        });
        self.names
            .push(self_name.unwrap_or_else(|| "<impl>".to_owned()));
        for item in &imp.items {
            self.visit_impl_item(item);
        }
        self.names.pop();
        self.impls.pop();
    }

    fn visit_item_trait(&mut self, t: &'ast ItemTrait) {
        let families = self.bound_families(t.supertraits.iter());
        let redis_self =
            families != 0 || self.class_of_bounds(t.supertraits.iter()) == Class::Redis;
        self.impls.push(ImplCtx {
            self_name: None,
            redis_self,
            families,
            redis_generics: HashSet::new(),
        });
        self.names.push(t.ident.to_string());
        for item in &t.items {
            self.visit_trait_item(item);
        }
        self.names.pop();
        self.impls.pop();
    }

    fn visit_block(&mut self, block: &'ast Block) {
        let scope = self.block_scope(&block.stmts);
        self.scopes.push(scope);
        for stmt in &block.stmts {
            self.visit_stmt(stmt);
        }
        self.scopes.pop();
    }

    fn visit_local(&mut self, local: &'ast Local) {
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        let (typed, pat): (Option<&Type>, &Pat) = match &local.pat {
            Pat::Type(t) => (Some(&*t.ty), &*t.pat),
            other => (None, other),
        };
        let mut var = Var::of(Class::Unknown);
        if let Some(init) = &local.init {
            var.raw = self.raw_chain(&init.expr);
            var.class = self.class_of_expr(&init.expr);
            var.holds_redis = self.may_hold_redis(&init.expr, 0);
            var.key = literal_key(&init.expr);
            var.struct_name = match &*init.expr {
                Expr::Struct(s) => s.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
        }
        if let Some(ty) = typed {
            var.struct_name = type_name(ty);
            var.holds_redis = self.type_holds_redis(ty, 0);
            if var.raw == Raw::No && self.is_raw_typed(ty) {
                var.raw = Raw::Received;
            }
            let class = self.class_of_type(ty);
            if class != Class::Unknown {
                var.class = class;
            }
        }
        if let Some(scope) = self.scopes.last_mut() {
            bind_pattern(pat, scope, var);
        }
    }

    fn visit_expr_closure(&mut self, c: &'ast ExprClosure) {
        // The closure of `redis::transaction(con, keys, |con, pipe| ..)`:
        // its last parameter is the transaction's pipeline, the others the
        // connection.
        let key = std::ptr::from_ref(c) as usize;
        let raw = self.raw_closures.contains(&key);
        // A closure passed to a method of a value that neither is nor holds
        // Redis (`list.iter().map(|x| ..)`, `value.get("a").and_then(|a|
        // ..)`): what it receives is not Redis either.
        let plain = self.plain_closures.contains(&key);
        self.scopes.push(Scope::default());
        let last = c.inputs.len().saturating_sub(1);
        for (i, input) in c.inputs.iter().enumerate() {
            if raw {
                let var = Var {
                    raw: if i == last { Raw::Built } else { Raw::No },
                    ..Var::of(Class::Redis)
                };
                let scope = self.scopes.last_mut().expect("closure scope");
                bind_pattern(input, scope, var);
            } else if let Pat::Type(t) = input {
                self.bind_typed(&t.pat, &t.ty);
            } else {
                let class = if plain {
                    Class::NonRedis
                } else {
                    Class::Unknown
                };
                let scope = self.scopes.last_mut().expect("closure scope");
                bind_derived(input, scope, class);
            }
        }
        self.visit_expr(&c.body);
        self.scopes.pop();
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let class = self.element_class(&f.expr);
        let mut scope = Scope::default();
        bind_derived(&f.pat, &mut scope, class);
        self.scopes.push(scope);
        self.visit_block(&f.body);
        self.scopes.pop();
    }

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        // What `if let` binds lives in the `then` branch.
        self.scopes.push(Scope::default());
        self.visit_expr(&e.cond);
        self.visit_block(&e.then_branch);
        self.scopes.pop();
        if let Some((_, otherwise)) = &e.else_branch {
            self.visit_expr(otherwise);
        }
    }

    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.scopes.push(Scope::default());
        self.visit_expr(&e.cond);
        self.visit_block(&e.body);
        self.scopes.pop();
    }

    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        self.visit_expr(&e.expr);
        let class = self.element_class(&e.expr);
        if let Some(scope) = self.scopes.last_mut() {
            bind_derived(&e.pat, scope, class);
        }
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        let class = self.element_class(&m.expr);
        for arm in &m.arms {
            let mut scope = Scope::default();
            bind_derived(&arm.pat, &mut scope, class);
            self.scopes.push(scope);
            if let Pat::Guard(g) = &arm.pat {
                self.visit_expr(&g.guard);
            }
            self.visit_expr(&arm.body);
            self.scopes.pop();
        }
    }

    fn visit_expr_path(&mut self, p: &'ast ExprPath) {
        let Some(path) = named_path(p) else {
            return;
        };
        if self.is_escape_hatch_path(path.leading_colon, &path.segments) {
            let mut written = if path.leading_colon { "::" } else { "" }.to_owned();
            written.push_str(&path.segments.join("::"));
            self.report_escape_hatch(path.span, &written);
            return;
        }
        let Binding::Redis(resolved) =
            self.resolve_segments(path.leading_colon, &path.segments, Namespace::Value)
        else {
            return;
        };
        self.report_redis_path(path.span, path.leading_colon, &path.segments, &resolved);
    }

    fn visit_expr_call(&mut self, c: &'ast ExprCall) {
        if let Expr::Path(p) = &*c.func
            && let Some(named) = named_path(p)
            && let Binding::Redis(path) =
                self.resolve_segments(named.leading_colon, &named.segments, Namespace::Value)
        {
            if commands::raw_constructor(&path).is_some() {
                let segs: Vec<&str> = path.iter().map(String::as_str).collect();
                if segs == ["transaction"] {
                    for arg in &c.args {
                        if let Expr::Closure(closure) = arg {
                            self.raw_closures
                                .insert(std::ptr::from_ref(closure) as usize);
                        }
                    }
                    // transaction(con, keys, func): the watched keys.
                    self.check_keys(c.args.iter().skip(1).take(1), "a raw Redis transaction");
                }
                if let ["Cmd", name] = segs.as_slice()
                    && let Some((method, _)) =
                        commands::command_method(commands::F_COMMANDS, name, c.args.len())
                {
                    let keys = Self::key_args(method, &c.args, 0);
                    self.check_keys(keys.into_iter(), "a raw Redis command");
                }
            } else if let [.., trait_name, name] = path.as_slice()
                && let Some(family) = commands::trait_family(trait_name)
                && let Some((method, _)) =
                    commands::command_method(family, name, c.args.len().saturating_sub(1))
            {
                let keys = Self::key_args(method, &c.args, 1);
                self.check_keys(keys.into_iter(), "a redis command-trait call");
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        let name = call.method.to_string();
        let nargs = call.args.len();
        if name == ESCAPE_HATCH && nargs == 0 {
            // Counted on its own: what the `RawAccess` is then used for is
            // part of this one violation, and raw constructs sent through
            // it are counted where they are built, as everywhere.
            self.report_escape_hatch(call.method.span(), ".raw_access()");
        }
        if call.args.iter().any(|a| matches!(a, Expr::Closure(_)))
            && !names_connection(&name)
            && self.element_class(&call.receiver) == Class::NonRedis
        {
            for arg in &call.args {
                if let Expr::Closure(closure) = arg {
                    self.plain_closures
                        .insert(std::ptr::from_ref(closure) as usize);
                }
            }
        }
        let raw = self.raw_chain(&call.receiver);
        if raw == Raw::Received && commands::EXECUTORS.contains(&name.as_str()) {
            self.report(
                call.method.span(),
                Kind::RawConnectionCall,
                format!("`.{name}(..)` sends a raw command, pipeline or script built elsewhere"),
            );
            let keys = self.chain_keys(&call.receiver);
            self.findings.extend(keys);
        } else if raw != Raw::No {
            // Part of a raw construct already counted where it was built.
            if (name == "arg" || name == "cursor_arg") && nargs == 1 {
                if raw_arg_is_key(&call.receiver) {
                    self.check_keys(call.args.iter(), "a raw Redis command");
                }
            } else if !commands::EXECUTORS.contains(&name.as_str()) {
                let families = commands::F_COMMANDS;
                match commands::command_method(families, &name, nargs) {
                    Some((method, _)) => {
                        let keys = Self::key_args(method, &call.args, 0);
                        self.check_keys(keys.into_iter(), "a raw Redis command");
                    }
                    None => self.check_keys(call.args.iter(), "a raw Redis command"),
                }
            }
        } else if commands::CONNECTION_METHODS.contains(&name.as_str()) {
            self.report(
                call.method.span(),
                Kind::RawConnectionCall,
                format!("`.{name}(..)` sends raw bytes or commands over the connection"),
            );
        } else if commands::EXECUTORS.contains(&name.as_str()) {
            // Redis sends over `&mut` a connection: `db.query("SELECT 1")`,
            // `stmt.query([])` and `x.exec(&y)` are something else.
            let connection_like = match call.args.first() {
                Some(Expr::Reference(r)) if r.mutability.is_none() => false,
                Some(arg) => self.class_of_expr(arg) != Class::NonRedis,
                None => false,
            };
            // The receiver is a command, pipeline or script (or a chain
            // building one): what matters is where the chain starts.
            if nargs == 1
                && connection_like
                && self.class_of_expr(chain_root(&call.receiver)) != Class::NonRedis
            {
                let finding = self.finding(
                    call.method.span(),
                    Kind::RawConnectionCall,
                    format!("`.{name}(..)` sends a raw command, pipeline or script"),
                );
                self.deferred.push(finding);
                let keys = self.chain_keys(&call.receiver);
                self.deferred.extend(keys);
            }
        } else {
            let class = self.class_of_expr(&call.receiver);
            let in_scope = self.families();
            let families = if class == Class::Redis {
                commands::F_ALL & !commands::F_CONNECTION_LIKE
            } else {
                in_scope
            };
            if class != Class::NonRedis
                && let Some((method, family)) = commands::command_method(families, &name, nargs)
                && Self::turbofish_fits(call, method, in_scope)
            {
                let traits = match family {
                    commands::F_JSON => "JsonCommands/JsonAsyncCommands",
                    commands::F_PUBSUB => "PubSubCommands",
                    _ => "Commands/AsyncCommands",
                };
                self.report(
                    call.method.span(),
                    Kind::CommandTraitCall,
                    format!("calls redis command-trait method `{name}` ({traits})"),
                );
                let keys = Self::key_args(method, &call.args, 0);
                self.check_keys(keys.into_iter(), "a redis command-trait call");
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_type_path(&mut self, t: &'ast TypePath) {
        if t.qself.is_none() && t.path.segments.len() > 1 {
            self.resolve(&t.path, Namespace::Type);
        }
        visit::visit_type_path(self, t);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        if !m.mac.path.is_ident("macro_rules") {
            self.visit_macro(&m.mac);
            return;
        }
        // Findings in the body belong to the macro, `name!`.
        let name = m
            .ident
            .as_ref()
            .map_or_else(|| "macro_rules".to_owned(), ToString::to_string);
        self.names.push(format!("{name}!"));
        self.fn_depth += 1;
        self.scan_macro_rules(m.mac.tokens.clone());
        self.fn_depth -= 1;
        self.names.pop();
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if mac.path.is_ident("macro_rules") {
            return;
        }
        self.visit_macro_body(mac.tokens.clone());
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_placeholders_are_not_separators() {
        assert!(has_separator_outside_placeholders("user:{}"));
        assert!(has_separator_outside_placeholders("{prefix}:{id}"));
        assert!(!has_separator_outside_placeholders("{id:?}"));
        assert!(!has_separator_outside_placeholders("{}{}"));
        assert!(has_separator_outside_placeholders("{{literal}}:x"));
    }

    #[test]
    fn chunks_split_on_separators() {
        let tokens: TokenStream = "a = f(x), b => { g(y) }; c".parse().unwrap();
        assert_eq!(split_chunks(tokens).len(), 4);
        let chunk: TokenStream = "static ref X: T = make(1)".parse().unwrap();
        assert_eq!(after_assignment(&chunk).unwrap().to_string(), "make (1)");
        let chunk: TokenStream = "a == b".parse().unwrap();
        assert!(after_assignment(&chunk).is_none());
    }
}
