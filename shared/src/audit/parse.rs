//! Turning each source's bytes into [`CloudTrailRecord`]s: a `LookupEvents` `CloudTrailEvent`
//! string, an EventBridge "AWS API Call via CloudTrail" event, or one element of an S3 log file
//! (see [`super::stream`] for the file itself).

use serde::Deserialize;

use super::record::{CloudTrailRecord, MAX_RECORD_BYTES};

/// Why a record was skipped. Each is counted, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not JSON, a required field missing, or a field of the wrong type.
    Malformed,
    /// `userIdentity.type` is not one CloudTrail documents.
    UnknownIdentityType,
    /// Larger than [`MAX_RECORD_BYTES`].
    Oversize,
    /// An EventBridge event that does not carry a CloudTrail record.
    NotCloudTrail,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Malformed => "malformed",
            SkipReason::UnknownIdentityType => "unknown identity type",
            SkipReason::Oversize => "oversize",
            SkipReason::NotCloudTrail => "not a CloudTrail event",
        }
    }
}

/// A record that could not be read. The message names the cause, never the record's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CloudTrail record skipped ({}): {detail}", reason.as_str())]
pub struct RecordError {
    pub reason: SkipReason,
    pub detail: String,
}

impl RecordError {
    pub(crate) fn new(reason: SkipReason, detail: impl Into<String>) -> Self {
        RecordError {
            reason,
            detail: detail.into(),
        }
    }

    fn oversize(len: usize) -> Self {
        Self::new(
            SkipReason::Oversize,
            format!("{len} bytes, limit {MAX_RECORD_BYTES}"),
        )
    }

    fn from_serde(e: &serde_json::Error) -> Self {
        // serde_json's messages quote field names and positions, not values of fields we keep.
        let msg = e.to_string();
        let reason = if msg.contains("unknown variant") {
            SkipReason::UnknownIdentityType
        } else {
            SkipReason::Malformed
        };
        // Keep only the part before the value quote so odd content never reaches a log.
        let detail = match reason {
            SkipReason::UnknownIdentityType => {
                "userIdentity.type is not a documented type".to_string()
            }
            _ => format!("{} at line {} column {}", category(e), e.line(), e.column()),
        };
        Self::new(reason, detail)
    }
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "missing or mistyped field",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

/// One record as raw JSON bytes (an S3 log element, a JSON line).
pub fn parse_record(json: &[u8]) -> Result<CloudTrailRecord, RecordError> {
    if json.len() > MAX_RECORD_BYTES {
        return Err(RecordError::oversize(json.len()));
    }
    serde_json::from_slice(json).map_err(|e| RecordError::from_serde(&e))
}

/// `LookupEvents`' `Events[].CloudTrailEvent`: the record as a JSON string.
pub fn parse_lookup_event(cloudtrail_event: &str) -> Result<CloudTrailRecord, RecordError> {
    parse_record(cloudtrail_event.as_bytes())
}

/// An EventBridge event whose `detail-type` is "AWS API Call via CloudTrail" (or another
/// CloudTrail-delivered type, e.g. "AWS Console Sign In via CloudTrail"): `detail` is the record.
pub fn parse_eventbridge_event(json: &[u8]) -> Result<CloudTrailRecord, RecordError> {
    if json.len() > MAX_RECORD_BYTES {
        return Err(RecordError::oversize(json.len()));
    }
    #[derive(Deserialize)]
    struct Envelope {
        detail: CloudTrailRecord,
    }
    #[derive(Deserialize)]
    struct DetailTypeOnly {
        #[serde(rename = "detail-type", default)]
        detail_type: String,
    }
    let kind: DetailTypeOnly =
        serde_json::from_slice(json).map_err(|e| RecordError::from_serde(&e))?;
    if !kind.detail_type.contains("via CloudTrail") {
        return Err(RecordError::new(
            SkipReason::NotCloudTrail,
            "detail-type is not a CloudTrail delivery",
        ));
    }
    let env: Envelope = serde_json::from_slice(json).map_err(|e| RecordError::from_serde(&e))?;
    Ok(env.detail)
}

/// The `detail` of an EventBridge event the caller already deserialised (e.g. `aws_lambda_events`).
pub fn record_from_detail(detail: serde_json::Value) -> Result<CloudTrailRecord, RecordError> {
    serde_json::from_value(detail).map_err(|e| RecordError::from_serde(&e))
}

/// Any single element whose shape is not known in advance: a bare record, a `LookupEvents`
/// event (`CloudTrailEvent` string) or an EventBridge envelope (`detail-type` + `detail`).
pub fn parse_any(json: &[u8]) -> Result<CloudTrailRecord, RecordError> {
    if json.len() > MAX_RECORD_BYTES {
        return Err(RecordError::oversize(json.len()));
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "CloudTrailEvent")]
        cloudtrail_event: Option<String>,
        #[serde(rename = "detail-type")]
        detail_type: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(json).map_err(|e| RecordError::from_serde(&e))?;
    if let Some(inner) = probe.cloudtrail_event {
        parse_lookup_event(&inner)
    } else if probe.detail_type.is_some() {
        parse_eventbridge_event(json)
    } else {
        parse_record(json)
    }
}

/// Records skipped so far, by reason: what the warning counters report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SkipCounts {
    pub malformed: u64,
    pub unknown_identity_type: u64,
    pub oversize: u64,
    pub not_cloudtrail: u64,
}

impl SkipCounts {
    pub fn add(&mut self, reason: SkipReason) {
        match reason {
            SkipReason::Malformed => self.malformed += 1,
            SkipReason::UnknownIdentityType => self.unknown_identity_type += 1,
            SkipReason::Oversize => self.oversize += 1,
            SkipReason::NotCloudTrail => self.not_cloudtrail += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.malformed + self.unknown_identity_type + self.oversize + self.not_cloudtrail
    }
}
