//! The per-region event history: CloudTrail records turned into `LookupEvents` events, kept newest first.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a record cannot go into the event history.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record #{index} has no string `eventID`")]
    NoEventId { index: usize },
    #[error("record #{index} ({event_id}) has no RFC 3339 `eventTime`")]
    NoEventTime { index: usize, event_id: String },
}

/// An event given by its lookup fields, with `CloudTrailEvent` text taken verbatim.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub event_id: String,
    pub event_name: String,
    pub event_time: OffsetDateTime,
    pub cloudtrail_event: String,
}

/// Position in newest-first order: later time first, then higher event id first (a stable tie-break).
pub(crate) type SortKey = (Reverse<i128>, Reverse<String>);

/// Which part of the history a record belongs to. Event history holds management events only
/// (plus Insights events, reachable with `EventCategory=insight`); data events never show up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Management,
    Insight,
    NotInHistory,
}

/// One event as `LookupEvents` reports it, derived from a record the way CloudTrail does.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub time_nanos: i128,
    pub event_id: String,
    pub event_name: Option<String>,
    pub read_only: Option<String>,
    pub access_key_id: Option<String>,
    pub event_source: Option<String>,
    pub username: Option<String>,
    /// (ResourceType, ResourceName) pairs from the record's `resources` (`type`, `ARN`).
    pub resources: Vec<(Option<String>, Option<String>)>,
    pub category: Category,
    /// The record itself, as the JSON string `CloudTrailEvent` carries.
    pub cloudtrail_event: String,
}

impl StoredEvent {
    pub(crate) fn from_record(index: usize, record: &Value) -> Result<Self, RecordError> {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let event_id = text(record, "eventID").ok_or(RecordError::NoEventId { index })?;
        let time = record
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or_else(|| RecordError::NoEventTime {
                index,
                event_id: event_id.clone(),
            })?;
        let identity = record.get("userIdentity").cloned().unwrap_or(Value::Null);
        let read_only = match record.get("readOnly") {
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let resources = record
            .get("resources")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|r| (text(r, "type"), text(r, "ARN")))
                    .collect()
            })
            .unwrap_or_default();
        Ok(StoredEvent {
            time_nanos: time.unix_timestamp_nanos(),
            event_name: text(record, "eventName"),
            read_only,
            access_key_id: text(&identity, "accessKeyId"),
            event_source: text(record, "eventSource"),
            username: username(&identity),
            resources,
            category: category(record),
            cloudtrail_event: record.to_string(),
            event_id,
        })
    }

    pub(crate) fn from_raw(raw: RawEvent) -> Self {
        StoredEvent {
            time_nanos: raw.event_time.unix_timestamp_nanos(),
            event_id: raw.event_id,
            event_name: Some(raw.event_name),
            read_only: None,
            access_key_id: None,
            event_source: None,
            username: None,
            resources: Vec::new(),
            category: Category::Management,
            cloudtrail_event: raw.cloudtrail_event,
        }
    }

    pub(crate) fn sort_key(&self) -> SortKey {
        (Reverse(self.time_nanos), Reverse(self.event_id.clone()))
    }
}

/// Event history's "User name": the IAM user name, the role session name for assumed roles
/// (the last segment of the assumed-role ARN), `root`, or the invoking service.
fn username(identity: &Value) -> Option<String> {
    let field = |key: &str| identity.get(key).and_then(Value::as_str);
    if let Some(name) = field("userName") {
        return Some(name.to_owned());
    }
    match field("type")? {
        "AssumedRole" | "FederatedUser" => field("arn")
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned),
        "Root" => Some("root".to_owned()),
        "AWSService" => field("invokedBy").map(str::to_owned),
        _ => None,
    }
}

fn category(record: &Value) -> Category {
    match record.get("eventCategory").and_then(Value::as_str) {
        Some("Insight") => Category::Insight,
        Some("Management") | None if record.get("managementEvent") != Some(&Value::Bool(false)) => {
            Category::Management
        }
        _ => Category::NotInHistory,
    }
}

/// The lookup attribute keys CloudTrail accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeKey {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl AttributeKey {
    pub(crate) fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "EventId" => Self::EventId,
            "EventName" => Self::EventName,
            "ReadOnly" => Self::ReadOnly,
            "Username" => Self::Username,
            "ResourceType" => Self::ResourceType,
            "ResourceName" => Self::ResourceName,
            "EventSource" => Self::EventSource,
            "AccessKeyId" => Self::AccessKeyId,
            _ => return None,
        })
    }
}

/// A validated lookup: effective inclusive time bounds (nanoseconds), category and at most one attribute.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub start_nanos: i128,
    pub end_nanos: i128,
    pub category: Category,
    pub attribute: Option<(AttributeKey, String)>,
}

impl Query {
    fn matches(&self, ev: &StoredEvent) -> bool {
        if ev.category != self.category
            || ev.time_nanos < self.start_nanos
            || ev.time_nanos > self.end_nanos
        {
            return false;
        }
        let Some((key, value)) = &self.attribute else {
            return true;
        };
        let is = |field: &Option<String>| field.as_deref() == Some(value.as_str());
        match key {
            AttributeKey::EventId => ev.event_id == *value,
            AttributeKey::EventName => is(&ev.event_name),
            AttributeKey::ReadOnly => is(&ev.read_only),
            AttributeKey::Username => is(&ev.username),
            AttributeKey::EventSource => is(&ev.event_source),
            AttributeKey::AccessKeyId => is(&ev.access_key_id),
            AttributeKey::ResourceType => ev.resources.iter().any(|(t, _)| is(t)),
            AttributeKey::ResourceName => ev.resources.iter().any(|(_, n)| is(n)),
        }
    }
}

/// One page of results and, when more match, the position of the last event returned.
pub(crate) struct Page {
    pub events: Vec<StoredEvent>,
    pub resume_after: Option<SortKey>,
}

/// The event history of one region.
#[derive(Debug, Default)]
pub(crate) struct RegionHistory {
    events: BTreeMap<SortKey, StoredEvent>,
}

impl RegionHistory {
    /// Adds events; a record seen again (same time and id) replaces the earlier copy.
    pub(crate) fn insert(&mut self, event: StoredEvent) {
        self.events.insert(event.sort_key(), event);
    }

    /// Up to `limit` matching events, newest first, strictly after `after` when resuming.
    pub(crate) fn page(&self, query: &Query, after: Option<&SortKey>, limit: usize) -> Page {
        use std::ops::Bound::{Excluded, Unbounded};
        let lower = after.map_or(Unbounded, |k| Excluded(k.clone()));
        let mut matching = self
            .events
            .range((lower, Unbounded))
            .map(|(_, ev)| ev)
            .skip_while(|ev| ev.time_nanos > query.end_nanos)
            .take_while(|ev| ev.time_nanos >= query.start_nanos)
            .filter(|ev| query.matches(ev));
        let events: Vec<StoredEvent> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        let resume_after = if more {
            events.last().map(StoredEvent::sort_key)
        } else {
            None
        };
        Page {
            events,
            resume_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derives_lookup_fields_like_cloudtrail() {
        let record = json!({
            "eventID": "e1", "eventTime": "2024-10-17T21:48:45Z", "eventName": "GetSecretValue",
            "eventSource": "secretsmanager.amazonaws.com", "readOnly": true,
            "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE",
                "arn": "arn:aws:sts::123456789012:assumed-role/Role/my-session"},
            "resources": [{"ARN": "arn:aws:iam::1:role/R", "type": "AWS::IAM::Role"}]
        });
        let ev = StoredEvent::from_record(0, &record).unwrap();
        assert_eq!(ev.username.as_deref(), Some("my-session"));
        assert_eq!(ev.read_only.as_deref(), Some("true"));
        assert_eq!(ev.access_key_id.as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(
            ev.resources,
            vec![(
                Some("AWS::IAM::Role".into()),
                Some("arn:aws:iam::1:role/R".into())
            )]
        );
        assert_eq!(ev.category, Category::Management);
    }

    #[test]
    fn data_events_are_not_in_event_history() {
        let record =
            json!({"eventID": "d", "eventTime": "2024-01-01T00:00:00Z", "eventCategory": "Data"});
        assert_eq!(
            StoredEvent::from_record(0, &record).unwrap().category,
            Category::NotInHistory
        );
    }

    #[test]
    fn a_record_without_time_is_refused() {
        let err = StoredEvent::from_record(3, &json!({"eventID": "x"})).unwrap_err();
        assert!(err.to_string().contains("record #3 (x)"), "{err}");
    }
}
