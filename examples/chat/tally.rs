//! Side work on a consumer group: who talks most in each room.
//!
//! Every instance that has a room open runs a consumer of the room log's
//! `tally` group ([`redis_runtime::stream::Runner`]), so the instances share
//! the work: each message is counted by one of them. Delivery is at least
//! once (an entry is acknowledged after its handler returned `Ok`, and an
//! instance that dies leaves its entries pending for another to reclaim), so
//! the handler marks each entry processed first (`mark_processed`) and
//! counts only the first time. What that does not cover: a count that fails
//! *after* its entry was marked is not retried (the retry finds it marked),
//! so a Redis failure at that moment loses one count; it never counts twice.

use std::time::Duration;

use redis_runtime::Store;
use redis_runtime::stream::{Message, StartAt};
use tokio::sync::watch;

use crate::model::{RoomEvent, RoomLog, RoomName, RoomTalkers};

/// The consumer group's name.
pub(crate) const GROUP: &str = "tally";
/// How long processed ids are remembered: longer than any redelivery.
const REMEMBER: Duration = Duration::from_secs(24 * 3600);
/// An entry pending this long at a consumer is taken over by another (the
/// handler takes two round trips).
const MIN_IDLE: Duration = Duration::from_secs(5);
/// Pause before a run that ended on a Redis error starts again.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// Counts `room`'s messages as consumer `consumer` until `stop` changes.
pub(crate) async fn run(
    store: Store,
    room: RoomName,
    consumer: String,
    mut stop: watch::Receiver<bool>,
) {
    // A run ends on the first error of the group's commands (a Redis
    // restart breaks its blocked read): start it again, as its own consumer,
    // which first takes back what it held.
    loop {
        let stream = store.stream::<RoomLog>(&room);
        let group = stream.group(GROUP);
        let counting = async {
            // From the beginning: the first instance to open the room counts
            // its history too. Idempotent.
            group.create(StartAt::Beginning).await?;
            let handler = {
                let store = store.clone();
                let room = room.clone();
                move |message: Message<RoomLog>| count(store.clone(), room.clone(), message)
            };
            let mut stopped = stop.clone();
            group
                .runner(&consumer)
                .min_idle(MIN_IDLE)
                .run(handler, async move {
                    let _ = stopped.changed().await;
                })
                .await
        };
        match counting.await {
            Ok(_) => return,
            Err(error) => {
                eprintln!("chat: counting room {room} stopped, restarting: {error}");
                tokio::select! {
                    _ = tokio::time::sleep(RESTART_PAUSE) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

async fn count(
    store: Store,
    room: RoomName,
    message: Message<RoomLog>,
) -> redis_runtime::Result<()> {
    let RoomEvent::Message { from, .. } = &message.event else {
        return Ok(());
    };
    let first_time = store
        .stream::<RoomLog>(&room)
        .group(GROUP)
        .mark_processed(message.id, REMEMBER)
        .await?;
    if first_time {
        store.sorted_set::<RoomTalkers>(&room).incr(from, 1).await?;
    }
    Ok(())
}
