//! `#[derive(KeyPart)]` for id newtypes: a struct with exactly one field renders
//! and parses as that field, with the field type's shape.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let fields = match &input.data {
        syn::Data::Struct(data) => &data.fields,
        _ => {
            return syn::Error::new_spanned(
                ident,
                "KeyPart can be derived for a struct with exactly one field (an id newtype such as `struct TenantId(String);`); implement it by hand for other types",
            )
            .into_compile_error();
        }
    };
    if fields.len() != 1 {
        return syn::Error::new_spanned(
            ident,
            "KeyPart can be derived for a struct with exactly one field (an id newtype such as `struct TenantId(String);`); implement it by hand for other types",
        )
        .into_compile_error();
    }
    if !input.generics.params.is_empty() {
        return syn::Error::new_spanned(
            &input.generics,
            "KeyPart cannot be derived for generic structs; implement it by hand",
        )
        .into_compile_error();
    }
    let Some(field) = fields.iter().next() else {
        return TokenStream::new();
    };
    let ty = &field.ty;
    let rr = match crate_path(input) {
        Ok(Some(krate)) => quote!(#krate::__private),
        Ok(None) => quote!(::redis_runtime::__private),
        Err(err) => return err.into_compile_error(),
    };
    let (access, build) = match &field.ident {
        Some(name) => (quote!(self.#name), quote!(#ident { #name: value })),
        None => (quote!(self.0), quote!(#ident(value))),
    };
    quote! {
        #[automatically_derived]
        impl #rr::KeyPart for #ident {
            const SHAPE: #rr::PartShape = <#ty as #rr::KeyPart>::SHAPE;

            #[inline]
            fn write_key_part(&self, out: &mut #rr::KeyPartWriter<'_>) {
                <#ty as #rr::KeyPart>::write_key_part(&#access, out)
            }

            #[inline]
            fn from_key_part(raw: #rr::Vec<u8>) -> #rr::Result<Self, #rr::KeyPartError> {
                <#ty as #rr::KeyPart>::from_key_part(raw).map(|value| #build)
            }
        }
    }
}

/// `#[redis(crate = "...")]`, the one attribute this derive takes: the path
/// the runtime is reachable at when the dependency is renamed.
fn crate_path(input: &syn::DeriveInput) -> syn::Result<Option<syn::Path>> {
    let mut krate = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("redis")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                krate = Some(lit.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new_spanned(
                        &lit,
                        "`crate` must be a path to the runtime, e.g. `crate = \"my_redis\"`",
                    )
                })?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown redis attribute for KeyPart; the only one is `crate = \"...\"`",
                ))
            }
        })?;
    }
    Ok(krate)
}
