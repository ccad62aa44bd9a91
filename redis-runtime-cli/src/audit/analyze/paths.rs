//! Paths: the path an expression names, and what a path into the redis
//! crate or the framework reports (a raw constructor, a command-trait
//! method called by path, an imported command trait, the escape hatch).

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{ExprPath, Type};

use crate::audit::Kind;
use crate::audit::commands;
use crate::audit::resolve::{Binding, LeafKind, Namespace, UseLeaf};

use super::tables::ESCAPE_HATCH;
use super::{Analyzer, CrateItems};

/// A path as written, by its segments.
pub(super) struct NamedPath {
    pub(super) leading_colon: bool,
    pub(super) segments: Vec<String>,
    pub(super) span: Span,
}

/// The path an expression path names, qualified-self paths included:
/// `<C as redis::AsyncCommands>::get` names `redis::AsyncCommands::get`,
/// `<redis::Cmd>::new` names `redis::Cmd::new`.
pub(super) fn named_path(p: &ExprPath) -> Option<NamedPath> {
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

pub(super) fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// A path as written: `::redis::cmd`, `r::cmd`.
fn as_written(leading_colon: bool, segments: &[String]) -> String {
    let mut text = if leading_colon { "::" } else { "" }.to_owned();
    text.push_str(&segments.join("::"));
    text
}

/// "`r::cmd` (redis::cmd) builds a raw command": the path as written, and
/// what it resolved to when that differs.
fn written_as(leading_colon: bool, written: &[String], resolved: &[String], what: &str) -> String {
    let text = as_written(leading_colon, written);
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
    /// Report a path (in an expression, or in a `macro_rules!` body) that
    /// names the framework's escape hatch, a raw constructor or a
    /// command-trait method.
    pub(super) fn report_path(&mut self, span: Span, leading_colon: bool, segments: &[String]) {
        if self.is_escape_hatch_path(leading_colon, segments) {
            self.report_escape_hatch(span, &as_written(leading_colon, segments));
            return;
        }
        if let Binding::Redis(resolved) =
            self.resolve_segments(leading_colon, segments, Namespace::Value)
        {
            self.report_redis_path(span, leading_colon, segments, &resolved);
        }
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

    pub(super) fn report_escape_hatch(&mut self, span: Span, written: &str) {
        self.report(
            span,
            Kind::EscapeHatch,
            format!(
                "`{written}` opens the framework's escape hatch (commands the typed operations do not cover, over the store's connection)"
            ),
        );
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

    pub(super) fn report_use_leaf(&mut self, leaf: &UseLeaf) {
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
