//! Adapter: CloudTrail `LookupEvents`, read the way its limits demand.
//!
//! - One lookup attribute per call (`EventName`), 50 events a page, `NextToken` resent with the same
//!   parameters.
//! - LookupEvents allows 2 requests per second per account and region, shared by every caller. Every
//!   request here (retries included) first takes a token from that region's [`Pacer`], and the SDK's own
//!   retries are switched off so none bypasses it. A `ThrottlingException` (HTTP 400, not modelled, so
//!   it arrives as an unhandled error code) backs off exponentially and tries again.
//! - Events are handed on as the raw record JSON (`CloudTrailEvent`), so no SDK type reaches the
//!   audit domain.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::error::describe_chain;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use time::OffsetDateTime;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// LookupEvents' page size limit.
const PAGE_SIZE: i32 = 50;

/// Error codes worth retrying: throttling and CloudTrail's own transient failures.
const RETRYABLE_CODES: [&str; 4] = [
    "ThrottlingException",
    "ThrottledException",
    "InternalFailure",
    "ServiceUnavailable",
];

/// One event as LookupEvents returned it: the lookup fields the run needs, and the record as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookedUpEvent {
    pub event_id: String,
    pub event_name: String,
    pub region: String,
    /// `None` if CloudTrail left it out (the record carries its own `eventTime`).
    pub event_time: Option<OffsetDateTime>,
    /// The CloudTrail record, exactly as the `CloudTrailEvent` string carried it (it may be malformed).
    pub cloudtrail_event: String,
}

/// How fast to ask and how hard to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupPacing {
    /// Requests per second per region. CloudTrail allows 2 for the whole account; two audits on the
    /// same schedule share that, so the default takes half.
    pub requests_per_second: f64,
    /// Retries of one request after throttling or a transient failure.
    pub max_retries: u32,
    /// First backoff after throttling; doubled on every further retry, capped at 20 s.
    pub backoff_base: Duration,
}

impl Default for LookupPacing {
    fn default() -> Self {
        LookupPacing {
            requests_per_second: 1.0,
            max_retries: 8,
            backoff_base: Duration::from_millis(500),
        }
    }
}

/// Why a lookup could not finish. Events already handed on stay handed on; the caller must not treat
/// the window as fully read.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("LookupEvents {event_name} in {region} failed: {code}: {message}")]
    Service {
        region: String,
        event_name: String,
        code: String,
        message: String,
    },
    #[error(
        "LookupEvents {event_name} in {region} still throttled after {attempts} attempts; lower the request rate"
    )]
    Throttled {
        region: String,
        event_name: String,
        attempts: u32,
    },
    #[error("LookupEvents {event_name} in {region} failed: {message}")]
    Transport {
        region: String,
        event_name: String,
        message: String,
    },
}

/// A token bucket per region with a burst of one: requests leave evenly spaced, so jitter on the wire
/// never makes two arrive closer than CloudTrail's own bucket tolerates.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_free: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    pub fn new(requests_per_second: f64) -> Self {
        let interval = Duration::from_secs_f64(1.0 / requests_per_second.max(0.001));
        Pacer {
            interval,
            next_free: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `region` may send its next request, and books that slot.
    pub async fn wait_turn(&self, region: &str) {
        let slot = {
            let mut next_free = self.next_free.lock().await;
            let now = Instant::now();
            let slot = next_free
                .get(region)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next_free.insert(region.to_owned(), slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// Reads LookupEvents in several regions through one client per region, built once.
#[derive(Debug, Clone)]
pub struct CloudTrailReader {
    clients: HashMap<String, aws_sdk_cloudtrail::Client>,
    pacer: Arc<Pacer>,
    pacing: LookupPacing,
}

impl CloudTrailReader {
    /// One client per region from the shared SDK configuration (`AWS_ENDPOINT_URL_CLOUDTRAIL` etc.
    /// apply), with SDK retries off: retries go through the pacer here instead.
    pub fn new(
        sdk_config: &aws_config::SdkConfig,
        regions: &[String],
        pacing: LookupPacing,
    ) -> Self {
        let clients = regions
            .iter()
            .map(|region| {
                let config = aws_sdk_cloudtrail::config::Builder::from(sdk_config)
                    .region(aws_sdk_cloudtrail::config::Region::new(region.clone()))
                    .retry_config(aws_sdk_cloudtrail::config::retry::RetryConfig::disabled())
                    .build();
                (
                    region.clone(),
                    aws_sdk_cloudtrail::Client::from_conf(config),
                )
            })
            .collect();
        CloudTrailReader {
            clients,
            pacer: Arc::new(Pacer::new(pacing.requests_per_second)),
            pacing,
        }
    }

    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }

    /// Every `event_name` event in `region` between `start` and `end` (inclusive), newest first, page by
    /// page into `on_event`. Returns how many events were handed on.
    pub async fn for_each_event(
        &self,
        region: &str,
        event_name: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
        mut on_event: impl FnMut(LookedUpEvent),
    ) -> Result<u64, LookupError> {
        let client = self
            .clients
            .get(region)
            .unwrap_or_else(|| panic!("region {region} was not configured"));
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(event_name)
            .build()
            .expect("key and value are set");
        let mut next_token: Option<String> = None;
        let mut count = 0;
        loop {
            let request = client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(DateTime::from_secs(start.unix_timestamp()))
                .end_time(DateTime::from_secs(end.unix_timestamp()))
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.clone());
            let page = self.send_paced(region, event_name, request).await?;
            for event in page.events() {
                on_event(to_looked_up(region, event_name, event));
                count += 1;
            }
            next_token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if next_token.is_none() {
                return Ok(count);
            }
        }
    }

    async fn send_paced(
        &self,
        region: &str,
        event_name: &str,
        request: aws_sdk_cloudtrail::operation::lookup_events::builders::LookupEventsFluentBuilder,
    ) -> Result<aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput, LookupError> {
        let mut attempt = 0;
        loop {
            self.pacer.wait_turn(region).await;
            let err = match request.clone().send().await {
                Ok(page) => return Ok(page),
                Err(err) => err,
            };
            let code = err.code().map(str::to_owned);
            let retryable = match &code {
                Some(code) => RETRYABLE_CODES.contains(&code.as_str()),
                None => true, // timeouts and dropped connections
            };
            attempt += 1;
            if !retryable || attempt > self.pacing.max_retries {
                return Err(match code {
                    Some(code) if code.starts_with("Throttl") => LookupError::Throttled {
                        region: region.into(),
                        event_name: event_name.into(),
                        attempts: attempt,
                    },
                    Some(code) => LookupError::Service {
                        region: region.into(),
                        event_name: event_name.into(),
                        message: err.message().unwrap_or_default().to_owned(),
                        code,
                    },
                    None => LookupError::Transport {
                        region: region.into(),
                        event_name: event_name.into(),
                        message: describe_chain(&err),
                    },
                });
            }
            let backoff = self.backoff(attempt);
            tracing::warn!(
                region,
                event_name,
                attempt,
                code = code.as_deref().unwrap_or("transport"),
                backoff_ms = backoff.as_millis() as u64,
                "LookupEvents retry"
            );
            tokio::time::sleep(backoff).await;
        }
    }

    /// Exponential with full jitter, so callers sharing the budget do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .pacing
            .backoff_base
            .saturating_mul(1 << attempt.min(10))
            .min(Duration::from_secs(20));
        ceiling.mul_f64(0.5 + rand::random::<f64>() / 2.0)
    }
}

/// Never fails: a page with an odd event must not stall the region's watermark forever. The record
/// itself (`CloudTrailEvent`) is what the rules judge, and they count what they cannot read.
fn to_looked_up(
    region: &str,
    event_name: &str,
    event: &aws_sdk_cloudtrail::types::Event,
) -> LookedUpEvent {
    LookedUpEvent {
        event_id: event.event_id().unwrap_or_default().to_owned(),
        event_name: event.event_name().unwrap_or(event_name).to_owned(),
        region: region.to_owned(),
        event_time: event
            .event_time()
            .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()),
        cloudtrail_event: event.cloud_trail_event().unwrap_or_default().to_owned(),
    }
}
