//! The settings an admin changes over the API: one row, on top of the configuration file.

use sqlx::Row;

use super::{Store, StoreError};

/// The stored settings; `None` fields defer to the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsRow {
    /// Exclusion specs applied to every new scan, besides the configuration file's.
    pub exclude: Vec<String>,
    /// Default rate, probes per second.
    pub default_rate: Option<u64>,
    /// Highest rate a scan may ask for.
    pub rate_cap: Option<u64>,
}

impl Store {
    /// The stored settings (the migration creates their row).
    pub async fn settings(&self) -> Result<SettingsRow, StoreError> {
        let row = sqlx::query("SELECT exclude, default_rate, rate_cap FROM settings WHERE id = $1")
            .bind(1_i64)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(SettingsRow::default()) };
        let exclude: String = row.try_get("exclude")?;
        let rate = |name: &str| -> Result<Option<u64>, StoreError> {
            let value: Option<i64> = row.try_get(name)?;
            Ok(value.and_then(|v| u64::try_from(v).ok()))
        };
        Ok(SettingsRow {
            exclude: serde_json::from_str(&exclude)
                .map_err(|e| StoreError::Corrupt(format!("settings exclude: {e}")))?,
            default_rate: rate("default_rate")?,
            rate_cap: rate("rate_cap")?,
        })
    }

    /// Replaces the stored settings.
    pub async fn put_settings(&self, settings: &SettingsRow) -> Result<(), StoreError> {
        let exclude = serde_json::to_string(&settings.exclude)
            .map_err(|e| StoreError::Corrupt(format!("settings exclude: {e}")))?;
        let rate = |r: Option<u64>| r.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
        sqlx::query(
            "INSERT INTO settings (id, exclude, default_rate, rate_cap) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET exclude = excluded.exclude, \
             default_rate = excluded.default_rate, rate_cap = excluded.rate_cap",
        )
        .bind(1_i64)
        .bind(exclude)
        .bind(rate(settings.default_rate))
        .bind(rate(settings.rate_cap))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;

    #[tokio::test]
    async fn settings_start_empty_and_are_replaced() {
        let (store, _dir) = test_store().await;
        assert_eq!(store.settings().await.unwrap(), SettingsRow::default());
        let changed = SettingsRow {
            exclude: vec!["10.9.0.0/16".into(), "192.0.2.7".into()],
            default_rate: Some(500),
            rate_cap: Some(20_000),
        };
        store.put_settings(&changed).await.unwrap();
        assert_eq!(store.settings().await.unwrap(), changed);
        store.put_settings(&SettingsRow::default()).await.unwrap();
        assert_eq!(store.settings().await.unwrap(), SettingsRow::default());
    }
}
