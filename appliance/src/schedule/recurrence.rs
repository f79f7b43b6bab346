//! When a schedule recurs: parsed and validated once, then only asked for the next time.

use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// A schedule's rule, valid by construction.
#[derive(Debug, Clone)]
pub enum Recurrence {
    /// A cron expression evaluated in a time zone (so `0 3 * * *` is 03:00 local time across
    /// daylight-saving changes).
    Cron {
        /// The parsed expression.
        schedule: Box<cron::Schedule>,
        /// Its time zone.
        zone: Tz,
    },
    /// A fixed period.
    Every {
        /// Hours between two runs, at least 1.
        hours: u32,
    },
}

/// A recurrence that cannot be used, with what to write instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecurrenceError {
    /// Neither or both of `cron` and `every_hours`.
    #[error("give exactly one of `cron` (e.g. \"0 3 * * *\") and `every_hours` (e.g. 6)")]
    OneRule,
    /// The cron expression does not parse.
    #[error(
        "`{expression}` is not a cron expression ({reason}); write `minute hour day-of-month month day-of-week`, e.g. \"30 2 * * Mon-Fri\""
    )]
    Cron {
        /// As given.
        expression: String,
        /// The parser's words.
        reason: String,
    },
    /// The period is out of range.
    #[error("every_hours must be between 1 and 8760 (a year), not {0}")]
    Hours(u32),
    /// Unknown time zone.
    #[error("`{0}` is not an IANA time zone; use a name such as `UTC` or `Europe/Paris`")]
    Zone(String),
}

impl Recurrence {
    /// Parses a rule as the API and the CLI give it. A five-field cron expression gets a
    /// leading seconds field of 0, as the cron crate wants six or seven fields.
    pub fn parse(
        cron: Option<&str>,
        every_hours: Option<u32>,
        timezone: &str,
    ) -> Result<Self, RecurrenceError> {
        let zone = Tz::from_str(timezone.trim())
            .map_err(|_| RecurrenceError::Zone(timezone.to_owned()))?;
        match (cron, every_hours) {
            (Some(expression), None) => {
                let trimmed = expression.trim();
                let full = if trimmed.split_whitespace().count() == 5 {
                    format!("0 {trimmed}")
                } else {
                    trimmed.to_owned()
                };
                let schedule =
                    cron::Schedule::from_str(&full).map_err(|e| RecurrenceError::Cron {
                        expression: expression.to_owned(),
                        reason: e.to_string(),
                    })?;
                Ok(Self::Cron { schedule: Box::new(schedule), zone })
            }
            (None, Some(hours)) if (1..=8760).contains(&hours) => Ok(Self::Every { hours }),
            (None, Some(hours)) => Err(RecurrenceError::Hours(hours)),
            _ => Err(RecurrenceError::OneRule),
        }
    }

    /// The first occurrence strictly after `t`; `None` when the rule never fires again.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Cron { schedule, zone } => {
                schedule.after(&t.with_timezone(zone)).next().map(|local| local.with_timezone(&Utc))
            }
            Self::Every { hours } => t.checked_add_signed(TimeDelta::hours(i64::from(*hours))),
        }
    }

    /// True for a fixed period: such a schedule's first run is due at once.
    pub fn runs_at_creation(&self) -> bool {
        matches!(self, Self::Every { .. })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
    }

    #[test]
    fn cron_runs_in_its_time_zone_across_daylight_saving() {
        let r = Recurrence::parse(Some("0 3 * * *"), None, "Europe/Paris").unwrap();
        // Winter: 03:00 in Paris is 02:00 UTC; summer (after 29 March 2026): 01:00 UTC.
        assert_eq!(r.next_after(utc(2026, 1, 10, 12, 0)), Some(utc(2026, 1, 11, 2, 0)));
        assert_eq!(r.next_after(utc(2026, 6, 10, 12, 0)), Some(utc(2026, 6, 11, 1, 0)));
        let weekdays = Recurrence::parse(Some("30 2 * * Mon-Fri"), None, "UTC").unwrap();
        // 28 November 2026 is a Saturday: the next run is Monday the 30th.
        assert_eq!(weekdays.next_after(utc(2026, 11, 27, 3, 0)), Some(utc(2026, 11, 30, 2, 30)));
    }

    #[test]
    fn every_n_hours_adds_the_period() {
        let r = Recurrence::parse(None, Some(6), "UTC").unwrap();
        assert_eq!(r.next_after(utc(2026, 1, 1, 22, 0)), Some(utc(2026, 1, 2, 4, 0)));
        assert!(r.runs_at_creation());
    }

    #[test]
    fn bad_rules_say_what_to_write() {
        assert_eq!(Recurrence::parse(None, None, "UTC").unwrap_err(), RecurrenceError::OneRule);
        assert_eq!(
            Recurrence::parse(Some("0 3 * * *"), Some(2), "UTC").unwrap_err(),
            RecurrenceError::OneRule
        );
        assert_eq!(Recurrence::parse(None, Some(0), "UTC").unwrap_err(), RecurrenceError::Hours(0));
        assert!(matches!(
            Recurrence::parse(Some("every day"), None, "UTC"),
            Err(RecurrenceError::Cron { .. })
        ));
        assert_eq!(
            Recurrence::parse(Some("0 3 * * *"), None, "Mars/Olympus").unwrap_err(),
            RecurrenceError::Zone("Mars/Olympus".into())
        );
    }
}
