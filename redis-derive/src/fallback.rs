//! What the derive emits when the input has errors: the errors, plus stub
//! impls so that code using the model does not drown the real errors in
//! follow-on "trait not implemented" errors.
//!
//! The stubs give code that uses the model what it would get from a
//! successful derive as far as the input allows: the same `Id` type (guessed
//! from the placeholders written in the template, even a broken one), the
//! `{Model}Id` struct, and for hash models `HashFields`, `{Model}Fields` and
//! `Model::fields()`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Container, Field};
use crate::attr::Encoding;
use crate::expand::{self, IdType};
use crate::key_template;
use crate::suggest::closest;

pub(crate) fn expand(
    input: &syn::DeriveInput,
    cont: Option<&Container<'_>>,
    error: syn::Error,
) -> TokenStream {
    let errors = error.into_compile_error();
    // A stub only makes sense for a type the impl can name.
    if !input.generics.params.is_empty() {
        return errors;
    }
    let rr = expand::private(cont);
    let ident = &input.ident;

    let (id, hash) = match cont {
        Some(cont) => {
            let placeholders = guess_placeholders(cont);
            let fields: Vec<&Field<'_>> = placeholders.iter().map(|&i| &cont.fields[i]).collect();
            let source = cont.attrs.key.as_ref().map(syn::LitStr::value);
            let id = expand::id_type(cont, &fields, source.as_deref().unwrap_or_default());
            let hash = (cont.attrs.encoding() == Encoding::Hash).then(|| {
                let fields_api = expand::fields_api(cont, &placeholders);
                (fields_api, hash_fields_stub(&rr, ident))
            });
            (id, hash)
        }
        None => (
            IdType {
                ty: quote!(()),
                item: TokenStream::new(),
            },
            None,
        ),
    };
    let IdType {
        ty: id_ty,
        item: id_item,
    } = id;
    let (fields_api, hash_impl) = hash.unwrap_or_default();

    quote! {
        #errors
        #id_item
        #fields_api

        const _: () = {
            #[automatically_derived]
            impl #rr::Family for #ident {
                type Id = #id_ty;
                const META: &'static #rr::ModelMeta = &#rr::FALLBACK_META;
                fn write_id_key(_: &Self::Id, _: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    ::core::unreachable!()
                }
                fn parse_id(_: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #rr::RedisModel for #ident {
                type Codec = #rr::FallbackCodec;
                fn write_key(&self, _: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    ::core::unreachable!()
                }
                fn id(&self) -> Self::Id {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #rr::FromRedisValue for #ident {
                fn from_redis_value(_: #rr::Value) -> #rr::Result<Self, #rr::ParsingError> {
                    ::core::unreachable!()
                }
            }

            #hash_impl
        };
    }
}

/// The fields the template's placeholders name: exact names first, then the
/// field a misspelled placeholder was most likely meant to be (the one the
/// error message suggests), each field once.
fn guess_placeholders(cont: &Container<'_>) -> Vec<usize> {
    let Some(key) = &cont.attrs.key else {
        return Vec::new();
    };
    let source = key.value();
    let names: Vec<String> = cont.fields.iter().map(Field::name).collect();
    let mut indices = Vec::new();
    for written in key_template::guess_placeholders(&source) {
        let written = written.strip_prefix("r#").unwrap_or(written);
        let found = names.iter().position(|n| n == written).or_else(|| {
            let best = closest(written, &names)?;
            names.iter().position(|n| n == best)
        });
        if let Some(index) = found
            && !indices.contains(&index)
        {
            indices.push(index);
        }
    }
    indices
}

fn hash_fields_stub(rr: &TokenStream, ident: &syn::Ident) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl #rr::HashFields for #ident {
            fn write_fields<__W: #rr::RedisWrite + ?Sized>(&self, _: &mut __W) -> #rr::Result<(), #rr::Error> {
                ::core::unreachable!()
            }
            fn decode_fields(
                _: &mut dyn ::core::iter::Iterator<Item = (#rr::Vec<u8>, #rr::Vec<u8>)>,
            ) -> #rr::Result<Self, #rr::DecodeError> {
                ::core::unreachable!()
            }
        }
    }
}
