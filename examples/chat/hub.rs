//! One instance's view of the rooms its clients follow: a tail of their
//! streams, fanned out to the local connections.
//!
//! Each room with a local client has a position in its stream; one task
//! tails them all with blocking reads (`read_streams`, one `XREAD` per hash
//! slot) and hands each new entry to the room's local subscribers through a
//! broadcast channel. The stream is the truth and the broadcast only a fast
//! path: a subscriber that falls behind (the channel lagged) or that just
//! joined reads what it missed from the stream itself, and every subscriber
//! drops entries at or below the last id it sent, so nothing is shown
//! twice. While a room is open the instance also runs a consumer of its
//! tally group ([`crate::tally`]). Typing indicators come from one pattern
//! subscription per instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis_runtime::Store;
use redis_runtime::channel::Received;
use redis_runtime::stream::EntryId;
use tokio::sync::{broadcast, watch};

use crate::model::{RoomEvent, RoomLog, RoomName, RoomTyping, UserName};

/// How many entries one read takes per stream.
const READ_BATCH: usize = 200;
/// How long one blocking read waits; the tail re-reads its rooms after it.
const TAIL_WAIT: Duration = Duration::from_secs(5);
/// Pause before the tail retries after Redis failed a read.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Entries a local subscriber may fall behind before it reads the stream
/// instead.
const FAN_OUT_CAPACITY: usize = 1024;

/// An entry of a room's stream, decoded.
#[derive(Debug, Clone)]
pub(crate) struct RoomEntry {
    pub(crate) id: EntryId,
    pub(crate) event: RoomEvent,
}

struct Room {
    entries: broadcast::Sender<Arc<RoomEntry>>,
    /// Stops the room's tally consumer when the room closes (dropped).
    _tally: watch::Sender<bool>,
    /// The id of the last entry the tail read (or the stream's last when the
    /// room was opened).
    position: EntryId,
    subscribers: usize,
}

/// The rooms this instance follows.
pub(crate) struct Hub {
    store: Store,
    /// This instance's name: its consumer name in the tally groups.
    instance: String,
    rooms: Mutex<HashMap<RoomName, Room>>,
    /// Bumped when a room is opened or closed, so the tail reads the new set.
    rooms_changed: watch::Sender<u64>,
    typing: broadcast::Sender<(RoomName, UserName)>,
}

/// A subscription to a room's entries; closes the room when the last one
/// is dropped.
pub(crate) struct RoomSubscription {
    hub: Arc<Hub>,
    room: RoomName,
    pub(crate) entries: broadcast::Receiver<Arc<RoomEntry>>,
}

impl Drop for RoomSubscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.room);
    }
}

impl Hub {
    pub(crate) fn new(store: Store, instance: String) -> Arc<Hub> {
        Arc::new(Hub {
            store,
            instance,
            rooms: Mutex::new(HashMap::new()),
            rooms_changed: watch::Sender::new(0),
            typing: broadcast::Sender::new(FAN_OUT_CAPACITY),
        })
    }

    /// Follows `room`: entries appended from now on reach the returned
    /// subscription. Read the history the client wants *after* this, so
    /// that nothing falls between the two.
    pub(crate) async fn subscribe(
        self: &Arc<Hub>,
        room: &RoomName,
    ) -> redis_runtime::Result<RoomSubscription> {
        // Where the tail starts if this opens the room: the stream's last id
        // now. Anything appended later is either read by the tail or by the
        // subscriber's history read, which comes after this.
        let last = self.store.stream::<RoomLog>(room).latest(1).await?;
        let position = last.last().map_or(EntryId::ZERO, |entry| entry.id);
        let entries = {
            let mut rooms = self.rooms.lock().unwrap();
            let entry = rooms.entry(room.clone()).or_insert_with(|| {
                self.rooms_changed.send_modify(|v| *v += 1);
                let (tally, stop) = watch::channel(false);
                tokio::spawn(crate::tally::run(
                    self.store.clone(),
                    room.clone(),
                    self.instance.clone(),
                    stop,
                ));
                Room {
                    entries: broadcast::Sender::new(FAN_OUT_CAPACITY),
                    _tally: tally,
                    position,
                    subscribers: 0,
                }
            });
            entry.subscribers += 1;
            entry.entries.subscribe()
        };
        Ok(RoomSubscription {
            hub: Arc::clone(self),
            room: room.clone(),
            entries,
        })
    }

    fn unsubscribe(&self, room: &RoomName) {
        let mut rooms = self.rooms.lock().unwrap();
        if let Some(entry) = rooms.get_mut(room) {
            entry.subscribers -= 1;
            if entry.subscribers == 0 {
                rooms.remove(room);
                self.rooms_changed.send_modify(|v| *v += 1);
            }
        }
    }

    /// Typing indicators of every room, as this instance hears them.
    pub(crate) fn typing(&self) -> broadcast::Receiver<(RoomName, UserName)> {
        self.typing.subscribe()
    }

    /// Tails the streams of the open rooms until `stop` changes.
    pub(crate) async fn tail(self: Arc<Hub>, mut stop: watch::Receiver<bool>) {
        let mut changed = self.rooms_changed.subscribe();
        loop {
            changed.borrow_and_update();
            let from: Vec<(RoomName, EntryId)> = {
                let rooms = self.rooms.lock().unwrap();
                rooms
                    .iter()
                    .map(|(room, state)| (room.clone(), state.position))
                    .collect()
            };
            if from.is_empty() {
                tokio::select! {
                    _ = changed.changed() => continue,
                    _ = stop.changed() => return,
                }
            }
            let positions: Vec<(&RoomName, EntryId)> =
                from.iter().map(|(room, id)| (room, *id)).collect();
            // A read dropped here (rooms changed, or stop) loses nothing: XREAD
            // consumes nothing, and the next read starts from the same ids.
            let read = tokio::select! {
                read = self.store.read_streams::<RoomLog>(&positions, READ_BATCH, Some(TAIL_WAIT)) => read,
                _ = changed.changed() => continue,
                _ = stop.changed() => return,
            };
            match read {
                Ok(entries) => self.deliver(entries),
                Err(error) => {
                    eprintln!("chat: reading the room streams failed, retrying: {error}");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_PAUSE) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    fn deliver(&self, entries: Vec<(RoomName, redis_runtime::stream::Entry<RoomLog>)>) {
        let mut rooms = self.rooms.lock().unwrap();
        for (room, entry) in entries {
            let Some(state) = rooms.get_mut(&room) else {
                continue; // closed meanwhile
            };
            if entry.id <= state.position {
                continue;
            }
            state.position = entry.id;
            match entry.event {
                Ok(event) => {
                    // No receiver is fine: they all left since the read.
                    let _ = state.entries.send(Arc::new(RoomEntry {
                        id: entry.id,
                        event,
                    }));
                }
                Err(error) => eprintln!("chat: entry {} of room {room} skipped: {error}", entry.id),
            }
        }
    }

    /// Hands every typing indicator published in any room to the local
    /// connections, until `stop` changes. At most once: an indicator lost
    /// while the subscription reconnects is not worth more.
    pub(crate) async fn relay_typing(self: Arc<Hub>, mut stop: watch::Receiver<bool>) {
        loop {
            let subscription = tokio::select! {
                subscription = self.store.subscribe_all::<RoomTyping>() => subscription,
                _ = stop.changed() => return,
            };
            let mut subscription = match subscription {
                Ok(subscription) => subscription,
                Err(error) => {
                    eprintln!("chat: subscribing to typing indicators failed, retrying: {error}");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_PAUSE) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            loop {
                let received = tokio::select! {
                    received = subscription.next() => received,
                    _ = stop.changed() => return,
                };
                match received {
                    Some(Ok(Received::Message { id, message })) => {
                        let _ = self.typing.send((id, message.user));
                    }
                    Some(Ok(_)) => {} // a gap: typing indicators were lost, nothing to catch up
                    Some(Err(error)) => {
                        eprintln!("chat: a typing indicator was skipped: {error}");
                    }
                    None => break,
                }
            }
        }
    }
}
