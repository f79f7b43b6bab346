//! User accounts: names, roles and argon2id password hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sonde_web::api::{Role, UserView};

use super::{Store, StoreError};

/// Shortest password accepted: long enough that guessing through the rate limit is hopeless.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Longest password accepted: hashing cost grows with length, so it is bounded.
const MAX_PASSWORD_CHARS: usize = 1024;

/// Longest user name.
const MAX_NAME_CHARS: usize = 64;

impl Store {
    /// Creates a user; [`StoreError::Conflict`] when the name is taken.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<UserView, StoreError> {
        check_name(name)?;
        let hash = hash_password(password).await?;
        let row: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(hash)
        .fetch_one(&self.pool)
        .await;
        match row {
            Ok((id,)) => Ok(UserView { id, name: name.to_owned(), role }),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(format!("a user named `{name}` exists already")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<UserView>, StoreError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, role FROM users ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(user_view).collect()
    }

    /// How many users exist.
    pub async fn user_count(&self) -> Result<u64, StoreError> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// The user named `name` (case-insensitive).
    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserView>, StoreError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, role FROM users WHERE lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(user_view).transpose()
    }

    /// The admin created first, who owns tokens made without `--user`.
    pub async fn first_admin(&self) -> Result<Option<UserView>, StoreError> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT id, name, role FROM users WHERE role = 'admin' ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(user_view).transpose()
    }

    /// The user if `password` is theirs. Unknown names cost a hash too, so that timing does
    /// not tell which names exist.
    pub async fn verify_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<UserView>, StoreError> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Ok(None);
        }
        let row: Option<(i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, role, password_hash FROM users WHERE lower(name) = lower($1)",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        let (user, hash) = match row {
            Some((id, name, role, Some(hash))) => (Some(user_view((id, name, role))?), hash),
            _ => (None, dummy_hash().await?),
        };
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
                })
                .map_err(|e| StoreError::Corrupt(format!("a password hash does not parse: {e}")))
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("password check stopped: {e}")))??;
        Ok(user.filter(|_| matches))
    }

    /// Sets a user's password and ends their sessions.
    pub async fn set_password(&self, id: i64, password: &str) -> Result<(), StoreError> {
        let hash = hash_password(password).await?;
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no user {id}")));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a user's role; refuses to demote the last admin.
    pub async fn set_role(&self, id: i64, role: Role) -> Result<UserView, StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let row: Option<(i64, String, String)> =
            sqlx::query_as("UPDATE users SET role = $1 WHERE id = $2 RETURNING id, name, role")
                .bind(role.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let user = user_view(row.ok_or_else(|| StoreError::NotFound(format!("no user {id}")))?)?;
        ensure_an_admin(&mut tx).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deletes a user with their sessions; their tokens are revoked (kept, unowned, because
    /// scans name the token that started them). Refuses to delete the last admin.
    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        sqlx::query(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1), user_id = NULL \
             WHERE user_id = $2",
        )
        .bind(super::backend::now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done =
            sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no user {id}")));
        }
        ensure_an_admin(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Fails (so the transaction rolls back) when no admin would be left.
async fn ensure_an_admin(tx: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    let (admins,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetch_one(tx).await?;
    if admins == 0 {
        return Err(StoreError::Conflict(
            "this would leave no admin; make another user admin first".into(),
        ));
    }
    Ok(())
}

/// Checks a user name: what the console, logs and the audit log can show unambiguously.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || !name.chars().all(allowed) {
        return Err(StoreError::Invalid(format!(
            "user name `{}` must be 1 to {MAX_NAME_CHARS} letters, digits, `.`, `_`, `-` or `@`",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(StoreError::Invalid(format!(
            "a password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, not {chars}"
        )));
    }
    Ok(())
}

/// Argon2id with the crate's defaults (the OWASP minimum: 19 MiB, 2 passes), off the async
/// threads: a hash takes tens of milliseconds of CPU on purpose.
async fn hash_password(password: &str) -> Result<String, StoreError> {
    check_password(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a salt: {e}")))?;
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode a salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| StoreError::Corrupt(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("password hashing stopped: {e}")))?
}

/// A hash of a password nobody has, made once, for checks of unknown names.
async fn dummy_hash() -> Result<String, StoreError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_try_init(|| hash_password("no user has this password")).await.cloned()
}

fn user_view((id, name, role): (i64, String, String)) -> Result<UserView, StoreError> {
    let role = Role::parse(&role)
        .ok_or_else(|| StoreError::Corrupt(format!("user {id} has an unknown role `{role}`")))?;
    Ok(UserView { id, name, role })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;
    use super::*;

    store_tests! {
        async fn passwords_are_hashed_with_argon2id_and_checked(store) {
        let user = store.add_user("alice", Role::Operator, "correct horse").await.unwrap();
        assert_eq!((user.name.as_str(), user.role), ("alice", Role::Operator));
        let (hash,): (String,) =
            sqlx::query_as("SELECT password_hash FROM users").fetch_one(&store.pool).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert_eq!(
            store.verify_password("alice", "correct horse").await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(store.verify_password("ALICE", "correct horse").await.unwrap(), Some(user));
        assert_eq!(store.verify_password("alice", "wrong horse!").await.unwrap(), None);
        assert_eq!(store.verify_password("bob", "correct horse").await.unwrap(), None);
            }
    }

    store_tests! {
        async fn bad_names_passwords_and_duplicates_are_refused(store) {
        for (name, password) in [
            ("", "long enough!"),
            ("a b", "long enough!"),
            ("<x>", "long enough!"),
            ("ok", "short"),
        ] {
            let e = store.add_user(name, Role::Viewer, password).await.unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{name}: {e}");
        }
        store.add_user("alice", Role::Admin, "long enough!").await.unwrap();
        let e = store.add_user("Alice", Role::Viewer, "long enough!").await.unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
            }
    }

    store_tests! {
        async fn the_last_admin_can_be_neither_demoted_nor_deleted(store) {
        let admin = store.add_user("root", Role::Admin, "long enough!").await.unwrap();
        let viewer = store.add_user("eve", Role::Viewer, "long enough!").await.unwrap();
        assert!(matches!(
            store.set_role(admin.id, Role::Viewer).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(store.delete_user(admin.id).await, Err(StoreError::Conflict(_))));
        assert_eq!(store.users().await.unwrap()[0].role, Role::Admin, "rolled back");
        store.set_role(viewer.id, Role::Admin).await.unwrap();
        store.delete_user(admin.id).await.unwrap();
        assert_eq!(store.first_admin().await.unwrap().map(|u| u.name), Some("eve".into()));
        assert!(matches!(store.delete_user(admin.id).await, Err(StoreError::NotFound(_))));
            }
    }
}
