//! SQL API v2 client over reqwest (rustls).
//!
//! One logical statement = one `requestId`. Every resend (after a 401, a 429/5xx, a timeout or a
//! dropped connection) carries the same id and `retry=true`, so Snowflake never runs it twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde_json::{Value, json};
use uuid::Uuid;

use super::jwt::TokenCache;
use super::wire::{self, Reply};
use super::{AccountIdentifier, SnowflakeError, Statement};
use crate::keys::PrivateKey;

const USER_AGENT_VALUE: &str = concat!("snowkey/", env!("CARGO_PKG_VERSION"));

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
    /// Sends of one request, first one included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Wall-clock budget for all sends of one request, waits included.
    pub max_total: Duration,
    /// One send. Snowflake holds a synchronous request up to 45 s before answering 202.
    pub request_timeout: Duration,
    pub poll_interval: Duration,
    /// How long to poll a 202 before giving up.
    pub max_poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_total: Duration::from_secs(150),
            request_timeout: Duration::from_secs(60),
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
    http: reqwest::Client,
    settings: ConnectionSettings,
    base: url::Url,
    tokens: TokenCache,
    retry: RetryPolicy,
}

enum Method<'a> {
    Post(&'a Value),
    Get,
}

impl SqlApiClient {
    /// `http` is built once per cold start and shared by every client.
    pub fn new(
        http: reqwest::Client,
        settings: ConnectionSettings,
        key: Arc<PrivateKey>,
        retry: RetryPolicy,
    ) -> Result<Self, SnowflakeError> {
        let base = match &settings.host {
            Some(host) => validated_host(host)?,
            None => settings.account.base_url(),
        };
        let tokens = TokenCache::new(settings.account.clone(), &settings.user, key)?;
        Ok(SqlApiClient {
            http,
            settings,
            base,
            tokens,
            retry,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &url::Url {
        &self.base
    }

    /// Runs one statement to completion (polling 202s, fetching all partitions).
    pub async fn execute(&self, statement: &Statement) -> Result<ResultSet, SnowflakeError> {
        let request_id = Uuid::new_v4();
        let mut body = json!({ "statement": statement.sql() });
        if let Some(role) = &self.settings.role {
            body["role"] = json!(role);
        }
        if let Some(warehouse) = &self.settings.warehouse {
            body["warehouse"] = json!(warehouse);
        }
        let url = self.endpoint("api/v2/statements")?;
        let mut reply = self.send(&url, Method::Post(&body), request_id).await?;
        if reply.status == 202 {
            reply = self.poll(&reply.body, request_id).await?;
        }
        let (mut result, partitions) = wire::parse_result_set(&reply.body)?;
        for partition in 1..partitions {
            let handle = result.statement_handle.clone().ok_or_else(|| {
                SnowflakeError::Protocol("a partitioned result carried no statementHandle".into())
            })?;
            let mut url = self.status_url(&handle)?;
            url.query_pairs_mut()
                .append_pair("partition", &partition.to_string());
            let page = self.send(&url, Method::Get, Uuid::new_v4()).await?;
            if page.status != 200 || page.body.get("data").is_none() {
                return Err(SnowflakeError::Protocol(format!(
                    "partition {partition} of statement {handle} came back without rows (HTTP {})",
                    page.status
                )));
            }
            result.rows.extend(wire::parse_rows(&page.body)?);
        }
        // A short result would silently hide rows (a key slot, say): refuse it instead.
        if let Some(expected) = wire::row_count(&reply.body)
            && expected != result.rows.len()
        {
            return Err(SnowflakeError::Protocol(format!(
                "expected {expected} rows but received {}",
                result.rows.len()
            )));
        }
        Ok(result)
    }

    /// Polls `GET /api/v2/statements/<handle>` until it answers 200, within `max_poll`.
    async fn poll(&self, accepted: &Value, request_id: Uuid) -> Result<Reply, SnowflakeError> {
        let handle = wire::statement_handle(accepted)?;
        let url = self.status_url(&handle)?;
        let started = Instant::now();
        let mut interval = self.retry.poll_interval;
        loop {
            if started.elapsed() + interval > self.retry.max_poll {
                return Err(SnowflakeError::StillRunning {
                    statement_handle: handle,
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(interval).await;
            let reply = self.send(&url, Method::Get, request_id).await?;
            if reply.status == 200 {
                return Ok(reply);
            }
            interval = (interval * 2).min(Duration::from_secs(2));
        }
    }

    /// One request, resent on 401 (once, with a new JWT), 429, 5xx, timeouts and connection
    /// errors. Returns 200 and 202; everything else becomes a typed error.
    async fn send(
        &self,
        url: &url::Url,
        method: Method<'_>,
        request_id: Uuid,
    ) -> Result<Reply, SnowflakeError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reminted = false;
        loop {
            attempt += 1;
            let remaining = self.retry.max_total.saturating_sub(started.elapsed());
            let timeout = self
                .retry
                .request_timeout
                .min(remaining)
                .max(Duration::from_millis(1));
            let jwt = self.tokens.token()?;
            let mut bearer =
                HeaderValue::try_from(format!("Bearer {}", jwt.expose())).map_err(|_| {
                    SnowflakeError::Signing("the JWT is not a valid header value".into())
                })?;
            bearer.set_sensitive(true);
            let request = match method {
                Method::Post(body) => {
                    let mut query = vec![("requestId", request_id.to_string())];
                    if attempt > 1 {
                        query.push(("retry", "true".into()));
                    }
                    self.http.post(url.clone()).query(&query).json(body)
                }
                Method::Get => self.http.get(url.clone()),
            };
            let request = request
                .header(AUTHORIZATION, bearer)
                .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
                .header(USER_AGENT, USER_AGENT_VALUE)
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json")
                .timeout(timeout);

            let failure = match receive(request).await {
                Ok(reply) => match reply.status {
                    200 | 202 => return Ok(reply),
                    401 if !reminted => {
                        reminted = true;
                        tracing::info!(%request_id, "SQL API answered 401; minting a new JWT once");
                        self.tokens.refresh()?;
                        continue;
                    }
                    401 => return Err(wire::authentication_error(&reply.body)),
                    422 => return Err(wire::sql_error(&reply.body)),
                    429 | 500 | 502 | 503 | 504 => {
                        format!("HTTP {} ({})", reply.status, wire::message(&reply.body))
                    }
                    status => {
                        return Err(SnowflakeError::Http {
                            status,
                            message: wire::message(&reply.body),
                        });
                    }
                },
                Err(transport) => {
                    describe_transport(&transport, self.base.host_str().unwrap_or("?"), timeout)
                }
            };

            let delay = self.backoff(attempt);
            if attempt >= self.retry.max_attempts
                || started.elapsed() + delay >= self.retry.max_total
            {
                return Err(SnowflakeError::RetriesExhausted {
                    attempts: attempt,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                    last: failure,
                });
            }
            tracing::warn!(%request_id, attempt, delay_ms = delay.as_millis() as u64, %failure, "retrying SQL API request");
            tokio::time::sleep(delay).await;
        }
    }

    /// Exponential backoff with equal jitter: half fixed, half random, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        use rand::Rng;
        let exponential = self
            .retry
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exponential.min(self.retry.max_backoff);
        let half = cap / 2;
        half + half.mul_f64(rand::rng().random_range(0.0..=1.0))
    }

    fn endpoint(&self, path: &str) -> Result<url::Url, SnowflakeError> {
        self.base
            .join(path)
            .map_err(|e| SnowflakeError::InvalidHost(format!("{}: {e}", self.base)))
    }

    /// Built from the handle, never from a server-supplied URL, so the JWT only goes to our host.
    fn status_url(&self, handle: &str) -> Result<url::Url, SnowflakeError> {
        if handle.is_empty()
            || !handle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(SnowflakeError::Protocol(format!(
                "malformed statementHandle {handle:?}"
            )));
        }
        self.endpoint(&format!("api/v2/statements/{handle}"))
    }
}

async fn receive(request: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok(Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}

/// A transport failure in words, with the root cause (reqwest's own message is vague).
fn describe_transport(error: &reqwest::Error, host: &str, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer from {host} within {} ms", timeout.as_millis());
    }
    let mut root: &dyn std::error::Error = error;
    while let Some(next) = root.source() {
        root = next;
    }
    let what = if error.is_connect() {
        "could not connect to"
    } else {
        "connection to"
    };
    format!("{what} {host} failed: {root}")
}

/// An explicit host must be an http(s) base URL; a path is kept as a prefix.
fn validated_host(host: &url::Url) -> Result<url::Url, SnowflakeError> {
    if !host.username().is_empty() || host.password().is_some() {
        return Err(SnowflakeError::InvalidHost(
            "it contains credentials; give only https://host[:port]".into(),
        ));
    }
    if !matches!(host.scheme(), "https" | "http") || host.host_str().is_none() {
        return Err(SnowflakeError::InvalidHost(format!(
            "{host}: use https://host[:port]"
        )));
    }
    // The JWT is a bearer credential: plain http only to this machine (a local emulator or proxy).
    if host.scheme() == "http" && !is_loopback(host) {
        return Err(SnowflakeError::InvalidHost(format!(
            "{host}: plain http would send the JWT unencrypted; use https (http is allowed only for localhost)"
        )));
    }
    if host.query().is_some() || host.fragment().is_some() {
        return Err(SnowflakeError::InvalidHost(format!(
            "{host}: no query or fragment allowed"
        )));
    }
    let mut base = host.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    Ok(base)
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
