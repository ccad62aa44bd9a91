//! Snapshots of pretty-printed expansions: what the derive generates for each
//! kind of model. Review a changed snapshot as you would review the code it
//! shows; accept with `INSTA_UPDATE=always cargo test -p redis-derive`.

use crate::expand;

fn expand(input: syn::DeriveInput) -> String {
    let tokens = expand::derive(&input);
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn hash_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant", ttl = "30d")]
        pub struct User {
            tenant: TenantId,
            id: u64,
            email: String,
            #[redis(rename = "display_name")]
            name: Option<String>,
            #[redis(json)]
            prefs: Prefs,
            #[redis(json)]
            labels: Option<Vec<String>>,
            #[redis(default)]
            logins: i64,
            #[redis(skip)]
            session_cache: Vec<u8>,
        }
    }));
}

#[test]
fn json_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "session:{token}", encoding = "json", ttl = "30m")]
        pub struct Session {
            token: String,
            user: u64,
        }
    }));
}

/// `client_cache` adds the policy and the `Clone` probe (`cache_clone`) to the
/// `Family` impl and nothing else.
#[test]
fn client_cached_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "plan:{id}", encoding = "json", client_cache(ttl = "1m", max_entries = 500))]
        pub struct Plan {
            id: u64,
            name: String,
        }
    }));
}

/// `codec = Path`: the codec type behind `CustomCodec`, its `NAME` in the
/// description, and the `FromRedisValue` of string models.
#[test]
fn codec_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "order:{id}", codec = proto::Protobuf, ttl = "1d")]
        pub struct Order {
            id: u64,
            total: u64,
        }
    }));
}

/// `codec = raw`: the `RawModel` impl that rebuilds the key fields from the
/// id, and no `FromRedisValue` (a bare reply lacks the key).
#[test]
fn raw_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "legacy:{tenant}:blob:{id}", codec = raw)]
        pub struct Blob {
            tenant: String,
            id: u64,
            bytes: Vec<u8>,
        }
    }));
}

#[test]
fn msgpack_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "event:{stream}:{seq}", encoding = "msgpack")]
        pub(crate) struct Event {
            stream: String,
            seq: u64,
            payload: Vec<u8>,
        }
    }));
}

#[test]
fn template_without_placeholder() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "config:global")]
        struct GlobalConfig {
            motd: String,
            maintenance: bool,
        }
    }));
}

#[test]
fn deny_unknown_fields() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "counter:{name}", deny_unknown_fields)]
        pub struct Counter {
            name: String,
            value: i64,
        }
    }));
}

#[test]
fn errors_come_with_a_fallback() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "tenant:{tenant}:user:{idd}", ttl = "30x")]
        pub struct User {
            tenant: String,
            id: u64,
            email: String,
        }
    }));
}

/// `crate = "..."` routes every path of the expansion, its fallback included,
/// through the renamed dependency: nothing names `redis_runtime`.
#[test]
fn a_renamed_runtime_is_reached_through_the_crate_option() {
    for input in [
        syn::parse_quote! {
            #[redis(key = "user:{id}", crate = "my_redis")]
            pub struct User { id: u64, email: String }
        },
        syn::parse_quote! {
            #[redis(key = "session:{token}", encoding = "json", crate = "::my_redis")]
            pub struct Session { token: String }
        },
        // With an error: the fallback impls too.
        syn::parse_quote! {
            #[redis(key = "user:{idd}", crate = "my_redis")]
            pub struct Broken { id: u64, email: String }
        },
    ] {
        let input: syn::DeriveInput = input;
        let code = expand::derive(&input).to_string();
        assert!(code.contains("my_redis :: __private"), "{code}");
        assert!(!code.contains("redis_runtime"), "{code}");
    }
    let newtype: syn::DeriveInput = syn::parse_quote! {
        #[redis(crate = "my_redis")]
        pub struct TenantId(String);
    };
    let code = crate::key_part::derive(&newtype).to_string();
    assert!(code.contains("my_redis :: __private"), "{code}");
    assert!(!code.contains("redis_runtime"), "{code}");
}

/// Fallback impls are marked `#[automatically_derived]` like the real ones.
#[test]
fn fallback_impls_are_automatically_derived() {
    let input: syn::DeriveInput = syn::parse_quote! {
        #[redis(key = "user:{idd}")]
        pub struct Broken { id: u64, email: String }
    };
    let code = expand::derive(&input).to_string();
    let impls = code.matches("impl ").count();
    let marked = code.matches("# [automatically_derived] impl").count();
    assert!(
        impls >= 3 && marked == impls,
        "{marked} of {impls} impls marked:\n{code}"
    );
}

#[test]
fn coordinated_model() {
    insta::assert_snapshot!(expand(syn::parse_quote! {
        #[redis(key = "org:{org}:user:{id}", hash_tag = "org", ttl = "30d")]
        pub struct User {
            org: OrgId,
            id: u64,
            #[redis(unique)]
            email: String,
            #[redis(index)]
            role: Role,
            #[redis(index(range))]
            created_at: i64,
            #[redis(version)]
            version: u64,
            name: String,
        }
    }));
}
