//! The syn visitor: the walk over one file, which keeps the scopes and
//! reports each construct by the counting rules of [`super::super`].

use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{
    Block, Expr, ExprCall, ExprClosure, ExprMethodCall, ExprPath, ImplItemFn, ItemFn, ItemImpl,
    ItemMod, ItemTrait, ItemUse, Local, Macro, Pat, TraitItemFn, Type, TypePath,
};

use crate::audit::Kind;
use crate::audit::commands::{self, Families};
use crate::audit::resolve::{Binding, ModKey, Namespace, type_name, use_leaves};

use super::keys::{literal_key, raw_arg_is_key};
use super::paths::named_path;
use super::receivers::{Class, Raw, chain_root, core_type_name};
use super::scopes::{Scope, Var, bind_derived, bind_pattern};
use super::tables::{ESCAPE_HATCH, names_connection};
use super::{Analyzer, ImplCtx};

impl<'a> Analyzer<'a> {
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
            self_core: core_type_name(&imp.self_ty),
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
            self_core: None,
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
            // A construct bound to a variable is sent, if at all, in another
            // statement: that send is a site of its own.
            var.raw = match self.raw_chain(&init.expr) {
                Raw::Built => Raw::Bound,
                raw => raw,
            };
            var.class = self.class_of_expr(&init.expr);
            var.holds_redis = self.may_hold_redis(&init.expr, 0);
            var.key = literal_key(&init.expr);
            var.pubsub = self.is_pubsub_expr(&init.expr);
            var.struct_name = match &*init.expr {
                Expr::Struct(s) => s.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
        }
        if let Some(ty) = typed {
            var.struct_name = type_name(ty);
            var.holds_redis = self.type_holds_redis(ty, 0);
            var.pubsub |= self.is_pubsub_type(ty);
            var.core_name = core_type_name(ty);
            if var.raw == Raw::No && self.is_raw_typed(ty) {
                var.raw = Raw::Received;
            }
            let class = self.class_of_type(ty);
            if class != Class::Unknown {
                var.class = class;
            }
        }
        match (pat, typed, &local.init) {
            // `let (a, b): (Vec<HashMap<..>>, i64) = ..`: each part by its
            // own declared type.
            (Pat::Tuple(_), Some(ty @ Type::Tuple(_)), _) => self.bind_typed(pat, ty),
            // `let (a, b) = (client.get_connection()?, 1)`, `let (a, b) =
            // pipe.query(..)?`: each part by what it is matched against.
            (
                Pat::Tuple(_) | Pat::TupleStruct(_) | Pat::Struct(_) | Pat::Slice(_),
                None,
                Some(init),
            ) => {
                self.bind_matched(pat, &init.expr);
            }
            _ => {
                if let Some(scope) = self.scopes.last_mut() {
                    bind_pattern(pat, scope, var);
                }
            }
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
        self.bind_matched(&e.pat, &e.expr);
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        for arm in &m.arms {
            self.scopes.push(Scope::default());
            self.bind_matched(&arm.pat, &m.expr);
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
        self.report_path(path.span, path.leading_colon, &path.segments);
    }

    fn visit_expr_call(&mut self, c: &'ast ExprCall) {
        if let Expr::Path(p) = &*c.func
            && let Some(named) = named_path(p)
            && let Binding::Redis(path) =
                self.resolve_segments(named.leading_colon, &named.segments, Namespace::Value)
        {
            if commands::raw_constructor(&path).is_some() {
                let segs: Vec<&str> = path.iter().map(String::as_str).collect();
                match segs.as_slice() {
                    ["cmd"] => {
                        let name = literal_command(c.args.first());
                        self.note_sent(named.span, name);
                    }
                    ["Cmd", method] => {
                        self.note_sent(named.span, commands::redis_command(method));
                    }
                    _ => {}
                }
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
                self.note_sent(named.span, commands::redis_command(name));
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
            self.note_elsewhere(call.method.span());
            let keys = self.chain_keys(&call.receiver);
            self.findings.extend(keys);
        } else if raw == Raw::Bound && commands::EXECUTORS.contains(&name.as_str()) {
            // Built in another statement (counted there); the traffic is
            // sent here. Its keys were checked where they were added.
            self.report(
                call.method.span(),
                Kind::RawConnectionCall,
                format!(
                    "`.{name}(..)` sends a raw command, pipeline or script built in another statement"
                ),
            );
            self.note_elsewhere(call.method.span());
        } else if raw != Raw::No {
            // Part of a raw construct already counted where it was built:
            // what it adds to send is noted at the construct.
            let root = syn::spanned::Spanned::span(chain_root(&call.receiver));
            if name == "cmd" && nargs == 1 {
                self.note_sent(root, literal_command(call.args.first()));
            } else if !commands::EXECUTORS.contains(&name.as_str())
                && commands::command_method(commands::F_COMMANDS, &name, nargs).is_some()
            {
                self.note_sent(root, commands::redis_command(&name));
            }
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
        } else if nargs == 1
            && commands::PUBSUB_METHODS.contains(&name.as_str())
            && self.is_pubsub_expr(&call.receiver)
        {
            // Inherent methods of `PubSub`/`aio::PubSub`: no trait needed.
            self.report(
                call.method.span(),
                Kind::CommandTraitCall,
                format!("calls redis pub/sub method `{name}` (PubSub), which sends a command"),
            );
            self.note_sent(call.method.span(), Some(name.replace('_', "")));
            self.check_keys(call.args.iter(), "a redis pub/sub call");
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
                && !(class == Class::Redis && self.own_trait_applies(&call.receiver, &name, nargs))
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
                self.note_sent(call.method.span(), commands::redis_command(&name));
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

/// The command a `cmd("...")` argument names, lower case, when it is a
/// string literal (`None` otherwise: the audit cannot tell).
fn literal_command(arg: Option<&Expr>) -> Option<String> {
    match arg? {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => {
            let name = lit.value().trim().to_ascii_lowercase();
            (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
        }
        Expr::Group(g) => literal_command(Some(&g.expr)),
        Expr::Paren(p) => literal_command(Some(&p.expr)),
        _ => None,
    }
}
