//! The chat's tests: the manifest drift check, the service end to end with
//! real WebSocket clients against two instances sharing a private Redis (a
//! server, and a Redis Cluster), and a headless-Chromium test of the page.
//!
//! The instances connect as a user created from the keyspace's ACL rule, so
//! the tests also prove that the rule allows everything the service does.

mod browser;
mod client;
mod end_to_end;
mod fan_out;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use redis_runtime::testing::{RedisCluster, RedisServer};
use redis_runtime::{ConfigBuilder, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::model::{CHAT, NAMESPACE};

/// How long any one expected frame, page element or shutdown may take
/// before the test fails: a bound on a hang, never a pause.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);

/// Waits for `future`, failing the test after [`PATIENCE`] with `what`.
pub(crate) async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {PATIENCE:?} waiting for {what}"))
}

/// The ACL user the instances connect as.
const APP_USER: &str = "chat";
const APP_PASSWORD: &str = "chat-secret";

/// The `redis-server` arguments that create the `chat` user.
fn app_user() -> Vec<String> {
    let rule = CHAT.manifest(&format!("{NAMESPACE}:")).acl_rule();
    let mut args = vec![
        "--user".to_owned(),
        APP_USER.to_owned(),
        "on".to_owned(),
        format!(">{APP_PASSWORD}"),
    ];
    args.extend(rule.setuser_args());
    args
}

/// A private Redis: one server, or a cluster of three primaries.
pub(crate) enum Redis {
    Server(RedisServer),
    Cluster(RedisCluster),
}

impl Redis {
    /// Starts one with the `chat` user allowed exactly what the keyspace's
    /// ACL rule allows (`--user` on every node's command line).
    pub(crate) fn start(cluster: bool) -> Redis {
        if cluster {
            let builder = app_user()
                .into_iter()
                .fold(RedisCluster::builder(), |builder, arg| builder.arg(arg));
            Redis::Cluster(builder.start().expect("a private Redis Cluster"))
        } else {
            Redis::server(false)
        }
    }

    /// One server, with the append-only file on or off.
    pub(crate) fn server(appendonly: bool) -> Redis {
        let builder = app_user()
            .into_iter()
            .fold(RedisServer::builder(), |builder, arg| builder.arg(arg));
        Redis::Server(
            builder
                .appendonly(appendonly)
                .start()
                .expect("a private redis-server"),
        )
    }

    /// The single server, to stop or restart it.
    pub(crate) fn server_mut(&mut self) -> &mut RedisServer {
        match self {
            Redis::Server(server) => server,
            Redis::Cluster(_) => panic!("this test needs a single server"),
        }
    }

    fn config_builder(&self) -> ConfigBuilder {
        let credentials = format!("redis://{APP_USER}:{APP_PASSWORD}@");
        match self {
            Redis::Server(server) => redis_runtime::Config::builder().url(format!(
                "{}?user={APP_USER}&pass={APP_PASSWORD}",
                server.url()
            )),
            Redis::Cluster(cluster) => redis_runtime::Config::builder().cluster_nodes(
                cluster
                    .urls()
                    .iter()
                    .map(|url| url.replacen("redis://", &credentials, 1)),
            ),
        }
    }

    /// A store as the chat's user, in the chat's namespace.
    pub(crate) async fn store(&self) -> Store {
        let config = self
            .config_builder()
            .namespace(NAMESPACE)
            .build()
            .expect("a valid config");
        Store::connect(&config).await.expect("a store")
    }
}

/// One running instance of the service, on a port of 127.0.0.1.
pub(crate) struct Instance {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Instance {
    /// Starts an instance named `name` with a store of its own.
    pub(crate) async fn start(redis: &Redis, name: &str) -> Instance {
        Instance::start_at(redis, name, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts an instance on `addr` (again, after one there stopped).
    pub(crate) async fn start_at(redis: &Redis, name: &str, addr: SocketAddr) -> Instance {
        let store = redis.store().await;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the port is free");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::service::serve(
            store,
            listener,
            name.to_owned(),
            async move {
                let _ = stopped.await;
            },
        ));
        Instance {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the instance: every WebSocket it holds closes.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        within("the instance to stop", task)
            .await
            .expect("the instance's task")
            .expect("the instance served without an I/O error");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A private Redis and two instances of the service on it.
pub(crate) struct Deployment {
    pub(crate) instances: Vec<Instance>,
    // Dropped last: the server outlives the instances.
    pub(crate) redis: Redis,
}

impl Deployment {
    /// Two instances on a private server or cluster.
    pub(crate) async fn start(cluster: bool) -> Deployment {
        Deployment::on(Redis::start(cluster)).await
    }

    /// Two instances on `redis`.
    pub(crate) async fn on(redis: Redis) -> Deployment {
        let instances = vec![
            Instance::start(&redis, "a").await,
            Instance::start(&redis, "b").await,
        ];
        Deployment { instances, redis }
    }

    pub(crate) fn url(&self, instance: usize) -> String {
        self.instances[instance].url()
    }
}

/// Every declaration is in the keyspace, so the manifest, the ACL rule and
/// doctor know every key and channel the service uses.
#[test]
fn every_declaration_is_in_the_keyspace() {
    let unlisted: Vec<&str> = CHAT.unlisted().iter().map(|m| m.name).collect();
    assert!(unlisted.is_empty(), "missing from CHAT: {unlisted:?}");
}

/// The manifest checked in under `docs/keyspace/` says what the code
/// declares.
#[test]
fn the_checked_in_manifest_matches_the_declarations() {
    let manifest = CHAT.manifest(&format!("{NAMESPACE}:"));
    for (path, checked_in, generated, format) in [
        (
            "docs/keyspace/chat.json",
            include_str!("../../../docs/keyspace/chat.json"),
            manifest.to_json(),
            "json",
        ),
        (
            "docs/keyspace/chat.md",
            include_str!("../../../docs/keyspace/chat.md"),
            manifest.to_markdown(),
            "markdown",
        ),
    ] {
        assert!(
            checked_in == generated,
            "{path} is stale; regenerate it with\n  cargo run -p examples --example chat -- --manifest {format} > {path}\n--- generated:\n{generated}"
        );
    }
}
