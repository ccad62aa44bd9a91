//! Code generation for `#[derive(RedisModel)]`.
//!
//! Generated code reaches the runtime only through `::redis_runtime::__private`
//! (or `<crate>::__private` with `#[redis(crate = "...")]`)
//! and sits in `const _: () = { ... };`, except the items users name: the
//! `{Model}Id` struct (templates with several placeholders), the
//! `{Model}Fields` struct and `Model::fields()` (hash models).
//!
//! Every use of a field's type as a key part, hash value or JSON value names
//! that type with a turbofish, so a type that does not fit is reported at the
//! field. Each method that uses a field's type starts with the same check of
//! it (`assert_key_part::<T>()` for placeholders, a mention of
//! `decode_value::<Self, T>` for hash values): rustc reports one failing bound
//! per span and method, so every method reports the same error, and identical
//! errors are shown once.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Container, Field};
use crate::attr::{CodecAttr, Encoding};
use crate::check::{self, Checked, ConstraintKind};
use crate::ctxt::Ctxt;
use crate::fallback;
use crate::key_template::Segment;

/// Expands the derive, or its errors together with a fallback impl.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let Some(cont) = Container::from_ast(&cx, input) else {
        return fallback::expand(input, None, cx.check().err().unwrap_or_else(not_derived));
    };
    let checked = check::check(&cx, &cont);
    match (cx.check(), checked) {
        (Ok(()), Some(checked)) => expand(&cont, &checked),
        (Err(err), _) => fallback::expand(input, Some(&cont), err),
        (Ok(()), None) => fallback::expand(input, Some(&cont), not_derived()),
    }
}

/// Only reached if a check fails without reporting why.
fn not_derived() -> syn::Error {
    syn::Error::new(Span::call_site(), "RedisModel could not be derived")
}

/// The path generated code reaches the runtime's helpers through:
/// `::redis_runtime::__private`, or `<crate>::__private` with
/// `#[redis(crate = "...")]`.
pub(crate) fn private(cont: Option<&Container<'_>>) -> TokenStream {
    match cont.and_then(|cont| cont.attrs.krate.as_ref()) {
        Some(krate) => quote!(#krate::__private),
        None => quote!(::redis_runtime::__private),
    }
}

/// `tokens` with every token spanned at `span` (a path whose tokens carry
/// mixed spans is reported at the derive rather than at `span`).
fn respanned(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respanned(&group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            }
            tree.set_span(span);
            tree
        })
        .collect()
}

/// A model's `RedisModel::Id`: `()` without placeholders, the field's type for
/// one, and a generated `{Model}Id` struct (`item`) for several.
pub(crate) struct IdType {
    pub(crate) ty: TokenStream,
    pub(crate) item: TokenStream,
}

pub(crate) fn id_type(
    cont: &Container<'_>,
    placeholders: &[&Field<'_>],
    key_source: &str,
) -> IdType {
    match placeholders {
        [] => IdType {
            ty: quote!(()),
            item: TokenStream::new(),
        },
        [single] => {
            let ty = single.ty;
            IdType {
                ty: quote!(#ty),
                item: TokenStream::new(),
            }
        }
        many => {
            let ident = cont.ident;
            let vis = &cont.original.vis;
            let id_ident = format_ident!("{}Id", ident);
            let doc = format!(
                "The id of [`{ident}`]: the fields named by its key template `{key_source}`."
            );
            let fields = many.iter().map(|f| {
                let (fident, fty) = (f.ident, f.ty);
                let fdoc = format!("The `{{{}}}` part of the key.", f.name());
                quote!(#[doc = #fdoc] pub #fident: #fty)
            });
            IdType {
                ty: quote!(#id_ident),
                item: quote! {
                    #[doc = #doc]
                    #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
                    #vis struct #id_ident {
                        #(#fields,)*
                    }
                },
            }
        }
    }
}

fn expand(cont: &Container<'_>, checked: &Checked) -> TokenStream {
    let rr = private(Some(cont));
    let ident = cont.ident;
    let name = ident.to_string();
    let encoding = cont.attrs.encoding();
    let placeholders: Vec<&Field<'_>> = checked
        .placeholder_fields
        .iter()
        .map(|&i| &cont.fields[i])
        .collect();
    let id = id_type(cont, &placeholders, &checked.key_source);
    let id_type = &id.ty;
    let id_item = &id.item;

    let (family_methods, key_methods) = expand_key_methods(cont, &placeholders);

    // Static description.
    let key_source = &checked.key_source;
    let mut placeholder_types = placeholders.iter().map(|f| f.ty);
    let segments = checked.template.segment_tokens(&rr, |p| {
        let tagged = checked.hash_tag.as_deref() == Some(p);
        let shape = match placeholder_types.next() {
            Some(ty) => quote_spanned!(ty.span()=> #rr::assert_key_part::<#ty>()),
            None => quote!(#rr::PartShape::Text),
        };
        (tagged, shape)
    });
    let key_template = checked.template.tokens_of(&rr, key_source, &segments);
    let encoding_tokens = match encoding {
        Encoding::Hash => quote!(#rr::Encoding::Hash),
        Encoding::Json => quote!(#rr::Encoding::Json),
        Encoding::Msgpack => quote!(#rr::Encoding::Msgpack),
        // The codec's `NAME`, read through the model's codec.
        Encoding::Codec => {
            let span = cont
                .attrs
                .codec
                .as_ref()
                .map_or_else(Span::call_site, |(t, _)| t.span());
            let rr = respanned(&rr, span);
            // A path that is no codec is reported here with `ValueCodec`'s own message.
            let path = match &cont.attrs.codec {
                Some((_, CodecAttr::Path(path))) => path,
                _ => unreachable!("`Encoding::Codec` comes from a codec path"),
            };
            quote_spanned!(span=> #rr::Encoding::Codec(<#path as #rr::ValueCodec<#ident>>::NAME))
        }
        Encoding::Raw => quote!(#rr::Encoding::Raw),
    };
    let ttl = match checked.ttl_millis {
        Some(ms) => quote!(#rr::Some(#rr::Duration::from_millis(#ms))),
        None => quote!(#rr::None),
    };
    let field_metas: Vec<TokenStream> = cont.fields.iter().map(|f| {
        let fname = f.name();
        let stored = f.stored_as();
        let ty = f.ty;
        let rust_type = crate::ast::type_name(ty);
        let is_placeholder = placeholders.iter().any(|p| std::ptr::eq(*p, f));
        let storage = if f.attrs.skip.is_some() {
            quote!(#rr::FieldStorage::Skipped)
        } else if is_placeholder {
            quote!(#rr::FieldStorage::KeyPart)
        } else if f.attrs.json.is_some() {
            quote!(#rr::FieldStorage::Json)
        } else {
            quote!(#rr::FieldStorage::Value)
        };
        let optional =
            f.option_inner.is_some() || f.attrs.default.is_some() || f.attrs.skip.is_some();
        quote!(#rr::FieldMeta { name: #fname, stored_as: #stored, rust_type: #rust_type, storage: #storage, optional: #optional })
    }).collect();
    let (coordination, coordination_items) =
        expand_coordination(cont, checked, &segments, &field_metas);

    // A serde-encoded model that lacks Serialize or Deserialize is reported at
    // its `encoding = "..."`, where the requirement comes from.
    // (The whole item is spanned, path included: a path with mixed spans is
    // reported at the derive.)
    let (codec, codec_items) = expand_codec(cont, &placeholders);
    let codec = match &cont.attrs.encoding {
        _ if cont.attrs.codec.is_some() => codec,
        None | Some((_, Encoding::Hash)) => quote!(type Codec = #rr::HashCodec;),
        Some((tokens, Encoding::Json)) => {
            let rr = respanned(&rr, tokens.span());
            quote_spanned!(tokens.span()=> type Codec = #rr::JsonCodec;)
        }
        Some((tokens, Encoding::Msgpack)) => {
            let rr = respanned(&rr, tokens.span());
            quote_spanned!(tokens.span()=> type Codec = #rr::MsgpackCodec;)
        }
        Some((_, Encoding::Codec | Encoding::Raw)) => unreachable!("set by `codec` only"),
    };
    // A raw model's key fields are not in the stored value: it is read with
    // its key (the store), never from a bare reply.
    let from_redis_value = (encoding != Encoding::Raw).then(|| {
        quote! {
            #[automatically_derived]
            impl #rr::FromRedisValue for #ident {
                fn from_redis_value(value: #rr::Value) -> #rr::Result<Self, #rr::ParsingError> {
                    #rr::from_redis_value::<Self>(value)
                }
            }
        }
    });

    let (hash_impl, fields_api) = if encoding == Encoding::Hash {
        (
            expand_hash(cont, checked),
            fields_api(cont, &checked.placeholder_fields),
        )
    } else {
        (TokenStream::new(), TokenStream::new())
    };

    let version_methods = expand_version(cont, checked);
    let client_cache = match &checked.client_cache {
        Some(c) => {
            let (ms, entries, bytes) = (c.ttl_millis, c.max_entries as usize, c.max_bytes as usize);
            quote! {
                const CLIENT_CACHE: #rr::Option<#rr::ClientCachePolicy> = #rr::Some(
                    #rr::ClientCachePolicy::new(#rr::Duration::from_millis(#ms), #entries, #bytes),
                );

                fn cache_clone() -> #rr::Option<fn(&Self) -> Self> {
                    #[allow(unused_imports)]
                    use #rr::{ViaClone as _, ViaNothing as _};
                    (&#rr::CloneProbe::<Self>::NEW).clone_fn()
                }
            }
        }
        None => TokenStream::new(),
    };
    quote! {
        #id_item
        #fields_api
        #coordination_items

        #[doc(hidden)]
        const _: () = {
            #rr::inventory::submit! {
                #rr::ModelRegistration(<#ident as #rr::Family>::META)
            }

            #[automatically_derived]
            impl #rr::Family for #ident {
                type Id = #id_type;
                const META: &'static #rr::ModelMeta = &#rr::ModelMeta {
                    name: #name,
                    module_path: ::core::module_path!(),
                    key: #key_template,
                    kind: #rr::Kind::Entity(#encoding_tokens),
                    ttl: #ttl,
                    fields: &[#(#field_metas),*],
                    coordination: #coordination,
                };
                #client_cache

                #family_methods
            }

            #[automatically_derived]
            impl #rr::RedisModel for #ident {
                #codec

                #key_methods

                #version_methods
            }

            #from_redis_value

            #codec_items

            #hash_impl
        };
    }
}

/// `type Codec` of a `codec = ...` model (spanned at the path, where a type
/// that is no codec is reported), and the `RawModel` impl of `codec = raw`
/// (a value type that cannot be raw is reported at the field's type).
fn expand_codec(cont: &Container<'_>, placeholders: &[&Field<'_>]) -> (TokenStream, TokenStream) {
    let rr = private(Some(cont));
    let ident = cont.ident;
    match &cont.attrs.codec {
        None => (TokenStream::new(), TokenStream::new()),
        Some((tokens, CodecAttr::Path(path))) => {
            let span = tokens.span();
            let rr = respanned(&rr, span);
            (
                quote_spanned!(span=> type Codec = #rr::CustomCodec<#path>;),
                TokenStream::new(),
            )
        }
        Some((tokens, CodecAttr::Raw)) => {
            let span = tokens.span();
            let codec = {
                let rr = respanned(&rr, span);
                quote_spanned!(span=> type Codec = #rr::RawCodec;)
            };
            // The checks made sure there is exactly one value field.
            let Some(value) = cont
                .fields
                .iter()
                .find(|f| !placeholders.iter().any(|p| std::ptr::eq(*p, *f)))
            else {
                return (codec, TokenStream::new());
            };
            let (vident, vty) = (value.ident, value.ty);
            let vname = vident.to_string();
            let keys = match placeholders {
                [] => TokenStream::new(),
                [single] => {
                    let f = single.ident;
                    quote!(#f: ::core::clone::Clone::clone(id),)
                }
                many => {
                    let idents = many.iter().map(|f| f.ident);
                    quote!(#(#idents: ::core::clone::Clone::clone(&id.#idents),)*)
                }
            };
            let items = quote! {
                #[automatically_derived]
                impl #rr::RawModel for #ident {
                    const VALUE_FIELD: &'static str = #vname;
                    type Value = #vty;
                    #[inline]
                    fn raw_value(&self) -> &Self::Value {
                        &self.#vident
                    }
                    fn from_raw(id: &<Self as #rr::Family>::Id, value: Self::Value) -> Self {
                        #ident { #keys #vident: value }
                    }
                }
            };
            (codec, items)
        }
    }
}

/// `assert_key_part::<T>();` for each placeholder's type; see the module docs.
fn key_part_asserts(rr: &TokenStream, placeholders: &[&Field<'_>]) -> TokenStream {
    let asserts = placeholders.iter().map(|f| {
        let ty = f.ty;
        quote!(#rr::assert_key_part::<#ty>();)
    });
    quote!(#(#asserts)*)
}

/// `write_id_key` and `parse_id` (the runtime's `Family` methods) and
/// `write_key`, `id` and `id_mismatch` (the model's).
fn expand_key_methods(
    cont: &Container<'_>,
    placeholders: &[&Field<'_>],
) -> (TokenStream, TokenStream) {
    let rr = private(Some(cont));
    let result = quote!(#rr::Result<(), #rr::InvalidKeyPart>);
    let asserts = key_part_asserts(&rr, placeholders);
    match placeholders {
        [] => (
            quote! {
                #[inline]
                fn write_id_key(_: &Self::Id, _: &mut #rr::KeyWriter<'_>) -> #result {
                    #rr::Ok(())
                }

                fn parse_id(_: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    #rr::Ok(())
                }
            },
            quote! {
                #[inline]
                fn write_key(&self, _: &mut #rr::KeyWriter<'_>) -> #result {
                    #rr::Ok(())
                }

                fn id(&self) -> Self::Id {}
            },
        ),
        [single] => {
            let (fident, ty) = (single.ident, single.ty);
            let name = fident.to_string();
            (
                quote! {
                    #[inline]
                    fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #result {
                        #asserts
                        key.part::<#ty>(id)
                    }

                    fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                        #asserts
                        parts.part::<#ty>()
                    }
                },
                quote! {
                #[inline]
                fn write_key(&self, key: &mut #rr::KeyWriter<'_>) -> #result {
                    <Self as #rr::Family>::write_id_key(&self.#fident, key)
                }

                fn id(&self) -> Self::Id {
                    ::core::clone::Clone::clone(&self.#fident)
                }

                #[inline]
                fn id_mismatch(&self, id: &Self::Id) -> #rr::Option<&'static str> {
                    if ::core::cmp::PartialEq::ne(&self.#fident, id) {
                        #rr::Some(#name)
                    } else {
                        #rr::None
                    }
                }
                },
            )
        }
        many => {
            let id_ident = format_ident!("{}Id", cont.ident);
            let idents: Vec<_> = many.iter().map(|f| f.ident).collect();
            let tys: Vec<_> = many.iter().map(|f| f.ty).collect();
            let names: Vec<String> = idents.iter().map(|i| i.to_string()).collect();
            (
                quote! {
                    #[inline]
                    fn write_id_key(id: &Self::Id, key: &mut #rr::KeyWriter<'_>) -> #result {
                        #asserts
                        #(key.part::<#tys>(&id.#idents)?;)*
                        #rr::Ok(())
                    }

                    fn parse_id(parts: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                        #asserts
                        // Fields are initialized in template order, the order of the parts.
                        #rr::Ok(#id_ident {
                            #(#idents: parts.part::<#tys>()?,)*
                        })
                    }
                },
                quote! {
                #[inline]
                fn write_key(&self, key: &mut #rr::KeyWriter<'_>) -> #result {
                    #asserts
                    #(key.part::<#tys>(&self.#idents)?;)*
                    #rr::Ok(())
                }

                fn id(&self) -> Self::Id {
                    #id_ident {
                        #(#idents: ::core::clone::Clone::clone(&self.#idents),)*
                    }
                }

                #[inline]
                fn id_mismatch(&self, id: &Self::Id) -> #rr::Option<&'static str> {
                    #(
                        if ::core::cmp::PartialEq::ne(&self.#idents, &id.#idents) {
                            return #rr::Some(#names);
                        }
                    )*
                    #rr::None
                }
                },
            )
        }
    }
}

/// How one stored field of a hash model is encoded.
enum Stored {
    KeyPart,
    Json,
    Value,
}

/// How field `index` is stored, or `None` when it is skipped.
fn stored_kind(cont: &Container<'_>, index: usize, placeholder_fields: &[usize]) -> Option<Stored> {
    let f = &cont.fields[index];
    if f.attrs.skip.is_some() {
        return None;
    }
    Some(if placeholder_fields.contains(&index) {
        Stored::KeyPart
    } else if f.attrs.json.is_some() {
        Stored::Json
    } else {
        Stored::Value
    })
}

fn expand_hash(cont: &Container<'_>, checked: &Checked) -> TokenStream {
    let rr = private(Some(cont));
    let ident = cont.ident;
    let placeholders: Vec<&Field<'_>> = checked
        .placeholder_fields
        .iter()
        .map(|&i| &cont.fields[i])
        .collect();
    let mut asserts = key_part_asserts(&rr, &placeholders);
    for (i, f) in cont.fields.iter().enumerate() {
        if let Some(Stored::Value) = stored_kind(cont, i, &checked.placeholder_fields) {
            let ty = f.ty;
            asserts.extend(quote_spanned!(ty.span()=> #rr::assert_hash_value::<#ty>();));
        }
    }

    let mut writes = Vec::new();
    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    for (i, f) in cont.fields.iter().enumerate() {
        let fident = f.ident;
        let ty = f.ty;
        let fname = f.name();
        let Some(kind) = stored_kind(cont, i, &checked.placeholder_fields) else {
            inits.push(quote!(#fident: <#ty as #rr::FieldDefault>::field_default()));
            continue;
        };
        let stored = f.stored_as();
        writes.push(match (&kind, f.option_inner) {
            (Stored::KeyPart, _) => {
                quote!(#rr::write_key_field::<__W, #ty>(out, #stored, &self.#fident);)
            }
            (Stored::Value, _) => {
                quote!(#rr::write_value::<__W, #ty>(out, #stored, &self.#fident);)
            }
            (Stored::Json, Some(inner)) => quote! {
                if let #rr::Some(value) = &self.#fident {
                    #rr::write_json::<Self, __W, #inner>(out, #fname, #stored, value)?;
                }
            },
            (Stored::Json, None) => {
                quote!(#rr::write_json::<Self, __W, #ty>(out, #fname, #stored, &self.#fident)?;)
            }
        });

        let slot = format_ident!("__field{}", i);
        let stored_bytes = syn::LitByteStr::new(stored.as_bytes(), Span::call_site());
        let decode = match (&kind, f.option_inner) {
            (Stored::KeyPart, _) => quote!(#rr::decode_key_field::<Self, #ty>(#fname, value)?),
            (Stored::Value, _) => quote!(#rr::decode_value::<Self, #ty>(#fname, value)?),
            (Stored::Json, Some(inner)) => {
                quote!(#rr::Some(#rr::decode_json::<Self, #inner>(#fname, value)?))
            }
            (Stored::Json, None) => quote!(#rr::decode_json::<Self, #ty>(#fname, value)?),
        };
        slots.push(quote!(let mut #slot: #rr::Option<#ty> = #rr::None;));
        arms.push(quote!(#stored_bytes => #slot = #rr::Some(#decode),));
        let missing = if f.option_inner.is_some() {
            quote!(#rr::None)
        } else if f.attrs.default.is_some() {
            quote!(<#ty as #rr::FieldDefault>::field_default())
        } else if matches!(kind, Stored::Value) {
            // The type decides, not its spelling: an alias of `Option` or a
            // custom `HashValue` may allow absence (the write side asks the
            // same trait through `is_present`).
            quote! {
                match <#ty as #rr::HashValue>::from_missing() {
                    #rr::Some(value) => value,
                    #rr::None => return #rr::Err(#rr::missing::<Self>(#fname)),
                }
            }
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
    let unknown = if cont.attrs.deny_unknown_fields.is_some() {
        quote!(_ => return #rr::Err(#rr::unknown_field::<Self>(&name)),)
    } else {
        quote!(_ => {})
    };

    quote! {
        #[automatically_derived]
        impl #rr::HashFields for #ident {
            fn write_fields<__W: #rr::RedisWrite + ?Sized>(&self, out: &mut __W) -> #rr::Result<(), #rr::Error> {
                #asserts
                #(#writes)*
                #rr::Ok(())
            }

            fn decode_fields(
                pairs: &mut dyn ::core::iter::Iterator<Item = (#rr::Vec<u8>, #rr::Vec<u8>)>,
            ) -> #rr::Result<Self, #rr::DecodeError> {
                #asserts
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

/// The `{Model}Fields` struct and `Model::fields()` of a hash model.
pub(crate) fn fields_api(cont: &Container<'_>, placeholder_fields: &[usize]) -> TokenStream {
    let rr = private(Some(cont));
    let ident = cont.ident;
    let vis = &cont.original.vis;
    let fields_ident = format_ident!("{}Fields", ident);
    let mut decls = Vec::new();
    let mut inits = Vec::new();
    for (i, f) in cont.fields.iter().enumerate() {
        match stored_kind(cont, i, placeholder_fields) {
            Some(Stored::Value | Stored::Json) => {}
            Some(Stored::KeyPart) | None => continue,
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

/// `stored_version` and `set_stored_version` of a model with a version field.
fn expand_version(cont: &Container<'_>, checked: &Checked) -> TokenStream {
    let rr = private(Some(cont));
    let Some(i) = checked.coordination.as_ref().and_then(|c| c.version) else {
        return TokenStream::new();
    };
    let fident = cont.fields[i].ident;
    quote! {
        fn stored_version(&self) -> #rr::Option<u64> {
            #rr::Some(::core::convert::TryFrom::try_from(self.#fident).unwrap_or(0))
        }
        fn set_stored_version(&mut self, version: u64) {
            if let #rr::Ok(v) = ::core::convert::TryFrom::try_from(version) {
                self.#fident = v;
            }
        }
    }
}

/// The model's `Coordination` (or `None`), and the finders of its unique
/// and indexed fields: associated functions on the model.
fn expand_coordination(
    cont: &Container<'_>,
    checked: &Checked,
    segments: &[TokenStream],
    field_metas: &[TokenStream],
) -> (TokenStream, TokenStream) {
    let rr = private(Some(cont));
    let Some(coordination) = &checked.coordination else {
        return (quote!(#rr::None), TokenStream::new());
    };
    let ident = cont.ident;
    let vis = &cont.original.vis;
    let model = ident.to_string();
    let version = match coordination.version {
        Some(i) => {
            let stored = cont.fields[i].stored_as();
            quote!(#rr::Some(#stored))
        }
        None => quote!(#rr::None),
    };
    let scope_source: Vec<String> = checked.template.segments[..coordination.scope_segments]
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => l.clone(),
            Segment::Placeholder(p, affixes) => {
                format!("{}{{{p}}}{}", affixes.prefix, affixes.suffix)
            }
        })
        .collect();
    let scope_source = scope_source.join(":");
    let scope_segments = &segments[..coordination.scope_segments.min(segments.len())];
    let tag = &cont.fields[coordination.tag_field];
    let tag_meta = &field_metas[coordination.tag_field];
    let tag_ty = tag.ty;
    let tag_name = tag.name();
    let mut constraints = Vec::new();
    let mut finders = Vec::new();
    for (n, (i, kind)) in coordination.constraints.iter().enumerate() {
        let field = &cont.fields[*i];
        let fname = field.name();
        let stored = field.stored_as();
        let literal = format!("{model}.{}.{stored}", kind.as_str());
        let family_name = literal.clone();
        let source = format!("{scope_source}:{literal}");
        let (kind_tokens, family_kind) = match kind {
            ConstraintKind::Unique => (
                quote!(#rr::ConstraintKind::Unique),
                quote!(#rr::Kind::Unique),
            ),
            ConstraintKind::Index => (quote!(#rr::ConstraintKind::Index), quote!(#rr::Kind::Index)),
            ConstraintKind::Range => (
                quote!(#rr::ConstraintKind::RangeIndex),
                quote!(#rr::Kind::RangeIndex),
            ),
        };
        constraints.push(quote! {
            #rr::Constraint {
                field: #fname,
                stored_as: #stored,
                kind: #kind_tokens,
                family: #rr::ModelMeta {
                    name: #family_name,
                    module_path: ::core::module_path!(),
                    key: #rr::KeyTemplate {
                        source: #source,
                        separator: b':',
                        segments: &[#(#scope_segments,)* #rr::Segment::Literal(#literal)],
                    },
                    kind: #family_kind,
                    ttl: #rr::None,
                    fields: &[#tag_meta],
                    coordination: #rr::None,
                },
            }
        });
        let value_ty = field.option_inner.unwrap_or(field.ty);
        let find = format_ident!("find_by_{}", fname);
        let find_page = format_ident!("find_by_{}_page", fname);
        let count = format_ident!("count_by_{}", fname);
        let stream = format_ident!("stream_by_{}", fname);
        match kind {
            ConstraintKind::Unique => {
                let doc = format!(
                    "The `{model}` of the `{tag_name}` `scope` whose unique `{fname}` is `value`, if any: one lookup of the unique value, then one script that reads the entity and checks it still holds the value (a claim left by an entity that expired is removed)."
                );
                finders.push(quote! {
                    #[doc = #doc]
                    #vis async fn #find(store: &#rr::Store, scope: &#tag_ty, value: &#value_ty) -> #rr::Result<#rr::Option<Self>, #rr::Error> {
                        store.find_unique::<Self, #tag_ty, #value_ty>(#n, scope, value).await
                    }
                });
            }
            ConstraintKind::Index => {
                let doc = format!(
                    "Every `{model}` of the `{tag_name}` `scope` whose `{fname}` is `value`, in key order: one `ZRANGE` of the index, then one script that reads the entities and removes members whose entity expired or moved on. See [`{model}::{find_page}`] for a page of them."
                );
                let page_doc = format!(
                    "A page of the `{model}`s of the `{tag_name}` `scope` whose `{fname}` is `value` (`offset`, `limit` and order of the index's members, by key). A page may hold fewer than `limit` entities when members were stale (they are removed, so the next read does not meet them)."
                );
                let count_doc = format!(
                    "How many `{model}`s of the `{tag_name}` `scope` have `{fname}` equal to `value`, every member checked as [`{model}::{find}`] checks it."
                );
                let stream_doc = format!(
                    "Streams every `{model}` of the `{tag_name}` `scope` whose `{fname}` is `value`, reading the index 100 members at a time after the last one read (each page checked as [`{model}::{find}`] checks it), for more matches than fit in memory at once."
                );
                finders.push(quote! {
                    #[doc = #doc]
                    #vis async fn #find(store: &#rr::Store, scope: &#tag_ty, value: &#value_ty) -> #rr::Result<#rr::Vec<Self>, #rr::Error> {
                        store.find_indexed::<Self, #tag_ty, #value_ty>(#n, scope, value, #rr::Page::ALL).await
                    }
                    #[doc = #page_doc]
                    #vis async fn #find_page(store: &#rr::Store, scope: &#tag_ty, value: &#value_ty, page: #rr::Page) -> #rr::Result<#rr::Vec<Self>, #rr::Error> {
                        store.find_indexed::<Self, #tag_ty, #value_ty>(#n, scope, value, page).await
                    }
                    #[doc = #count_doc]
                    #vis async fn #count(store: &#rr::Store, scope: &#tag_ty, value: &#value_ty) -> #rr::Result<u64, #rr::Error> {
                        store.count_indexed::<Self, #tag_ty, #value_ty>(#n, scope, value).await
                    }
                    #[doc = #stream_doc]
                    #vis fn #stream(store: &#rr::Store, scope: &#tag_ty, value: &#value_ty) -> impl #rr::Stream<Item = #rr::Result<Self, #rr::Error>> + ::core::marker::Send + 'static + use<> {
                        store.stream_indexed::<Self, #tag_ty, #value_ty>(#n, scope, #rr::IndexQuery::Equal(value), 100)
                    }
                });
            }
            ConstraintKind::Range => {
                let doc = format!(
                    "The `{model}`s of the `{tag_name}` `scope` whose `{fname}` lies in `range`, ordered by it (`page` picks offset, limit and direction): one `ZRANGE ... BYSCORE` of the index, then one script that reads the entities and removes members whose entity expired. A page may hold fewer than `limit` entities when members were stale."
                );
                let count_doc = format!(
                    "How many `{model}`s of the `{tag_name}` `scope` have `{fname}` in `range`, every member checked as [`{model}::{find}`] checks it."
                );
                let stream_doc = format!(
                    "Streams every `{model}` of the `{tag_name}` `scope` whose `{fname}` lies in `range`, in ascending order, reading the index 100 members at a time after the last score read (the members of one score always in one page), each page checked as [`{model}::{find}`] checks it."
                );
                finders.push(quote! {
                    #[doc = #doc]
                    #vis async fn #find(store: &#rr::Store, scope: &#tag_ty, range: impl ::core::ops::RangeBounds<#value_ty>, page: #rr::Page) -> #rr::Result<#rr::Vec<Self>, #rr::Error> {
                        store.find_in_range::<Self, #tag_ty, #value_ty>(#n, scope, range, page).await
                    }
                    #[doc = #count_doc]
                    #vis async fn #count(store: &#rr::Store, scope: &#tag_ty, range: impl ::core::ops::RangeBounds<#value_ty>) -> #rr::Result<u64, #rr::Error> {
                        store.count_in_range::<Self, #tag_ty, #value_ty>(#n, scope, range).await
                    }
                    #[doc = #stream_doc]
                    #vis fn #stream<R: ::core::ops::RangeBounds<#value_ty>>(store: &#rr::Store, scope: &#tag_ty, range: R) -> impl #rr::Stream<Item = #rr::Result<Self, #rr::Error>> + ::core::marker::Send + 'static + use<R> where R: 'static {
                        store.stream_indexed::<Self, #tag_ty, #value_ty>(#n, scope, #rr::IndexQuery::Range(range.start_bound(), range.end_bound()), 100)
                    }
                });
            }
        }
    }
    let coordination_tokens = quote! {
        #rr::Some(&#rr::Coordination {
            version: #version,
            constraints: &[#(#constraints),*],
        })
    };
    let items = if finders.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            #[automatically_derived]
            impl #ident {
                #(#finders)*
            }
        }
    };
    (coordination_tokens, items)
}
