//! Macros: bodies of macro invocations audited where they parse as
//! expressions or statements, and `macro_rules!` bodies walked as tokens.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Block, Expr, Token};

use crate::audit::Kind;
use crate::audit::commands;

use super::Analyzer;
use super::tables::ESCAPE_HATCH;

impl<'a> Analyzer<'a> {
    pub(super) fn visit_macro_body(&mut self, tokens: TokenStream) {
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

    /// A `macro_rules!` body is not Rust until it is expanded, so it is
    /// walked as tokens: every path in it that resolves (where the macro
    /// is defined) to a raw constructor or a command-trait method, and
    /// every `.req_packed_command(..)`-style call, is reported where it is
    /// written.
    pub(super) fn scan_macro_rules(&mut self, tokens: TokenStream) {
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
        self.report_path(span, leading_colon, &segments);
        i
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
