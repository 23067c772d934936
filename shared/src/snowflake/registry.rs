//! The key-registry adapter: Snowflake's two key slots of a user, over the SQL API.

use super::{RetryPolicy, Slot, SnowflakeError, SqlApiClient, UserKeySlots, statements};
use crate::keys::PublicKey;
use crate::rotation::ports::{Connection, KeyRegistry, SetKeyOutcome};

/// How Snowflake words a refused key (the same key in both slots, among other causes).
const KEY_REJECTED_PREFIX: &str = "SQL execution error:\nNew public key rejected by current policy";

/// [`KeyRegistry`] over the SQL API. Holds the one HTTP client of the process; opens a fresh
/// [`SqlApiClient`] (and so a fresh JWT) per call, because connections come and go per step.
#[derive(Debug, Clone)]
pub struct SqlApiKeyRegistry {
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl SqlApiKeyRegistry {
    pub fn new(http: reqwest::Client, retry: RetryPolicy) -> Self {
        SqlApiKeyRegistry { http, retry }
    }

    fn client(&self, conn: &Connection) -> Result<SqlApiClient, SnowflakeError> {
        SqlApiClient::new(
            self.http.clone(),
            conn.settings.clone(),
            conn.key.clone(),
            self.retry.clone(),
        )
    }
}

impl KeyRegistry for SqlApiKeyRegistry {
    async fn describe_user(
        &self,
        conn: &Connection,
        target_user: &str,
    ) -> Result<UserKeySlots, SnowflakeError> {
        let statement = statements::desc_user(target_user)?;
        let result = self.client(conn)?.execute(&statement).await?;
        UserKeySlots::from_result_set(&result)
    }

    async fn set_key(
        &self,
        conn: &Connection,
        target_user: &str,
        slot: Slot,
        key: &PublicKey,
    ) -> Result<SetKeyOutcome, SnowflakeError> {
        let statement = statements::set_public_key(target_user, slot, key)?;
        match self.client(conn)?.execute(&statement).await {
            Ok(_) => Ok(SetKeyOutcome::Set),
            Err(SnowflakeError::Sql { message, .. })
                if message.starts_with(KEY_REJECTED_PREFIX) =>
            {
                // One line: Snowflake's message starts "SQL execution error:\n…".
                Ok(SetKeyOutcome::RejectedByPolicy {
                    reason: message.split_whitespace().collect::<Vec<_>>().join(" "),
                })
            }
            Err(other) => Err(other),
        }
    }

    async fn unset_key(
        &self,
        conn: &Connection,
        target_user: &str,
        slot: Slot,
    ) -> Result<(), SnowflakeError> {
        let statement = statements::unset_public_key(target_user, slot)?;
        self.client(conn)?.execute(&statement).await.map(|_| ())
    }

    async fn current_user(&self, conn: &Connection) -> Result<String, SnowflakeError> {
        let result = self
            .client(conn)?
            .execute(&statements::select_current_user())
            .await?;
        result
            .rows
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .ok_or_else(|| {
                SnowflakeError::Protocol("SELECT CURRENT_USER() returned no value".into())
            })
    }
}
