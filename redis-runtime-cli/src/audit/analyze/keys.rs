//! Hand-built keys: string literals, `format!` and `concat!` with `:` in
//! their literal text, in the key positions of raw calls.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Lit, Macro, Token};

use crate::audit::Kind;
use crate::audit::commands;

use super::{Analyzer, Finding};

impl<'a> Analyzer<'a> {
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
    pub(super) fn chain_keys(&self, receiver: &Expr) -> Vec<Finding> {
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

    pub(super) fn check_keys<'e>(&mut self, args: impl Iterator<Item = &'e Expr>, context: &str) {
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

    pub(super) fn key_args<'e>(
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
}

/// A string literal, `format!` or `concat!` with `:` in its literal text,
/// looking through references, `.to_string()`, `String::from(..)`, `+`.
pub(super) fn literal_key(expr: &Expr) -> Option<(Span, String)> {
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
pub(super) fn raw_arg_is_key(receiver: &Expr) -> bool {
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
}
