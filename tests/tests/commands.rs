//! The runtime's command table is the truth: every `Store` operation of every
//! encoding sends only commands the table lists (read back from the server's
//! `INFO commandstats`), and every row of the table is used by some operation.

mod common;

use std::collections::BTreeSet;

use common::every::*;
use common::*;
use redis_runtime::keyspace::commands::{self, KEY_KINDS, KEYLESS};

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
    every_collection_operation(&store).await;
    every_list_operation(&store).await;
    every_lease_and_rate_limit_operation(&store).await;
    every_coordinated_operation(&store).await;
    every_stream_operation(&store).await;

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
