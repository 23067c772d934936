//! The `LookupEvents` request and response shapes, and the request validation CloudTrail performs.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::TokenBinding;
use crate::store::{AttributeKey, Category, Query, StoredEvent};

/// A modeled service error: the `__type` code and its message, answered with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceError {
    pub code: &'static str,
    pub message: String,
}

impl ServiceError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LookupEventsRequest {
    #[serde(default)]
    pub lookup_attributes: Option<Vec<LookupAttribute>>,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub event_category: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LookupAttribute {
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
}

/// A request after validation: what to look up, how many, and what a NextToken must be bound to.
pub(crate) struct ValidLookup {
    pub query: Query,
    pub limit: usize,
    /// Every parameter except NextToken (and MaxResults, if so configured), encoded, plus the region.
    pub binding: String,
}

pub(crate) const MAX_RESULTS: i64 = 50;

/// Validates a request the way CloudTrail does. `retention` cuts off old events silently.
pub(crate) fn validate(
    req: &LookupEventsRequest,
    region: &str,
    now: OffsetDateTime,
    retention: Duration,
    token_binding: TokenBinding,
) -> Result<ValidLookup, ServiceError> {
    let attrs = req.lookup_attributes.as_deref().unwrap_or_default();
    if attrs.len() > 1 {
        return Err(ServiceError::new(
            "InvalidLookupAttributesException",
            "You can only specify one lookup attribute.",
        ));
    }
    let attribute = match attrs.first() {
        None => None,
        Some(attr) => {
            let key = attr
                .attribute_key
                .as_deref()
                .and_then(AttributeKey::parse)
                .ok_or_else(|| {
                    ServiceError::new(
                        "InvalidLookupAttributesException",
                        "The lookup attribute key is not valid.",
                    )
                })?;
            let value = attr
                .attribute_value
                .clone()
                .filter(|v| (1..=2000).contains(&weighted_length(v)))
                .ok_or_else(|| {
                    ServiceError::new(
                        "InvalidLookupAttributesException",
                        "The lookup attribute value must be 1 to 2000 characters ('_', ' ', ',' and newline count twice).",
                    )
                })?;
            Some((key, value))
        }
    };
    let category = match req.event_category.as_deref() {
        None => Category::Management,
        Some("insight") => Category::Insight,
        Some(other) => {
            return Err(ServiceError::new(
                "InvalidEventCategoryException",
                format!(
                    "Event category '{other}' is not valid; the only valid value is 'insight'."
                ),
            ));
        }
    };
    if category == Category::Insight
        && let Some((key, _)) = &attribute
        && !matches!(
            key,
            AttributeKey::EventId | AttributeKey::EventName | AttributeKey::EventSource
        )
    {
        return Err(ServiceError::new(
            "InvalidLookupAttributesException",
            "Insights events can be looked up by EventId, EventName or EventSource only.",
        ));
    }
    let limit = match req.max_results {
        None => MAX_RESULTS,
        Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(n) => {
            return Err(ServiceError::new(
                "InvalidMaxResultsException",
                format!("MaxResults {n} is not valid; it must be between 1 and {MAX_RESULTS}."),
            ));
        }
    };
    let now_nanos = now.unix_timestamp_nanos();
    let end_nanos = req.end_time.map_or(now_nanos, seconds_to_nanos);
    let start_nanos = req.start_time.map_or(i128::MIN, seconds_to_nanos);
    if start_nanos > end_nanos {
        return Err(ServiceError::new(
            "InvalidTimeRangeException",
            "Start time must not be after end time.",
        ));
    }
    // Older events are simply not there any more: no error, just nothing.
    let oldest = now_nanos - retention.whole_nanoseconds();
    let query = Query {
        start_nanos: start_nanos.max(oldest),
        end_nanos,
        category,
        attribute,
    };
    let bound_max_results = match token_binding {
        TokenBinding::AllParameters => req.max_results,
        TokenBinding::IgnoreMaxResults => None,
    };
    let binding = serde_json::json!([
        region,
        attrs,
        req.start_time,
        req.end_time,
        req.event_category,
        bound_max_results
    ])
    .to_string();
    Ok(ValidLookup {
        query,
        limit: limit as usize,
        binding,
    })
}

/// The attribute value length as CloudTrail counts it: characters, with '_', ' ', ',' and '\n'
/// counting twice (botocore's model of `LookupAttribute.AttributeValue`).
fn weighted_length(value: &str) -> usize {
    value
        .chars()
        .map(|c| {
            if matches!(c, '_' | ' ' | ',' | '\n') {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Epoch seconds (float on the wire) to nanoseconds, at microsecond precision so a bound the client
/// formatted from a whole second compares equal to an event at that second.
fn seconds_to_nanos(seconds: f64) -> i128 {
    (seconds * 1e6).round() as i128 * 1000
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LookupEventsResponse {
    pub events: Vec<WireEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireEvent {
    event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_only: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    /// Epoch seconds, as awsJson1_1 encodes timestamps.
    event_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    resources: Vec<WireResource>,
    cloud_trail_event: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireResource {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
}

impl From<StoredEvent> for WireEvent {
    fn from(ev: StoredEvent) -> Self {
        WireEvent {
            event_time: ev.time_nanos as f64 / 1e9,
            event_id: ev.event_id,
            event_name: ev.event_name,
            read_only: ev.read_only,
            access_key_id: ev.access_key_id,
            event_source: ev.event_source,
            username: ev.username,
            resources: ev
                .resources
                .into_iter()
                .map(|(resource_type, resource_name)| WireResource {
                    resource_type,
                    resource_name,
                })
                .collect(),
            cloud_trail_event: ev.cloudtrail_event,
        }
    }
}
