//! The HTTP surface end to end, against an in-memory [`Backend`].

use std::future::poll_fn;
use std::net::{Ipv4Addr, TcpListener};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::api::{
    ApplianceView, AuditEntry, AuditQuery, DockerView, ErrorBody, ErrorDetail, Event, EventPayload,
    ExportFormat, Health, HostDetail, HostEdit, HostExportQuery, HostQuery, HostSummary,
    MachineView, NewUser, Page, Role, ScanChanges, ScanCounters, ScanCreated, ScanRequest,
    ScanStatus, ScanView, SchedulePatch, ScheduleRequest, ScheduleView, ServiceCount, Settings,
    SettingsUpdate, TokenCreated, TokenView, UserPatch, UserView,
};
use crate::server::app;
use crate::stats::{PortCount, SubnetCount};
use crate::{
    ApiError, AuditRecord, AuthMethod, Backend, Caller, LoginLimiter, NewSession, Subscription,
    server,
};

mod access;
mod openapi;

/// The admin's token.
const TOKEN: &str = "s3cret";

/// Tokens of the operator and of the viewer.
const OPERATOR_TOKEN: &str = "operator-token";
const VIEWER_TOKEN: &str = "viewer-token";

/// Every user's password in [`Fake`].
const PASSWORD: &str = "correct horse battery";

/// The token [`Fake::setup`] accepts.
const SETUP_TOKEN: &str = "setup-token";

/// A scan id for which [`Fake::scan`] fails the way a broken store would.
const BROKEN_SCAN: i64 = 500;

/// A target that [`Fake::start_scan`] turns away as if the queue were full.
const BUSY_TARGET: &str = "busy.example";

/// An in-memory appliance with an admin (1), an operator (2) and a viewer (3).
#[derive(Debug)]
struct Fake {
    users: Mutex<Vec<UserView>>,
    /// Open sessions: (session id, user id, CSRF token).
    sessions: Mutex<Vec<(String, i64, String)>>,
    /// What was written to the audit log.
    audit: Mutex<Vec<AuditRecord>>,
    scans: Mutex<Vec<ScanView>>,
    /// The last query `GET /hosts` passed on.
    host_query: Mutex<Option<HostQuery>>,
    /// The sending end of the last subscription, for tests to play the event bus.
    live: Mutex<Option<mpsc::Sender<Event>>>,
    /// The stored settings.
    settings: Mutex<SettingsUpdate>,
}

/// A response read to its end.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Default for Fake {
    fn default() -> Self {
        let user = |id, name: &str, role| UserView { id, name: name.into(), role };
        Self {
            users: Mutex::new(vec![
                user(1, "admin", Role::Admin),
                user(2, "operator", Role::Operator),
                user(3, "viewer", Role::Viewer),
            ]),
            sessions: Mutex::default(),
            audit: Mutex::default(),
            scans: Mutex::default(),
            host_query: Mutex::default(),
            live: Mutex::default(),
            settings: Mutex::new(SettingsUpdate {
                exclude: Vec::new(),
                default_rate: None,
                rate_cap: None,
            }),
        }
    }
}

impl Fake {
    fn user(&self, id: i64) -> Option<UserView> {
        self.users.lock().unwrap().iter().find(|user| user.id == id).cloned()
    }

    /// Opens a session for `user_id` as a login would, returning (session id, CSRF token).
    fn login_as(&self, user_id: i64) -> (String, String) {
        let session = (format!("session-{user_id}"), format!("csrf-{user_id}"));
        self.sessions.lock().unwrap().push((session.0.clone(), user_id, session.1.clone()));
        session
    }

    /// The actions written to the audit log, in order.
    fn audited(&self) -> Vec<(String, &'static str, Option<String>)> {
        let audit = self.audit.lock().unwrap();
        audit.iter().map(|r| (r.username.clone(), r.action, r.target.clone())).collect()
    }

    /// The events the bus still buffers.
    fn buffered_events() -> Vec<Event> {
        vec![
            status_event(1, ScanStatus::Queued),
            status_event(2, ScanStatus::Running),
            Event {
                id: 3,
                payload: EventPayload::HostFound { scan_id: 1, ip: Ipv4Addr::new(10, 0, 0, 1) },
            },
        ]
    }

    fn all_hosts() -> Vec<HostSummary> {
        (1..=5)
            .map(|last| HostSummary {
                ip: Ipv4Addr::new(10, 0, 0, last),
                open_ports: vec![22, 80],
                first_seen: "2025-01-01T00:00:00Z".into(),
                last_seen: "2025-01-02T00:00:00Z".into(),
                mac: None,
                vendor: None,
                machine_id: Some(i64::from(last)),
                also_seen_at: Vec::new(),
            })
            .collect()
    }

    fn find(&self, id: i64) -> Result<ScanView, ApiError> {
        let scans = self.scans.lock().unwrap();
        scans
            .iter()
            .find(|scan| scan.id == id)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))
    }
}

impl Backend for Fake {
    async fn authenticate(&self, token: &str) -> Result<Option<Caller>, ApiError> {
        let id = match token {
            TOKEN => 1,
            OPERATOR_TOKEN => 2,
            VIEWER_TOKEN => 3,
            _ => return Ok(None),
        };
        Ok(self.user(id).map(|user| Caller { user, auth: AuthMethod::Token { id } }))
    }

    async fn session(&self, id: &str) -> Result<Option<Caller>, ApiError> {
        let found = self.sessions.lock().unwrap().iter().find(|s| s.0 == id).cloned();
        Ok(found.and_then(|(_, user_id, csrf_token)| {
            let user = self.user(user_id)?;
            Some(Caller { user, auth: AuthMethod::Session { csrf_token } })
        }))
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserView>, ApiError> {
        let users = self.users.lock().unwrap();
        Ok(users.iter().find(|u| u.name == username && password == PASSWORD).cloned())
    }

    async fn open_session(&self, user_id: i64) -> Result<NewSession, ApiError> {
        let (id, csrf_token) = self.login_as(user_id);
        Ok(NewSession { id, csrf_token })
    }

    async fn close_session(&self, id: &str) -> Result<(), ApiError> {
        self.sessions.lock().unwrap().retain(|s| s.0 != id);
        Ok(())
    }

    async fn setup(&self, token: &str, username: &str, _: &str) -> Result<UserView, ApiError> {
        if token != SETUP_TOKEN {
            return Err(ApiError::Forbidden("wrong setup token".into()));
        }
        let mut users = self.users.lock().unwrap();
        let user = UserView { id: 4, name: username.into(), role: Role::Admin };
        users.push(user.clone());
        Ok(user)
    }

    async fn users(&self) -> Result<Vec<UserView>, ApiError> {
        Ok(self.users.lock().unwrap().clone())
    }

    async fn create_user(&self, user: NewUser) -> Result<UserView, ApiError> {
        let mut users = self.users.lock().unwrap();
        if users.iter().any(|u| u.name == user.name) {
            return Err(ApiError::Conflict(format!("user `{}` exists", user.name)));
        }
        let created = UserView {
            id: i64::try_from(users.len()).unwrap() + 1,
            name: user.name,
            role: user.role,
        };
        users.push(created.clone());
        Ok(created)
    }

    async fn update_user(&self, id: i64, patch: UserPatch) -> Result<UserView, ApiError> {
        let mut users = self.users.lock().unwrap();
        let user = users
            .iter_mut()
            .find(|u| u.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("no user {id}")))?;
        if let Some(role) = patch.role {
            user.role = role;
        }
        Ok(user.clone())
    }

    async fn delete_user(&self, id: i64) -> Result<(), ApiError> {
        if id == 1 {
            return Err(ApiError::Conflict("this would leave no admin".into()));
        }
        let mut users = self.users.lock().unwrap();
        let before = users.len();
        users.retain(|u| u.id != id);
        if users.len() == before {
            return Err(ApiError::NotFound(format!("no user {id}")));
        }
        Ok(())
    }

    async fn tokens(&self, user_id: i64) -> Result<Vec<TokenView>, ApiError> {
        Ok(vec![TokenView {
            id: user_id,
            name: "ci".into(),
            user_id,
            created_at: "2025-01-01T00:00:00Z".into(),
            last_used_at: None,
        }])
    }

    async fn create_token(&self, _: i64, name: &str) -> Result<TokenCreated, ApiError> {
        Ok(TokenCreated { id: 9, name: name.into(), token: "sonde_new".into() })
    }

    async fn revoke_token(&self, owner: Option<i64>, id: i64) -> Result<(), ApiError> {
        // Token n belongs to user n.
        match owner {
            Some(owner) if owner != id => Err(ApiError::NotFound(format!("no token {id}"))),
            _ => Ok(()),
        }
    }

    async fn record(&self, record: AuditRecord) -> Result<(), ApiError> {
        self.audit.lock().unwrap().push(record);
        Ok(())
    }

    async fn audit(&self, _: AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        let audit = self.audit.lock().unwrap();
        Ok(audit
            .iter()
            .enumerate()
            .rev()
            .map(|(i, r)| AuditEntry {
                id: i64::try_from(i).unwrap() + 1,
                at: "2025-01-01T00:00:00Z".into(),
                user_id: r.user_id,
                username: r.username.clone(),
                action: r.action.into(),
                target: r.target.clone(),
                source: r.source.clone(),
            })
            .collect())
    }

    async fn start_scan(&self, _: &Caller, request: ScanRequest) -> Result<ScanCreated, ApiError> {
        if request.targets.is_empty() {
            return Err(ApiError::BadRequest("no targets".into()));
        }
        if request.targets.iter().any(|target| target == BUSY_TARGET) {
            return Err(ApiError::Unavailable("the scan queue is full".into()));
        }
        let mut scans = self.scans.lock().unwrap();
        let id = i64::try_from(scans.len()).unwrap() + 1;
        scans.push(ScanView {
            id,
            status: ScanStatus::Queued,
            targets: request.targets,
            ports: request.ports.unwrap_or_else(|| "1-100".into()),
            udp_ports: request.udp_ports.unwrap_or_default(),
            rate: request.rate.unwrap_or(1000),
            seed: request.seed.unwrap_or(42),
            counters: ScanCounters::default(),
            error: None,
            created_at: "2025-01-01T00:00:00Z".into(),
            started_at: None,
            finished_at: None,
        });
        Ok(ScanCreated { id, status: ScanStatus::Queued })
    }

    async fn scans(&self) -> Result<Vec<ScanView>, ApiError> {
        Ok(self.scans.lock().unwrap().iter().rev().cloned().collect())
    }

    async fn scan(&self, id: i64) -> Result<ScanView, ApiError> {
        if id == BROKEN_SCAN {
            return Err(ApiError::Internal(
                "sqlite: disk I/O error in /var/lib/sonde/sonde.db".into(),
            ));
        }
        self.find(id)
    }

    async fn cancel_scan(&self, _: &Caller, id: i64) -> Result<ScanView, ApiError> {
        let mut scans = self.scans.lock().unwrap();
        let scan = scans
            .iter_mut()
            .find(|scan| scan.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))?;
        if scan.status.is_final() {
            return Err(ApiError::Conflict(format!(
                "scan {id} is already {}",
                scan.status.as_str()
            )));
        }
        scan.status = ScanStatus::Cancelled;
        Ok(scan.clone())
    }

    async fn hosts(&self, query: HostQuery) -> Result<Page<HostSummary>, ApiError> {
        let hosts = Self::all_hosts();
        let offset = query.offset.unwrap_or(0);
        let limit = query.limit.unwrap_or(100);
        *self.host_query.lock().unwrap() = Some(query);
        Ok(Page {
            total: hosts.len() as u64,
            offset,
            limit,
            items: hosts
                .into_iter()
                .skip(usize::try_from(offset).unwrap())
                .take(usize::try_from(limit).unwrap())
                .collect(),
        })
    }

    async fn host(&self, ip: Ipv4Addr) -> Result<HostDetail, ApiError> {
        if ip != Ipv4Addr::new(10, 0, 0, 1) {
            return Err(ApiError::NotFound(format!("no host {ip}")));
        }
        Ok(HostDetail {
            ip,
            first_seen: "2025-01-01T00:00:00Z".into(),
            last_seen: "2025-01-02T00:00:00Z".into(),
            mac: Some("00:00:0c:01:02:03".into()),
            vendor: Some("Cisco Systems, Inc".into()),
            ports: Vec::new(),
            hostnames: Vec::new(),
            name: None,
            note: None,
            tags: Vec::new(),
            history: Vec::new(),
            machine_id: Some(1),
            also_seen_at: Vec::new(),
            previously_at: vec![Ipv4Addr::new(10, 0, 0, 9)],
        })
    }

    async fn machine(&self, id: i64) -> Result<MachineView, ApiError> {
        if id != 1 {
            return Err(ApiError::NotFound(format!("no machine {id}")));
        }
        Ok(MachineView {
            id,
            mac: Some("00:00:0c:01:02:03".into()),
            vendor: Some("Cisco Systems, Inc".into()),
            first_seen: "2025-01-01T00:00:00Z".into(),
            last_seen: "2025-01-02T00:00:00Z".into(),
            addresses: vec![Ipv4Addr::new(10, 0, 0, 1)],
            previously_at: vec![Ipv4Addr::new(10, 0, 0, 9)],
        })
    }

    async fn edit_host(
        &self,
        _: &Caller,
        ip: Ipv4Addr,
        edit: HostEdit,
    ) -> Result<HostDetail, ApiError> {
        let mut host = self.host(ip).await?;
        host.name = edit.name;
        host.note = edit.note;
        host.tags = edit.tags.unwrap_or_default();
        Ok(host)
    }

    async fn changes(&self, id: i64, against: Option<i64>) -> Result<ScanChanges, ApiError> {
        self.find(id)?;
        Ok(ScanChanges {
            scan_id: id,
            against,
            hosts_appeared: vec![Ipv4Addr::new(10, 0, 0, 2)],
            ..ScanChanges::default()
        })
    }

    async fn export(&self, id: i64, format: ExportFormat) -> Result<Vec<u8>, ApiError> {
        self.find(id)?;
        Ok(format!("{format:?} of {id}").into_bytes())
    }

    async fn schedules(&self) -> Result<Vec<ScheduleView>, ApiError> {
        Ok(Vec::new())
    }

    async fn export_hosts(&self, query: HostExportQuery) -> Result<Vec<u8>, ApiError> {
        Ok(format!("{:?} of {:?}", query.format, query.filter()).into_bytes())
    }

    async fn docker(&self) -> Result<DockerView, ApiError> {
        Ok(DockerView::default())
    }

    async fn refresh_docker(&self, _: &Caller) -> Result<DockerView, ApiError> {
        Err(ApiError::Conflict("no Docker endpoint is configured".into()))
    }

    async fn create_schedule(
        &self,
        _: &Caller,
        request: ScheduleRequest,
    ) -> Result<ScheduleView, ApiError> {
        Ok(ScheduleView {
            id: 1,
            name: request.name,
            targets: request.targets,
            exclude: request.exclude,
            ports: request.ports,
            udp_ports: request.udp_ports,
            rate: request.rate,
            cron: request.cron,
            every_hours: request.every_hours,
            timezone: request.timezone.unwrap_or_else(|| "UTC".into()),
            enabled: request.enabled.unwrap_or(true),
            created_at: "2025-01-01T00:00:00Z".into(),
            last_run_at: None,
            last_scan_id: None,
            next_run_at: None,
        })
    }

    async fn update_schedule(
        &self,
        _: &Caller,
        id: i64,
        _: SchedulePatch,
    ) -> Result<ScheduleView, ApiError> {
        Err(ApiError::NotFound(format!("no schedule {id}")))
    }

    async fn delete_schedule(&self, _: &Caller, id: i64) -> Result<(), ApiError> {
        Err(ApiError::NotFound(format!("no schedule {id}")))
    }

    async fn services(&self) -> Result<Vec<ServiceCount>, ApiError> {
        Ok(vec![ServiceCount { service: "ssh".into(), ports: 3, hosts: 2 }])
    }

    async fn port_counts(&self, limit: u32) -> Result<Vec<PortCount>, ApiError> {
        let rows = vec![PortCount { port: 22, hosts: 2 }, PortCount { port: 80, hosts: 1 }];
        Ok(rows.into_iter().take(usize::try_from(limit).unwrap()).collect())
    }

    async fn subnet_counts(&self) -> Result<Vec<SubnetCount>, ApiError> {
        Ok(vec![SubnetCount { subnet: "10.0.0.0/24".into(), hosts: 5, ports: 7 }])
    }

    async fn appliances(&self) -> Result<Vec<ApplianceView>, ApiError> {
        Ok(vec![ApplianceView {
            name: "fake".into(),
            reach: vec!["0.0.0.0/0".into()],
            exclusive: vec![],
            raw_sockets: false,
            io_uring: false,
            version: "0.1.0".into(),
            started_at: "2026-11-26T09:00:00.000Z".into(),
            heartbeat_at: "2026-11-26T10:00:00.000Z".into(),
            alive: true,
            leased_chunks: 0,
        }])
    }

    async fn health(&self) -> Result<Health, ApiError> {
        Ok(Health { status: "ok".into(), version: "0.1.0".into() })
    }

    async fn settings(&self) -> Result<Settings, ApiError> {
        let stored = self.settings.lock().unwrap().clone();
        Ok(Settings {
            exclude: stored.exclude,
            default_rate: stored.default_rate.unwrap_or(1000),
            default_rate_from_config: stored.default_rate.is_none(),
            rate_cap: stored.rate_cap,
            signature_dirs: vec!["/etc/sonde/signatures".into()],
        })
    }

    async fn update_settings(&self, update: SettingsUpdate) -> Result<Settings, ApiError> {
        *self.settings.lock().unwrap() = update;
        self.settings().await
    }

    fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let (sender, live) = mpsc::channel(8);
        *self.live.lock().unwrap() = Some(sender);
        let replay = Self::buffered_events()
            .into_iter()
            .filter(|event| last_event_id.is_none_or(|last| event.id > last))
            .collect();
        Subscription { replay, live }
    }
}

impl Reply {
    fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!("{error}: {}", String::from_utf8_lossy(&self.body));
        })
    }

    /// The error of an error response, checking that its shape is the API's.
    fn error(&self) -> ErrorDetail {
        assert_eq!(self.header("content-type"), Some("application/json"));
        self.json::<ErrorBody>().error
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

fn status_event(id: u64, status: ScanStatus) -> Event {
    Event { id, payload: EventPayload::ScanStatus { scan_id: 1, status, error: None } }
}

/// A fresh login limiter.
fn limiter() -> web::Data<LoginLimiter> {
    web::Data::new(LoginLimiter::new())
}

/// `request` with the right token.
fn authed(request: TestRequest) -> TestRequest {
    request.insert_header((AUTHORIZATION, format!("Bearer {TOKEN}")))
}

/// Sends `request` to `service` and reads the whole response.
async fn call<S, R, B>(service: &S, request: R) -> Reply
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(service, request).await;
    let (status, headers) = (response.status(), response.headers().clone());
    Reply { status, headers, body: test::read_body(response).await }
}

/// The next chunk of a streamed body, `None` at its end; fails if none comes in 5 s.
async fn next_chunk<B: MessageBody>(body: &mut Pin<&mut B>) -> Option<Bytes> {
    let next = poll_fn(|cx| body.as_mut().poll_next(cx));
    match tokio::time::timeout(Duration::from_secs(5), next).await {
        Err(_) => panic!("the stream sent nothing for 5 s"),
        Ok(None) => None,
        Ok(Some(Ok(chunk))) => Some(chunk),
        Ok(Some(Err(_))) => panic!("the stream failed"),
    }
}

/// Reads chunks until `expected.len()` bytes came, then compares them with `expected`.
async fn expect_text<B: MessageBody>(body: &mut Pin<&mut B>, expected: &str) {
    let mut received = Vec::new();
    while received.len() < expected.len() {
        let chunk = next_chunk(body).await.expect("the stream is open");
        received.extend_from_slice(&chunk);
    }
    assert_eq!(String::from_utf8(received).unwrap(), expected);
}

#[actix_rt::test]
async fn health_is_open() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let reply = call(&service, TestRequest::get().uri("/api/v1/health").to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json::<Health>().status, "ok");
}

#[actix_rt::test]
async fn the_right_token_is_let_in() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let reply = call(&service, authed(TestRequest::get().uri("/api/v1/scans")).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json::<Vec<ScanView>>(), []);
}

#[actix_rt::test]
async fn a_started_scan_is_created_queued_and_listed() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let request = authed(TestRequest::post().uri("/api/v1/scans"))
        .set_json(serde_json::json!({ "targets": ["10.0.0.0/24"], "ports": "22,80" }));
    let reply = call(&service, request.to_request()).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header("location"), Some("/api/v1/scans/1"));
    assert_eq!(
        reply.json::<serde_json::Value>(),
        serde_json::json!({ "id": 1, "status": "queued" })
    );

    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/scans/1")).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let scan: ScanView = reply.json();
    assert_eq!((scan.targets, scan.ports), (vec!["10.0.0.0/24".to_owned()], "22,80".to_owned()));

    let reply = call(&service, authed(TestRequest::get().uri("/api/v1/scans")).to_request()).await;
    assert_eq!(reply.json::<Vec<ScanView>>().len(), 1);
}

#[actix_rt::test]
async fn malformed_scan_requests_get_the_error_shape() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let bodies: [(&str, &[u8], &str); 5] = [
        ("unknown field", br#"{"targets":["10.0.0.1"],"speed":9}"#, "unknown field `speed`"),
        ("wrong type", br#"{"targets":"10.0.0.1"}"#, "invalid type"),
        ("missing field", br#"{}"#, "missing field `targets`"),
        ("not JSON", b"<scan/>", "expected value"),
        ("too large", &[b' '; 65 * 1024], "larger than allowed"),
    ];
    for (case, body, message) in bodies {
        let request = authed(TestRequest::post().uri("/api/v1/scans"))
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_vec());
        let reply = call(&service, request.to_request()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{case}");
        let error = reply.error();
        assert_eq!(error.code, "bad_request", "{case}");
        assert!(error.message.contains(message), "{case}: {}", error.message);
    }

    let request = authed(TestRequest::post().uri("/api/v1/scans"))
        .insert_header(("content-type", "text/plain"))
        .set_payload(r#"{"targets":["10.0.0.1"]}"#);
    let reply = call(&service, request.to_request()).await;
    assert_eq!(
        (reply.status, reply.error().code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
}

#[actix_rt::test]
async fn backend_errors_keep_their_status_and_shape() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let start = |targets: serde_json::Value| {
        authed(TestRequest::post().uri("/api/v1/scans"))
            .set_json(serde_json::json!({ "targets": targets }))
            .to_request()
    };
    let table = [
        (start(serde_json::json!([])), StatusCode::BAD_REQUEST, "bad_request", "no targets"),
        (
            start(serde_json::json!([BUSY_TARGET])),
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the scan queue is full",
        ),
        (
            authed(TestRequest::get().uri("/api/v1/scans/7")).to_request(),
            StatusCode::NOT_FOUND,
            "not_found",
            "no scan 7",
        ),
        (
            authed(TestRequest::get().uri(&format!("/api/v1/scans/{BROKEN_SCAN}"))).to_request(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the appliance log has the details",
        ),
        (
            authed(TestRequest::get().uri("/api/v1/scans/seven")).to_request(),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "seven",
        ),
    ];
    for (request, status, code, message) in table {
        let reply = call(&service, request).await;
        assert_eq!(reply.status, status, "{code}");
        let error = reply.error();
        assert_eq!(error.code, code);
        assert!(error.message.contains(message), "{code}: {}", error.message);
    }
}

#[actix_rt::test]
async fn cancel_stops_a_scan_once() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let request = authed(TestRequest::post().uri("/api/v1/scans"))
        .set_json(serde_json::json!({ "targets": ["10.0.0.1"] }));
    assert_eq!(call(&service, request.to_request()).await.status, StatusCode::CREATED);

    let cancel = || authed(TestRequest::post().uri("/api/v1/scans/1/cancel")).to_request();
    let reply = call(&service, cancel()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json::<ScanView>().status, ScanStatus::Cancelled);

    let reply = call(&service, cancel()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error().code, "conflict");

    let reply =
        call(&service, authed(TestRequest::post().uri("/api/v1/scans/9/cancel")).to_request())
            .await;
    assert_eq!((reply.status, reply.error().code.as_str()), (StatusCode::NOT_FOUND, "not_found"));
}

#[actix_rt::test]
async fn a_query_export_is_not_taken_for_a_host_address() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake, limiter())).await;
    let uri = "/api/v1/hosts/export?format=csv&subnet=10.0.0.0/24&port=22&q=ssh";
    let reply = call(&service, authed(TestRequest::get().uri(uri)).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    assert!(text.starts_with("Csv of HostExportFilter"), "{text}");
    assert!(text.contains("port: Some(22)") && text.contains("10.0.0.0/24"), "{text}");
    let bad = "/api/v1/hosts/export?format=pdf";
    let reply = call(&service, authed(TestRequest::get().uri(bad)).to_request()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
#[actix_rt::test]
async fn hosts_are_paged_and_filters_passed_on() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let uri = "/api/v1/hosts?subnet=10.0.0.0/24&port=22&service=ssh&limit=2&offset=1";
    let reply = call(&service, authed(TestRequest::get().uri(uri)).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let page: Page<HostSummary> = reply.json();
    assert_eq!((page.total, page.offset, page.limit), (5, 1, 2));
    let ips: Vec<Ipv4Addr> = page.items.iter().map(|host| host.ip).collect();
    assert_eq!(ips, [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)]);
    assert_eq!(
        fake.host_query.lock().unwrap().take(),
        Some(HostQuery {
            subnet: Some("10.0.0.0/24".into()),
            port: Some(22),
            service: Some("ssh".into()),
            limit: Some(2),
            offset: Some(1),
            ..HostQuery::default()
        })
    );

    for limit in [1, 1000] {
        let uri = format!("/api/v1/hosts?limit={limit}");
        let reply = call(&service, authed(TestRequest::get().uri(&uri)).to_request()).await;
        assert_eq!(reply.status, StatusCode::OK, "limit {limit}");
    }
}

#[actix_rt::test]
async fn bad_host_queries_are_rejected() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let queries = [
        ("limit=0", "limit must be between 1 and 1000, not 0"),
        ("limit=1001", "limit must be between 1 and 1000, not 1001"),
        ("limit=-1", "invalid digit"),
        ("port=ssh", "invalid digit"),
        ("port=65536", "number too large"),
        ("colour=red", "unknown field `colour`"),
    ];
    for (query, message) in queries {
        let uri = format!("/api/v1/hosts?{query}");
        let reply = call(&service, authed(TestRequest::get().uri(&uri)).to_request()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let error = reply.error();
        assert_eq!(error.code, "bad_request", "{query}");
        assert!(error.message.contains(message), "{query}: {}", error.message);
    }
}

#[actix_rt::test]
async fn a_host_is_looked_up_by_ipv4_address() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let get =
        |ip: &str| authed(TestRequest::get().uri(&format!("/api/v1/hosts/{ip}"))).to_request();

    let reply = call(&service, get("10.0.0.1")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let host = reply.json::<HostDetail>();
    assert_eq!(host.ip, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(
        (host.mac.as_deref(), host.vendor.as_deref()),
        (Some("00:00:0c:01:02:03"), Some("Cisco Systems, Inc"))
    );

    let reply = call(&service, get("10.0.0.9")).await;
    assert_eq!((reply.status, reply.error().code.as_str()), (StatusCode::NOT_FOUND, "not_found"));

    for bad in ["10.0.0", "10.0.0.256", "example.com", "%3Cscript%3E", "::1"] {
        let reply = call(&service, get(bad)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.error().message.contains("is not an IPv4 address"), "{bad}");
    }
}

#[actix_rt::test]
async fn a_machine_is_looked_up_by_id_with_its_addresses() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let get = |id: &str| authed(TestRequest::get().uri(&format!("/api/v1/machines/{id}")));

    let reply = call(&service, get("1").to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let machine = reply.json::<MachineView>();
    assert_eq!(machine.addresses, [Ipv4Addr::new(10, 0, 0, 1)]);
    assert_eq!(machine.previously_at, [Ipv4Addr::new(10, 0, 0, 9)]);

    let reply = call(&service, get("2").to_request()).await;
    assert_eq!((reply.status, reply.error().code.as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let reply = call(&service, get("nope").to_request()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[actix_rt::test]
async fn host_edits_changes_and_exports_are_routed() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let request = authed(TestRequest::post().uri("/api/v1/scans"))
        .set_json(serde_json::json!({ "targets": ["10.0.0.0/24"] }));
    assert_eq!(call(&service, request.to_request()).await.status, StatusCode::CREATED);

    let edit = authed(TestRequest::patch().uri("/api/v1/hosts/10.0.0.1"))
        .set_json(serde_json::json!({ "name": "gw", "tags": ["core"] }));
    let reply = call(&service, edit.to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let host: HostDetail = reply.json();
    assert_eq!((host.name.as_deref(), host.tags), (Some("gw"), vec!["core".to_owned()]));
    let bogus = authed(TestRequest::patch().uri("/api/v1/hosts/10.0.0.1"))
        .set_json(serde_json::json!({ "colour": "red" }));
    assert_eq!(call(&service, bogus.to_request()).await.status, StatusCode::BAD_REQUEST);

    let get = |uri: &str| authed(TestRequest::get().uri(uri)).to_request();
    let reply = call(&service, get("/api/v1/scans/1/changes?against=7")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let changes: ScanChanges = reply.json();
    assert_eq!((changes.scan_id, changes.against), (1, Some(7)));
    assert_eq!(call(&service, get("/api/v1/scans/2/changes")).await.status, StatusCode::NOT_FOUND);
    let reply = call(&service, get("/api/v1/scans/1/changes?against=x")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    let reply = call(&service, get("/api/v1/scans/1/export?format=nmap-xml")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/xml"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"sonde-scan-1.xml\"")
    );
    assert_eq!(&reply.body[..], b"NmapXml of 1");
    let reply = call(&service, get("/api/v1/scans/1/export?format=pdf")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.error().message.contains("pdf"), "{}", reply.error().message);
}

#[actix_rt::test]
async fn schedules_are_routed() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let create = authed(TestRequest::post().uri("/api/v1/schedules")).set_json(
        serde_json::json!({ "name": "nightly", "targets": ["10.0.0.0/24"], "cron": "0 3 * * *" }),
    );
    let reply = call(&service, create.to_request()).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header("location"), Some("/api/v1/schedules/1"));
    assert_eq!(reply.json::<ScheduleView>().cron.as_deref(), Some("0 3 * * *"));
    let bad = authed(TestRequest::post().uri("/api/v1/schedules"))
        .set_json(serde_json::json!({ "name": "x", "targets": [], "every": 3 }));
    assert_eq!(call(&service, bad.to_request()).await.status, StatusCode::BAD_REQUEST);
    let delete = authed(TestRequest::delete().uri("/api/v1/schedules/9")).to_request();
    assert_eq!(call(&service, delete).await.status, StatusCode::NOT_FOUND);
    let list = authed(TestRequest::get().uri("/api/v1/schedules")).to_request();
    assert_eq!(call(&service, list).await.json::<Vec<ScheduleView>>(), []);
}

#[actix_rt::test]
async fn services_are_counted() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/services")).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json::<serde_json::Value>(),
        serde_json::json!([{ "service": "ssh", "ports": 3, "hosts": 2 }])
    );
}

#[actix_rt::test]
async fn viewers_list_the_appliances_and_strangers_do_not() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let viewer = TestRequest::get()
        .uri("/api/v1/appliances")
        .insert_header((AUTHORIZATION, format!("Bearer {VIEWER_TOKEN}")));
    let reply = call(&service, viewer.to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let list = reply.json::<Vec<ApplianceView>>();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].name.as_str(), list[0].alive, list[0].leased_chunks), ("fake", true, 0));
    let reply = call(&service, TestRequest::get().uri("/api/v1/appliances").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[actix_rt::test]
async fn unknown_api_routes_are_json_404s_even_without_a_token() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    for request in [
        TestRequest::get().uri("/api/v1/nope"),
        authed(TestRequest::get().uri("/api/v1/scans/1/nope")),
        TestRequest::get().uri("/api/v1"),
    ] {
        let reply = call(&service, request.to_request()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.error().code, "not_found");
    }
}

#[actix_rt::test]
async fn the_console_is_served_with_spa_fallback_and_cache_headers() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let mut pages = Vec::new();
    for path in ["/", "/hosts/10.0.0.1", "/setup", "/scans?x=1"] {
        let reply = call(&service, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        assert_eq!(reply.header("cache-control"), Some("no-cache"), "{path}");
        pages.push(String::from_utf8(reply.body.to_vec()).unwrap());
    }
    assert!(pages.iter().all(|page| page == &pages[0]), "every app path answers index.html");
    assert!(pages[0].contains("<title>Sonde</title>"));

    // The script index.html names is served, hashed, and cached for good.
    let script = pages[0]
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("index.html loads a script from /assets/");
    let reply = call(&service, TestRequest::get().uri(script).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=31536000, immutable"));

    let reply =
        call(&service, TestRequest::get().uri("/assets/missing-0000.js").to_request()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[actix_rt::test]
async fn the_console_forbids_inline_scripts() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let reply = call(&service, TestRequest::get().uri("/").to_request()).await;
    let csp = reply.header("content-security-policy").unwrap_or_default().to_owned();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src"))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    assert_eq!(script_src, "script-src 'self'");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[actix_rt::test]
async fn stats_count_ports_and_subnets() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/stats/ports?limit=1")).to_request())
            .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json::<serde_json::Value>(), serde_json::json!([{ "port": 22, "hosts": 2 }]));
    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/stats/subnets")).to_request()).await;
    assert_eq!(
        reply.json::<serde_json::Value>(),
        serde_json::json!([{ "subnet": "10.0.0.0/24", "hosts": 5, "ports": 7 }])
    );
    for uri in
        ["/api/v1/stats/ports?limit=0", "/api/v1/stats/ports?limit=1001", "/api/v1/stats/ports?x=1"]
    {
        let reply = call(&service, authed(TestRequest::get().uri(uri)).to_request()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
    }
    for uri in ["/api/v1/stats/ports", "/api/v1/stats/subnets"] {
        let reply = call(&service, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
}

#[actix_rt::test]
async fn every_response_carries_the_security_headers() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let requests = [
        (TestRequest::get().uri("/"), "default-src 'self';"),
        (TestRequest::get().uri("/favicon.ico"), "default-src 'self';"),
        (TestRequest::get().uri("/api/v1/health"), "default-src 'none';"),
        (TestRequest::get().uri("/api/v1/scans"), "default-src 'none';"),
        (authed(TestRequest::get().uri("/api/v1/scans/7")), "default-src 'none';"),
        (TestRequest::get().uri("/api/v1/nope"), "default-src 'none';"),
        (TestRequest::delete().uri("/api/v1/health"), "default-src 'none';"),
        (TestRequest::post().uri("/"), "default-src 'self';"),
    ];
    for (request, policy) in requests {
        let reply = call(&service, request.to_request()).await;
        let status = reply.status;
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{status}");
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{status}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{status}");
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(csp.starts_with(policy), "{status}: {csp}");
    }
}

#[actix_rt::test]
async fn events_replay_after_last_event_id_then_go_live() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let request = authed(TestRequest::get().uri("/api/v1/events"))
        .insert_header(("last-event-id", "1"))
        .to_request();
    let response = test::call_service(&service, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name| response.headers().get(name).map(|v| v.to_str().unwrap());
    assert_eq!(header("content-type"), Some("text/event-stream"));
    assert_eq!(header("cache-control"), Some("no-cache"));
    let live = fake.live.lock().unwrap().take().expect("the handler subscribed");

    let mut body = pin!(response.into_body());
    expect_text(
        &mut body,
        "id: 2\nevent: scan_status\n\
         data: {\"id\":2,\"type\":\"scan_status\",\"scan_id\":1,\"status\":\"running\",\"error\":null}\n\n\
         id: 3\nevent: host_found\n\
         data: {\"id\":3,\"type\":\"host_found\",\"scan_id\":1,\"ip\":\"10.0.0.1\"}\n\n",
    )
    .await;

    live.send(status_event(4, ScanStatus::Completed)).await.unwrap();
    expect_text(
        &mut body,
        "id: 4\nevent: scan_status\n\
         data: {\"id\":4,\"type\":\"scan_status\",\"scan_id\":1,\"status\":\"completed\",\"error\":null}\n\n",
    )
    .await;

    drop(live);
    assert_eq!(next_chunk(&mut body).await, None);
}

#[actix_rt::test]
async fn settings_are_read_by_viewers_and_changed_by_admins() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let update =
        serde_json::json!({ "exclude": ["10.9.0.0/16"], "default_rate": 500, "rate_cap": 2000 });
    let viewer =
        |req: TestRequest| req.insert_header((AUTHORIZATION, format!("Bearer {VIEWER_TOKEN}")));
    let refused = call(
        &service,
        viewer(TestRequest::put().uri("/api/v1/settings").set_json(&update)).to_request(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let saved = call(
        &service,
        authed(TestRequest::put().uri("/api/v1/settings").set_json(&update)).to_request(),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK);
    let read =
        call(&service, viewer(TestRequest::get().uri("/api/v1/settings")).to_request()).await;
    let settings = read.json::<Settings>();
    assert_eq!(settings.exclude, ["10.9.0.0/16"]);
    assert_eq!((settings.default_rate, settings.rate_cap), (500, Some(2000)));
    assert!(!settings.default_rate_from_config);
    assert!(fake.audited().iter().any(|(_, action, _)| *action == "settings_update"));
    let unknown = serde_json::json!({ "exclude": [], "rate": 5 });
    let bad = call(
        &service,
        authed(TestRequest::put().uri("/api/v1/settings").set_json(&unknown)).to_request(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[actix_rt::test]
async fn events_replay_everything_when_last_event_id_is_not_an_id() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let request = authed(TestRequest::get().uri("/api/v1/events"))
        .insert_header(("last-event-id", "yesterday"))
        .to_request();
    let response = test::call_service(&service, request).await;
    let mut body = pin!(response.into_body());
    let first = next_chunk(&mut body).await.unwrap();
    assert!(first.starts_with(b"id: 1\nevent: scan_status\n"), "{first:?}");
}

#[actix_rt::test]
async fn server_serves_the_api_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap();
    let running = server(Arc::new(Fake::default()), listener, None).unwrap();
    let handle = running.handle();
    let task = actix_rt::spawn(running);

    let mut stream = tokio::net::TcpStream::connect(listen).await.unwrap();
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: sonde\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .expect("the server answers")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("x-content-type-options: nosniff\r\n"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok","version":"0.1.0"}"#), "{response}");

    handle.stop(true).await;
    task.await.unwrap().unwrap();
}
