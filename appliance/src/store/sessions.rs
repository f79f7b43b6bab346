//! Browser sessions: the cookie holds a random id, the store only its hash.

use sonde_web::api::UserView;
use sonde_web::{AuthMethod, Caller, NewSession};

use super::backend::{now, now_plus};
use super::tokens::{random_hex, token_hash};
use super::{Store, StoreError};

/// A session ends after this long without a request...
pub const SESSION_IDLE_SECS: u64 = 2 * 60 * 60;

/// ...and after this long whatever the activity, so a stolen cookie does not live forever.
pub const SESSION_MAX_SECS: u64 = 12 * 60 * 60;

/// The idle clock is written back at most this often: every request should not be a write.
const TOUCH_EVERY_SECS: u64 = 60;

/// The time `secs` seconds ago, in the store's format.
fn ago(secs: u64) -> String {
    now_plus(-i64::try_from(secs).unwrap_or(i64::MAX))
}

impl Store {
    /// Opens a session for `user_id`; expired sessions are swept on the way.
    pub async fn open_session(&self, user_id: i64) -> Result<NewSession, StoreError> {
        let id = random_hex()?;
        let csrf_token = random_hex()?;
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now())
            .bind(ago(SESSION_IDLE_SECS))
            .execute(&mut *tx)
            .await?;
        let now = now();
        sqlx::query(
            "INSERT INTO sessions (hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash(&id))
        .bind(user_id)
        .bind(&csrf_token)
        .bind(&now)
        .bind(now_plus(i64::try_from(SESSION_MAX_SECS).unwrap_or(i64::MAX)))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(NewSession { id, csrf_token })
    }

    /// The caller of a live session, extending its idle expiry; `None` when unknown or
    /// expired.
    pub async fn session(&self, id: &str) -> Result<Option<Caller>, StoreError> {
        let hash = token_hash(id);
        // The staleness test is a CASE rather than a bare comparison: `Any` reads a boolean
        // from PostgreSQL but an integer from SQLite.
        let row: Option<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT u.id, u.name, u.role, s.csrf_token, \
             CASE WHEN s.last_seen_at <= $1 THEN 1 ELSE 0 END \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.hash = $2 AND s.expires_at > $3 AND s.last_seen_at > $4",
        )
        .bind(ago(TOUCH_EVERY_SECS))
        .bind(&hash)
        .bind(now())
        .bind(ago(SESSION_IDLE_SECS))
        .fetch_optional(&self.pool)
        .await?;
        let Some((user_id, name, role, csrf_token, stale)) = row else { return Ok(None) };
        if stale == 1 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE hash = $2")
                .bind(now())
                .bind(&hash)
                .execute(&self.pool)
                .await?;
        }
        let role = sonde_web::api::Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("user {user_id} has role `{role}`")))?;
        Ok(Some(Caller {
            user: UserView { id: user_id, name, role },
            auth: AuthMethod::Session { csrf_token },
        }))
    }

    /// Ends a session; unknown ids are ignored.
    pub async fn close_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE hash = $1")
            .bind(token_hash(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;
    use super::*;

    store_tests! {
        async fn sessions_authenticate_until_closed_and_store_no_cookie(store) {
        let user =
            store.add_user("alice", sonde_web::api::Role::Viewer, "long enough!").await.unwrap();
        let session = store.open_session(user.id).await.unwrap();
        let caller = store.session(&session.id).await.unwrap().expect("a live session");
        assert_eq!(caller.user, user);
        assert_eq!(caller.auth, AuthMethod::Session { csrf_token: session.csrf_token.clone() });
        assert!(store.session("forged").await.unwrap().is_none());
        let (hash,): (String,) =
            sqlx::query_as("SELECT hash FROM sessions").fetch_one(&store.pool).await.unwrap();
        assert_ne!(hash, session.id);

        store.close_session(&session.id).await.unwrap();
        assert!(store.session(&session.id).await.unwrap().is_none());
            }
    }

    store_tests! {
        async fn idle_and_old_sessions_are_dead(store) {
        let user =
            store.add_user("alice", sonde_web::api::Role::Viewer, "long enough!").await.unwrap();
        let idle = store.open_session(user.id).await.unwrap();
        let old = store.open_session(user.id).await.unwrap();
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE hash = $2")
            .bind(ago(SESSION_IDLE_SECS + 1))
            .bind(token_hash(&idle.id))
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE hash = $2")
            .bind(ago(1))
            .bind(token_hash(&old.id))
            .execute(&store.pool)
            .await
            .unwrap();
        assert!(store.session(&idle.id).await.unwrap().is_none());
        assert!(store.session(&old.id).await.unwrap().is_none());
        // A new password ends the live ones too.
        let live = store.open_session(user.id).await.unwrap();
        store.set_password(user.id, "another password").await.unwrap();
        assert!(store.session(&live.id).await.unwrap().is_none());
            }
    }
}
