//! Which schedules are due: the policy of [`super`], as a plain struct driven by a clock it
//! is given, so it is tested without waiting.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Recurrence;

/// What the planner needs to know of one schedule.
#[derive(Debug, Clone)]
pub struct ScheduleState {
    /// Schedule id.
    pub id: i64,
    /// Its rule.
    pub recurrence: Recurrence,
    /// False while paused.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its last run started.
    pub last_run_at: Option<DateTime<Utc>>,
}

impl ScheduleState {
    /// When it is next due: the first occurrence after its last run (or its creation); at
    /// creation for a fixed period that never ran. `None` when paused or never again.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        if !self.enabled {
            return None;
        }
        match self.last_run_at {
            Some(last) => self.recurrence.next_after(last),
            None if self.recurrence.runs_at_creation() => Some(self.created_at),
            None => self.recurrence.next_after(self.created_at),
        }
    }
}

/// Remembers which schedules have a scan in progress and says which are due.
#[derive(Debug, Default)]
pub struct Planner {
    /// Schedule id -> the scan of its run in progress.
    running: HashMap<i64, i64>,
}

impl Planner {
    /// Schedules to start at `now`: due, and without a run in progress. However many
    /// occurrences were missed, a schedule is listed once; starting it sets its last run to
    /// `now`, which moves its next occurrence past every missed one.
    pub fn due(&self, schedules: &[ScheduleState], now: DateTime<Utc>) -> Vec<i64> {
        schedules
            .iter()
            .filter(|s| !self.running.contains_key(&s.id))
            .filter(|s| s.next_due().is_some_and(|due| due <= now))
            .map(|s| s.id)
            .collect()
    }

    /// Schedule `schedule` started scan `scan`.
    pub fn started(&mut self, schedule: i64, scan: i64) {
        self.running.insert(schedule, scan);
    }

    /// The run of `schedule` ended (or its schedule was deleted).
    pub fn finished(&mut self, schedule: i64) {
        self.running.remove(&schedule);
    }

    /// Runs in progress: (schedule, scan).
    pub fn running(&self) -> Vec<(i64, i64)> {
        self.running.iter().map(|(s, scan)| (*s, *scan)).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn at(hour: i64, minute: i64) -> DateTime<Utc> {
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).single().unwrap();
        start + TimeDelta::hours(hour) + TimeDelta::minutes(minute)
    }

    fn hourly(id: i64) -> ScheduleState {
        ScheduleState {
            id,
            recurrence: Recurrence::parse(Some("0 * * * *"), None, "UTC").unwrap(),
            enabled: true,
            created_at: at(0, 10),
            last_run_at: None,
        }
    }

    /// Plays the runner: starts what is due at `now` and records the run.
    fn tick(
        planner: &mut Planner,
        schedules: &mut [ScheduleState],
        now: DateTime<Utc>,
    ) -> Vec<i64> {
        let due = planner.due(schedules, now);
        for s in schedules.iter_mut().filter(|s| due.contains(&s.id)) {
            s.last_run_at = Some(now);
            planner.started(s.id, 100 + s.id);
        }
        due
    }

    #[test]
    fn a_cron_schedule_runs_at_each_occurrence_and_not_before() {
        let (mut planner, mut s) = (Planner::default(), vec![hourly(1)]);
        assert!(tick(&mut planner, &mut s, at(0, 59)).is_empty(), "created at 00:10, due at 01:00");
        assert_eq!(tick(&mut planner, &mut s, at(1, 0)), [1]);
        planner.finished(1);
        assert!(tick(&mut planner, &mut s, at(1, 30)).is_empty());
        assert_eq!(tick(&mut planner, &mut s, at(2, 0)), [1]);
    }

    #[test]
    fn missed_runs_after_downtime_run_once() {
        let (mut planner, mut s) = (Planner::default(), vec![hourly(1)]);
        s[0].last_run_at = Some(at(1, 0));
        // Down from 01:30 to 06:20: four occurrences missed, one run.
        assert_eq!(tick(&mut planner, &mut s, at(6, 20)), [1]);
        planner.finished(1);
        assert!(tick(&mut planner, &mut s, at(6, 21)).is_empty(), "no catching up");
        assert!(tick(&mut planner, &mut s, at(6, 59)).is_empty());
        assert_eq!(tick(&mut planner, &mut s, at(7, 0)), [1]);
    }

    #[test]
    fn never_two_runs_of_one_schedule_at_once() {
        let (mut planner, mut s) = (Planner::default(), vec![hourly(1), hourly(2)]);
        assert_eq!(tick(&mut planner, &mut s, at(1, 0)), [1, 2]);
        planner.finished(2);
        // Schedule 1's scan is still running through 02:00 and 03:00.
        assert_eq!(tick(&mut planner, &mut s, at(2, 0)), [2]);
        assert!(planner.due(&s, at(3, 5)).iter().all(|id| *id != 1));
        planner.finished(1);
        assert_eq!(planner.due(&s, at(3, 5)), [1], "once, when the run in progress ends");
    }

    #[test]
    fn fixed_periods_start_at_creation_and_paused_schedules_never() {
        let every = ScheduleState {
            id: 3,
            recurrence: Recurrence::parse(None, Some(6), "UTC").unwrap(),
            enabled: true,
            created_at: at(0, 10),
            last_run_at: None,
        };
        let (mut planner, mut s) = (Planner::default(), vec![every]);
        assert_eq!(tick(&mut planner, &mut s, at(0, 10)), [3]);
        planner.finished(3);
        assert!(tick(&mut planner, &mut s, at(6, 9)).is_empty());
        assert_eq!(s[0].next_due(), Some(at(6, 10)));
        s[0].enabled = false;
        assert!(tick(&mut planner, &mut s, at(20, 0)).is_empty());
        assert_eq!(s[0].next_due(), None);
    }
}
