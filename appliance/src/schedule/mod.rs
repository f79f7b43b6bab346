//! Recurring scans.
//!
//! A schedule recurs by a cron expression in a time zone or every N hours
//! ([`Recurrence`]). The [`Planner`] decides, from a clock it is given, which schedules are
//! due; the [`runner`] is the thin loop of `sonde serve` that feeds it the schedules from the
//! store and starts their scans.
//!
//! # Policy
//! - A run is due at the first occurrence after the schedule's last run (after its creation
//!   when it never ran; an every-N-hours schedule that never ran is due at once).
//! - Missed runs (the appliance was down, or the previous run of the schedule was still going)
//!   are not caught up one by one: the schedule runs once, as soon as it can, and its next run
//!   is the first occurrence after that one started.
//! - Never two runs of one schedule at once: a schedule whose scan is still queued or running
//!   is not started again until that scan ends.

mod planner;
mod recurrence;
pub mod runner;
pub mod spec;

pub use planner::{Planner, ScheduleState};
pub use recurrence::{Recurrence, RecurrenceError};
