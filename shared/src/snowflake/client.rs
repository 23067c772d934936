//! SQL API v2 client over reqwest (rustls).

use std::sync::Arc;
use std::time::Duration;

use crate::keys::PrivateKey;

use super::{AccountIdentifier, SnowflakeError, Statement};

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub account: AccountIdentifier,
    /// The user's LOGIN_NAME (uppercased for the JWT).
    pub user: String,
    /// Overrides the base URL derived from the account (PrivateLink proxies, the local emulator).
    pub host: Option<url::Url>,
    pub role: Option<String>,
    pub warehouse: Option<String>,
}

/// Bounds for retries, polling and timeouts.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_total: Duration,
    pub request_timeout: Duration,
    pub poll_interval: Duration,
    pub max_poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_total: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(250),
            max_poll: Duration::from_secs(120),
        }
    }
}

/// All rows of a result, every partition fetched, values as strings (`None` for SQL NULL).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub statement_handle: Option<String>,
}

pub struct SqlApiClient {
    #[allow(dead_code)]
    http: reqwest::Client,
    #[allow(dead_code)]
    settings: ConnectionSettings,
    #[allow(dead_code)]
    key: Arc<PrivateKey>,
    #[allow(dead_code)]
    retry: RetryPolicy,
}

impl SqlApiClient {
    /// `http` is built once per cold start and shared by every client.
    pub fn new(
        http: reqwest::Client,
        settings: ConnectionSettings,
        key: Arc<PrivateKey>,
        retry: RetryPolicy,
    ) -> Result<Self, SnowflakeError> {
        Ok(SqlApiClient { http, settings, key, retry })
    }

    /// Runs one statement to completion (polling 202s, fetching all partitions).
    pub async fn execute(&self, statement: &Statement) -> Result<ResultSet, SnowflakeError> {
        let _ = statement;
        todo!("snowflake client helper")
    }
}
