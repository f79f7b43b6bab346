//! The audit log: who did what, when, from where. Append-only.

use sonde_web::AuditRecord;
use sonde_web::api::{AuditEntry, AuditQuery};

use super::{Store, StoreError};

impl Store {
    /// Appends a line.
    pub async fn record_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (user_id, username, action, target, source) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(record.user_id)
        .bind(&record.username)
        .bind(record.action)
        .bind(&record.target)
        .bind(&record.source)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lines newest first, `limit` (default 100) of them before id `before`.
    pub async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        type Row = (i64, String, Option<i64>, String, String, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, user_id, username, action, target, source FROM audit \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(query.before.unwrap_or(i64::MAX))
        .bind(i64::from(query.limit.unwrap_or(100)))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at, user_id, username, action, target, source)| AuditEntry {
                id,
                at,
                user_id,
                username,
                action,
                target,
                source,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;
    use super::*;

    store_tests! {
        async fn the_log_pages_newest_first(store) {
        for n in 1..=5 {
            let record = AuditRecord {
                user_id: Some(1),
                username: "alice".into(),
                action: "scan_start",
                target: Some(format!("scan {n}")),
                source: Some("127.0.0.1".into()),
            };
            store.record_audit(&record).await.unwrap();
        }
        let page = store.audit(AuditQuery { limit: Some(2), before: None }).await.unwrap();
        let targets: Vec<_> = page.iter().map(|e| e.target.clone().unwrap()).collect();
        assert_eq!(targets, ["scan 5", "scan 4"]);
        let next =
            store.audit(AuditQuery { limit: Some(10), before: Some(page[1].id) }).await.unwrap();
        assert_eq!(next.len(), 3);
        assert_eq!(next[0].target.as_deref(), Some("scan 3"));
        assert_eq!(
            (next[0].action.as_str(), next[0].source.as_deref()),
            ("scan_start", Some("127.0.0.1"))
        );
            }
    }
}
