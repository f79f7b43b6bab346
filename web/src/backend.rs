//! What the web layer needs from the appliance. The appliance implements [`Backend`]; tests
//! implement it with an in-memory fake, so the HTTP surface is tested without actors.

use std::future::Future;
use std::net::Ipv4Addr;

use tokio::sync::mpsc;

use crate::api::{
    ApplianceView, AuditEntry, AuditQuery, DockerView, Event, ExportFormat, Health, HostDetail,
    HostEdit, HostExportQuery, HostQuery, HostSummary, MachineView, NewUser, Page, Role,
    ScanChanges, ScanCreated, ScanRequest, ScanView, SchedulePatch, ScheduleRequest, ScheduleView,
    ServiceCount, Settings, SettingsUpdate, TokenCreated, TokenView, UserPatch, UserView,
};
use crate::error::ApiError;
use crate::stats::{PortCount, SubnetCount};

/// Who made an authenticated request, and how they proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user the request acts as.
    pub user: UserView,
    /// The credential it carried.
    pub auth: AuthMethod,
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The API token's id, when the request carried one.
    pub fn token_id(&self) -> Option<i64> {
        match self.auth {
            AuthMethod::Token { id } => Some(id),
            AuthMethod::Session { .. } => None,
        }
    }
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// The session cookie of a logged-in browser: ambient authority, so state-changing
    /// requests must also echo this CSRF token.
    Session {
        /// The session's CSRF token.
        csrf_token: String,
    },
    /// An `Authorization: Bearer` API token, which a browser never sends on its own.
    Token {
        /// Id of the token.
        id: i64,
    },
}

/// A session just opened by a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The opaque session id for the cookie; the backend keeps only its hash.
    pub id: String,
    /// The CSRF token of the session.
    pub csrf_token: String,
}

/// An audit log line to write; the backend adds the id and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The acting user, when known.
    pub user_id: Option<i64>,
    /// The acting user's name (or the name tried).
    pub username: String,
    /// What was done (see [`AuditEntry::action`]).
    pub action: &'static str,
    /// What it was done to.
    pub target: Option<String>,
    /// The client's address.
    pub source: Option<String>,
}

/// A live subscription to the event stream.
#[derive(Debug)]
pub struct Subscription {
    /// Events after the client's `Last-Event-ID` that are still in the replay buffer, oldest
    /// first.
    pub replay: Vec<Event>,
    /// Later events. Closed by the bus when the client falls too far behind.
    pub live: mpsc::Receiver<Event>,
}

/// The appliance seen from the web layer.
///
/// Futures need not be `Send`: actix-web runs each request on one worker thread.
pub trait Backend: 'static {
    /// Checks a bearer token; `Ok(None)` when it is unknown or revoked.
    fn authenticate(&self, token: &str) -> impl Future<Output = Result<Option<Caller>, ApiError>>;
    /// Checks a session id from the cookie and extends its idle expiry; `Ok(None)` when it is
    /// unknown or expired.
    fn session(&self, id: &str) -> impl Future<Output = Result<Option<Caller>, ApiError>>;
    /// Checks a user's password; `Ok(None)` when the name or the password is wrong.
    fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<Option<UserView>, ApiError>>;
    /// Opens a session for a user who just logged in.
    fn open_session(&self, user_id: i64) -> impl Future<Output = Result<NewSession, ApiError>>;
    /// Ends a session (logout); unknown ids are ignored.
    fn close_session(&self, id: &str) -> impl Future<Output = Result<(), ApiError>>;
    /// Creates the first admin with the one-time setup token; `ApiError::Forbidden` when the
    /// token is wrong or setup is over.
    fn setup(
        &self,
        token: &str,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<UserView, ApiError>>;
    /// Every user, by id.
    fn users(&self) -> impl Future<Output = Result<Vec<UserView>, ApiError>>;
    /// Creates a user; `ApiError::Conflict` when the name is taken.
    fn create_user(&self, user: NewUser) -> impl Future<Output = Result<UserView, ApiError>>;
    /// Changes a user's role or password; refuses to leave the appliance without an admin.
    fn update_user(
        &self,
        id: i64,
        patch: UserPatch,
    ) -> impl Future<Output = Result<UserView, ApiError>>;
    /// Deletes a user with their sessions and tokens; refuses to delete the last admin.
    fn delete_user(&self, id: i64) -> impl Future<Output = Result<(), ApiError>>;
    /// A user's live API tokens.
    fn tokens(&self, user_id: i64) -> impl Future<Output = Result<Vec<TokenView>, ApiError>>;
    /// Creates an API token for a user.
    fn create_token(
        &self,
        user_id: i64,
        name: &str,
    ) -> impl Future<Output = Result<TokenCreated, ApiError>>;
    /// Revokes a token; `owner` limits it to that user's tokens (`None`: any, for admins).
    fn revoke_token(
        &self,
        owner: Option<i64>,
        id: i64,
    ) -> impl Future<Output = Result<(), ApiError>>;
    /// Appends to the audit log.
    fn record(&self, record: AuditRecord) -> impl Future<Output = Result<(), ApiError>>;
    /// Reads the audit log, newest first.
    fn audit(&self, query: AuditQuery) -> impl Future<Output = Result<Vec<AuditEntry>, ApiError>>;
    /// Validates and queues a scan.
    fn start_scan(
        &self,
        caller: &Caller,
        request: ScanRequest,
    ) -> impl Future<Output = Result<ScanCreated, ApiError>>;
    /// Lists scans, newest first.
    fn scans(&self) -> impl Future<Output = Result<Vec<ScanView>, ApiError>>;
    /// One scan; `ApiError::NotFound` when unknown.
    fn scan(&self, id: i64) -> impl Future<Output = Result<ScanView, ApiError>>;
    /// Asks a queued or running scan to stop; answers the scan as it is after the request.
    fn cancel_scan(
        &self,
        caller: &Caller,
        id: i64,
    ) -> impl Future<Output = Result<ScanView, ApiError>>;
    /// Hosts with at least one open port, filtered and paged.
    fn hosts(&self, query: HostQuery) -> impl Future<Output = Result<Page<HostSummary>, ApiError>>;
    /// One host; `ApiError::NotFound` when unknown.
    fn host(&self, ip: Ipv4Addr) -> impl Future<Output = Result<HostDetail, ApiError>>;
    /// One machine with its addresses; `ApiError::NotFound` when unknown.
    fn machine(&self, id: i64) -> impl Future<Output = Result<MachineView, ApiError>>;
    /// Applies an operator's edits to a known host; answers the host as it is after them.
    fn edit_host(
        &self,
        caller: &Caller,
        ip: Ipv4Addr,
        edit: HostEdit,
    ) -> impl Future<Output = Result<HostDetail, ApiError>>;
    /// What changed from scan `against` (by default the previous completed scan of the same
    /// targets and ports) to scan `id`.
    fn changes(
        &self,
        id: i64,
        against: Option<i64>,
    ) -> impl Future<Output = Result<ScanChanges, ApiError>>;
    /// Scan `id` and what it found as a document in `format`.
    fn export(
        &self,
        id: i64,
        format: ExportFormat,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>>;
    /// Every host `query` matches, with all its open ports, as a document in its format.
    fn export_hosts(
        &self,
        query: HostExportQuery,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>>;
    /// The Docker engines, their containers and networks, as last read.
    fn docker(&self) -> impl Future<Output = Result<DockerView, ApiError>>;
    /// Reads every Docker endpoint now and answers what was read; `ApiError::Conflict` when
    /// none is configured.
    fn refresh_docker(&self, caller: &Caller)
    -> impl Future<Output = Result<DockerView, ApiError>>;
    /// Every schedule, by id.
    fn schedules(&self) -> impl Future<Output = Result<Vec<ScheduleView>, ApiError>>;
    /// Validates and stores a schedule.
    fn create_schedule(
        &self,
        caller: &Caller,
        request: ScheduleRequest,
    ) -> impl Future<Output = Result<ScheduleView, ApiError>>;
    /// Changes a schedule; `ApiError::NotFound` when unknown.
    fn update_schedule(
        &self,
        caller: &Caller,
        id: i64,
        patch: SchedulePatch,
    ) -> impl Future<Output = Result<ScheduleView, ApiError>>;
    /// Deletes a schedule (its past scans stay); `ApiError::NotFound` when unknown.
    fn delete_schedule(
        &self,
        caller: &Caller,
        id: i64,
    ) -> impl Future<Output = Result<(), ApiError>>;
    /// Open ports counted by service.
    fn services(&self) -> impl Future<Output = Result<Vec<ServiceCount>, ApiError>>;
    /// Hosts per open port, most common first, at most `limit` rows.
    fn port_counts(&self, limit: u32) -> impl Future<Output = Result<Vec<PortCount>, ApiError>>;
    /// Every /24 holding a host with an open port, ascending.
    fn subnet_counts(&self) -> impl Future<Output = Result<Vec<SubnetCount>, ApiError>>;
    /// The appliances sharing the store, by name; on a store of its own (SQLite), this one.
    fn appliances(&self) -> impl Future<Output = Result<Vec<ApplianceView>, ApiError>>;
    /// Liveness of the appliance and its store.
    fn health(&self) -> impl Future<Output = Result<Health, ApiError>>;
    /// The settings new scans start from.
    fn settings(&self) -> impl Future<Output = Result<Settings, ApiError>>;
    /// Validates and stores new settings (`ApiError::BadRequest` naming what is wrong);
    /// returns them as `settings` would.
    fn update_settings(
        &self,
        update: SettingsUpdate,
    ) -> impl Future<Output = Result<Settings, ApiError>>;
    /// Subscribes to events after `last_event_id` (all buffered ones when `None`).
    fn subscribe(&self, last_event_id: Option<u64>) -> Subscription;
}
