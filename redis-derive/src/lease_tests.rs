//! Snapshots of the lease and rate-limit derives' expansions (the fence
//! family of a lock with and without a hash tag, a GCRA limit's constants),
//! and the algorithm suggestions. Accept a reviewed change with
//! `INSTA_UPDATE=always cargo test -p redis-derive`.

use crate::collection::{self, CollectionKind};

fn expand(input: syn::DeriveInput, kind: CollectionKind) -> String {
    let tokens = collection::derive(&input, kind);
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn lock_with_hash_tag() {
    insta::assert_snapshot!(expand(
        syn::parse_quote! {
            #[redis(key = "room:{room}:lock", hash_tag = "room", ttl = "30s")]
            pub struct RoomLock {
                room: String,
            }
        },
        CollectionKind::Lock
    ));
}

#[test]
fn lock_without_hash_tag() {
    insta::assert_snapshot!(expand(
        syn::parse_quote! {
            #[redis(key = "tenant:{tenant}:job:{job}:lock", ttl = "1m")]
            pub struct JobLock {
                tenant: String,
                job: u64,
            }
        },
        CollectionKind::Lock
    ));
}

#[test]
fn gcra_rate_limit() {
    insta::assert_snapshot!(expand(
        syn::parse_quote! {
            #[redis(key = "limit:login:{user}", limit = 10, per = "1m", algorithm = "gcra", burst = 3)]
            pub struct LoginLimit {
                user: u64,
            }
        },
        CollectionKind::RateLimit
    ));
}

#[test]
fn misspelt_or_renamed_algorithms_are_recognised() {
    for (written, meant) in [
        ("gcar", Some("gcra")),
        ("token_bucket", Some("gcra")),
        ("Token-Bucket", Some("gcra")),
        ("sliding_window", Some("sliding")),
        ("rolling", Some("sliding")),
        ("fixed_window", Some("fixed")),
        ("dexif", Some("fixed")),
        ("random", None),
    ] {
        assert_eq!(collection::algorithm_meant(written), meant, "{written}");
    }
}
