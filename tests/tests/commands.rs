//! The runtime's command table is the truth: every `Store` operation of every
//! encoding sends only commands the table lists (read back from the server's
//! `INFO commandstats`), and every row of the table is used by some operation.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use redis_runtime::keyspace::commands::{self, KEY_KINDS, KEYLESS};

async fn every_operation(store: &redis_runtime::Store) {
    let user = User::sample("acme", 1);
    let id = user.key_id();
    let f = User::fields();
    store.save(&user).await.unwrap();
    store
        .save_with_ttl(&user, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    store.save_many(&[User::sample("acme", 2)]).await.unwrap();
    store.get::<User>(&id).await.unwrap();
    store
        .get_many::<User>(std::slice::from_ref(&id))
        .await
        .unwrap();
    store.exists::<User>(&id).await.unwrap();
    store.get_field(&id, f.email).await.unwrap();
    store.set_field(&id, f.email, &"e".into()).await.unwrap();
    store.clear_field(&id, f.name).await.unwrap();
    store.incr(&id, f.logins, 1).await.unwrap();
    store
        .expire::<User>(&id, Duration::from_secs(60))
        .await
        .unwrap();
    store.persist::<User>(&id).await.unwrap();
    store.refresh_ttl::<User>(&id).await.unwrap();
    store.ttl::<User>(&id).await.unwrap();
    // Conditional writes.
    store.insert(&User::sample("acme", 3)).await.unwrap();
    let _ = store.insert_or_get(&User::sample("acme", 4)).await.unwrap();
    store.replace(&user).await.unwrap();
    store.get_and_refresh::<User>(&id).await.unwrap();
    store
        .update(&id, |u| {
            u.set(f.email, &"u".into()).clear(f.name).incr(f.logins, 1)
        })
        .await
        .unwrap();
    store.get_fields(&id, (f.email, f.logins)).await.unwrap();
    store
        .get_fields_many(std::slice::from_ref(&id), (f.email,))
        .await
        .unwrap();
    store
        .incr_or_insert(&id, f.logins, 1, || user.clone())
        .await
        .unwrap();
    store
        .take::<User>(&User::sample("acme", 3).key_id())
        .await
        .unwrap();
    store.count::<User>().await.unwrap();
    let ids: Vec<_> = store.scan_ids::<User>().collect().await;
    assert!(!ids.is_empty());
    store.delete::<User>(&id).await.unwrap();
    store.delete_many::<User>(&[id]).await.unwrap();

    let session = Session {
        token: "t".into(),
        user: 1,
        scopes: vec![],
    };
    let event = Event {
        stream: "s".into(),
        seq: 1,
        kind: "k".into(),
        payload: vec![1],
    };
    let event_id = EventId {
        stream: "s".into(),
        seq: 1,
    };
    store.save(&session).await.unwrap();
    store.save(&event).await.unwrap();
    store
        .save_many(std::slice::from_ref(&session))
        .await
        .unwrap();
    store.save_many(std::slice::from_ref(&event)).await.unwrap();
    store.get::<Session>(&"t".into()).await.unwrap();
    store
        .get_many::<Event>(std::slice::from_ref(&event_id))
        .await
        .unwrap();
    store.exists::<Session>(&"t".into()).await.unwrap();
    store
        .expire::<Event>(&event_id.clone(), Duration::from_secs(5))
        .await
        .unwrap();
    store.persist::<Event>(&event_id.clone()).await.unwrap();
    store.refresh_ttl::<Session>(&"t".into()).await.unwrap();
    store.ttl::<Session>(&"t".into()).await.unwrap();
    store.insert(&event).await.unwrap();
    let _ = store.insert_or_get(&session).await.unwrap();
    store.replace(&session).await.unwrap();
    store.get_and_refresh::<Session>(&"t".into()).await.unwrap();
    store.get_and_refresh::<Event>(&event_id).await.unwrap();
    store.take::<Event>(&event_id).await.unwrap();
    store.save(&event).await.unwrap();
    store.count::<Event>().await.unwrap();
    store.delete::<Session>(&"t".into()).await.unwrap();
    store
        .delete_many::<Event>(std::slice::from_ref(&event_id))
        .await
        .unwrap();
}

on_both! {
async fn every_operation_sends_only_what_the_command_table_lists() {
    let (server, _) = start("app").await;
    let mut admin = server.raw_connection().await.unwrap();
    let _: () = raw!(&mut admin, "CONFIG", "RESETSTAT");
    // A new connection, so its set-up is counted too; scripts start unknown,
    // so the EVAL fallback runs as well as EVALSHA.
    let store = connect_as_app(&server, "app").await;
    let _: () = raw!(&mut admin, "CONFIG", "RESETSTAT");
    let _: () = raw!(&mut admin, "SCRIPT", "FLUSH");
    let store = {
        drop(store);
        connect_as_app(&server, "app").await
    };
    every_operation(&store).await;
    // Once more, now that the scripts are cached (EVALSHA).
    every_operation(&store).await;

    let sent: BTreeSet<String> = command_calls(&mut admin)
        .await
        .into_keys()
        // The admin connection's own commands.
        .filter(|c| {
            !matches!(
                c.as_str(),
                "info" | "config|resetstat" | "script|flush" | "acl|setuser"
            )
        })
        .collect();
    let table: BTreeSet<String> = commands::runtime_commands()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let outside: Vec<_> = sent
        .iter()
        // redis-rs tries `CLIENT SETINFO`, which Redis 7.0 lacks; it is let fail.
        .filter(|c| !table.contains(*c) && !c.starts_with("client|"))
        .collect();
    assert!(outside.is_empty(), "sent but not in the table: {outside:?}");

    // And the table holds no row that no operation uses.
    for kind in KEY_KINDS {
        for command in kind.all_commands() {
            assert!(
                sent.contains(command.name),
                "`{}` on a {} is in the table, but no operation sent it (sent: {sent:?})",
                command.name,
                kind.redis_type
            );
        }
    }
    for command in ["multi", "exec", "scan"] {
        assert!(
            KEYLESS.contains(&command) && sent.contains(command),
            "{command}"
        );
    }
}
}
