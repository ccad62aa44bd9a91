//! A chat service on typed Redis: an axum service with WebSockets whose
//! instances share nothing but Redis, and send no raw command (the audit in
//! CI proves it).
//!
//! ```text
//! cargo run -p examples --example chat                    # http://127.0.0.1:8080
//! cargo run -p examples --example chat -- --instances 2   # and http://127.0.0.1:8081
//! cargo run -p examples --example chat -- --listen 0.0.0.0:9000
//! cargo run -p examples --example chat -- --manifest json|markdown
//! ```
//!
//! Open the page in two browser windows (with `--instances 2`, one on each
//! port), log in under two names, and chat. What it keeps in Redis
//! (`model.rs`; its manifest is `docs/keyspace/chat.md`):
//!
//! - `User` and `Session`: models with a TTL (30 days, and a day that every
//!   use of the session slides).
//! - `RoomMembers`, `UserRooms`: sets, who is in a room and the rooms of a user.
//! - `RoomLog`: a stream per room, trimmed to about 10 000 entries. Every
//!   message is appended there; each instance tails the streams of the rooms
//!   its clients are in (`hub.rs`), so a message sent through one instance
//!   reaches clients of every other. A client that reconnects sends the last
//!   entry id it saw and gets every message it missed, in order, none twice.
//! - `Presence`: a model with a 30 s TTL that each connection saves every
//!   10 s, and `UserConnections`, a sorted set of a user's open connections
//!   on every instance, so that the last one to close takes the presence
//!   with it.
//! - `SendLimit`: a per-user rate limit (GCRA, 10 a second, bursts of 20).
//! - `RoomTalkers`: messages per user in a room, a sorted set counted by a
//!   consumer group on the room's log (`tally.rs`): every instance with the
//!   room open runs a consumer, at least once, made idempotent with the
//!   group's processed-id set (`RoomLogProcessed`).
//! - `RoomTyping`: typing indicators over pub/sub (at most once).
//!
//! It uses `REDIS_URL` when set. Otherwise it uses the server on
//! 127.0.0.1:6379 if one answers, and else starts a private `redis-server`
//! through the testing harness. Keys live under the namespace `chat:`.

mod hub;
mod model;
mod protocol;
mod service;
mod tally;
#[cfg(test)]
mod tests;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, Store};

use crate::model::{CHAT, NAMESPACE};

const USAGE: &str = "usage: chat [--listen ADDR] [--instances N] | --manifest json|markdown";

/// Where to find Redis: `REDIS_URL`, the default address, or a private server.
fn connect_config() -> Result<(Config, Option<RedisServer>), Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        let config = Config::builder().url(url).namespace(NAMESPACE).build()?;
        println!("using REDIS_URL: {config}");
        return Ok((config, None));
    }
    let default: SocketAddr = "127.0.0.1:6379".parse()?;
    if TcpStream::connect_timeout(&default, Duration::from_millis(300)).is_ok() {
        let config = Config::builder().namespace(NAMESPACE).build()?;
        println!("using the server on the default address: {config}");
        return Ok((config, None));
    }
    let server = RedisServer::start()?;
    let config = server.config_builder().namespace(NAMESPACE).build()?;
    println!("nothing answers on {default}; started a private redis-server: {config}");
    Ok((config, Some(server)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen: SocketAddr = "127.0.0.1:8080".parse()?;
    let mut instances: u16 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest" => {
                let manifest = CHAT.manifest(&format!("{NAMESPACE}:"));
                match args.next().as_deref() {
                    Some("json") => print!("{}", manifest.to_json()),
                    Some("markdown") => print!("{}", manifest.to_markdown()),
                    _ => return Err(USAGE.into()),
                }
                return Ok(());
            }
            "--listen" => listen = args.next().ok_or(USAGE)?.parse()?,
            "--instances" => instances = args.next().ok_or(USAGE)?.parse()?,
            _ => return Err(USAGE.into()),
        }
    }

    // Keep the private server (if any) alive until the end of `main`.
    let (config, _server) = connect_config()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for n in 0..instances.max(1) {
        // Each instance has a store of its own, as separate processes would.
        let store = Store::connect(&config).await?;
        let addr = SocketAddr::new(listen.ip(), listen.port() + n);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("instance {n}: http://{}", listener.local_addr()?);
        let mut stopped = stopped.clone();
        running.push(tokio::spawn(service::serve(
            store,
            listener,
            format!("instance-{n}"),
            async move {
                let _ = stopped.changed().await;
            },
        )));
    }
    println!("Ctrl-C stops");
    tokio::signal::ctrl_c().await?;
    let _ = stop.send(true);
    for instance in running {
        instance.await??;
    }
    Ok(())
}
