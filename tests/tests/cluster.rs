//! What only a Redis Cluster has: hash slots, batches over many slots,
//! scans over every primary, and the slot rules of the raw escape hatch.
//! (The rest of the suite runs on a cluster too, through `on_both!`.)

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use redis_runtime::key::hash_slot;
use redis_runtime::testing::RedisCluster;
use redis_runtime::{Config, Error, Outcome};

fn cluster() -> TestRedis {
    TestRedis::Cluster(RedisCluster::start().unwrap())
}

async fn keyslot(admin: &mut Admin, key: &[u8]) -> u16 {
    raw!(admin, "CLUSTER", "KEYSLOT", key)
}

#[tokio::test]
async fn a_familys_keys_share_the_slot_the_cluster_computes() {
    let redis = cluster();
    let store = redis.store().await;
    let mut admin = redis.raw_connection().await.unwrap();
    // Tenants whose names need escaping, and braces, which must never open a
    // second hash tag inside the family's.
    for tenant in ["acme", "a:b", "{x}", "}", "a{b}c", "\u{e9}t\u{e9}", ""] {
        let mut slots = BTreeSet::new();
        for id in [1u64, 2, 99, u64::MAX] {
            let id = UserId {
                tenant: TenantId(tenant.into()),
                id,
            };
            let Ok(key) = store.key::<User>(&id) else {
                // An empty tenant is refused before anything is rendered.
                assert_eq!(tenant, "");
                continue;
            };
            let server_slot = keyslot(&mut admin, key.as_bytes()).await;
            assert_eq!(hash_slot(key.as_bytes()), server_slot, "{key}");
            slots.insert(server_slot);
        }
        assert!(slots.len() <= 1, "tenant {tenant:?} spans slots {slots:?}");
    }
    // Models without a hash tag: the whole key is hashed, on both sides.
    for token in ["a", "b{", "{}", "{a}{b}", "x}y{z"] {
        let key = store.key::<Session>(&token.to_owned()).unwrap();
        assert_eq!(
            hash_slot(key.as_bytes()),
            keyslot(&mut admin, key.as_bytes()).await,
            "{key}"
        );
    }
}

#[tokio::test]
async fn batches_over_many_families_split_by_slot_and_keep_the_callers_order() {
    let redis = cluster();
    let store = connect_as_app(&redis, "app").await;
    let mut admin = redis.raw_connection().await.unwrap();
    let users: Vec<User> = (0..200)
        .map(|i| User::sample(&format!("tenant{}", i % 40), i))
        .collect();
    let slots: BTreeSet<u16> = users
        .iter()
        .map(|u| hash_slot(store.key::<User>(&u.key_id()).unwrap().as_bytes()))
        .collect();
    assert!(slots.len() > 10, "the tenants spread over many slots");

    let before = command_calls(&mut admin).await;
    store.save_many(&users).await.unwrap();
    let after = command_calls(&mut admin).await;
    let sent = delta(&before, &after);
    assert_eq!(sent["exec"], slots.len() as u64, "one transaction per slot");
    assert_eq!(sent["hset"], 200);

    // Read back in an order of our own, with ids that do not exist in between.
    let mut ids: Vec<UserId> = users.iter().rev().map(User::key_id).collect();
    for at in [0, 57, 120, 202] {
        ids.insert(
            at,
            UserId {
                tenant: TenantId(format!("missing{at}")),
                id: 7,
            },
        );
    }
    let got = store.get_many::<User>(&ids).await.unwrap();
    assert_eq!(got.len(), ids.len());
    for (id, user) in ids.iter().zip(&got) {
        match user {
            Some(user) => assert_eq!(&user.key_id(), id),
            None => assert!(id.tenant.0.starts_with("missing"), "{id:?}"),
        }
    }
    assert_eq!(got.iter().flatten().count(), 200);

    // String-encoded models: one MGET per slot, in order too.
    let sessions: Vec<Session> = (0..30)
        .map(|i| Session {
            token: format!("s{i}"),
            user: i,
            scopes: vec![],
        })
        .collect();
    store.save_many(&sessions).await.unwrap();
    let tokens: Vec<String> = sessions.iter().rev().map(|s| s.token.clone()).collect();
    let got = store.get_many::<Session>(&tokens).await.unwrap();
    let got_users: Vec<u64> = got.iter().map(|s| s.as_ref().unwrap().user).collect();
    assert_eq!(got_users, (0..30).rev().collect::<Vec<u64>>());

    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    assert_eq!(store.delete_many::<User>(&ids[..150]).await.unwrap(), 150);
    assert_eq!(store.delete_many::<User>(&ids).await.unwrap(), 50);
    assert_eq!(store.count::<User>().await.unwrap(), 0);
}

fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

#[tokio::test]
async fn scans_cover_every_primary_and_only_primaries() {
    // With replicas, which hold copies of every key: counted once.
    let cluster = RedisCluster::builder().replicas(1).start().unwrap();
    let redis = TestRedis::Cluster(cluster);
    let store = connect_as_app(&redis, "app").await;
    let users: Vec<User> = (0..300)
        .map(|i| User::sample(&format!("t{i}"), i))
        .collect();
    store.save_many(&users).await.unwrap();
    // Every primary holds some of them.
    for mut node in redis.node_connections().await {
        let role: Vec<redis::Value> = raw!(&mut node, "ROLE");
        let keys: u64 = raw!(&mut node, "DBSIZE");
        if role.first() == Some(&redis::Value::BulkString(b"master".to_vec())) {
            assert!(keys > 0, "a primary holds none of the keys");
        }
    }
    assert_eq!(store.count::<User>().await.unwrap(), 300);
    let mut ids: Vec<UserId> = {
        use futures_util::TryStreamExt;
        store.scan_ids::<User>().try_collect().await.unwrap()
    };
    ids.sort_by_key(|id| id.id);
    let expected: Vec<UserId> = users.iter().map(User::key_id).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_raw_pipeline_across_slots_is_refused_before_anything_is_sent() {
    let redis = cluster();
    let store = redis.store().await;
    let raw = store.raw_access();
    let a = raw.compose_key().literal("a").finish().unwrap();
    let b = raw.compose_key().literal("b").finish().unwrap();
    assert_ne!(hash_slot(a.as_bytes()), hash_slot(b.as_bytes()));
    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg(&a).arg("1").ignore();
    pipe.cmd("SET").arg(&b).arg("1").ignore();
    let err = raw.query_pipeline::<()>(&pipe).await.unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err}");
    assert_eq!(err.outcome(), Outcome::NotApplied, "{err}");
    let exists: u64 = raw.query(redis::cmd("EXISTS").arg(&a)).await.unwrap();
    assert_eq!(exists, 0, "nothing was sent");
}

#[tokio::test]
async fn the_environment_selects_a_cluster_by_its_seed_nodes() {
    let redis = cluster();
    let TestRedis::Cluster(cluster) = &redis else {
        unreachable!()
    };
    // One live seed is enough; the others may be anything reachable or not.
    let seeds = format!("{}, redis://127.0.0.1:1", cluster.urls()[1]);
    let config = Config::from_lookup(|name| match name {
        "REDIS_CLUSTER_NODES" => Some(seeds.clone()),
        "REDIS_NAMESPACE" => Some("env".into()),
        _ => None,
    })
    .unwrap();
    assert!(config.is_cluster());
    let store = redis_runtime::Store::connect(&config).await.unwrap();
    let user = User::sample("acme", 1);
    store.save(&user).await.unwrap();
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
}
