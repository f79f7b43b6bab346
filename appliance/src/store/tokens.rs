//! API tokens: random, shown once, stored as a hash.

use sha2::{Digest, Sha256};
use sonde_web::Caller;

use super::backend::now;
use super::{Store, StoreError};

/// Tokens start with this so that leaked ones are easy to find in logs and repositories.
const TOKEN_PREFIX: &str = "sonde_";

impl Store {
    /// Creates a token named `name` and returns it in clear; only its hash is kept.
    pub async fn create_token(&self, name: &str) -> Result<String, StoreError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a token: {e}")))?;
        let token = format!("{TOKEN_PREFIX}{}", hex(&secret));
        sqlx::query("INSERT INTO tokens (name, hash, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(token_hash(&token))
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    /// The caller a token belongs to, or `None` when it is unknown or revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "UPDATE tokens SET last_used_at = $1 WHERE hash = $2 AND revoked_at IS NULL \
             RETURNING id, name",
        )
        .bind(now())
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(token_id, token_name)| Caller { token_id, token_name }))
    }
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;

    store_tests! {
        async fn tokens_authenticate_only_themselves(store) {
            let token = store.create_token("ci").await.unwrap();
            assert!(token.starts_with("sonde_") && token.len() == 6 + 64);
            let caller = store.authenticate(&token).await.unwrap().unwrap();
            assert_eq!(caller.token_name, "ci");
            assert!(store.authenticate("sonde_nope").await.unwrap().is_none());
            let stored: Vec<(String,)> =
                sqlx::query_as("SELECT hash FROM tokens").fetch_all(&store.pool).await.unwrap();
            assert!(
                stored.iter().all(|(h,)| !h.contains(&token[6..])),
                "the clear token is not stored"
            );
        }
    }
}
