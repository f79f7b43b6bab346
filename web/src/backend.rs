//! What the web layer needs from the appliance. The appliance implements [`Backend`]; tests
//! implement it with an in-memory fake, so the HTTP surface is tested without actors.

use std::future::Future;
use std::net::Ipv4Addr;

use tokio::sync::mpsc;

use crate::api::{
    Event, ExportFormat, Health, HostDetail, HostEdit, HostQuery, HostSummary, Page, ScanChanges,
    ScanCreated, ScanRequest, ScanView, SchedulePatch, ScheduleRequest, ScheduleView, ServiceCount,
};
use crate::error::ApiError;
use crate::stats::{PortCount, SubnetCount};

/// Who made an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Id of the API token used.
    pub token_id: i64,
    /// Name given to the token at creation.
    pub token_name: String,
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
    /// Liveness of the appliance and its store.
    fn health(&self) -> impl Future<Output = Result<Health, ApiError>>;
    /// Subscribes to events after `last_event_id` (all buffered ones when `None`).
    fn subscribe(&self, last_event_id: Option<u64>) -> Subscription;
}
