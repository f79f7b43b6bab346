//! The Matcher: names the service behind each open port. Matching runs on rayon's CPU pool,
//! never on the I/O threads; the actor only keeps batches in order.

use std::sync::Arc;

use actix::prelude::*;
use rayon::prelude::*;
use sonde_matcher::Identifier;
use tokio::sync::oneshot;

use super::MATCHER_MAILBOX;
use super::persister::{FinishScan, PersistPorts};
use super::prober::Observed;
use crate::probing::identify_one;
use crate::store::PortRecord;

/// Batches at least this large are split across rayon's threads.
const PARALLEL_FROM: usize = 64;

/// Open ports with what they said, to identify.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct IdentifyPorts {
    /// Scan id.
    pub scan_id: i64,
    /// The ports.
    pub observed: Vec<Observed>,
}

/// Runs the identifier over batches and passes the results on, in order.
#[derive(Debug)]
pub struct Matcher {
    identifier: Arc<Identifier>,
    persist: Recipient<PersistPorts>,
    finish: Recipient<FinishScan>,
}

impl Matcher {
    /// A matcher feeding `persist` and forwarding scan ends to `finish` (the same actor, so
    /// order holds).
    pub fn new(
        identifier: Identifier,
        persist: Recipient<PersistPorts>,
        finish: Recipient<FinishScan>,
    ) -> Self {
        Self { identifier: Arc::new(identifier), persist, finish }
    }
}

/// Identifies a batch: the pure part of the handler.
pub(crate) fn identify(identifier: &Identifier, observed: &[Observed]) -> Vec<PortRecord> {
    let one = |o: &Observed| {
        let m = identify_one(identifier, o.finding.port, &o.responses);
        PortRecord {
            ip: o.finding.ip,
            port: o.finding.port,
            proto: o.finding.proto,
            rtt_ms: o.finding.rtt.as_secs_f64() * 1000.0,
            banner: o.banner.clone(),
            service: m.as_ref().map(|m| m.service.clone()),
            product: m.as_ref().and_then(|m| m.product.clone()),
            version: m.as_ref().and_then(|m| m.version.clone()),
            vendor: m.as_ref().and_then(|m| m.vendor.clone()),
            info: m.as_ref().and_then(|m| m.info.clone()),
            cpe: m.as_ref().and_then(|m| m.cpe.clone()),
            signature: m.as_ref().and_then(|m| m.signature.clone()),
            confidence: m.as_ref().map(|m| m.confidence),
            tls: o.responses.iter().find_map(|r| r.tls.clone()),
        }
    };
    if observed.len() >= PARALLEL_FROM {
        observed.par_iter().map(one).collect()
    } else {
        observed.iter().map(one).collect()
    }
}

impl Actor for Matcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MATCHER_MAILBOX);
    }
}

impl Handler<IdentifyPorts> for Matcher {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: IdentifyPorts, _: &mut Self::Context) -> Self::Result {
        let identifier = self.identifier.clone();
        let persist = self.persist.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let (tx, rx) = oneshot::channel();
                let scan_id = msg.scan_id;
                rayon::spawn(move || {
                    let _ = tx.send(identify(&identifier, &msg.observed));
                });
                let Ok(records) = rx.await else {
                    tracing::error!(scan_id, "Matching stopped abnormally; this batch is lost.");
                    return;
                };
                // Awaiting the Persister's bounded mailbox is the backpressure: a slow store
                // slows matching, and through the Prober's outbox, the scan.
                if let Err(e) = persist.send(PersistPorts { scan_id, records }).await {
                    tracing::error!(scan_id, error = %e, "The persister is gone; results are lost.");
                }
            }
            .into_actor(self),
        ))
    }
}

impl Handler<FinishScan> for Matcher {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: FinishScan, _: &mut Self::Context) -> Self::Result {
        let finish = self.finish.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let scan_id = msg.scan_id;
                if let Err(e) = finish.send(msg).await {
                    tracing::error!(scan_id, error = %e, "The persister is gone; the scan's end is lost.");
                }
            }
            .into_actor(self),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sonde_scanner::{Finding, PortState, Proto};

    use super::*;

    /// Collects what reaches the Persister, in arrival order.
    #[derive(Default)]
    struct Collector(Vec<String>);
    impl Actor for Collector {
        type Context = Context<Self>;
    }
    impl Handler<PersistPorts> for Collector {
        type Result = ();
        fn handle(&mut self, m: PersistPorts, _: &mut Self::Context) {
            self.0.push(format!("ports {}", m.records.len()));
        }
    }
    impl Handler<FinishScan> for Collector {
        type Result = ();
        fn handle(&mut self, m: FinishScan, _: &mut Self::Context) {
            self.0.push(format!("finish {}", m.scan_id));
        }
    }
    #[derive(Message)]
    #[rtype(result = "Vec<String>")]
    struct Take;
    impl Handler<Take> for Collector {
        type Result = Vec<String>;
        fn handle(&mut self, _: Take, _: &mut Self::Context) -> Vec<String> {
            std::mem::take(&mut self.0)
        }
    }

    #[actix::test]
    async fn the_end_of_a_scan_arrives_after_its_batches() {
        use sonde_web::api::{ScanCounters, ScanStatus};
        let sink = Collector::default().start();
        let m =
            Matcher::new(Identifier::builtin(), sink.clone().recipient(), sink.clone().recipient())
                .start();
        m.do_send(IdentifyPorts {
            scan_id: 1,
            observed: (0..300).map(|_| observed(22, None)).collect(),
        });
        m.do_send(IdentifyPorts { scan_id: 1, observed: vec![observed(80, None)] });
        m.send(FinishScan {
            scan_id: 1,
            status: ScanStatus::Completed,
            counters: ScanCounters::default(),
            error: None,
            chunk: None,
        })
        .await
        .unwrap();
        assert_eq!(sink.send(Take).await.unwrap(), ["ports 300", "ports 1", "finish 1"]);
    }

    fn observed(port: u16, banner: Option<&[u8]>) -> Observed {
        let finding = Finding {
            ip: [10, 0, 0, 1].into(),
            port,
            proto: Proto::Tcp,
            state: PortState::Open,
            rtt: Duration::from_micros(1500),
        };
        let responses = banner
            .map(|b| sonde_scanner::Response { probe: "null", data: b.to_vec(), tls: None })
            .into_iter()
            .collect();
        Observed::new(finding, responses, 1024)
    }

    #[test]
    fn identifies_small_and_large_batches_alike() {
        let m = Identifier::builtin();
        let small = vec![
            observed(22, Some(b"SSH-2.0-OpenSSH_9.2p1\r\n")),
            observed(80, None),
            observed(40000, None),
        ];
        let records = identify(&m, &small);
        assert_eq!(records[0].service.as_deref(), Some("ssh"));
        assert_eq!(records[0].product.as_deref(), Some("OpenSSH"));
        assert_eq!(records[1].service.as_deref(), Some("http"));
        assert_eq!(records[2].service, None);
        assert!((records[0].rtt_ms - 1.5).abs() < 1e-9);
        let large: Vec<_> = (0..200).map(|_| observed(22, None)).collect();
        let records = identify(&m, &large);
        assert_eq!(records.len(), 200);
        assert!(records.iter().all(|r| r.service.as_deref() == Some("ssh")));
    }

    #[test]
    fn identifies_from_follow_up_probes() {
        let mut o = observed(8080, None);
        o.responses.push(sonde_scanner::Response {
            probe: "http",
            data: b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n".to_vec(),
            tls: None,
        });
        let records = identify(&Identifier::builtin(), &[o]);
        assert_eq!(records[0].service.as_deref(), Some("http"));
        assert_eq!(records[0].product.as_deref(), Some("nginx"));
        assert_eq!(records[0].version.as_deref(), Some("1.22.1"));
    }
}
