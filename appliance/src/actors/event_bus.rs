//! Fan-out of events to SSE clients.
//!
//! Not an actor: HTTP workers subscribe synchronously and producers must never wait for a
//! client, so a short mutex-protected critical section with bounded per-client channels does
//! both without a mailbox hop.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use sonde_web::Subscription;
use sonde_web::api::{Event, EventPayload};
use tokio::sync::mpsc;

/// Events kept for clients that reconnect with `Last-Event-ID`.
const REPLAY: usize = 4096;
/// Events a client may lag behind before it is dropped (it reconnects and replays).
const CLIENT_BUFFER: usize = 1024;

/// Numbers events, keeps the recent ones, and hands them to every subscriber.
#[derive(Debug, Default)]
pub struct EventBus {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    recent: VecDeque<Event>,
    clients: Vec<mpsc::Sender<Event>>,
    /// Where events born here go to reach the other appliances sharing the store; bounded,
    /// and never waited for.
    relay: Option<mpsc::Sender<EventPayload>>,
}

impl EventBus {
    /// An empty bus; the first event gets id 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also hands every event published here (not progress, which each appliance sums from
    /// the store itself) to `relay`, which carries it to the other appliances.
    pub fn relay_to(&self, relay: mpsc::Sender<EventPayload>) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).relay = Some(relay);
    }

    /// Publishes events in order. A client whose buffer is full is dropped, never waited for.
    pub fn publish(&self, payloads: impl IntoIterator<Item = EventPayload>) {
        self.publish_from(payloads, true);
    }

    /// Publishes events another appliance announced: to the clients here, not relayed back.
    pub fn publish_remote(&self, payloads: impl IntoIterator<Item = EventPayload>) {
        self.publish_from(payloads, false);
    }

    fn publish_from(&self, payloads: impl IntoIterator<Item = EventPayload>, local: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for payload in payloads {
            if local
                && !matches!(payload, EventPayload::ScanProgress { .. })
                && let Some(relay) = &inner.relay
                && relay.try_send(payload.clone()).is_err()
            {
                tracing::warn!("The event relay is behind; other appliances miss an event.");
            }
            inner.next_id += 1;
            let event = Event { id: inner.next_id, payload };
            inner.clients.retain(|c| c.try_send(event.clone()).is_ok());
            if inner.recent.len() == REPLAY {
                inner.recent.pop_front();
            }
            inner.recent.push_back(event);
        }
    }

    /// Subscribes; replays the kept events after `last_event_id` (all kept ones when `None`).
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let (tx, live) = mpsc::channel(CLIENT_BUFFER);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let after = last_event_id.unwrap_or(0);
        let replay = inner.recent.iter().filter(|e| e.id > after).cloned().collect();
        inner.clients.push(tx);
        Subscription { replay, live }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(scan_id: i64) -> EventPayload {
        EventPayload::ScanStatus {
            scan_id,
            status: sonde_web::api::ScanStatus::Running,
            error: None,
        }
    }

    #[test]
    fn replays_after_the_last_seen_id_then_streams_live() {
        let bus = EventBus::new();
        bus.publish([status(1), status(2), status(3)]);
        let mut sub = bus.subscribe(Some(1));
        assert_eq!(sub.replay.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 3]);
        bus.publish([status(4)]);
        assert_eq!(sub.live.try_recv().unwrap().id, 4);
        assert_eq!(bus.subscribe(None).replay.len(), 4);
    }

    #[test]
    fn a_slow_client_is_dropped_not_waited_for() {
        let bus = EventBus::new();
        let mut slow = bus.subscribe(None);
        bus.publish((0..CLIENT_BUFFER as i64 + 10).map(status));
        let mut received = 0;
        while slow.live.try_recv().is_ok() {
            received += 1;
        }
        assert_eq!(received, CLIENT_BUFFER);
        assert!(matches!(slow.live.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)));
    }

    #[test]
    fn replay_is_bounded() {
        let bus = EventBus::new();
        bus.publish((0..REPLAY as i64 + 5).map(status));
        let sub = bus.subscribe(None);
        assert_eq!(sub.replay.len(), REPLAY);
        assert_eq!(sub.replay[0].id, 6);
    }
}
