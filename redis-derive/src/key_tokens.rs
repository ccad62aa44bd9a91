//! The runtime's `KeyTemplate` tokens of a parsed template, and the
//! `separator` attribute's value (the parser itself is plain Rust, shared
//! with a fuzz target).

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;
use crate::key_template::{Affixes, SEPARATORS, Segment, Template};

impl Template {
    /// The runtime's `KeyTemplate` for this template: `placeholder` gives
    /// each placeholder's hash-tag flag and shape expression.
    pub(crate) fn tokens(
        &self,
        rr: &TokenStream,
        source: &str,
        placeholder: impl FnMut(&str) -> (bool, TokenStream),
    ) -> TokenStream {
        let segments = self.segment_tokens(rr, placeholder);
        self.tokens_of(rr, source, &segments)
    }

    /// The runtime's `Segment` of each segment.
    pub(crate) fn segment_tokens(
        &self,
        rr: &TokenStream,
        mut placeholder: impl FnMut(&str) -> (bool, TokenStream),
    ) -> Vec<TokenStream> {
        self.segments
            .iter()
            .map(|seg| match seg {
                Segment::Literal(text) => quote!(#rr::Segment::Literal(#text)),
                Segment::Placeholder(field, Affixes { prefix, suffix }) => {
                    let (tagged, shape) = placeholder(field);
                    quote!(#rr::Segment::Placeholder { field: #field, hash_tag: #tagged, shape: #shape, prefix: #prefix, suffix: #suffix })
                }
            })
            .collect()
    }

    /// The runtime's `KeyTemplate` of `source` with these segment tokens.
    pub(crate) fn tokens_of(
        &self,
        rr: &TokenStream,
        source: &str,
        segments: &[TokenStream],
    ) -> TokenStream {
        let separator = syn::LitByte::new(self.separator as u8, proc_macro2::Span::call_site());
        quote! {
            #rr::KeyTemplate {
                source: #source,
                separator: #separator,
                segments: &[#(#segments),*],
            }
        }
    }
}

/// The separator `separator = "..."` declares (`:` when absent), or `None`
/// after reporting a value that is not one.
pub(crate) fn separator(cx: &Ctxt, lit: Option<&syn::LitStr>) -> Option<char> {
    let Some(lit) = lit else {
        return Some(':');
    };
    let value = lit.value();
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if SEPARATORS.contains(&c) => Some(c),
        _ => {
            cx.error_spanned_by(
                lit,
                format!(
                    "unknown separator `{}`; a key template's segments are separated by `:` (the default), `/` or `.`",
                    value.escape_debug()
                ),
            );
            None
        }
    }
}
