//! The derive's view of the input: the struct, its fields and their attributes,
//! each keeping the syntax it came from so later errors can point at it.

use crate::attr;
use crate::ctxt::Ctxt;

pub(crate) struct Container<'a> {
    pub(crate) ident: &'a syn::Ident,
    pub(crate) attrs: attr::Container,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) original: &'a syn::DeriveInput,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a syn::Ident,
    pub(crate) ty: &'a syn::Type,
    pub(crate) attrs: attr::Field,
    /// `T` when the field's type is written `Option<T>`.
    pub(crate) option_inner: Option<&'a syn::Type>,
}

impl<'a> Field<'a> {
    /// The field name without a raw-identifier prefix.
    pub(crate) fn name(&self) -> String {
        let name = self.ident.to_string();
        name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
    }

    /// The name of the stored hash field.
    pub(crate) fn stored_as(&self) -> String {
        self.attrs
            .rename
            .as_ref()
            .map_or_else(|| self.name(), syn::LitStr::value)
    }
}

impl<'a> Container<'a> {
    /// Builds the container, reporting unsupported shapes. Returns `None` when
    /// the input is not a struct with named fields.
    pub(crate) fn from_ast(cx: &Ctxt, item: &'a syn::DeriveInput) -> Option<Container<'a>> {
        let attrs = attr::Container::from_ast(cx, item);
        let fields = match &item.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(named) => &named.named,
                syn::Fields::Unnamed(_) => {
                    cx.error_spanned_by(
                        &item.ident,
                        "RedisModel cannot be derived for tuple structs: key placeholders and hash fields need field names; use a struct with named fields",
                    );
                    return None;
                }
                syn::Fields::Unit => {
                    cx.error_spanned_by(
                        &item.ident,
                        "RedisModel cannot be derived for unit structs: a model needs fields; use a struct with named fields",
                    );
                    return None;
                }
            },
            syn::Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "RedisModel cannot be derived for enums; derive it on a struct with named fields (store an enum inside one as a `#[redis(json)]` field)",
                );
                return None;
            }
            syn::Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "RedisModel cannot be derived for unions; use a struct with named fields",
                );
                return None;
            }
        };
        let fields = fields
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                Some(Field {
                    ident,
                    ty: &field.ty,
                    attrs: attr::Field::from_ast(cx, field),
                    option_inner: option_inner(&field.ty),
                })
            })
            .collect();
        Some(Container {
            ident: &item.ident,
            attrs,
            fields,
            original: item,
        })
    }
}

/// A type as written, for messages and `FieldMeta::rust_type`: `Vec<u8>`,
/// `&'static str` (token spacing is kept only between words and after `,`/`;`).
pub(crate) fn type_name(ty: &syn::Type) -> String {
    let spaced = quote::ToTokens::to_token_stream(ty).to_string();
    let word = |c: Option<char>| c.is_some_and(|c| c == '_' || c.is_alphanumeric());
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let prev = out.chars().next_back();
            if !(word(prev) && word(chars.peek().copied()) || matches!(prev, Some(',' | ';'))) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `T` for a type written `Option<T>`, `std::option::Option<T>` or `core::option::Option<T>`.
fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<_> = path.path.segments.iter().collect();
    let last = segments.last()?;
    let prefix_ok = match segments.len() {
        1 => true,
        3 => {
            (segments[0].ident == "std" || segments[0].ident == "core")
                && segments[1].ident == "option"
        }
        _ => false,
    };
    if !prefix_ok || last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_read_as_written() {
        let name = |ty: syn::Type| type_name(&ty);
        assert_eq!(name(syn::parse_quote!(Vec<u8>)), "Vec<u8>");
        assert_eq!(name(syn::parse_quote!(&'static str)), "&'static str");
        assert_eq!(
            name(syn::parse_quote!(std::collections::HashMap<String, Vec<u8> >)),
            "std::collections::HashMap<String, Vec<u8>>"
        );
        assert_eq!(name(syn::parse_quote!([u8; 4])), "[u8; 4]");
        assert_eq!(
            name(syn::parse_quote!(Option<Box<dyn Send>>)),
            "Option<Box<dyn Send>>"
        );
    }
}
