//! API tokens: random, shown once, stored as a hash, each acting as a user.

use sha2::{Digest, Sha256};
use sonde_web::api::{Role, TokenCreated, TokenView, UserView};
use sonde_web::{AuthMethod, Caller};

use super::backend::now;
use super::{Store, StoreError};

/// Tokens start with this so that leaked ones are easy to find in logs and repositories.
const TOKEN_PREFIX: &str = "sonde_";

/// Longest token name.
const MAX_TOKEN_NAME_CHARS: usize = 100;

impl Store {
    /// Creates a token named `name` for `user_id`; the clear token is returned once and only
    /// its hash is kept.
    pub async fn create_token(&self, user_id: i64, name: &str) -> Result<TokenCreated, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
            return Err(StoreError::Invalid(format!(
                "a token name must be 1 to {MAX_TOKEN_NAME_CHARS} characters"
            )));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_hex()?);
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO tokens (name, hash, user_id, created_at) \
             SELECT $1, $2, id, $3 FROM users WHERE id = $4 RETURNING id",
        )
        .bind(name)
        .bind(token_hash(&token))
        .bind(now())
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let (id,) = row.ok_or_else(|| StoreError::NotFound(format!("no user {user_id}")))?;
        Ok(TokenCreated { id, name: name.to_owned(), token })
    }

    /// The caller a token belongs to, or `None` when it is unknown, revoked or unowned.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, StoreError> {
        let row: Option<(i64, i64, String, String)> = sqlx::query_as(
            "UPDATE tokens SET last_used_at = $1 \
             WHERE hash = $2 AND revoked_at IS NULL AND user_id IS NOT NULL \
             RETURNING id, user_id, \
               (SELECT name FROM users WHERE users.id = tokens.user_id), \
               (SELECT role FROM users WHERE users.id = tokens.user_id)",
        )
        .bind(now())
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, user_id, name, role)) = row else { return Ok(None) };
        let role = Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("user {user_id} has role `{role}`")))?;
        Ok(Some(Caller {
            user: UserView { id: user_id, name, role },
            auth: AuthMethod::Token { id },
        }))
    }

    /// A user's live tokens.
    pub async fn tokens(&self, user_id: i64) -> Result<Vec<TokenView>, StoreError> {
        let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM tokens \
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, last_used_at)| TokenView {
                id,
                name,
                user_id,
                created_at,
                last_used_at,
            })
            .collect())
    }

    /// Revokes token `id`, when `owner` is `None` or owns it.
    pub async fn revoke_token(&self, owner: Option<i64>, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 \
             WHERE id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR user_id = $3)",
        )
        .bind(now())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no live token {id} of yours")));
        }
        Ok(())
    }
}

/// 256 random bits, hex.
pub fn random_hex() -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a secret: {e}")))?;
    Ok(hex(&secret))
}

/// SHA-256, hex: secrets carry 256 random bits, so a fast hash is enough.
pub(super) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;
    use super::*;

    store_tests! {
        async fn tokens_authenticate_only_themselves_as_their_user(store) {
            let user = store.add_user("ci", Role::Operator, "long enough!").await.unwrap();
            let created = store.create_token(user.id, "ci").await.unwrap();
            let token = &created.token;
            assert!(token.starts_with("sonde_") && token.len() == 6 + 64);
            let caller = store.authenticate(token).await.unwrap().unwrap();
            assert_eq!(caller.user, user);
            assert_eq!(caller.auth, AuthMethod::Token { id: created.id });
            assert!(store.authenticate("sonde_nope").await.unwrap().is_none());
            let stored: Vec<(String,)> =
                sqlx::query_as("SELECT hash FROM tokens").fetch_all(&store.pool).await.unwrap();
            assert!(
                stored.iter().all(|(h,)| !h.contains(&token[6..])),
                "the clear token is not stored"
            );
            assert_eq!(store.tokens(user.id).await.unwrap().len(), 1);
        }

        async fn revoked_tokens_and_tokens_of_deleted_users_are_dead(store) {
            store.add_user("root", Role::Admin, "long enough!").await.unwrap();
            let user = store.add_user("ci", Role::Viewer, "long enough!").await.unwrap();
            let other = store.add_user("bob", Role::Viewer, "long enough!").await.unwrap();
            let first = store.create_token(user.id, "one").await.unwrap();
            let second = store.create_token(user.id, "two").await.unwrap();
            assert!(matches!(
                store.revoke_token(Some(other.id), first.id).await,
                Err(StoreError::NotFound(_))
            ));
            store.revoke_token(Some(user.id), first.id).await.unwrap();
            assert!(store.authenticate(&first.token).await.unwrap().is_none());
            assert!(store.authenticate(&second.token).await.unwrap().is_some());
            store.delete_user(user.id).await.unwrap();
            assert!(store.authenticate(&second.token).await.unwrap().is_none());
        }
    }
}
