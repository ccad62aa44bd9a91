//! Code generation for `#[derive(RedisModel)]`.
//!
//! Generated code reaches the runtime only through `::redis_runtime::__private`
//! and sits in `const _: () = { ... };`, except the items users name: the
//! `{Model}Id` struct (templates with several placeholders), the
//! `{Model}Fields` struct and `Model::fields()` (hash models).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Container, Field};
use crate::attr::Encoding;
use crate::check::{self, Checked};
use crate::ctxt::Ctxt;
use crate::fallback;
use crate::key_template::Segment;

/// Expands the derive, or its errors together with a fallback impl.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let expanded = Container::from_ast(&cx, input).and_then(|cont| {
        let checked = check::check(&cx, &cont);
        if cx.has_errors() {
            None
        } else {
            checked.map(|checked| expand(&cont, &checked))
        }
    });
    match (cx.check(), expanded) {
        (Ok(()), Some(tokens)) => tokens,
        (Err(err), _) => fallback::expand(input, err),
        (Ok(()), None) => fallback::expand(
            input,
            syn::Error::new(Span::call_site(), "RedisModel could not be derived"),
        ),
    }
}

fn private() -> TokenStream {
    quote!(::redis_runtime::__private)
}

fn expand(cont: &Container<'_>, checked: &Checked) -> TokenStream {
    let rr = private();
    let ident = cont.ident;
    let vis = &cont.original.vis;
    let name = ident.to_string();
    let encoding = cont.attrs.encoding();
    let placeholders: Vec<&Field<'_>> = checked
        .placeholder_fields
        .iter()
        .map(|&i| &cont.fields[i])
        .collect();

    // The id type.
    let id_ident = format_ident!("{}Id", ident);
    let (id_type, id_struct) = match placeholders.as_slice() {
        [] => (quote!(()), TokenStream::new()),
        [single] => {
            let ty = single.ty;
            (quote!(#ty), TokenStream::new())
        }
        many => {
            let doc = format!(
                "The id of [`{name}`]: the fields named by its key template `{}`.",
                checked.key_source
            );
            let fields = many.iter().map(|f| {
                let (fident, fty) = (f.ident, f.ty);
                let fdoc = format!("The `{}` part of the key.", f.name());
                quote!(#[doc = #fdoc] pub #fident: #fty)
            });
            (
                quote!(#id_ident),
                quote! {
                    #[doc = #doc]
                    #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
                    #vis struct #id_ident {
                        #(#fields,)*
                    }
                },
            )
        }
    };

    // Key writing, id extraction and parsing.
    let own_parts = placeholders.iter().map(|f| {
        let fident = f.ident;
        quote!(key.part(&self.#fident)?;)
    });
    let (id_parts, id_of_self, parse_id) = match placeholders.as_slice() {
        [] => (quote!(), quote!(()), quote!(#rr::Ok(()))),
        [single] => {
            let (fident, fty) = (single.ident, single.ty);
            (
                quote!(key.part(id)?;),
                quote!(::core::clone::Clone::clone(&self.#fident)),
                quote!(parts.part::<#fty>()),
            )
        }
        many => {
            let writes = many.iter().map(|f| {
                let fident = f.ident;
                quote!(key.part(&id.#fident)?;)
            });
            let clones = many.iter().map(|f| {
                let fident = f.ident;
                quote!(#fident: ::core::clone::Clone::clone(&self.#fident))
            });
            let vars: Vec<_> = (0..many.len())
                .map(|i| format_ident!("__part{}", i))
                .collect();
            let parses = many.iter().zip(&vars).map(|(f, var)| {
                let fty = f.ty;
                quote!(let #var = parts.part::<#fty>()?;)
            });
            let assigns = many.iter().zip(&vars).map(|(f, var)| {
                let fident = f.ident;
                quote!(#fident: #var)
            });
            (
                quote!(#(#writes)*),
                quote!(#id_ident { #(#clones,)* }),
                quote!({ #(#parses)* #rr::Ok(#id_ident { #(#assigns,)* }) }),
            )
        }
    };

    // Compile-time checks spanned at the offending field.
    let key_part_checks = placeholders.iter().map(|f| {
        let ty = f.ty;
        quote_spanned!(ty.span()=> #rr::assert_key_part::<#ty>();)
    });
    let default_checks = cont
        .fields
        .iter()
        .filter(|f| {
            f.attrs.skip.is_some() || (f.attrs.default.is_some() && encoding == Encoding::Hash)
        })
        .map(|f| {
            let ty = f.ty;
            quote_spanned!(ty.span()=> #rr::assert_default::<#ty>();)
        });

    // Static description.
    let key_source = &checked.key_source;
    let segments = checked.template.segments.iter().map(|seg| match seg {
        Segment::Literal(lit) => quote!(#rr::Segment::Literal(#lit)),
        Segment::Placeholder(p) => {
            let tagged = check::is_tagged(checked, seg);
            quote!(#rr::Segment::Placeholder { field: #p, hash_tag: #tagged })
        }
    });
    let encoding_tokens = match encoding {
        Encoding::Hash => quote!(#rr::Encoding::Hash),
        Encoding::Json => quote!(#rr::Encoding::Json),
        Encoding::Msgpack => quote!(#rr::Encoding::Msgpack),
    };
    let ttl = match checked.ttl_millis {
        Some(ms) => quote!(#rr::Some(#rr::Duration::from_millis(#ms))),
        None => quote!(#rr::None),
    };
    let field_metas = cont.fields.iter().map(|f| {
        let fname = f.name();
        let stored = f.stored_as();
        let ty = f.ty;
        let rust_type = quote!(#ty).to_string().replace(' ', "");
        let storage = if f.attrs.skip.is_some() {
            quote!(#rr::FieldStorage::Skipped)
        } else if f.attrs.json.is_some() {
            quote!(#rr::FieldStorage::Json)
        } else {
            quote!(#rr::FieldStorage::Value)
        };
        let optional = f.option_inner.is_some() || f.attrs.default.is_some() || f.attrs.skip.is_some();
        quote!(#rr::FieldMeta { name: #fname, stored_as: #stored, rust_type: #rust_type, storage: #storage, optional: #optional })
    });

    let codec_span = cont
        .attrs
        .encoding
        .as_ref()
        .map_or_else(|| ident.span(), |(tokens, _)| tokens.span());
    let codec = match encoding {
        Encoding::Hash => quote!(#rr::HashCodec),
        Encoding::Json => quote_spanned!(codec_span=> #rr::JsonCodec),
        Encoding::Msgpack => quote_spanned!(codec_span=> #rr::MsgpackCodec),
    };

    let hash_impl = if encoding == Encoding::Hash {
        expand_hash(cont, checked)
    } else {
        TokenStream::new()
    };
    let fields_api = if encoding == Encoding::Hash {
        expand_fields_api(cont, checked)
    } else {
        TokenStream::new()
    };

    quote! {
        #id_struct
        #fields_api

        #[doc(hidden)]
        const _: () = {
            #(#key_part_checks)*
            #(#default_checks)*

            #[automatically_derived]
            impl #rr::RedisModel for #ident {
                type Id = #id_type;
                type Codec = #codec;
                const META: &'static #rr::ModelMeta = &#rr::ModelMeta {
                    name: #name,
                    module_path: ::core::module_path!(),
                    key: #rr::KeyTemplate {
                        source: #key_source,
                        segments: &[#(#segments),*],
                    },
                    encoding: #encoding_tokens,
                    ttl: #ttl,
                    fields: &[#(#field_metas),*],
                };

                #[inline]
                fn write_key(&self, key: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    #(#own_parts)*
                    #rr::Ok(())
                }

                #[inline]
                fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    let _ = &id;
                    #id_parts
                    #rr::Ok(())
                }

                fn id(&self) -> Self::Id {
                    #id_of_self
                }

                fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    let _ = &parts;
                    #parse_id
                }
            }

            #[automatically_derived]
            impl #rr::FromRedisValue for #ident {
                fn from_redis_value(value: #rr::Value) -> #rr::Result<Self, #rr::ParsingError> {
                    #rr::from_redis_value::<Self>(value)
                }
            }

            #hash_impl
        };
    }
}

/// How one stored field of a hash model is encoded.
enum Stored {
    KeyPart,
    Json,
    Value,
}

fn stored_kind(f: &Field<'_>, checked: &Checked, cont: &Container<'_>) -> Option<Stored> {
    if f.attrs.skip.is_some() {
        return None;
    }
    let is_placeholder = checked
        .placeholder_fields
        .iter()
        .any(|&i| std::ptr::eq(&cont.fields[i], f));
    Some(if is_placeholder {
        Stored::KeyPart
    } else if f.attrs.json.is_some() {
        Stored::Json
    } else {
        Stored::Value
    })
}

fn expand_hash(cont: &Container<'_>, checked: &Checked) -> TokenStream {
    let rr = private();
    let ident = cont.ident;

    let writes = cont.fields.iter().filter_map(|f| {
        let kind = stored_kind(f, checked, cont)?;
        let fident = f.ident;
        let stored = f.stored_as();
        let fname = f.name();
        Some(match kind {
            Stored::KeyPart => quote!(#rr::write_key_field(out, #stored, &self.#fident);),
            Stored::Value => quote!(#rr::write_value(out, #stored, &self.#fident);),
            Stored::Json => match f.option_inner {
                Some(_) => quote! {
                    if let #rr::Some(value) = &self.#fident {
                        #rr::write_json::<Self, _, _>(out, #fname, #stored, value)?;
                    }
                },
                None => {
                    quote!(#rr::write_json::<Self, _, _>(out, #fname, #stored, &self.#fident)?;)
                }
            },
        })
    });

    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    for (i, f) in cont.fields.iter().enumerate() {
        let fident = f.ident;
        let ty = f.ty;
        let fname = f.name();
        let Some(kind) = stored_kind(f, checked, cont) else {
            inits.push(quote!(#fident: #rr::Default::default()));
            continue;
        };
        let slot = format_ident!("__field{}", i);
        let stored = syn::LitByteStr::new(f.stored_as().as_bytes(), Span::call_site());
        let decode = match kind {
            Stored::KeyPart => quote!(#rr::decode_key_field::<Self, #ty>(#fname, value)?),
            Stored::Value => quote!(#rr::decode_value::<Self, #ty>(#fname, value)?),
            Stored::Json => match f.option_inner {
                Some(inner) => quote!(#rr::Some(#rr::decode_json::<Self, #inner>(#fname, value)?)),
                None => quote!(#rr::decode_json::<Self, #ty>(#fname, value)?),
            },
        };
        slots.push(quote!(let mut #slot: #rr::Option<#ty> = #rr::None;));
        arms.push(quote!(#stored => { #slot = #rr::Some(#decode); }));
        let missing = if f.option_inner.is_some() {
            quote!(#rr::None)
        } else if f.attrs.default.is_some() {
            quote!(#rr::Default::default())
        } else {
            quote!(return #rr::Err(#rr::missing::<Self>(#fname)))
        };
        inits.push(quote! {
            #fident: match #slot {
                #rr::Some(value) => value,
                #rr::None => #missing,
            }
        });
    }
    let unknown = if cont.attrs.deny_unknown_fields {
        quote!(_ => return #rr::Err(#rr::unknown_field::<Self>(&name)),)
    } else {
        quote!(_ => {})
    };

    quote! {
        #[automatically_derived]
        impl #rr::HashFields for #ident {
            fn write_fields<W: #rr::RedisWrite + ?Sized>(&self, out: &mut W) -> #rr::Result<(), #rr::Error> {
                #(#writes)*
                #rr::Ok(())
            }

            fn decode_fields(
                pairs: &mut dyn ::core::iter::Iterator<Item = (#rr::Vec<u8>, #rr::Vec<u8>)>,
            ) -> #rr::Result<Self, #rr::DecodeError> {
                #(#slots)*
                for (name, value) in pairs {
                    match name.as_slice() {
                        #(#arms)*
                        #unknown
                    }
                }
                #rr::Ok(#ident {
                    #(#inits,)*
                })
            }
        }
    }
}

fn expand_fields_api(cont: &Container<'_>, checked: &Checked) -> TokenStream {
    let rr = private();
    let ident = cont.ident;
    let vis = &cont.original.vis;
    let fields_ident = format_ident!("{}Fields", ident);
    let mut decls = Vec::new();
    let mut inits = Vec::new();
    for f in &cont.fields {
        match stored_kind(f, checked, cont) {
            Some(Stored::Value) | Some(Stored::Json) => {}
            _ => continue,
        }
        let fident = f.ident;
        let stored = f.stored_as();
        let value_ty = f.option_inner.unwrap_or(f.ty);
        let stored_ty = if f.attrs.json.is_some() {
            quote!(#rr::Json<#value_ty>)
        } else {
            quote!(#value_ty)
        };
        let marker = if f.option_inner.is_some() || f.attrs.default.is_some() {
            quote!(#rr::Optional)
        } else {
            quote!(#rr::Required)
        };
        let doc = format!(
            "The `{}` field (stored as hash field `{stored}`).",
            f.name()
        );
        decls.push(quote!(#[doc = #doc] pub #fident: #rr::Field<#ident, #stored_ty, #marker>));
        inits.push(quote!(#fident: #rr::Field::new(#stored)));
    }
    let doc = format!(
        "Typed handles to the stored fields of [`{ident}`], for partial reads and writes through `Store`."
    );
    let fn_doc =
        format!("Typed handles to the stored fields of `{ident}` (see [`{fields_ident}`]).");
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #fields_ident {
            #(#decls,)*
        }

        #[automatically_derived]
        impl #ident {
            #[doc = #fn_doc]
            #vis const fn fields() -> #fields_ident {
                #fields_ident { #(#inits,)* }
            }
        }
    }
}
