//! Typed pub/sub: `#[derive(RedisChannel)]`, [`Channel::publish`] and
//! [`Subscription`].
//!
//! A channel declaration is a struct whose fields are the channel name
//! template's placeholders, with the message type named in the attribute
//! (`message = T`, any serde type; sent as JSON). Channel names are rendered
//! and escaped like keys, under the store's namespace.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use redis_runtime::{RedisChannel, Store};
//! use redis_runtime::channel::Received;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Typing { user: u64 }
//!
//! #[derive(RedisChannel)]
//! #[redis(channel = "room:{room}:typing", message = Typing)]
//! struct RoomTyping { room: String }
//!
//! # async fn run(store: Store) -> redis_runtime::Result<()> {
//! let room = "lobby".to_owned();
//! let mut typing = store.subscribe::<RoomTyping>(&[&room]).await?;
//! store.channel::<RoomTyping>(&room).publish(&Typing { user: 7 }).await?;
//! while let Some(item) = typing.next().await {
//!     match item? {
//!         Received::Message { id, message } => println!("{id}: {message:?}"),
//!         Received::Gap { lost_for } => println!("messages of the last {lost_for:?} were lost"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! **At most once.** Redis delivers a message to the subscribers connected
//! when it is published, and to no one else: a subscriber whose connection
//! drops misses what is published until it has subscribed again. A
//! [`Subscription`] does that by itself (reconnecting with a pause that
//! doubles from 10 ms to 1 s) and then yields [`Received::Gap`] with how long
//! it was gone, so the application can re-read state it may have missed.
//! Where loss matters, use a stream ([`crate::stream`]).
//!
//! **Decode errors are items.** A message that does not decode is an `Err`
//! item ([`Error::Decode`]) and the subscription goes on.
//!
//! **Cluster.** Classic pub/sub messages reach every node of a Redis
//! Cluster, so a subscription holds one connection to any node, and moves
//! to another when that one fails.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::collection::{ElementCodec, JsonElement};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::model::Family;
use crate::store::{Retry, Store};

/// A pub/sub channel per name: `#[derive(RedisChannel)]` with `message = T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis channel declaration",
    note = "derive `RedisChannel` for `{Self}` with `#[redis(channel = \"...\", message = T)]`"
)]
pub trait RedisChannel: Family {
    /// The messages' type (serde JSON).
    type Message: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static;
}

/// The channel of one id; from [`Store::channel`].
pub struct Channel<'a, C: RedisChannel> {
    store: &'a Store,
    id: &'a C::Id,
    _family: PhantomData<fn() -> C>,
}

impl Store {
    /// The channel of `id` in family `C`.
    pub fn channel<'a, C: RedisChannel>(&'a self, id: &'a C::Id) -> Channel<'a, C> {
        Channel {
            store: self,
            id,
            _family: PhantomData,
        }
    }

    /// Subscribes to the channels of `ids` (`SUBSCRIBE`), on a connection
    /// of the subscription's own. Messages published after this returns are
    /// received (at most once, see the [module](self) docs).
    pub async fn subscribe<C: RedisChannel>(&self, ids: &[&C::Id]) -> Result<Subscription<C>> {
        let mut names = Vec::with_capacity(ids.len());
        for id in ids {
            names.push(self.render_key::<C>(id)?);
        }
        self.subscription::<C>(Targets {
            channels: names,
            patterns: Vec::new(),
        })
        .await
    }

    /// Subscribes to every channel of family `C` (`PSUBSCRIBE` on the name
    /// template, each placeholder `?*`, as the ACL rule grants it); each message comes with the id its
    /// channel name parses to. Names that match the pattern but not the
    /// template (another application's) are skipped.
    pub async fn subscribe_all<C: RedisChannel>(&self) -> Result<Subscription<C>> {
        self.subscription::<C>(Targets {
            channels: Vec::new(),
            // Exactly the manifest's pattern: the ACL allows a `PSUBSCRIBE`
            // only of a pattern it grants literally.
            patterns: vec![C::META.key.scan_pattern(self.namespace()).into_bytes()],
        })
        .await
    }

    async fn subscription<C: RedisChannel>(&self, targets: Targets) -> Result<Subscription<C>> {
        let pubsub = targets
            .connect(self)
            .await
            .map_err(|err| self.connect_error::<C>("subscribe", err))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let store = self.clone();
        tokio::spawn(forward::<C>(store, targets, pubsub, tx));
        Ok(Subscription {
            receiver: rx,
            _family: PhantomData,
        })
    }
}

/// What a subscription listens to.
struct Targets {
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
}

impl Targets {
    async fn connect(
        &self,
        store: &Store,
    ) -> std::result::Result<redis::aio::PubSub, redis::RedisError> {
        let first = self.channels.first().or(self.patterns.first());
        let slot = first.map_or(0, |name| crate::key::hash_slot(name));
        let mut pubsub = store.link().open_pubsub(slot).await?;
        for channel in &self.channels {
            pubsub.subscribe(channel).await?;
        }
        for pattern in &self.patterns {
            pubsub.psubscribe(pattern).await?;
        }
        Ok(pubsub)
    }
}

/// Forwards messages until the subscription is dropped, subscribing again
/// after a lost connection.
async fn forward<C: RedisChannel>(
    store: Store,
    targets: Targets,
    pubsub: redis::aio::PubSub,
    tx: mpsc::UnboundedSender<Result<Received<C>>>,
) {
    let mut pubsub = pubsub;
    loop {
        {
            let mut messages = pubsub.on_message();
            loop {
                let msg = tokio::select! {
                    msg = messages.next() => msg,
                    () = tx.closed() => return,
                };
                let Some(msg) = msg else { break };
                let Some(item) = received::<C>(&store, msg) else {
                    continue;
                };
                if tx.send(item).is_err() {
                    return;
                }
            }
        }
        // The connection is gone: subscribe again, then report the gap.
        let lost = Instant::now();
        let mut pause = Duration::from_millis(10);
        pubsub = loop {
            let attempt = tokio::select! {
                attempt = targets.connect(&store) => attempt,
                () = tx.closed() => return,
            };
            match attempt {
                Ok(pubsub) => break pubsub,
                Err(err) => {
                    tracing::debug!(error = %err, model = C::META.name, "subscribing again failed");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = tx.closed() => return,
                    }
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        };
        crate::observe::subscription_gap(C::META.name);
        if tx
            .send(Ok(Received::Gap {
                lost_for: lost.elapsed(),
            }))
            .is_err()
        {
            return;
        }
    }
}

fn received<C: RedisChannel>(store: &Store, msg: redis::Msg) -> Option<Result<Received<C>>> {
    let name = msg.get_channel_name();
    let id = match crate::key::parse_key::<C>(store.namespace(), name.as_bytes()) {
        None => return None,
        Some(Ok(id)) => id,
        Some(Err(_)) => {
            return Some(Err(Error::Decode(DecodeError::of::<C>(
                Some("channel"),
                DecodeErrorKind::UnexpectedReply("a channel name that does not parse"),
            ))));
        }
    };
    let payload = msg.get_payload_bytes().to_vec();
    Some(
        <JsonElement as ElementCodec<C::Message>>::read(payload)
            .map(|message| Received::Message { id, message })
            .map_err(|kind| Error::Decode(DecodeError::of::<C>(Some("message"), kind))),
    )
}

impl<C: RedisChannel> Channel<'_, C> {
    /// Publishes `message` (`PUBLISH`); returns how many subscribers
    /// received it (on a Redis Cluster, those connected to the node it was
    /// sent to). Never sent twice.
    pub async fn publish(&self, message: &C::Message) -> Result<u64> {
        let name = self.store.render_key::<C>(self.id)?;
        let mut payload = Vec::new();
        <JsonElement as ElementCodec<C::Message>>::write(message, &mut payload)
            .map_err(|m| Error::encode::<C>(Some("message"), m))?;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(&name).arg(&payload);
        self.store
            .query::<C, u64, _, _>("publish", Retry::Never, |mut con| {
                let cmd = &cmd;
                async move { cmd.query_async(&mut con).await }
            })
            .await
    }
}

/// An item of a [`Subscription`].
pub enum Received<C: RedisChannel> {
    /// A message, with the id its channel name parses to.
    Message {
        /// The channel's id.
        id: C::Id,
        /// The message.
        message: C::Message,
    },
    /// The connection was lost and the subscription made again: messages
    /// published during `lost_for` (about) were not received.
    Gap {
        /// From the loss to the new subscription.
        lost_for: Duration,
    },
}

impl<C: RedisChannel> fmt::Debug for Received<C>
where
    C::Id: fmt::Debug,
    C::Message: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Received::Message { id, message } => f
                .debug_struct("Message")
                .field("id", id)
                .field("message", message)
                .finish(),
            Received::Gap { lost_for } => {
                f.debug_struct("Gap").field("lost_for", lost_for).finish()
            }
        }
    }
}

/// A subscription: a stream of [`Received`] items (or decode errors), from
/// [`Store::subscribe`] and [`Store::subscribe_all`]. Dropping it
/// unsubscribes (its connection closes).
pub struct Subscription<C: RedisChannel> {
    receiver: mpsc::UnboundedReceiver<Result<Received<C>>>,
    _family: PhantomData<fn() -> C>,
}

impl<C: RedisChannel> fmt::Debug for Subscription<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("channel", &C::META.name)
            .finish_non_exhaustive()
    }
}

impl<C: RedisChannel> futures_util::Stream for Subscription<C> {
    type Item = Result<Received<C>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}
