//! The appliance as the web layer sees it: requests become store reads and actor messages.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix::Addr;
use sonde_scanner::{EngineKind, MAX_ADDRESSES_WITHOUT_CONFIRMATION, PortList, TargetSet};
use sonde_web::api::{
    ApplianceView, AuditEntry, AuditQuery, DockerView, ExportFormat, Health, HostDetail, HostEdit,
    HostExportQuery, HostQuery, HostSummary, MachineView, NewUser, Page, Role, ScanChanges,
    ScanCreated, ScanEngine, ScanRequest, ScanStatus, ScanView, SchedulePatch, ScheduleRequest,
    ScheduleView, ServiceCount, Settings, SettingsUpdate, TokenCreated, TokenView, UserPatch,
    UserView,
};
use sonde_web::stats::{PortCount, SubnetCount};
use sonde_web::{ApiError, AuditRecord, Backend, Caller, NewSession, Subscription};
use tokio::sync::Notify;

use crate::actors::{
    CancelOutcome, CancelScan, CreateScan, EventBus, FinishScan, Persister, ScanJob, StartScan,
    StartScanWithUdp, Supervisor,
};
use crate::config::ScanSettings;
use crate::docker::DockerRefresh;
use crate::fleet::ClusterSettings;
use crate::schedule::spec;
use crate::store::{
    ApplianceRecord, Backend as StoreBackend, HostFilter, NewScan, ScheduleRow, SettingsRow, Store,
    StoreError, store_now,
};
use sha2::{Digest, Sha256};

/// Implements [`Backend`] over the store and the actors.
#[derive(Debug)]
pub struct ApplianceBackend {
    store: Store,
    supervisor: Addr<Supervisor>,
    persister: Addr<Persister>,
    bus: Arc<EventBus>,
    scan: ScanSettings,
    /// The one-time setup token while no user exists; taken by the first `POST /setup`.
    setup_token: Mutex<Option<String>>,
    /// Notified when a schedule changes, so the runner need not wait for its next tick.
    schedule_wake: Arc<Notify>,
    /// Directories of operator signatures, shown read-only in the settings.
    signature_dirs: Vec<PathBuf>,
    /// Asks the Docker poller for a read now; `None` when no endpoint is configured.
    docker: Option<DockerRefresh>,
    /// Set when appliances share the store: scans are cut into chunks they lease.
    cluster: Option<ClusterSettings>,
    /// This appliance as `GET /appliances` lists it on a store of its own (SQLite), where
    /// no appliance registers: its record and when it started.
    local: Option<(ApplianceRecord, String)>,
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
        Self {
            store,
            supervisor,
            persister,
            bus,
            scan,
            setup_token: Mutex::new(None),
            schedule_wake: Arc::new(Notify::new()),
            signature_dirs: Vec::new(),
            docker: None,
            cluster: None,
            local: None,
        }
    }

    /// Names this appliance when it has the store to itself (`GET /appliances` lists it).
    #[must_use]
    pub fn with_identity(mut self, settings: &ClusterSettings) -> Self {
        self.local = Some((crate::fleet::worker::Worker::record(settings), store_now()));
        self
    }

    /// Shares scans with the other appliances on the store: a queued scan is stored as
    /// chunks for all of them to lease instead of running here alone.
    #[must_use]
    pub fn with_cluster(mut self, cluster: ClusterSettings) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Names the signature directories the settings show.
    #[must_use]
    pub fn with_signature_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.signature_dirs = dirs;
        self
    }

    /// Connects `POST /api/v1/docker/refresh` to the Docker poller.
    #[must_use]
    pub fn with_docker(mut self, refresh: DockerRefresh) -> Self {
        self.docker = Some(refresh);
        self
    }

    /// Validates and queues a scan for the API or a schedule (`created_by` is `None`).
    pub async fn queue_scan(
        &self,
        request: ScanRequest,
        created_by: Option<i64>,
    ) -> Result<ScanCreated, ApiError> {
        let stored = self.store.settings().await?;
        // The rate first: it needs no name resolution.
        let rate = request.rate.or(stored.default_rate).unwrap_or(self.scan.rate);
        if rate == 0 {
            return Err(ApiError::BadRequest("rate must be at least 1 probe per second".into()));
        }
        if let Some(cap) = stored.rate_cap.filter(|cap| rate > *cap) {
            return Err(ApiError::BadRequest(format!(
                "a rate of {rate} probes per second is above the appliance's cap of {cap}: ask for less, or have an admin raise the cap in the settings"
            )));
        }
        let specs = request.targets.clone();
        // The stored exclude list applies to every scan, like the configuration file's.
        let exclude: Vec<String> = request.exclude.iter().chain(&stored.exclude).cloned().collect();
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
        let udp_ports = match request.udp_ports.as_deref().map(str::trim) {
            None | Some("") => PortList::default(),
            Some(spec) => crate::udp_sweep::parse_ports(spec)
                .map_err(|e| ApiError::BadRequest(format!("udp_ports: {e}")))?,
        };
        let ports = match request.ports.as_deref().map(str::trim) {
            // An empty TCP list is a UDP-only scan, when it has UDP ports.
            Some("") if !udp_ports.is_empty() => PortList::default(),
            Some(spec) => parse_ports(spec)?,
            None => self.scan.ports.clone(),
        };
        let engine = request.engine.map(|choice| match choice {
            ScanEngine::Auto => EngineKind::Auto,
            ScanEngine::Connect => EngineKind::Connect,
            ScanEngine::Syn => EngineKind::Syn,
        });
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
            udp_ports: udp_ports.to_spec(),
            rate,
            seed,
            probes_total: targets.len() * (ports.len() + udp_ports.len()) as u64,
            created_by,
        };
        // Chunks carry TCP ports only, so a scan with UDP ports is not shared out: the
        // appliance that receives it runs it whole, as a single appliance would.
        if let Some(cluster) = &self.cluster {
            if udp_ports.is_empty() {
                return self.queue_shared(cluster, new, &targets, &ports, engine).await;
            }
            tracing::info!(
                udp_ports = %new.udp_ports,
                "This scan has UDP ports: it runs on this appliance, not shared out as chunks."
            );
        }
        let scan_id = self.persister.send(CreateScan(new)).await.map_err(mailbox)??;
        let job = ScanJob { scan_id, targets, ports, seed, rate, engine, chunk: None };
        let start = if udp_ports.is_empty() {
            self.supervisor.send(StartScan(job)).await
        } else {
            self.supervisor.send(StartScanWithUdp { job, udp_ports }).await
        };
        start.map_err(mailbox)?;
        Ok(ScanCreated { id: scan_id, status: ScanStatus::Queued })
    }

    /// Stores a scan as chunks for the appliances sharing the store, once sure that every
    /// chunk has an appliance that may scan it.
    async fn queue_shared(
        &self,
        cluster: &ClusterSettings,
        new: NewScan,
        targets: &TargetSet,
        ports: &PortList,
        engine: Option<EngineKind>,
    ) -> Result<ScanCreated, ApiError> {
        let chunks = crate::fleet::chunks::cut(
            targets,
            ports,
            new.seed,
            new.rate,
            engine,
            self.scan.subnet_prefix,
        );
        let within = (cluster.lease.as_secs() as i64).max(1)
            * i64::from(crate::fleet::worker::LIVE_HEARTBEATS);
        let appliances = self.store.live_appliances(within).await?;
        let lost = crate::fleet::chunks::unreachable(&chunks, &appliances);
        if let Some(&first) = lost.first() {
            let names: Vec<&str> = appliances.iter().map(|a| a.name.as_str()).collect();
            return Err(ApiError::BadRequest(format!(
                "no appliance sharing this store can reach {} ({} of {} subnets unreachable;                  live appliances: {}): add the network to an appliance's [cluster] reach, or                  start one that reaches it",
                crate::fleet::chunks::describe(first),
                lost.len(),
                chunks.len(),
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            )));
        }
        let scan_id = self.persister.send(CreateScan(new)).await.map_err(mailbox)??;
        self.store.create_chunks(scan_id, &chunks).await?;
        self.bus.publish([sonde_web::api::EventPayload::ScanStatus {
            scan_id,
            status: ScanStatus::Running,
            error: None,
        }]);
        tracing::info!(scan_id, chunks = chunks.len(), "Scan shared out as chunks.");
        Ok(ScanCreated { id: scan_id, status: ScanStatus::Queued })
    }

    /// Wakes the schedule runner, so that a changed schedule is looked at at once.
    pub fn schedule_wake(&self) -> Arc<Notify> {
        self.schedule_wake.clone()
    }

    /// Arms first-start setup with `token` (see [`crate::commands::serve`]).
    pub fn arm_setup(&self, token: String) {
        *self.setup_token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token);
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DiskFull => ApiError::Unavailable(e.to_string()),
            StoreError::Invalid(message) => ApiError::BadRequest(message),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::NotFound(message) => ApiError::NotFound(message),
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

    async fn session(&self, id: &str) -> Result<Option<Caller>, ApiError> {
        Ok(self.store.session(id).await?)
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserView>, ApiError> {
        Ok(self.store.verify_password(username, password).await?)
    }

    async fn open_session(&self, user_id: i64) -> Result<NewSession, ApiError> {
        Ok(self.store.open_session(user_id).await?)
    }

    async fn close_session(&self, id: &str) -> Result<(), ApiError> {
        Ok(self.store.close_session(id).await?)
    }

    async fn setup(
        &self,
        token: &str,
        username: &str,
        password: &str,
    ) -> Result<UserView, ApiError> {
        let armed = self
            .setup_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| ApiError::Forbidden("setup is over: an admin exists; log in".into()))?;
        // Compared as hashes so that the time taken says nothing about the token.
        if Sha256::digest(armed.as_bytes()) != Sha256::digest(token.as_bytes()) {
            return Err(ApiError::Forbidden(
                "wrong setup token; use the link from the appliance's log".into(),
            ));
        }
        // `sonde user add` may have run meanwhile.
        if self.store.user_count().await? > 0 {
            return Err(ApiError::Forbidden("setup is over: an admin exists; log in".into()));
        }
        let user = self.store.add_user(username, Role::Admin, password).await?;
        self.setup_token.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        tracing::info!(user = %user.name, "The first admin was created through the setup link.");
        Ok(user)
    }

    async fn users(&self) -> Result<Vec<UserView>, ApiError> {
        Ok(self.store.users().await?)
    }

    async fn create_user(&self, user: NewUser) -> Result<UserView, ApiError> {
        Ok(self.store.add_user(&user.name, user.role, &user.password).await?)
    }

    async fn update_user(&self, id: i64, patch: UserPatch) -> Result<UserView, ApiError> {
        if let Some(password) = &patch.password {
            self.store.set_password(id, password).await?;
        }
        if let Some(role) = patch.role {
            return Ok(self.store.set_role(id, role).await?);
        }
        let users = self.store.users().await?;
        users
            .into_iter()
            .find(|u| u.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("no user {id}")))
    }

    async fn delete_user(&self, id: i64) -> Result<(), ApiError> {
        Ok(self.store.delete_user(id).await?)
    }

    async fn tokens(&self, user_id: i64) -> Result<Vec<TokenView>, ApiError> {
        Ok(self.store.tokens(user_id).await?)
    }

    async fn create_token(&self, user_id: i64, name: &str) -> Result<TokenCreated, ApiError> {
        Ok(self.store.create_token(user_id, name).await?)
    }

    async fn revoke_token(&self, owner: Option<i64>, id: i64) -> Result<(), ApiError> {
        Ok(self.store.revoke_token(owner, id).await?)
    }

    async fn record(&self, record: AuditRecord) -> Result<(), ApiError> {
        Ok(self.store.record_audit(&record).await?)
    }

    async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        Ok(self.store.audit(query).await?)
    }

    async fn start_scan(
        &self,
        caller: &Caller,
        request: ScanRequest,
    ) -> Result<ScanCreated, ApiError> {
        let created = self.queue_scan(request, caller.token_id()).await?;
        tracing::info!(scan_id = created.id, user = %caller.user.name, "Scan queued over the API.");
        Ok(created)
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
        if self.cluster.is_some() && self.store.has_chunks(id).await? {
            // Holders elsewhere lose their leases at their next renewal and stop.
            self.store.cancel_chunks(id).await?;
            self.supervisor.do_send(CancelScan { scan_id: id });
            let counters = self.store.chunk_totals(id).await?;
            let end = FinishScan {
                scan_id: id,
                status: ScanStatus::Cancelled,
                counters,
                error: None,
                chunk: None,
            };
            self.persister.send(end).await.map_err(mailbox)?;
            tracing::info!(scan_id = id, user = %caller.user.name, "Shared scan cancelled over the API.");
            return self.scan(id).await;
        }
        match self.supervisor.send(CancelScan { scan_id: id }).await.map_err(mailbox)? {
            CancelOutcome::Cancelling => {
                tracing::info!(scan_id = id, user = %caller.user.name, "Scan cancelled over the API.");
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

    async fn machine(&self, id: i64) -> Result<MachineView, ApiError> {
        self.store.machine(id).await?.ok_or_else(|| ApiError::NotFound(format!("no machine {id}")))
    }

    async fn edit_host(
        &self,
        caller: &Caller,
        ip: Ipv4Addr,
        edit: HostEdit,
    ) -> Result<HostDetail, ApiError> {
        validate_edit(&edit)?;
        if !self.store.edit_host(ip, &edit).await? {
            return Err(ApiError::NotFound(format!("no host {ip}")));
        }
        tracing::info!(%ip, user = %caller.user.name, "Host edited over the API.");
        self.host(ip).await
    }

    async fn changes(&self, id: i64, against: Option<i64>) -> Result<ScanChanges, ApiError> {
        self.scan(id).await?;
        if let Some(other) = against {
            self.store
                .scan(other)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no scan {other} to compare with")))?;
        }
        Ok(self.store.changes(id, against).await?)
    }

    async fn export(&self, id: i64, format: ExportFormat) -> Result<Vec<u8>, ApiError> {
        let (export, times) = self
            .store
            .scan_export(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))?;
        // Rendering a large scan is CPU work: keep it off the I/O workers.
        actix_web::web::block(move || crate::export::render(format, &export, times))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    async fn export_hosts(&self, query: HostExportQuery) -> Result<Vec<u8>, ApiError> {
        let filter = HostFilter {
            range: query.subnet.as_deref().map(parse_subnet).transpose()?,
            port: query.port,
            service: query.service.clone(),
            product: query.product.clone(),
            text: query.q.clone(),
        };
        let export = crate::export::query_export(&self.store, &filter, query.filter()).await?;
        let format = query.format;
        // Rendering many hosts is CPU work: keep it off the I/O workers.
        actix_web::web::block(move || {
            let times = crate::export::query_times();
            crate::export::render_query(format, &export, times)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
    }

    async fn docker(&self) -> Result<DockerView, ApiError> {
        Ok(self.store.docker_view().await?)
    }

    async fn refresh_docker(&self, caller: &Caller) -> Result<DockerView, ApiError> {
        let Some(docker) = &self.docker else {
            return Err(ApiError::Conflict(
                "no Docker endpoint is configured: add `endpoints` under [docker] in the \
                 configuration file and restart"
                    .into(),
            ));
        };
        if !docker.refresh().await {
            return Err(ApiError::Internal("the Docker poller has stopped".into()));
        }
        tracing::info!(user = %caller.user.name, "Docker endpoints read over the API.");
        self.docker().await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleView>, ApiError> {
        Ok(self.store.schedules().await?.iter().map(spec::view).collect())
    }

    async fn create_schedule(
        &self,
        caller: &Caller,
        request: ScheduleRequest,
    ) -> Result<ScheduleView, ApiError> {
        let row = spec::from_request(request);
        let row = checked(row).await?;
        let id = self.store.insert_schedule(&row).await?;
        tracing::info!(schedule_id = id, user = %caller.user.name, "Schedule created over the API.");
        self.schedule_wake.notify_one();
        self.schedule(id).await
    }

    async fn update_schedule(
        &self,
        caller: &Caller,
        id: i64,
        patch: SchedulePatch,
    ) -> Result<ScheduleView, ApiError> {
        let row = self
            .store
            .schedule(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no schedule {id}")))?;
        let row = checked(spec::apply(row, patch)).await?;
        if !self.store.update_schedule(&row).await? {
            return Err(ApiError::NotFound(format!("no schedule {id}")));
        }
        tracing::info!(schedule_id = id, user = %caller.user.name, "Schedule changed over the API.");
        self.schedule_wake.notify_one();
        self.schedule(id).await
    }

    async fn delete_schedule(&self, caller: &Caller, id: i64) -> Result<(), ApiError> {
        if !self.store.delete_schedule(id).await? {
            return Err(ApiError::NotFound(format!("no schedule {id}")));
        }
        tracing::info!(schedule_id = id, user = %caller.user.name, "Schedule deleted over the API.");
        Ok(())
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

    async fn appliances(&self) -> Result<Vec<ApplianceView>, ApiError> {
        let Some(cluster) =
            self.cluster.as_ref().filter(|_| self.store.backend() == StoreBackend::Postgres)
        else {
            // One appliance, alive since it answers, never leasing (its scans are not cut).
            return Ok(self
                .local
                .iter()
                .map(|(record, started_at)| ApplianceView {
                    name: record.name.clone(),
                    reach: record.reach.clone(),
                    exclusive: record.exclusive.clone(),
                    raw_sockets: record.raw_sockets,
                    io_uring: record.io_uring,
                    version: record.version.clone(),
                    started_at: started_at.clone(),
                    heartbeat_at: store_now(),
                    alive: true,
                    leased_chunks: 0,
                })
                .collect());
        };
        let within = (cluster.lease.as_secs() as i64).max(1)
            * i64::from(crate::fleet::worker::LIVE_HEARTBEATS);
        let list = self.store.appliances(within).await?;
        Ok(list
            .into_iter()
            .map(|a| ApplianceView {
                name: a.record.name,
                reach: a.record.reach,
                exclusive: a.record.exclusive,
                raw_sockets: a.record.raw_sockets,
                io_uring: a.record.io_uring,
                version: a.record.version,
                started_at: a.started_at,
                heartbeat_at: a.record.heartbeat_at,
                alive: a.alive,
                leased_chunks: u64::try_from(a.leased_chunks).unwrap_or(0),
            })
            .collect())
    }

    async fn health(&self) -> Result<Health, ApiError> {
        self.store.ping().await?;
        Ok(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
    }

    async fn settings(&self) -> Result<Settings, ApiError> {
        let stored = self.store.settings().await?;
        Ok(Settings {
            exclude: stored.exclude,
            default_rate: stored.default_rate.unwrap_or(self.scan.rate),
            default_rate_from_config: stored.default_rate.is_none(),
            rate_cap: stored.rate_cap,
            signature_dirs: self.signature_dirs.iter().map(|d| d.display().to_string()).collect(),
        })
    }

    async fn update_settings(&self, update: SettingsUpdate) -> Result<Settings, ApiError> {
        let row = validate_settings(update)?;
        let specs = row.exclude.clone();
        if !specs.is_empty() {
            // Host names resolve with the system resolver, which blocks.
            actix_web::web::block(move || TargetSet::parse(&specs))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(|e| ApiError::BadRequest(format!("exclude list: {e}")))?;
        }
        self.store.put_settings(&row).await?;
        tracing::info!(
            exclude = row.exclude.len(),
            default_rate = ?row.default_rate,
            rate_cap = ?row.rate_cap,
            "Settings changed over the API; new scans use them."
        );
        self.settings().await
    }

    fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        self.bus.subscribe(last_event_id)
    }
}

impl ApplianceBackend {
    async fn schedule(&self, id: i64) -> Result<ScheduleView, ApiError> {
        let row = self.store.schedule(id).await?;
        row.map(|r| spec::view(&r)).ok_or_else(|| ApiError::NotFound(format!("no schedule {id}")))
    }
}

/// `row` if it is valid; hostname targets resolve, so the check runs off the workers.
async fn checked(row: ScheduleRow) -> Result<ScheduleRow, ApiError> {
    actix_web::web::block(move || spec::validate(&row).map(|_| row))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Exclusions the settings may hold; CIDRs and ranges cover more in one entry.
const MAX_SETTINGS_EXCLUDES: usize = 1000;
/// Longest host name an operator may set.
const MAX_NAME: usize = 200;
/// Longest note.
const MAX_NOTE: usize = 4000;
/// Most tags on one host.
const MAX_TAGS: usize = 50;
/// Longest tag.
const MAX_TAG: usize = 64;

/// Checks settings from the API: rates above 0, the default within the cap, a bounded
/// exclude list of non-blank specs (parsed by the caller).
fn validate_settings(update: SettingsUpdate) -> Result<SettingsRow, ApiError> {
    let bad = |m: String| Err(ApiError::BadRequest(m));
    if update.default_rate == Some(0) || update.rate_cap == Some(0) {
        return bad("rates are probes per second, at least 1; use null for none".into());
    }
    if let (Some(rate), Some(cap)) = (update.default_rate, update.rate_cap)
        && rate > cap
    {
        return bad(format!("the default rate {rate} is above the rate cap {cap}"));
    }
    if update.exclude.len() > MAX_SETTINGS_EXCLUDES {
        return bad(format!(
            "{} exclusions is more than {MAX_SETTINGS_EXCLUDES}: merge them into CIDRs or ranges",
            update.exclude.len()
        ));
    }
    let exclude: Vec<String> =
        update.exclude.iter().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect();
    Ok(SettingsRow { exclude, default_rate: update.default_rate, rate_cap: update.rate_cap })
}

/// A request's port list: `22,80,8000-8100`, or `top:N` for the `N` most common ports (the
/// console's profiles).
fn parse_ports(spec: &str) -> Result<PortList, ApiError> {
    let bad = |e: sonde_scanner::PortError| ApiError::BadRequest(e.to_string());
    match spec.trim().strip_prefix("top:") {
        Some(n) => {
            let n = n.trim().parse::<usize>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "`{spec}` is not a profile: write top:N with N from 1 to {}",
                    PortList::TOP_MAX
                ))
            })?;
            PortList::top(n).map_err(bad)
        }
        None => PortList::parse(spec).map_err(bad),
    }
}

/// Operator edits are shown in the console and exports: bounded, and free of control
/// characters (line breaks and tabs are allowed in notes only).
fn validate_edit(edit: &HostEdit) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::BadRequest(m));
    let controls = |t: &str, allow_lines: bool| {
        t.chars().any(|c| c.is_control() && !(allow_lines && matches!(c, '\n' | '\t')))
    };
    if let Some(name) = &edit.name
        && (name.chars().count() > MAX_NAME || controls(name, false))
    {
        return bad(format!(
            "name must be at most {MAX_NAME} characters, without control characters"
        ));
    }
    if let Some(note) = &edit.note
        && (note.chars().count() > MAX_NOTE || controls(note, true))
    {
        return bad(format!(
            "note must be at most {MAX_NOTE} characters, without control characters"
        ));
    }
    if let Some(tags) = &edit.tags {
        if tags.len() > MAX_TAGS {
            return bad(format!("at most {MAX_TAGS} tags, not {}", tags.len()));
        }
        if let Some(tag) = tags
            .iter()
            .find(|t| t.trim().is_empty() || t.chars().count() > MAX_TAG || controls(t, false))
        {
            return bad(format!(
                "tag `{}` must be 1 to {MAX_TAG} characters, without control characters",
                tag.escape_debug()
            ));
        }
    }
    Ok(())
}

/// `10.0.0.0/24` (or a bare address) as an inclusive range. No DNS: a filter is not a target.
pub(crate) fn parse_subnet(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), ApiError> {
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
    fn host_edits_are_bounded() {
        let ok = HostEdit {
            name: Some("gw".into()),
            note: Some("line one\nline two".into()),
            tags: Some(vec!["core".into()]),
        };
        assert!(validate_edit(&ok).is_ok());
        for bad in [
            HostEdit { name: Some("a\u{1b}[31m".into()), ..HostEdit::default() },
            HostEdit { name: Some("x".repeat(MAX_NAME + 1)), ..HostEdit::default() },
            HostEdit { tags: Some(vec![" ".into()]), ..HostEdit::default() },
            HostEdit { tags: Some(vec!["t".into(); MAX_TAGS + 1]), ..HostEdit::default() },
        ] {
            assert!(matches!(validate_edit(&bad), Err(ApiError::BadRequest(_))), "{bad:?}");
        }
    }

    #[test]
    fn settings_are_validated() {
        let update = |exclude: &[&str], default_rate, rate_cap| SettingsUpdate {
            exclude: exclude.iter().map(|e| (*e).to_owned()).collect(),
            default_rate,
            rate_cap,
        };
        let ok = validate_settings(update(&[" 10.9.0.0/16 ", ""], Some(500), Some(500))).unwrap();
        assert_eq!(ok.exclude, ["10.9.0.0/16"]);
        for bad in [
            update(&[], Some(0), None),
            update(&[], None, Some(0)),
            update(&[], Some(501), Some(500)),
            update(&["10.0.0.1"; MAX_SETTINGS_EXCLUDES + 1], None, None),
        ] {
            assert!(
                matches!(validate_settings(bad.clone()), Err(ApiError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn port_profiles_name_the_most_common_ports() {
        assert_eq!(parse_ports("top:1000").unwrap().len(), 1000);
        assert_eq!(parse_ports(" top: 5 ").unwrap().len(), 5);
        assert_eq!(parse_ports("22,80").unwrap().len(), 2);
        for bad in ["top:0", "top:1001", "top:many", "0"] {
            assert!(matches!(parse_ports(bad), Err(ApiError::BadRequest(_))), "{bad}");
        }
    }

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
