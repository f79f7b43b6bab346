//! Server-sent events: the wire format and the response behind `GET /api/v1/events`.

use std::time::Duration;

use actix_web::http::header::{CACHE_CONTROL, HeaderName};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, stream};
use tokio::time::{self, Instant, MissedTickBehavior};

use crate::Subscription;
use crate::api::Event;

/// How long the stream may stay quiet before it sends a comment. Proxies drop connections
/// that look idle (nginx after 60 s by default), and a client only notices a dead connection
/// when something should have arrived.
const KEEP_ALIVE_PERIOD: Duration = Duration::from_secs(15);

/// An SSE comment line: clients ignore it.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The header a reconnecting `EventSource` sends with the id of the last event it saw.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The request's `Last-Event-ID`. A value that is not an event id counts as none: ids only
/// come from this stream, so anything else is a client bug, and the whole buffer serves it
/// better than an error it cannot act on.
pub(crate) fn last_event_id(req: &HttpRequest) -> Option<u64> {
    req.headers().get(LAST_EVENT_ID)?.to_str().ok()?.trim().parse().ok()
}

/// The `200 text/event-stream` response that streams `subscription`: its replayed events,
/// then live ones, until the live channel closes.
pub(crate) fn response(subscription: Subscription) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((CACHE_CONTROL, "no-cache"))
        .streaming(stream(subscription))
}

/// Encodes one event as an SSE message.
fn encode(event: &Event) -> Result<Bytes, serde_json::Error> {
    // Compact JSON escapes every newline inside strings (banners hold attacker-controlled
    // text), so the event always fits on one `data:` line and cannot forge fields.
    let data = serde_json::to_string(event)?;
    let name = event.payload.name();
    Ok(Bytes::from(format!("id: {}\nevent: {name}\ndata: {data}\n\n", event.id)))
}

/// The replayed events, then live ones as they come, with a keep-alive comment after every
/// quiet [`KEEP_ALIVE_PERIOD`]; ends when the live channel closes.
fn stream(subscription: Subscription) -> impl Stream<Item = Result<Bytes, serde_json::Error>> {
    let Subscription { replay, live } = subscription;
    let mut keep_alive = time::interval_at(Instant::now() + KEEP_ALIVE_PERIOD, KEEP_ALIVE_PERIOD);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let state = (replay.into_iter(), live, keep_alive);
    stream::unfold(state, |(mut replay, mut live, mut keep_alive)| async move {
        let chunk = match replay.next() {
            Some(event) => encode(&event),
            None => tokio::select! {
                event = live.recv() => {
                    let event = event?;
                    keep_alive.reset();
                    encode(&event)
                }
                _ = keep_alive.tick() => Ok(Bytes::from_static(KEEP_ALIVE)),
            },
        };
        Some((chunk, (replay, live, keep_alive)))
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use actix_web::test::TestRequest;
    use futures_util::StreamExt;
    use tokio::sync::mpsc;

    use super::*;
    use crate::api::{EventPayload, PortView, ScanStatus};

    fn status_event(id: u64, status: ScanStatus) -> Event {
        Event { id, payload: EventPayload::ScanStatus { scan_id: 3, status, error: None } }
    }

    fn text(chunk: Option<Result<Bytes, serde_json::Error>>) -> String {
        let bytes = chunk.expect("the stream is open").expect("events encode");
        String::from_utf8(bytes.to_vec()).expect("SSE is UTF-8")
    }

    #[test]
    fn an_event_is_id_event_and_one_data_line() {
        let encoded = encode(&status_event(7, ScanStatus::Running)).unwrap();
        assert_eq!(
            encoded,
            "id: 7\nevent: scan_status\n\
             data: {\"id\":7,\"type\":\"scan_status\",\"scan_id\":3,\"status\":\"running\",\"error\":null}\n\n"
        );
    }

    #[test]
    fn newlines_in_a_banner_cannot_break_out_of_the_data_line() {
        let event = Event {
            id: 8,
            payload: EventPayload::PortFound {
                scan_id: 3,
                ip: Ipv4Addr::new(10, 0, 0, 1),
                port: Box::new(PortView {
                    port: 22,
                    proto: "tcp".into(),
                    state: "open".into(),
                    service: Some("ssh".into()),
                    product: None,
                    version: None,
                    vendor: None,
                    info: None,
                    cpe: None,
                    signature: None,
                    confidence: None,
                    banner: Some("SSH-2.0-x\r\n\nid: 999\nevent: scan_finished\n\n".into()),
                    rtt_ms: Some(0.5),
                    tls: None,
                    last_scan_id: 3,
                    first_seen: "2025-01-01T00:00:00Z".into(),
                    last_seen: "2025-01-01T00:00:00Z".into(),
                }),
            },
        };
        let encoded = String::from_utf8(encode(&event).unwrap().to_vec()).unwrap();
        let lines: Vec<&str> = encoded.split('\n').collect();
        assert_eq!(lines.len(), 5, "{encoded}");
        assert_eq!(lines[0], "id: 8");
        assert_eq!(lines[1], "event: port_found");
        assert!(lines[2].starts_with("data: {"), "{encoded}");
        assert_eq!(lines[3..], ["", ""]);
    }

    #[test]
    fn last_event_id_ignores_what_is_not_an_id() {
        let table = [
            ("41", Some(41)),
            ("0", Some(0)),
            (" 41 ", Some(41)),
            ("", None),
            ("abc", None),
            ("-1", None),
            ("4.5", None),
            ("18446744073709551616", None),
        ];
        for (header, expected) in table {
            let req =
                TestRequest::default().insert_header((LAST_EVENT_ID, header)).to_http_request();
            assert_eq!(last_event_id(&req), expected, "{header:?}");
        }
        assert_eq!(last_event_id(&TestRequest::default().to_http_request()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn replay_then_live_with_keep_alives_only_when_quiet() {
        let (sender, live) = mpsc::channel(4);
        let replay =
            vec![status_event(1, ScanStatus::Queued), status_event(2, ScanStatus::Running)];
        let body = stream(Subscription { replay, live });
        let mut body = std::pin::pin!(body);
        let start = Instant::now();

        assert!(text(body.next().await).starts_with("id: 1\nevent: scan_status\n"));
        assert!(text(body.next().await).starts_with("id: 2\nevent: scan_status\n"));
        assert_eq!(text(body.next().await), ": keep-alive\n\n");
        assert_eq!(start.elapsed(), KEEP_ALIVE_PERIOD);

        time::sleep(Duration::from_secs(10)).await;
        sender.send(status_event(3, ScanStatus::Completed)).await.unwrap();
        assert!(text(body.next().await).starts_with("id: 3\nevent: scan_status\n"));
        // An event restarts the quiet period.
        assert_eq!(text(body.next().await), ": keep-alive\n\n");
        assert_eq!(start.elapsed(), KEEP_ALIVE_PERIOD * 2 + Duration::from_secs(10));

        drop(sender);
        assert!(body.next().await.is_none());
    }
}
