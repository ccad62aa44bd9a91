//! The keyspace declaration: near misses that must compile, the manifest, and
//! the ACL rule on a real server (the compile-fail collision classes are in
//! `tests/ui/keyspace/`).

mod common;

use common::*;
use redis_runtime::key::PartShape;
use redis_runtime::keyspace::{Manifest, ManifestSegment, collide};
use redis_runtime::{Error, Family, Store, keyspace};

#[allow(unreachable_pub, dead_code)]
mod near_misses {
    use redis_runtime::{RedisModel, keyspace};

    // A prefix is not a collision: keys of different lengths never meet.
    #[derive(RedisModel)]
    #[redis(key = "user:{id}")]
    pub struct User {
        pub id: String,
    }

    #[derive(RedisModel)]
    #[redis(key = "user:{id}:profile")]
    pub struct Profile {
        pub id: String,
    }

    // An integer placeholder cannot render a word or a non-canonical number.
    #[derive(RedisModel)]
    #[redis(key = "order:{id}")]
    pub struct Order {
        pub id: u64,
    }

    #[derive(RedisModel)]
    #[redis(key = "order:latest")]
    pub struct LatestOrder {
        pub id: u64,
    }

    #[derive(RedisModel)]
    #[redis(key = "order:007")]
    pub struct Bond {
        pub name: String,
    }

    #[derive(RedisModel)]
    #[redis(key = "order:-1")]
    pub struct Sentinel {
        pub name: String,
    }

    // An integer and a bool never render the same text.
    #[derive(RedisModel)]
    #[redis(key = "flag:{on}")]
    pub struct Flag {
        pub on: bool,
    }

    #[derive(RedisModel)]
    #[redis(key = "flag:{n}:x")]
    pub struct FlagCount {
        pub n: u32,
    }

    #[derive(RedisModel)]
    #[redis(key = "flag:{n}")]
    pub struct FlagNumber {
        pub n: u32,
    }

    // A hash-tagged part renders `{…}`, which an untagged one never does.
    #[derive(RedisModel)]
    #[redis(key = "tenant:{tenant}", hash_tag = "tenant")]
    pub struct Tenant {
        pub tenant: String,
    }

    #[derive(RedisModel)]
    #[redis(key = "tenant:{slug}")]
    pub struct TenantBySlug {
        pub slug: String,
    }

    // Literals differ.
    #[derive(RedisModel)]
    #[redis(key = "session:{token}", encoding = "json")]
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Session {
        pub token: String,
    }

    #[derive(RedisModel)]
    #[redis(key = "sessions:{token}")]
    pub struct SessionIndex {
        pub token: String,
    }

    keyspace! {
        /// Models that look alike but cannot render the same key.
        pub NEAR_MISSES = [
            User, Profile, Order, LatestOrder, Bond, Sentinel, Flag, FlagCount, FlagNumber,
            Tenant, TenantBySlug, Session, SessionIndex,
        ];
    }
}

#[test]
fn near_misses_compile_and_the_rule_is_symmetric() {
    let models = near_misses::NEAR_MISSES.models;
    assert_eq!(models.len(), 13);
    for a in models {
        for b in models {
            assert_eq!(
                collide(&a.key, &b.key),
                std::ptr::eq(*a, *b),
                "{} / {}",
                a.name,
                b.name
            );
        }
    }
    // The same checks the compile-fail cases make, at run time.
    assert!(collide(&User::META.key, &User::META.key));
    assert!(!collide(&User::META.key, &Counter::META.key));
}

#[allow(unreachable_pub, dead_code)]
mod leading {
    use redis_runtime::{RedisModel, keyspace};

    /// A template that starts with a placeholder.
    #[derive(RedisModel)]
    #[redis(key = "{tenant}:doc:{id}")]
    pub struct TenantDoc {
        pub tenant: String,
        pub id: u64,
    }

    keyspace! {
        /// One model whose pattern, without a namespace, starts with a glob.
        pub LEADING = [TenantDoc];
    }
}

#[test]
fn acl_patterns_that_would_grant_other_applications_keys_are_flagged() {
    let bare = leading::LEADING.manifest("").acl_rule();
    assert_eq!(bare.key_patterns, ["?*:doc:?*"]);
    assert_eq!(bare.broad_patterns(), ["?*:doc:?*"]);
    // A namespace anchors the pattern; `app` and `app:` are the same one.
    for ns in ["app", "app:", "app::"] {
        let manifest = leading::LEADING.manifest(ns);
        assert_eq!(manifest.namespace, "app:");
        let rule = manifest.acl_rule();
        assert_eq!(rule.key_patterns, ["app:?*:doc:?*"]);
        assert!(rule.broad_patterns().is_empty());
    }
    assert!(
        near_misses::NEAR_MISSES
            .manifest("")
            .acl_rule()
            .broad_patterns()
            .is_empty()
    );
}

#[test]
fn every_derived_model_registers_itself() {
    // This test binary links the 32 shared families (the in-flight lists of
    // `Jobs` register themselves as `JobsInFlight`, the fence counters of
    // the locks as `RoomLockFence` and `JobLockFence`, the dead-letter and
    // processed-id families of the streams as `RoomEventsDeadLetter`...; a
    // model's index and unique-constraint families are not registered: they
    // come with it), the 13 near misses and TenantDoc.
    let mut names: Vec<&str> = keyspace::registered_models().map(|m| m.name).collect();
    names.sort_unstable();
    assert_eq!(names.len(), 46, "{names:?}");
    let unlisted = TEST_MODELS.unlisted();
    assert_eq!(unlisted.len(), 14);
    assert!(unlisted.iter().all(|m| {
        m.module_path == "keyspace::near_misses" || m.module_path == "keyspace::leading"
    }));
    let unlisted: Vec<&str> = near_misses::NEAR_MISSES
        .unlisted()
        .iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        unlisted,
        [
            "Board",
            "BurstLimit",
            "Counter",
            "Event",
            "FixedLimit",
            "GcraLimit",
            "History",
            "Hits",
            "JobLock",
            "JobLockFence",
            "Jobs",
            "JobsInFlight",
            "Load",
            "Mailbox",
            "MailboxDeadLetter",
            "MailboxProcessed",
            "Member",
            "OrgPrefs",
            "PrefSets",
            "Profile",
            "ReadMarks",
            "RoomEvents",
            "RoomEventsDeadLetter",
            "RoomEventsProcessed",
            "RoomLock",
            "RoomLockFence",
            "RoomTyping",
            "Session",
            "SlidingLimit",
            "TeamMembers",
            "User",
            "Views",
            "TenantDoc",
        ]
    );
}

on_both! {
/// Templates the keyspace check lets coexist because a placeholder's type
/// cannot render the other's literal (`order:{id}` with a `u64` id and
/// `order:latest`) are told apart the same way at run time: by scans, and by
/// the manifest that doctor classifies keys with.
async fn families_told_apart_by_shape_stay_apart_at_run_time() {
    use futures_util::StreamExt;
    use near_misses::{Bond, LatestOrder, NEAR_MISSES, Order, Sentinel};

    let server = redis_runtime::testing::RedisServer::start().unwrap();
    let store = server.store().await.unwrap();
    for id in [1, 7, 42] {
        store.save(&Order { id }).await.unwrap();
    }
    store.save(&LatestOrder { id: 42 }).await.unwrap();
    store.save(&Bond { name: "b".into() }).await.unwrap();
    store.save(&Sentinel { name: "s".into() }).await.unwrap();

    let ids: Vec<_> = store.scan_ids::<Order>().collect().await;
    let mut ids: Vec<u64> = ids.into_iter().map(Result::unwrap).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 7, 42]);
    assert_eq!(store.count::<Order>().await.unwrap(), 3);

    let manifest = NEAR_MISSES.manifest("");
    let json = Manifest::from_json(&manifest.to_json()).unwrap();
    for (key, family) in [
        ("order:7", Some("Order")),
        ("order:latest", Some("LatestOrder")),
        ("order:007", Some("Bond")),
        ("order:-1", Some("Sentinel")),
        ("order:-7", None),
        ("order:x", None),
        ("flag:true", Some("Flag")),
        ("flag:12", Some("FlagNumber")),
        ("flag:yes", None),
    ] {
        for m in [&manifest, &json] {
            assert_eq!(
                m.family_of(key.as_bytes()).map(|f| f.model.as_str()),
                family,
                "{key}"
            );
        }
    }
}
}

#[test]
fn the_manifest_describes_every_family() {
    let manifest = TEST_MODELS.manifest("app:");
    assert_eq!(manifest.version, Manifest::VERSION);
    // 32 declared families, and the four constraint families of `Member`.
    assert_eq!(manifest.families.len(), 36);
    let constraints: Vec<(&str, &str, &str, &str)> = manifest
        .families
        .iter()
        .filter(|f| f.model.starts_with("Member."))
        .map(|f| {
            (
                f.model.as_str(),
                f.template.as_str(),
                f.redis_type.as_str(),
                f.encoding.as_str(),
            )
        })
        .collect();
    assert_eq!(
        constraints,
        vec![
            (
                "Member.unique.email",
                "org:{org}:Member.unique.email",
                "hash",
                "unique"
            ),
            (
                "Member.index.role",
                "org:{org}:Member.index.role",
                "zset",
                "index"
            ),
            (
                "Member.range.joined",
                "org:{org}:Member.range.joined",
                "zset",
                "range_index"
            ),
            (
                "Member.index.team",
                "org:{org}:Member.index.team",
                "zset",
                "index"
            ),
        ]
    );
    // Collections carry their real Redis type and their kind's commands.
    let kinds: Vec<(&str, &str, &str)> = manifest
        .families
        .iter()
        .map(|f| (f.model.as_str(), f.redis_type.as_str(), f.encoding.as_str()))
        .filter(|(m, _, _)| {
            [
                "TeamMembers",
                "Board",
                "Hits",
                "ReadMarks",
                "History",
                "JobsInFlight",
            ]
            .contains(m)
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("TeamMembers", "set", "set"),
            ("Board", "zset", "sorted_set"),
            ("Hits", "string", "counter"),
            ("History", "list", "list"),
            ("JobsInFlight", "list", "list"),
            ("ReadMarks", "hash", "map"),
        ]
    );
    let members = manifest
        .families
        .iter()
        .find(|f| f.model == "TeamMembers")
        .unwrap();
    assert!(
        members.commands.contains(&"sadd".to_owned()),
        "{:?}",
        members.commands
    );
    assert!(
        !members.commands.contains(&"hset".to_owned()),
        "{:?}",
        members.commands
    );
    assert_eq!(members.hash_tag.as_deref(), Some("org"));
    assert_eq!(members.ttl_ms, Some(3_600_000));
    let user = &manifest.families[0];
    assert_eq!(user.model, "User");
    assert_eq!(user.module, "keyspace::common");
    assert_eq!(user.template, "tenant:{tenant}:user:{id}");
    assert_eq!(user.pattern, "app:tenant:{?*}:user:?*");
    assert_eq!(
        (user.redis_type.as_str(), user.encoding.as_str()),
        ("hash", "hash")
    );
    assert_eq!(user.ttl_ms, Some(30 * 86_400_000));
    assert_eq!(user.hash_tag.as_deref(), Some("tenant"));
    assert_eq!(
        user.segments[1],
        ManifestSegment::Placeholder {
            field: "tenant".into(),
            hash_tag: true,
            shape: PartShape::Text,
        }
    );
    assert_eq!(
        user.segments[3],
        ManifestSegment::Placeholder {
            field: "id".into(),
            hash_tag: false,
            shape: PartShape::Integer { signed: false },
        }
    );
    let storage: Vec<(&str, &str, Option<&str>)> = user
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.storage.as_str(), f.stored_as.as_deref()))
        .collect();
    assert_eq!(
        storage,
        [
            ("tenant", "key", Some("tenant")),
            ("id", "key", Some("id")),
            ("email", "value", Some("email")),
            ("name", "value", Some("name")),
            ("prefs", "json", Some("prefs")),
            ("logins", "value", Some("logins")),
        ]
    );
    let session = &manifest.families[1];
    assert_eq!(
        (session.redis_type.as_str(), session.encoding.as_str()),
        ("string", "json")
    );
    assert!(session.fields.iter().all(|f| f.stored_as.is_none()));
    let profile = manifest
        .families
        .iter()
        .find(|f| f.model == "Profile")
        .unwrap();
    let renamed = profile.fields.iter().find(|f| f.name == "name").unwrap();
    assert_eq!(renamed.stored_as.as_deref(), Some("display_name"));
    assert!(
        profile
            .fields
            .iter()
            .any(|f| f.storage == "skipped" && f.stored_as.is_none())
    );

    // JSON round trips; Markdown is for people.
    assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
    let markdown = manifest.to_markdown();
    assert!(
        markdown
            .contains("| User | `app:tenant:{tenant}:user:{id}` | hash | hash | 30d | `tenant` |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| prefs | `Prefs` | hash field `prefs` (JSON) | no |"),
        "{markdown}"
    );
    let newer = manifest
        .to_json()
        .replace("\"version\": 4", "\"version\": 5");
    assert!(
        Manifest::from_json(&newer)
            .unwrap_err()
            .to_string()
            .contains("version 5")
    );
    // Version 1 did not record shapes: its placeholders read as text.
    let v1 = manifest
        .to_json()
        .replace("\"version\": 4", "\"version\": 1")
        .replace(",\n          \"shape\": \"integer\"", "")
        .replace(",\n          \"shape\": \"text\"", "");
    assert!(!v1.contains("shape\": \"integer"), "{v1}");
    // Nor commands: they come from the runtime's table.
    let v1 = serde_json::to_string(&{
        let mut value: serde_json::Value = serde_json::from_str(&v1).unwrap();
        for family in value["families"].as_array_mut().unwrap() {
            family.as_object_mut().unwrap().remove("commands");
        }
        value
    })
    .unwrap();
    let v1 = Manifest::from_json(&v1).unwrap();
    for (old, new) in v1.families.iter().zip(&manifest.families) {
        assert!(!old.commands.is_empty());
        assert_eq!(old.commands, new.commands, "{}", old.model);
    }
    assert_eq!(
        v1.families[0].segments[3],
        ManifestSegment::Placeholder {
            field: "id".into(),
            hash_tag: false,
            shape: PartShape::Text,
        }
    );
}

#[test]
fn the_manifest_classifies_keys() {
    let manifest = TEST_MODELS.manifest("app:");
    let family = |key: &str| manifest.family_of(key.as_bytes()).map(|f| f.model.as_str());
    assert_eq!(family("app:tenant:{acme}:user:1"), Some("User"));
    assert_eq!(
        family("app:tenant:acme:user:1"),
        None,
        "the hash tag is part of the shape"
    );
    assert_eq!(family("app:session:abc%3A"), Some("Session"));
    assert_eq!(family("app:session:abc:def"), None);
    assert_eq!(family("session:abc"), None, "outside the namespace");
    assert_eq!(
        family("app:session:a%zz"),
        None,
        "not an escape the renderer makes"
    );
    assert_eq!(family("app:event:s:1"), Some("Event"));
}

on_both! {
async fn the_generated_acl_rule_allows_the_runtime_and_nothing_else() {
    let (server, store) = start("app").await;
    let rule = TEST_MODELS.manifest("app:").acl_rule();
    assert!(
        rule.setuser_command("app").starts_with(
            "ACL SETUSER app on resetkeys resetchannels -@all ~app:tenant:{?*}:user:?* "
        )
    );

    // Every operation of every encoding works as the restricted user.
    let user = User::sample("acme", 1);
    store.save(&user).await.unwrap();
    store.save_many(&[User::sample("acme", 2)]).await.unwrap();
    assert_eq!(
        store.get::<User>(&user.key_id()).await.unwrap(),
        Some(user.clone())
    );
    store.get_many::<User>(&[user.key_id()]).await.unwrap();
    store
        .set_field(&user.key_id(), User::fields().email, &"e".to_owned())
        .await
        .unwrap();
    store
        .clear_field(&user.key_id(), User::fields().name)
        .await
        .unwrap();
    store
        .incr(&user.key_id(), User::fields().logins, 2)
        .await
        .unwrap();
    store
        .get_field(&user.key_id(), User::fields().logins)
        .await
        .unwrap();
    store
        .expire::<User>(&user.key_id(), std::time::Duration::from_secs(9))
        .await
        .unwrap();
    store.persist::<User>(&user.key_id()).await.unwrap();
    store.refresh_ttl::<User>(&user.key_id()).await.unwrap();
    store.ttl::<User>(&user.key_id()).await.unwrap();
    assert_eq!(store.count::<User>().await.unwrap(), 2);
    let session = Session {
        token: "t".into(),
        user: 1,
        scopes: vec![],
    };
    store.save(&session).await.unwrap();
    store.get_many::<Session>(&["t".to_owned()]).await.unwrap();
    assert!(store.exists::<Session>(&"t".to_owned()).await.unwrap());
    assert_eq!(
        store.delete_many::<User>(&[user.key_id()]).await.unwrap(),
        1
    );

    // Keys outside the declared families are refused with a typed error.
    let outside = Store::connect(
        &server
            .config_builder_as("app", APP_PASSWORD)
            .namespace("other")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    for err in [
        outside.get::<User>(&user.key_id()).await.unwrap_err(),
        outside.save(&session).await.unwrap_err(),
        outside
            .incr(&user.key_id(), User::fields().logins, 1)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    }
    // SCAN takes no key, so counting elsewhere is allowed and finds nothing.
    assert_eq!(outside.count::<User>().await.unwrap(), 0);

    // Commands outside the rule are refused too.
    let client =
        redis::Client::open(server.first_url_as("app", APP_PASSWORD)).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    for args in [
        &["FLUSHALL"][..],
        &["KEYS", "*"],
        &["CONFIG", "GET", "save"],
        &["SETRANGE", "app:session:t", "0", "x"],
    ] {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let err = cmd.query_async::<redis::Value>(&mut raw).await.unwrap_err();
        assert_eq!(err.code(), Some("NOPERM"), "{args:?}: {err}");
    }
}
}

keyspace! {
    /// A keyspace may list a single model.
    SINGLE = [Counter];
}

#[test]
fn a_single_model_keyspace_is_fine() {
    assert_eq!(SINGLE.models[0].name, "Counter");
}

/// The ACL rule grants each family's `pattern`: a manifest whose pattern is not
/// the one its template gives (a hand edit to `*`, say) is refused on reading.
#[test]
fn a_manifest_whose_pattern_does_not_follow_its_template_is_refused() {
    let json = TEST_MODELS.manifest("app:").to_json();
    assert!(Manifest::from_json(&json).is_ok());
    let widened = json.replace("\"pattern\": \"app:session:?*\"", "\"pattern\": \"*\"");
    assert_ne!(widened, json);
    let err = Manifest::from_json(&widened).unwrap_err().to_string();
    assert!(
        err.contains("Session") && err.contains("app:session:?*"),
        "{err}"
    );
}
