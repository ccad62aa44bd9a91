//! Scopes: the block, function and closure scopes the walk keeps, with
//! the local variables, generics and command-trait families they bring in,
//! and how patterns bind variables.

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use syn::visit::{self, Visit};
use syn::{FnArg, GenericParam, Generics, Pat, Signature, Stmt, Type, WherePredicate};

use crate::audit::commands::Families;
use crate::audit::resolve::{Lexical, Names, type_name};

use super::Analyzer;
use super::receivers::{Class, Raw, core_type_name, first_type_arg};

/// A local variable.
#[derive(Clone, Debug)]
pub(super) struct Var {
    /// What is known about its type.
    pub(super) class: Class,
    /// Set when the variable holds a raw construct: built here (`let mut c
    /// = redis::cmd("GET")`, calls on it belong to that construct) or
    /// received (a parameter of type `&Cmd`: sending it is counted).
    pub(super) raw: Raw,
    /// Set when the variable holds a hand-built key (`let key =
    /// format!("user:{id}")`): where it was built, and its text.
    pub(super) key: Option<(Span, String)>,
    /// The name of its type, when that is a plain path (`AppState` for
    /// `state: &AppState`): field accesses look the field up in the struct.
    pub(super) struct_name: Option<String>,
    /// Whether a value not itself Redis may hold Redis values (a `Vec` of
    /// connections, a struct with a client field): then what is taken out
    /// of it (`for c in &conns`, `conns.iter().map(|c| ..)`) is not known.
    pub(super) holds_redis: bool,
    /// Whether it is a redis pub/sub connection (`redis::PubSub`,
    /// `redis::aio::PubSub`), whose inherent `subscribe`-like methods send
    /// commands.
    pub(super) pubsub: bool,
    /// The name of its declared type under references and generic wrappers
    /// (`Client` for `&Rc<redis::Client>`), when declared.
    pub(super) core_name: Option<String>,
}

impl Var {
    /// A variable of this class, nothing else known.
    pub(super) fn of(class: Class) -> Var {
        Var {
            class,
            raw: Raw::No,
            key: None,
            struct_name: None,
            holds_redis: false,
            pubsub: false,
            core_name: None,
        }
    }
}

/// A block, function or closure scope inside a module.
#[derive(Clone, Debug, Default)]
pub(super) struct Scope {
    /// What the block declares and imports.
    pub(super) names: Names,
    /// Command-trait families brought into scope by the block's imports or
    /// by the enclosing function's trait bounds.
    pub(super) families: Families,
    /// Local variables.
    pub(super) vars: HashMap<String, Var>,
    /// Type parameters bounded by a redis trait.
    pub(super) redis_generics: HashSet<String>,
    /// Type parameters without a redis bound.
    pub(super) other_generics: HashSet<String>,
}

impl Lexical for Scope {
    fn names(&self) -> &Names {
        &self.names
    }

    fn binds_variable(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }
}

impl<'a> Analyzer<'a> {
    /// Trait bounds of generics: which parameters are redis-bounded, and
    /// the families they bring into scope.
    pub(super) fn generics_scope(&mut self, generics: &Generics, scope: &mut Scope) {
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

    pub(super) fn enter_fn(&mut self, sig: &Signature) {
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
    /// Bind, in the innermost scope, what `pat` takes out of `expr` (`if
    /// let`, `match`, destructuring `let`): a tuple pattern against a tuple
    /// expression element by element (`if let (Ok(mut conn), Ok(text)) =
    /// (client.get_connection(), ..)`), anything else by what is known of
    /// the whole.
    pub(super) fn bind_matched(&mut self, pat: &Pat, expr: &syn::Expr) {
        let mut parts = Vec::new();
        self.matched_parts(pat, expr, &mut parts);
        if let Some(scope) = self.scopes.last_mut() {
            for (pat, class) in parts {
                bind_derived(pat, scope, class);
            }
        }
    }

    fn matched_parts<'p>(
        &mut self,
        pat: &'p Pat,
        expr: &syn::Expr,
        out: &mut Vec<(&'p Pat, Class)>,
    ) {
        let expr = match expr {
            syn::Expr::Paren(e) => &*e.expr,
            syn::Expr::Group(e) => &*e.expr,
            other => other,
        };
        match (pat, expr) {
            (Pat::Paren(p), _) => self.matched_parts(&p.pat, expr, out),
            (Pat::Tuple(pt), syn::Expr::Tuple(et))
                if pt.elems.len() == et.elems.len()
                    && !pt.elems.iter().any(|p| matches!(p, Pat::Rest(_))) =>
            {
                for (p, e) in pt.elems.iter().zip(&et.elems) {
                    self.matched_parts(p, e, out);
                }
            }
            _ => {
                let class = self.element_class(expr);
                out.push((pat, class));
            }
        }
    }

    pub(super) fn bind_typed(&mut self, pat: &Pat, ty: &Type) {
        if let (Pat::Tuple(pt), Type::Tuple(tt)) = (pat, ty)
            && pt.elems.len() == tt.elems.len()
            && !pt.elems.iter().any(|p| matches!(p, Pat::Rest(_)))
        {
            for (p, t) in pt.elems.iter().zip(&tt.elems) {
                self.bind_typed(p, t);
            }
            return;
        }
        if let Pat::Paren(p) = pat {
            self.bind_typed(&p.pat, ty);
            return;
        }
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
            pubsub: self.is_pubsub_type(ty),
            core_name: core_type_name(ty),
        };
        if let Some(scope) = self.scopes.last_mut() {
            bind_pattern(pat, scope, var);
        }
    }

    pub(super) fn leave_fn(&mut self) {
        self.scopes.pop();
        self.fn_depth -= 1;
        self.names.pop();
    }

    /// Build the scope of a block from the items declared in it.
    pub(super) fn block_scope(&mut self, stmts: &[Stmt]) -> Scope {
        let items = stmts.iter().filter_map(|stmt| match stmt {
            Stmt::Item(item) => Some(item),
            _ => None,
        });
        let names = self.table.block_names(&self.module, &self.lexical(), items);
        Scope {
            families: self
                .table
                .families_of(&self.module, &names, &mut HashSet::new()),
            names,
            ..Scope::default()
        }
    }
}

pub(super) fn bind_pattern(pat: &Pat, scope: &mut Scope, var: Var) {
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
pub(super) fn bind_derived(pat: &Pat, scope: &mut Scope, class: Class) {
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
