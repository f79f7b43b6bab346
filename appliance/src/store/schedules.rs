//! Schedules: recurring scans, as stored.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};

/// A schedule as stored; times in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduleRow {
    /// Id (ignored when inserting).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Target specs.
    pub targets: Vec<String>,
    /// Extra exclusions.
    pub exclude: Vec<String>,
    /// Port list; the appliance default when `None`.
    pub ports: Option<String>,
    /// UDP port list; none when `None`.
    pub udp_ports: Option<String>,
    /// Rate; the appliance default when `None`.
    pub rate: Option<u64>,
    /// Cron expression.
    pub cron: Option<String>,
    /// Period in hours.
    pub every_hours: Option<u32>,
    /// IANA time zone.
    pub timezone: String,
    /// False while paused.
    pub enabled: bool,
    /// Creation (set by the store when inserting).
    pub created_at: i64,
    /// When the last run started.
    pub last_run_at: Option<i64>,
    /// The scan of the last run.
    pub last_scan_id: Option<i64>,
}

const COLUMNS: &str = "id, name, targets, exclude, ports, rate, cron, every_hours, timezone, \
    enabled, created_at, last_run_at, last_scan_id, udp_ports";

impl Store {
    /// Stores a new schedule; returns its id.
    pub async fn insert_schedule(&self, s: &ScheduleRow) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO schedules (name, targets, exclude, ports, rate, cron, every_hours, \
             timezone, enabled, created_at, udp_ports) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&s.name)
        .bind(json(&s.targets))
        .bind(json(&s.exclude))
        .bind(&s.ports)
        .bind(s.rate.map(|r| i64::try_from(r).unwrap_or(i64::MAX)))
        .bind(&s.cron)
        .bind(s.every_hours.map(i64::from))
        .bind(&s.timezone)
        .bind(i64::from(s.enabled))
        .bind(super::backend::unix_now())
        .bind(&s.udp_ports)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Replaces what an operator may change of schedule `s.id`; false when it is unknown.
    pub async fn update_schedule(&self, s: &ScheduleRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE schedules SET name = $1, targets = $2, exclude = $3, ports = $4, rate = $5, \
             cron = $6, every_hours = $7, timezone = $8, enabled = $9, udp_ports = $10 \
             WHERE id = $11",
        )
        .bind(&s.name)
        .bind(json(&s.targets))
        .bind(json(&s.exclude))
        .bind(&s.ports)
        .bind(s.rate.map(|r| i64::try_from(r).unwrap_or(i64::MAX)))
        .bind(&s.cron)
        .bind(s.every_hours.map(i64::from))
        .bind(&s.timezone)
        .bind(i64::from(s.enabled))
        .bind(&s.udp_ports)
        .bind(s.id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a schedule; its scans stay. False when it is unknown.
    pub async fn delete_schedule(&self, id: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM schedules WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that schedule `id` started a run at `at` (Unix seconds), with its scan when
    /// one could be queued.
    pub async fn mark_schedule_run(
        &self,
        id: i64,
        at: i64,
        scan_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE schedules SET last_run_at = $1, last_scan_id = COALESCE($2, last_scan_id) WHERE id = $3")
            .bind(at)
            .bind(scan_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every schedule, by id.
    pub async fn schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(schedule_row).collect()
    }

    /// One schedule.
    pub async fn schedule(&self, id: i64) -> Result<Option<ScheduleRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(schedule_row).transpose()
    }
}

fn json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn schedule_row(row: &AnyRow) -> Result<ScheduleRow, StoreError> {
    let list = |name: &str| -> Result<Vec<String>, StoreError> {
        let text: String = row.try_get(name)?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("schedule {name}: {e}")))
    };
    let rate: Option<i64> = row.try_get("rate")?;
    let hours: Option<i64> = row.try_get("every_hours")?;
    Ok(ScheduleRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        targets: list("targets")?,
        exclude: list("exclude")?,
        ports: row.try_get("ports")?,
        udp_ports: row.try_get("udp_ports")?,
        rate: rate.and_then(|r| u64::try_from(r).ok()),
        cron: row.try_get("cron")?,
        every_hours: hours.and_then(|h| u32::try_from(h).ok()),
        timezone: row.try_get("timezone")?,
        // 0 or 1 on both backends: `Any` has no boolean column type on SQLite.
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: row.try_get("created_at")?,
        last_run_at: row.try_get("last_run_at")?,
        last_scan_id: row.try_get("last_scan_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;
    use super::*;

    store_tests! {
        async fn schedules_are_stored_changed_run_and_deleted(store) {
        let mut s = ScheduleRow {
            name: "nightly".into(),
            targets: vec!["10.0.0.0/24".into()],
            cron: Some("0 3 * * *".into()),
            timezone: "Europe/Paris".into(),
            enabled: true,
            ..ScheduleRow::default()
        };
        let id = store.insert_schedule(&s).await.unwrap();
        let stored = store.schedule(id).await.unwrap().unwrap();
        assert!(stored.created_at > 1_700_000_000, "{stored:?}");
        assert_eq!((stored.name.as_str(), stored.last_run_at), ("nightly", None));
        s.id = id;
        s.cron = None;
        s.every_hours = Some(6);
        assert!(store.update_schedule(&s).await.unwrap());
        store.mark_schedule_run(id, 1_800_000_000, None).await.unwrap();
        let stored = &store.schedules().await.unwrap()[0];
        assert_eq!((stored.every_hours, stored.cron.as_deref()), (Some(6), None));
        assert_eq!(stored.last_run_at, Some(1_800_000_000));
        // Both rules at once violate the table's CHECK.
        s.cron = Some("0 3 * * *".into());
        assert!(store.update_schedule(&s).await.is_err());
        assert!(store.delete_schedule(id).await.unwrap());
        assert!(!store.delete_schedule(id).await.unwrap());
            }
    }
}
