//! The per-file pass: walks one parsed file with the resolved module table
//! at hand and records every raw Redis access, by the counting rules of
//! [`super`].
//!
//! One concern a file:
//!
//! - `visit.rs`: the syn visitor, the walk itself, which decides what each
//!   construct is and reports it;
//! - `paths.rs`: the path an expression names, and what a path into the
//!   redis crate or the framework reports (raw constructors, command-trait
//!   methods by path, imported command traits, the escape hatch);
//! - `receivers.rs`: what is known about a value from declarations (a
//!   connection, known not to be one, or not known; a raw construct);
//! - `scopes.rs`: the block, function and closure scopes, their variables,
//!   generics and command-trait families;
//! - `keys.rs`: hand-built keys in the key positions of raw calls;
//! - `macros.rs`: macro bodies and `macro_rules!` token scanning;
//! - `items.rs`: the index of every scanned crate's structs and functions;
//! - `tables.rs`: the heuristic name tables (the facts about redis-rs itself
//!   are in [`super::commands`]).

mod items;
mod keys;
mod macros;
mod paths;
mod receivers;
mod scopes;
mod tables;
mod visit;

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use syn::visit::Visit;

use super::commands::Families;
use super::layout::SourceFile;
use super::resolve::{Binding, Lexical, ModKey, ModuleTable, Namespace};
use super::{Kind, Sent};

use paths::path_segments;
use scopes::{Scope, Var};

pub(crate) use items::CrateItems;

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
    /// What the site sends, as far as it can be told.
    pub(crate) sent: Sent,
}

/// The impl or trait the walk is in.
struct ImplCtx {
    self_name: Option<String>,
    /// The core name of the self type (`Client` for `Rc<redis::Client>`).
    self_core: Option<String>,
    /// The impl (or trait) is of a redis trait, so `self` is a connection.
    redis_self: bool,
    families: Families,
    redis_generics: HashSet<String>,
}

/// The state of the walk over one file.
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
    /// The commands seen at each raw construct or command-trait call, by
    /// the (line, column) its finding is reported at.
    sent_at: HashMap<(usize, usize), Vec<String>>,
    /// The sends of traffic built elsewhere (counted where it is built).
    elsewhere: HashSet<(usize, usize)>,
    /// The crate types whose fields are being searched for connections
    /// (to stop at a type met again inside itself).
    holding: Vec<String>,
    touches_redis: bool,
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
        sent_at: HashMap::new(),
        elsewhere: HashSet::new(),
        holding: Vec::new(),
        touches_redis: false,
    };
    for item in &ast.items {
        analyzer.visit_item(item);
    }
    let mut findings = analyzer.findings;
    if analyzer.touches_redis {
        findings.extend(analyzer.deferred);
    }
    for finding in &mut findings {
        let at = (finding.line, finding.column);
        finding.sent = match finding.kind {
            Kind::RawCommand | Kind::RawPipeline | Kind::CommandTraitCall => {
                match analyzer.sent_at.get(&at) {
                    Some(commands)
                        if !commands.is_empty() && !commands.iter().any(String::is_empty) =>
                    {
                        Sent::Commands(commands.clone())
                    }
                    _ => Sent::Unknown,
                }
            }
            Kind::RawScript => Sent::Unknown,
            Kind::RawConnectionCall if analyzer.elsewhere.contains(&at) => Sent::Nothing,
            Kind::RawConnectionCall => Sent::Unknown,
            _ => Sent::Nothing,
        };
    }
    findings.sort_by_key(|f| (f.line, f.column, f.kind));
    findings.dedup_by(|a, b| (a.line, a.column, a.kind) == (b.line, b.column, b.kind));
    findings
}

impl<'a> Analyzer<'a> {
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
            sent: Sent::Nothing,
        }
    }

    /// Notes that the site reported at `span` sends `command`.
    fn note_sent(&mut self, span: Span, command: Option<String>) {
        let start = span.start();
        let entry = self
            .sent_at
            .entry((start.line, start.column + 1))
            .or_default();
        match command {
            Some(command) if !entry.contains(&command) => entry.push(command),
            Some(_) => {}
            // One command that cannot be named makes the whole site unknown.
            None => entry.push(String::new()),
        }
    }

    /// Notes that the send reported at `span` sends what was built elsewhere.
    fn note_elsewhere(&mut self, span: Span) {
        let start = span.start();
        self.elsewhere.insert((start.line, start.column + 1));
    }

    fn report(&mut self, span: Span, kind: Kind, message: String) {
        let finding = self.finding(span, kind, message);
        self.findings.push(finding);
    }
}
