//! The appliance as the web layer sees it: requests become store reads and actor messages.

use std::net::Ipv4Addr;
use std::sync::Arc;

use actix::Addr;
use sonde_scanner::{MAX_ADDRESSES_WITHOUT_CONFIRMATION, PortList, TargetSet};
use sonde_web::api::{
    Health, HostDetail, HostQuery, HostSummary, Page, ScanCreated, ScanRequest, ScanStatus,
    ScanView, ServiceCount,
};
use sonde_web::stats::{PortCount, SubnetCount};
use sonde_web::{ApiError, Backend, Caller, Subscription};

use crate::actors::{
    CancelOutcome, CancelScan, CreateScan, EventBus, Persister, ScanJob, StartScan, Supervisor,
};
use crate::config::ScanSettings;
use crate::store::{HostFilter, NewScan, Store, StoreError};

/// Implements [`Backend`] over the store and the actors.
#[derive(Debug)]
pub struct ApplianceBackend {
    store: Store,
    supervisor: Addr<Supervisor>,
    persister: Addr<Persister>,
    bus: Arc<EventBus>,
    scan: ScanSettings,
}

impl ApplianceBackend {
    /// Wires the backend to the running system.
    pub fn new(
        store: Store,
        supervisor: Addr<Supervisor>,
        persister: Addr<Persister>,
        bus: Arc<EventBus>,
        scan: ScanSettings,
    ) -> Self {
        Self { store, supervisor, persister, bus, scan }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DiskFull => ApiError::Unavailable(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

fn mailbox(e: actix::MailboxError) -> ApiError {
    ApiError::Unavailable(format!("the appliance is shutting down or overloaded: {e}"))
}

impl Backend for ApplianceBackend {
    async fn authenticate(&self, token: &str) -> Result<Option<Caller>, ApiError> {
        Ok(self.store.authenticate(token).await?)
    }

    async fn start_scan(
        &self,
        caller: &Caller,
        request: ScanRequest,
    ) -> Result<ScanCreated, ApiError> {
        let specs = request.targets.clone();
        let exclude = request.exclude.clone();
        // Hostnames resolve with the system resolver, which blocks: keep it off the workers.
        let (targets, extra) = actix_web::web::block(move || {
            let targets = TargetSet::parse(&specs)?;
            let extra =
                if exclude.is_empty() { TargetSet::default() } else { TargetSet::parse(&exclude)? };
            Ok::<_, sonde_scanner::TargetError>((targets, extra))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let targets = targets.exclude(&self.scan.excludes).exclude(&extra);
        if targets.is_empty() {
            return Err(ApiError::BadRequest(
                "every target is excluded (by the request or the appliance's exclude list)".into(),
            ));
        }
        if targets.len() > MAX_ADDRESSES_WITHOUT_CONFIRMATION {
            return Err(ApiError::BadRequest(format!(
                "{} addresses is more than one scan may cover ({MAX_ADDRESSES_WITHOUT_CONFIRMATION}): split the targets",
                targets.len()
            )));
        }
        let ports = match &request.ports {
            Some(spec) => PortList::parse(spec).map_err(|e| ApiError::BadRequest(e.to_string()))?,
            None => self.scan.ports.clone(),
        };
        let rate = request.rate.unwrap_or(self.scan.rate);
        if rate == 0 {
            return Err(ApiError::BadRequest("rate must be at least 1 probe per second".into()));
        }
        let seed = match request.seed {
            Some(seed) => seed,
            None => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
                u64::from_le_bytes(bytes)
            }
        };
        let new = NewScan {
            targets: request.targets,
            exclude: request.exclude,
            ports: ports.to_spec(),
            rate,
            seed,
            probes_total: targets.len() * ports.len() as u64,
            created_by: Some(caller.token_id),
        };
        let scan_id = self.persister.send(CreateScan(new)).await.map_err(mailbox)??;
        self.supervisor
            .send(StartScan(ScanJob { scan_id, targets, ports, seed, rate }))
            .await
            .map_err(mailbox)?;
        tracing::info!(scan_id, token = %caller.token_name, "Scan queued over the API.");
        Ok(ScanCreated { id: scan_id, status: ScanStatus::Queued })
    }

    async fn scans(&self) -> Result<Vec<ScanView>, ApiError> {
        Ok(self.store.scans().await?)
    }

    async fn scan(&self, id: i64) -> Result<ScanView, ApiError> {
        self.store.scan(id).await?.ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))
    }

    async fn cancel_scan(&self, caller: &Caller, id: i64) -> Result<ScanView, ApiError> {
        let scan = self.scan(id).await?;
        if scan.status.is_final() {
            return Err(ApiError::Conflict(format!(
                "scan {id} is already {}",
                scan.status.as_str()
            )));
        }
        match self.supervisor.send(CancelScan { scan_id: id }).await.map_err(mailbox)? {
            CancelOutcome::Cancelling => {
                tracing::info!(scan_id = id, token = %caller.token_name, "Scan cancelled over the API.");
            }
            // It finished between the read and the cancel; the store has the final state.
            CancelOutcome::NotRunning => {}
        }
        self.scan(id).await
    }

    async fn hosts(&self, query: HostQuery) -> Result<Page<HostSummary>, ApiError> {
        let filter = HostFilter {
            range: query.subnet.as_deref().map(parse_subnet).transpose()?,
            port: query.port,
            service: query.service.clone(),
            product: query.product.clone(),
            text: query.q.clone(),
        };
        Ok(self.store.hosts(&filter, &query).await?)
    }

    async fn host(&self, ip: Ipv4Addr) -> Result<HostDetail, ApiError> {
        self.store.host(ip).await?.ok_or_else(|| ApiError::NotFound(format!("no host {ip}")))
    }

    async fn services(&self) -> Result<Vec<ServiceCount>, ApiError> {
        Ok(self.store.services().await?)
    }

    async fn port_counts(&self, limit: u32) -> Result<Vec<PortCount>, ApiError> {
        Ok(self.store.port_counts(limit).await?)
    }

    async fn subnet_counts(&self) -> Result<Vec<SubnetCount>, ApiError> {
        Ok(self.store.subnet_counts().await?)
    }

    async fn health(&self) -> Result<Health, ApiError> {
        self.store.ping().await?;
        Ok(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
    }

    fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        self.bus.subscribe(last_event_id)
    }
}

/// `10.0.0.0/24` (or a bare address) as an inclusive range. No DNS: a filter is not a target.
fn parse_subnet(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), ApiError> {
    let bad =
        || ApiError::BadRequest(format!("subnet `{text}` is not an IPv4 CIDR like 10.0.0.0/24"));
    let (addr, len) = text.split_once('/').unwrap_or((text, "32"));
    let addr: Ipv4Addr = addr.trim().parse().map_err(|_| bad())?;
    let len: u32 = len.trim().parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    let first = u32::from(addr) & mask;
    Ok((Ipv4Addr::from(first), Ipv4Addr::from(first | !mask)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_into_ranges() {
        let r = |a: &str, b: &str| (a.parse().unwrap(), b.parse().unwrap());
        assert_eq!(parse_subnet("10.1.2.3/24").unwrap(), r("10.1.2.0", "10.1.2.255"));
        assert_eq!(parse_subnet("10.1.2.3").unwrap(), r("10.1.2.3", "10.1.2.3"));
        assert_eq!(parse_subnet("0.0.0.0/0").unwrap(), r("0.0.0.0", "255.255.255.255"));
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "10.0.0.0/x"] {
            assert!(parse_subnet(bad).is_err(), "{bad}");
        }
    }
}
