//! What the derive emits when the input has errors: the errors, plus a stub
//! impl so that code using the model does not drown the real errors in
//! follow-on "trait not implemented" errors.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(input: &syn::DeriveInput, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    let ident = &input.ident;
    // A stub only makes sense for a type the impl can name.
    if !input.generics.params.is_empty() {
        return errors;
    }
    let rr = quote!(::redis_runtime::__private);
    quote! {
        #errors

        const _: () = {
            impl #rr::RedisModel for #ident {
                type Id = ();
                type Codec = #rr::FallbackCodec;
                const META: &'static #rr::ModelMeta = &#rr::FALLBACK_META;
                fn write_key(&self, _: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    ::core::unreachable!()
                }
                fn write_id_key(_: &Self::Id, _: &mut #rr::KeyWriter<'_>) -> #rr::Result<(), #rr::InvalidKeyPart> {
                    ::core::unreachable!()
                }
                fn id(&self) -> Self::Id {
                    ::core::unreachable!()
                }
                fn parse_id(_: &mut #rr::KeyParts<'_>) -> #rr::Result<Self::Id, #rr::InvalidKeyPart> {
                    ::core::unreachable!()
                }
            }
        };
    }
}
