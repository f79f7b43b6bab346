//! Events between appliances: each one NOTIFYs what it publishes on a PostgreSQL channel and
//! LISTENs there for the others', which its own event stream then carries.
//!
//! A NOTIFY payload holds at most 8000 bytes: events are packed into envelopes below that,
//! and a port whose banner alone is too big travels without its banner (the API has it).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_web::api::EventPayload;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::actors::EventBus;
use crate::store::Store;

/// The PostgreSQL channel events travel on.
pub const CHANNEL: &str = "sonde_events";
/// Events waiting to be relayed; beyond it the bus drops them for the others (never waits).
pub const RELAY_QUEUE: usize = 8192;
/// Largest payload sent, under PostgreSQL's 8000-byte limit.
const MAX_PAYLOAD: usize = 7800;
/// Events packed per round of sending.
const ROUND: usize = 512;
/// Wait before listening again after the connection was lost.
const RECONNECT: Duration = Duration::from_secs(1);

/// What one NOTIFY carries.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The appliance that published the events (its own are not published twice).
    from: String,
    /// The events, in order.
    events: Vec<EventPayload>,
}

/// Sends what `events` receives to the other appliances, until the bus is gone.
pub async fn send(store: Store, from: String, mut events: mpsc::Receiver<EventPayload>) {
    while let Some(first) = events.recv().await {
        let mut round = vec![first];
        while round.len() < ROUND {
            match events.try_recv() {
                Ok(event) => round.push(event),
                Err(_) => break,
            }
        }
        for payload in pack(&from, round) {
            if let Err(error) = store.notify(CHANNEL, &payload).await {
                tracing::warn!(%error, "Events could not be sent to the other appliances.");
            }
        }
    }
}

/// Publishes on `bus` what other appliances send, reconnecting when the connection drops.
pub async fn listen(url: String, me: String, bus: Arc<EventBus>) {
    loop {
        match listen_once(&url, &me, &bus).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, "Not listening to the other appliances' events; retrying.");
                tokio::time::sleep(RECONNECT).await;
            }
        }
    }
}

async fn listen_once(url: &str, me: &str, bus: &EventBus) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    tracing::info!(channel = CHANNEL, "Listening to the other appliances' events.");
    loop {
        // `recv` reconnects by itself; events sent while it does are lost to this console
        // (the API still has the results).
        let note = listener.recv().await?;
        match serde_json::from_str::<Envelope>(note.payload()) {
            Ok(envelope) if envelope.from != me => bus.publish_remote(envelope.events),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "An unreadable event notification was ignored."),
        }
    }
}

/// Envelopes of at most [`MAX_PAYLOAD`] bytes holding `events` in order.
fn pack(from: &str, events: Vec<EventPayload>) -> Vec<String> {
    let empty = envelope(from, &[]).len();
    let mut out = Vec::new();
    let mut current: Vec<EventPayload> = Vec::new();
    let mut size = empty;
    for event in events {
        let Some((event, len)) = fitting(event) else { continue };
        if size + len + 1 > MAX_PAYLOAD && !current.is_empty() {
            out.push(envelope(from, &current));
            current.clear();
            size = empty;
        }
        size += len + 1;
        current.push(event);
    }
    if !current.is_empty() {
        out.push(envelope(from, &current));
    }
    out
}

/// The event and its serialized size, made small enough to travel, or `None` (logged).
fn fitting(mut event: EventPayload) -> Option<(EventPayload, usize)> {
    let size = |e: &EventPayload| serde_json::to_string(e).map_or(usize::MAX, |s| s.len());
    let budget = MAX_PAYLOAD - 200;
    let mut len = size(&event);
    if len > budget
        && let EventPayload::PortFound { port, .. } = &mut event
    {
        port.banner = None;
        port.tls = None;
        len = size(&event);
    }
    if len > budget {
        tracing::warn!(bytes = len, "An event too large to relay was left out.");
        return None;
    }
    Some((event, len))
}

fn envelope(from: &str, events: &[EventPayload]) -> String {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        from: &'a str,
        events: &'a [EventPayload],
    }
    serde_json::to_string(&Borrowed { from, events }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sonde_web::api::{PortView, ScanStatus};

    use super::*;

    fn port(banner_len: usize) -> EventPayload {
        EventPayload::PortFound {
            scan_id: 1,
            ip: Ipv4Addr::new(10, 0, 0, 1),
            port: Box::new(PortView {
                port: 22,
                proto: "tcp".into(),
                state: "open".into(),
                service: None,
                product: None,
                version: None,
                vendor: None,
                info: None,
                cpe: None,
                signature: None,
                confidence: None,
                banner: Some("x".repeat(banner_len)),
                rtt_ms: Some(1.0),
                tls: None,
                last_scan_id: 1,
                first_seen: String::new(),
                last_seen: String::new(),
            }),
        }
    }

    #[test]
    fn events_are_packed_under_the_notify_limit_in_order() {
        let status =
            EventPayload::ScanStatus { scan_id: 1, status: ScanStatus::Running, error: None };
        let mut events = vec![status];
        events.extend((0..100).map(|_| port(300)));
        events.push(port(20_000));
        let packed = pack("a", events);
        assert!(packed.len() > 1);
        let mut back = Vec::new();
        for payload in &packed {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            let envelope: Envelope = serde_json::from_str(payload).unwrap();
            assert_eq!(envelope.from, "a");
            back.extend(envelope.events);
        }
        assert_eq!(back.len(), 102);
        assert!(matches!(back[0], EventPayload::ScanStatus { .. }));
        let EventPayload::PortFound { port, .. } = &back[101] else { panic!("a port") };
        assert_eq!(port.banner, None, "a huge banner stays behind");
    }
}
