//! Schedules as operators write them: requests and patches become stored rows, checked once
//! here for the API and the CLI alike, and rows become views.

use chrono::{DateTime, Utc};
use sonde_scanner::{PortList, TargetSet};
use sonde_web::api::{SchedulePatch, ScheduleRequest, ScheduleView};

use super::{Recurrence, RecurrenceError, ScheduleState};
use crate::store::ScheduleRow;

/// Longest schedule name.
const MAX_NAME: usize = 100;

/// A schedule that cannot be kept, with what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Name empty, too long or with control characters.
    #[error("a schedule's name must be 1 to {MAX_NAME} characters, without control characters")]
    Name,
    /// No targets.
    #[error("a schedule needs at least one target")]
    NoTargets,
    /// A target or exclusion does not parse.
    #[error("{0}")]
    Targets(String),
    /// The port list does not parse.
    #[error("{0}")]
    Ports(String),
    /// A rate of 0.
    #[error("rate must be at least 1 probe per second")]
    Rate,
    /// The recurrence is invalid.
    #[error(transparent)]
    Recurrence(#[from] RecurrenceError),
}

/// A new schedule's row from an API request.
pub fn from_request(request: ScheduleRequest) -> ScheduleRow {
    ScheduleRow {
        name: request.name.trim().to_owned(),
        targets: request.targets,
        exclude: request.exclude,
        ports: request.ports,
        // An empty list is no UDP port, stored as none.
        udp_ports: request.udp_ports.filter(|p| !p.trim().is_empty()),
        rate: request.rate,
        cron: request.cron,
        every_hours: request.every_hours,
        timezone: request.timezone.unwrap_or_else(|| "UTC".to_owned()),
        enabled: request.enabled.unwrap_or(true),
        ..ScheduleRow::default()
    }
}

/// `row` with `patch` applied; a new rule replaces the other kind.
pub fn apply(mut row: ScheduleRow, patch: SchedulePatch) -> ScheduleRow {
    if let Some(name) = patch.name {
        row.name = name.trim().to_owned();
    }
    if let Some(targets) = patch.targets {
        row.targets = targets;
    }
    if let Some(exclude) = patch.exclude {
        row.exclude = exclude;
    }
    if patch.ports.is_some() {
        row.ports = patch.ports;
    }
    if let Some(udp) = patch.udp_ports {
        row.udp_ports = Some(udp).filter(|p| !p.trim().is_empty());
    }
    if patch.rate.is_some() {
        row.rate = patch.rate;
    }
    match (patch.cron, patch.every_hours) {
        (Some(cron), None) => (row.cron, row.every_hours) = (Some(cron), None),
        (None, Some(hours)) => (row.cron, row.every_hours) = (None, Some(hours)),
        (Some(cron), Some(hours)) => (row.cron, row.every_hours) = (Some(cron), Some(hours)),
        (None, None) => {}
    }
    if let Some(zone) = patch.timezone {
        row.timezone = zone;
    }
    if let Some(enabled) = patch.enabled {
        row.enabled = enabled;
    }
    row
}

/// Checks everything a run will need. Hostname targets are resolved, so this may block.
pub fn validate(row: &ScheduleRow) -> Result<Recurrence, ScheduleError> {
    if row.name.is_empty()
        || row.name.chars().count() > MAX_NAME
        || row.name.chars().any(char::is_control)
    {
        return Err(ScheduleError::Name);
    }
    if row.targets.is_empty() {
        return Err(ScheduleError::NoTargets);
    }
    TargetSet::parse(&row.targets).map_err(|e| ScheduleError::Targets(e.to_string()))?;
    if !row.exclude.is_empty() {
        TargetSet::parse(&row.exclude).map_err(|e| ScheduleError::Targets(e.to_string()))?;
    }
    if let Some(ports) = &row.ports {
        PortList::parse(ports).map_err(|e| ScheduleError::Ports(e.to_string()))?;
    }
    if let Some(ports) = &row.udp_ports {
        crate::udp_sweep::parse_ports(ports)
            .map_err(|e| ScheduleError::Ports(format!("udp_ports: {e}")))?;
    }
    if row.rate == Some(0) {
        return Err(ScheduleError::Rate);
    }
    Ok(Recurrence::parse(row.cron.as_deref(), row.every_hours, &row.timezone)?)
}

/// What the planner needs of a stored row.
pub fn state(row: &ScheduleRow) -> Result<ScheduleState, RecurrenceError> {
    Ok(ScheduleState {
        id: row.id,
        recurrence: Recurrence::parse(row.cron.as_deref(), row.every_hours, &row.timezone)?,
        enabled: row.enabled,
        created_at: time(row.created_at),
        last_run_at: row.last_run_at.map(time),
    })
}

/// The API's view of a stored row.
pub fn view(row: &ScheduleRow) -> ScheduleView {
    let next = state(row).ok().and_then(|s| s.next_due());
    ScheduleView {
        id: row.id,
        name: row.name.clone(),
        targets: row.targets.clone(),
        exclude: row.exclude.clone(),
        ports: row.ports.clone(),
        udp_ports: row.udp_ports.clone(),
        rate: row.rate,
        cron: row.cron.clone(),
        every_hours: row.every_hours,
        timezone: row.timezone.clone(),
        enabled: row.enabled,
        created_at: rfc3339(time(row.created_at)),
        last_run_at: row.last_run_at.map(|t| rfc3339(time(t))),
        last_scan_id: row.last_scan_id,
        next_run_at: next.map(rfc3339),
    }
}

fn time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ScheduleRequest {
        ScheduleRequest {
            name: " nightly ".into(),
            targets: vec!["127.0.0.1".into()],
            exclude: vec![],
            ports: Some("22".into()),
            udp_ports: Some("53,161".into()),
            rate: None,
            cron: Some("0 3 * * *".into()),
            every_hours: None,
            timezone: Some("Europe/Paris".into()),
            enabled: None,
        }
    }

    #[test]
    fn requests_and_patches_are_checked_once() {
        let row = from_request(request());
        assert_eq!(row.name, "nightly");
        assert!(validate(&row).is_ok());
        let every =
            apply(row.clone(), SchedulePatch { every_hours: Some(4), ..SchedulePatch::default() });
        assert_eq!((every.cron, every.every_hours), (None, Some(4)));
        assert_eq!(row.udp_ports.as_deref(), Some("53,161"));
        let cleared = apply(
            row.clone(),
            SchedulePatch { udp_ports: Some(String::new()), ..Default::default() },
        );
        assert_eq!(cleared.udp_ports, None, "an empty list clears the UDP ports");
        for (patch, needle) in [
            (SchedulePatch { ports: Some("0".into()), ..SchedulePatch::default() }, "0"),
            (
                SchedulePatch { udp_ports: Some("top:10".into()), ..SchedulePatch::default() },
                "udp_ports",
            ),
            (SchedulePatch { targets: Some(vec![]), ..SchedulePatch::default() }, "target"),
            (SchedulePatch { rate: Some(0), ..SchedulePatch::default() }, "rate"),
            (SchedulePatch { name: Some(" ".into()), ..SchedulePatch::default() }, "name"),
            (
                SchedulePatch { timezone: Some("Nowhere".into()), ..SchedulePatch::default() },
                "Nowhere",
            ),
            (SchedulePatch { cron: Some("61 * * * *".into()), ..SchedulePatch::default() }, "cron"),
        ] {
            let err = validate(&apply(row.clone(), patch.clone())).unwrap_err().to_string();
            assert!(err.contains(needle), "{patch:?}: {err}");
        }
    }

    #[test]
    fn views_say_when_the_next_run_is() {
        let mut row = from_request(request());
        row.created_at = 1_800_000_000; // 2027-01-15T08:00:00Z
        let view = view(&row);
        assert_eq!(view.created_at, "2027-01-15T08:00:00Z");
        // 03:00 in Paris in January is 02:00 UTC, the next day.
        assert_eq!(view.next_run_at.as_deref(), Some("2027-01-16T02:00:00Z"));
        row.enabled = false;
        assert_eq!(super::view(&row).next_run_at, None);
    }
}
