//! The same audits in real time: one EventBridge "AWS API Call via CloudTrail" event at a time.
//!
//! Findings go through the scheduled run's dedup and digests ([`super::run::publish_new`]) against the
//! watermark state of the record's region, so the next scan, which meets the same record through
//! LookupEvents, does not publish it again. The scan watermark itself never moves here: only a scan
//! can say "everything up to here was read".

use serde::Serialize;
use serde_json::Value;

use super::run::{RecordAudit, RegionReport, publish_new};
use crate::audit::{SkipCounts, SkipReason, parse_eventbridge_event};
use crate::aws::watermark::{WatermarkError, WatermarkStore};
use crate::rotation::Notifier;

/// The EventBridge `detail-type` of a management API call recorded by CloudTrail.
pub const API_CALL_VIA_CLOUDTRAIL: &str = "AWS API Call via CloudTrail";

/// Whether a Lambda payload is a real-time CloudTrail event; anything else (the scheduler's payload,
/// `{}`) asks for a scheduled scan.
pub fn is_api_call_event(payload: &Value) -> bool {
    payload.get("detail-type").and_then(Value::as_str) == Some(API_CALL_VIA_CLOUDTRAIL)
}

/// What one real-time event led to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventReport {
    pub event_id: Option<String>,
    pub region: Option<String>,
    /// Set when the event came from a service this audit does not read (a misrouted rule).
    pub ignored_source: Option<String>,
    pub skipped: SkipCounts,
    pub findings: usize,
    pub already_published: usize,
    pub published: usize,
    pub messages: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RealTimeError {
    #[error(transparent)]
    Watermark(#[from] WatermarkError),
    /// Keys of digests SNS accepted before the failure are saved; a redelivery publishes the rest.
    #[error("real-time event {event_id}: {message}")]
    Publish { event_id: String, message: String },
}

/// Evaluates one EventBridge event with `audit` and publishes its new findings. A malformed event or
/// one from another source is a counted warning and `Ok`; SSM or SNS failures are errors, so Lambda
/// redelivers the event (dedup makes that safe).
pub async fn audit_eventbridge_event<A: RecordAudit>(
    payload: &Value,
    sources: &[&str],
    watermarks: &WatermarkStore,
    notifier: &impl Notifier,
    mut audit: A,
) -> Result<EventReport, RealTimeError> {
    let mut report = EventReport::default();
    let source = payload.get("source").and_then(Value::as_str).unwrap_or("");
    if !sources.contains(&source) {
        tracing::warn!(
            source,
            expected = ?sources,
            "ignored a CloudTrail event from a source this audit does not read"
        );
        report.ignored_source = Some(source.chars().take(64).collect());
        return Ok(report);
    }
    let bytes = serde_json::to_vec(payload).expect("a JSON value serialises");
    let record = match parse_eventbridge_event(&bytes) {
        Ok(record) => record,
        Err(skip) => return Ok(skipped(report, skip.reason, &skip.to_string())),
    };
    report.event_id = Some(record.event_id.clone());
    let envelope_region = payload.get("region").and_then(Value::as_str);
    let Some(region) = record
        .aws_region
        .clone()
        .or(envelope_region.map(str::to_owned))
    else {
        return Ok(skipped(
            report,
            SkipReason::Malformed,
            "no awsRegion or region",
        ));
    };
    report.region = Some(region.clone());

    audit.observe(&record);
    let findings = audit.finish();
    let mut state = watermarks.load(&region).await?;
    let mut published = RegionReport::default();
    let publish_error = publish_new(&findings, &mut state, notifier, &mut published).await;
    report.findings = findings.len();
    report.already_published = published.already_published;
    report.published = published.published;
    report.messages = published.messages;
    if published.published > 0 {
        watermarks.save(&region, &state).await?;
    }
    tracing::info!(
        region,
        event_id = %record.event_id,
        findings = report.findings,
        published = report.published,
        already_published = report.already_published,
        "real-time event audited"
    );
    match publish_error {
        None => Ok(report),
        Some(message) => Err(RealTimeError::Publish {
            event_id: record.event_id,
            message,
        }),
    }
}

fn skipped(mut report: EventReport, reason: SkipReason, detail: &str) -> EventReport {
    tracing::warn!(
        reason = reason.as_str(),
        detail,
        "skipped a real-time CloudTrail event"
    );
    report.skipped.add(reason);
    report
}
